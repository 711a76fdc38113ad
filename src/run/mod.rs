//! `run`: the plan executor of the seeds, with git as the record (SPEC §6). Ready phases —
//! dependencies complete, no running phase whose manifest could touch the same path — run up
//! to `jobs` at once, each in its own linked worktree on its phase branch. For each phase: the
//! brief is written to a file, the executor runs with the phase's timeout, whatever it left
//! uncommitted becomes a checkpoint (nothing is lost), verify judges the result, and a pass is
//! merged into base — one merge at a time. A failure, a timeout or an executor error records a
//! `failed` checkpoint with the reason and the output's tail, and the phases that depend on it
//! are skipped.
//!
//! Interrupting (Ctrl-C) stops the executors' process groups, records `interrupted`, and leaves
//! the worktrees for inspection; running again continues where it stopped: complete phases are
//! never redone, and failed ones are retried only when asked.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clock;
use crate::git::Repo;
use crate::interrupt;
use crate::lifecycle::{self, CheckpointOptions, FinishOptions, LifecycleError, StartOptions};
use crate::plan::Plan;
use crate::plan::graph::Graph;
use crate::process;
use crate::state::events::{CommandRun, Event};
use crate::state::evidence::{find_passing_record, fork_point};
use crate::state::judging::find_phase;
use crate::state::{self, State};
use crate::trust::{TrustPolicy, require_trust};
use crate::verify::{self, Target, VerifyOptions};

/// How the plan is run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    /// The executor command: from `--executor` or `PLANX_EXECUTOR` (the user's own), else the
    /// plan's `[run] executor`.
    pub executor: Option<String>,
    /// Only these phases (empty: every phase).
    pub phases: Vec<String>,
    /// After a failure, go on with the phases that do not depend on it (false: --fail-fast).
    pub keep_going: bool,
    pub retry_failed: bool,
    pub force: bool,
    pub trust: TrustPolicy,
    /// The executor is for a person at this terminal: it inherits the terminal, one phase at a
    /// time, with no timeout and no log.
    pub interactive: bool,
}

/// Something that happened, for the progress display and `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RunEvent {
    Started {
        phase: String,
        branch: String,
        worktree: PathBuf,
    },
    Executing {
        phase: String,
        command: String,
        log: PathBuf,
    },
    Executed {
        phase: String,
        outcome: String,
        duration_ms: u64,
    },
    Committed {
        phase: String,
        commit: String,
    },
    Verified {
        phase: String,
        passed: bool,
        summary: String,
    },
    Merged {
        phase: String,
        commit: String,
    },
    Failed {
        phase: String,
        reason: String,
        tail: String,
    },
    Blocked {
        phase: String,
        reason: String,
    },
    Skipped {
        phase: String,
        because: String,
    },
    Interrupted {
        phase: String,
    },
}

impl RunEvent {
    pub fn phase(&self) -> &str {
        match self {
            RunEvent::Started { phase, .. }
            | RunEvent::Executing { phase, .. }
            | RunEvent::Executed { phase, .. }
            | RunEvent::Committed { phase, .. }
            | RunEvent::Verified { phase, .. }
            | RunEvent::Merged { phase, .. }
            | RunEvent::Failed { phase, .. }
            | RunEvent::Blocked { phase, .. }
            | RunEvent::Skipped { phase, .. }
            | RunEvent::Interrupted { phase } => phase,
        }
    }
}

/// Receives events from every phase's thread.
pub trait Observer: Sync {
    fn event(&self, event: &RunEvent);
    /// Called about five times a second while phases run (a live display redraws).
    fn tick(&self) {}
}

/// How each selected phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Already complete before this run.
    WasComplete,
    Completed,
    Failed,
    /// Verified but not merged (a conflict with base, a dirty base): needs a person.
    Blocked,
    /// A dependency failed, or is blocked.
    Skipped,
    /// Not run: earlier failures stopped the run (with --fail-fast), a dependency outside
    /// the selection is not complete, or it failed before and --retry-failed was not given.
    NotRun,
    Interrupted,
}

