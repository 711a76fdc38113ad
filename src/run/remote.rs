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
use super::scheduler::Remote;
use crate::claim::{self, Claim, ClaimError, ClaimOptions};
use crate::git::remote::{Pushed, RefUpdate};
use crate::git::{Oid, Repo};
use crate::plan::Plan;
use crate::state::{self, State, judging::Subject};

/// Where this repository keeps the remote's notes, as fetched.
pub fn tracking_notes(remote: &str) -> String {
    format!("refs/notes/remotes/{remote}/planx")
}

fn tracking_branch(remote: &str, branch: &str) -> String {
    format!("refs/remotes/{remote}/{branch}")
}

/// Fetches base, the phase branches, the claims and the notes of `plan` from `remote`, each
/// into its remote-tracking ref (released claims and deleted branches pruned).
pub fn fetch(repo: &Repo, remote: &str, plan: &Plan) -> Result<(), RunError> {
    let specs = vec![
        // A pattern, so that a remote without base is said as such (below), not as a failed
        // fetch.
        format!(
            "+refs/heads/{0}*:{1}*",
            plan.base,
            tracking_branch(remote, &plan.base)
        ),
        format!(
            "+refs/heads/{0}*:{1}*",
            plan.branch_prefix,
            tracking_branch(remote, &plan.branch_prefix)
        ),
        format!(
            "+{}{}/*:{}*",
            claim::CLAIMS_PREFIX,
            plan.id,
            claim::tracking_prefix(remote, &plan.id)
        ),
        format!(
            "+{0}*:{1}*",
            crate::git::notes::NOTES_REF,
            tracking_notes(remote)
        ),
    ];
    repo.fetch(remote, &specs, true)?;
    Ok(())
}

/// Brings what was fetched into the local refs: base fast-forwarded to the remote's (refused
/// when base here has commits the remote's lacks), the phase branches missing here or behind
/// created or fast-forwarded (unless checked out), the remote's notes merged in.
pub fn bring_in(repo: &Repo, remote: &str, plan: &Plan) -> Result<(), RunError> {
    let theirs = repo
        .ref_target(&tracking_branch(remote, &plan.base))?
        .ok_or_else(|| RunError::RemoteHasNoBase {
            remote: remote.to_owned(),
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
                remote: remote.to_owned(),
                base: plan.base.clone(),
            });
        }
    }
    for phase in &plan.phases {
        bring_branch(repo, remote, &plan.branch(phase))?;
    }
    if let Some(notes) = repo.ref_target(&tracking_notes(remote))? {
        repo.merge_notes_from(notes)?;
    }
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

/// Pushes the local notes to the remote: fetched and merged in first, then pushed with a lease
/// on the value merged; a lost race fetches and merges again.
pub fn push_notes(repo: &Repo, remote: &str) -> Result<(), RunError> {
    let notes = crate::git::notes::NOTES_REF;
    let tracking = tracking_notes(remote);
    for _ in 0..20 {
        let Some(ours) = repo.ref_target(notes)? else {
            return Ok(());
        };
        let theirs = repo.ref_target(&tracking)?;
        if theirs == Some(ours) {
            return Ok(());
        }
        let update = RefUpdate {
            name: notes.to_owned(),
            new: Some(ours),
            old: theirs,
        };
        if repo.push_cas(remote, &[update], false)?[0] == Pushed::Done {
            repo.set_tracking_ref(&tracking, Some(ours), "planx: notes pushed")?;
            return Ok(());
        }
        repo.fetch(remote, &[format!("+{notes}*:{tracking}*")], false)?;
        if let Some(theirs) = repo.ref_target(&tracking)? {
            repo.merge_notes_from(theirs)?;
        }
    }
    Err(RunError::RemoteKeptMoving {
        remote: remote.to_owned(),
        what: notes.to_owned(),
    })
}

