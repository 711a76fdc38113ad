//! The manifest half of a completion, recomputed from git objects (SPEC §10): what a merge
//! brought into base — the changes from the fork point to what was merged — judged by the plan
//! on base at the fork point. It depends on nothing a note says, so no note can change it: a
//! merge whose merged side fails its manifest is never complete, whatever is recorded.
//!
//! The answer depends only on commits (and the plan blobs they hold), which never change: it is
//! kept in the local cache by the ids it was computed from, so a status reads one small file
//! and judges only the completions it has not seen before.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::manifest::{Level, judge_changes_at};
use crate::git::history::History;
use crate::git::trailers;
use crate::git::{GitError, Oid, Repo};
use crate::plan::Plan;

/// What a completion's manifest says, as kept: the messages of its `error` findings (empty: it
/// holds).
type Findings = Vec<String>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    by_key: HashMap<String, Findings>,
}

/// Recomputes completions for one derivation, reading and keeping the cache once.
pub(super) struct Recompute<'r> {
    repo: &'r Repo,
    kept: Option<Kept>,
    changed: bool,
    /// Plans at fork points, by blob id: most completions share a few.
    plans: HashMap<Oid, Option<Plan>>,
}

impl<'r> Recompute<'r> {
    pub(super) fn new(repo: &'r Repo) -> Self {
        Recompute {
            repo,
            kept: None,
            changed: false,
            plans: HashMap::new(),
        }
    }

    fn cache(repo: &Repo) -> crate::cache::Cache {
        crate::cache::Cache::new(repo, "recomputed", 1, "bin")
    }

    /// The `error` findings of `phase`'s manifest for what `merge` brought into base (empty
    /// when it holds, or when there is nothing to judge it by: no fork point, no valid plan
    /// there, or a plan without the phase). `top` is a fast-forward's top, `commits` the
    /// phase's commits, newest first.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn findings(
        &mut self,
        history: &History<'_>,
        plan: &Plan,
        plan_path: &str,
        phase: &str,
        merge: Oid,
        top: Option<Oid>,
        commits: &[Oid],
    ) -> Result<Findings, GitError> {
        // The commits fix the fork point and the trees, and the fork point the plan that
        // judges (an answer that took the plan as loaded instead is not kept).
        let key = crate::git::fingerprint(
            format!(
                "{merge}\n{}\n{phase}\n{plan_path}",
                top.map(|t| t.to_string()).unwrap_or_default(),
            )
            .as_bytes(),
        );
        let repo = self.repo;
        let kept = self.kept.get_or_insert_with(|| {
            Self::cache(repo)
                .get_value("completions")
                .unwrap_or_default()
        });
        if let Some(found) = kept.by_key.get(&key) {
            return Ok(found.clone());
        }
        let (found, keep) = self.judge(history, plan, plan_path, phase, merge, top, commits)?;
        if keep && let Some(kept) = self.kept.as_mut() {
            kept.by_key.insert(key, found.clone());
            self.changed = true;
        }
        Ok(found)
    }

    #[allow(clippy::too_many_arguments)]
    fn judge(
        &mut self,
        history: &History<'_>,
        plan: &Plan,
        plan_path: &str,
        phase: &str,
        merge: Oid,
        top: Option<Oid>,
        commits: &[Oid],
    ) -> Result<(Findings, bool), GitError> {
        let repo = self.repo;
        let info = history.info(merge)?;
        // What was merged, and where it forked from what it was merged into.
        let (merged, fork) = match (info.parents.as_slice(), top) {
            ([first, second, ..], _) => (*second, repo.merge_base(*first, *second)?),
            // A fast-forward is judged from below its start checkpoint. Without one (a rebase
            // that dropped the empty start, a cherry-pick) where the work began is not known —
            // plain commits below the oldest checkpoint may be the phase's — so it is not judged
            // again: its record alone speaks for it.
            (_, Some(top)) => {
                let oldest = commits.last().copied().unwrap_or(top);
                let info = history.info(oldest)?;
                let said = info.trailers();
                let is_start = trailers::value(said, trailers::PHASE) == Some(phase)
                    && trailers::value(said, trailers::CHECKPOINT) == Some("start");
                if !is_start {
                    return Ok((Vec::new(), true));
                }
                (top, info.parents.first().copied())
            }
            ([first], None) => (merge, Some(*first)),
            ([], None) => (merge, None),
        };
        let Some(fork) = fork else {
            return Ok((Vec::new(), true));
        };
        let judging = match repo.entry_at(fork, plan_path)? {
            Some(blob) => {
                let at = self.plans.entry(blob).or_insert_with(|| {
                    super::judging::plan_at(repo, fork, plan_path, &plan.base)
                        .ok()
                        .flatten()
                });
                match at {
                    Some(p) => p,
                    // A plan that did not validate at the fork point judges nothing.
                    None => return Ok((Vec::new(), true)),
                }
            }
            None => plan,
        };
        let keep = !std::ptr::eq(judging, plan);
        let Some(phase) = judging.phase(phase) else {
            return Ok((Vec::new(), keep));
        };
        let changes = repo.changes_between(fork, merged)?;
        let judgement = judge_changes_at(repo, judging, plan_path, fork, phase, &changes)?;
        let errors = judgement
            .findings
            .into_iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| f.message)
            .collect();
        Ok((errors, keep))
    }

    /// Keeps what was learnt.
    pub(super) fn keep(&self) {
        if self.changed
            && let Some(kept) = &self.kept
        {
            Self::cache(self.repo).put_value("completions", kept);
        }
    }
}
