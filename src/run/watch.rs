//! The watch over an executor: while it runs, only its own branch and worktree may change.
//! Base (and with it the plan on base), the other phases' branches and `refs/notes/planx` are
//! looked at when the executor starts and again when it ends; a change between the two that
//! planx did not make itself fails the phase, naming what was touched.
//!
//! planx writes those refs during an executor's run too — other phases of the same run
//! record checkpoints and verify records and merge into base — so its own writes are told
//! apart by the process's [`ledger`], which says what this process moved each ref from and to,
//! and which note lines it appended. A ref moved is accounted for when this process's own
//! moves lead from the value at the start to the value at the end; a note changed, when every
//! line added is one this process appended, or the note is on a commit of the executor's own
//! branch (what `git planx checkpoint` or `verify`, run by the executor in its worktree,
//! record there is the phase's own; `run` verifies for itself anyway). A line taken out of a
//! note is never accounted for.
//!
//! Two executors running side by side change their own branches and their notes at once, and
//! a ref does not say who moved it: the branch of a phase whose executor ran at some time
//! during this one's run, and the notes on its commits, are that phase's own, not watched.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::git::notes::NOTES_REF;
use crate::git::{GitError, Oid, Repo, ledger};
use crate::plan::{Phase, Plan};

/// The executors running, and for each executor's run under way, every phase whose executor
/// ran at some time during it.
#[derive(Debug, Default)]
pub(super) struct Windows {
    running: HashSet<usize>,
    open: HashMap<u64, HashSet<usize>>,
    next: u64,
}

impl Windows {
    /// Phase `phase`'s executor is about to start: the id of its window.
    pub fn open(&mut self, phase: usize) -> u64 {
        self.running.insert(phase);
        for beside in self.open.values_mut() {
            beside.insert(phase);
        }
        let id = self.next;
        self.next += 1;
        self.open.insert(id, self.running.clone());
        id
    }

    /// Phase `phase`'s executor has ended: the phases whose executors ran during its window
    /// (itself among them).
    pub fn close(&mut self, id: u64, phase: usize) -> HashSet<usize> {
        self.running.remove(&phase);
        self.open.remove(&id).unwrap_or_default()
    }
}

/// The refs an executor may not change, as they were at one moment.
#[derive(Debug, Clone)]
pub(super) struct Look {
    refs: Vec<(String, Option<Oid>)>,
    notes: Option<Oid>,
    base: Option<Oid>,
}

/// One ref changed by someone other than planx while an executor ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Touch {
    /// The full ref name (`refs/heads/main`, `refs/notes/planx`).
    #[serde(rename = "ref")]
    pub reference: String,
    /// Its value when the executor started (none: it did not exist).
    pub old: Option<String>,
    /// Its value when the executor ended (none: it no longer exists).
    pub new: Option<String>,
    /// For the notes: the objects whose notes gained lines planx did not write (outside the
    /// phase's own branch) or lost lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes_on: Vec<String>,
}

/// The refs watched for `phase`, as they are now. planx's own writes under way end first.
pub(super) fn look(repo: &Repo, plan: &Plan, phase: &Phase) -> Result<Look, GitError> {
    let _quiet = ledger::quiet();
    let base_ref = format!("refs/heads/{}", plan.base);
    let base = repo.ref_target(&base_ref)?;
    let mut refs = vec![(base_ref, base)];
    // One listing of the phase branches, however many phases the plan has.
    let tips = repo.branch_tips(&plan.branch_prefix)?;
    for other in plan.phases.iter().filter(|p| p.id != phase.id) {
        let branch = plan.branch(other);
        let value = tips.get(&branch).copied();
        refs.push((format!("refs/heads/{branch}"), value));
    }
    Ok(Look {
        refs,
        notes: repo.ref_target(NOTES_REF)?,
        base,
    })
}

/// What was touched between `before` and now, for `phase`'s executor; `beside` are the phases
/// whose executors ran at some time meanwhile (their branches are theirs).
pub(super) fn touched(
    repo: &Repo,
    plan: &Plan,
    phase: &Phase,
    before: &Look,
    beside: &HashSet<usize>,
) -> Result<Vec<Touch>, GitError> {
    let now = look(repo, plan, phase)?;
    let theirs: HashSet<String> = beside
        .iter()
        .filter_map(|&i| plan.phases.get(i))
        .map(|p| format!("refs/heads/{}", plan.branch(p)))
        .collect();
    let show = |v: Option<Oid>| v.map(|v| v.to_string());
    let mut out = Vec::new();
    for ((name, old), (_, new)) in before.refs.iter().zip(&now.refs) {
        if old == new || theirs.contains(name) || ledger::accounts_for(name, *old, *new) {
            continue;
        }
        out.push(Touch {
            reference: name.clone(),
            old: show(*old),
            new: show(*new),
            notes_on: Vec::new(),
        });
    }
    if before.notes != now.notes {
        let mut branches = vec![plan.branch(phase)];
        branches.extend(
            beside
                .iter()
                .filter_map(|&i| plan.phases.get(i))
                .map(|p| plan.branch(p)),
        );
        let notes_on = foreign_notes(repo, &branches, before, now.notes)?;
        if !notes_on.is_empty() {
            out.push(Touch {
                reference: NOTES_REF.to_owned(),
                old: show(before.notes),
                new: show(now.notes),
                notes_on: notes_on.iter().map(Oid::to_string).collect(),
            });
        }
    }
    Ok(out)
}

/// The objects whose notes changed from `before` to `now` in a way this process did not make
/// and that is not the phase's own: on a commit of one of `branches` (the phase's own, and
/// those of the executors beside it) that base did not hold when the executor started.
fn foreign_notes(
    repo: &Repo,
    branches: &[String],
    before: &Look,
    now: Option<Oid>,
) -> Result<Vec<Oid>, GitError> {
    let mut own: Option<HashSet<Oid>> = None;
    let mut out = Vec::new();
    for change in repo.note_changes(before.notes, now)? {
        let ours = ledger::noted_lines(change.target);
        let foreign = change.added.iter().any(|line| !ours.contains(line));
        if !foreign && change.removed.is_empty() {
            continue;
        }
        if change.removed.is_empty() {
            if own.is_none() {
                let hide: Vec<Oid> = before.base.into_iter().collect();
                let mut commits = HashSet::new();
                for branch in branches {
                    if let Some(tip) = repo.branch_tip(branch)? {
                        commits.extend(repo.commits_between(tip, &hide)?);
                    }
                }
                own = Some(commits);
            }
            if own.as_ref().is_some_and(|own| own.contains(&change.target)) {
                continue;
            }
        }
        out.push(change.target);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_holds_every_executor_that_ran_during_it() {
        let mut w = Windows::default();
        let a = w.open(0);
        let b = w.open(1);
        assert_eq!(w.close(b, 1), HashSet::from([0, 1]));
        let c = w.open(2);
        assert_eq!(w.close(c, 2), HashSet::from([0, 2]));
        assert_eq!(w.close(a, 0), HashSet::from([0, 1, 2]));
        let d = w.open(3);
        assert_eq!(w.close(d, 3), HashSet::from([3]));
    }
}
