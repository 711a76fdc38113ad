//! `run --remote`: several machines running one plan against one remote (SPEC §8).
//!
//! Each machine claims a phase on the remote before it starts it ([`crate::claim`]): of
//! several machines, exactly one wins; the others wait for it (the scheduler's
//! [`Outcome::Elsewhere`](super::Outcome::Elsewhere)) and look again now and then
//! ([`look_again`]). The winner first brings in what the remote knows — base, the phase's
//! branch, the notes — so that a phase another machine completed, or failed, is not run again.
//! As the phase goes, its branch and the notes are pushed; its merge lands on the remote's base
//! by a push with a lease on the base the merge was made on ([`publish`]), before base moves
//! here: a lost race fetches the new base, and the merge is made and verified again on it.
//! The claim is released once the phase has ended here; a machine that dies leaves its claim,
//! which `status` shows stale.
//!
//! Everything that reads or moves base and the notes against the remote runs under the run's
//! merge lock, one thread at a time.

use super::RunError;
use super::scheduler::Remote as Seen;
use crate::claim::{self, Claim, ClaimError, ClaimOptions};
use crate::git::remote::{PushStatus, RefUpdate};
use crate::git::{Oid, Repo};
use crate::plan::Plan;
use crate::remote::{Remote, RemoteError};
use crate::state::{self, State, judging::Subject};

fn tracking_branch(remote: &str, branch: &str) -> String {
    format!("refs/remotes/{remote}/{branch}")
}

/// Fetches base, the phase branches, the claims and the notes of `plan` from `remote`, each
/// into its remote-tracking ref (released claims and deleted branches pruned), as `sync` does.
pub fn fetch(repo: &Repo, remote: &Remote, plan: &Plan) -> Result<(), RunError> {
    let specs = crate::remote::sync_refspecs(&remote.name, plan);
    crate::remote::fetch(repo, remote, &specs)?;
    Ok(())
}

/// Pushes `updates` (atomically with `atomic`): whether every one landed; `false` when
/// another machine changed one of them first.
fn push(
    repo: &Repo,
    remote: &Remote,
    updates: &[RefUpdate],
    atomic: bool,
) -> Result<bool, RunError> {
    let pushed = if atomic {
        repo.push_atomic(&remote.name, updates)?
    } else {
        repo.push(&remote.name, updates)?
    };
    let statuses = pushed.map_err(|failure| RemoteError::Unreachable {
        remote: remote.name.clone(),
        url: remote.url.clone(),
        failure,
    })?;
    let mut landed = true;
    for (status, update) in statuses.into_iter().zip(updates) {
        match status {
            PushStatus::Updated | PushStatus::UpToDate => {}
            PushStatus::Stale => landed = false,
            // With --atomic, the updates that were fine are refused with the one that was not.
            PushStatus::Rejected { reason, .. } if atomic && reason.contains("atomic") => {
                landed = false
            }
            PushStatus::Rejected { reason, said } => {
                return Err(RemoteError::Refused {
                    remote: remote.name.clone(),
                    reference: update.reference.clone(),
                    reason,
                    said,
                }
                .into());
            }
        }
    }
    Ok(landed)
}

/// Brings what was fetched into the local refs: base fast-forwarded to the remote's (refused
/// when base here has commits the remote's lacks), the phase branches missing here or behind
/// created or fast-forwarded (unless checked out). The notes fetched are read where they are.
pub fn bring_in(repo: &Repo, remote: &Remote, plan: &Plan) -> Result<(), RunError> {
    let name = remote.name.as_str();
    let theirs = repo
        .ref_target(&tracking_branch(name, &plan.base))?
        .ok_or_else(|| RunError::RemoteHasNoBase {
            remote: name.to_owned(),
            base: plan.base.clone(),
        })?;
    match repo.branch_tip(&plan.base)? {
        None => {
            repo.create_branch_exclusive(&plan.base, theirs, "planx: run --remote")?;
        }
        Some(ours) if ours == theirs => {}
        Some(ours) if repo.is_ancestor(ours, theirs)? => {
            match repo.worktree_of_branch(&plan.base)? {
                Some(dir) => repo.fast_forward_worktree(&dir, theirs)?,
                None => {
                    repo.move_branch(&plan.base, theirs, ours, "planx: run --remote")?;
                }
            }
        }
        Some(_) => {
            return Err(RunError::BaseAhead {
                remote: name.to_owned(),
                base: plan.base.clone(),
            });
        }
    }
    for phase in &plan.phases {
        bring_branch(repo, name, &plan.branch(phase))?;
    }
    // The remote's notes are read beside the local ones (`refs/notes/remotes/<remote>/planx`):
    // nothing to bring in.
    Ok(())
}

