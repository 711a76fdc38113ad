//! The next-action policy: the one thing to do next for the whole plan ([`Next`]), decided
//! from the derived states alone ([`next_action`]).
//!
//! It is a pure function of the plan, the statuses, a dependency order and the branch checked
//! out, so `next`, `status` and `brief` agree, and every case is a row in a table test.

use super::model::{PhaseStatus, State, VerifyState};
use super::steps::{StepState, step_states};
use crate::plan::{Plan, PlanStatus};

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
    /// A started phase's tip has a passing verify: merge it.
    Finish { phase: String },
    /// Start a ready phase.
    Start { phase: String },
    /// A phase would be ready to start, but the plan is `draft` or `reviewed`; `committed`
    /// says whether it is committed on base.
    PlanNotReady {
        phase: String,
        status: PlanStatus,
        committed: bool,
    },
    /// A phase would be ready to start, but the plan is not committed on base yet.
    CommitPlan { phase: String },
    /// Every phase is merged, but what this one created is no longer on base.
    Stale { phase: String, missing: Vec<String> },
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
/// phases; then phases in progress (to finish when their tip has a passing verify); then the
/// first ready phase in dependency order — when the plan is `ready` and `committed` on base,
/// else what stands in the way; then stale phases, and only then "done".
pub fn next_action(
    plan: &Plan,
    statuses: &[PhaseStatus],
    order: &[usize],
    current_branch: Option<&str>,
    committed: bool,
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
            State::InProgress
                if status
                    .tip_verify
                    .as_ref()
                    .is_some_and(|v| v.state == VerifyState::Passed) =>
            {
                Next::Finish {
                    phase: status.id.clone(),
                }
            }
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
    if let Some(i) =
        in_order().find(|&i| matches!(statuses[i].state, State::Unverified | State::Contradicted))
    {
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
        let phase = statuses[i].id.clone();
        return if plan.status != PlanStatus::Ready {
            Next::PlanNotReady {
                phase,
                status: plan.status,
                committed,
            }
        } else if !committed {
            Next::CommitPlan { phase }
        } else {
            Next::Start { phase }
        };
    }
    if statuses.iter().all(|s| s.state == State::Complete) {
        return match in_order().find(|&i| !statuses[i].stale.is_empty()) {
            Some(i) => Next::Stale {
                phase: statuses[i].id.clone(),
                missing: statuses[i].stale.clone(),
            },
            None => Next::Done,
        };
    }
    match in_order().find(|&i| statuses[i].state == State::Waiting) {
        Some(i) => Next::Wait {
            phase: statuses[i].id.clone(),
            waiting_for: statuses[i].waiting_for.clone(),
        },
        None => Next::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::Kind;
    use crate::state::testing::{checkpoint, event, oid, plan, status, verify_run};

    /// A status of `id` in `state`, with a branch when the state means one exists.
    fn phase(id: &str, state: State) -> PhaseStatus {
        let mut s = status(id, state);
        if matches!(state, State::InProgress | State::Blocked | State::Failed) {
            s.branch_tip = Some(oid(1));
        }
        s
    }

    fn waiting(id: &str, on: &str) -> PhaseStatus {
        let mut s = phase(id, State::Waiting);
        s.waiting_for = vec![on.to_owned()];
        s
    }

    fn blocked(id: &str, state: State, reason: Option<&str>) -> PhaseStatus {
        let mut s = phase(id, state);
        let kind = if state == State::Failed {
            Kind::Failed
        } else {
            Kind::Blocked
        };
        let events = reason
            .map(|r| vec![event(id, kind.as_str()).with("reason", r)])
            .unwrap_or_default();
        s.checkpoints = vec![checkpoint(kind, None, events)];
        s
    }

    /// A case: its name, the statuses, the order, the branch checked out, the action wanted.
    type Case<'a> = (
        &'a str,
        Vec<PhaseStatus>,
        &'a [usize],
        Option<&'a str>,
        Next,
    );

    fn cont(phase: &str, step: Option<&str>) -> Next {
        Next::Continue {
            phase: phase.into(),
            step: step.map(str::to_owned),
        }
    }

    fn start(phase: &str) -> Next {
        Next::Start {
            phase: phase.into(),
        }
    }

    #[test]
    fn the_next_action_is_decided_by_state_then_plan_order() {
        use State::*;
        let plan = plan();
        let a_done = {
            let mut s = phase("a", InProgress);
            s.checkpoints = vec![
                checkpoint(Kind::Step, Some("2"), vec![verify_run("a", true)]),
                checkpoint(Kind::Step, Some("1"), vec![]),
            ];
            s
        };
        let a_step_1 = {
            let mut s = phase("a", InProgress);
            s.checkpoints = vec![checkpoint(Kind::Step, Some("1"), vec![])];
            s
        };
        let in_order = [0, 1, 2];
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            ("nothing started",
             vec![phase("a", Ready), waiting("b", "a"), waiting("c", "b")],
             &in_order, None, start("a")),
            ("a phase in progress, at its first step",
             vec![phase("a", InProgress), waiting("b", "a"), waiting("c", "b")],
             &in_order, None, cont("a", Some("1"))),
            ("a phase in progress, at its next open step",
             vec![a_step_1, waiting("b", "a"), waiting("c", "b")],
             &in_order, None, cont("a", Some("2"))),
            ("a phase in progress with every step done",
             vec![a_done, waiting("b", "a"), waiting("c", "b")],
             &in_order, None, cont("a", None)),
            ("a phase without steps in progress",
             vec![phase("a", Complete), phase("b", Complete), phase("c", InProgress)],
             &in_order, None, cont("c", None)),
            ("blocked, with its reason",
             vec![blocked("a", Blocked, Some("no key")), waiting("b", "a"), waiting("c", "b")],
             &in_order, None,
             Next::Unblock { phase: "a".into(), state: Blocked, reason: Some("no key".into()) }),
            ("failed, without a reason",
             vec![blocked("a", Failed, None), waiting("b", "a"), waiting("c", "b")],
             &in_order, None,
             Next::Unblock { phase: "a".into(), state: Failed, reason: None }),
            ("blocked comes before in progress",
             vec![phase("a", Complete), phase("b", InProgress), blocked("c", Blocked, None)],
             &in_order, None,
             Next::Unblock { phase: "c".into(), state: Blocked, reason: None }),
            ("in progress comes before ready",
             vec![phase("a", Complete), phase("b", Ready), phase("c", InProgress)],
             &in_order, None, cont("c", None)),
            ("unverified comes before blocked",
             vec![phase("a", Unverified), blocked("b", Blocked, None), waiting("c", "b")],
             &in_order, None, Next::Unverified { phase: "a".into() }),
            ("the phase checked out comes first",
             vec![phase("a", Unverified), blocked("b", Blocked, None), waiting("c", "b")],
             &in_order, Some("planx/b"),
             Next::Unblock { phase: "b".into(), state: Blocked, reason: None }),
            ("the phase checked out counts only when active",
             vec![phase("a", Complete), phase("b", Ready), phase("c", InProgress)],
             &in_order, Some("planx/b"), cont("c", None)),
            ("ready phases in the order given",
             vec![phase("a", Complete), phase("b", Ready), phase("c", Ready)],
             &[2, 1, 0], None, start("c")),
            ("a dependency is complete",
             vec![phase("a", Complete), phase("b", Ready), waiting("c", "b")],
             &in_order, None, start("b")),
            ("waiting on dependencies that are not complete",
             vec![phase("a", Complete), waiting("b", "x"), waiting("c", "b")],
             &in_order, None,
             Next::Wait { phase: "b".into(), waiting_for: vec!["x".into()] }),
            ("all complete",
             vec![phase("a", Complete), phase("b", Complete), phase("c", Complete)],
             &in_order, None, Next::Done),
            ("no phases", vec![], &[], None, Next::Nothing),
            ("a phase whose tip passed verify is finished",
             vec![verified("a", VerifyState::Passed), waiting("b", "a"), waiting("c", "b")],
             &in_order, None, Next::Finish { phase: "a".into() }),
            ("the phase checked out, verified, comes first",
             vec![phase("a", Complete), phase("b", InProgress), verified("c", VerifyState::Passed)],
             &in_order, Some("planx/c"), Next::Finish { phase: "c".into() }),
            ("a verify of an older tree does not finish",
             vec![verified("a", VerifyState::Outdated), waiting("b", "a"), waiting("c", "b")],
             &in_order, None, cont("a", Some("1"))),
            ("a failed verify does not finish",
             vec![verified("a", VerifyState::Failed), waiting("b", "a"), waiting("c", "b")],
             &in_order, None, cont("a", Some("1"))),
            ("a stale phase is not done",
             vec![phase("a", Complete), stale("b"), phase("c", Complete)],
             &in_order, None,
             Next::Stale { phase: "b".into(), missing: vec!["src/b.txt".into()] }),
        ];
        for (name, statuses, order, branch, want) in cases {
            assert_eq!(
                next_action(&plan, &statuses, order, branch, true),
                want,
                "{name}"
            );
        }
    }

    fn verified(id: &str, state: VerifyState) -> PhaseStatus {
        let mut s = phase(id, State::InProgress);
        s.tip_verify = Some(crate::state::model::TipVerify {
            state,
            commit: oid(1),
            ts: "2026-01-01T00:00:00Z".into(),
        });
        s
    }

    fn stale(id: &str) -> PhaseStatus {
        let mut s = phase(id, State::Complete);
        s.stale = vec![format!("src/{id}.txt")];
        s
    }

    #[test]
    fn a_phase_starts_only_from_a_ready_plan_committed_on_base() {
        let ready = plan();
        let statuses = || {
            vec![
                phase("a", State::Ready),
                waiting("b", "a"),
                waiting("c", "b"),
            ]
        };
        let order = [0, 1, 2];
        assert_eq!(
            next_action(&ready, &statuses(), &order, None, false),
            Next::CommitPlan { phase: "a".into() }
        );
        for status in [PlanStatus::Draft, PlanStatus::Reviewed] {
            let mut plan = plan();
            plan.status = status;
            for committed in [true, false] {
                assert_eq!(
                    next_action(&plan, &statuses(), &order, None, committed),
                    Next::PlanNotReady {
                        phase: "a".into(),
                        status,
                        committed
                    },
                    "{status:?}, committed: {committed}"
                );
            }
        }
        // A phase in progress goes on whatever the plan's status.
        let mut draft = plan();
        draft.status = PlanStatus::Draft;
        let started = vec![
            phase("a", State::InProgress),
            waiting("b", "a"),
            waiting("c", "b"),
        ];
        assert_eq!(
            next_action(&draft, &started, &order, None, true),
            cont("a", Some("1"))
        );
    }
}
