//! Phase state, derived from git and nothing else (SPEC §2):
//!
//! `complete` (a planx merge of the phase is on base's first-parent history) → `failed` /
//! `blocked` (the latest checkpoint says so) → `in-progress` (the branch exists) → `ready`
//! (every dependency complete) → `waiting`. `stale` flags a complete phase whose `create`
//! files are gone from base.
//!
//! Merges made elsewhere count: a merge commit without planx trailers whose merged side holds
//! the phase's checkpoint commits (a pull request merged on a forge), and a squash commit
//! carrying `Planx-Phase` / `Planx-Status: complete`. Walks of base stop at the commit that
//! introduced the plan file, so their cost follows the plan's lifetime, not the repository's.

pub mod events;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::git::trailers::{self, Trailer};
use crate::git::{CommitInfo, GitError, Oid, Repo, Walker};
use crate::plan::{Glob, Plan};
use events::{Event, parse_note};

/// The state of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Complete,
    /// Merged into base, but no passing verify of the merged tree is recorded: a claim only.
    Unverified,
    Failed,
    Blocked,
    InProgress,
    Ready,
    Waiting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Complete => "complete",
            State::Unverified => "unverified",
            State::Failed => "failed",
            State::Blocked => "blocked",
            State::InProgress => "in-progress",
            State::Ready => "ready",
            State::Waiting => "waiting",
        }
    }
}

/// What kind of checkpoint a commit is (`Planx-Checkpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Start,
    Step,
    Red,
    Green,
    Verify,
    Blocked,
    Failed,
    Complete,
    /// A checkpoint commit without a recognised kind.
    Other,
}

impl Kind {
    pub fn parse(text: &str) -> Kind {
        match text {
            "start" => Kind::Start,
            "step" => Kind::Step,
            "red" => Kind::Red,
            "green" => Kind::Green,
            "verify" => Kind::Verify,
            "blocked" => Kind::Blocked,
            "failed" => Kind::Failed,
            "complete" => Kind::Complete,
            _ => Kind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Step => "step",
            Kind::Red => "red",
            Kind::Green => "green",
            Kind::Verify => "verify",
            Kind::Blocked => "blocked",
            Kind::Failed => "failed",
            Kind::Complete => "complete",
            Kind::Other => "checkpoint",
        }
    }
}

/// A checkpoint: a commit of the phase carrying planx trailers, with the events of its note.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub commit: Oid,
    pub time: i64,
    pub summary: String,
    pub kind: Kind,
    /// `Planx-Status`, when given.
    pub status: Option<String>,
    pub step: Option<String>,
    pub events: Vec<Event>,
}

/// Everything git says about one phase.
#[derive(Debug, Clone)]
pub struct PhaseStatus {
    pub id: String,
    pub state: State,
    /// Complete, but some `create` entry matches nothing on base any more.
    pub stale: Vec<String>,
    pub branch: String,
    pub branch_tip: Option<Oid>,
    /// The commit on base that completed the phase (verified or not).
    pub completed_by: Option<Oid>,
    /// A passing verify record of the merged tree was found.
    pub verified: bool,
    /// Checkpoints of the phase, newest first.
    pub checkpoints: Vec<Checkpoint>,
    /// Commits on the phase branch without planx trailers (ordinary commits of the work).
    pub plain_commits: usize,
    /// Dependencies that are not complete.
    pub waiting_for: Vec<String>,
}

impl PhaseStatus {
    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoints.first()
    }

    pub fn start(&self) -> Option<&Checkpoint> {
        self.checkpoints.iter().find(|c| c.kind == Kind::Start)
    }

    /// Time of the latest recorded activity (checkpoint), if any.
    pub fn last_activity(&self) -> Option<i64> {
        self.checkpoints.iter().map(|c| c.time).max()
    }

    /// Steps of `phase` whose latest step checkpoint shows them done: with a passing run of the
    /// step's `verify` recorded in its note, or — for a step without a `verify` command — the
    /// checkpoint alone. A trailer without its evidence does not complete a verified step.
    pub fn completed_steps(&self, phase: &crate::plan::Phase) -> Vec<String> {
        let mut latest: HashMap<&str, bool> = HashMap::new();
        for c in self.checkpoints.iter().rev() {
            if let (Kind::Step, Some(step)) = (c.kind, &c.step) {
                let needs_run = phase
                    .steps
                    .iter()
                    .find(|s| &s.id == step)
                    .is_some_and(|s| s.verify.is_some());
                latest.insert(step, step_passed(c, needs_run));
            }
        }
        let mut done: Vec<String> = latest
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|(s, _)| s.to_owned())
            .collect();
        done.sort();
        done
    }

    /// The reason recorded by the latest blocked or failed checkpoint.
    pub fn reason(&self) -> Option<String> {
        let c = self.last_checkpoint()?;
        if !matches!(c.kind, Kind::Blocked | Kind::Failed) {
            return None;
        }
        c.events
            .iter()
            .rev()
            .find_map(|e| e.str("reason").map(str::to_owned))
    }
}

