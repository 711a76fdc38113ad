//! What a run tells its caller: the events as they happen ([`RunEvent`], to an [`Observer`]),
//! how each phase ended ([`Outcome`], in a [`Summary`]), and the schedule `--dry-run` shows.
//!
//! These are values; `cli` decides how they look (a live block, lines, JSON). Their reasons are
//! sentences because they are the ones recorded in git (a `failed` checkpoint's reason) or
//! said by the caller's [`Render`](super::Render) (why a phase was skipped or not run).

use std::path::PathBuf;

use serde::Serialize;

use super::scheduler::Why;

/// Something that happened, for the progress display and `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RunEvent {
    Started {
        phase: String,
        branch: String,
        worktree: PathBuf,
    },
    Executing {
        phase: String,
        command: String,
        log: PathBuf,
    },
    Executed {
        phase: String,
        outcome: String,
        duration_ms: u64,
    },
    Committed {
        phase: String,
        commit: String,
    },
    Verified {
        phase: String,
        passed: bool,
        summary: String,
    },
    Merged {
        phase: String,
        commit: String,
    },
    Failed {
        phase: String,
        reason: String,
        tail: String,
    },
    Blocked {
        phase: String,
        reason: String,
    },
    Skipped {
        phase: String,
        because: String,
    },
    Interrupted {
        phase: String,
    },
}

impl RunEvent {
    pub fn phase(&self) -> &str {
        match self {
            RunEvent::Started { phase, .. }
            | RunEvent::Executing { phase, .. }
            | RunEvent::Executed { phase, .. }
            | RunEvent::Committed { phase, .. }
            | RunEvent::Verified { phase, .. }
            | RunEvent::Merged { phase, .. }
            | RunEvent::Failed { phase, .. }
            | RunEvent::Blocked { phase, .. }
            | RunEvent::Skipped { phase, .. }
            | RunEvent::Interrupted { phase } => phase,
        }
    }
}

/// Receives events from every phase's thread.
pub trait Observer: Sync {
    fn event(&self, event: &RunEvent);
    /// Called about five times a second while phases run (a live display redraws).
    fn tick(&self) {}
}

/// How each selected phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Already complete before this run.
    WasComplete,
    Completed,
    Failed,
    /// Verified but not merged (a conflict with base, a dirty base): needs a person.
    Blocked,
    /// A dependency failed, or is blocked.
    Skipped,
    /// Not run: earlier failures stopped the run (with --fail-fast), a dependency outside
    /// the selection is not complete, or it failed before and --retry-failed was not given.
    NotRun,
    Interrupted,
}

impl Outcome {
    /// The outcome as people read it ("complete" whether or not this run completed it).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed | Outcome::WasComplete => "complete",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not run",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// A failure for `--fail-fast`: the phase ran and did not land (failed, or blocked and
    /// waiting for a person). A phase another run holds, or one interrupted, is not.
    pub fn stops_fail_fast(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Blocked)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub outcomes: Vec<(String, Outcome, String)>,
    pub interrupted: Option<i32>,
}

impl Summary {
    pub fn all_complete(&self) -> bool {
        self.outcomes
            .iter()
            .all(|(_, o, _)| matches!(o, Outcome::Completed | Outcome::WasComplete))
    }
}

/// The schedule a run would follow if every phase succeeded: waves of phases run together.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub waves: Vec<Vec<String>>,
    pub complete: Vec<String>,
    /// Phases left out, with why.
    pub left_out: Vec<(String, Why)>,
}
