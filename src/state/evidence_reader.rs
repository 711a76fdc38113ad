//! The derivation's second pass: what notes and base's files say of phases whose commits are
//! known — whether the commit that completed a phase has a passing verify record of the tree
//! it brought, the events of the checkpoints the states need, and the `create` files of a
//! complete phase that base's tip lacks (`stale`).
//!
//! It is one reader for all phases so the notes snapshot, the trees of base's tip and the
//! folders listed are read once, and what it learns of base is kept in [`BaseFacts`].

use std::collections::HashMap;

use super::checkpoints::read_events;
use super::events;
use super::line::BaseFacts;
use super::model::{Kind, PhaseStatus, TipVerify, VerifyState};
use super::recompute::Recompute;
use crate::git::history::History;
use crate::git::notes::{NotesSnapshot, NotesTrees};
use crate::git::{GitError, Oid, Repo, TreeLookup};
use crate::plan::{Glob, Plan};

/// Whose checkpoints [`derive()`](super::derive()) reads the notes of (a note is evidence: command runs,
/// reasons, verify records; the states themselves come from commits, trailers and verify
/// records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notes {
    /// Every checkpoint's: for reports of the whole history (test results, the log).
    All,
    /// What the states, steps ([`step_states`](super::step_states)), reasons and next action
    /// need: the checkpoints of every phase that is not complete, and a complete phase's latest
    /// checkpoint when it is a blocked or failed one. A complete phase's other checkpoints are
    /// left without their events (its steps are all complete: [`PhaseStatus::completed_steps`]
    /// of it means nothing). With a thousand phases this is a fraction of the notes.
    Open,
}

/// Reads what notes and base's files say of phases.
pub(super) struct EvidenceReader<'r> {
    repo: &'r Repo,
    pub(super) history: History<'r>,
    notes: NotesSnapshot<'r>,
    /// Files on base's tip, for `create` entries that are literal paths.
    base_files: Option<TreeLookup<'r>>,
    /// Paths on base's tip by folder, listed only where a `create` pattern can match.
    base_paths: HashMap<String, Vec<String>>,
    /// Known from an earlier run, and learnt in this one.
    pub(super) base_facts: BaseFacts,
    /// The manifest half of each completion, recomputed from git.
    pub(super) recompute: Recompute<'r>,
    plan_path: &'r str,
}

impl<'r> EvidenceReader<'r> {
    pub(super) fn new(
        repo: &'r Repo,
        plan_path: &'r str,
        history: History<'r>,
        notes_trees: &NotesTrees,
        folders: Vec<(Oid, Vec<u8>)>,
        base_facts: BaseFacts,
    ) -> Result<Self, GitError> {
        Ok(EvidenceReader {
            base_facts,
            recompute: Recompute::new(repo),
            plan_path,
            repo,
            history,
            notes: repo.notes_at(notes_trees)?.with_folders(folders),
            base_files: None,
            base_paths: HashMap::new(),
        })
    }

