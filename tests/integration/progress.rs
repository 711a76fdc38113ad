//! Live progress: on a terminal, `verify`, `start` (preflight) and `checkpoint` (a step's
//! verify, red and green runs) show the command that runs and for how long on a one-line
//! spinner on stderr, cleared when it ends; nothing of it in a pipe, with `--json` or `-q`.
//!
//! The terminal is a real pseudo-terminal: util-linux's `script` runs the command in one and
//! copies what it wrote to a pipe the test reads. A slow check waits for a marker file that the
//! test writes once it has seen the spinner turn, so no test waits for a fixed time.

use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use insta::assert_snapshot;

use crate::common::{BIN, Check, PhaseBuilder, PlanBuilder, Repo, Step, steady_durations};

const CLEAR: &str = "\r\x1b[2K";

/// One phase whose check waits for `../go`, outside the work tree; its step and blast radius
/// and the preflight are quick.
fn slow_plan() -> String {
    PlanBuilder::new("spin", "Spinning")
        .command("quick", "test -e README.md")
        .preflight(["quick"])
        .phase(
            PhaseBuilder::new("p", "Slow checks")
                .blast_radius("test -e done.txt")
                .create(["done.txt"])
                .check(Check::run(
                    "waits for go",
                    "while [ ! -e ../go ]; do sleep 0.02; done; echo went",
                ))
                .step(Step::new("1", "Write it").verify("test -e done.txt")),
        )
        .toml()
}

