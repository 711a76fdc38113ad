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
    /// Merged into base, but what was merged fails its manifest, recomputed from git: whatever
    /// the notes say, not complete.
    Contradicted,
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
            State::Contradicted => "contradicted",
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

/// What the latest verify recorded on a phase branch says of the branch's tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TipVerify {
    pub state: VerifyState,
    /// The commit whose note holds the record.
    pub commit: Oid,
    /// When it was recorded.
    pub ts: String,
}

/// The verify state of a phase branch's tip, by its latest verify record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyState {
    /// It passed, its commands run in a clean work tree, for the tip's tree — or for a tree
    /// the tip differs from only in `after_verify` paths (committed after the verify, as the
    /// plan asks): `finish` merges it.
    Passed,
    /// It failed for the tip's tree.
    Failed,
    /// It was a `--no-run` verify (or of a work tree with uncommitted changes) of the tip's tree:
    /// no evidence.
    NotRun,
    /// It is of an older tree: the files changed since.
    Outdated,
}

impl VerifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyState::Passed => "passed",
            VerifyState::Failed => "failed",
            VerifyState::NotRun => "not-run",
            VerifyState::Outdated => "outdated",
        }
    }
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
    /// What was merged fails its manifest (recomputed from git): the `error` findings.
    pub contradicted: Vec<String>,
    /// A record planx did not write claims the merged tree passed (why it does not count).
    pub uncounted: Option<String>,
    /// Checkpoints of the phase, newest first.
    pub checkpoints: Vec<Checkpoint>,
    /// Commits on the phase branch without planx trailers (ordinary commits of the work).
    pub plain_commits: usize,
    /// Dependencies that are not complete.
    pub waiting_for: Vec<String>,
    /// For a phase with a branch and no completion: what its latest verify says of the tip
    /// (`None`: no verify recorded).
    pub tip_verify: Option<TipVerify>,
}

impl PhaseStatus {
    /// The latest `verify` recorded on one of the phase's checkpoints, with its commit.
    pub fn latest_verify(&self) -> Option<(Oid, crate::state::events::VerifyRecord)> {
        self.checkpoints.iter().find_map(|c| {
            c.events
                .iter()
                .rev()
                .find_map(crate::state::events::VerifyRecord::of)
                .map(|r| (c.commit, r))
        })
    }

    /// Merged into base with a passing verify of what was merged.
    pub(super) fn is_complete(&self) -> bool {
        self.completed_by.is_some() && self.verified && self.contradicted.is_empty()
    }

