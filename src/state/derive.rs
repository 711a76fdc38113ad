//! The derivation engine: the state of every phase of a plan from git alone (SPEC §2).
//!
//! Two passes. The first ([`read_phases`]) reads base's line, the phase branches and each
//! phase's commits and checkpoints — history and trailers only. The second
//! ([`EvidenceReader`]) reads the evidence in notes and on base's tip. With many phases the
//! notes' folders are read on a second core while the first pass runs. The entry points
//! differ only in what base is and which phases (and whose notes) are read.

use std::collections::{HashMap, HashSet};

use super::checkpoints::checkpoints_among;
use super::evidence_reader::{EvidenceReader, Notes};
use super::judging::Subject;
use super::line::{BaseFacts, base_line, completions_on_line, fast_forwarded, is_fast_forward};
use super::model::{PhaseStatus, State};
use crate::git::history::History;
use crate::git::notes::NotesTrees;
use crate::git::{GitError, Oid, Repo};
use crate::plan::Plan;

/// The state of every phase of the subject's plan, in plan order. The plan file's path bounds
/// the walk of base.
pub fn derive(subject: Subject<'_>, notes: Notes) -> Result<Vec<PhaseStatus>, GitError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    let base_tip = repo.branch_tip(&plan.base)?;
    derive_where(
        repo,
        plan,
        plan_path,
        base_tip,
        notes,
        Branches::Local,
        &|_| true,
    )
}

/// Where a derivation for a report finds the branches: the local ones, and where there is no
/// local one `origin`'s copy (`refs/remotes/origin/…`) — a CI checkout is detached and has
/// no local branches, a teammate's phase exists here only as what was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branches {
    Local,
    OrOrigin,
}

/// As [`derive()`], for reports (`status`, `next`, `report`, `log`): base and each phase
/// branch are the local ones, else `origin`'s copies fetched here. Commands that change phases
/// use [`derive()`] and [`derive_around`], which read only the local branches.
pub fn derive_seen(subject: Subject<'_>, notes: Notes) -> Result<Vec<PhaseStatus>, GitError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    let base_tip = repo.base_tip(&plan.base)?;
    derive_where(
        repo,
        plan,
        plan_path,
        base_tip,
        notes,
        Branches::OrOrigin,
        &|_| true,
    )
}

/// As [`derive_around`], with the branches of [`derive_seen`]: for `review`.
pub fn derive_around_seen(subject: Subject<'_>, id: &str) -> Result<Vec<PhaseStatus>, GitError> {
    let wanted = around(subject.plan, id);
    let base_tip = subject.repo.base_tip(&subject.plan.base)?;
    derive_where(
        subject.repo,
        subject.plan,
        subject.plan_path,
        base_tip,
        Notes::All,
        Branches::OrOrigin,
        &|p| wanted.contains(p.id.as_str()),
    )
}

/// Phase `id`, what it depends on, and what those depend on.
fn around<'p>(plan: &'p Plan, id: &'p str) -> HashSet<&'p str> {
    let mut wanted: HashSet<&str> = HashSet::from([id]);
    for _ in 0..2 {
        let next: Vec<&str> = plan
            .phases
            .iter()
            .filter(|p| wanted.contains(p.id.as_str()))
            .flat_map(|p| p.depends_on.iter().map(|d| d.id.as_str()))
            .collect();
        wanted.extend(next);
    }
    wanted
}

/// As [`derive()`] with [`Notes::Open`], with base at `base_tip` (for instance the commit a push
/// is about to make the remote's base).
pub fn derive_with_base(
    subject: Subject<'_>,
    base_tip: Option<Oid>,
) -> Result<Vec<PhaseStatus>, GitError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    derive_where(
        repo,
        plan,
        plan_path,
        base_tip,
        Notes::Open,
        Branches::Local,
        &|_| true,
    )
}

