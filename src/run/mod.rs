//! `run`: the plan executor of the seeds, with git as the record (SPEC §6). Ready phases —
//! dependencies complete, no running phase whose manifest could touch the same path — run up
//! to `jobs` at once, each in its own linked worktree on its phase branch. For each phase: the
//! brief is written to a file, the executor runs with the phase's timeout, whatever it left
//! uncommitted becomes a checkpoint (nothing is lost), verify judges the result, and a pass is
//! merged into base — one merge at a time. A failure, a timeout or an executor error records a
//! `failed` checkpoint with the reason and the output's tail, and the phases that depend on it
//! are skipped.
//!
//! An executor runs under a supervisor ([`crate::process::supervise`]) that ends its process
//! group when planx ends, however it ends, and holds the phase's executor lock for as long as
//! any of its processes lives: a run does not take over a worktree while that lock is held.
//!
//! Interrupting (Ctrl-C) stops the executors' process groups, records `interrupted`, and leaves
//! the worktrees for inspection; running again continues where it stopped: complete phases are
//! never redone, and failed ones are retried only when asked.
//!
//! The module is three parts, so that each can be read (and tested) alone:
//!
//! - [`scheduler`]: the decisions — which phases start, which are skipped, when the run ends —
//!   as a pure state machine with unit tests;
//! - `pipeline`: what happens to one phase, from its worktree to its merge;
//! - `watch`: the refs an executor may not change, looked at when it starts and when it ends,
//!   planx's own writes meanwhile told apart by the process's ledger ([`crate::git::ledger`]);
//! - `drive` and [`events`]: the threads and the channel that carry out the scheduler's
//!   decisions, and what the run tells its caller on the way.
//!
//! This file holds what they share: the options, where a phase's files live, and the entry
//! points [`run`] and [`schedule`]. `run` sits below `cli` and `error`: it returns values
//! ([`Summary`], [`Schedule`], [`RunError`]), and the words it must record in git it asks of
//! the caller ([`Render`]).

mod drive;
mod error;
pub mod events;
mod pipeline;
pub mod remote;
pub mod scheduler;
mod watch;

use std::path::PathBuf;
use std::sync::Mutex;

pub use error::RunError;
pub use events::{Observer, Outcome, RunEvent, Schedule, Summary};
pub use watch::Touch;

use crate::git::Repo;
use crate::interrupt;
use crate::lifecycle::LifecycleError;
use crate::plan::Plan;
use crate::plan::graph::Graph;
use crate::state;
use crate::state::judging::{Subject, find_phase};
use crate::trust::{TrustPolicy, require_trust};
use crate::verify::Report;
use scheduler::{Phases, Rules, Scheduler, Why};

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
    /// Several machines run the plan against this remote: each phase is claimed there before
    /// it starts, and its branch, notes and merge are pushed there.
    pub remote: Option<String>,
}

/// The words a run writes into git and passes on in its events that only its caller can say:
/// `run` decides what happened, the caller says it.
pub trait Render: Sync {
    /// The phase's execution plan (markdown) for the executor, from its worktree.
    fn brief(&self, work: &Repo, phase: &str) -> Result<String, LifecycleError>;
    /// An error as a person reads it.
    fn error(&self, error: RunError) -> Explained;
    /// A verify report in a line.
    fn verify_summary(&self, report: &Report) -> String;
    /// What a verify report found wrong, a line each.
    fn verify_problems(&self, report: &Report) -> Vec<String>;
    /// Why the scheduler skipped a phase or did not start it.
    fn why(&self, why: &Why) -> String;
    /// What was touched while an executor ran that it may not change, as the reason its phase
    /// failed (the message) and what the user may do about each ref (the details).
    fn touched(&self, touched: &[Touch]) -> Explained;
}

/// An error in words: what happened, its underlying causes, the lines that make it concrete.
#[derive(Debug, Clone, Default)]
pub struct Explained {
    pub message: String,
    pub causes: Vec<String>,
    pub details: Vec<String>,
}

/// The lock, in a phase's folder ([`phase_dir`]), that a run and the processes of its
/// executor hold while the executor may still run.
pub(crate) const EXECUTOR_LOCK: &str = "executor";

/// Where a phase's worktree, brief and logs live: under `$GIT_COMMON_DIR/planx/run/`.
pub fn phase_dir(repo: &Repo, plan: &Plan, phase: &str) -> PathBuf {
    repo.state_dir()
        .join("run")
        .join(&plan.id)
        .join(phase.replace('/', "%2F"))
}

