//! Fixtures: hermetic repositories built with the real `git`, and runs of the real binary.
//!
//! Every command runs in the environment of [`hermetic`] (shared with the performance suite),
//! with `HOME` in the test's own temporary folder, so commit ids never depend on the clock or
//! on the machine. Plans are built with [`plan`]'s builder.
//!
//! Tests never sleep for a fixed time: a command the test waits for leaves a marker file or
//! writes a process id, and the test polls for it with a deadline ([`wait_until`]) that only
//! a defect reaches, failing with what it waited for.

#![allow(dead_code)]

pub mod hermetic;
pub mod model;
pub mod plan;
pub mod tools;

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use tempfile::TempDir;

use hermetic::Hermetic;
pub use plan::{Check, PhaseBuilder, PlanBuilder, Step};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_git-planx");

/// A temporary folder holding a home directory and a repository (or, for tests of what happens
/// outside one, a plain folder).
pub struct Repo {
    _tmp: TempDir,
    pub root: PathBuf,
    env: Hermetic,
}

/// The output of one run of a command.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    root: PathBuf,
}

impl Repo {
    /// A new repository on branch `main` with no commits.
    pub fn new() -> Repo {
        let repo = Repo::folder();
        repo.git(&["init", "-q"]);
        repo
    }

    /// A new repository with one commit holding a README.
    pub fn with_commit() -> Repo {
        let repo = Repo::new();
        repo.write("README.md", "# demo\n");
        repo.commit_all("Initial commit");
        repo
    }

    /// A plain folder that is not a repository.
    pub fn folder() -> Repo {
        let tmp = tempfile::Builder::new()
            .prefix("planx-test")
            .tempdir()
            .expect("temp dir");
        let base = tmp.path().canonicalize().expect("canonical temp dir");
        let root = base.join("repo");
        let home = base.join("home");
        fs::create_dir_all(&root).expect("repo dir");
        fs::create_dir_all(&home).expect("home dir");
        // git never looks for a repository above the test's own temporary folder: a test run
        // outside a repository must not find the one the tests are run from.
        let ceiling = base.parent().unwrap_or(&base);
        let bin_dir = Path::new(BIN).parent().expect("binary folder");
        let env = Hermetic::new(&home, ceiling, bin_dir);
        Repo {
            _tmp: tmp,
            root,
            env,
        }
    }

    /// A command with the hermetic environment, run in `dir`.
    pub fn command(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        self.env.command(program, dir)
    }

    /// A command with the hermetic environment and extra folders first on `PATH`.
    pub fn command_with_path(
        &self,
        program: impl AsRef<OsStr>,
        dir: &Path,
        extra: &[&Path],
    ) -> Command {
        let mut cmd = self.command(program, dir);
        let mut path: Vec<String> = extra.iter().map(|p| p.display().to_string()).collect();
        path.push(self.env.path().to_owned());
        cmd.env("PATH", path.join(":"));
        cmd
    }

    /// Runs git in the repository and returns its stdout; a failure fails the test.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self
            .command("git", &self.root)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `git-planx` at the top of the repository.
    pub fn planx(&self, args: &[&str]) -> Run {
        self.planx_in(&self.root, args)
    }

    /// Runs `git-planx` in `dir`.
    pub fn planx_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.run(self.command(BIN, dir).args(args))
    }

    /// Runs a prepared command and captures its output.
    pub fn run(&self, cmd: &mut Command) -> Run {
        let out = cmd.output().expect("run command");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
            root: self.root.clone(),
        }
    }

    /// Runs a prepared command with `input` on its stdin and captures its output.
    pub fn run_with_input(&self, cmd: &mut Command, input: &[u8]) -> Run {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run command");
        // A command that does not read its input may have gone already.
        let _ = child.stdin.take().expect("stdin").write_all(input);
        let out = child.wait_with_output().expect("wait for command");
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
            root: self.root.clone(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes a file (creating folders).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("create folders");
        fs::write(path, contents).expect("write file");
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).expect("read file")
    }

    /// Writes the plan file.
    pub fn write_plan(&self, text: &str) {
        self.write(".planx/plan.toml", text);
    }

    /// Stages everything and commits.
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

impl Run {
    /// Stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// What a person sees: stdout, then stderr, then the exit status; the temporary folder is
/// shown as `$REPO`.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = self.root.display().to_string();
        let clean = |s: &str| steady_durations(&s.replace(&root, "$REPO"));
        write!(
            f,
            "{}--- stderr ---\n{}[exit status: {}]",
            clean(&self.stdout),
            clean(&self.stderr),
            self.code
        )
    }
}

/// How long a command took (`exit 0 in 0.3s`) depends on the machine's load, not on the
/// code: what a person sees is snapshotted with every such duration shown as `in 0.0s`.
pub fn steady_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("in ") {
        out.push_str(&rest[..at + 3]);
        rest = &rest[at + 3..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &rest[digits..];
        let b = tail.as_bytes();
        if digits > 0 && b.len() >= 3 && b[0] == b'.' && b[1].is_ascii_digit() && b[2] == b's' {
            out.push_str("0.0s");
            rest = &tail[3..];
        }
    }
    out.push_str(rest);
    out
}

