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
pub mod evidence;
pub mod judging;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::git::history::History;
use crate::git::notes::NotesSnapshot;
use crate::git::trailers::{self, Trailer};
use crate::git::{CommitInfo, GitError, Oid, Repo, TreeLookup};
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
    /// Merged into base with a passing verify of what was merged.
    fn is_complete(&self) -> bool {
        self.completed_by.is_some() && self.verified
    }

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
    let history = History::new(repo);
    checkpoints_among(&history, Some(&repo.notes()?), plan_id, phase, commits)
}

/// The checkpoints of `phase` among `commits` (with the events of their notes when `notes`
/// is given), and how many of the commits carry no planx trailers.
fn checkpoints_among(
    history: &History<'_>,
    notes: Option<&NotesSnapshot<'_>>,
    plan_id: &str,
    phase: &str,
    commits: &[Oid],
) -> Result<(Vec<Checkpoint>, usize), GitError> {
    let mut checkpoints = Vec::new();
    let mut plain_commits = 0;
    for &id in commits {
        let info = history.info(id)?;
        let trailers = info.trailers();
        match checkpoint_of(&info, &trailers, plan_id) {
            Some((p, mut c)) if p == phase => {
                if let Some(notes) = notes {
                    read_events(notes, plan_id, phase, &mut c)?;
                }
                checkpoints.push(c);
            }
            Some(_) => {}
            None => plain_commits += 1,
        }
    }
    Ok((checkpoints, plain_commits))
}

/// Fills a checkpoint's events from its note: those of `plan_id`'s `phase`.
fn read_events(
    notes: &NotesSnapshot<'_>,
    plan_id: &str,
    phase: &str,
    checkpoint: &mut Checkpoint,
) -> Result<(), GitError> {
    if let Some(note) = notes.get(checkpoint.commit)? {
        checkpoint.events = parse_note(&note)
            .into_iter()
            .filter(|e| e.phase == phase && e.plan == plan_id)
            .collect();
    }
    Ok(())
}

/// Whose checkpoints [`derive`] reads the notes of (a note is evidence: command runs, reasons,
/// verify records; the states themselves come from commits, trailers and verify records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notes {
    /// Every checkpoint's: for reports of the whole history (test results, the log).
    All,
    /// What the states, steps ([`step_states`]), reasons and next action need: the checkpoints
    /// of every phase that is not complete, and a complete phase's latest checkpoint when it is
    /// a blocked or failed one. A complete phase's other checkpoints are left without their
    /// events (its steps are all complete: [`PhaseStatus::completed_steps`] of it means
    /// nothing). With a thousand phases this is a fraction of the notes.
    Open,
}

/// The state of every phase of `plan`, in plan order. `plan_path` is the plan's repo-relative
/// path, which bounds the walk of base.
pub fn derive(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    notes: Notes,
) -> Result<Vec<PhaseStatus>, GitError> {
    let base_tip = repo.branch_tip(&plan.base)?;
    derive_where(repo, plan, plan_path, base_tip, notes, &|_| true)
}

