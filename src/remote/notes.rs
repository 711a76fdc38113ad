//! Syncing `refs/notes/planx` with a remote: merge the fetched remote-tracking notes into the
//! local ones by the union of lines, then push the result with a lease on the exact value that
//! was merged. A lost race (another machine pushed in between) fetches and merges again; no
//! line of either side is ever dropped, because the local ref only ever moves to a merge that
//! holds it, and the remote's only to a merge of what it held.

use std::collections::BTreeMap;

use super::lines::{lines_added, merge_note};
use super::{Remote, RemoteError, Step, fetch, fetch_refspecs};
use crate::git::notes::{NOTES_REF, tracking_notes_ref};
use crate::git::remote::{PushStatus, RefUpdate};
use crate::git::{Oid, Repo};

/// Attempts at pushing the merged notes before giving up (each lost to another machine).
const PUSH_ATTEMPTS: u32 = 30;

/// What syncing the notes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotesSync {
    /// Note lines that came from the remote and were not here.
    pub lines_in: usize,
    /// Note lines that were here and not on the remote, now pushed.
    pub lines_out: usize,
    /// Commits whose note changed here / on the remote.
    pub notes_in: usize,
    pub notes_out: usize,
    /// Whether the remote's notes were changed.
    pub pushed: bool,
    /// Push attempts made (more than one: races lost and retried).
    pub attempts: u32,
    /// The notes commit both sides hold now, `None` when neither has notes.
    pub tip: Option<Oid>,
}

/// The union of two notes commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The notes tree holding every note line of both.
    pub tree: Oid,
    pub lines_in: usize,
    pub lines_out: usize,
    pub notes_in: usize,
    pub notes_out: usize,
}

/// Merges the notes commits `local` and `remote` (either may be absent, not both): the notes
/// tree holding the union of each note's lines. The same two commits give the same tree
/// whichever is which. `lines_in` counts what `local` lacked, `lines_out` what `remote` lacked.
pub fn merge(repo: &Repo, local: Option<Oid>, remote: Option<Oid>) -> Result<Merged, RemoteError> {
    let tree_of = |c: Option<Oid>| -> Result<Option<Oid>, RemoteError> {
        Ok(c.map(|c| repo.commit_info(c)).transpose()?.map(|i| i.tree))
    };
    let (lt, rt) = (tree_of(local)?, tree_of(remote)?);
    let entries = |t: Option<Oid>| -> Result<BTreeMap<Oid, Oid>, RemoteError> {
        Ok(match t {
            Some(t) => repo.notes_entries(t)?,
            None => BTreeMap::new(),
        })
    };
    let (le, re) = (entries(lt)?, entries(rt)?);
    let mut out = BTreeMap::new();
    let (mut lines_in, mut lines_out, mut notes_in, mut notes_out) = (0, 0, 0, 0);
    for target in le.keys().chain(re.keys()) {
        if out.contains_key(target) {
            continue;
        }
        let (l, r) = (le.get(target).copied(), re.get(target).copied());
        let blob = match (l, r) {
            (Some(l), Some(r)) if l == r => l,
            (Some(l), Some(r)) => {
                let (lb, rb) = (repo.blob_content(l)?, repo.blob_content(r)?);
                let merged = merge_note(&lb, &rb);
                let (added_in, added_out) = (
                    lines_added(Some(&lb), &merged),
                    lines_added(Some(&rb), &merged),
                );
                lines_in += added_in;
                lines_out += added_out;
                notes_in += usize::from(added_in > 0);
                notes_out += usize::from(added_out > 0);
                if merged == lb {
                    l
                } else if merged == rb {
                    r
                } else {
                    repo.write_blob(&merged)?
                }
            }
            (Some(l), None) => {
                lines_out += lines_added(None, &repo.blob_content(l)?);
                notes_out += 1;
                l
            }
            (None, Some(r)) => {
                lines_in += lines_added(None, &repo.blob_content(r)?);
                notes_in += 1;
                r
            }
            (None, None) => continue,
        };
        out.insert(*target, blob);
    }
    // A side that holds the union already keeps its own tree (whatever its layout); else the
    // tree is written from the notes alone, so it is the same wherever it is merged.
    let tree = match (lt, rt) {
        (_, Some(rt)) if out == re => rt,
        (Some(lt), _) if out == le => lt,
        _ => repo.write_notes_tree(&out)?,
    };
    Ok(Merged {
        tree,
        lines_in,
        lines_out,
        notes_in,
        notes_out,
    })
}

