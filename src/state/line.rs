//! Base's line: the first-parent history of base that the plan lives on, and which phases it
//! completes — a planx merge, a squash commit with `Planx-Status: complete`, a fast-forwarded
//! (or rebased) branch, or a merge made on a forge whose merged side holds the checkpoints.
//!
//! Walks stop at the first commit without the plan file, so their cost follows the plan's
//! lifetime, not the repository's. Where the line ends (and which `create` files are missing
//! on base's tip) depends only on commit ids, so it is kept between runs in [`BaseFacts`]:
//! a status after a checkpoint reads no tree of base again.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::checkpoints::checkpoint_of;
use crate::git::history::History;
use crate::git::trailers;
use crate::git::{CommitInfo, GitError, Oid, Repo};
use crate::plan::Plan;

/// Base's first-parent line from `tip` while it has the plan file, newest first, and the
/// first commit below it (without the plan), if any: walks of base stop there, so that their
/// cost follows the plan's lifetime, not the repository's.
pub(super) fn base_line(
    repo: &Repo,
    history: &History<'_>,
    plan_path: &str,
    tip: Oid,
    facts: &mut BaseFacts,
) -> Result<(Vec<Oid>, Option<Oid>), GitError> {
    // Where the line ends is known for this tip: no tree needs reading to find it again, as
    // long as the kept answer fits (the line reaches it; a commit without the plan). A shallow
    // clone's (or a grafted) history has parents that a fetch can change under the same ids,
    // so there the end is neither kept nor trusted.
    let parents_settled = !repo.is_shallow() && !repo.common_dir().join("info/grafts").exists();
    let known: Option<Option<Oid>> = facts
        .below
        .as_ref()
        .filter(|_| parents_settled)
        .and_then(|end| end.as_deref().map(Oid::from_str).transpose().ok());
    if let Some(end) = known {
        let fits = match end {
            Some(end) => repo.entry_at(end, plan_path)?.is_none(),
            None => true,
        };
        let mut line = Vec::new();
        let mut below = Some(tip);
        while fits && let Some(id) = below {
            if Some(id) == end {
                return Ok((line, end));
            }
            line.push(id);
            below = history.info(id)?.parents.first().copied();
        }
        if fits && end.is_none() {
            return Ok((line, None));
        }
    }
    let mut line = Vec::new();
    let mut below = Some(tip);
    while let Some(id) = below {
        // The commit is read once, for its tree and its parents.
        let info = history.info(id)?;
        if repo.entry_in_tree(info.tree, plan_path)?.is_none() {
            break;
        }
        line.push(id);
        below = info.parents.first().copied();
    }
    if parents_settled {
        facts.below = Some(below.map(|b| b.to_string()));
        facts.changed = true;
    }
    Ok((line, below))
}

/// Which phases base's first-parent `line` completes, and by which commit (the newest);
/// `sides` is what each merge on it merged ([`History::merged_sides`]).
pub(super) fn completions_on_line<'p>(
    history: &History<'_>,
    plan: &'p Plan,
    line: &[Oid],
    sides: &HashMap<Oid, Vec<Oid>>,
) -> Result<HashMap<&'p str, Oid>, GitError> {
    let known: BTreeMap<&str, ()> = plan.phases.iter().map(|p| (p.id.as_str(), ())).collect();
    let mut done: HashMap<&'p str, Oid> = HashMap::new();
    for &id in line {
        let info = history.info(id)?;
        let trailers = info.trailers();
        let phase = trailers::value(trailers, trailers::PHASE);
        let plan_ok = trailers::value(trailers, trailers::PLAN).is_none_or(|p| p == plan.id);
        let status = trailers::value(trailers, trailers::STATUS);
        match (phase, status) {
            (Some(phase), Some("complete")) if plan_ok => {
                if let Some((key, _)) = known.get_key_value(phase) {
                    done.entry(key).or_insert(id);
                }
            }
            (Some(phase), _) if plan_ok && info.parents.len() < 2 => {
                // A checkpoint of the phase on base itself: its branch was fast-forwarded (or
                // rebased) into base.
                if trailers::value(trailers, trailers::CHECKPOINT).is_some()
                    && let Some((key, _)) = known.get_key_value(phase)
                {
                    done.entry(key).or_insert(id);
                }
            }
            (None, _) if info.parents.len() >= 2 => {
                // A merge made elsewhere: the phases whose checkpoints are on the merged side.
                // A phase completed on that side (a `git pull` bringing another machine's
                // `finish`) is completed by that commit, not by the merge that brought it.
                let mut completed_inside: HashMap<&'p str, Oid> = HashMap::new();
                let mut checkpointed: Vec<&'p str> = Vec::new();
                for &side in sides.get(&id).map_or(&[][..], Vec::as_slice) {
                    let side_info = history.info(side)?;
                    let side_trailers = side_info.trailers();
                    if let Some(phase) = trailers::value(side_trailers, trailers::PHASE)
                        && trailers::value(side_trailers, trailers::STATUS) == Some("complete")
                        && trailers::value(side_trailers, trailers::PLAN)
                            .is_none_or(|p| p == plan.id)
                        && let Some((key, _)) = known.get_key_value(phase)
                    {
                        completed_inside.entry(key).or_insert(side);
                    } else if let Some((phase, _)) =
                        checkpoint_of(&side_info, side_trailers, &plan.id)
                        && let Some((key, _)) = known.get_key_value(phase.as_str())
                    {
                        checkpointed.push(key);
                    }
                }
                for (key, commit) in completed_inside {
                    done.entry(key).or_insert(commit);
                }
                for key in checkpointed {
                    done.entry(key).or_insert(id);
                }
            }
            _ => {}
        }
    }
    Ok(done)
}