/// A phase `id` after `deps` that creates `<id>.txt`, checks it exists and has that check as
/// its blast radius: the phase of the plans `run` is tested with.
pub fn file_phase(id: &str, deps: &[&str]) -> PhaseBuilder {
    let file = format!("{id}.txt");
    PhaseBuilder::new(id, &format!("Phase {id}"))
        .owner("bot")
        .depends_on(deps)
        .blast_radius(&format!("test -f {file}"))
        .create([&file])
        .check_file(&format!("{file} exists"), &file)
}

/// A small valid plan with three phases: `a`, then `b` and `c` in parallel.
pub fn small_plan() -> PlanBuilder {
    PlanBuilder::new("demo", "Demo plan")
        .command("test", "true")
        .phase(
            PhaseBuilder::new("a", "First")
                .blast_radius("test")
                .create(["src/a.txt"])
                .check_file("a exists", "src/a.txt"),
        )
        .phase(
            PhaseBuilder::new("b", "Second")
                .depends_on(["a"])
                .blast_radius("test")
                .create(["src/b.txt"])
                .check_run("tests", "test"),
        )
        .phase(
            PhaseBuilder::new("c", "Third")
                .kind("design")
                .depends_on(["a"])
                .create(["docs/c.md"])
                .check_manual("reviewed"),
        )
}

/// The text of [`small_plan`].
pub static SMALL_PLAN: LazyLock<String> = LazyLock::new(|| small_plan().toml());

/// The plan the real agents execute: phase `p` says hello in `hello.txt`, `q` depends on it;
/// both owned by `agent`.
pub fn agent_plan(agent: &str) -> String {
    PlanBuilder::new("agents", "Agents at work")
        .phase(
            PhaseBuilder::new("p", "Say hello")
                .owner(agent)
                .blast_radius("test -f hello.txt")
                .create(["hello.txt"])
                .check(Check::file("hello.txt says hello", "hello.txt").contains("hello")),
        )
        .phase(
            PhaseBuilder::new("q", "After p")
                .owner(agent)
                .depends_on(["p"])
                .blast_radius("test -f q.txt")
                .create(["q.txt"])
                .check_file("q.txt exists", "q.txt"),
        )
        .toml()
}

/// A plan for walking phases by hand: `a` (two steps, TDD blast radius on a file), then `b`.
/// Commands only look at files, so tests control whether they pass.
pub fn walk_plan() -> PlanBuilder {
    PlanBuilder::new("walk", "Walk a plan by hand")
        .command("test", "test ! -e broken")
        .preflight(["test"])
        .phase(
            PhaseBuilder::new("a", "First")
                .blast_radius("test -f a.txt")
                .create(["a.txt"])
                .check_file("a exists", "a.txt")
                .step(Step::new("1", "Write the test"))
                .step(Step::new("2", "Make it pass").verify("test -f a.txt")),
        )
        .phase(
            PhaseBuilder::new("b", "Second")
                .depends_on(["a"])
                .blast_radius("test")
                .create(["b.txt"])
                .check_run("tests", "test"),
        )
}

/// The text of [`walk_plan`].
pub static WALK_PLAN: LazyLock<String> = LazyLock::new(|| walk_plan().toml());

impl Repo {
    /// A repository whose `main` holds `plan` (committed), with the plan's commands trusted.
    pub fn with_plan(plan: &str) -> Repo {
        let repo = Repo::new();
        repo.write("README.md", "# demo\n");
        repo.write_plan(plan);
        repo.commit_all("Add the plan");
        let run = repo.planx(&["trust", "-q"]);
        assert_eq!(run.code, 0, "{run}");
        repo
    }

    /// The current branch.
    pub fn branch(&self) -> String {
        self.git(&["branch", "--show-current"]).trim().to_owned()
    }

    /// The note on a commit in refs/notes/planx, as git reads it.
    /// A shallow clone of this repository (`git clone --depth <depth> --no-single-branch`
    /// over `file://`), in a folder of its own.
    pub fn shallow_clone(&self, depth: u32) -> Repo {
        let clone = Repo::folder();
        let url = format!("file://{}", self.root.display());
        clone.git(&[
            "clone",
            "-q",
            "--depth",
            &depth.to_string(),
            "--no-single-branch",
            &url,
            ".",
        ]);
        clone
    }

