//! Deterministic repositories for the suite, built with one `git fast-import` stream from a
//! fixed seed and fixed dates: the same size and seed give the same commit ids everywhere.
//!
//! A fixture holds a project history (files in folders, commits that add and change them), then
//! a plan of 1,000 phases committed on `main` and the plan's own history as planx would have
//! written it: phase branches of checkpoint commits with `Planx-*` trailers and notes of JSON
//! events, phases merged with `finish`'s trailers and passing verify records, phases merged
//! elsewhere without a record (unverified), phases in progress, blocked, failed, ready and
//! waiting. More notes sit on commits that amend and rebase replaced (notes follow rewrites,
//! `notes.rewriteRef`), to reach the size's number of notes. The work tree is on a phase in
//! progress with files staged, modified and untracked.
//!
//! The objects are then repacked as a server packs them for a clone (`git repack -a -d -f`),
//! and the refs packed as `git gc` packs them; no commit-graph is written (the suite switches
//! it on and off), and `gc.auto` is 0 so that no measured command starts a gc.
//!
//! fast-import's `ls` and `get-mark` answer while the stream runs, so trees and commit ids
//! that later commits and notes name (`Planx-Verified-Tree`, verify records) are asked as the
//! history is written.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::Instant;

use git_planx::git::trailers::{self, Trailer};
use git_planx::state::events::{CommandRun, Event};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::env::Env;
use crate::rng::Rng;

/// Bump when the generator changes what it builds: cached fixtures of another version are
/// rebuilt.
pub const GENERATOR_VERSION: u32 = 3;
pub const PLAN_ID: &str = "bench";
pub const PHASES: usize = 1000;
/// Smaller plans over the same history (the first phases of the big one), for how `status`
/// grows with the number of phases.
pub const SUBSET_PLANS: [usize; 2] = [10, 100];
/// Phases form tracks of this many, each phase depending on the one before it.
const TRACK: usize = 10;
const FILES_PER_FOLDER: usize = 50;
/// 2024-01-01T00:00:00Z, the first commit; each later commit is ten minutes on.
const T0: i64 = 1_704_067_200;
const STEP_SECS: i64 = 600;
const WHO: &str = "Ada Lovelace <ada@example.com>";

/// How the complete phases of a fixture reached `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shapes {
    /// Every one by `finish`'s merge (the fixture of the earlier runs, kept for comparison).
    Finish,
    /// A third each: rebased onto `main` (its empty start checkpoint dropped, the notes
    /// following the rewrite and `verify` run again on the rebased tip), squashed into one
    /// commit with the trailers of a completion, and merged as pull requests on a forge (a
    /// merge commit without trailers, the records on the merged branch).
    Mixed,
}

impl Shapes {
    pub fn name(self) -> &'static str {
        match self {
            Shapes::Finish => "finish merges",
            Shapes::Mixed => "every shape",
        }
    }

    fn dir_tag(self) -> &'static str {
        match self {
            Shapes::Finish => "",
            Shapes::Mixed => "shapes-",
        }
    }
}

/// A fixture size.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub name: &'static str,
    pub files: usize,
    pub folders: usize,
    pub commits: usize,
    pub notes: usize,
}

pub const SIZES: [Size; 3] = [
    Size {
        name: "S",
        files: 10_000,
        folders: 200,
        commits: 2_000,
        notes: 5_000,
    },
    Size {
        name: "M",
        files: 100_000,
        folders: 2_000,
        commits: 20_000,
        notes: 50_000,
    },
    Size {
        name: "L",
        files: 500_000,
        folders: 10_000,
        commits: 100_000,
        notes: 250_000,
    },
];

pub fn size(name: &str) -> Option<Size> {
    SIZES
        .iter()
        .copied()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// What a generated fixture holds, read back from the repository once it is built.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub generator: u32,
    pub size: String,
    /// How its complete phases reached main ([`Shapes::name`]).
    #[serde(default)]
    pub shapes: String,
    /// Complete phases by how they reached main.
    #[serde(default)]
    pub completions: BTreeMap<String, usize>,
    pub seed: u64,
    /// `git ls-files | wc -l` in the work tree.
    pub tracked_files: usize,
    /// Folders holding tracked files.
    pub folders: usize,
    /// Commits reachable from any ref.
    pub commits: usize,
    /// Commits of the project history before the plan.
    pub history_commits: usize,
    /// Notes in refs/notes/planx.
    pub notes: usize,
    pub phases: usize,
    /// The commit that added the plan.
    pub plan_commit: String,
    /// The phase checked out in the work tree, in progress.
    pub work_phase: String,
    pub work_branch: String,
    /// Its fork point on main.
    pub fork: String,
    /// Commits of the project history without notes, for note writes.
    pub note_targets: Vec<String>,
    /// Paths of the smaller plans, by number of phases.
    pub subset_plans: Vec<(usize, String)>,
    /// How many phases `status` should show in each state.
    pub states: BTreeMap<String, usize>,
    /// Bytes in .git/objects.
    pub object_bytes: u64,
    /// Seconds it took to generate.
    pub seconds: f64,
}

/// A generated fixture: the repository and what it holds.
pub struct Fixture {
    pub repo: PathBuf,
    pub meta: Meta,
}