/// A completion by a checkpoint commit that sits on base itself (not a merge, not a squash
/// commit claiming `complete`).
pub(super) fn is_fast_forward(info: &CommitInfo) -> bool {
    let trailers = info.trailers();
    info.parents.len() < 2
        && trailers::value(trailers, trailers::STATUS) != Some("complete")
        && trailers::value(trailers, trailers::CHECKPOINT).is_some()
}

/// The phase's commits on base's first-parent line that a fast-forward (or a rebase, or
/// cherry-picks) put there, and the top of them: from `last`, the newest of its commits on
/// the line, back to its start checkpoint, or, when there is none (a rebase drops the empty
/// start), to its oldest commit that carries its trailers (a plain commit below it is not told
/// apart from base's own). The top is the phase branch's tip (`branch_tip`, when base holds
/// it) if only plain commits lie between it and `last`: work after the last checkpoint is part
/// of what was forwarded.
///
/// The walk ends before a merge, a commit of another phase of the plan, and, on base's line
/// (`on_line`), its end: each commit of the line is walked for the phase above it only, so
/// that reading every phase costs one pass over the line, however the phases reached it.
pub(super) fn fast_forwarded(
    history: &History<'_>,
    plan_id: &str,
    phase: &str,
    branch_tip: Option<Oid>,
    last: Oid,
    on_line: &HashSet<Oid>,
) -> Result<(Vec<Oid>, Oid), GitError> {
    // Whose is a commit: `Some(true)` this phase's, `Some(false)` another phase's.
    let owner = |info: &CommitInfo| -> Option<bool> {
        let trailers = info.trailers();
        let plan_ok = trailers::value(trailers, trailers::PLAN).is_none_or(|p| p == plan_id);
        trailers::value(trailers, trailers::PHASE)
            .filter(|_| plan_ok)
            .map(|p| p == phase)
    };
    let mut out = Vec::new();
    if let Some(tip) = branch_tip.filter(|&t| t != last) {
        let mut current = tip;
        while current != last {
            let info = history.info(current)?;
            if info.parents.len() != 1 || owner(&info).is_some() || out.len() >= WALK_LIMIT {
                // Not work of this phase's alone: the forwarded work ends at `last`.
                out.clear();
                break;
            }
            out.push(current);
            current = info.parents[0];
        }
    }
    let top = out.first().copied().unwrap_or(last);
    let bounded = on_line.contains(&last);
    let mut own = out.len() + 1;
    let mut current = Some(last);
    while let Some(id) = current {
        let info = history.info(id)?;
        let whose = owner(&info);
        let first = id == last;
        if !first
            && (info.parents.len() >= 2
                || whose == Some(false)
                || bounded && !on_line.contains(&id))
        {
            break;
        }
        out.push(id);
        if whose == Some(true) {
            own = out.len();
            let trailers = info.trailers();
            if trailers::value(trailers, trailers::CHECKPOINT) == Some("start") {
                return Ok((out, top));
            }
        }
        if info.parents.len() != 1 || out.len() >= WALK_LIMIT {
            break;
        }
        current = info.parents.first().copied();
    }
    out.truncate(own);
    Ok((out, top))
}

/// The most commits a walk for one fast-forwarded phase goes through.
const WALK_LIMIT: usize = 10_000;