/// The time a phase's executor gets: its `timeout`, else [`plan::DEFAULT_PHASE_TIMEOUT`].
pub fn phase_timeout(phase: &crate::plan::Phase) -> std::time::Duration {
    phase.timeout.unwrap_or(crate::plan::DEFAULT_PHASE_TIMEOUT)
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

/// The plan as the scheduler sees it: the phase graph, the selection, and each phase's state in
/// git. `run` and `--dry-run` start from it.
fn phases(subject: Subject<'_>, opts: &RunOptions) -> Result<Phases, RunError> {
    let plan = subject.plan;
    let graph = Graph::build(plan).map_err(|_| RunError::Cycle)?;
    let selected = selection(plan, &graph, &opts.phases)?;
    let statuses = state::derive(subject, state::Notes::Open)?;
    Ok(Phases {
        overlaps: graph.conflicts.iter().map(|c| (c.a, c.b)).collect(),
        depends: graph.depends,
        states: statuses.iter().map(|s| s.state).collect(),
        selected,
    })
}

fn rules(opts: &RunOptions) -> Rules {
    Rules {
        jobs: opts.jobs,
        keep_going: opts.keep_going,
        retry_failed: opts.retry_failed,
    }
}

/// What `run --dry-run` prints: the waves, assuming every phase succeeds.
pub fn schedule(subject: Subject<'_>, opts: &RunOptions) -> Result<Schedule, RunError> {
    let plan = subject.plan;
    let waves = scheduler::waves(&phases(subject, opts)?, &rules(opts));
    let ids = |phases: Vec<usize>| -> Vec<String> {
        phases
            .into_iter()
            .map(|i| plan.phases[i].id.clone())
            .collect()
    };
    Ok(Schedule {
        waves: waves.waves.into_iter().map(ids).collect(),
        complete: ids(waves.complete),
        left_out: waves
            .left_out
            .iter()
            .map(|(i, why)| (plan.phases[*i].id.clone(), why.clone()))
            .collect(),
    })
}

/// Runs the plan: the phases the scheduler starts, each through its pipeline on a thread of
/// its own, reporting to `observer`.
pub fn run(
    subject: Subject<'_>,
    opts: &RunOptions,
    render: &dyn Render,
    observer: &dyn Observer,
) -> Result<Summary, RunError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    let team = match &opts.remote {
        Some(name) => {
            let remote = crate::claim::resolve(repo, Some(name))?;
            remote::fetch(repo, &remote, plan)?;
            remote::bring_in(repo, &remote, plan)?;
            Some(remote)
        }
        None => None,
    };
    let phases = phases(subject, opts)?;
    if plan.status != crate::plan::PlanStatus::Ready && !opts.force {
        return Err(RunError::PlanNotReady {
            status: plan.status.as_str().to_owned(),
        });
    }
    let executor = match (&opts.executor, &plan.run.executor) {
        (Some(cmd), _) => cmd.clone(),
        (None, Some(cmd)) => cmd.shell.clone(),
        (None, None) => return Err(RunError::NoExecutor),
    };
    // Trust is settled before anything runs: the plan's commands (preflight, checks, and its
    // executor when that is the one used) run in every phase.
    if !crate::trust::plan_commands(plan).is_empty() {
        require_trust(repo, plan, opts.trust).map_err(LifecycleError::from)?;
    }
    // A phase whose executor of an earlier run lives on (its planx killed, the executor
    // escaped the supervisor's stop) is not taken over: the run refuses before anything starts.
    // A merged phase never runs again: what may still run in its old worktree (a build server
    // its executor left) is no business of this run.
    for &i in &phases.selected {
        if !matches!(
            phases.states[i],
            state::State::Complete | state::State::Unverified
        ) {
            refuse_a_living_executor(repo, plan, &plan.phases[i].id)?;
        }
    }
    let supervisor = crate::process::this_program()?;
    // The notes settings every start makes sure of, made once before the phases start at once.
    repo.configure_notes()?;
    let _deferred = interrupt::defer();
    // planx's own writes to refs are written down, so that the watch over each executor
    // tells them from anyone else's.
    let _ledger = crate::git::ledger::keep();
    let shared = pipeline::Shared {
        workdir: repo.require_workdir()?.to_path_buf(),
        plan,
        plan_path,
        opts,
        executor,
        supervisor,
        render,
        observer,
        merge: Mutex::new(()),
        windows: Mutex::default(),
        claims: Mutex::new(()),
        remote: team.clone(),
        renew_every: match &opts.remote {
            Some(_) => Some(remote::renew_every(crate::claim::stale_after(repo)?)),
            None => None,
        },
    };
    let ended = drive::drive(&shared, Scheduler::new(phases, rules(opts)));
    // What the other machines did meanwhile, brought in: this repository's status shows the
    // team's.
    if let Some(remote) = &team
        && interrupt::received().is_none()
    {
        remote::fetch(repo, remote, plan)?;
        remote::bring_in(repo, remote, plan)?;
    }
    Ok(Summary {
        outcomes: ended
            .into_iter()
            .map(|(i, outcome, why)| (plan.phases[i].id.clone(), outcome, why))
            .collect(),
        interrupted: interrupt::received(),
    })
}

/// Fails when the executor of an earlier run of `phase` still holds its lock while no run holds
/// the phase (a run that does is another `run` at work: its phase is left to it, in the
/// pipeline).
fn refuse_a_living_executor(repo: &Repo, plan: &Plan, phase: &str) -> Result<(), RunError> {
    use crate::lock::Lock;
    let locks = repo.locks_dir();
    let run_lock = format!("run-{}-{}", plan.id, phase);
    let Ok(_run) = Lock::acquire(&locks, &run_lock)? else {
        return Ok(());
    };
    let dir = phase_dir(repo, plan, phase);
    if !dir.exists() {
        return Ok(());
    }
    match Lock::acquire(&dir, EXECUTOR_LOCK)? {
        Ok(_) => Ok(()),
        Err(held) => Err(RunError::ExecutorLives {
            phase: phase.to_owned(),
            group: held.pid,
            lock: dir.join(format!("{EXECUTOR_LOCK}.lock")),
        }),
    }
}