/// Fetches `remote`'s notes, then [`sync_fetched`].
pub fn sync(
    repo: &Repo,
    remote: &Remote,
    progress: &mut dyn FnMut(Step),
) -> Result<NotesSync, RemoteError> {
    progress(Step::Fetching);
    fetch(repo, remote, &fetch_refspecs(&remote.name)[..1])?;
    sync_fetched(repo, remote, progress)
}

/// Merges the remote-tracking notes of `remote` (fetched just before) into the local notes and
/// pushes the result with a lease on the remote value merged; on a lost race fetches, merges
/// and pushes again.
pub fn sync_fetched(
    repo: &Repo,
    remote: &Remote,
    progress: &mut dyn FnMut(Step),
) -> Result<NotesSync, RemoteError> {
    let tracking = tracking_notes_ref(&remote.name);
    let mut report = NotesSync::default();
    for attempt in 1..=PUSH_ATTEMPTS {
        progress(Step::MergingNotes);
        let theirs = repo.ref_target(&tracking)?;
        let ours = repo.ref_target(NOTES_REF)?;
        if ours.is_none() && theirs.is_none() {
            return Ok(report);
        }
        let merged = if ours == theirs {
            None
        } else {
            Some(merge(repo, ours, theirs)?)
        };
        let tip = match (&merged, ours, theirs) {
            (None, _, Some(tip)) => tip,
            (None, _, None) => return Ok(report),
            (Some(m), _, Some(t)) if repo.commit_info(t)?.tree == m.tree => t,
            (Some(m), Some(o), t)
                if repo.commit_info(o)?.tree == m.tree
                    && t.is_none_or(|t| repo.is_ancestor(t, o).unwrap_or(false)) =>
            {
                o
            }
            (Some(m), o, t) => {
                let parents: Vec<Oid> = o.into_iter().chain(t).collect();
                let message = format!("Notes merged by 'git planx sync' with {}\n", remote.name);
                repo.write_notes_commit(m.tree, &parents, &message)?
            }
        };
        if Some(tip) != ours
            && !repo.update_ref_if(NOTES_REF, tip, ours, "notes: merged by git planx sync")?
        {
            // A note was appended here meanwhile: merge again, it is in the local ref now.
            continue;
        }
        if let Some(m) = &merged {
            report.lines_in += m.lines_in;
            report.notes_in += m.notes_in;
        }
        report.tip = Some(tip);
        if Some(tip) == theirs {
            return Ok(report);
        }
        progress(Step::PushingNotes(attempt));
        report.attempts = attempt;
        let update = RefUpdate {
            new: Some(tip),
            reference: NOTES_REF.to_owned(),
            expect: theirs,
        };
        let status =
            repo.push(&remote.name, &[update])?
                .map_err(|failure| RemoteError::Unreachable {
                    remote: remote.name.clone(),
                    url: remote.url.clone(),
                    failure,
                })?;
        // One status per update: a missing one is no answer at all.
        let status = status.into_iter().next().unwrap_or(PushStatus::Rejected {
            reason: "no answer".into(),
            said: Vec::new(),
        });
        match status {
            PushStatus::Updated | PushStatus::UpToDate => {
                // What was pushed is what the remote holds now.
                let _ =
                    repo.update_ref_if(&tracking, tip, theirs, "notes: pushed by git planx sync")?;
                if let Some(m) = &merged {
                    report.lines_out = m.lines_out;
                    report.notes_out = m.notes_out;
                } else {
                    report.lines_out = 0;
                }
                report.pushed = true;
                return Ok(report);
            }
            PushStatus::Stale => {
                tracing::debug!(
                    attempt,
                    "lost the race for {}'s notes, fetching again",
                    remote.name
                );
                backoff(attempt);
                fetch(repo, remote, &fetch_refspecs(&remote.name)[..1])?;
            }
            PushStatus::Rejected { reason, said } => {
                return Err(RemoteError::Refused {
                    remote: remote.name.clone(),
                    reference: NOTES_REF.to_owned(),
                    reason,
                    said,
                });
            }
        }
    }
    Err(RemoteError::KeptLosing {
        remote: remote.name.clone(),
        attempts: PUSH_ATTEMPTS,
    })
}

/// A pause before trying again, longer with each attempt and different for each process, so
/// that machines that lost to each other do not collide again in step.
fn backoff(attempt: u32) {
    let spread = u64::from(std::process::id() % 17) * 3;
    let ms = 5 + u64::from(attempt.min(10)) * 10 + spread;
    std::thread::sleep(std::time::Duration::from_millis(ms));
}
