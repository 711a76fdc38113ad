//! The plan that judges a phase (SPEC §4) and the lookups of a phase in a plan.
//!
//! A phase is judged by the plan committed on base at its fork point, never by the branch's own
//! copy, which whoever does the work could rewrite. Every command that judges a phase — start,
//! checkpoint, finish, accept, verify, the hooks, review, brief and run — reads that plan here.

use std::borrow::Cow;

use thiserror::Error;

use crate::git::{GitError, Oid, Repo};
use crate::plan::{self, Plan, PlanError};

/// A phase id the plan does not have.
#[derive(Debug, Error)]
#[error("the plan has no phase `{id}`")]
pub struct UnknownPhase {
    pub id: String,
    /// The plan's phase ids, in plan order.
    pub known: Vec<String>,
}

/// Why a phase cannot be judged: the way from its branch to the plan that judges it is broken.
#[derive(Debug, Error)]
pub enum JudgingError {
    #[error("the base branch `{base}` does not exist")]
    NoBase { base: String },
    #[error("phase `{phase}` has not been started")]
    NotStarted { phase: String },
    #[error("`{branch}` and base have no common history{}", if *shallow { " in this shallow clone" } else { "" })]
    NoForkPoint { branch: String, shallow: bool },
    #[error("the plan file did not exist on base at the fork point of `{branch}`")]
    NoPlanAtFork { branch: String },
    #[error("the plan at the fork point of `{branch}` cannot be used")]
    Plan {
        branch: String,
        #[source]
        source: PlanError,
    },
    #[error(transparent)]
    UnknownPhase(#[from] UnknownPhase),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// The phase `id` of `plan`, or the error that names the plan's phases.
pub fn find_phase<'p>(plan: &'p Plan, id: &str) -> Result<&'p plan::Phase, UnknownPhase> {
    plan.phase(id).ok_or_else(|| UnknownPhase {
        id: id.to_owned(),
        known: plan.phases.iter().map(|p| p.id.clone()).collect(),
    })
}

/// The phase of a branch, when it is one of the plan's phase branches.
pub fn phase_of_branch<'p>(plan: &'p Plan, branch: &str) -> Option<&'p plan::Phase> {
    let id = branch.strip_prefix(&plan.branch_prefix)?;
    plan.phase(id)
}

/// The plan as committed in `commit`, validated.
pub fn plan_at(
    repo: &Repo,
    commit: Oid,
    plan_path: &str,
    label: &str,
) -> Result<Option<Plan>, PlanError> {
    let unreadable = |e: crate::git::GitError| PlanError::Unreadable {
        path: format!("{label}:{plan_path}"),
        source: std::io::Error::other(e.to_string()),
    };
    let Some(blob) = repo.entry_at(commit, plan_path).map_err(unreadable)? else {
        return Ok(None);
    };
    // The plan's blob id is the key of a validated copy: a plan validated once (60 ms for a
    // thousand phases) is read back in a few.
    crate::cache::valid_plan(repo, blob, || {
        let Some(bytes) = repo.file_at(commit, plan_path).map_err(unreadable)? else {
            return Ok(None);
        };
        plan::load_valid(&format!("{label}:{plan_path}"), bytes).map(Some)
    })
}

/// The plan committed on base at `fork`, the fork point of a phase: the plan that judges it.
/// `plan` itself, borrowed, when the fork point holds the same blob (no copy of a large plan);
/// `None` when the plan file did not exist there.
pub fn plan_at_fork<'p>(
    repo: &Repo,
    plan: &'p Plan,
    fork: Oid,
    plan_path: &str,
) -> Result<Option<Cow<'p, Plan>>, PlanError> {
    let at_fork = repo
        .entry_at(fork, plan_path)
        .map_err(|e| PlanError::Unreadable {
            path: format!("{}:{plan_path}", plan.base),
            source: std::io::Error::other(e.to_string()),
        })?;
    let Some(at_fork) = at_fork else {
        return Ok(None);
    };
    if plan.blob.as_deref() == Some(at_fork.to_string().as_str()) {
        return Ok(Some(Cow::Borrowed(plan)));
    }
    Ok(plan_at(repo, fork, plan_path, &plan.base)?.map(Cow::Owned))
}

/// The plan that judges a phase forked at `fork`: [`plan_at_fork`], or `plan` itself when the
/// plan file did not exist at the fork point.
pub fn judging_plan<'p>(
    repo: &Repo,
    plan: &'p Plan,
    fork: Oid,
    plan_path: &str,
) -> Result<Cow<'p, Plan>, PlanError> {
    Ok(plan_at_fork(repo, plan, fork, plan_path)?.unwrap_or(Cow::Borrowed(plan)))
}
