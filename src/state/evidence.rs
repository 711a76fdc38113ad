//! Reads of the evidence a phase branch carries: where it forked from base, the phase's events
//! in the notes of its commits, and the commit holding a passing verify record of a tree.
//!
//! Verify, finish, the hooks and the reports all ask these questions of the same history; they
//! live with the state model because they read git and decide nothing.

use crate::git::{GitError, Oid, Repo};
use crate::state::events::{Event, parse_note, parse_note_all};

/// Where the phase forked from base: their merge base, or — when the phase is already merged
/// into base — the merge base with the first parent of the merge that brought it in.
pub fn fork_point(repo: &Repo, base_tip: Oid, head: Oid) -> Result<Option<Oid>, GitError> {
    let Some(base) = repo.merge_base(base_tip, head)? else {
        return Ok(None);
    };
    if base != head || head == base_tip {
        return Ok(Some(base));
    }
    let mut current = Some(base_tip);
    while let Some(id) = current {
        let info = repo.commit_info(id)?;
        if let [first, rest @ ..] = info.parents.as_slice() {
            if rest
                .iter()
                .any(|p| repo.is_ancestor(head, *p).unwrap_or(false))
                && !repo.is_ancestor(head, *first)?
            {
                return repo.merge_base(*first, head);
            }
            if !repo.is_ancestor(head, *first)? {
                break;
            }
        }
        current = info.parents.first().copied();
    }
    Ok(Some(base))
}

/// The events of a phase recorded in the notes of `commits`, oldest first.
pub fn phase_events(
    repo: &Repo,
    plan: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<Vec<(Oid, Event)>, GitError> {
    notes_events(repo, plan, phase, commits, parse_note)
}

/// The records of a phase in the notes of `commits` that planx did not write (unsigned, with a
/// broken signature, or by a signer nobody trusts here), oldest first: never evidence, shown so
/// that nobody takes them for it. An unsigned record adopted since (`signers adopt`) is not one.
pub fn uncounted_events(
    repo: &Repo,
    plan: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<Vec<(Oid, Event)>, GitError> {
    notes_events(repo, plan, phase, commits, |note| {
        let events = parse_note_all(note);
        events
            .iter()
            .filter(|event| {
                !event.counts()
                    && !events
                        .iter()
                        .any(|e| e.counts() && crate::state::events::is_adopted_copy(e, event))
            })
            .cloned()
            .collect()
    })
}

/// The events of `plan`'s `phase` that `read` takes from the notes of `commits`, oldest first.
fn notes_events(
    repo: &Repo,
    plan: &str,
    phase: &str,
    commits: &[Oid],
    read: impl Fn(&str) -> Vec<Event>,
) -> Result<Vec<(Oid, Event)>, GitError> {
    let notes = repo.notes()?;
    let mut out = Vec::new();
    for &commit in commits.iter().rev() {
        if let Some(note) = notes.get(commit)? {
            out.extend(
                read(&note)
                    .into_iter()
                    .filter(|e| e.plan == plan && e.phase == phase)
                    .map(|e| (commit, e)),
            );
        }
    }
    Ok(out)
}

/// The commit whose note holds a passing record of `plan`'s `phase` for `tree`, among `commits`.
pub fn find_passing_record(
    repo: &Repo,
    plan: &str,
    phase: &str,
    tree: Oid,
    commits: &[Oid],
) -> Result<Option<Oid>, GitError> {
    let notes = repo.notes()?;
    crate::state::events::find_passing_record(&notes, plan, phase, &[tree], commits.iter().copied())
}
