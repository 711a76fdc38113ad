//! The state model: what a phase's state is ([`State`]), what a checkpoint is ([`Kind`],
//! [`Checkpoint`]), and everything git says about one phase ([`PhaseStatus`]).
//!
//! These are plain values with no git in them, so every command (status, next, brief, run,
//! report) reads the same facts, and the precedence of SPEC §2 — complete → unverified →
//! failed / blocked → in-progress → ready → waiting — is written once, in
//! [`PhaseStatus::state_of_facts`], beside the values it reads. The derivation fills them in.

use serde::Serialize;

use super::events::Event;
use crate::git::Oid;

/// The state of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Complete,
    /// Merged into base, but no passing verify of the merged tree is recorded: a claim only.
    Unverified,
    Failed,
    Blocked,
    InProgress,
    Ready,
    Waiting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Complete => "complete",
            State::Unverified => "unverified",
            State::Failed => "failed",
            State::Blocked => "blocked",
            State::InProgress => "in-progress",
            State::Ready => "ready",
            State::Waiting => "waiting",
        }
    }
}

/// What kind of checkpoint a commit is (`Planx-Checkpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Start,
    Step,
    Red,
    Green,
    Verify,
    Blocked,
    Failed,
    Complete,
    /// A checkpoint commit without a recognised kind.
    Other,
}

impl Kind {
    pub fn parse(text: &str) -> Kind {
        match text {
            "start" => Kind::Start,
            "step" => Kind::Step,
            "red" => Kind::Red,
            "green" => Kind::Green,
            "verify" => Kind::Verify,
            "blocked" => Kind::Blocked,
            "failed" => Kind::Failed,
            "complete" => Kind::Complete,
            _ => Kind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Step => "step",
            Kind::Red => "red",
            Kind::Green => "green",
            Kind::Verify => "verify",
            Kind::Blocked => "blocked",
            Kind::Failed => "failed",
            Kind::Complete => "complete",
            Kind::Other => "checkpoint",
        }
    }
}

/// A checkpoint: a commit of the phase carrying planx trailers, with the events of its note.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub commit: Oid,
    pub time: i64,
    pub summary: String,
    pub kind: Kind,
    /// `Planx-Status`, when given.
    pub status: Option<String>,
    pub step: Option<String>,
    pub events: Vec<Event>,
}

/// Everything git says about one phase.
#[derive(Debug, Clone)]
pub struct PhaseStatus {
    pub id: String,
    pub state: State,
    /// Complete, but some `create` entry matches nothing on base any more.
    pub stale: Vec<String>,
    pub branch: String,
    pub branch_tip: Option<Oid>,
    /// The commit on base that completed the phase (verified or not).
    pub completed_by: Option<Oid>,
    /// A passing verify record of the merged tree was found.
    pub verified: bool,
    /// Checkpoints of the phase, newest first.
    pub checkpoints: Vec<Checkpoint>,
    /// Commits on the phase branch without planx trailers (ordinary commits of the work).
    pub plain_commits: usize,
    /// Dependencies that are not complete.
    pub waiting_for: Vec<String>,
}

impl PhaseStatus {
    /// Merged into base with a passing verify of what was merged.
    pub(super) fn is_complete(&self) -> bool {
        self.completed_by.is_some() && self.verified
    }

    /// The state the facts read so far give (completion, verification, the latest
    /// checkpoint, the branch, the dependencies not complete), by SPEC §2's precedence.
    pub(super) fn state_of_facts(&self) -> State {
        let latest = self.last_checkpoint().map(|c| c.kind);
        if self.is_complete() {
            State::Complete
        } else if self.completed_by.is_some() {
            State::Unverified
        } else if latest == Some(Kind::Failed) {
            State::Failed
        } else if latest == Some(Kind::Blocked) {
            State::Blocked
        } else if self.branch_tip.is_some() {
            State::InProgress
        } else if self.waiting_for.is_empty() {
            State::Ready
        } else {
            State::Waiting
        }
    }

    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoints.first()
    }

    pub fn start(&self) -> Option<&Checkpoint> {
        self.checkpoints.iter().find(|c| c.kind == Kind::Start)
    }

    /// Time of the latest recorded activity (checkpoint), if any.
    pub fn last_activity(&self) -> Option<i64> {
        self.checkpoints.iter().map(|c| c.time).max()
    }

    /// The reason recorded by the latest blocked or failed checkpoint.
    pub fn reason(&self) -> Option<String> {
        let c = self.last_checkpoint()?;
        if !matches!(c.kind, Kind::Blocked | Kind::Failed) {
            return None;
        }
        c.events
            .iter()
            .rev()
            .find_map(|e| e.str("reason").map(str::to_owned))
    }
}
