//! `reset`: put a failed (or blocked) phase back to ready, so that it starts again from base.
//! Nothing is lost: the old branch is kept under a backup ref, its commits and their notes
//! with it, and a work tree holding uncommitted work on the branch refuses the reset.

use std::path::PathBuf;

use super::LifecycleError;
use crate::git::Oid;
use crate::state::judging::{Subject, find_phase};
use crate::state::{self, State};

/// Where backups of reset phase branches are kept: `<prefix><plan>/<phase>/<n>`.
pub const BACKUP_PREFIX: &str = "refs/planx/backup/";

#[derive(Debug)]
pub struct ResetOutcome {
    pub phase: String,
    pub branch: String,
    /// The state the phase was in.
    pub was: State,
    /// The old tip, and the ref that keeps it.
    pub old_tip: Oid,
    pub backup: String,
    /// The work tree that had the branch checked out: left on the old tip, detached.
    pub detached: Option<PathBuf>,
    /// The worktree of `run` that held the branch, removed (it was clean).
    pub removed: Option<PathBuf>,
}

/// Resets phase `id`: failed or blocked, or in progress with `force`.
pub fn reset(subject: Subject<'_>, id: &str, force: bool) -> Result<ResetOutcome, LifecycleError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let phase = find_phase(plan, id)?;
    let branch = plan.branch(phase);
    let statuses = state::derive_around(subject, &phase.id)?;
    let was = statuses
        .iter()
        .find(|s| s.id == phase.id)
        .map_or(State::Waiting, |s| s.state);
    let allowed = match was {
        State::Failed | State::Blocked => true,
        State::InProgress => force,
        _ => false,
    };
    let Some(old_tip) = repo.branch_tip(&branch)?.filter(|_| allowed) else {
        return Err(LifecycleError::NotResettable {
            phase: phase.id.clone(),
            state: was,
        });
    };
    let holder = repo.worktree_of_branch(&branch)?;
    if let Some(dir) = &holder {
        let dirty = crate::git::Repo::open(dir)?.dirty_paths()?;
        if !dirty.is_empty() {
            return Err(LifecycleError::ResetDirty {
                phase: phase.id.clone(),
                worktree: dir.clone(),
                paths: dirty,
            });
        }
    }
    let backup = repo.create_numbered_ref(
        &format!("{BACKUP_PREFIX}{}/{}", plan.id, phase.id),
        old_tip,
        &format!("planx reset {}: keep {branch}", phase.id),
    )?;
    let (mut detached, mut removed) = (None, None);
    if let Some(dir) = holder {
        let runs = repo.state_dir().join("worktrees");
        if dir.starts_with(&runs) {
            repo.remove_clean_worktree(&dir)?;
            removed = Some(dir);
        } else {
            repo.detach_worktree(&dir)?;
            detached = Some(dir);
        }
    }
    if !repo.delete_branch(&branch, old_tip)? {
        return Err(LifecycleError::BranchMoved { branch });
    }
    Ok(ResetOutcome {
        phase: phase.id.clone(),
        branch,
        was,
        old_tip,
        backup,
        detached,
        removed,
    })
}
