//! What a run tells its caller: the events as they happen ([`RunEvent`], to an [`Observer`]),
//! how each phase ended ([`Outcome`], in a [`Summary`]), and the schedule `--dry-run` shows.
//!
//! These are values; `cli` decides how they look (a live block, lines, JSON). Their reasons are
//! sentences because they are the ones recorded in git (a `failed` checkpoint's reason) or
//! said by the caller's [`Render`](super::Render) (why a phase was skipped or not run).

use std::path::PathBuf;

use serde::Serialize;

pub use super::scheduler::Outcome;
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
    /// `run --remote`: another machine holds the phase's claim; the run waits for it.
    Elsewhere {
        phase: String,
        reason: String,
    },
    /// `run --remote` could not look at the phases other machines hold this time; it tries
    /// again.
    Waiting {
        because: String,
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
            | RunEvent::Elsewhere { phase, .. }
            | RunEvent::Interrupted { phase } => phase,
            RunEvent::Waiting { .. } => "",
        }
    }
}

/// Receives events from every phase's thread.
pub trait Observer: Sync {
    fn event(&self, event: &RunEvent);
    /// Called about five times a second while phases run (a live display redraws).
    fn tick(&self) {}
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