/// The fixture for `size` and `seed`, generated unless a complete one is cached in `cache`.
pub fn fixture(
    env: &Env,
    cache: &Path,
    size: Size,
    shapes: Shapes,
    seed: u64,
    regenerate: bool,
) -> Fixture {
    let dir = cache.join(format!(
        "{}-{}{seed}-v{GENERATOR_VERSION}",
        size.name,
        shapes.dir_tag()
    ));
    let meta_file = dir.join("fixture.json");
    // A cached fixture counts only with its repository: without `repo/.git`, git commands
    // run there would find this project's repository instead.
    if !regenerate
        && dir.join("repo/.git").is_dir()
        && let Ok(text) = std::fs::read_to_string(&meta_file)
        && let Ok(meta) = serde_json::from_str::<Meta>(&text)
        && meta.generator == GENERATOR_VERSION
    {
        eprintln!("perf: fixture {} (cached) at {}", size.name, dir.display());
        return Fixture {
            repo: dir.join("repo"),
            meta,
        };
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove an incomplete fixture");
    }
    std::fs::create_dir_all(&dir).expect("create the fixture folder");
    eprintln!(
        "perf: generating fixture {} (seed {seed}) in {}",
        size.name,
        dir.display()
    );
    let started = Instant::now();
    let repo = dir.join("repo");
    let mut meta = generate(env, &repo, size, shapes, seed);
    meta.seconds = started.elapsed().as_secs_f64();
    std::fs::write(
        &meta_file,
        serde_json::to_string_pretty(&meta).expect("fixture metadata as JSON"),
    )
    .expect("write the fixture metadata");
    eprintln!(
        "perf: fixture {} ready in {:.1}s: {} files, {} commits, {} notes",
        size.name, meta.seconds, meta.tracked_files, meta.commits, meta.notes
    );
    Fixture { repo, meta }
}

/// A running `git fast-import`, answering `ls` and `get-mark` on its stdout.
pub struct Importer {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    marks: u64,
    clock: i64,
}

/// A change in a commit.
pub enum Change {
    Inline(String, Vec<u8>),
    Blob(String, u64),
}

