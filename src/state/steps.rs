//! Where the steps of a phase stand: which are done ([`PhaseStatus::completed_steps`], with
//! [`step_passed`] judging one step checkpoint) and the state of each in the words of the
//! status document ([`StepState`], [`step_states`]).
//!
//! A step is done only by evidence: a step checkpoint whose note records a passing run of the
//! step's `verify`, or the checkpoint alone for a step without one. This reads only a phase's
//! checkpoints and its plan entry, so it is shared by `status`, `next`, `brief` and the
//! next-action policy, and tested without git.

use std::collections::HashMap;

use serde::Serialize;

use super::model::{Checkpoint, Kind, PhaseStatus, State};

impl PhaseStatus {
    /// Steps of `phase` whose latest step checkpoint shows them done: with a passing run of the
    /// step's `verify` recorded in its note, or — for a step without a `verify` command — the
    /// checkpoint alone. A trailer without its evidence does not complete a verified step.
    pub fn completed_steps(&self, phase: &crate::plan::Phase) -> Vec<String> {
        let mut latest: HashMap<&str, bool> = HashMap::new();
        for c in self.checkpoints.iter().rev() {
            if let (Kind::Step, Some(step)) = (c.kind, &c.step) {
                let needs_run = phase
                    .steps
                    .iter()
                    .find(|s| &s.id == step)
                    .is_some_and(|s| s.verify.is_some());
                latest.insert(step, step_passed(c, needs_run));
            }
        }
        let mut done: Vec<String> = latest
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|(s, _)| s.to_owned())
            .collect();
        done.sort();
        done
    }
}

/// Did this step checkpoint's verify pass? Without a recorded run, only when none is needed.
pub fn step_passed(c: &Checkpoint, needs_run: bool) -> bool {
    match c.events.iter().rev().find_map(|e| e.run("verify")) {
        Some(run) => run.passed,
        None => !needs_run,
    }
}

/// Where a step of a phase stands, in the words of the status document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    Completed,
    InProgress,
    NotStarted,
    NeedsClarification,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Completed => "COMPLETED",
            StepState::InProgress => "IN PROGRESS",
            StepState::NotStarted => "NOT STARTED",
            StepState::NeedsClarification => "NEEDS CLARIFICATION",
        }
    }
}

/// The state of each step of a phase, from its step checkpoints.
pub fn step_states(phase: &crate::plan::Phase, status: &PhaseStatus) -> Vec<StepState> {
    if status.state == State::Complete {
        return vec![StepState::Completed; phase.steps.len()];
    }
    let completed = status.completed_steps(phase);
    let attempted: Vec<&str> = status
        .checkpoints
        .iter()
        .filter(|c| c.kind == Kind::Step)
        .filter_map(|c| c.step.as_deref())
        .collect();
    let first_open = phase.steps.iter().position(|s| !completed.contains(&s.id));
    let blocked_at = match status.state {
        State::Blocked => status
            .last_checkpoint()
            .and_then(|c| c.step.clone())
            .and_then(|id| phase.steps.iter().position(|s| s.id == id))
            .or(first_open),
        _ => None,
    };
    let started = status.branch_tip.is_some();
    phase
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            if completed.contains(&step.id) {
                StepState::Completed
            } else if blocked_at == Some(i) {
                StepState::NeedsClarification
            } else if attempted.contains(&step.id.as_str()) || (started && first_open == Some(i)) {
                StepState::InProgress
            } else {
                StepState::NotStarted
            }
        })
        .collect()
}
