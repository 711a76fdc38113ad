//! `accept`: record the evidence for a manual check, as an event on the phase branch.

use std::borrow::Cow;

use super::LifecycleError;
use crate::clock;
use crate::git::Oid;
use crate::plan::CheckKind;
use crate::state::events::Event;
use crate::state::judging::{JudgingError, Subject};
use crate::trust::TrustError;

#[derive(Debug)]
pub struct AcceptOutcome {
    pub phase: String,
    pub check: String,
    pub commit: Oid,
    /// The tree the acceptance is about: the tip's.
    pub tree: Oid,
    pub who: String,
}

pub fn accept(
    subject: Subject<'_>,
    phase_id: &str,
    check_name: &str,
    evidence: &str,
) -> Result<AcceptOutcome, LifecycleError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let phase = subject.phase(phase_id)?;
    let branch = plan.branch(phase);
    let tip = repo
        .branch_tip(&branch)?
        .ok_or_else(|| LifecycleError::NotStarted {
            phase: phase.id.clone(),
        })?;
    // The check must exist in the plan that judges the phase; a branch with no fork point
    // (or no base) is judged by the plan as loaded.
    let as_judged = match repo.base_tip(&plan.base)? {
        Some(base_tip) => match subject.judge(&phase.id, &branch, tip, base_tip) {
            Ok(judged) => Some(judged),
            Err(JudgingError::NoForkPoint { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let judging = as_judged.map_or(Cow::Borrowed(plan), |j| j.plan);
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
    let tree = repo.tree_of(tip)?;
    let event = Event::new(
        &clock::format(clock::now()),
        &judging.id,
        &phase.id,
        "accept",
    )
    .with("check", check_name)
    .with("tree", tree.to_string())
    .with("evidence", evidence)
    .with("who", &who);
    let line = event.sealed_line().map_err(TrustError::from)?;
    repo.append_note_line(tip, &line)?;
    Ok(AcceptOutcome {
        phase: phase.id.clone(),
        check: check_name.to_owned(),
        commit: tip,
        tree,
        who,
    })
}
