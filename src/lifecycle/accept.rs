//! `accept`: record the evidence for a manual check, as an event on the phase branch.

use super::LifecycleError;
use crate::clock;
use crate::git::{Oid, Repo};
use crate::plan::{CheckKind, Plan};
use crate::state::events::Event;
use crate::state::judging::JudgingError;
use crate::state::judging::{find_phase, judging_plan};

#[derive(Debug)]
pub struct AcceptOutcome {
    pub phase: String,
    pub check: String,
    pub commit: Oid,
    pub who: String,
}

pub fn accept(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    phase_id: &str,
    check_name: &str,
    evidence: &str,
) -> Result<AcceptOutcome, LifecycleError> {
    let phase = find_phase(plan, phase_id)?;
    let branch = plan.branch(phase);
    let tip = repo
        .branch_tip(&branch)?
        .ok_or_else(|| LifecycleError::NotStarted {
            phase: phase.id.clone(),
        })?;
    // The check must exist in the plan that judges the phase.
    let fork = match repo.base_tip(&plan.base)? {
        Some(base) => crate::state::evidence::fork_point(repo, base, tip)?,
        None => None,
    };
    let judging = match fork {
        Some(fork) => {
            judging_plan(repo, plan, fork, plan_path).map_err(|source| JudgingError::Plan {
                branch: branch.clone(),
                source,
            })?
        }
        None => std::borrow::Cow::Borrowed(plan),
    };
    let judged = judging.phase(&phase.id).unwrap_or(phase);
    let check = judged
        .checks
        .iter()
        .find(|c| c.name == check_name)
        .ok_or_else(|| LifecycleError::UnknownCheck {
            phase: phase.id.clone(),
            check: check_name.to_owned(),
            known: judged.checks.iter().map(|c| c.name.clone()).collect(),
        })?;
    if !matches!(check.kind, CheckKind::Manual) {
        return Err(LifecycleError::NotManual {
            phase: phase.id.clone(),
            check: check_name.to_owned(),
        });
    }
    let (name, email) = repo.identity();
    let who = format!("{name} <{email}>");
    let event = Event::new(
        &clock::format(clock::now()),
        &judging.id,
        &phase.id,
        "accept",
    )
    .with("check", check_name)
    .with("evidence", evidence)
    .with("who", &who);
    repo.append_note_line(tip, &event.to_line())?;
    Ok(AcceptOutcome {
        phase: phase.id.clone(),
        check: check_name.to_owned(),
        commit: tip,
        who,
    })
}
