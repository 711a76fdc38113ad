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
    /// The status document's word for a whole phase: a phase that failed, is blocked or was
    /// merged without a passing verify needs someone to look at it.
    pub fn of_phase(state: State) -> StepState {
        match state {
            State::Complete => StepState::Completed,
            State::InProgress => StepState::InProgress,
            State::Ready | State::Waiting => StepState::NotStarted,
            State::Failed | State::Blocked | State::Unverified | State::Contradicted => {
                StepState::NeedsClarification
            }
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{checkpoint, event, oid, plan, status, verify_run};

    #[test]
    fn a_step_passes_by_its_latest_recorded_run_or_by_needing_none() {
        let with = |events| checkpoint(Kind::Step, Some("2"), events);
        assert!(step_passed(&with(vec![verify_run("a", true)]), true));
        assert!(!step_passed(&with(vec![verify_run("a", false)]), false));
        assert!(!step_passed(
            &with(vec![verify_run("a", true), verify_run("a", false)]),
            true
        ));
        assert!(step_passed(
            &with(vec![verify_run("a", false), verify_run("a", true)]),
            true
        ));
        assert!(step_passed(&with(vec![event("a", "step")]), false));
        assert!(!step_passed(&with(vec![event("a", "step")]), true));
        assert!(!step_passed(&with(Vec::new()), true));
    }

    #[test]
    fn completed_steps_are_those_whose_latest_checkpoint_shows_them_done() {
        let plan = plan();
        let a = plan.phase("a").unwrap();
        let mut s = status("a", State::InProgress);
        // Newest first: step 2 passed its verify, step 1 needs none.
        s.checkpoints = vec![
            checkpoint(Kind::Step, Some("2"), vec![verify_run("a", true)]),
            checkpoint(Kind::Step, Some("1"), Vec::new()),
            checkpoint(Kind::Start, None, Vec::new()),
        ];
        assert_eq!(s.completed_steps(a), ["1", "2"]);
        // A trailer without its evidence does not complete a verified step.
        s.checkpoints[0].events.clear();
        assert_eq!(s.completed_steps(a), ["1"]);
        // A later failing run undoes an earlier pass.
        s.checkpoints.insert(
            0,
            checkpoint(Kind::Step, Some("2"), vec![verify_run("a", false)]),
        );
        s.checkpoints[1].events = vec![verify_run("a", true)];
        assert_eq!(s.completed_steps(a), ["1"]);
        // Only step checkpoints count.
        s.checkpoints = vec![checkpoint(Kind::Green, Some("1"), Vec::new())];
        assert!(s.completed_steps(a).is_empty());
    }

    #[test]
    fn step_states_follow_the_phase_and_its_step_checkpoints() {
        use StepState::*;
        let plan = plan();
        let a = plan.phase("a").unwrap();
        let done_1 = || checkpoint(Kind::Step, Some("1"), Vec::new());
        let tried_2 = || checkpoint(Kind::Step, Some("2"), vec![verify_run("a", false)]);
        let cases: Vec<(State, bool, Vec<Checkpoint>, [StepState; 2])> = vec![
            (State::Ready, false, vec![], [NotStarted, NotStarted]),
            (State::Waiting, false, vec![], [NotStarted, NotStarted]),
            (State::InProgress, true, vec![], [InProgress, NotStarted]),
            (
                State::InProgress,
                true,
                vec![done_1()],
                [Completed, InProgress],
            ),
            (
                State::InProgress,
                true,
                vec![tried_2()],
                [InProgress, InProgress],
            ),
            (
                State::InProgress,
                false,
                vec![tried_2()],
                [NotStarted, InProgress],
            ),
            (
                State::Blocked,
                true,
                vec![checkpoint(Kind::Blocked, None, vec![]), done_1()],
                [Completed, NeedsClarification],
            ),
            (
                State::Blocked,
                true,
                vec![checkpoint(Kind::Blocked, Some("2"), vec![])],
                [InProgress, NeedsClarification],
            ),
            (
                State::Failed,
                true,
                vec![checkpoint(Kind::Failed, Some("1"), vec![])],
                [InProgress, NotStarted],
            ),
            (
                State::Unverified,
                false,
                vec![done_1()],
                [Completed, NotStarted],
            ),
            (State::Complete, false, vec![], [Completed, Completed]),
        ];
        for (i, (state, started, checkpoints, want)) in cases.into_iter().enumerate() {
            let mut s = status("a", state);
            s.branch_tip = started.then(|| oid(1));
            s.checkpoints = checkpoints;
            assert_eq!(step_states(a, &s), want, "case {i}");
        }
        assert!(step_states(plan.phase("c").unwrap(), &status("c", State::Ready)).is_empty());
    }

    #[test]
    fn step_states_have_the_words_of_the_status_document() {
        let words = [
            (StepState::Completed, "COMPLETED"),
            (StepState::InProgress, "IN PROGRESS"),
            (StepState::NotStarted, "NOT STARTED"),
            (StepState::NeedsClarification, "NEEDS CLARIFICATION"),
        ];
        for (state, text) in words {
            assert_eq!(state.as_str(), text);
        }
        assert_eq!(
            serde_json::to_value(StepState::NeedsClarification).unwrap(),
            "NEEDS_CLARIFICATION"
        );
    }
}