    /// Each phase's state as `git planx status --json` derives it, in the plan's order.
    pub fn states(&self) -> Vec<String> {
        let run = self.planx(&["status", "--json"]);
        assert_eq!(run.code, 0, "{run}");
        run.json()["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .map(|p| p["state"].as_str().expect("a state").to_owned())
            .collect()
    }

    /// The state `status --json` gives phase `id`.
    pub fn state_of(&self, id: &str) -> String {
        let run = self.planx(&["status", "--json"]);
        assert_eq!(run.code, 0, "{run}");
        run.json()["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p["state"].as_str())
            .unwrap_or_else(|| panic!("no phase `{id}` in status"))
            .to_owned()
    }

    pub fn note(&self, rev: &str) -> String {
        self.git(&["notes", "--ref", "planx", "show", rev])
    }

    /// The trailers of a commit, as git parses them.
    pub fn trailers(&self, rev: &str) -> String {
        self.git(&["log", "-1", "--format=%(trailers)", rev])
    }
}

/// A plan for verification: phase `p` creates, modifies, deletes, may touch `scratch/**`, and
/// commits its status document only after a passing verify. Base holds `existing.txt` and
/// `old.txt`.
pub fn verify_plan() -> PlanBuilder {
    PlanBuilder::new("v", "Verification")
        .command("test", "test -f new.txt")
        .phase(
            PhaseBuilder::new("p", "The phase")
                .blast_radius("test")
                .create(["new.txt"])
                .modify(["existing.txt"])
                .delete(["old.txt"])
                .allow(["scratch/**"])
                .after_verify(["docs/status.md"])
                .check(Check::file("new.txt says hello", "new.txt").contains("hello"))
                .check_run("tests", "test"),
        )
        .phase(
            PhaseBuilder::new("q", "After p")
                .depends_on(["p"])
                .blast_radius("test")
                .create(["q.txt"])
                .check_file("q", "q.txt"),
        )
}

/// The text of [`verify_plan`].
pub static VERIFY_PLAN: LazyLock<String> = LazyLock::new(|| verify_plan().toml());

impl Repo {
    /// A repository for verification tests: `plan` on main with `existing.txt` and `old.txt`,
    /// commands trusted, and phase `p` started (this work tree on `planx/p`).
    pub fn verifying(plan: &str) -> Repo {
        let repo = Repo::new();
        repo.write("existing.txt", "existing\n");
        repo.write("old.txt", "old\n");
        repo.write_plan(plan);
        repo.commit_all("Base");
        assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
        let run = repo.planx(&["start", "p", "-q"]);
        assert_eq!(run.code, 0, "{run}");
        repo
    }

    /// Does the work phase `p` asks for, and commits it.
    pub fn do_phase_p(&self) {
        self.write("new.txt", "hello\n");
        self.write("existing.txt", "existing, changed\n");
        std::fs::remove_file(self.path("old.txt")).unwrap();
        self.git(&["add", "-A"]);
        let run = self.planx(&["checkpoint", "-m", "The work of p", "-q"]);
        assert_eq!(run.code, 0, "{run}");
    }
}

/// How long a test waits for something a command it started is sure to do: long enough for a
/// loaded machine, and reached only when the code under test is wrong.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `done` until it holds; past [`PATIENCE`] the test fails, saying what it waited for.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {PATIENCE:?}, in vain, until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A shell function for the commands of a test's plan: `await FILE` returns once FILE exists,
/// or fails past [`PATIENCE`].
pub const AWAIT: &str = "await() { n=0; while [ ! -e \"$1\" ]; do n=$((n+1)); [ $n -le 1200 ] || return 1; sleep 0.05; done; }";

/// The process ids a command of the test wrote to `path` (`echo $! > path`: one write, so
/// the file is empty or whole), once it has written them.
pub fn pids_in(path: &Path) -> Option<Vec<i32>> {
    let text = fs::read_to_string(path).ok()?;
    let pids: Option<Vec<i32>> = text.split_whitespace().map(|p| p.parse().ok()).collect();
    pids.filter(|p| !p.is_empty() && text.ends_with('\n'))
}

/// Waits until the command of the test has written its process ids to `path`.
pub fn wait_for_pids(path: &Path) -> Vec<i32> {
    let mut pids = None;
    wait_until(&format!("a process id is in {}", path.display()), || {
        pids = pids_in(path);
        pids.is_some()
    });
    pids.unwrap_or_default()
}

/// Whether process `pid` has ended (a zombie not reaped yet counts as ended).
pub fn ended(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; it asks whether the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return true;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')')
        .next()
        .is_none_or(|rest| rest.trim_start().starts_with('Z'))
}

/// Fails the test unless every process in `pids` ends (within [`PATIENCE`]).
pub fn wait_ended(pids: &[i32], what: &str) {
    wait_until(what, || pids.iter().all(|&p| ended(p)));
}

/// Interrupts `child` (a `git-planx` the test started) with SIGINT, as Ctrl-C would, waits for
/// it, and fails the test unless it ended the way the signal asks.
pub fn interrupt(child: std::process::Child) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: signals the child process this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child
        .wait_with_output()
        .expect("wait for the interrupted command");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Repo {
    /// The key this repository's user signs records with, as `git planx signers` prints it.
    pub fn signing_key(&self) -> String {
        let doc = self.planx(&["signers", "--json"]).json();
        doc["own"]["key"].as_str().expect("a key").to_owned()
    }

    /// Trusts, on this repository's machine, the records `other`'s user signs: what a teammate
    /// does with `git planx signers trust`.
    pub fn trusts(&self, other: &Repo, name: &str) {
        let key = other.signing_key();
        let run = self.planx(&["signers", "trust", &key, "--name", name, "-q"]);
        assert_eq!(run.code, 0, "{run}");
    }
}