/// As [`derive`] with [`Notes::Open`], with base at `base_tip` (for instance the commit a push
/// is about to make the remote's base).
pub fn derive_with_base(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    base_tip: Option<Oid>,
) -> Result<Vec<PhaseStatus>, GitError> {
    derive_where(repo, plan, plan_path, base_tip, Notes::Open, &|_| true)
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
    derive_where(repo, plan, plan_path, base_tip, Notes::All, &|p| {
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
    read_notes: Notes,
    wanted: &dyn Fn(&crate::plan::Phase) -> bool,
) -> Result<Vec<PhaseStatus>, GitError> {
    let notes_tree = repo.notes_tree()?;
    let history = History::new(repo);
    let facts_key = base_tip.and_then(|tip| BaseFacts::key(tip, plan, plan_path));
    let mut base_facts = BaseFacts::load(repo, facts_key.as_deref());
    // With many phases to read, the notes' fan-out folders are read on a second core, if there
    // is one, while this one reads the history: much of the evidence is in them. (A few phases
    // look up a few notes; reading every folder ahead would only make them wait.)
    let many = plan.phases.iter().filter(|p| wanted(p)).count() >= READ_AHEAD_PHASES;
    let git_dir = repo.git_dir().to_path_buf();
    let (phases, folders) = std::thread::scope(|scope| {
        let folders = match notes_tree {
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
                repo, &history, plan, &line, below, base_tip, read_notes, notes_tree, wanted,
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
    let mut reader = EvidenceReader::new(repo, history, notes_tree, folders, base_facts)?;
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
    reader.base_facts.keep(repo, facts_key.as_deref());
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
    }
    Ok(out)
}

/// What depends only on base's tip, the plan's path and the plan's bytes — where the plan's
/// line of base ends, and which `create` entries match nothing there — kept between runs
/// under those ids (commits never change, so neither does the answer): a status after a
/// checkpoint does not read base's files again, only one after base moved.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct BaseFacts {
    /// The first commit below base's tip without the plan file, once known (`Some(None)`: the
    /// line goes back to a root commit).
    below: Option<Option<String>>,
    /// By phase id, its `create` entries missing on base's tip.
    missing: HashMap<String, Vec<String>>,
    #[serde(skip)]
    changed: bool,
}

impl BaseFacts {
    /// The cache's key for base at `tip` judged by `plan` at `plan_path`; `None` for a plan
    /// not known by its blob id.
    fn key(tip: Oid, plan: &Plan, plan_path: &str) -> Option<String> {
        let blob = plan.blob.as_deref()?;
        Some(crate::git::fingerprint(
            format!("{tip}\n{blob}\n{plan_path}").as_bytes(),
        ))
    }

    fn cache(repo: &Repo) -> crate::cache::Cache {
        crate::cache::Cache::new(repo, "base-facts", 2, "bin")
    }

    fn load(repo: &Repo, key: Option<&str>) -> BaseFacts {
        key.and_then(|key| Self::cache(repo).get_value(key))
            .unwrap_or_default()
    }

    fn keep(&self, repo: &Repo, key: Option<&str>) {
        if let Some(key) = key
            && self.changed
        {
            Self::cache(repo).put_value(key, self);
        }
    }
}

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
    notes_tree: Option<Oid>,
    wanted: &dyn Fn(&crate::plan::Phase) -> bool,
) -> Result<(Vec<PhaseStatus>, Vec<(Vec<Oid>, Option<Oid>)>), GitError> {
    let sides = history.merged_sides(line, below)?;
    let completions = completions_on_line(history, plan, line, &sides)?;
    let tips = repo.branch_tips(&plan.branch_prefix)?;
    let notes = match read_notes {
        // The notes as of the tip every other read of this derive uses.
        Notes::All => Some(repo.notes_at(notes_tree)?),
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
                checkpoints: Vec::new(),
                plain_commits: 0,
                waiting_for: Vec::new(),
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
                        let top = match (branch_tip, base_tip) {
                            (Some(tip), Some(base)) if repo.is_ancestor(tip, base)? => tip,
                            _ => merge,
                        };
                        fast_forward_tip = Some(top);
                        fast_forwarded(history, top, &phase.id)?
                    }
                    _ => vec![merge],
                }
            }
            (None, Some(tip), Some(base)) => history.between(tip, &[base])?,
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
            checkpoints,
            plain_commits,
            waiting_for: Vec::new(),
        });
        evidence.push((commits, fast_forward_tip));
    }
    Ok((out, evidence))
}

/// Reads what notes and base's files say of phases.
struct EvidenceReader<'r> {
    repo: &'r Repo,
    history: History<'r>,
    notes: NotesSnapshot<'r>,
    /// Files on base's tip, for `create` entries that are literal paths.
    base_files: Option<TreeLookup<'r>>,
    /// Paths on base's tip by folder, listed only where a `create` pattern can match.
    base_paths: HashMap<String, Vec<String>>,
    /// Known from an earlier run, and learnt in this one.
    base_facts: BaseFacts,
}

impl<'r> EvidenceReader<'r> {
    fn new(
        repo: &'r Repo,
        history: History<'r>,
        notes_tree: Option<Oid>,
        folders: Vec<(Oid, Vec<u8>)>,
        base_facts: BaseFacts,
    ) -> Result<Self, GitError> {
        Ok(EvidenceReader {
            base_facts,
            repo,
            history,
            notes: repo.notes_at(notes_tree)?.with_folders(folders),
            base_files: None,
            base_paths: HashMap::new(),
        })
    }

    /// Completes `status` with its evidence: whether the merge that completed it was verified,
    /// the events of the checkpoints the states need, the stale files of a complete phase.
    #[allow(clippy::too_many_arguments)]
    fn finish(
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
                events::find_passing_record(&self.notes, &plan.id, &phase.id, &trees, candidates)?
                    .is_some()
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

/// A completion by a checkpoint commit that sits on base itself (not a merge, not a squash
/// commit claiming `complete`).
fn is_fast_forward(info: &CommitInfo) -> bool {
    let trailers = info.trailers();
    info.parents.len() < 2
        && trailers::value(&trailers, trailers::STATUS) != Some("complete")
        && trailers::value(&trailers, trailers::CHECKPOINT).is_some()
}

/// The phase's commits on base's first-parent line, from `tip` back to its start checkpoint.
fn fast_forwarded(history: &History<'_>, tip: Oid, phase: &str) -> Result<Vec<Oid>, GitError> {
    let mut out = Vec::new();
    let mut current = Some(tip);
    while let Some(id) = current {
        let info = history.info(id)?;
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

/// Base's first-parent line from `tip` while it has the plan file, newest first, and the
/// first commit below it (without the plan), if any: walks of base stop there, so that their
/// cost follows the plan's lifetime, not the repository's.
fn base_line(
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
        if repo.entry_at(id, plan_path)?.is_none() {
            break;
        }
        line.push(id);
        below = history.info(id)?.parents.first().copied();
    }
    if parents_settled {
        facts.below = Some(below.map(|b| b.to_string()));
        facts.changed = true;
    }
    Ok((line, below))
}

/// Which phases base's first-parent `line` completes, and by which commit (the newest);
/// `sides` is what each merge on it merged ([`History::merged_sides`]).
fn completions_on_line<'p>(
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
                for &side in sides.get(&id).map_or(&[][..], Vec::as_slice) {
                    let side_info = history.info(side)?;
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
