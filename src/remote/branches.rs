//! Pushing this machine's phase branches that are ahead of the remote's copies. A branch is
//! pushed only when the remote's copy is an ancestor of it (or there is none), with a lease on
//! that exact copy; a branch someone else moved (the remote has commits this one lacks) is
//! never forced, only reported.

use super::{Remote, RemoteError};
use crate::git::remote::{PushStatus, RefUpdate};
use crate::git::{Oid, Repo};
use crate::plan::Plan;

/// What became of one phase branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchSync {
    pub branch: String,
    pub local: Oid,
    /// The remote's copy before the push, as fetched.
    pub remote: Option<Oid>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Pushed: the remote had no such branch.
    Created,
    /// Pushed: the remote's copy was behind.
    Pushed,
    UpToDate,
    /// The remote has no such branch and base there holds it: merged, the branch deleted after.
    Merged,
    /// The remote's copy is ahead: nothing to push (`git pull` brings it).
    Behind,
    /// Both have commits the other lacks: someone else moved the remote's copy.
    Diverged,
    /// The remote's copy moved between the fetch and the push.
    MovedMeanwhile,
    /// The remote refused it (a hook, protection, permissions).
    Refused(String),
}

/// Pushes each of the plan's phase branches here that is ahead of `remote`'s copy (fetched
/// just before into `refs/remotes/<remote>/`), all in one push.
pub fn push_ahead(
    repo: &Repo,
    plan: &Plan,
    remote: &Remote,
) -> Result<Vec<BranchSync>, RemoteError> {
    let tips = repo.branch_tips(&plan.branch_prefix)?;
    let remote_base = repo.ref_target(&format!("refs/remotes/{}/{}", remote.name, plan.base))?;
    let mut out = Vec::new();
    for phase in &plan.phases {
        let branch = plan.branch(phase);
        let Some(&local) = tips.get(&branch) else {
            continue;
        };
        let theirs = repo.ref_target(&tracking(remote, &branch))?;
        let outcome = match theirs {
            Some(t) if t == local => Outcome::UpToDate,
            None if remote_base.is_some_and(|b| repo.is_ancestor(local, b).unwrap_or(false)) => {
                Outcome::Merged
            }
            None => Outcome::Created,
            Some(t) if repo.is_ancestor(t, local)? => Outcome::Pushed,
            Some(t) if repo.is_ancestor(local, t)? => Outcome::Behind,
            Some(_) => Outcome::Diverged,
        };
        out.push(BranchSync {
            branch,
            local,
            remote: theirs,
            outcome,
        });
    }
    let pushing: Vec<usize> = (0..out.len())
        .filter(|&i| matches!(out[i].outcome, Outcome::Created | Outcome::Pushed))
        .collect();
    let updates: Vec<RefUpdate> = pushing
        .iter()
        .map(|&i| RefUpdate {
            new: Some(out[i].local),
            reference: format!("refs/heads/{}", out[i].branch),
            expect: out[i].remote,
        })
        .collect();
    let statuses =
        repo.push(&remote.name, &updates)?
            .map_err(|failure| RemoteError::Unreachable {
                remote: remote.name.clone(),
                url: remote.url.clone(),
                failure,
            })?;
    for (&i, status) in pushing.iter().zip(statuses) {
        let b = &mut out[i];
        match status {
            PushStatus::Updated | PushStatus::UpToDate => {
                let _ = repo.update_ref_if(
                    &tracking(remote, &b.branch),
                    b.local,
                    b.remote,
                    "pushed by git planx sync",
                )?;
            }
            PushStatus::Stale => b.outcome = Outcome::MovedMeanwhile,
            PushStatus::Rejected { reason, said } => {
                b.outcome = Outcome::Refused(match said.is_empty() {
                    true => reason,
                    false => format!(
                        "{reason}; the remote said: {}",
                        said.iter()
                            .map(|l| l.trim_start_matches("remote: "))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                })
            }
        }
    }
    Ok(out)
}

/// The remote-tracking ref of `branch`: `refs/remotes/<remote>/<branch>`.
fn tracking(remote: &Remote, branch: &str) -> String {
    format!("refs/remotes/{}/{branch}", remote.name)
}
