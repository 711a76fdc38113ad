//! Why a run could not go on: [`RunError`], the errors `run` itself raises, each with its
//! context, and the ones of the layers below it carried whole. `src/error.rs` alone turns them
//! into messages, hints and exit codes; here they are only values.

use thiserror::Error;

use crate::claim::ClaimError;
use crate::git::GitError;
use crate::lifecycle::LifecycleError;
use crate::remote::RemoteError;

#[derive(Debug, Error)]
pub enum RunError {
    /// The plan's status is not `ready` and `--force` was not given.
    #[error("the plan is {status}, not ready")]
    PlanNotReady { status: String },
    #[error("no executor to run the phases with")]
    NoExecutor,
    #[error("the plan has a dependency cycle")]
    Cycle,
    /// The folder run would open a phase's worktree in holds something else.
    #[error("{} exists but does not hold {branch}; move it away", path.display())]
    WorktreeInTheWay {
        path: std::path::PathBuf,
        branch: String,
    },
    /// The executor of an earlier run of the phase still runs (it holds the executor's lock).
    #[error("the executor of an earlier run of phase `{phase}` still runs in its worktree{}", group.map(|g| format!(" (process group {g})")).unwrap_or_default())]
    ExecutorLives {
        phase: String,
        group: Option<u32>,
        lock: std::path::PathBuf,
    },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The phase's worktree has no commit to verify.
    #[error("phase `{phase}` has not been started")]
    NotStarted { phase: String },
    /// A signal stopped the run while the phase's executor ran.
    #[error("interrupted by signal {signal}")]
    Interrupted { signal: i32 },
    /// A bug: git-planx itself failed (a panic caught on a phase's thread).
    #[error("git-planx failed: {what}")]
    Internal { what: String },
    /// `run --remote`: the remote has no base branch to run the plan against.
    #[error("`{remote}` has no branch `{base}`")]
    RemoteHasNoBase { remote: String, base: String },
    /// `run --remote`: base here has commits the remote's base lacks.
    #[error("{base} has commits that `{remote}`'s {base} does not")]
    BaseAhead { remote: String, base: String },
    /// `run --remote`: a ref on the remote kept changing under every attempt to push it.
    #[error("`{remote}`'s {what} kept changing under every attempt to push it")]
    RemoteKeptMoving { remote: String, what: String },
    /// `run --remote`: the phase branch on the remote was moved by someone else.
    #[error("`{remote}` refused {branch}: {reason}")]
    BranchMovedOnRemote {
        remote: String,
        branch: String,
        reason: String,
    },
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot use planx's local state")]
    Io(#[from] std::io::Error),
}

impl RunError {
    /// A signal stopped the work, here or in the lifecycle command run called.
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self,
            RunError::Interrupted { .. } | RunError::Lifecycle(LifecycleError::Interrupted { .. })
        )
    }
}

impl From<crate::trust::TrustError> for RunError {
    fn from(error: crate::trust::TrustError) -> RunError {
        RunError::Lifecycle(LifecycleError::from(error))
    }
}