/// Did this step checkpoint's verify pass? Without a recorded run, only when none is needed.
pub fn step_passed(c: &Checkpoint, needs_run: bool) -> bool {
    match c.events.iter().rev().find_map(|e| e.run("verify")) {
        Some(run) => run.passed,
        None => !needs_run,
    }
}

/// Reads a commit's trailers into checkpoint facts when it is a checkpoint of `plan_id`/`phase`.
fn checkpoint_of(
    info: &CommitInfo,
    trailers: &[Trailer],
    plan_id: &str,
) -> Option<(String, Checkpoint)> {
    let phase = trailers::value(trailers, trailers::PHASE)?;
    if let Some(plan) = trailers::value(trailers, trailers::PLAN)
        && plan != plan_id
    {
        return None;
    }
    let kind = trailers::value(trailers, trailers::CHECKPOINT)?;
    Some((
        phase.to_owned(),
        Checkpoint {
            commit: info.id,
            time: info.time,
            summary: info.summary().to_owned(),
            kind: Kind::parse(kind),
            status: trailers::value(trailers, trailers::STATUS).map(str::to_owned),
            step: trailers::value(trailers, trailers::STEP).map(str::to_owned),
            events: Vec::new(),
        },
    ))
}

/// The checkpoints of `phase` among `commits`, in the order given, each with the events of its
/// note; and how many of the commits carry no planx trailers. For callers that know a phase's
/// commits by other means than its local branch (a CI checkout, a merged side).
pub fn checkpoints_in(
    repo: &Repo,
    plan_id: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<(Vec<Checkpoint>, usize), GitError> {
    checkpoints_among(repo, &repo.notes()?, plan_id, phase, commits)
}

fn checkpoints_among(
    repo: &Repo,
    notes: &crate::git::notes::NotesSnapshot<'_>,
    plan_id: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<(Vec<Checkpoint>, usize), GitError> {
    let mut checkpoints = Vec::new();
    let mut plain_commits = 0;
    for &id in commits {
        let info = repo.commit_info(id)?;
        let trailers = info.trailers();
        match checkpoint_of(&info, &trailers, plan_id) {
            Some((p, mut c)) if p == phase => {
                if let Some(note) = notes.get(id)? {
                    c.events = parse_note(&note)
                        .into_iter()
                        .filter(|e| e.phase == phase && e.plan == plan_id)
                        .collect();
                }
                checkpoints.push(c);
            }
            Some(_) => {}
            None => plain_commits += 1,
        }
    }
    Ok((checkpoints, plain_commits))
}

/// The state of every phase of `plan`, in plan order. `plan_path` is the plan's repo-relative
/// path, which bounds the walk of base.
pub fn derive(repo: &Repo, plan: &Plan, plan_path: &str) -> Result<Vec<PhaseStatus>, GitError> {
    derive_where(repo, plan, plan_path, repo.branch_tip(&plan.base)?, &|_| {
        true
    })
}

/// As [`derive`], with base at `base_tip` (for instance the commit a push is about to make the
/// remote's base).
pub fn derive_with_base(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    base_tip: Option<Oid>,
) -> Result<Vec<PhaseStatus>, GitError> {
    derive_where(repo, plan, plan_path, base_tip, &|_| true)
}

/// [`derive`] for what `start`, `checkpoint` and `finish` ask about phase `id`: its state and
/// the states of the phases it depends on are [`derive`]'s, read from the history and notes
/// of those phases (and of theirs, for ready or waiting) only; the other entries are left
/// unread and mean nothing.
pub fn derive_around(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    id: &str,
) -> Result<Vec<PhaseStatus>, GitError> {
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
    let base_tip = repo.branch_tip(&plan.base)?;
    derive_where(repo, plan, plan_path, base_tip, &|p| {
        wanted.contains(p.id.as_str())
    })
}

/// [`derive`] for the phases `wanted` says, with base at `base_tip`; the other phases are left
/// without their commits, notes and verification, so their states mean nothing (only those of
/// wanted phases whose dependencies are wanted too are right).
fn derive_where(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    base_tip: Option<Oid>,
    wanted: &dyn Fn(&crate::plan::Phase) -> bool,
) -> Result<Vec<PhaseStatus>, GitError> {
    let mut walker = repo.walker()?;
    let completions = match base_tip {
        Some(tip) => completions_on_base(repo, &mut walker, plan, plan_path, tip)?,
        None => HashMap::new(),
    };
    let notes = repo.notes()?;
    let mut out: Vec<PhaseStatus> = Vec::with_capacity(plan.phases.len());
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
                checkpoints: Vec::new(),
                plain_commits: 0,
                waiting_for: Vec::new(),
            });
            continue;
        }
        let branch_tip = repo.branch_tip(&branch)?;
        // The commits of the phase: on its branch beyond base, or, once merged, the merged side.
        // A fast-forward's work ends at the phase branch's tip when the branch is still there
        // (commits after the last checkpoint are part of it), else at its last checkpoint.
        let mut fast_forward_tip = None;
        let commits = match (completed_by, branch_tip, base_tip) {
            (Some(merge), _, _) => {
                let info = repo.commit_info(merge)?;
                match info.parents.as_slice() {
                    [first, second, ..] => walker.between(*second, &[*first])?,
                    _ if is_fast_forward(&info) => {
                        let top = match (branch_tip, base_tip) {
                            (Some(tip), Some(base)) if repo.is_ancestor(tip, base)? => tip,
                            _ => merge,
                        };
                        fast_forward_tip = Some(top);
                        fast_forwarded(repo, top, &phase.id)?
                    }
                    _ => vec![merge],
                }
            }
            (None, Some(tip), Some(base)) => walker.between(tip, &[base])?,
            (None, Some(tip), None) => walker.between(tip, &[])?,
            (None, None, _) => Vec::new(),
        };
        let verified = match completed_by {
            Some(merge) => completion_verified(
                repo,
                &notes,
                &plan.id,
                &phase.id,
                merge,
                fast_forward_tip,
                &commits,
            )?,
            None => false,
        };
        let (checkpoints, plain_commits) =
            checkpoints_among(repo, &notes, &plan.id, &phase.id, &commits)?;
        out.push(PhaseStatus {
            id: phase.id.clone(),
            state: State::Waiting,
            stale: Vec::new(),
            branch,
            branch_tip,
            completed_by,
            verified,
            checkpoints,
            plain_commits,
            waiting_for: Vec::new(),
        });
    }
    let complete: Vec<bool> = out
        .iter()
        .map(|s| s.completed_by.is_some() && s.verified)
        .collect();
    let index: HashMap<&str, usize> = plan
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    // Paths on base's tip by folder, listed only where a `create` pattern can match.
    let mut base_paths: HashMap<String, Vec<String>> = HashMap::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        let status = &mut out[i];
        status.waiting_for = phase
            .depends_on
            .iter()
            .filter(|d| !index.get(d.id.as_str()).is_some_and(|&j| complete[j]))
            .map(|d| d.id.clone())
            .collect();
        let latest = status.last_checkpoint().map(|c| c.kind);
        status.state = if complete[i] {
            State::Complete
        } else if status.completed_by.is_some() {
            State::Unverified
        } else if latest == Some(Kind::Failed) {
            State::Failed
        } else if latest == Some(Kind::Blocked) {
            State::Blocked
        } else if status.branch_tip.is_some() {
            State::InProgress
        } else if status.waiting_for.is_empty() {
            State::Ready
        } else {
            State::Waiting
        };
        if complete[i] && !phase.files.create.is_empty() && wanted(phase) {
            let mut stale = Vec::new();
            for entry in &phase.files.create {
                if entry.pattern.is_literal() {
                    let present = match base_tip {
                        Some(tip) => repo.file_exists_at(tip, entry.pattern.as_str())?,
                        None => false,
                    };
                    if !present {
                        stale.push(entry.pattern.to_string());
                    }
                    continue;
                }
                let folder = entry.pattern.folder();
                let paths = match (base_paths.get(folder), base_tip) {
                    (Some(paths), _) => paths,
                    (None, Some(tip)) => {
                        let paths = repo.tree_paths_under(tip, folder)?;
                        base_paths.entry(folder.to_owned()).or_insert(paths)
                    }
                    (None, None) => base_paths.entry(folder.to_owned()).or_default(),
                };
                if !any_match(&entry.pattern, paths) {
                    stale.push(entry.pattern.to_string());
                }
            }
            status.stale = stale;
        }
    }
    Ok(out)
}