impl Outcome {
    /// The outcome as people read it ("complete" whether or not this run completed it).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed | Outcome::WasComplete => "complete",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not run",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// A failure for `--fail-fast`: the phase ran and did not land (failed, or blocked and
    /// waiting for a person). A phase another run holds, or one interrupted, is not.
    pub fn stops_fail_fast(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Blocked)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub outcomes: Vec<(String, Outcome, String)>,
    pub interrupted: Option<i32>,
}

impl Summary {
    pub fn all_complete(&self) -> bool {
        self.outcomes
            .iter()
            .all(|(_, o, _)| matches!(o, Outcome::Completed | Outcome::WasComplete))
    }
}

/// The schedule a run would follow if every phase succeeded: waves of phases run together.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub waves: Vec<Vec<String>>,
    pub complete: Vec<String>,
    /// Phases left out, with why.
    pub left_out: Vec<(String, String)>,
}

/// Where a phase's worktree, brief and logs live: under `$GIT_COMMON_DIR/planx/run/`.
pub fn phase_dir(repo: &Repo, plan: &Plan, phase: &str) -> PathBuf {
    repo.state_dir()
        .join("run")
        .join(&plan.id)
        .join(phase.replace('/', "%2F"))
}

/// The worktree a run uses for a phase.
pub fn worktree_path(repo: &Repo, plan: &Plan, phase: &str) -> PathBuf {
    repo.state_dir()
        .join("worktrees")
        .join(&plan.id)
        .join(phase.replace('/', "%2F"))
}

/// The phases the run is about, in dependency order.
fn selection(plan: &Plan, graph: &Graph, phases: &[String]) -> Result<Vec<usize>, LifecycleError> {
    for id in phases {
        find_phase(plan, id)?;
    }
    Ok(graph
        .order
        .iter()
        .copied()
        .filter(|&i| phases.is_empty() || phases.contains(&plan.phases[i].id))
        .collect())
}

/// Where a run starts from: the phase graph, the phases selected, their states in git, and
/// which of them are complete, to run, or left out (with why). `run` and `--dry-run` share it.
struct Start {
    graph: Graph,
    /// The selected phases, in dependency order.
    selected: Vec<usize>,
    statuses: Vec<state::PhaseStatus>,
    /// Every phase (selected or not) complete at the start.
    complete: BTreeSet<usize>,
    /// The selected phases to run.
    pending: Vec<usize>,
    /// Selected phases neither complete nor to run.
    left_out: Vec<(usize, &'static str)>,
}

impl Start {
    fn new(
        repo: &Repo,
        plan: &Plan,
        plan_path: &str,
        opts: &RunOptions,
    ) -> Result<Start, LifecycleError> {
        let graph = Graph::build(plan).map_err(|_| {
            LifecycleError::Io(std::io::Error::other("the plan has a dependency cycle"))
        })?;
        let selected = selection(plan, &graph, &opts.phases)?;
        let statuses = state::derive(repo, plan, plan_path, state::Notes::Open)?;
        let complete = (0..plan.phases.len())
            .filter(|&i| statuses[i].state == State::Complete)
            .collect();
        let mut pending = Vec::new();
        let mut left_out = Vec::new();
        for &i in &selected {
            match statuses[i].state {
                State::Complete => {}
                State::Failed if !opts.retry_failed => {
                    left_out.push((i, "failed before; --retry-failed runs it again"));
                }
                State::Unverified => {
                    left_out.push((i, "merged without a passing verify; verify it"));
                }
                _ => pending.push(i),
            }
        }
        Ok(Start {
            graph,
            selected,
            statuses,
            complete,
            pending,
            left_out,
        })
    }
}

/// What `run --dry-run` prints: the waves, assuming every phase succeeds.
pub fn schedule(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    opts: &RunOptions,
) -> Result<Schedule, LifecycleError> {
    let Start {
        graph,
        selected,
        complete: mut done,
        mut pending,
        left_out,
        ..
    } = Start::new(repo, plan, plan_path, opts)?;
    let mut left_out: Vec<(String, String)> = left_out
        .into_iter()
        .map(|(i, why)| (plan.phases[i].id.clone(), why.to_owned()))
        .collect();
    let complete = selected
        .iter()
        .filter(|&&i| done.contains(&i))
        .map(|&i| plan.phases[i].id.clone())
        .collect();
    let mut waves = Vec::new();
    loop {
        let mut wave: Vec<usize> = Vec::new();
        for &i in &pending {
            if wave.len() >= opts.jobs {
                break;
            }
            let ready = graph.depends[i].iter().all(|d| done.contains(d));
            let clash = wave.iter().any(|&j| graph.conflict(i, j).is_some());
            if ready && !clash {
                wave.push(i);
            }
        }
        if wave.is_empty() {
            break;
        }
        pending.retain(|i| !wave.contains(i));
        done.extend(&wave);
        waves.push(wave.iter().map(|&i| plan.phases[i].id.clone()).collect());
    }
    for i in pending {
        let waiting: Vec<String> = graph.depends[i]
            .iter()
            .filter(|d| !done.contains(d))
            .map(|&d| plan.phases[d].id.clone())
            .collect();
        left_out.push((
            plan.phases[i].id.clone(),
            format!("waits for {} (not in this run)", waiting.join(", ")),
        ));
    }
    Ok(Schedule {
        waves,
        complete,
        left_out,
    })
}

/// Everything a phase's thread needs.
struct Shared<'a> {
    workdir: PathBuf,
    plan: &'a Plan,
    plan_path: &'a str,
    opts: &'a RunOptions,
    executor: String,
    brief: &'a (dyn Fn(&Repo, &str) -> Result<String, LifecycleError> + Sync),
    observer: &'a dyn Observer,
    merge: Mutex<()>,
}