/// What depends only on base's tip, the plan's path and the plan's bytes — where the plan's
/// line of base ends, and which `create` entries match nothing there — kept between runs
/// under those ids (commits never change, so neither does the answer): a status after a
/// checkpoint does not read base's files again, only one after base moved.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub(super) struct BaseFacts {
    /// The first commit below base's tip without the plan file, once known (`Some(None)`: the
    /// line goes back to a root commit).
    pub(super) below: Option<Option<String>>,
    /// By phase id, its `create` entries missing on base's tip.
    pub(super) missing: HashMap<String, Vec<String>>,
    /// The tip these facts are of.
    tip: Option<String>,
    #[serde(skip)]
    pub(super) changed: bool,
}

impl BaseFacts {
    /// The cache's key for base at `tip` judged by `plan` at `plan_path`; `None` for a plan
    /// not known by its blob id.
    pub(super) fn key(tip: Oid, plan: &Plan, plan_path: &str) -> Option<String> {
        let blob = plan.blob.as_deref()?;
        Some(crate::git::fingerprint(
            format!("{tip}\n{blob}\n{plan_path}").as_bytes(),
        ))
    }

    /// The key of the latest facts kept for `plan` at `plan_path`, whatever the tip.
    fn latest_key(plan: &Plan, plan_path: &str) -> Option<String> {
        let blob = plan.blob.as_deref()?;
        Some(crate::git::fingerprint(
            format!("latest\n{blob}\n{plan_path}").as_bytes(),
        ))
    }

    fn cache(repo: &Repo) -> crate::cache::Cache {
        crate::cache::Cache::new(repo, "base-facts", 3, "bin")
    }

    /// The facts kept for base at `tip`; else, after base moved, the facts of the tip before
    /// it, brought to `tip`: the end of the line is checked against the line as it is used
    /// ([`base_line`]), and a phase's missing `create` entries stay known unless what changed
    /// between the two tips could match one of them.
    pub(super) fn load(
        repo: &Repo,
        key: Option<&str>,
        tip: Option<Oid>,
        plan: &Plan,
        plan_path: &str,
    ) -> BaseFacts {
        let cache = Self::cache(repo);
        if let Some(facts) = key.and_then(|key| cache.get_value::<BaseFacts>(key)) {
            return facts;
        }
        let (Some(tip), Some(latest)) = (tip, Self::latest_key(plan, plan_path)) else {
            return BaseFacts::default();
        };
        let Some(mut facts) = cache.get_value::<BaseFacts>(&latest) else {
            return BaseFacts::default();
        };
        let Some(before) = facts.tip.as_deref().and_then(|t| Oid::from_str(t).ok()) else {
            return BaseFacts::default();
        };
        let Ok(paths) = repo.paths_between(before, tip) else {
            return BaseFacts::default();
        };
        let paths: Vec<String> = paths
            .into_iter()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .collect();
        facts.missing.retain(|id, _| {
            plan.phase(id).is_some_and(|phase| {
                phase.files.create.iter().all(|entry| {
                    let folder = entry.pattern.folder();
                    !paths.iter().any(|path| {
                        if entry.pattern.is_literal() {
                            path == entry.pattern.as_str()
                        } else {
                            folder.is_empty()
                                || path
                                    .strip_prefix(folder)
                                    .is_some_and(|rest| rest.starts_with('/'))
                        }
                    })
                })
            })
        });
        facts.tip = Some(tip.to_string());
        facts.changed = true;
        facts
    }

    /// Keeps the facts under `key` (base's tip), and as the latest for the plan.
    pub(super) fn keep(&self, repo: &Repo, key: Option<&str>, plan: &Plan, plan_path: &str) {
        if let Some(key) = key
            && self.changed
        {
            let cache = Self::cache(repo);
            cache.put_value(key, self);
            if let Some(latest) = Self::latest_key(plan, plan_path) {
                cache.put_value(&latest, self);
            }
        }
    }

