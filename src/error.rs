//! The one place where errors become what a person sees — a message, its causes and hints —
//! and an exit code (SPEC §3):
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | ok |
//! | 1 | the answer is "no": verification failed, `check` found errors, a hook refused |
//! | 2 | usage or invalid input: bad arguments, a bad or missing plan, an unknown phase, not a repository |
//! | 3 | the repository's state refuses the operation: dirty work tree, conflict, lock held, lost race |
//! | 4 | the plan's commands are not trusted on this machine |
//!
//! Domain modules return their own error enums; `From` impls here turn them into a
//! [`CliError`] with a kind, and the kind alone decides the exit code.

use std::io;

use crate::git::GitError;
use crate::plan::{Diagnostic, PlanError};

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The answer is "no" (exit 1).
    No,
    /// Usage or invalid input (exit 2).
    Usage,
    /// The repository's state refuses the operation (exit 3).
    RepoState,
    /// The plan's commands are not trusted here (exit 4).
    Untrusted,
    /// The reader of our output went away (`| head`): not an error, exit 0 quietly.
    BrokenPipe,
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::BrokenPipe => 0,
            ErrorKind::No => 1,
            ErrorKind::Usage => 2,
            ErrorKind::RepoState => 3,
            ErrorKind::Untrusted => 4,
        }
    }

    /// The name used in `--json` error documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::No => "no",
            ErrorKind::Usage => "usage",
            ErrorKind::RepoState => "repository-state",
            ErrorKind::Untrusted => "untrusted",
            ErrorKind::BrokenPipe => "broken-pipe",
        }
    }
}

/// An error on its way to the user.
#[derive(Debug)]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
    /// Underlying reasons, outermost first (e.g. the OS or libgit2 message).
    pub causes: Vec<String>,
    /// What to do next.
    pub hints: Vec<String>,
    /// Plan problems behind the error, shown in full.
    pub diagnostics: Vec<Diagnostic>,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Usage, message)
    }

    pub fn repo_state(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::RepoState, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hints.push(hint.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    fn with_sources(mut self, error: &dyn std::error::Error) -> CliError {
        let mut source = error.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !self.causes.contains(&text) {
                self.causes.push(text);
            }
            source = s.source();
        }
        self
    }
}

impl From<PlanError> for CliError {
    fn from(error: PlanError) -> CliError {
        let base = CliError::usage(error.to_string()).with_sources(&error);
        match error {
            PlanError::NotFound { .. } => {
                base.hint("create one with `git planx init`, or name another file with --plan PATH")
            }
            PlanError::IsDirectory { .. } => {
                base.hint("pass the plan file itself with --plan PATH")
            }
            PlanError::TooLarge { .. } => {
                base.hint("a plan holds prose and lists; keep large data in files the plan names")
            }
            PlanError::Unreadable { .. } => base.hint("check the file's permissions"),
            PlanError::Invalid { diagnostics, .. } => CliError {
                diagnostics,
                ..base.hint("fix the errors above; `git planx check` lists every problem")
            },
        }
    }
}

impl From<GitError> for CliError {
    fn from(error: GitError) -> CliError {
        match &error {
            GitError::NotARepository { .. } => CliError::usage(error.to_string())
                .hint("run git planx inside a git repository, or create one with `git init`"),
            GitError::Bare { .. } => CliError::repo_state(error.to_string())
                .hint("run it in a clone or a linked worktree (`git worktree add`)"),
            GitError::Git { .. } => CliError::repo_state(error.to_string()).with_sources(&error),
        }
    }
}

impl From<io::Error> for CliError {
    fn from(error: io::Error) -> CliError {
        if error.kind() == io::ErrorKind::BrokenPipe {
            return CliError::new(ErrorKind::BrokenPipe, "broken pipe");
        }
        CliError::repo_state(format!("input/output error: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(ErrorKind::No.exit_code(), 1);
        assert_eq!(ErrorKind::Usage.exit_code(), 2);
        assert_eq!(ErrorKind::RepoState.exit_code(), 3);
        assert_eq!(ErrorKind::Untrusted.exit_code(), 4);
        assert_eq!(ErrorKind::BrokenPipe.exit_code(), 0);
    }

    #[test]
    fn a_closed_pipe_is_not_an_error() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind, ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_missing_plan_is_a_usage_error_with_a_hint() {
        let e = CliError::from(PlanError::NotFound {
            path: "p.toml".into(),
        });
        assert_eq!(e.exit_code(), 2);
        assert!(e.hints[0].contains("git planx init"));
    }
}
