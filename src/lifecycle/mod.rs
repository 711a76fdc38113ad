//! Moving a phase through its life in git: `start` (branch, start checkpoint, baseline),
//! `checkpoint` (a commit with trailers and a note of evidence), `accept` (evidence for a
//! manual check), `finish` (verify and merge into base) and `resume` (where to pick up). These
//! functions decide and write; they return values that the command line renders, and errors
//! that say why not.
//!
//! This module holds only what those commands share: [`LifecycleError`], and its conversions
//! from the errors of the layers below (the judging plan, trust, processes, locks, verify).
//! What a command needs that is not a lifecycle concept lives with its owner: the judging plan
//! and evidence reads in [`crate::state`], commands in [`crate::process`], trust in
//! [`crate::trust`], locks in [`crate::lock`], scratch worktrees in [`crate::git`].

mod accept;
mod adopt;
mod checkpoint;
mod finish;
mod reset;
mod resume;
mod start;

use std::path::PathBuf;

use thiserror::Error;

pub use accept::{AcceptOutcome, accept};
pub use adopt::{AdoptOutcome, Census, Signed, adopt, census};
pub use checkpoint::{CheckpointOptions, CheckpointOutcome, Tdd, checkpoint};
pub use finish::{FinishOptions, FinishOutcome, Publish, finish, finish_with};
pub use reset::{BACKUP_PREFIX, ResetOutcome, reset};
pub use resume::{Choice, ResumeOutcome, resume};
pub use start::{StartOptions, StartOutcome, start};

use crate::git::cli::DirtyPath;
use crate::git::{GitError, InProgress, Oid};
use crate::lock::LockError;
use crate::process::CommandError;
use crate::state::State;
use crate::state::events::CommandRun;
use crate::state::judging::{JudgingError, UnknownPhase};
use crate::trust::TrustError;
use crate::verify::VerifyError;

/// Why a lifecycle operation did not happen.
#[derive(Debug, Error)]
pub enum LifecycleError {
    /// The phase cannot be judged: an unknown phase, no base, no fork point, no usable plan.
    #[error(transparent)]
    Judging(#[from] JudgingError),
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
    #[error(transparent)]
    Trust(#[from] TrustError),
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
    #[error("the checkpoint's message or reason holds a carriage return that ends no line")]
    CarriageReturn,
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
    #[error("phase `{phase}` is {}, not failed or blocked", state.as_str())]
    NotResettable { phase: String, state: State },
    #[error("{} has uncommitted work on phase `{phase}`'s branch", worktree.display())]
    ResetDirty {
        phase: String,
        worktree: PathBuf,
        paths: Vec<DirtyPath>,
    },
    #[error("`{branch}` moved while it was being reset")]
    BranchMoved { branch: String },
    #[error("`{base}` moved while the phase was being merged")]
    BaseMoved { base: String },
    /// The merge could not be published where the caller publishes it (`run --remote`: the
    /// remote's base), in the caller's words.
    #[error("the merge of `{phase}` could not be published: {why}")]
    NotPublished { phase: String, why: String },
    #[error("phase `{phase}` has no check `{check}`")]
    UnknownCheck {
        phase: String,
        check: String,
        known: Vec<String>,
    },
    #[error("check `{check}` of phase `{phase}` is not a manual check")]
    NotManual { phase: String, check: String },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    /// The checkpoint's commit was made; its note was not.
    #[error("checkpoint {} was committed, but its note could not be written", &commit.to_string()[..10])]
    CheckpointUnrecorded { commit: Oid, source: GitError },
    /// A value planx writes as a trailer of its commit message that cannot be one: the plan's
    /// ids are validated, so a bug.
    #[error(transparent)]
    Trailer(#[from] crate::git::trailers::TrailerError),
    #[error("cannot use planx's local state")]
    Io(#[from] std::io::Error),
}

// The errors of the lower layers' operations, as the lifecycle commands report them. A command
// or a lock is flattened into this error's own variants, which `run` matches on.

impl From<UnknownPhase> for LifecycleError {
    fn from(e: UnknownPhase) -> Self {
        LifecycleError::Judging(e.into())
    }
}

impl From<VerifyError> for LifecycleError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Judging(e) => LifecycleError::Judging(e),
            VerifyError::Trust(e) => LifecycleError::Trust(e),
            VerifyError::Command(e) => e.into(),
            VerifyError::Git(e) => LifecycleError::Git(e),
        }
    }
}

impl From<CommandError> for LifecycleError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Spawn { command, source } => LifecycleError::Spawn { command, source },
            CommandError::Interrupted { signal } => LifecycleError::Interrupted { signal },
        }
    }
}

impl From<LockError> for LifecycleError {
    fn from(e: LockError) -> Self {
        match e {
            LockError::Held { what, phase, pid } => LifecycleError::Locked { what, phase, pid },
            LockError::Io(e) => LifecycleError::Io(e),
        }
    }
}