/// [`derive()`] for what `start`, `checkpoint` and `finish` ask about phase `id`: its state and
/// the states of the phases it depends on are [`derive()`]'s, read from the history and notes
/// of those phases (and of theirs, for ready or waiting) only; the other entries are left
/// unread and mean nothing.
pub fn derive_around(subject: Subject<'_>, id: &str) -> Result<Vec<PhaseStatus>, GitError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    let wanted = around(plan, id);
    let base_tip = repo.branch_tip(&plan.base)?;
    derive_where(
        repo,
        plan,
        plan_path,
        base_tip,
        Notes::All,
        Branches::Local,
        &|p| wanted.contains(p.id.as_str()),
    )
}

/// The tags of what this machine verified once (signed lines, facts about objects): see
/// `trust::signing`.
fn verified_lines(repo: &Repo) -> crate::cache::Cache {
    crate::cache::Cache::new(repo, "verified-lines", 2, "bin")
}

/// The commits a derivation of many phases read, kept for the next: each is the facts
/// [`Repo::commit_info`] reads (its tree, parents, committer time and message), which no later
/// change to the repository can alter, since a commit is known by the hash of its bytes.
/// Reading them back is a decode of one file, where reading them from git inflates each. Not in
/// a shallow clone, whose commits gain parents when it is deepened.
fn kept_commits(repo: &Repo) -> crate::cache::Cache {
    crate::cache::Cache::new(repo, "commits", 1, "bin")
}

/// One kept commit: ids as their 20 bytes.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptCommit {
    id: [u8; 20],
    tree: [u8; 20],
    parents: Vec<[u8; 20]>,
    time: i64,
    message: String,
}

/// At most this many commits kept beyond those the last derivation asked for (of branches
/// since deleted, say), so that what is kept stays the size of what is read.
const KEPT_BEYOND: usize = 10_000;

/// A history given the commits kept by the last derivation of many phases.
fn kept_history(repo: &Repo) -> History<'_> {
    if repo.is_shallow() {
        return History::new(repo);
    }
    let kept: Vec<KeptCommit> = kept_commits(repo).get_value("read").unwrap_or_default();
    let oid = |bytes: &[u8; 20]| Oid::from_bytes(bytes).ok();
    let commits = kept
        .into_iter()
        .filter_map(|c| {
            Some(crate::git::CommitInfo::new(
                oid(&c.id)?,
                oid(&c.tree)?,
                c.parents.iter().map(oid).collect::<Option<_>>()?,
                c.message,
                c.time,
            ))
        })
        .collect();
    History::with_commits(repo, commits)
}

/// Keeps the commits `history` holds when it read some from git.
fn keep_history(repo: &Repo, history: &History<'_>) {
    if repo.is_shallow() || history.read_from_git() == 0 {
        return;
    }
    let bytes = |id: &Oid| -> [u8; 20] {
        let mut out = [0u8; 20];
        out.copy_from_slice(id.as_bytes());
        out
    };
    let kept: Vec<KeptCommit> = history
        .commits(KEPT_BEYOND)
        .iter()
        .map(|c| KeptCommit {
            id: bytes(&c.id),
            tree: bytes(&c.tree),
            parents: c.parents.iter().map(bytes).collect(),
            time: c.time,
            message: c.message.clone(),
        })
        .collect();
    kept_commits(repo).put_value("read", &kept);
}

/// Keeps the tags learnt since they were read, if any were.
pub fn keep_learnt(repo: &Repo) {
    if let Some(tags) = crate::trust::signing::learnt() {
        verified_lines(repo).put_value("tags", &tags);
    }
}