/// Runs the plan. `brief` writes a phase's execution plan (markdown) for the executor.
pub fn run(
    repo: &Repo,
    plan: &Plan,
    plan_path: &str,
    opts: &RunOptions,
    brief: &(dyn Fn(&Repo, &str) -> Result<String, LifecycleError> + Sync),
    observer: &dyn Observer,
) -> Result<Summary, LifecycleError> {
    let Start {
        graph,
        selected,
        statuses,
        mut complete,
        mut pending,
        left_out,
    } = Start::new(repo, plan, plan_path, opts)?;
    if plan.status != crate::plan::PlanStatus::Ready && !opts.force {
        return Err(LifecycleError::PlanNotReady {
            status: plan.status.as_str().to_owned(),
        });
    }
    let executor = match (&opts.executor, &plan.run.executor) {
        (Some(cmd), _) => cmd.clone(),
        (None, Some(cmd)) => cmd.shell.clone(),
        (None, None) => return Err(LifecycleError::NoExecutor),
    };
    // Trust is settled before anything runs: the plan's commands (preflight, checks, and its
    // executor when that is the one used) run in every phase.
    if !crate::trust::plan_commands(plan).is_empty() {
        require_trust(repo, plan, opts.trust)?;
    }
    let _deferred = interrupt::defer();
    let shared = Shared {
        workdir: repo.require_workdir()?.to_path_buf(),
        plan,
        plan_path,
        opts,
        executor,
        brief,
        observer,
        merge: Mutex::new(()),
    };
    let mut outcome: HashMap<usize, (Outcome, String)> = selected
        .iter()
        .filter(|i| complete.contains(i))
        .map(|&i| (i, (Outcome::WasComplete, "complete before this run".into())))
        .chain(
            left_out
                .into_iter()
                .map(|(i, why)| (i, (Outcome::NotRun, why.to_owned()))),
        )
        .collect();
    let mut running: Vec<usize> = Vec::new();
    let mut stopped = false;
    let (tx, rx) = mpsc::channel::<(usize, Result<(Outcome, String), LifecycleError>)>();

    std::thread::scope(|scope| -> Result<(), LifecycleError> {
        loop {
            if interrupt::received().is_some() {
                stopped = true;
            }
            // Skip what depends on a failure.
            let mut changed = true;
            while changed {
                changed = false;
                for &i in pending.clone().iter() {
                    if let Some(&d) = graph.depends[i].iter().find(|d| {
                        outcome.get(d).is_some_and(|(o, _)| {
                            !matches!(o, Outcome::Completed | Outcome::WasComplete)
                        }) || (statuses[**d].state == State::Failed && !selected.contains(d))
                    }) {
                        let why = format!("`{}` did not complete", plan.phases[d].id);
                        observer.event(&RunEvent::Skipped {
                            phase: plan.phases[i].id.clone(),
                            because: why.clone(),
                        });
                        outcome.insert(i, (Outcome::Skipped, why));
                        pending.retain(|&p| p != i);
                        changed = true;
                    }
                }
            }
            if !stopped {
                for &i in pending.clone().iter() {
                    if running.len() >= opts.jobs.max(1) {
                        break;
                    }
                    let ready = graph.depends[i].iter().all(|d| complete.contains(d));
                    let clash = running.iter().any(|&j| graph.conflict(i, j).is_some());
                    if ready && !clash {
                        pending.retain(|&p| p != i);
                        running.push(i);
                        let tx = tx.clone();
                        let shared = &shared;
                        scope.spawn(move || {
                            // A panic must not leave the run waiting for this phase forever.
                            let result =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    run_phase(shared, i)
                                }))
                                .unwrap_or_else(|panic| {
                                    let what = panic
                                        .downcast_ref::<&str>()
                                        .map(|s| s.to_string())
                                        .or_else(|| panic.downcast_ref::<String>().cloned())
                                        .unwrap_or_else(|| "a panic".to_owned());
                                    Err(LifecycleError::Internal { what })
                                });
                            let _ = tx.send((i, result));
                        });
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok((i, result)) => {
                    running.retain(|&r| r != i);
                    let (o, why) = match result {
                        Ok(done) => done,
                        Err(LifecycleError::Interrupted { .. }) => {
                            (Outcome::Interrupted, "interrupted".into())
                        }
                        Err(e) => {
                            let reason = reason_of(e);
                            observer.event(&RunEvent::Failed {
                                phase: plan.phases[i].id.clone(),
                                reason: reason.clone(),
                                tail: String::new(),
                            });
                            (Outcome::Failed, reason)
                        }
                    };
                    if o == Outcome::Completed {
                        complete.insert(i);
                    } else if o.stops_fail_fast() && !opts.keep_going {
                        stopped = true;
                    }
                    outcome.insert(i, (o, why));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => observer.tick(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(())
    })?;

    for i in pending {
        let why = if interrupt::received().is_some() {
            "interrupted before it started".to_owned()
        } else if stopped {
            "not started: a phase failed and --fail-fast stops the run".to_owned()
        } else {
            let waiting: Vec<&str> = graph.depends[i]
                .iter()
                .filter(|d| !complete.contains(d))
                .map(|&d| plan.phases[d].id.as_str())
                .collect();
            format!("waits for {} (not in this run)", waiting.join(", "))
        };
        outcome.insert(i, (Outcome::NotRun, why));
    }
    Ok(Summary {
        outcomes: selected
            .iter()
            .map(|&i| {
                let (o, why) = outcome
                    .remove(&i)
                    .unwrap_or((Outcome::NotRun, String::new()));
                (plan.phases[i].id.clone(), o, why)
            })
            .collect(),
        interrupted: interrupt::received(),
    })
}

/// One phase, from its worktree to its merge.
fn run_phase(shared: &Shared<'_>, index: usize) -> Result<(Outcome, String), LifecycleError> {
    let plan = shared.plan;
    let phase = &plan.phases[index];
    let observer = shared.observer;
    let repo = Repo::open(&shared.workdir)?;
    let branch = plan.branch(phase);
    let dir = phase_dir(&repo, plan, &phase.id);
    std::fs::create_dir_all(&dir)?;

    // One run at a time per phase, whatever process runs it.
    let Ok(_phase_lock) = crate::lock::take(
        &repo.locks_dir(),
        &format!("run-{}-{}", plan.id, phase.id),
        "run",
        &phase.id,
    ) else {
        return Ok((
            Outcome::NotRun,
            "another `git planx run` is executing it".into(),
        ));
    };

    // The worktree: run's own, under .git/planx/worktrees — started now, or left by an earlier
    // run. A phase checked out anywhere else is someone's work in progress: left alone.
    let path = worktree_path(&repo, plan, &phase.id);
    match repo.worktree_of_branch(&branch)? {
        Some(elsewhere) if !same_path(&elsewhere, &path) => {
            return Ok((
                Outcome::NotRun,
                format!(
                    "{branch} is checked out in {}; run works in worktrees of its own: switch that one to another branch, or go on there by hand",
                    elsewhere.display()
                ),
            ));
        }
        Some(_) => {}
        None if repo.branch_tip(&branch)?.is_some() => {
            if path.exists() {
                return Err(LifecycleError::Io(std::io::Error::other(format!(
                    "{} exists but does not hold {branch}; move it away",
                    path.display()
                ))));
            }
            std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
            repo.add_worktree(&path, &branch)?;
        }
        None => {
            std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
            let opts = StartOptions {
                force: shared.opts.force,
                worktree: Some(path.clone()),
                trust: shared.opts.trust,
            };
            lifecycle::start(&repo, plan, shared.plan_path, &phase.id, &opts)?;
        }
    }
    let worktree = path;
    observer.event(&RunEvent::Started {
        phase: phase.id.clone(),
        branch: branch.clone(),
        worktree: worktree.clone(),
    });
    let work = Repo::open(&worktree)?;
    // From here on the phase is under way in its worktree: whatever stops it (an executor
    // that cannot be started, a verify or a checkpoint that errs) is recorded as a failure,
    // so that git says `failed` and the next run leaves it alone unless told to retry.
    match in_worktree(shared, &repo, &work, &worktree, phase, &dir) {
        Err(e) if !matches!(e, LifecycleError::Interrupted { .. }) => {
            let reason = reason_of(e);
            fail(shared, &work, phase, reason, "", None)
        }
        other => other,
    }
}

/// The phase's work in its worktree: the brief, the executor, the checkpoint, verify, merge.
fn in_worktree(
    shared: &Shared<'_>,
    repo: &Repo,
    work: &Repo,
    worktree: &Path,
    phase: &crate::plan::Phase,
    dir: &Path,
) -> Result<(Outcome, String), LifecycleError> {
    let plan = shared.plan;
    let observer = shared.observer;
    let branch = plan.branch(phase);

    // Verified already (a phase that could not be merged last time): straight to the merge.
    if let Some(tip) = work.head_commit()?
        && work.dirty_paths()?.is_empty()
    {
        let base_tip = repo.base_tip(&plan.base)?;
        let fork = match base_tip {
            Some(base) => fork_point(repo, base, tip)?,
            None => None,
        };
        let commits = repo.commits_between(tip, fork.as_slice())?;
        let tree = repo.tree_of(tip)?;
        if find_passing_record(repo, &plan.id, &phase.id, tree, &commits)?.is_some() {
            return merge(shared, repo, work, worktree, phase);
        }
    }

    // The brief, then the executor.
    let brief_path = dir.join("brief.md");
    std::fs::write(&brief_path, (shared.brief)(work, &phase.id)?)?;
    let log = dir.join("executor.log");
    observer.event(&RunEvent::Executing {
        phase: phase.id.clone(),
        command: shared.executor.clone(),
        log: log.clone(),
    });
    let worktree_text = worktree.display().to_string();
    let brief_text = brief_path.display().to_string();
    let env = vec![
        ("PLANX_PLAN".to_owned(), plan.id.clone()),
        ("PLANX_PHASE".to_owned(), phase.id.clone()),
        ("PLANX_BRIEF".to_owned(), brief_text),
        ("PLANX_BRANCH".to_owned(), branch.clone()),
        ("PLANX_WORKTREE".to_owned(), worktree_text),
    ];
    let started = Instant::now();
    let spec = process::Spec {
        shell: &shared.executor,
        cwd: worktree,
        timeout: phase.timeout.unwrap_or(process::NO_TIMEOUT),
        env,
        tail_bytes: process::DEFAULT_TAIL_BYTES,
        log: Some(&log),
    };
    let outcome = if shared.opts.interactive {
        process::run_interactive(&shared.executor, worktree, &spec.env)
    } else {
        process::run(&spec)
    }
    .map_err(|source| LifecycleError::Spawn {
        command: shared.executor.clone(),
        source,
    })?;
    observer.event(&RunEvent::Executed {
        phase: phase.id.clone(),
        outcome: outcome.describe(),
        duration_ms: started.elapsed().as_millis() as u64,
    });
    if let Some(signal) = interrupt::received() {
        // Leave everything as it is for inspection; say so in the notes.
        let event = Event::new(
            &clock::format(clock::now()),
            &plan.id,
            &phase.id,
            "interrupted",
        )
        .with("signal", signal)
        .with(
            "executor",
            CommandRun::new(&shared.executor, &shared.executor, &outcome, false),
        );
        if let Some(head) = work.head_commit()? {
            work.append_note_line(head, &event.to_line())?;
        }
        observer.event(&RunEvent::Interrupted {
            phase: phase.id.clone(),
        });
        return Err(LifecycleError::Interrupted { signal });
    }

    // Nothing the executor did is lost: whatever it left becomes a checkpoint.
    let executor_run = CommandRun::new(
        &shared.executor,
        &shared.executor,
        &outcome,
        outcome.exited_with(0),
    );
    if !work.dirty_paths()?.is_empty() {
        let opts = CheckpointOptions {
            message: Some(format!(
                "planx run: what the executor left in phase {}",
                phase.id
            )),
            stage_all: true,
            no_verify: true,
            trust: shared.opts.trust,
            extra: vec![(
                "executor".into(),
                serde_json::to_value(&executor_run).unwrap_or_default(),
            )],
            ..CheckpointOptions::default()
        };
        let done = lifecycle::checkpoint(work, plan, shared.plan_path, &opts)?;
        observer.event(&RunEvent::Committed {
            phase: phase.id.clone(),
            commit: done.commit.to_string(),
        });
    }
    if !outcome.exited_with(0) {
        let reason = format!("the executor {}", outcome.describe());
        return fail(
            shared,
            work,
            phase,
            reason,
            &outcome.tail,
            Some(&executor_run),
        );
    }

    let head = work
        .head_commit()?
        .ok_or_else(|| LifecycleError::NotStarted {
            phase: phase.id.clone(),
        })?;
    let target = Target {
        work,
        workdir: worktree.to_path_buf(),
        head,
        branch: branch.clone(),
    };
    let report = verify::verify(
        repo,
        plan,
        shared.plan_path,
        &phase.id,
        &target,
        &VerifyOptions {
            no_run: false,
            trust: shared.opts.trust,
        },
    )?;
    verify::record(repo, &report)?;
    let summary = crate::error::verify_summary(&report);
    observer.event(&RunEvent::Verified {
        phase: phase.id.clone(),
        passed: report.passed(),
        summary: summary.clone(),
    });
    if !report.passed() {
        let details = crate::error::verify_problems(&report);
        let reason = format!("verify: {summary}");
        return fail(
            shared,
            work,
            phase,
            reason,
            &details.join("\n"),
            Some(&executor_run),
        );
    }

    merge(shared, repo, work, worktree, phase)
}

/// Merges a verified phase into base, one merge at a time.
fn merge(
    shared: &Shared<'_>,
    repo: &Repo,
    work: &Repo,
    worktree: &Path,
    phase: &crate::plan::Phase,
) -> Result<(Outcome, String), LifecycleError> {
    let plan = shared.plan;
    let observer = shared.observer;
    // One merge into base at a time; finish takes the plan's lock, so another process's finish
    // is waited for.
    let _merging = shared.merge.lock().unwrap_or_else(|p| p.into_inner());
    let main = Repo::open(&shared.workdir)?;
    let finish = FinishOptions {
        squash: false,
        delete_branch: false,
        trust: shared.opts.trust,
    };
    // Another writer's lock is waited for; a race lost to another writer that moved base
    // first is merged again onto the new base, a few times.
    let (mut locked, mut moved) = (0, 0);
    let merged = loop {
        match lifecycle::finish(&main, plan, shared.plan_path, &phase.id, &finish) {
            Err(LifecycleError::Locked { .. }) if locked < 600 => {
                locked += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(LifecycleError::BaseMoved { .. }) if moved < 5 => moved += 1,
            other => break other,
        }
    };
    match merged {
        Ok(done) => {
            observer.event(&RunEvent::Merged {
                phase: phase.id.clone(),
                commit: done.commit.to_string(),
            });
            // Merged and clean: the worktree has served (the branch stays). git removes only a
            // clean one; anything left there stays for a person to look at.
            let _ = repo.remove_clean_worktree(worktree);
            Ok((
                Outcome::Completed,
                format!("merged by {}", &done.commit.to_string()[..10]),
            ))
        }
        Err(
            e @ (LifecycleError::Conflicts { .. }
            | LifecycleError::BaseDirty { .. }
            | LifecycleError::BaseMoved { .. }),
        ) => {
            let error = crate::error::CliError::from(e);
            let reason = format!("verified, but not merged: {}", error.message);
            let opts = CheckpointOptions {
                blocked: Some(format!("{reason}\n{}", error.details.join("\n"))),
                trust: shared.opts.trust,
                no_verify: true,
                ..CheckpointOptions::default()
            };
            lifecycle::checkpoint(work, plan, shared.plan_path, &opts)?;
            observer.event(&RunEvent::Blocked {
                phase: phase.id.clone(),
                reason: reason.clone(),
            });
            Ok((Outcome::Blocked, reason))
        }
        Err(LifecycleError::VerifyFailed { report }) => {
            // Base moved since the phase forked, and the tree that would land fails.
            let details = crate::error::verify_problems(&report);
            fail(
                shared,
                work,
                phase,
                format!("merged with the latest {}, it does not verify", plan.base),
                &details.join("\n"),
                None,
            )
        }
        Err(e) => Err(e),
    }
}

/// Records a `failed` checkpoint with the reason and the output's tail.
fn fail(
    shared: &Shared<'_>,
    work: &Repo,
    phase: &crate::plan::Phase,
    reason: String,
    tail: &str,
    executor: Option<&CommandRun>,
) -> Result<(Outcome, String), LifecycleError> {
    let mut extra = vec![(
        "tail".to_owned(),
        serde_json::Value::String(process::last_lines(tail, 40)),
    )];
    if let Some(run) = executor {
        extra.push((
            "executor".into(),
            serde_json::to_value(run).unwrap_or_default(),
        ));
    }
    let opts = CheckpointOptions {
        failed: Some(reason.clone()),
        trust: shared.opts.trust,
        no_verify: true,
        extra,
        ..CheckpointOptions::default()
    };
    lifecycle::checkpoint(work, shared.plan, shared.plan_path, &opts)?;
    shared.observer.event(&RunEvent::Failed {
        phase: phase.id.clone(),
        reason: reason.clone(),
        tail: process::last_lines(tail, 10),
    });
    Ok((Outcome::Failed, reason))
}

/// An error as a failure's reason: the message with its causes (git's own words among them).
fn reason_of(e: LifecycleError) -> String {
    let error = crate::error::CliError::from(e);
    std::iter::once(error.message)
        .chain(error.causes)
        .chain(
            error
                .details
                .iter()
                .map(|d| d.trim_start_matches("| ").to_owned()),
        )
        .collect::<Vec<_>>()
        .join(": ")
}

/// Do two paths name the same folder?
fn same_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canon(a) == canon(b)
}