impl Importer {
    pub fn start(env: &Env, repo: &Path) -> Importer {
        let mut child = env
            .command("git", repo)
            .args(["fast-import", "--quiet", "--done", "--cat-blob-fd=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start git fast-import");
        let input = BufWriter::with_capacity(1 << 20, child.stdin.take().expect("stdin"));
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Importer {
            child,
            input,
            output,
            marks: 0,
            clock: T0 - STEP_SECS,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.input.write_all(bytes).expect("feed git fast-import");
    }

    pub fn data(&mut self, bytes: &[u8]) {
        self.write(format!("data {}\n", bytes.len()).as_bytes());
        self.write(bytes);
        self.write(b"\n");
    }

    pub fn blob(&mut self, bytes: &[u8]) -> u64 {
        self.marks += 1;
        let mark = self.marks;
        self.write(format!("blob\nmark :{mark}\n").as_bytes());
        self.data(bytes);
        mark
    }

    /// A commit on `reference`, ten minutes after the previous one. Returns its mark and time.
    pub fn commit(
        &mut self,
        reference: &str,
        message: &str,
        from: Option<u64>,
        merge: Option<u64>,
        changes: Vec<Change>,
    ) -> (u64, i64) {
        self.marks += 1;
        self.clock += STEP_SECS;
        let (mark, time) = (self.marks, self.clock);
        self.write(
            format!(
                "commit {reference}\nmark :{mark}\nauthor {WHO} {time} +0000\ncommitter {WHO} {time} +0000\n"
            )
            .as_bytes(),
        );
        self.data(message.as_bytes());
        if let Some(from) = from {
            self.write(format!("from :{from}\n").as_bytes());
        }
        if let Some(merge) = merge {
            self.write(format!("merge :{merge}\n").as_bytes());
        }
        for change in changes {
            match change {
                Change::Inline(path, bytes) => {
                    self.write(format!("M 100644 inline {path}\n").as_bytes());
                    self.data(&bytes);
                }
                Change::Blob(path, blob) => {
                    self.write(format!("M 100644 :{blob} {path}\n").as_bytes());
                }
            }
        }
        self.write(b"\n");
        (mark, time)
    }

    fn ask(&mut self, command: &str) -> String {
        self.write(command.as_bytes());
        self.input.flush().expect("feed git fast-import");
        let mut line = String::new();
        self.output
            .read_line(&mut line)
            .expect("read git fast-import's answer");
        line.trim_end().to_owned()
    }

    /// The time of the last commit written.
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// The commit id of a mark.
    pub fn oid(&mut self, mark: u64) -> String {
        self.ask(&format!("get-mark :{mark}\n"))
    }

    /// The id of the tree or blob at `path` in a commit (`""` for its root tree).
    pub fn entry(&mut self, mark: u64, path: &str) -> String {
        let answer = self.ask(&format!("ls :{mark} \"{path}\"\n"));
        answer
            .split_whitespace()
            .nth(2)
            .filter(|_| !answer.starts_with("missing"))
            .unwrap_or_else(|| panic!("fast-import has no {path} in :{mark}: {answer}"))
            .to_owned()
    }

    pub fn finish(mut self) {
        self.write(b"done\n");
        self.input.flush().expect("feed git fast-import");
        drop(self.input);
        let status = self.child.wait().expect("wait for git fast-import");
        assert!(status.success(), "git fast-import failed: {status}");
    }
}

const WORDS: [&str; 32] = [
    "plan", "phase", "branch", "commit", "tree", "blob", "note", "merge", "index", "status",
    "verify", "check", "step", "track", "graph", "build", "parse", "render", "cache", "queue",
    "token", "frame", "block", "chunk", "value", "entry", "table", "field", "layer", "scope",
    "world", "order",
];

/// The text of a source file at a revision.
pub fn source_text(seed: u64, path: &str, revision: u64) -> Vec<u8> {
    let mut rng = Rng::derive(seed, path, revision);
    let mut text = format!("// {path}, revision {revision}\npub fn item() -> u64 {{\n");
    for _ in 0..rng.between(3, 9) {
        text.push_str("    //");
        for _ in 0..8 {
            text.push(' ');
            text.push_str(rng.pick(&WORDS));
        }
        text.push('\n');
    }
    text.push_str(&format!("    {}\n}}\n", rng.next() % 100_000));
    text.into_bytes()
}

/// Where phase `i` (1-based) works, and what happens to it in the fixture.
struct PhaseSpec {
    i: usize,
    id: String,
    /// The file it creates.
    create: String,
    /// The file index (and path) of the existing file it modifies.
    modify: (usize, String),
    intent: Intent,
    depends_on: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    /// Merged by `finish`: trailers and a passing verify record.
    Complete,
    /// Merged as a pull request on a forge, never verified.
    Unverified,
    InProgress,
    Blocked,
    Failed,
    /// Not started; `status` derives ready or waiting.
    NotStarted,
}

fn phase_id(i: usize) -> String {
    format!("p{i:04}")
}

struct Layout {
    folders: usize,
    files: usize,
}

impl Layout {
    fn folder(&self, j: usize) -> String {
        format!("src/g{:02}/m{j:04}", j / 50)
    }

    fn file(&self, n: usize) -> String {
        format!(
            "{}/f{:03}.rs",
            self.folder(n % self.folders),
            n / self.folders
        )
    }
}

fn phases(layout: &Layout) -> Vec<PhaseSpec> {
    (1..=PHASES)
        .map(|i| {
            let (track, pos) = ((i - 1) / TRACK, (i - 1) % TRACK);
            let intent = match (track, pos) {
                (35..=39, 9) => Intent::Unverified,
                (0..=39, _) => Intent::Complete,
                (40..=59, 0..=2) => Intent::Complete,
                (40..=59, 3) => Intent::InProgress,
                (60..=69, 0) if track % 2 == 0 => Intent::Blocked,
                (60..=69, 0) => Intent::Failed,
                _ => Intent::NotStarted,
            };
            let mut depends_on = Vec::new();
            if pos > 0 {
                depends_on.push(phase_id(i - 1));
            } else if i > 1 {
                depends_on.push(phase_id(1));
            }
            if pos == 5 && track > 0 {
                depends_on.push(phase_id(i - TRACK - 1));
            }
            let j = (i - 1) % layout.folders;
            let n = (i - 1) / layout.folders * layout.folders + j;
            PhaseSpec {
                i,
                id: phase_id(i),
                create: format!("{}/{}.rs", layout.folder(j), phase_id(i)),
                modify: (n, layout.file(n)),
                intent,
                depends_on,
            }
        })
        .collect()
}

/// The plan's text: the first `count` phases.
fn plan_text(specs: &[PhaseSpec], count: usize) -> String {
    let mut text = format!(
        "# A plan of {count} phases over a generated project, for the performance suite.\nversion = 1\n\n\
         [plan]\nid = \"{PLAN_ID}\"\ntitle = \"Performance suite plan\"\nstatus = \"ready\"\nbase = \"main\"\n\
         branch_prefix = \"planx/\"\nstrict = true\n\n\
         [commands]\ntest = \"true\"\nlint = \"true\"\n"
    );
    for spec in &specs[..count] {
        let deps = spec
            .depends_on
            .iter()
            .map(|d| format!("\"{d}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let id = &spec.id;
        text.push_str(&format!(
            "\n[[phase]]\nid = \"{id}\"\ntitle = \"Phase {} of track {}\"\nowner = \"dev\"\ndepends_on = [{deps}]\nblast_radius = \"test\"\n\
             [phase.files]\ncreate = [\"{}\"]\nmodify = [\"{}\"]\nallow = [\"docs/{id}/**\"]\nafter_verify = [\"docs/status/{id}.md\"]\n\
             [[phase.check]]\nname = \"tests pass\"\nrun = \"test\"\n\
             [[phase.check]]\nname = \"the module exists\"\nfile = \"{}\"\ncontains = \"fn {id}\"\n\
             [[phase.step]]\nid = \"1\"\ntitle = \"Failing tests\"\n\
             [[phase.step]]\nid = \"2\"\ntitle = \"Make them pass\"\nverify = \"lint\"\n",
            (spec.i - 1) % TRACK + 1,
            (spec.i - 1) / TRACK,
            spec.create,
            spec.modify.1,
            spec.create,
        ));
    }
    text
}

pub fn message(subject: &str, pairs: &[(&str, &str)]) -> String {
    let trailers: Vec<Trailer> = pairs
        .iter()
        .map(|(k, v)| Trailer::new(k, v).expect("a valid trailer"))
        .collect();
    trailers::append(subject, &trailers)
}

pub fn ts(time: i64) -> String {
    git_planx::clock::format(chrono::DateTime::from_timestamp(time, 0).expect("a valid time"))
}

fn run_record(command: &str, shell: &str, passed: bool) -> CommandRun {
    CommandRun {
        command: command.to_owned(),
        shell: shell.to_owned(),
        passed,
        exit: Some(if passed { 0 } else { 1 }),
        signal: None,
        timed_out: false,
        duration_ms: 4,
        tail: if passed {
            String::new()
        } else {
            "test result: FAILED. 1 failed\n".to_owned()
        },
    }
}

/// Everything the stream writes for the plan, with the notes to add at the end.
struct Writer<'a> {
    imp: Importer,
    seed: u64,
    layout: &'a Layout,
    /// Revision of each project file (0: not created yet).
    revisions: Vec<u64>,
    main: u64,
    notes: Vec<(u64, Vec<String>)>,
    plan_blob: String,
}

/// A phase branch as written: its commits (oldest first) and the files it changed.
struct Branch {
    tip: u64,
    commits: Vec<u64>,
    blobs: Vec<(String, u64)>,
    /// The message and files of each commit after the start, for a rebase to replay.
    replay: Vec<(String, Vec<(String, u64)>)>,
}

impl Writer<'_> {
    fn note(&mut self, commit: u64, event: &Event) {
        match self.notes.last_mut() {
            Some((c, lines)) if *c == commit => lines.push(event.sealed_line().expect("signed")),
            _ => self
                .notes
                .push((commit, vec![event.sealed_line().expect("signed")])),
        }
    }

    fn event(&self, time: i64, phase: &str, kind: &str) -> Event {
        Event::new(&ts(time), PLAN_ID, phase, kind)
    }

    /// A project commit on main changing `count` random files of the project history.
    fn project_commit(&mut self, rng: &mut Rng, created: usize, first_free: usize, count: usize) {
        let mut changes = Vec::new();
        let mut module = String::new();
        for _ in 0..count {
            let n = first_free + rng.below(created - first_free);
            self.revisions[n] += 1;
            let path = self.layout.file(n);
            if module.is_empty() {
                module = self.layout.folder(n % self.layout.folders);
            }
            changes.push(Change::Inline(
                path.clone(),
                source_text(self.seed, &path, self.revisions[n]),
            ));
        }
        let subject = format!(
            "{} {}: {} {}",
            rng.pick(&["Fix", "Tidy", "Speed up", "Document", "Extend"]),
            module,
            rng.pick(&WORDS),
            rng.pick(&WORDS)
        );
        self.main = self
            .imp
            .commit("refs/heads/main", &subject, Some(self.main), None, changes)
            .0;
    }

    /// Writes the branch of a phase from `fork`, as `start` and `checkpoint` would have.
    fn branch(&mut self, spec: &PhaseSpec, fork: u64) -> Branch {
        let id = spec.id.clone();
        let reference = format!("refs/heads/planx/{id}");
        let fork_oid = self.imp.oid(fork);
        let mut commits = Vec::new();
        let mut blobs = Vec::new();

        let subject = format!("planx: start {id} — {}", "Phase");
        let msg = message(
            &subject,
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, "start"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        let (start, time) = self
            .imp
            .commit(&reference, &msg, Some(fork), None, Vec::new());
        let event = self
            .event(time, &id, "start")
            .with("base_branch", "main")
            .with("base", &fork_oid)
            .with("plan_hash", &self.plan_blob)
            .with("who", WHO)
            .with("preflight", Vec::<CommandRun>::new());
        self.note(start, &event);
        commits.push(start);

        let module = format!("// {id}\npub fn {id}() -> u64 {{\n    {}\n}}\n", spec.i);
        let blob = self.imp.blob(module.as_bytes());
        blobs.push((spec.create.clone(), blob));
        let msg = message(
            &format!("planx: {id} step 1 — Failing tests"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, "step"),
                (trailers::STEP, "1"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        let (step1, time) = self.imp.commit(
            &reference,
            &msg,
            None,
            None,
            vec![Change::Blob(spec.create.clone(), blob)],
        );
        let replay = vec![(msg, vec![(spec.create.clone(), blob)])];
        let event = self
            .event(time, &id, "checkpoint")
            .with("checkpoint", "step")
            .with("status", "in-progress")
            .with("step", "1");
        self.note(step1, &event);
        commits.push(step1);
        Branch {
            tip: step1,
            commits,
            blobs,
            replay,
        }
    }

    /// Finishes the work of a phase that completes: step 2 (modify, notes), a verify record,
    /// the status document (after_verify) and a second record on the tip.
    fn complete_work(&mut self, spec: &PhaseSpec, fork: u64, branch: &mut Branch, verified: bool) {
        let id = spec.id.clone();
        let reference = format!("refs/heads/planx/{id}");
        let fork_oid = self.imp.oid(fork);
        let (n, path) = spec.modify.clone();
        self.revisions[n] += 1;
        let modified = self
            .imp
            .blob(&source_text(self.seed, &path, self.revisions[n]));
        let notes_path = format!("docs/{id}/notes.md");
        let notes = self
            .imp
            .blob(format!("# Notes on {id}\n\nWhat was learnt.\n").as_bytes());
        branch.blobs.push((path.clone(), modified));
        branch.blobs.push((notes_path.clone(), notes));
        let msg = message(
            &format!("planx: {id} step 2 — Make them pass"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, "step"),
                (trailers::STEP, "2"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        branch.replay.push((
            msg.clone(),
            vec![(path.clone(), modified), (notes_path.clone(), notes)],
        ));
        let (step2, time) = self.imp.commit(
            &reference,
            &msg,
            None,
            None,
            vec![
                Change::Blob(path, modified),
                Change::Blob(notes_path, notes),
            ],
        );
        let event = self
            .event(time, &id, "checkpoint")
            .with("checkpoint", "step")
            .with("status", "in-progress")
            .with("step", "2")
            .with("verify", run_record("lint", "true", true));
        self.note(step2, &event);
        branch.commits.push(step2);
        if verified {
            let record = self.verify_record(spec, step2, &fork_oid, time + 30);
            self.note(step2, &record);
        }

        let status_path = format!("docs/status/{id}.md");
        let status = self
            .imp
            .blob(format!("# {id}\n\nCOMPLETED: steps 1 and 2.\n").as_bytes());
        branch.blobs.push((status_path.clone(), status));
        let msg = message(
            &format!("planx: {id} checkpoint"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, "step"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        branch
            .replay
            .push((msg.clone(), vec![(status_path.clone(), status)]));
        let (tip, time) = self.imp.commit(
            &reference,
            &msg,
            None,
            None,
            vec![Change::Blob(status_path, status)],
        );
        let event = self
            .event(time, &id, "checkpoint")
            .with("checkpoint", "step")
            .with("status", "in-progress");
        self.note(tip, &event);
        if verified {
            let record = self.verify_record(spec, tip, &fork_oid, time + 30);
            self.note(tip, &record);
        }
        branch.commits.push(tip);
        branch.tip = tip;
    }

    /// A passing `verify` event of `commit`, as `git planx verify` records it.
    fn verify_record(&mut self, spec: &PhaseSpec, commit: u64, fork: &str, time: i64) -> Event {
        let tree = self.imp.entry(commit, "");
        let head = self.imp.oid(commit);
        let checks = serde_json::json!([
            {"name": "tests pass", "kind": "run", "tdd": false, "verified": true, "skipped": false,
             "evidence": "`test` exit 0 in 0.0s", "run": run_record("test", "true", true)},
            {"name": "the module exists", "kind": "file", "tdd": false, "verified": true,
             "skipped": false, "evidence": format!("{} matches `fn {}`", spec.create, spec.id),
             "run": Value::Null},
        ]);
        self.event(time, &spec.id, "verify")
            .with("tree", tree)
            .with("head", head)
            .with("fork", fork)
            .with("clean", true)
            .with("no_run", false)
            .with("passed", true)
            .with("plan_edit", Value::Null)
            .with("findings", Vec::<Value>::new())
            .with("checks", checks)
    }

    /// Merges a phase branch into main: `finish`'s merge for a verified phase, a forge's pull
    /// request merge (no trailers) for an unverified one.
    fn merge(&mut self, spec: &PhaseSpec, branch: &Branch, by_finish: bool, pr: usize) {
        let id = &spec.id;
        let verified = by_finish;
        let msg = if by_finish {
            let tree = self.imp.entry(branch.tip, "");
            message(
                &format!("planx: complete phase {id} — Phase"),
                &[
                    (trailers::PLAN, PLAN_ID),
                    (trailers::PHASE, id),
                    (trailers::CHECKPOINT, "complete"),
                    (trailers::STATUS, "complete"),
                    (trailers::VERIFIED_TREE, &tree),
                ],
            )
        } else {
            format!("Merge pull request #{pr} from example/planx/{id}\n\nPhase {id}\n")
        };
        let changes = branch
            .blobs
            .iter()
            .map(|(path, blob)| Change::Blob(path.clone(), *blob))
            .collect();
        let (merge, time) = self.imp.commit(
            "refs/heads/main",
            &msg,
            Some(self.main),
            Some(branch.tip),
            changes,
        );
        self.main = merge;
        if verified {
            let tip = self.imp.oid(branch.tip);
            let tree = self.imp.entry(branch.tip, "");
            let mut commits = Vec::new();
            for &c in branch.commits.iter().rev() {
                commits.push(self.imp.oid(c));
            }
            let event = self
                .event(time, id, "complete")
                .with("merged", &tip)
                .with("verified_tree", tree)
                .with("record", &tip)
                .with("squash", false)
                .with("commits", commits);
            self.note(merge, &event);
        }
    }

    fn note_line(&mut self, commit: u64, line: String) {
        match self.notes.last_mut() {
            Some((c, lines)) if *c == commit => lines.push(line),
            _ => self.notes.push((commit, vec![line])),
        }
    }

    /// The lines of the note of `commit` written so far.
    fn note_lines(&self, commit: u64) -> Vec<String> {
        self.notes
            .iter()
            .filter(|(c, _)| *c == commit)
            .flat_map(|(_, lines)| lines.iter().cloned())
            .collect()
    }

    /// The branch's commits after its start replayed onto main as `git rebase` (or a forge's
    /// "rebase and merge") leaves them: the empty start checkpoint dropped, each note copied to
    /// the rewritten commit (`notes.rewriteRef`), then `verify` run again on the rebased tip.
    /// The local branch stays where it was.
    fn rebase(&mut self, spec: &PhaseSpec, branch: &Branch) {
        let onto = self.imp.oid(self.main);
        let mut top = None;
        for (k, (msg, blobs)) in branch.replay.iter().enumerate() {
            let changes = blobs
                .iter()
                .map(|(path, blob)| Change::Blob(path.clone(), *blob))
                .collect();
            let (commit, time) =
                self.imp
                    .commit("refs/heads/main", msg, Some(self.main), None, changes);
            self.main = commit;
            for line in self.note_lines(branch.commits[k + 1]) {
                self.note_line(commit, line);
            }
            top = Some((commit, time));
        }
        let (commit, time) = top.expect("commits after the start");
        let record = self.verify_record(spec, commit, &onto, time + 30);
        self.note(commit, &record);
    }

    /// The branch's work in one commit on main, its message ending with the trailers of a
    /// completion, the phase's notes carried onto it with a verify record of its tree (as
    /// `finish --squash` leaves it, without its `Planx-Verified-Tree` claim).
    fn squash(&mut self, spec: &PhaseSpec, branch: &Branch) {
        let id = &spec.id;
        let onto = self.imp.oid(self.main);
        let msg = message(
            &format!("planx: squash phase {id} — Phase"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, id),
                (trailers::CHECKPOINT, "complete"),
                (trailers::STATUS, "complete"),
            ],
        );
        let changes = branch
            .blobs
            .iter()
            .map(|(path, blob)| Change::Blob(path.clone(), *blob))
            .collect();
        let (commit, time) =
            self.imp
                .commit("refs/heads/main", &msg, Some(self.main), None, changes);
        self.main = commit;
        for &c in branch.commits.iter().rev() {
            let from = self.imp.oid(c);
            for line in self.note_lines(c) {
                let carried = match serde_json::from_str::<Value>(&line) {
                    Ok(Value::Object(mut map)) => {
                        map.insert("carried_from".into(), Value::String(from.clone()));
                        Value::Object(map).to_string()
                    }
                    _ => line,
                };
                self.note_line(commit, carried);
            }
        }
        let record = self.verify_record(spec, commit, &onto, time + 30);
        self.note(commit, &record);
    }

    /// The checkpoints of a phase in progress: red, green, and an ordinary commit.
    fn in_progress_work(&mut self, spec: &PhaseSpec, branch: &mut Branch) {
        let id = spec.id.clone();
        let reference = format!("refs/heads/planx/{id}");
        for (kind, passed) in [("red", false), ("green", true)] {
            let msg = message(
                &format!(
                    "planx: {id} {kind}: the blast radius {}",
                    if passed { "passes" } else { "fails" }
                ),
                &[
                    (trailers::PLAN, PLAN_ID),
                    (trailers::PHASE, &id),
                    (trailers::CHECKPOINT, kind),
                    (trailers::STATUS, "in-progress"),
                ],
            );
            let (commit, time) = self.imp.commit(&reference, &msg, None, None, Vec::new());
            let event = self
                .event(time, &id, "checkpoint")
                .with("checkpoint", kind)
                .with("status", "in-progress")
                .with("run", run_record("test", "true", passed));
            self.note(commit, &event);
            branch.commits.push(commit);
            branch.tip = commit;
        }
        let notes = self
            .imp
            .blob(format!("# Notes on {id}\n\nWork in progress.\n").as_bytes());
        let (commit, _) = self.imp.commit(
            &reference,
            &format!("Notes on {id}\n"),
            None,
            None,
            vec![Change::Blob(format!("docs/{id}/notes.md"), notes)],
        );
        branch.commits.push(commit);
        branch.tip = commit;
    }

    /// A blocked or failed checkpoint, with its reason.
    fn stopped_work(&mut self, spec: &PhaseSpec, kind: &str) {
        let id = spec.id.clone();
        let reason = if kind == "blocked" {
            "waiting for the API design"
        } else {
            "the migration corrupts the index"
        };
        let msg = message(
            &format!("planx: {id} {kind}: {reason}"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, kind),
                (trailers::STATUS, kind),
            ],
        );
        let (commit, time) = self.imp.commit(
            &format!("refs/heads/planx/{id}"),
            &msg,
            None,
            None,
            Vec::new(),
        );
        let event = self
            .event(time, &id, "checkpoint")
            .with("checkpoint", kind)
            .with("status", kind)
            .with("reason", reason);
        self.note(commit, &event);
    }
}

fn generate(env: &Env, repo: &Path, size: Size, shapes: Shapes, seed: u64) -> Meta {
    std::fs::create_dir_all(repo).expect("create the fixture repository");
    env.git(repo, &["init", "-q", "-b", "main"]);
    for (key, value) in [
        // Measurements must not be disturbed by an automatic gc in the middle of a run.
        ("gc.auto", "0"),
        // What `git planx init` sets.
        ("notes.rewriteRef", "refs/notes/planx"),
        ("notes.planx.mergeStrategy", "cat_sort_uniq"),
    ] {
        env.git(repo, &["config", key, value]);
    }
    let layout = Layout {
        folders: size.folders,
        files: size.files,
    };
    assert_eq!(layout.files / layout.folders, FILES_PER_FOLDER);
    let specs = phases(&layout);
    let mut rng = Rng::new(seed);
    let mut w = Writer {
        imp: Importer::start(env, repo),
        seed,
        layout: &layout,
        revisions: vec![0; size.files],
        main: 0,
        notes: Vec::new(),
        plan_blob: String::new(),
    };

    // The project history: half the files in the first commit, the rest added over the first
    // half of the history, every commit also changing a few existing files.
    let initial = size.files / 2;
    let half = size.commits / 2;
    let per_commit = (size.files - initial).div_ceil(half - 1);
    let mut changes = vec![
        Change::Inline("README.md".into(), b"# A generated project\n".to_vec()),
        Change::Inline(".gitignore".into(), b"*.log\n/target/\n".to_vec()),
    ];
    for n in 0..initial {
        w.revisions[n] = 1;
        let path = layout.file(n);
        let text = source_text(seed, &path, 1);
        changes.push(Change::Inline(path, text));
    }
    w.main = w
        .imp
        .commit("refs/heads/main", "Initial commit\n", None, None, changes)
        .0;
    let mut created = initial;
    // Files that phases touch are left alone by project commits after the plan.
    let phase_files = PHASES.div_ceil(layout.folders) * layout.folders;
    for c in 2..=size.commits {
        if created < size.files {
            let add = per_commit.min(size.files - created);
            let mut changes = Vec::new();
            for n in created..created + add {
                w.revisions[n] = 1;
                let path = layout.file(n);
                let text = source_text(seed, &path, 1);
                changes.push(Change::Inline(path, text));
            }
            created += add;
            w.main = w
                .imp
                .commit(
                    "refs/heads/main",
                    &format!("Add {add} files\n"),
                    Some(w.main),
                    None,
                    changes,
                )
                .0;
            continue;
        }
        let count = rng.between(1, if c % 7 == 0 { 6 } else { 3 });
        w.project_commit(&mut rng, created, 0, count);
    }
    let history_commits = size.commits;

    // The plan, with the smaller plans beside it.
    let mut changes = vec![Change::Inline(
        ".planx/plan.toml".into(),
        plan_text(&specs, PHASES).into_bytes(),
    )];
    let mut subset_plans = Vec::new();
    for count in SUBSET_PLANS {
        let path = format!(".planx/phases-{count}.toml");
        changes.push(Change::Inline(
            path.clone(),
            plan_text(&specs, count).into_bytes(),
        ));
        subset_plans.push((count, path));
    }
    let (plan_commit, _) = w.imp.commit(
        "refs/heads/main",
        "Add the plan\n",
        Some(w.main),
        None,
        changes,
    );
    w.main = plan_commit;
    w.plan_blob = w.imp.entry(plan_commit, ".planx/plan.toml");

    // Phases complete in waves: those at one position of their track fork from main together
    // and are merged one after the other, with project commits in between waves.
    let mut pr = 0;
    let mut completions: BTreeMap<String, usize> = BTreeMap::new();
    for pos in 0..TRACK {
        let done: Vec<&PhaseSpec> = specs
            .iter()
            .filter(|s| (s.i - 1) % TRACK == pos)
            .filter(|s| matches!(s.intent, Intent::Complete | Intent::Unverified))
            .collect();
        let waves: Vec<Vec<&PhaseSpec>> = if pos == 0 {
            vec![done[..1].to_vec(), done[1..].to_vec()]
        } else {
            vec![done]
        };
        for wave in waves {
            let fork = w.main;
            let mut branches = Vec::new();
            for spec in &wave {
                let verified = spec.intent == Intent::Complete;
                let mut branch = w.branch(spec, fork);
                w.complete_work(spec, fork, &mut branch, verified);
                branches.push((spec, branch, verified));
            }
            for (spec, branch, verified) in branches {
                pr += 1;
                let shape = match (shapes, verified) {
                    // Unverified: a pull request merged without any record.
                    (_, false) => "forge merge, no record",
                    (Shapes::Finish, true) => "finish merge",
                    (Shapes::Mixed, true) => match spec.i % 3 {
                        0 => "rebase",
                        1 => "squash",
                        _ => "forge merge",
                    },
                };
                match shape {
                    "rebase" => w.rebase(spec, &branch),
                    "squash" => w.squash(spec, &branch),
                    "finish merge" => w.merge(spec, &branch, true, pr),
                    _ => w.merge(spec, &branch, false, pr),
                }
                *completions.entry(shape.to_owned()).or_default() += 1;
            }
            for _ in 0..2 {
                let count = rng.between(1, 3);
                w.project_commit(&mut rng, created, phase_files, count);
            }
        }
    }

    // Phases in progress, blocked and failed, forked from main as it is now.
    let fork = w.main;
    for spec in &specs {
        match spec.intent {
            Intent::InProgress => {
                let mut branch = w.branch(spec, fork);
                w.in_progress_work(spec, &mut branch);
            }
            Intent::Blocked => {
                w.branch(spec, fork);
                w.stopped_work(spec, "blocked");
            }
            Intent::Failed => {
                w.branch(spec, fork);
                w.stopped_work(spec, "failed");
            }
            _ => {}
        }
    }

    // Notes left on commits that amend and rebase replaced, up to the size's number of notes.
    let filler = size.notes.saturating_sub(w.notes.len());
    let mut previous = plan_commit;
    for k in 0..filler {
        let phase = format!("e{:05}", k / 4);
        let msg = message(
            &format!("planx: {phase} step — earlier work"),
            &[
                (trailers::PLAN, "earlier"),
                (trailers::PHASE, &phase),
                (trailers::CHECKPOINT, "step"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        let (commit, time) = w.imp.commit(
            "refs/fixture/rewritten",
            &msg,
            Some(previous),
            None,
            Vec::new(),
        );
        let event = Event::new(&ts(time), "earlier", &phase, "checkpoint")
            .with("checkpoint", "step")
            .with("status", "in-progress")
            .with("step", (k % 4 + 1).to_string());
        w.note(commit, &event);
        previous = commit;
    }

    // All notes in one notes commit; fast-import lays them out with git's fan-out.
    let time = w.imp.clock + STEP_SECS;
    let notes = std::mem::take(&mut w.notes);
    w.imp
        .write(format!("commit refs/notes/planx\ncommitter {WHO} {time} +0000\n").as_bytes());
    w.imp.data(b"Notes added by 'git planx'\n");
    for (commit, lines) in &notes {
        w.imp.write(b"N inline :");
        w.imp.write(format!("{commit}\n").as_bytes());
        let mut text = lines.join("\n");
        text.push('\n');
        w.imp.data(text.as_bytes());
    }
    w.imp.write(b"\n");
    w.imp.finish();
    env.git(repo, &["update-ref", "-d", "refs/fixture/rewritten"]);
    // fast-import's pack chains each version of a tree or file as a delta on the one before it,
    // so reading a recent tree applies dozens of deltas; a clone receives a pack whose recent
    // objects are whole. Repack the way a server would, and pack the refs as gc would.
    env.git(repo, &["repack", "-a", "-d", "-f", "-q"]);
    env.git(repo, &["pack-refs", "--all"]);

    // The work tree: a phase in progress, with work staged, modified and untracked.
    let work = specs
        .iter()
        .find(|s| s.intent == Intent::InProgress)
        .expect("a phase in progress");
    let work_branch = format!("planx/{}", work.id);
    env.git(repo, &["checkout", "-q", "-f", &work_branch]);
    let write = |rel: &str, text: &str| {
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        std::fs::write(path, text).expect("write a work tree file");
    };
    let append = |rel: &str, text: &str| {
        let mut old = std::fs::read_to_string(repo.join(rel)).expect("read a work tree file");
        old.push_str(text);
        write(rel, &old);
    };
    append(&work.create, "// more of the module\n");
    append(&work.modify.1, "// changed by the phase\n");
    write(&format!("docs/{}/design.md", work.id), "# Design\n");
    env.git(
        repo,
        &[
            "add",
            &work.create,
            &work.modify.1,
            &format!("docs/{}/design.md", work.id),
        ],
    );
    append(&format!("docs/{}/notes.md", work.id), "More notes.\n");
    write(&format!("docs/{}/scratch.md", work.id), "untracked\n");
    write("build.log", "ignored\n");
    settle(env, repo);

    let fork_oid = env
        .git(repo, &["merge-base", "main", "HEAD"])
        .trim()
        .to_owned();
    let plan_commit_oid = env
        .git(
            repo,
            &[
                "log",
                "--format=%H",
                "--diff-filter=A",
                "main",
                "--",
                ".planx/plan.toml",
            ],
        )
        .trim()
        .to_owned();
    let history: Vec<String> = env
        .git(
            repo,
            &[
                "rev-list",
                "--reverse",
                "--first-parent",
                &format!("{plan_commit_oid}^"),
            ],
        )
        .lines()
        .map(str::to_owned)
        .collect();
    let note_targets = history[1..=1000.min(history.len() - 1)].to_vec();

    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let complete = |id: &str| {
        specs
            .iter()
            .find(|s| s.id == id)
            .is_some_and(|s| s.intent == Intent::Complete)
    };
    for spec in &specs {
        let state = match spec.intent {
            Intent::Complete => "complete",
            Intent::Unverified => "unverified",
            Intent::InProgress => "in-progress",
            Intent::Blocked => "blocked",
            Intent::Failed => "failed",
            Intent::NotStarted if spec.depends_on.iter().all(|d| complete(d)) => "ready",
            Intent::NotStarted => "waiting",
        };
        *states.entry(state.to_owned()).or_default() += 1;
    }

    let files = env.git(repo, &["ls-files"]);
    let tracked_files = files.lines().count();
    let folders = {
        let mut dirs: Vec<&str> = files
            .lines()
            .filter_map(|l| l.rsplit_once('/').map(|(d, _)| d))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs.len()
    };
    Meta {
        generator: GENERATOR_VERSION,
        size: size.name.to_owned(),
        shapes: shapes.name().to_owned(),
        completions,
        seed,
        tracked_files,
        folders,
        commits: env
            .git(repo, &["rev-list", "--all", "--count"])
            .trim()
            .parse()
            .expect("a count"),
        history_commits,
        notes: env
            .git(repo, &["notes", "--ref", "planx", "list"])
            .lines()
            .count(),
        phases: PHASES,
        plan_commit: plan_commit_oid,
        work_phase: work.id.clone(),
        work_branch,
        fork: fork_oid,
        note_targets,
        subset_plans,
        states,
        object_bytes: dir_bytes(&repo.join(".git/objects")),
        seconds: 0.0,
    }
}

/// Lets the index settle: files written in the same second as the index are "racily clean"
/// and would be hashed again by every command until the index is rewritten after that second.
pub fn settle(env: &Env, repo: &Path) {
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let _ = env.output(
        env.command("git", repo)
            .args(["update-index", "-q", "--refresh"]),
    );
    env.git(repo, &["status", "--porcelain"]);
}

pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Checks that a fixture means what it claims: the plan is valid for `git planx check`, and
/// `git planx status` derives the states the generator intended. A fixture that fails here
/// stops the suite (in CI too): its numbers would describe something else.
pub fn validate(env: &Env, repo: &Path, meta: &Meta) {
    let check = env.planx(repo, &["check"]);
    assert!(
        check.status.success(),
        "`git planx check` refuses the fixture's plan:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let status = env.planx(repo, &["status", "--json"]);
    assert!(
        status.status.success(),
        "`git planx status` fails on the fixture: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let json: Value = serde_json::from_slice(&status.stdout).expect("status --json is JSON");
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for phase in json["phases"].as_array().expect("phases") {
        let state = phase["state"].as_str().expect("a state").to_owned();
        *states.entry(state).or_default() += 1;
    }
    assert_eq!(
        states, meta.states,
        "`git planx status` does not derive the states the fixture was built for"
    );
}