    /// Completes `status` with its evidence: whether the merge that completed it was verified,
    /// the events of the checkpoints the states need, the stale files of a complete phase.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        &mut self,
        plan: &Plan,
        phase: &crate::plan::Phase,
        status: &mut PhaseStatus,
        commits: &[Oid],
        fast_forward_tip: Option<Oid>,
        base_tip: Option<Oid>,
        read_notes: Notes,
    ) -> Result<(), GitError> {
        status.verified = match status.completed_by {
            Some(merge) => {
                let trees = completion_trees(&self.history, merge, fast_forward_tip)?;
                // The merged side first, newest first: a verify record is usually on its tip.
                let candidates = commits
                    .iter()
                    .copied()
                    .chain(std::iter::once(merge).filter(|m| !commits.contains(m)));
                let verified = events::find_passing_record(
                    &self.notes,
                    &plan.id,
                    &phase.id,
                    &trees,
                    candidates.clone(),
                )?
                .is_some();
                if !verified {
                    status.uncounted = events::find_uncounted_passing_record(
                        &self.notes,
                        &plan.id,
                        &phase.id,
                        &trees,
                        candidates,
                    )?;
                }
                // Whatever the notes say, what was merged must hold its manifest.
                status.contradicted = self.recompute.findings(
                    &self.history,
                    plan,
                    self.plan_path,
                    &phase.id,
                    merge,
                    fast_forward_tip,
                    commits,
                )?;
                verified
            }
            None => false,
        };
        let complete = status.is_complete();
        if read_notes == Notes::Open {
            for (n, c) in status.checkpoints.iter_mut().enumerate() {
                if !complete || (n == 0 && matches!(c.kind, Kind::Blocked | Kind::Failed)) {
                    read_events(&self.notes, &plan.id, &phase.id, c)?;
                }
            }
        }
        if status.completed_by.is_none()
            && let Some(tip) = status.branch_tip
        {
            status.tip_verify = self.tip_verify(plan, phase, status, tip, commits)?;
        }
        if complete {
            status.stale = match self.base_facts.missing.get(&phase.id) {
                Some(missing) => missing.clone(),
                None => {
                    let missing = self.missing_on_base(base_tip, phase)?;
                    self.base_facts
                        .missing
                        .insert(phase.id.clone(), missing.clone());
                    self.base_facts.changed = true;
                    missing
                }
            };
        }
        Ok(())
    }

    /// What the latest verify recorded on the branch (on its tip, else on its newest checkpoint
    /// with one) says of the tip. Commits after a passing record that touch only `after_verify`
    /// paths (the status document) keep it passing: `finish` verifies that tree itself.
    fn tip_verify(
        &self,
        plan: &Plan,
        phase: &crate::plan::Phase,
        status: &PhaseStatus,
        tip: Oid,
        commits: &[Oid],
    ) -> Result<Option<TipVerify>, GitError> {
        let on_tip = match status.checkpoints.first() {
            Some(c) if c.commit == tip => None,
            _ => self.notes.get(tip)?.map(|note| {
                events::parse_note(&note)
                    .into_iter()
                    .filter(|e| e.plan == plan.id && e.phase == phase.id)
                    .collect::<Vec<_>>()
            }),
        };
        let latest = on_tip
            .iter()
            .flatten()
            .rev()
            .find(|e| e.event == "verify")
            .map(|e| (tip, e))
            .or_else(|| {
                status.checkpoints.iter().find_map(|c| {
                    c.events
                        .iter()
                        .rev()
                        .find(|e| e.event == "verify")
                        .map(|e| (c.commit, e))
                })
            });
        let Some((commit, event)) = latest else {
            return Ok(None);
        };
        let tip_tree = self.history.info(tip)?.tree.to_string();
        let flag = |key: &str| event.data.get(key).and_then(serde_json::Value::as_bool);
        let state = if event.str("tree") == Some(tip_tree.as_str()) {
            if events::is_passing_record(event, None) {
                VerifyState::Passed
            } else if flag("passed") == Some(true) || flag("no_run") == Some(true) {
                VerifyState::NotRun
            } else {
                VerifyState::Failed
            }
        } else if events::is_passing_record(event, None)
            && event.str("tree") == Some(self.history.info(commit)?.tree.to_string().as_str())
            && self.only_after_verify_since(phase, commit, commits)?
        {
            VerifyState::Passed
        } else {
            VerifyState::Outdated
        };
        Ok(Some(TipVerify {
            state,
            commit,
            ts: event.ts.clone(),
        }))
    }

    /// Do the commits after `record` (of `commits`, newest first) touch only paths that
    /// `after_verify` entries of `phase` admit? False when `record` is not among them.
    fn only_after_verify_since(
        &self,
        phase: &crate::plan::Phase,
        record: Oid,
        commits: &[Oid],
    ) -> Result<bool, GitError> {
        if phase.files.after_verify.is_empty() {
            return Ok(false);
        }
        let Some(n) = commits.iter().position(|&c| c == record) else {
            return Ok(false);
        };
        for &c in &commits[..n] {
            let touched = self.repo.paths_changed_by(c)?;
            if !touched.iter().all(|p| {
                phase
                    .files
                    .after_verify
                    .iter()
                    .any(|e| e.pattern.matches(p))
            }) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The `create` entries of `phase` that match nothing on base's tip (all of them when
    /// there is no base).
    fn missing_on_base(
        &mut self,
        base_tip: Option<Oid>,
        phase: &crate::plan::Phase,
    ) -> Result<Vec<String>, GitError> {
        let mut stale = Vec::new();
        for entry in &phase.files.create {
            let present = match base_tip {
                None => false,
                Some(tip) if entry.pattern.is_literal() => {
                    let files = match &mut self.base_files {
                        Some(files) => files,
                        None => self.base_files.insert(self.repo.tree_lookup(tip)?),
                    };
                    files.has_file(entry.pattern.as_str())?
                }
                Some(tip) => {
                    let folder = entry.pattern.folder();
                    if !self.base_paths.contains_key(folder) {
                        let paths = self.repo.tree_paths_under(tip, folder)?;
                        self.base_paths.insert(folder.to_owned(), paths);
                    }
                    any_match(&entry.pattern, &self.base_paths[folder])
                }
            };
            if !present {
                stale.push(entry.pattern.to_string());
            }
        }
        Ok(stale)
    }
}

/// The trees a passing verify record must name for what `merge` brought into base to count as
/// verified: the tree that landed (the merge's own), and for a merge also the tree that was
/// merged (its second parent's: what a pull request's CI verified); for a fast-forward, the
/// top of the forwarded work. A trailer naming a tree is a claim and counts for nothing.
/// Records are looked for on the merge and on the merged commits (a squash carries them).
fn completion_trees(
    history: &History<'_>,
    merge: Oid,
    fast_forward_tip: Option<Oid>,
) -> Result<Vec<Oid>, GitError> {
    let info = history.info(merge)?;
    let mut trees = vec![match fast_forward_tip {
        Some(top) => history.info(top)?.tree,
        None => info.tree,
    }];
    if let Some(merged) = info.parents.get(1) {
        trees.push(history.info(*merged)?.tree);
    }
    Ok(trees)
}

fn any_match(pattern: &Glob, paths: &[String]) -> bool {
    if pattern.is_literal() {
        return paths.iter().any(|p| p == pattern.as_str());
    }
    paths.iter().any(|p| pattern.matches(p))
}
