//! What the unit tests of `state` share: a small plan, statuses and checkpoints built by hand
//! for the pure parts, and hermetic repositories built with the real `git` for the derivation.
//!
//! The repositories are built in the hermetic environment of the integration tests and the
//! performance suite (`tests/integration/common/hermetic.rs`, included here): the environment
//! cleared, a private `HOME`, no system or global git configuration, fixed identity and dates,
//! so commit ids never depend on the clock or the machine.

use std::cell::Cell;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../tests/integration/common/hermetic.rs"]
mod hermetic;

use super::events::Event;
use super::{Checkpoint, Kind, PhaseStatus, State};
use crate::git::{Oid, Repo};
use crate::plan::Plan;

/// Three phases in a line: `a` (two steps, the second with a `verify`), `b` after `a`
/// (creating files by a pattern), `c` after `b`.
pub const PLAN: &str = r#"version = 1

[plan]
id = "walk"
title = "Walk"
status = "ready"
base = "main"

[commands]
test = "true"

[[phase]]
id = "a"
title = "First"
owner = "dev"
blast_radius = "test"
  [phase.files]
  create = ["a.txt"]
  [[phase.check]]
  name = "a exists"
  file = "a.txt"
  [[phase.step]]
  id = "1"
  title = "Write the test"
  [[phase.step]]
  id = "2"
  title = "Make it pass"
  verify = "test"

[[phase]]
id = "b"
title = "Second"
owner = "dev"
depends_on = ["a"]
blast_radius = "test"
  [phase.files]
  create = ["docs/*.md"]
  [[phase.check]]
  name = "tests"
  run = "test"
  [[phase.step]]
  id = "1"
  title = "Write it"

[[phase]]
id = "c"
title = "Third"
owner = "dev"
depends_on = ["b"]
blast_radius = "test"
  [phase.files]
  create = ["c.txt"]
  [[phase.check]]
  name = "tests"
  run = "test"
"#;

pub fn plan() -> Plan {
    crate::plan::load_valid(".planx/plan.toml", PLAN.as_bytes().to_vec()).expect("a valid plan")
}

/// A status of phase `id` as the derivation leaves it, before the state is settled.
pub fn status(id: &str, state: State) -> PhaseStatus {
    PhaseStatus {
        id: id.to_owned(),
        state,
        stale: Vec::new(),
        branch: format!("planx/{id}"),
        branch_tip: None,
        completed_by: None,
        verified: false,
        contradicted: Vec::new(),
        uncounted: None,
        checkpoints: Vec::new(),
        plain_commits: 0,
        waiting_for: Vec::new(),
        tip_verify: None,
    }
}

/// Any commit id: the pure parts only compare them.
pub fn oid(n: u8) -> Oid {
    Oid::from_bytes(&[n; 20]).expect("20 bytes")
}

pub fn checkpoint(kind: Kind, step: Option<&str>, events: Vec<Event>) -> Checkpoint {
    Checkpoint {
        commit: oid(9),
        time: 0,
        summary: kind.as_str().to_owned(),
        kind,
        status: None,
        step: step.map(str::to_owned),
        events,
    }
}

/// An event of phase `phase` of the test plan.
pub fn event(phase: &str, name: &str) -> Event {
    Event::new("2026-01-01T00:00:00Z", "walk", phase, name)
}

/// A step checkpoint's event recording a run of the step's `verify`.
pub fn verify_run(phase: &str, passed: bool) -> Event {
    event(phase, "step").with(
        "verify",
        serde_json::json!({
            "command": "test", "shell": "true", "passed": passed, "exit": 0,
            "signal": null, "timed_out": false, "duration_ms": 1, "tail": ""
        }),
    )
}
/// A repository in a temporary folder, changed with the real `git`.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    env: hermetic::Hermetic,
    /// Files were written since the last commit (else there is nothing to add).
    written: Cell<bool>,
}

impl Fixture {
    /// A repository on `main` whose first commit holds a README only (before the plan).
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("temp dir");
        let base = tmp.path().canonicalize().expect("canonical temp dir");
        let root = base.join("repo");
        let home = base.join("home");
        std::fs::create_dir_all(&root).expect("repo dir");
        std::fs::create_dir_all(&home).expect("home dir");
        let fixture = Fixture {
            _tmp: tmp,
            env: hermetic::Hermetic::new(&home, &base, Path::new("/nonexistent")),
            root,
            written: Cell::new(false),
        };
        fixture.git(&["init", "-q"]);
        fixture
    }

    /// A repository whose `main` has a README, then the test plan.
    pub fn with_plan() -> Fixture {
        let fixture = Fixture::new();
        fixture.write("README.md", "# test\n");
        fixture.commit("Initial commit");
        fixture.write(".planx/plan.toml", PLAN);
        fixture.commit("Add the plan");
        fixture
    }

    /// Runs git in the repository with the hermetic environment; returns its stdout, trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self
            .env
            .command("git", &self.root)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    pub fn write(&self, path: &str, text: &str) {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
        self.written.set(true);
    }

    /// Commits what was written or staged (or nothing) with `message`; the new commit.
    pub fn commit(&self, message: &str) -> Oid {
        if self.written.replace(false) {
            self.git(&["add", "-A"]);
        }
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.repo().head_commit().unwrap().expect("a commit")
    }

    /// A checkpoint commit of phase `phase` of the test plan, with `more` trailers after
    /// `Planx-Checkpoint: kind`.
    pub fn checkpoint(&self, phase: &str, kind: &str, more: &[&str]) -> Oid {
        let mut message = format!(
            "{kind} {phase}\n\nPlanx-Plan: walk\nPlanx-Phase: {phase}\nPlanx-Checkpoint: {kind}"
        );
        for trailer in more {
            message.push('\n');
            message.push_str(trailer);
        }
        self.commit(&message)
    }

    pub fn rev(&self, what: &str) -> Oid {
        Oid::from_str(&self.git(&["rev-parse", what])).expect("an id")
    }

    /// Appends an event line to the planx note of `commit`.
    pub fn note(&self, commit: Oid, event: &Event) {
        let id = commit.to_string();
        self.git(&[
            "notes",
            "--ref=planx",
            "append",
            "-m",
            &event.sealed_line().expect("a test key signs"),
            &id,
        ]);
    }

    /// Records on `commit` a passing verify of phase `phase` for the tree of `of`, as
    /// `verify` writes it.
    pub fn verify_record(&self, commit: Oid, phase: &str, of: Oid) {
        let tree = self.repo().commit_info(of).unwrap().tree.to_string();
        let record = event(phase, "verify")
            .with("tree", tree)
            .with("passed", true)
            .with("clean", true)
            .with("no_run", false);
        self.note(commit, &record);
    }

    pub fn repo(&self) -> Repo {
        Repo::open(Path::new(&self.root)).expect("open the repository")
    }
}