/// [`derive()`] for the phases `wanted` says, with base at `base_tip`; the other phases are left
/// without their commits, notes and verification, so their states mean nothing (only those of
/// wanted phases whose dependencies are wanted too are right).
fn derive_where(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    base_tip: Option<Oid>,
    read_notes: Notes,
    branches: Branches,
    wanted: &dyn Fn(&crate::plan::Phase) -> bool,
) -> Result<Vec<PhaseStatus>, GitError> {
    let notes_trees = repo.notes_trees()?;
    if let Some(tags) = verified_lines(repo).get_value("tags") {
        crate::trust::signing::remember_verified(tags);
    }
    // With many phases to read, the notes' fan-out folders are read on a second core, if there
    // is one, while this one reads the history: much of the evidence is in them. (A few phases
    // look up a few notes; reading every folder ahead would only make them wait.) And the
    // commits read by the last such derivation are given to this one.
    let many = plan.phases.iter().filter(|p| wanted(p)).count() >= READ_AHEAD_PHASES;
    let history = match many {
        true => kept_history(repo),
        false => History::new(repo),
    };
    let facts_key = base_tip.and_then(|tip| BaseFacts::key(tip, plan, plan_path));
    let mut base_facts =
        BaseFacts::load(repo, facts_key.as_deref(), base_tip, plan, plan_path).at(base_tip);
    let git_dir = repo.git_dir().to_path_buf();
    let (phases, folders) = std::thread::scope(|scope| {
        let folders = match notes_trees.main() {
            Some(tree) if many && second_core() => {
                let git_dir = &git_dir;
                Some(scope.spawn(move || crate::git::notes::read_folders(git_dir, tree)))
            }
            _ => None,
        };
        let phases = (|| {
            let (line, below) = match base_tip {
                Some(tip) => base_line(repo, &history, plan_path, tip, &mut base_facts)?,
                None => (Vec::new(), None),
            };
            read_phases(
                repo,
                &history,
                plan,
                &line,
                below,
                base_tip,
                read_notes,
                &notes_trees,
                branches,
                wanted,
            )
        })();
        // Reading ahead is only a head start: whatever it could not read is read below.
        let folders = folders
            .and_then(|f| f.join().ok())
            .and_then(Result::ok)
            .unwrap_or_default();
        (phases, folders)
    });
    let (mut out, commits) = phases?;
    // The evidence: verified, the events the states need, stale files.
    let mut reader =
        EvidenceReader::new(repo, plan_path, history, &notes_trees, folders, base_facts)?;
    for (i, phase) in plan.phases.iter().enumerate() {
        if !wanted(phase) {
            continue;
        }
        let (commits, fast_forward_tip) = &commits[i];
        reader.finish(
            plan,
            phase,
            &mut out[i],
            commits,
            *fast_forward_tip,
            base_tip,
            read_notes,
        )?;
    }
    reader
        .base_facts
        .keep(repo, facts_key.as_deref(), plan, plan_path);
    reader.recompute.keep();
    if many {
        keep_history(repo, &reader.history);
    }
    keep_learnt(repo);
    let complete: Vec<bool> = out.iter().map(PhaseStatus::is_complete).collect();
    let index: HashMap<&str, usize> = plan
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    for (i, phase) in plan.phases.iter().enumerate() {
        let status = &mut out[i];
        status.waiting_for = phase
            .depends_on
            .iter()
            .filter(|d| !index.get(d.id.as_str()).is_some_and(|&j| complete[j]))
            .map(|d| d.id.clone())
            .collect();
        status.state = status.state_of_facts();
    }
    Ok(out)
}

/// The most commits of a phase branch beyond base read without walking base too.
const BEYOND_LIMIT: usize = 10_000;

/// Phases from which the notes' folders are read ahead.
const READ_AHEAD_PHASES: usize = 64;