    /// Facts of base at `tip`, as [`BaseFacts::load`] finds none.
    pub(super) fn at(mut self, tip: Option<Oid>) -> BaseFacts {
        if self.tip.is_none() {
            self.tip = tip.map(|t| t.to_string());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{Fixture, PLAN, plan};

    const PLAN_PATH: &str = ".planx/plan.toml";

    fn walk(f: &Fixture, tip: Oid, facts: &mut BaseFacts) -> (Vec<Oid>, Option<Oid>) {
        let repo = f.repo();
        let history = History::new(&repo);
        base_line(&repo, &history, PLAN_PATH, tip, facts).unwrap()
    }

    fn kept(below: Option<Oid>) -> BaseFacts {
        BaseFacts {
            below: Some(below.map(|b| b.to_string())),
            ..BaseFacts::default()
        }
    }

    #[test]
    fn base_line_ends_below_the_commit_that_added_the_plan_and_keeps_where() {
        let f = Fixture::with_plan();
        let before = f.rev("HEAD~1");
        let added = f.rev("HEAD");
        let tip = f.commit("More work");
        let want = (vec![tip, added], Some(before));
        let mut facts = BaseFacts::default();
        assert_eq!(walk(&f, tip, &mut facts), want);
        assert_eq!(facts.below, Some(Some(before.to_string())));
        assert!(facts.changed);
        // The kept end is used as it is: nothing new to keep.
        let mut facts = kept(Some(before));
        assert_eq!(walk(&f, tip, &mut facts), want);
        assert!(!facts.changed);
        // A kept end that holds the plan, or that the line never reaches, is walked again
        // and put right. (A kept end at the root is taken as it is.)
        let elsewhere =
            Oid::from_str(&f.git(&["commit-tree", "HEAD~2^{tree}", "-m", "x"])).unwrap();
        for wrong in [Some(added), Some(elsewhere)] {
            let mut facts = kept(wrong);
            assert_eq!(walk(&f, tip, &mut facts), want, "{wrong:?}");
            assert_eq!(facts.below, Some(Some(before.to_string())), "{wrong:?}");
            assert!(facts.changed);
        }
    }

    #[test]
    fn base_line_reaches_the_root_when_the_plan_came_with_it() {
        let f = Fixture::new();
        f.write(PLAN_PATH, PLAN);
        let root = f.commit("Plan first");
        let tip = f.commit("Then work");
        let mut facts = BaseFacts::default();
        assert_eq!(walk(&f, tip, &mut facts), (vec![tip, root], None));
        assert_eq!(facts.below, Some(None));
        let mut facts = kept(None);
        assert_eq!(walk(&f, tip, &mut facts), (vec![tip, root], None));
        assert!(!facts.changed);
    }

    fn forwarded(
        history: &History<'_>,
        phase: &str,
        tip: Option<Oid>,
        last: Oid,
    ) -> (Vec<Oid>, Oid) {
        let line = base_line_of(history, last);
        fast_forwarded(history, "walk", phase, tip, last, &line).unwrap()
    }

    /// Every commit on the first-parent line of `tip`.
    fn base_line_of(history: &History<'_>, tip: Oid) -> HashSet<Oid> {
        let mut line = HashSet::new();
        let mut current = Some(tip);
        while let Some(id) = current {
            line.insert(id);
            current = history.info(id).unwrap().parents.first().copied();
        }
        line
    }

    #[test]
    fn fast_forwarded_work_goes_back_to_the_phase_start_only() {
        let f = Fixture::with_plan();
        let added = f.rev("HEAD");
        let other = f.checkpoint("b", "verify", &[]);
        let project = f.commit("Project work");
        let start = f.checkpoint("a", "start", &[]);
        let work = f.commit("Work");
        let last = f.checkpoint("a", "verify", &[]);
        let after = f.commit("Polish");
        let repo = f.repo();
        let history = History::new(&repo);
        assert_eq!(
            forwarded(&history, "a", None, last),
            (vec![last, work, start], last)
        );
        // Plain work after the last checkpoint up to the branch's tip is part of it.
        assert_eq!(
            forwarded(&history, "a", Some(after), last),
            (vec![after, last, work, start], after)
        );
        // Without its start (a rebase dropped it), back to its oldest checkpoint: the walk
        // stops at another phase's commit, and the plain commits below the phase's own are
        // not counted as its own.
        assert_eq!(forwarded(&history, "b", None, other), (vec![other], other));
        let _ = (project, added);
        assert!(is_fast_forward(&history.info(last).unwrap()));
        assert!(!is_fast_forward(&history.info(work).unwrap()));
        assert!(!is_fast_forward(&history.info(added).unwrap()));
        let squash = f.checkpoint("a", "complete", &["Planx-Status: complete"]);
        assert!(!is_fast_forward(&history.info(squash).unwrap()));
    }

    #[test]
    fn fast_forwarded_work_without_its_start_ends_at_another_phase_or_a_merge() {
        let f = Fixture::with_plan();
        let b = f.checkpoint("b", "verify", &[]);
        let plain = f.commit("Project work");
        let a_step = f.checkpoint("a", "step", &["Planx-Step: 1"]);
        let a_work = f.commit("More of a");
        let a_last = f.checkpoint("a", "verify", &[]);
        // A tip above another phase's commit is not this phase's work alone.
        let c = f.checkpoint("c", "verify", &[]);
        let repo = f.repo();
        let history = History::new(&repo);
        assert_eq!(
            forwarded(&history, "a", None, a_last),
            (vec![a_last, a_work, a_step], a_last)
        );
        assert_eq!(
            forwarded(&history, "a", Some(c), a_last),
            (vec![a_last, a_work, a_step], a_last)
        );
        // The line's end bounds the walk: here, the commits below `plain`.
        let short: HashSet<Oid> = [a_last, a_work, a_step, plain].into();
        assert_eq!(
            fast_forwarded(&history, "walk", "b", None, b, &short).unwrap(),
            (vec![b], b)
        );
        // A merge below the phase's commits ends it, and is not part of it.
        f.git(&["checkout", "-q", "-b", "side", "HEAD~1"]);
        f.commit("Side");
        f.git(&["checkout", "-q", "main"]);
        f.git(&["merge", "-q", "--no-ff", "side", "-m", "Merge side"]);
        let d = f.checkpoint("d", "verify", &[]);
        let history = History::new(&repo);
        assert_eq!(forwarded(&history, "d", None, d), (vec![d], d));
    }

    #[test]
    fn base_facts_are_kept_under_base_the_plan_and_its_path_when_learnt() {
        let f = Fixture::with_plan();
        let repo = f.repo();
        let tip = f.rev("HEAD");
        let mut plan = plan();
        assert_eq!(BaseFacts::key(tip, &plan, PLAN_PATH), None);
        plan.blob = Some(f.rev(&format!("HEAD:{PLAN_PATH}")).to_string());
        let key = BaseFacts::key(tip, &plan, PLAN_PATH).unwrap();
        let other_path = BaseFacts::key(tip, &plan, "plan.toml").unwrap();
        let other_tip = BaseFacts::key(f.rev("HEAD~1"), &plan, PLAN_PATH).unwrap();
        assert!(key != other_path && key != other_tip);

        let load = |key: Option<&str>, tip: Option<Oid>| {
            BaseFacts::load(&repo, key, tip, &plan, PLAN_PATH).at(tip)
        };
        let mut facts = load(Some(&key), Some(tip));
        assert!(facts.below.is_none() && facts.missing.is_empty());
        facts.missing.insert("a".into(), vec!["a.txt".into()]);
        // Unchanged facts are not written.
        facts.keep(&repo, Some(&key), &plan, PLAN_PATH);
        assert!(load(Some(&key), Some(tip)).missing.is_empty());
        facts.changed = true;
        facts.keep(&repo, Some(&key), &plan, PLAN_PATH);
        let loaded = load(Some(&key), Some(tip));
        assert_eq!(loaded.missing["a"], ["a.txt"]);
        assert!(!loaded.changed);
        assert!(load(None, None).missing.is_empty());
    }

    #[test]
    fn after_base_moved_the_facts_of_the_tip_before_are_brought_to_the_new_tip() {
        let f = Fixture::with_plan();
        let repo = f.repo();
        let mut plan = plan();
        plan.blob = Some(f.rev(&format!("HEAD:{PLAN_PATH}")).to_string());
        let before = f.rev("HEAD");
        let mut facts = BaseFacts::default().at(Some(before));
        for id in ["a", "b", "c"] {
            facts.missing.insert(id.into(), Vec::new());
        }
        facts.below = Some(None);
        facts.changed = true;
        let key = |tip: Oid| BaseFacts::key(tip, &plan, PLAN_PATH);
        facts.keep(&repo, key(before).as_deref(), &plan, PLAN_PATH);
        // What base moved by touches b's `docs/*.md` and c's `c.txt`, not a's `a.txt`.
        f.write("docs/new.md", "new\n");
        f.write("c.txt", "c\n");
        f.write("elsewhere/a.txt", "not a's\n");
        let after = f.commit("Base moved");
        let moved = BaseFacts::load(&repo, key(after).as_deref(), Some(after), &plan, PLAN_PATH);
        let mut known: Vec<&str> = moved.missing.keys().map(String::as_str).collect();
        known.sort_unstable();
        assert_eq!(known, ["a"]);
        assert_eq!(
            moved.below,
            Some(None),
            "the end is carried, to be checked by the walk"
        );
        assert!(moved.changed, "kept under the new tip");
        // Without facts of an earlier tip, nothing is known.
        let mut other = plan.clone();
        other.blob = Some(Oid::ZERO_SHA1.to_string());
        let none = BaseFacts::load(&repo, None, Some(after), &other, PLAN_PATH);
        assert!(none.missing.is_empty() && none.below.is_none());
    }
}
