//! `resume`: go back to the phase that is in progress (or failed, or blocked), say where it
//! stands, and re-check that what completed phases created is still on base.

use std::path::PathBuf;

use super::LifecycleError;
use crate::state::judging::{Subject, find_phase};
use crate::state::{self, PhaseStatus, State, StepState};

#[derive(Debug)]
pub struct ResumeOutcome {
    pub phase: String,
    pub branch: String,
    pub state: State,
    /// Switched this work tree to the branch.
    pub switched: bool,
    /// The work tree holding the branch, when it is another one.
    pub elsewhere: Option<PathBuf>,
    pub last_completed_step: Option<(String, String)>,
    pub next_step: Option<(String, String)>,
    pub reason: Option<String>,
    pub status: PhaseStatus,
    /// Complete phases whose `create` entries match nothing on base any more.
    pub stale: Vec<(String, Vec<String>)>,
    /// The phase is in progress and its tip has a passing verify: `finish` is next.
    pub finish: bool,
}

/// Why `resume` could not choose a phase.
#[derive(Debug)]
pub enum Choice {
    None,
    Several(Vec<String>),
}

pub fn resume(
    subject: Subject<'_>,
    phase: Option<&str>,
) -> Result<Result<ResumeOutcome, Choice>, LifecycleError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let statuses = state::derive(subject, state::Notes::Open)?;
    let active =
        |s: &PhaseStatus| matches!(s.state, State::InProgress | State::Failed | State::Blocked);
    let current = repo.current_branch()?;
    let index = match phase {
        Some(id) => {
            find_phase(plan, id)?;
            let i = plan
                .phases
                .iter()
                .position(|p| p.id == id)
                .unwrap_or_default();
            if !active(&statuses[i]) {
                return Err(LifecycleError::NotResumable {
                    phase: id.to_owned(),
                    state: statuses[i].state,
                });
            }
            i
        }
        None => {
            let here = current
                .as_deref()
                .and_then(|b| statuses.iter().position(|s| s.branch == b && active(s)));
            match here {
                Some(i) => i,
                None => {
                    let candidates: Vec<usize> = (0..statuses.len())
                        .filter(|&i| active(&statuses[i]))
                        .collect();
                    match candidates.as_slice() {
                        [] => return Ok(Err(Choice::None)),
                        [only] => *only,
                        many => {
                            return Ok(Err(Choice::Several(
                                many.iter().map(|&i| statuses[i].id.clone()).collect(),
                            )));
                        }
                    }
                }
            }
        }
    };
    let phase = &plan.phases[index];
    let status = statuses[index].clone();
    let (mut switched, mut elsewhere) = (false, None);
    if current.as_deref() != Some(status.branch.as_str()) {
        match repo.worktree_of_branch(&status.branch)? {
            Some(path) => elsewhere = Some(path),
            None => {
                if plan.preflight.clean_worktree {
                    super::start::refuse_dirty(repo)?;
                }
                repo.switch(&status.branch)
                    .map_err(|source| LifecycleError::Switch {
                        phase: phase.id.clone(),
                        branch: status.branch.clone(),
                        source,
                    })?;
                switched = true;
            }
        }
    }
    let states = state::step_states(phase, &status);
    let titled = |s: &crate::plan::Step| (s.id.clone(), s.title.clone());
    let last_completed_step = phase
        .steps
        .iter()
        .zip(&states)
        .rfind(|(_, st)| **st == StepState::Completed)
        .map(|(s, _)| titled(s));
    let next_step = phase
        .steps
        .iter()
        .zip(&states)
        .find(|(_, st)| **st != StepState::Completed)
        .map(|(s, _)| titled(s));
    let stale = statuses
        .iter()
        .filter(|s| !s.stale.is_empty())
        .map(|s| (s.id.clone(), s.stale.clone()))
        .collect();
    Ok(Ok(ResumeOutcome {
        phase: phase.id.clone(),
        branch: status.branch.clone(),
        state: status.state,
        switched,
        elsewhere,
        last_completed_step,
        next_step,
        reason: status.reason(),
        finish: status.state == State::InProgress
            && status
                .tip_verify
                .as_ref()
                .is_some_and(|v| v.state == state::VerifyState::Passed),
        status,
        stale,
    }))
}