/// Creates the local phase branch from the remote's, or fast-forwards it when it is behind
/// and checked out nowhere; a branch ahead here (or moved elsewhere) is left as it is.
fn bring_branch(repo: &Repo, remote: &str, branch: &str) -> Result<(), RunError> {
    let Some(theirs) = repo.ref_target(&tracking_branch(remote, branch))? else {
        return Ok(());
    };
    match repo.branch_tip(branch)? {
        None => {
            repo.create_branch_exclusive(branch, theirs, "planx: run --remote")?;
        }
        Some(ours) if ours != theirs && repo.is_ancestor(ours, theirs)? => {
            if repo.worktree_of_branch(branch)?.is_none() {
                repo.move_branch(branch, theirs, ours, "planx: run --remote")?;
            }
        }
        Some(_) => {}
    }
    Ok(())
}

/// Pushes the local notes to the remote, merged with the remote's by the union of lines and
/// pushed with a lease (`sync`'s own way): a lost race fetches and merges again.
pub fn push_notes(repo: &Repo, remote: &Remote) -> Result<(), RunError> {
    crate::remote::notes::sync(repo, remote, &mut |_| {})?;
    Ok(())
}

/// Pushes the phase branch when it is ahead of the remote's, with a lease on the remote's
/// value as fetched: only the machine holding the claim moves it.
pub fn push_branch(repo: &Repo, remote: &Remote, branch: &str) -> Result<(), RunError> {
    let Some(ours) = repo.branch_tip(branch)? else {
        return Ok(());
    };
    let tracking = tracking_branch(&remote.name, branch);
    let theirs = repo.ref_target(&tracking)?;
    if theirs == Some(ours) {
        return Ok(());
    }
    // Never over commits someone else pushed there: a push with a lease would replace them.
    if let Some(theirs) = theirs
        && !repo.is_ancestor(theirs, ours)?
    {
        return Err(RunError::BranchMovedOnRemote {
            remote: remote.name.clone(),
            branch: branch.to_owned(),
            reason: "it holds commits this phase branch does not".to_owned(),
        });
    }
    let update = RefUpdate {
        reference: format!("refs/heads/{branch}"),
        new: Some(ours),
        expect: theirs,
    };
    if !push(repo, remote, &[update], false)? {
        return Err(RunError::BranchMovedOnRemote {
            remote: remote.name.clone(),
            branch: branch.to_owned(),
            reason: "someone else pushed it meanwhile".to_owned(),
        });
    }
    repo.set_tracking_ref(&tracking, Some(ours), "planx: run --remote")?;
    Ok(())
}

/// Publishes the merge `commit`, made on base's tip `on`: the notes first (so that base never
/// holds a merge whose evidence is not there), then base and the phase branch in one atomic
/// push, base with a lease on `on`. `false` when another machine moved the remote's base
/// first: nothing of this merge landed.
pub fn publish(
    repo: &Repo,
    remote: &Remote,
    plan: &Plan,
    branch: &str,
    commit: Oid,
    on: Oid,
) -> Result<bool, RunError> {
    push_notes(repo, remote)?;
    let base_tracking = tracking_branch(&remote.name, &plan.base);
    let branch_tracking = tracking_branch(&remote.name, branch);
    let tip = repo.branch_tip(branch)?;
    let mut updates = vec![RefUpdate {
        reference: format!("refs/heads/{}", plan.base),
        new: Some(commit),
        expect: Some(on),
    }];
    let theirs = repo.ref_target(&branch_tracking)?;
    // Someone else moved the phase branch there (took the phase over): pushing again and
    // again would never land.
    if let (Some(theirs), Some(tip)) = (theirs, tip)
        && !repo.is_ancestor(theirs, tip)?
    {
        return Err(RunError::BranchMovedOnRemote {
            remote: remote.name.clone(),
            branch: branch.to_owned(),
            reason: "it holds commits this phase branch does not".to_owned(),
        });
    }
    if tip.is_some() && tip != theirs {
        updates.push(RefUpdate {
            reference: format!("refs/heads/{branch}"),
            new: tip,
            expect: theirs,
        });
    }
    if push(repo, remote, &updates, true)? {
        repo.set_tracking_ref(&base_tracking, Some(commit), "planx: run --remote")?;
        if let Some(tip) = tip {
            repo.set_tracking_ref(&branch_tracking, Some(tip), "planx: run --remote")?;
        }
        return Ok(true);
    }
    Ok(false)
}

