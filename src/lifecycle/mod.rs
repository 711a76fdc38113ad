//! Moving a phase through its life in git: `start` (branch, start checkpoint, baseline) and
//! `checkpoint` (a commit with trailers and a note of evidence). These functions decide and
//! write; they return values that the command line renders, and errors that say why not.

mod accept;
mod checkpoint;
mod finish;
mod resume;
mod start;

use std::borrow::Cow;
use std::path::PathBuf;

use thiserror::Error;

pub use accept::{AcceptOutcome, accept};
pub use checkpoint::{CheckpointOptions, CheckpointOutcome, Tdd, checkpoint};
pub use finish::{FinishOptions, FinishOutcome, finish};
pub use resume::{Choice, ResumeOutcome, resume};
pub use start::{StartOptions, StartOutcome, start};

use crate::git::cli::DirtyPath;
use crate::git::{GitError, InProgress, Oid, Repo};
use crate::plan::{self, CommandRef, Plan, PlanError};
use crate::process;
use crate::state::State;
use crate::state::events::CommandRun;
use crate::trust::{self, Untrusted};

/// How trust is granted for this run (SPEC §7).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustPolicy {
    /// `--trust-once`.
    pub once: bool,
    /// `PLANX_TRUST=1`.
    pub environment: bool,
}

