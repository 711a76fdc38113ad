//! What the unit tests of `state` share: a small plan, statuses and checkpoints built by hand
//! for the pure parts, and hermetic repositories built with the real `git` for the derivation.
//!
//! Hermetic as the integration tests are: the environment is cleared, `HOME` is a temporary
//! folder, system and global git configuration are ignored, and each commit gets a fixed date
//! one minute after the previous one, so commit ids never depend on the clock or the machine.

use super::events::Event;
use super::model::{Checkpoint, Kind, PhaseStatus, State};
use crate::git::Oid;
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
        checkpoints: Vec::new(),
        plain_commits: 0,
        waiting_for: Vec::new(),
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