/// Pushes the phase branch when it is ahead of the remote's, with a lease on the remote's
/// value as fetched: only the machine holding the claim moves it.
pub fn push_branch(repo: &Repo, remote: &str, branch: &str) -> Result<(), RunError> {
    let Some(ours) = repo.branch_tip(branch)? else {
        return Ok(());
    };
    let tracking = tracking_branch(remote, branch);
    let theirs = repo.ref_target(&tracking)?;
    if theirs == Some(ours) {
        return Ok(());
    }
    // Never over commits someone else pushed there: a push with a lease would replace them.
    if let Some(theirs) = theirs
        && !repo.is_ancestor(theirs, ours)?
    {
        return Err(RunError::BranchMovedOnRemote {
            remote: remote.to_owned(),
            branch: branch.to_owned(),
            reason: "it holds commits this phase branch does not".to_owned(),
        });
    }
    let update = RefUpdate {
        name: format!("refs/heads/{branch}"),
        new: Some(ours),
        old: theirs,
    };
    match &repo.push_cas(remote, &[update], false)?[0] {
        Pushed::Done => {
            repo.set_tracking_ref(&tracking, Some(ours), "planx: run --remote")?;
            Ok(())
        }
        Pushed::Rejected { reason } => Err(RunError::BranchMovedOnRemote {
            remote: remote.to_owned(),
            branch: branch.to_owned(),
            reason: reason.clone(),
        }),
    }
}

/// Publishes the merge `commit`, made on base's tip `on`: the notes first (so that base never
/// holds a merge whose evidence is not there), then base and the phase branch in one atomic
/// push, base with a lease on `on`. `false` when another machine moved the remote's base
/// first: nothing of this merge landed.
pub fn publish(
    repo: &Repo,
    remote: &str,
    plan: &Plan,
    branch: &str,
    commit: Oid,
    on: Oid,
) -> Result<bool, RunError> {
    push_notes(repo, remote)?;
    let base_tracking = tracking_branch(remote, &plan.base);
    let branch_tracking = tracking_branch(remote, branch);
    let tip = repo.branch_tip(branch)?;
    let mut updates = vec![RefUpdate {
        name: format!("refs/heads/{}", plan.base),
        new: Some(commit),
        old: Some(on),
    }];
    let theirs = repo.ref_target(&branch_tracking)?;
    // Someone else moved the phase branch there (took the phase over): pushing again and
    // again would never land.
    if let (Some(theirs), Some(tip)) = (theirs, tip)
        && !repo.is_ancestor(theirs, tip)?
    {
        return Err(RunError::BranchMovedOnRemote {
            remote: remote.to_owned(),
            branch: branch.to_owned(),
            reason: "it holds commits this phase branch does not".to_owned(),
        });
    }
    if tip.is_some() && tip != theirs {
        updates.push(RefUpdate {
            name: format!("refs/heads/{branch}"),
            new: tip,
            old: theirs,
        });
    }
    let pushed = repo.push_cas(remote, &updates, true)?;
    if pushed.iter().all(|p| *p == Pushed::Done) {
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
    remote: &str,
    phase: &str,
    retry_failed: bool,
) -> Result<Taken, RunError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let base = repo
        .branch_tip(&plan.base)?
        .ok_or_else(|| RunError::RemoteHasNoBase {
            remote: remote.to_owned(),
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
    remote: &str,
    phases: &[usize],
) -> Result<Vec<(usize, Remote)>, RunError> {
    let (repo, plan) = (subject.repo, subject.plan);
    fetch(repo, remote, plan)?;
    bring_in(repo, remote, plan)?;
    let statuses = state::derive(subject, state::Notes::Open)?;
    let claims = claim::tracked(repo, remote, &plan.id)?;
    let here = claim::Here::of(repo);
    let stale_after = claim::stale_after(repo)?;
    let now = crate::clock::now().timestamp();
    let mut out = Vec::new();
    for &i in phases {
        let phase = &plan.phases[i];
        let seen = match statuses[i].state {
            State::Complete => Remote::Complete,
            State::Failed | State::Blocked | State::Unverified => Remote::Failed,
            _ => match claims.iter().find(|c| c.phase == phase.id) {
                None => Remote::Free,
                Some(c) => {
                    let activity = claim::activity(repo, remote, &plan.branch(phase))?;
                    match c.stale(now, stale_after, &here, activity) {
                        Some(_) => Remote::Stale,
                        None => Remote::Claimed,
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
pub fn renew(repo: &Repo, remote: &str, plan: &Plan, phase: &str) -> Result<(), RunError> {
    let base = repo
        .branch_tip(&plan.base)?
        .ok_or_else(|| RunError::RemoteHasNoBase {
            remote: remote.to_owned(),
            base: plan.base.clone(),
        })?;
    claim::renew(repo, remote, plan, phase, base, Some(std::process::id()))?;
    Ok(())
}