/// Why a lifecycle operation did not happen.
#[derive(Debug, Error)]
pub enum LifecycleError {
    #[error("the plan has no phase `{id}`")]
    UnknownPhase { id: String, known: Vec<String> },
    #[error("the plan is {status}, not ready")]
    PlanNotReady { status: String },
    #[error("phase `{phase}` is already complete")]
    AlreadyComplete { phase: String, by: Oid },
    #[error("phase `{phase}` depends on phases that are not complete")]
    DependenciesIncomplete {
        phase: String,
        missing: Vec<(String, State)>,
    },
    #[error("{} is in progress in this work tree", what.describe().0)]
    OperationInProgress { what: InProgress },
    #[error("the work tree has uncommitted changes")]
    Dirty { paths: Vec<DirtyPath> },
    #[error("the plan's commands are not trusted on this machine")]
    Untrusted(Untrusted),
    #[error("cannot use the trust store")]
    TrustStore(Option<std::io::Error>),
    #[error("preflight failed")]
    PreflightFailed { runs: Vec<CommandRun> },
    #[error("another `git planx {what}` of phase `{phase}` is running")]
    Locked {
        what: &'static str,
        phase: String,
        pid: Option<u32>,
    },
    #[error("another `git planx start` created branch `{branch}` first")]
    LostRace { branch: String },
    #[error("phase `{phase}` started, but switching to `{branch}` failed")]
    Switch {
        phase: String,
        branch: String,
        #[source]
        source: GitError,
    },
    #[error("{}", match branch { Some(b) => format!("`{b}` is not a phase branch of plan `{plan}`"), None => "HEAD is detached, not on a phase branch".to_owned() })]
    NotOnPhaseBranch {
        branch: Option<String>,
        plan: String,
    },
    #[error("phase `{phase}` is {}, not in progress", state.as_str())]
    NotResumable { phase: String, state: State },
    #[error("the work tree has changes this checkpoint would not commit")]
    UncommittedEvidence { paths: Vec<DirtyPath> },
    #[error("`{branch}` has commits but no start checkpoint: planx did not start it")]
    ForeignBranch { branch: String },
    #[error("phase `{phase}` has not been started")]
    NotStarted { phase: String },
    #[error("phase `{phase}` has no step `{step}`")]
    UnknownStep {
        phase: String,
        step: String,
        known: Vec<String>,
    },
    #[error("phase `{phase}` has no `blast_radius` to run for --{what}")]
    NoBlastRadius { phase: String, what: &'static str },
    #[error("the blast radius passes, so this is not a red checkpoint")]
    RedButPassing { run: CommandRun },
    #[error("the blast radius fails, so this is not a green checkpoint")]
    GreenButFailing { run: CommandRun },
    #[error("interrupted by signal {signal}")]
    Interrupted { signal: i32 },
    #[error("the checkpoint's message or reason carries a Planx-* line")]
    ForgedTrailer,
    #[error("`{branch}` and base have no common history{}", if *shallow { " in this shallow clone" } else { "" })]
    NoForkPoint { branch: String, shallow: bool },
    #[error("the plan file did not exist on base at the fork point of `{branch}`")]
    NoPlanAtFork { branch: String },
    #[error("verification of phase `{}` failed", report.phase)]
    VerifyFailed { report: Box<crate::verify::Report> },
    #[error("merging `{branch}` into `{base}` conflicts")]
    Conflicts {
        branch: String,
        base: String,
        paths: Vec<String>,
    },
    #[error("`{base}` is checked out in {} with uncommitted changes", worktree.display())]
    BaseDirty {
        base: String,
        worktree: PathBuf,
        paths: Vec<DirtyPath>,
    },
    #[error("`{branch}` has uncommitted changes here, which the merge would leave out")]
    PhaseDirty {
        branch: String,
        paths: Vec<DirtyPath>,
    },
    #[error("`{base}` moved while the phase was being merged")]
    BaseMoved { base: String },
    #[error("phase `{phase}` has no check `{check}`")]
    UnknownCheck {
        phase: String,
        check: String,
        known: Vec<String>,
    },
    #[error("check `{check}` of phase `{phase}` is not a manual check")]
    NotManual { phase: String, check: String },
    #[error("no executor to run the phases with")]
    NoExecutor,
    #[error("the base branch `{base}` does not exist")]
    NoBase { base: String },
    #[error("the plan at the fork point of `{branch}` cannot be used")]
    JudgingPlan {
        branch: String,
        #[source]
        source: PlanError,
    },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    /// A value planx writes as a trailer of its commit message that cannot be one.
    #[error(transparent)]
    Trailer(#[from] crate::git::trailers::TrailerError),
    #[error("cannot use planx's local state")]
    Io(#[from] std::io::Error),
    /// A bug: git-planx itself failed (a panic caught where work runs on its own thread).
    #[error("git-planx failed: {what}")]
    Internal { what: String },
}

/// The phase `id` of `plan`, or the error that names the plan's phases.
pub fn find_phase<'p>(plan: &'p Plan, id: &str) -> Result<&'p plan::Phase, LifecycleError> {
    plan.phase(id).ok_or_else(|| LifecycleError::UnknownPhase {
        id: id.to_owned(),
        known: plan.phases.iter().map(|p| p.id.clone()).collect(),
    })
}

/// Takes the local lock `name` for `what` of `phase`, or says who holds it.
pub(crate) fn take_lock(
    repo: &Repo,
    name: &str,
    what: &'static str,
    phase: &str,
) -> Result<crate::lock::Lock, LifecycleError> {
    match crate::lock::Lock::acquire(&repo.state_dir().join("locks"), name)? {
        Ok(lock) => Ok(lock),
        Err(held) => Err(LifecycleError::Locked {
            what,
            phase: phase.to_owned(),
            pid: held.pid,
        }),
    }
}

/// Checks that the plan's commands may run here: `--trust-once`, `PLANX_TRUST=1`, or the
/// command set recorded by `git planx trust` for this repository.
pub fn require_trust(repo: &Repo, plan: &Plan, policy: TrustPolicy) -> Result<(), LifecycleError> {
    if policy.once || policy.environment {
        return Ok(());
    }
    let store = trust::Store::for_user().ok_or(LifecycleError::TrustStore(None))?;
    let commands = trust::plan_commands(plan);
    store
        .check(&trust::repo_key(repo.common_dir()), &commands)
        .map_err(LifecycleError::Untrusted)
}

/// Runs one of the plan's commands (trust already checked) in `cwd`.
pub(crate) fn run_command(
    command: &CommandRef,
    cwd: &std::path::Path,
    timeout: std::time::Duration,
    env: &[(&str, &str)],
) -> Result<process::Outcome, LifecycleError> {
    let spec = process::Spec {
        shell: &command.shell,
        cwd,
        timeout,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        tail_bytes: process::DEFAULT_TAIL_BYTES,
        log: None,
    };
    tracing::debug!(command = %command.shell, cwd = %cwd.display(), "running");
    let outcome = process::run(&spec).map_err(|source| LifecycleError::Spawn {
        command: command.text.clone(),
        source,
    })?;
    match crate::interrupt::received() {
        Some(signal) => Err(LifecycleError::Interrupted { signal }),
        None => Ok(outcome),
    }
}

/// The plan as committed in `commit`, validated.
pub fn plan_at(
    repo: &Repo,
    commit: Oid,
    plan_path: &str,
    label: &str,
) -> Result<Option<Plan>, PlanError> {
    let unreadable = |e: crate::git::GitError| PlanError::Unreadable {
        path: format!("{label}:{plan_path}"),
        source: std::io::Error::other(e.to_string()),
    };
    let Some(blob) = repo.entry_at(commit, plan_path).map_err(unreadable)? else {
        return Ok(None);
    };
    // The plan's blob id is the key of a validated copy: a plan validated once (60 ms for a
    // thousand phases) is read back in a few.
    crate::cache::valid_plan(repo, blob, || {
        let Some(bytes) = repo.file_at(commit, plan_path).map_err(unreadable)? else {
            return Ok(None);
        };
        plan::load_valid(&format!("{label}:{plan_path}"), bytes).map(Some)
    })
}

/// The plan committed on base at `fork`, the fork point of a phase: the plan that judges it
/// (SPEC §4). `plan` itself, borrowed, when the fork point holds the same blob (no copy of a
/// large plan); `None` when the plan file did not exist there.
pub fn plan_at_fork<'p>(
    repo: &Repo,
    plan: &'p Plan,
    fork: Oid,
    plan_path: &str,
) -> Result<Option<Cow<'p, Plan>>, PlanError> {
    let at_fork = repo
        .entry_at(fork, plan_path)
        .map_err(|e| PlanError::Unreadable {
            path: format!("{}:{plan_path}", plan.base),
            source: std::io::Error::other(e.to_string()),
        })?;
    let Some(at_fork) = at_fork else {
        return Ok(None);
    };
    if plan.blob.as_deref() == Some(at_fork.to_string().as_str()) {
        return Ok(Some(Cow::Borrowed(plan)));
    }
    Ok(plan_at(repo, fork, plan_path, &plan.base)?.map(Cow::Owned))
}