/// A completion by a checkpoint commit that sits on base itself (not a merge, not a squash
/// commit claiming `complete`).
fn is_fast_forward(info: &CommitInfo) -> bool {
    let trailers = info.trailers();
    info.parents.len() < 2
        && trailers::value(&trailers, trailers::STATUS) != Some("complete")
        && trailers::value(&trailers, trailers::CHECKPOINT).is_some()
}

/// The phase's commits on base's first-parent line, from `tip` back to its start checkpoint.
fn fast_forwarded(repo: &Repo, tip: Oid, phase: &str) -> Result<Vec<Oid>, GitError> {
    let mut out = Vec::new();
    let mut current = Some(tip);
    while let Some(id) = current {
        let info = repo.commit_info(id)?;
        let trailers = info.trailers();
        out.push(id);
        let is_start = trailers::value(&trailers, trailers::PHASE) == Some(phase)
            && trailers::value(&trailers, trailers::CHECKPOINT) == Some("start");
        if is_start || info.parents.len() != 1 || out.len() >= 10_000 {
            break;
        }
        current = info.parents.first().copied();
    }
    Ok(out)
}

/// Is there a passing verify record of this phase for what `merge` brought into base? The
/// trees that count: the tree that landed (the merge's own), and for a merge also the tree that
/// was merged (its second parent's: what a pull request's CI verified); for a fast-forward, the
/// top of the forwarded work. A trailer naming a tree is a claim and counts for nothing.
/// Records are looked for on the merge and on the merged commits (a squash carries them).
fn completion_verified(
    repo: &Repo,
    notes: &crate::git::notes::NotesSnapshot<'_>,
    plan: &str,
    phase: &str,
    merge: Oid,
    fast_forward_tip: Option<Oid>,
    merged_side: &[Oid],
) -> Result<bool, GitError> {
    let info = repo.commit_info(merge)?;
    let mut trees = vec![match fast_forward_tip {
        Some(top) => repo.tree_of(top)?,
        None => info.tree,
    }];
    if let Some(merged) = info.parents.get(1) {
        trees.push(repo.tree_of(*merged)?);
    }
    let commits = std::iter::once(merge).chain(merged_side.iter().copied());
    Ok(events::find_passing_record(notes, plan, phase, &trees, commits)?.is_some())
}