/// What taking a phase came to.
pub enum Taken {
    /// This machine holds the claim now, and the phase is to be run.
    Mine(Claim),
    /// Another machine holds it.
    Elsewhere(String),
    /// The phase ended on another machine before this one got to it (the claim is released
    /// again): complete, or failed there.
    Ended(State),
}

/// Claims the phase for this run's process and brings in what the remote knows of it; a phase
/// another machine completed or failed meanwhile is let go again.
pub fn take(
    subject: Subject<'_>,
    remote: &Remote,
    phase: &str,
    retry_failed: bool,
) -> Result<Taken, RunError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let base = repo
        .branch_tip(&plan.base)?
        .ok_or_else(|| RunError::RemoteHasNoBase {
            remote: remote.name.clone(),
            base: plan.base.clone(),
        })?;
    let opts = ClaimOptions {
        steal: false,
        pid: Some(std::process::id()),
    };
    let claimed = match claim::claim(repo, remote, plan, phase, base, &opts) {
        Ok(claimed) => claimed,
        Err(ClaimError::Claimed { claim, .. }) => {
            return Ok(Taken::Elsewhere(format!("claimed by {}", claim.who())));
        }
        Err(e) => return Err(e.into()),
    };
    fetch(repo, remote, plan)?;
    bring_in(repo, remote, plan)?;
    let statuses = state::derive_around(subject, phase)?;
    let now = statuses
        .iter()
        .find(|s| s.id == phase)
        .map_or(State::Ready, |s| s.state);
    let ended = match now {
        State::Complete | State::Unverified => true,
        State::Failed => !retry_failed,
        _ => false,
    };
    if ended {
        claim::release_exactly(repo, remote, &claimed.claim)?;
        return Ok(Taken::Ended(now));
    }
    Ok(Taken::Mine(claimed.claim))
}

/// How the phases other machines hold look now: fetched again, brought in, judged.
pub fn look_again(
    subject: Subject<'_>,
    remote: &Remote,
    phases: &[usize],
) -> Result<Vec<(usize, Seen)>, RunError> {
    let (repo, plan) = (subject.repo, subject.plan);
    fetch(repo, remote, plan)?;
    bring_in(repo, remote, plan)?;
    let statuses = state::derive(subject, state::Notes::Open)?;
    let claims = claim::tracked(repo, &remote.name, &plan.id)?;
    let here = claim::Here::of(repo);
    let stale_after = claim::stale_after(repo)?;
    let now = crate::clock::now().timestamp();
    let mut out = Vec::new();
    for &i in phases {
        let phase = &plan.phases[i];
        let seen = match statuses[i].state {
            State::Complete => Seen::Complete,
            State::Failed | State::Blocked | State::Unverified => Seen::Failed,
            _ => match claims.iter().find(|c| c.phase == phase.id) {
                None => Seen::Free,
                Some(c) => {
                    let activity = claim::activity(repo, &remote.name, &plan.branch(phase))?;
                    match c.stale(now, stale_after, &here, activity) {
                        Some(_) => Seen::Stale,
                        None => Seen::Claimed,
                    }
                }
            },
        };
        out.push((i, seen));
    }
    Ok(out)
}

/// How often a run renews its claims: three times per `planx.claimStaleAfter`, so that a claim
/// of a machine at work never goes stale.
pub fn renew_every(stale_after: i64) -> std::time::Duration {
    std::time::Duration::from_millis((stale_after.max(1) as u64) * 1000 / 3)
}

/// Renews this machine's claim of `phase` (a new time, this process), if it still holds it.
pub fn renew(repo: &Repo, remote: &Remote, plan: &Plan, phase: &str) -> Result<(), RunError> {
    let base = repo
        .branch_tip(&plan.base)?
        .ok_or_else(|| RunError::RemoteHasNoBase {
            remote: remote.name.clone(),
            base: plan.base.clone(),
        })?;
    claim::renew(repo, remote, plan, phase, base, Some(std::process::id()))?;
    Ok(())
}