/// The plan that judges a phase forked at `fork`: [`plan_at_fork`], or `plan` itself when the
/// plan file did not exist at the fork point.
pub fn judging_plan<'p>(
    repo: &Repo,
    plan: &'p Plan,
    fork: Oid,
    plan_path: &str,
) -> Result<Cow<'p, Plan>, PlanError> {
    Ok(plan_at_fork(repo, plan, fork, plan_path)?.unwrap_or(Cow::Borrowed(plan)))
}

/// The phase id of a branch, when it is one of the plan's phase branches.
pub fn phase_of_branch<'p>(plan: &'p Plan, branch: &str) -> Option<&'p plan::Phase> {
    let id = branch.strip_prefix(&plan.branch_prefix)?;
    plan.phase(id)
}

/// A temporary folder path under planx's state folder, named after this process; scratch
/// worktrees left by processes that are gone (killed) are removed first.
pub(crate) fn scratch_path(repo: &Repo, name: &str) -> PathBuf {
    let dir = repo.state_dir().join("tmp");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let pid = file_name
                .to_string_lossy()
                .rsplit('-')
                .next()
                .and_then(|p| p.parse::<i32>().ok());
            // SAFETY: kill(2) with signal 0 only asks whether the process exists.
            let gone = pid.is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH));
            if gone {
                let _ = repo.remove_worktree(&entry.path());
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    dir.join(format!("{}-{}", name.replace('/', "-"), std::process::id()))
}