fn any_match(pattern: &Glob, paths: &[String]) -> bool {
    if pattern.is_literal() {
        return paths.iter().any(|p| p == pattern.as_str());
    }
    paths.iter().any(|p| pattern.matches(p))
}

/// Which phases base's first-parent history completes, and by which commit (the newest).
fn completions_on_base<'p>(
    repo: &Repo,
    walker: &mut Walker<'_>,
    plan: &'p Plan,
    plan_path: &str,
    tip: Oid,
) -> Result<HashMap<&'p str, Oid>, GitError> {
    let known: BTreeMap<&str, ()> = plan.phases.iter().map(|p| (p.id.as_str(), ())).collect();
    let mut done: HashMap<&'p str, Oid> = HashMap::new();
    let mut current = Some(tip);
    while let Some(id) = current {
        if repo.entry_at(id, plan_path)?.is_none() {
            break;
        }
        let info = repo.commit_info(id)?;
        let trailers = info.trailers();
        let phase = trailers::value(&trailers, trailers::PHASE);
        let plan_ok = trailers::value(&trailers, trailers::PLAN).is_none_or(|p| p == plan.id);
        let status = trailers::value(&trailers, trailers::STATUS);
        match (phase, status) {
            (Some(phase), Some("complete")) if plan_ok => {
                if let Some((key, _)) = known.get_key_value(phase) {
                    done.entry(key).or_insert(id);
                }
            }
            (Some(phase), _) if plan_ok && info.parents.len() < 2 => {
                // A checkpoint of the phase on base itself: its branch was fast-forwarded (or
                // rebased) into base.
                if trailers::value(&trailers, trailers::CHECKPOINT).is_some()
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
                for side in walker.between(info.parents[1], &[info.parents[0]])? {
                    let side_info = repo.commit_info(side)?;
                    let side_trailers = side_info.trailers();
                    if let Some(phase) = trailers::value(&side_trailers, trailers::PHASE)
                        && trailers::value(&side_trailers, trailers::STATUS) == Some("complete")
                        && trailers::value(&side_trailers, trailers::PLAN)
                            .is_none_or(|p| p == plan.id)
                        && let Some((key, _)) = known.get_key_value(phase)
                    {
                        completed_inside.entry(key).or_insert(side);
                    } else if let Some((phase, _)) =
                        checkpoint_of(&side_info, &side_trailers, &plan.id)
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
        current = info.parents.first().copied();
    }
    Ok(done)
}

/// Where a step of a phase stands, in the words of the status document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    Completed,
    InProgress,
    NotStarted,
    NeedsClarification,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Completed => "COMPLETED",
            StepState::InProgress => "IN PROGRESS",
            StepState::NotStarted => "NOT STARTED",
            StepState::NeedsClarification => "NEEDS CLARIFICATION",
        }
    }
}