/// `planx ARGS` on a pseudo-terminal, its output (stdout and stderr as the terminal got them)
/// collected as it comes.
struct OnTerminal {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl OnTerminal {
    fn start(repo: &Repo, args: &str) -> OnTerminal {
        let mut child = repo
            .command("script", &repo.root)
            .args(["-q", "-e", "-c", &format!("{BIN} {args}"), "/dev/null"])
            .env("TERM", "xterm")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run script(1) from util-linux");
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnTerminal {
            child,
            output,
            reader,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the output holds `wanted`, failing with what it holds after a deadline
    /// only a defect reaches.
    fn wait_for(&self, wanted: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !wanted.iter().all(|w| self.text().contains(w)) {
            assert!(
                Instant::now() < deadline,
                "never saw {wanted:?} on the terminal:\n{:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the end; the exit status and everything written.
    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().expect("wait for script");
        self.reader.join().unwrap();
        let text = String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned();
        (status.code().unwrap_or(-1), text)
    }
}

/// What the terminal shows at the end: carriage returns go back to the line's start, `ESC [2K`
/// clears the line, colours are dropped.
fn screen(raw: &str) -> String {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let mut col = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                lines.push(Vec::new());
                col = 0;
            }
            '\r' => col = 0,
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut params = String::new();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        if c == 'K' && params == "2" {
                            lines.last_mut().unwrap().clear();
                        }
                        break;
                    }
                    params.push(c);
                }
            }
            c => {
                let line = lines.last_mut().unwrap();
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.resize(col, ' ');
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let text: Vec<String> = lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_owned())
        .collect();
    text.join("\n")
}

/// Every spinner frame in `raw` is cleared before anything else is written.
fn assert_cleared(raw: &str, what: &str) {
    let mut rest = raw;
    let frame = format!("{CLEAR}| {what}");
    assert!(rest.contains(&frame), "no spinner for {what}: {raw:?}");
    while let Some(at) = rest.find(&format!("{CLEAR}| {what}")) {
        let after = &rest[at + CLEAR.len()..];
        let end = after
            .find(CLEAR)
            .unwrap_or_else(|| panic!("never cleared: {raw:?}"));
        assert!(
            !after[..end].contains('\n'),
            "output between a frame and its clearing: {raw:?}"
        );
        rest = &after[end..];
    }
}

fn ok(run: crate::common::Run) {
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn verify_on_a_terminal_shows_the_running_check_and_clears_it() {
    let repo = Repo::with_plan(&slow_plan());
    ok(repo.planx(&["start", "p", "-q"]));
    repo.write("done.txt", "done\n");
    repo.git(&["add", "-A"]);
    ok(repo.planx(&["checkpoint", "-m", "Done", "-q"]));

    let term = OnTerminal::start(&repo, "verify");
    // The spinner turns (two frames), saying which check runs and for how long.
    term.wait_for(&[
        &format!("{CLEAR}| check `waits for go`: while [ ! -e ../go ]"),
        &format!("{CLEAR}/ check `waits for go`: while [ ! -e ../go ]"),
    ]);
    let seen = term.text();
    let frame = regex::Regex::new(
        r"\r\x1b\[2K[|/\\-] check `waits for go`: [^\r]*  \x1b\[2m[0-9]+s\x1b\[0m",
    )
    .unwrap();
    assert!(frame.is_match(&seen), "{seen:?}");
    std::fs::write(repo.root.parent().unwrap().join("go"), "").unwrap();
    let (code, raw) = term.finish();
    assert_eq!(code, 0, "{raw:?}");
    assert_cleared(&raw, "check `waits for go`");
    // Once done, the terminal shows verify's report alone.
    let root = repo.root.display().to_string();
    assert_snapshot!(steady_durations(&screen(&raw).replace(&root, "$REPO")), @"
    verify phase `p` on planx/p at 1538fb0ae7 (tree 4f52cc64a5)
      judged by the plan on main at the fork point 524ebb0be0

    manifest
      PATH      CHANGE  DECLARED AS
      done.txt  added   create done.txt

    checks
      VERIFIED      waits for go: `while [ ! -e ../go ]; do sleep 0.02; done; echo went` exit 0 in 0.0s

    VERIFIED: manifest holds, 1 of 1 checks verified (recorded on 1538fb0ae7)
    ");
}

#[test]
fn start_and_checkpoint_show_their_commands_on_a_terminal() {
    let repo = Repo::with_plan(&slow_plan());
    std::fs::write(repo.root.parent().unwrap().join("go"), "").unwrap();

    let (code, raw) = OnTerminal::start(&repo, "start p").finish();
    assert_eq!(code, 0, "{raw:?}");
    assert_cleared(&raw, "preflight: quick");

    let (code, raw) = OnTerminal::start(&repo, "checkpoint --red").finish();
    assert_eq!(code, 0, "{raw:?}");
    assert_cleared(&raw, "blast radius (red): test -e done.txt");

    repo.write("done.txt", "done\n");
    repo.git(&["add", "-A"]);
    let (code, raw) = OnTerminal::start(&repo, "checkpoint --step 1").finish();
    assert_eq!(code, 0, "{raw:?}");
    assert_cleared(&raw, "step 1 verify: test -e done.txt");
    assert!(!screen(&raw).contains("step 1 verify:"), "{raw:?}");

    let (code, raw) = OnTerminal::start(&repo, "checkpoint --green").finish();
    assert_eq!(code, 0, "{raw:?}");
    assert_cleared(&raw, "blast radius (green): test -e done.txt");
}

#[test]
fn nothing_of_it_in_a_pipe_with_json_or_quiet() {
    let repo = Repo::with_plan(&slow_plan());
    std::fs::write(repo.root.parent().unwrap().join("go"), "").unwrap();
    // In a pipe (as every other test runs): stderr says nothing of the commands.
    let run = repo.planx(&["start", "p"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stderr.contains("preflight: quick"), "{run}");
    repo.write("done.txt", "done\n");
    repo.git(&["add", "-A"]);
    let run = repo.planx(&["checkpoint", "--step", "1"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stderr.contains('\r'), "{run}");
    let run = repo.planx(&["verify"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stderr, "", "{run}");

    // On a terminal, with --json or -q.
    // And with logs on stderr, which would land in the middle of its line.
    for args in [
        "verify --json",
        "verify -q",
        "checkpoint --green -q",
        "verify -v",
    ] {
        let (code, raw) = OnTerminal::start(&repo, args).finish();
        assert_eq!(code, 0, "{args}: {raw:?}");
        assert!(!raw.contains(CLEAR), "{args}: {raw:?}");
        assert!(
            !raw.contains('\r') || !raw.replace("\r\n", "\n").contains('\r'),
            "{args}: {raw:?}"
        );
    }
}

#[test]
fn sync_shows_each_step_on_a_terminal_and_clears_it() {
    let remote = Repo::folder();
    remote.git(&["init", "-q", "--bare"]);
    let repo = Repo::with_plan(&crate::common::SMALL_PLAN);
    repo.git(&[
        "remote",
        "add",
        "origin",
        &format!("file://{}", remote.root.display()),
    ]);
    repo.git(&["push", "-q", "origin", "main"]);
    ok(repo.planx(&["start", "a", "-q"]));
    let (code, raw) = OnTerminal::start(&repo, "sync").finish();
    assert_eq!(code, 0, "{raw:?}");
    for step in [
        "sync: fetching from origin…",
        "sync: merging the notes…",
        "sync: pushing the notes to origin…",
        "sync: pushing phase branches to origin…",
    ] {
        assert!(
            raw.contains(&format!("{CLEAR}{step}")),
            "no {step:?} in {raw:?}"
        );
    }
    let shown = screen(&raw);
    assert!(!shown.contains("sync:"), "{shown}");
    assert!(shown.starts_with("synced with origin"), "{shown}");
    // In a pipe, nothing of it.
    let run = repo.planx(&["sync"]);
    assert!(!run.stderr.contains("sync:"), "{run}");
}
