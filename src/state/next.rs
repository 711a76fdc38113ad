//! The next-action policy: the one thing to do next for the whole plan ([`Next`]), decided
//! from the derived states alone ([`next_action`]).
//!
//! It is a pure function of the plan, the statuses, a dependency order and the branch checked
//! out, so `next`, `status` and `brief` agree, and every case is a row in a table test.

use super::model::{PhaseStatus, State};
use super::steps::{StepState, step_states};
use crate::plan::Plan;

/// The one thing to do next, for the whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Work on a started phase: its next open step, if it has steps left.
    Continue { phase: String, step: Option<String> },
    /// A phase is blocked or failed: deal with the reason.
    Unblock {
        phase: String,
        state: State,
        reason: Option<String>,
    },
    /// Start a ready phase.
    Start { phase: String },
    /// A phase was merged without a passing verify of its tree.
    Unverified { phase: String },
    /// Nothing can start: these phases wait for others that are not complete.
    Wait {
        phase: String,
        waiting_for: Vec<String>,
    },
    /// Every phase is complete.
    Done,
    /// The plan has no phases.
    Nothing,
}

/// Decides the next action. The phase checked out here comes first; then blocked or failed
/// phases; then phases in progress; then the first ready phase in dependency order.
pub fn next_action(
    plan: &Plan,
    statuses: &[PhaseStatus],
    order: &[usize],
    current_branch: Option<&str>,
) -> Next {
    if statuses.is_empty() {
        return Next::Nothing;
    }
    let about = |i: usize| -> Next {
        let status = &statuses[i];
        let phase = &plan.phases[i];
        match status.state {
            State::Blocked | State::Failed => Next::Unblock {
                phase: status.id.clone(),
                state: status.state,
                reason: status.reason(),
            },
            _ => {
                let states = step_states(phase, status);
                let step = phase
                    .steps
                    .iter()
                    .zip(&states)
                    .find(|(_, s)| **s != StepState::Completed)
                    .map(|(s, _)| s.id.clone());
                Next::Continue {
                    phase: status.id.clone(),
                    step,
                }
            }
        }
    };
    let active =
        |s: &PhaseStatus| matches!(s.state, State::InProgress | State::Blocked | State::Failed);
    if let Some(branch) = current_branch
        && let Some(i) = statuses
            .iter()
            .position(|s| s.branch == branch && active(s))
    {
        return about(i);
    }
    let in_order = || order.iter().copied();
    if let Some(i) = in_order().find(|&i| statuses[i].state == State::Unverified) {
        return Next::Unverified {
            phase: statuses[i].id.clone(),
        };
    }
    if let Some(i) =
        in_order().find(|&i| matches!(statuses[i].state, State::Blocked | State::Failed))
    {
        return about(i);
    }
    if let Some(i) = in_order().find(|&i| statuses[i].state == State::InProgress) {
        return about(i);
    }
    if let Some(i) = in_order().find(|&i| statuses[i].state == State::Ready) {
        return Next::Start {
            phase: statuses[i].id.clone(),
        };
    }
    if statuses.iter().all(|s| s.state == State::Complete) {
        return Next::Done;
    }
    match in_order().find(|&i| statuses[i].state == State::Waiting) {
        Some(i) => Next::Wait {
            phase: statuses[i].id.clone(),
            waiting_for: statuses[i].waiting_for.clone(),
        },
        None => Next::Done,
    }
}