/// The state of each step of a phase, from its step checkpoints.
pub fn step_states(phase: &crate::plan::Phase, status: &PhaseStatus) -> Vec<StepState> {
    if status.state == State::Complete {
        return vec![StepState::Completed; phase.steps.len()];
    }
    let completed = status.completed_steps(phase);
    let attempted: Vec<&str> = status
        .checkpoints
        .iter()
        .filter(|c| c.kind == Kind::Step)
        .filter_map(|c| c.step.as_deref())
        .collect();
    let first_open = phase.steps.iter().position(|s| !completed.contains(&s.id));
    let blocked_at = match status.state {
        State::Blocked => status
            .last_checkpoint()
            .and_then(|c| c.step.clone())
            .and_then(|id| phase.steps.iter().position(|s| s.id == id))
            .or(first_open),
        _ => None,
    };
    let started = status.branch_tip.is_some();
    phase
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            if completed.contains(&step.id) {
                StepState::Completed
            } else if blocked_at == Some(i) {
                StepState::NeedsClarification
            } else if attempted.contains(&step.id.as_str()) || (started && first_open == Some(i)) {
                StepState::InProgress
            } else {
                StepState::NotStarted
            }
        })
        .collect()
}

/// The one thing to do next, for the whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Work on a started phase: its next open step, if it has steps left.
    Continue { phase: String, step: Option<String> },
    /// A phase is blocked or failed: deal with the reason.
    Unblock {
        phase: String,
        state: State,
        reason: Option<String>,
    },
    /// Start a ready phase.
    Start { phase: String },
    /// A phase was merged without a passing verify of its tree.
    Unverified { phase: String },
    /// Nothing can start: these phases wait for others that are not complete.
    Wait {
        phase: String,
        waiting_for: Vec<String>,
    },
    /// Every phase is complete.
    Done,
    /// The plan has no phases.
    Nothing,
}

/// Decides the next action. The phase checked out here comes first; then blocked or failed
/// phases; then phases in progress; then the first ready phase in dependency order.
pub fn next_action(
    plan: &Plan,
    statuses: &[PhaseStatus],
    order: &[usize],
    current_branch: Option<&str>,
) -> Next {
    if statuses.is_empty() {
        return Next::Nothing;
    }
    let about = |i: usize| -> Next {
        let status = &statuses[i];
        let phase = &plan.phases[i];
        match status.state {
            State::Blocked | State::Failed => Next::Unblock {
                phase: status.id.clone(),
                state: status.state,
                reason: status.reason(),
            },
            _ => {
                let states = step_states(phase, status);
                let step = phase
                    .steps
                    .iter()
                    .zip(&states)
                    .find(|(_, s)| **s != StepState::Completed)
                    .map(|(s, _)| s.id.clone());
                Next::Continue {
                    phase: status.id.clone(),
                    step,
                }
            }
        }
    };
    let active =
        |s: &PhaseStatus| matches!(s.state, State::InProgress | State::Blocked | State::Failed);
    if let Some(branch) = current_branch
        && let Some(i) = statuses
            .iter()
            .position(|s| s.branch == branch && active(s))
    {
        return about(i);
    }
    let in_order = || order.iter().copied();
    if let Some(i) = in_order().find(|&i| statuses[i].state == State::Unverified) {
        return Next::Unverified {
            phase: statuses[i].id.clone(),
        };
    }
    if let Some(i) =
        in_order().find(|&i| matches!(statuses[i].state, State::Blocked | State::Failed))
    {
        return about(i);
    }
    if let Some(i) = in_order().find(|&i| statuses[i].state == State::InProgress) {
        return about(i);
    }
    if let Some(i) = in_order().find(|&i| statuses[i].state == State::Ready) {
        return Next::Start {
            phase: statuses[i].id.clone(),
        };
    }
    if statuses.iter().all(|s| s.state == State::Complete) {
        return Next::Done;
    }
    match in_order().find(|&i| statuses[i].state == State::Waiting) {
        Some(i) => Next::Wait {
            phase: statuses[i].id.clone(),
            waiting_for: statuses[i].waiting_for.clone(),
        },
        None => Next::Done,
    }
}