    /// The state the facts read so far give (completion, verification, the latest
    /// checkpoint, the branch, the dependencies not complete), by SPEC §2's precedence.
    pub(super) fn state_of_facts(&self) -> State {
        let latest = self.last_checkpoint().map(|c| c.kind);
        if self.is_complete() {
            State::Complete
        } else if self.completed_by.is_some() && !self.contradicted.is_empty() {
            State::Contradicted
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{checkpoint, event, oid, status};

    /// Every fact that can decide a state, set one at a time above the ones it outranks.
    struct Facts {
        completed_by: bool,
        verified: bool,
        latest: Option<Kind>,
        branch: bool,
        waiting_for: &'static [&'static str],
    }

    const NONE: Facts = Facts {
        completed_by: false,
        verified: false,
        latest: None,
        branch: false,
        waiting_for: &[],
    };

    fn state_of(facts: Facts) -> State {
        let mut s = status("a", State::Waiting);
        s.completed_by = facts.completed_by.then(|| oid(1));
        s.verified = facts.verified;
        s.checkpoints = facts
            .latest
            .into_iter()
            .map(|kind| checkpoint(kind, None, Vec::new()))
            .collect();
        s.branch_tip = facts.branch.then(|| oid(2));
        s.waiting_for = facts.waiting_for.iter().map(|d| d.to_string()).collect();
        s.state_of_facts()
    }

    #[test]
    fn states_follow_the_precedence_of_the_spec() {
        let everything = Facts {
            completed_by: true,
            verified: true,
            latest: Some(Kind::Failed),
            branch: true,
            waiting_for: &["x"],
        };
        let cases = [
            (everything, State::Complete),
            (
                Facts {
                    completed_by: true,
                    latest: Some(Kind::Failed),
                    branch: true,
                    waiting_for: &["x"],
                    ..NONE
                },
                State::Unverified,
            ),
            (
                Facts {
                    verified: true,
                    latest: Some(Kind::Failed),
                    branch: true,
                    waiting_for: &["x"],
                    ..NONE
                },
                State::Failed,
            ),
            (
                Facts {
                    latest: Some(Kind::Blocked),
                    branch: true,
                    waiting_for: &["x"],
                    ..NONE
                },
                State::Blocked,
            ),
            (
                Facts {
                    latest: Some(Kind::Step),
                    branch: true,
                    waiting_for: &["x"],
                    ..NONE
                },
                State::InProgress,
            ),
            (
                Facts {
                    branch: true,
                    waiting_for: &["x"],
                    ..NONE
                },
                State::InProgress,
            ),
            (NONE, State::Ready),
            (
                Facts {
                    latest: Some(Kind::Start),
                    ..NONE
                },
                State::Ready,
            ),
            (
                Facts {
                    waiting_for: &["x"],
                    ..NONE
                },
                State::Waiting,
            ),
        ];
        for (i, (facts, want)) in cases.into_iter().enumerate() {
            assert_eq!(state_of(facts), want, "case {i}");
        }
    }

    #[test]
    fn only_the_latest_checkpoint_blocks_or_fails() {
        let mut s = status("a", State::Waiting);
        s.branch_tip = Some(oid(2));
        s.checkpoints = vec![
            checkpoint(Kind::Step, Some("1"), Vec::new()),
            checkpoint(Kind::Blocked, None, Vec::new()),
        ];
        assert_eq!(s.state_of_facts(), State::InProgress);
        s.checkpoints.reverse();
        assert_eq!(s.state_of_facts(), State::Blocked);
    }

    #[test]
    fn states_and_kinds_have_the_names_of_the_spec() {
        let states = [
            (State::Complete, "complete"),
            (State::Unverified, "unverified"),
            (State::Failed, "failed"),
            (State::Blocked, "blocked"),
            (State::InProgress, "in-progress"),
            (State::Ready, "ready"),
            (State::Waiting, "waiting"),
        ];
        for (state, name) in states {
            assert_eq!(state.as_str(), name);
            assert_eq!(serde_json::to_value(state).unwrap(), name);
        }
        for name in [
            "start", "step", "red", "green", "verify", "blocked", "failed", "complete",
        ] {
            let kind = Kind::parse(name);
            assert_ne!(kind, Kind::Other, "{name}");
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        assert_eq!(Kind::parse("Start"), Kind::Other);
        assert_eq!(Kind::parse("shipped").as_str(), "checkpoint");
        assert_eq!(serde_json::to_value(Kind::Other).unwrap(), "other");
    }

    #[test]
    fn the_reason_is_the_latest_of_a_latest_blocked_or_failed_checkpoint() {
        let reason = |text: &str| event("a", "blocked").with("reason", text);
        let mut s = status("a", State::Blocked);
        s.checkpoints = vec![
            checkpoint(
                Kind::Blocked,
                None,
                vec![reason("first"), event("a", "note"), reason("second")],
            ),
            checkpoint(Kind::Failed, None, vec![reason("older")]),
        ];
        assert_eq!(s.reason().as_deref(), Some("second"));
        s.checkpoints[0].kind = Kind::Failed;
        assert_eq!(s.reason().as_deref(), Some("second"));
        s.checkpoints[0].events = vec![event("a", "blocked")];
        assert_eq!(s.reason(), None);
        s.checkpoints[0] = checkpoint(Kind::Step, None, vec![reason("stale")]);
        assert_eq!(s.reason(), None);
        s.checkpoints.clear();
        assert_eq!(s.reason(), None);
    }

    #[test]
    fn start_and_last_activity_read_the_checkpoints() {
        let mut s = status("a", State::InProgress);
        assert!(s.start().is_none() && s.last_activity().is_none());
        let mut start = checkpoint(Kind::Start, None, Vec::new());
        start.time = 50;
        start.commit = oid(3);
        let mut step = checkpoint(Kind::Step, Some("1"), Vec::new());
        step.time = 40;
        s.checkpoints = vec![step, start];
        assert_eq!(s.start().map(|c| c.commit), Some(oid(3)));
        assert_eq!(s.last_checkpoint().map(|c| c.kind), Some(Kind::Step));
        assert_eq!(s.last_activity(), Some(50));
    }
}