/// Is there a second core to read ahead on?
fn second_core() -> bool {
    // A repository whose objects the environment places (a hook run by git while it receives
    // a push, say) is read only as the process opened it.
    let placed = ["GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    !placed && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Each phase's commits (its branch beyond base, or what completed it) and checkpoints,
/// without the evidence in notes; and, by phase, the commits and fast-forward top that
/// evidence is looked for in.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn read_phases(
    repo: &Repo,
    history: &History<'_>,
    plan: &Plan,
    line: &[Oid],
    below: Option<Oid>,
    base_tip: Option<Oid>,
    read_notes: Notes,
    notes_trees: &NotesTrees,
    branches: Branches,
    wanted: &dyn Fn(&crate::plan::Phase) -> bool,
) -> Result<(Vec<PhaseStatus>, Vec<(Vec<Oid>, Option<Oid>)>), GitError> {
    let (sides, listed) = history.merged_sides(line, below)?;
    let on_line: HashSet<Oid> = line.iter().copied().collect();
    let completions = completions_on_line(history, plan, line, &sides)?;
    let mut tips = repo.branch_tips(&plan.branch_prefix)?;
    if branches == Branches::OrOrigin {
        let fetched = format!("refs/remotes/origin/{}", plan.branch_prefix);
        for (name, tip) in repo.refs_under(&fetched)? {
            let branch = name.trim_start_matches("refs/remotes/origin/").to_owned();
            tips.entry(branch).or_insert(tip);
        }
    }
    let notes = match read_notes {
        // The notes as of the tip every other read of this derive uses.
        Notes::All => Some(repo.notes_at(notes_trees)?),
        Notes::Open => None,
    };
    let mut out = Vec::with_capacity(plan.phases.len());
    let mut evidence = Vec::with_capacity(plan.phases.len());
    for phase in &plan.phases {
        let branch = plan.branch(phase);
        let completed_by = completions.get(phase.id.as_str()).copied();
        if !wanted(phase) {
            out.push(PhaseStatus {
                id: phase.id.clone(),
                state: State::Waiting,
                stale: Vec::new(),
                branch,
                branch_tip: None,
                completed_by,
                verified: false,
                contradicted: Vec::new(),
                uncounted: None,
                checkpoints: Vec::new(),
                plain_commits: 0,
                waiting_for: Vec::new(),
                tip_verify: None,
            });
            evidence.push((Vec::new(), None));
            continue;
        }
        let branch_tip = tips.get(&branch).copied();
        // The commits of the phase: on its branch beyond base, or, once merged, the merged side.
        // A fast-forward's work ends at the phase branch's tip when the branch is still there
        // (commits after the last checkpoint are part of it), else at its last checkpoint.
        let mut fast_forward_tip = None;
        let commits = match (completed_by, branch_tip, base_tip) {
            (Some(merge), _, _) => {
                let info = history.info(merge)?;
                match info.parents.as_slice() {
                    [first, second, ..] => match sides.get(&merge) {
                        Some(side) => side.clone(),
                        None => history.between(*second, &[*first])?,
                    },
                    _ if is_fast_forward(&info) => {
                        // The branch's tip counts when base holds it (within the plan's
                        // history: what lies below it is no work of a phase of this plan).
                        let held = branch_tip.filter(|tip| listed.contains(tip));
                        let (commits, top) =
                            fast_forwarded(history, &plan.id, &phase.id, held, merge, &on_line)?;
                        fast_forward_tip = Some(top);
                        commits
                    }
                    _ => vec![merge],
                }
            }
            // What the branch holds beyond base: a walk from its tip that stops at the plan's
            // history on base, instead of one that goes back along base to the fork.
            (None, Some(tip), Some(base)) => history.beyond(tip, base, &listed, BEYOND_LIMIT)?,
            (None, Some(tip), None) => history.between(tip, &[])?,
            (None, None, _) => Vec::new(),
        };
        let (checkpoints, plain_commits) =
            checkpoints_among(history, notes.as_ref(), &plan.id, &phase.id, &commits)?;
        out.push(PhaseStatus {
            id: phase.id.clone(),
            state: State::Waiting,
            stale: Vec::new(),
            branch,
            branch_tip,
            completed_by,
            verified: false,
            contradicted: Vec::new(),
            uncounted: None,
            checkpoints,
            plain_commits,
            waiting_for: Vec::new(),
            tip_verify: None,
        });
        evidence.push((commits, fast_forward_tip));
    }
    Ok((out, evidence))
}

#[cfg(test)]
mod tests;
