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
//! | 70 | a bug in git-planx itself (`EX_SOFTWARE` of sysexits.h), never the repository's fault |
//!
//! Domain modules return their own error enums, each carrying its context and importing
//! neither this module nor `cli`: `PlanError`, `GitError`, `LockError`, `CommandError` (one of
//! the plan's commands), `TrustError`, `JudgingError` and `UnknownPhase` (the plan that judges a
//! phase), `VerifyError`, `LifecycleError` (what the lifecycle commands refuse, wrapping the
//! errors below it), `HookError`, `ReportError`, `ForgeError`. One `From` impl each turns them
//! into a [`CliError`] with a kind and hints — an error that wraps another says it the way
//! the other's impl does — and the kind alone decides the exit code. A new domain error gets
//! its own impl here. A command that answers
//! "no" after showing its answer (a failed `verify`, an invalid plan for `check`) says so with
//! [`answer`]: the "no" is an error of kind [`ErrorKind::No`] marked as already reported, so
//! its exit code is decided here too and nothing is printed twice.
//!
//! The words for a verification's outcome ([`verify_summary`], [`verify_problems`]) live here
//! too: they are the details of a failed verification, and the command line and `run` (which
//! records them as a phase's failure) say them the same way.

use std::io;

use crate::agents::AgentsError;
use crate::claim::ClaimError;
use crate::git::GitError;
use crate::hooks::decide::HookError;
use crate::lifecycle::LifecycleError;
use crate::lock::LockError;
use crate::plan::{Diagnostic, PlanError};
use crate::process::CommandError;
use crate::remote::RemoteError;
use crate::report::ReportError;
use crate::report::forge::ForgeError;
use crate::run::RunError;
use crate::state::judging::{JudgingError, UnknownPhase};
use crate::trust::{self, TrustError};
use crate::verify::{Report, VerifyError};

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
    /// A bug in git-planx (exit 70, `EX_SOFTWARE`): not the user's input nor the repository.
    Internal,
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
            ErrorKind::Internal => 70,
        }
    }

    /// The name used in `--json` error documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::No => "no",
            ErrorKind::Usage => "usage",
            ErrorKind::RepoState => "repository-state",
            ErrorKind::Untrusted => "untrusted",
            ErrorKind::Internal => "internal",
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
    /// Lines that make the message concrete: the paths, commands or phases concerned.
    pub details: Vec<String>,
    /// What to do next.
    pub hints: Vec<String>,
    /// Plan problems behind the error, shown in full.
    pub diagnostics: Vec<Diagnostic>,
    /// The command has already shown everything there is to say (a "no" answer): print
    /// nothing more, only exit with the kind's code.
    pub reported: bool,
}

/// A command's answer, shown already: `Ok` for "yes", and for "no" an error of kind
/// [`ErrorKind::No`] (exit 1) that prints nothing more.
pub fn answer(yes: bool) -> Result<(), CliError> {
    if yes {
        Ok(())
    } else {
        Err(CliError {
            reported: true,
            ..CliError::new(ErrorKind::No, "the answer is no")
        })
    }
}

/// The agent stop gate held the agent back, its reason shown already: exit 2, which Claude
/// Code reads as "go on, with the reason on stderr" (every other code lets the agent stop).
pub fn agent_block() -> CliError {
    CliError {
        reported: true,
        ..CliError::new(ErrorKind::Usage, "the stop gate held the agent back")
    }
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
            causes: Vec::new(),
            details: Vec::new(),
            hints: Vec::new(),
            diagnostics: Vec::new(),
            reported: false,
        }
    }

    /// A bug in git-planx: says so, and how to report it.
    pub fn internal(what: impl std::fmt::Display) -> CliError {
        CliError::new(ErrorKind::Internal, format!("git-planx failed: {what}"))
            .hint("this is a bug in git-planx, not a problem with your plan or repository")
            .hint(format!(
                "please report it on git-planx's issue tracker with the command you ran, this output (run again with -v for more) and the version, git-planx {}",
                env!("CARGO_PKG_VERSION")
            ))
    }

    /// A command line clap refused, as an error of kind usage: clap's message, its details
    /// (the arguments missing), its tips and the usage line as hints.
    pub fn from_clap(error: &clap::Error) -> CliError {
        let text = error.render().to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        let mut out = CliError::usage(first.strip_prefix("error: ").unwrap_or(first));
        for line in lines {
            let trimmed = line.trim();
            if let Some(tip) = trimmed.strip_prefix("tip: ") {
                out = out.hint(tip);
            } else if let Some(usage) = trimmed.strip_prefix("Usage: ") {
                out = out.hint(format!("usage: {usage}"));
            } else if trimmed.starts_with("For more information") || trimmed.is_empty() {
            } else {
                out.details.push(trimmed.to_owned());
            }
        }
        // "the following required arguments were not provided:" and the list below it.
        if out.message.ends_with(':') && !out.details.is_empty() {
            out.message = format!("{} {}", out.message, out.details.join(", "));
            out.details.clear();
        }
        out
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

    /// Adds what the operating system (or a library) said went wrong, shown as a cause.
    pub fn because(mut self, cause: impl std::fmt::Display) -> CliError {
        let text = cause.to_string();
        if !self.causes.contains(&text) {
            self.causes.push(text);
        }
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
            PlanError::Unreadable { ref source, .. } => base.hint(match source.kind() {
                io::ErrorKind::PermissionDenied => "check the file's permissions",
                io::ErrorKind::NotADirectory => {
                    "a folder on the way to it is a file; name the plan file with --plan PATH"
                }
                _ => "name another plan file with --plan PATH",
            }),
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
            GitError::Unsupported { hint, .. } => {
                CliError::repo_state(error.to_string()).hint(hint.clone())
            }
            GitError::Busy { .. } => CliError::repo_state(error.to_string())
                .hint("another process is writing; try again"),
            GitError::RefLocked { lock, .. } => {
                CliError::repo_state(error.to_string()).hint(format!(
                    "another git process is updating it; if none is running, one died: \
                     remove {}",
                    lock.display()
                ))
            }
            GitError::Command { stderr, .. } => {
                let mut e = CliError::repo_state(error.to_string());
                e.details.extend(
                    stderr
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| format!("| {l}")),
                );
                e
            }
            GitError::HookRefused { output } => {
                let mut e = CliError::new(ErrorKind::No, "a hook refused the commit");
                e.details.extend(
                    output
                        .lines()
                        .map(str::trim_end)
                        .filter(|l| !l.is_empty())
                        .map(|l| format!("| {l}")),
                );
                e.hint("nothing was committed and what was staged is still staged; fix what the hook says, then run the command again")
            }
            // libgit2's own words, without its class and code numbers.
            GitError::Git { source, .. } => CliError::repo_state(error.to_string())
                .because(source.message())
                .hint("`git fsck` checks the repository's objects and refs"),
            GitError::Spawn { .. } | GitError::Lock { .. } => {
                CliError::repo_state(error.to_string()).with_sources(&error)
            }
        }
    }
}

/// At most this many phases are named in a hint; beyond, `status` lists them.
const PHASES_NAMED: usize = 8;

impl From<UnknownPhase> for CliError {
    fn from(UnknownPhase { id, known }: UnknownPhase) -> CliError {
        let mut phases: Vec<String> = Vec::new();
        for phase in known {
            if !phases.contains(&phase) {
                phases.push(phase);
            }
        }
        let hint = if let Some(best) = crate::plan::closest(&id, &phases) {
            format!("did you mean `{best}`?")
        } else if phases.is_empty() {
            "the plan has no phases yet".to_owned()
        } else if phases.len() <= PHASES_NAMED {
            format!("the plan's phases are {}", phases.join(", "))
        } else {
            format!(
                "the plan has {} phases; `git planx status` lists them",
                phases.len()
            )
        };
        CliError::usage(format!("the plan has no phase `{id}`")).hint(hint)
    }
}

impl From<JudgingError> for CliError {
    fn from(error: JudgingError) -> CliError {
        use JudgingError as J;
        let message = error.to_string();
        let state = || CliError::repo_state(message.clone());
        match error {
            J::UnknownPhase(e) => e.into(),
            J::NoBase { .. } => {
                state().hint("create the branch, or set `base` in the plan's [plan] table")
            }
            J::NotStarted { phase } => {
                state().hint(format!("start it with `git planx start {phase}`"))
            }
            J::NoForkPoint { shallow, .. } => state().hint(if shallow {
                "fetch more history: `git fetch --unshallow` (in CI: fetch-depth: 0)"
            } else {
                "the phase branch must fork from base; rebase it onto base"
            }),
            J::NoPlanAtFork { .. } => state()
                .hint("a phase is judged by the plan on base where it forked; rebase the branch onto a base that has the plan"),
            J::Plan { source, .. } => {
                let mut e = CliError::from(source);
                e.hints.insert(0, format!("this phase is judged by the plan at its fork point: {message}"));
                e
            }
            J::Git(e) => e.into(),
        }
    }
}

impl From<TrustError> for CliError {
    fn from(error: TrustError) -> CliError {
        match error {
            TrustError::Untrusted(untrusted) => untrusted_error(&untrusted),
            TrustError::NoStore => CliError::repo_state(error.to_string())
                .hint("set HOME (or XDG_DATA_HOME), or use --trust-once / PLANX_TRUST=1"),
            TrustError::Signing(e) => signing_error(e),
        }
    }
}

/// planx signs every record it writes (docs/verification.md): without its key it writes none.
fn signing_error(error: crate::trust::signing::SigningError) -> CliError {
    let hint = signing_hint(&error);
    let e = CliError::repo_state(format!("cannot sign the record: {error}"));
    match std::error::Error::source(&error) {
        Some(cause) => e.because(cause),
        None => e,
    }
    .hint(hint)
}

/// What to do when this machine's signing key cannot be had.
pub fn signing_hint(error: &crate::trust::signing::SigningError) -> String {
    use crate::trust::signing::SigningError as S;
    match error {
        S::NoHome => "set HOME (or XDG_DATA_HOME): the signing key is kept there".to_owned(),
        S::Malformed { path } => format!(
            "move {} away: planx makes a new key on its next write (records signed with the old key then count only once it is trusted: `git planx signers trust`)",
            path.display()
        ),
        S::BadVariable => format!(
            "set {} to 64 hex digits (`openssl rand -hex 32` makes a key; `git planx signers` then prints its public half), or unset it",
            crate::trust::signing::KEY_VARIABLE
        ),
        S::Read { .. } | S::Create { .. } => {
            "check the permissions of the folder beside the trust store".to_owned()
        }
    }
}

impl From<CommandError> for CliError {
    fn from(error: CommandError) -> CliError {
        let message = error.to_string();
        match error {
            CommandError::Spawn { source, .. } => {
                let mut e = CliError::repo_state(message);
                e.causes.push(source.to_string());
                e
            }
            CommandError::Interrupted { .. } => {
                CliError::repo_state(message).hint("nothing more was done; run the command again")
            }
        }
    }
}

impl From<LockError> for CliError {
    fn from(error: LockError) -> CliError {
        match error {
            LockError::Held { pid, .. } => {
                CliError::repo_state(error.to_string()).hint(match pid {
                    Some(pid) => {
                        format!("process {pid} holds the lock; wait for it, then try again")
                    }
                    None => "wait for it, then try again".to_owned(),
                })
            }
            LockError::Io(e) => local_state(&e),
        }
    }
}

impl From<VerifyError> for CliError {
    fn from(error: VerifyError) -> CliError {
        match error {
            VerifyError::Judging(e) => e.into(),
            VerifyError::Trust(e) => e.into(),
            VerifyError::Command(e) => e.into(),
            VerifyError::Git(e) => e.into(),
        }
    }
}

impl From<AgentsError> for CliError {
    fn from(error: AgentsError) -> CliError {
        match error {
            AgentsError::Verify(e) => e.into(),
            AgentsError::Git(e) => e.into(),
            AgentsError::Read { ref path, ref source } => {
                CliError::repo_state(format!("cannot read {path}")).hint(source.to_string())
            }
            AgentsError::Write { ref path, ref source } => {
                CliError::repo_state(format!("cannot write {path}")).hint(source.to_string())
            }
            AgentsError::NotJson { .. } => CliError::usage(error.to_string()).hint(
                "fix the file (or move it away) and run setup again: planx merges its hooks into a JSON object and changes nothing else",
            ),
            AgentsError::Markers { .. } => CliError::usage(error.to_string()).hint(
                "put back the planx section's begin and end lines, or remove what is left of it, then run setup again",
            ),
        }
    }
}

impl From<HookError> for CliError {
    fn from(error: HookError) -> CliError {
        let message = error.to_string();
        match error {
            HookError::Judging(e) => e.into(),
            HookError::Plan { source, .. } => {
                let mut e = CliError::from(source);
                e.hints.insert(
                    0,
                    format!("the hooks read the plan as committed: {message}"),
                );
                e
            }
            HookError::MessageFile { ref source, .. } => {
                let cause = source.to_string();
                let mut e = CliError::repo_state(message);
                e.causes.push(cause);
                e
            }
            HookError::Trailer(e) => CliError::internal(e),
            HookError::Git(e) => e.into(),
        }
    }
}

/// planx's own folder in the repository (locks, cache, scratch worktrees) cannot be used.
fn local_state(error: &io::Error) -> CliError {
    CliError::repo_state(format!("cannot use planx's local state: {error}"))
}

impl From<LifecycleError> for CliError {
    fn from(error: LifecycleError) -> CliError {
        use LifecycleError as L;
        let message = error.to_string();
        let state = || CliError::repo_state(message.clone());
        match error {
            L::Judging(e) => e.into(),
            L::Trust(e) => e.into(),
            L::PlanNotReady { .. } => state().hint(
                "review the plan, then set `status = \"ready\"` in [plan] and commit it on base; or pass --force",
            ),
            L::AlreadyComplete { by, .. } => state()
                .hint(format!("it was merged into base by {}; `git planx status` shows every phase", crate::report::short(&by))),
            L::DependenciesIncomplete { missing, .. } => {
                let mut e = state();
                for (id, state) in &missing {
                    e.details.push(format!("`{id}` is {}", state.as_str()));
                }
                e.hint("finish those first; `git planx next` lists the phases that can start now")
            }
            L::OperationInProgress { what } => state().hint(what.describe().1),
            L::Dirty { paths } => {
                let mut e = state();
                for p in paths.iter().take(20) {
                    e.details.push(format!("{} {}", p.status, p.path));
                }
                if paths.len() > 20 {
                    e.details.push(format!("… and {} more", paths.len() - 20));
                }
                e.hint("commit or stash them yourself (planx never touches them), or set `clean_worktree = false` in [preflight]")
            }
            L::PreflightFailed { runs } => {
                let mut e = state();
                for run in &runs {
                    let verdict = if run.passed { "passed" } else { "FAILED" };
                    e.details.push(format!("`{}` {verdict} ({})", run.command, run.describe()));
                    if !run.passed {
                        e.details.extend(tail_lines(&run.tail, 10));
                    }
                }
                e.hint("the base must pass preflight before a phase starts; fix base, then start again")
            }
            L::Locked { what, phase, pid } => LockError::Held { what, phase, pid }.into(),
            L::LostRace { .. } => state().hint("run `git planx start` again to switch to it"),
            L::Switch { phase, source, .. } => {
                // Said as the cause: the switch failed because of it.
                let cause = source.to_string();
                let mut e = CliError::from(source);
                e.causes.insert(0, cause);
                e.message = message;
                e.hint(format!("the start is recorded; after fixing this, `git planx start {phase}` switches to it"))
            }
            L::NotOnPhaseBranch { .. } => state()
                .hint("switch to the phase with `git planx resume PHASE`, or start one with `git planx start PHASE`"),
            L::NotResumable { phase, state } => state_err(&message).hint(match state {
                crate::state::State::Ready => format!("start it with `git planx start {phase}`"),
                crate::state::State::Complete => "it is merged; `git planx status` shows what is left".to_owned(),
                _ => "`git planx status` shows every phase; `git planx next` what can start".to_owned(),
            }),
            L::NotResettable { phase, state } => state_err(&message).hint(match state {
                crate::state::State::InProgress => format!("it is in progress: to throw its branch away all the same (it is kept under {}), pass --force", crate::lifecycle::BACKUP_PREFIX),
                crate::state::State::Ready => format!("it has not started: `git planx start {phase}` starts it"),
                crate::state::State::Complete => "it is merged; a reset would not undo that".to_owned(),
                _ => "only a phase that failed or is blocked starts again from base".to_owned(),
            }),
            L::ResetDirty { paths, .. } => {
                let mut e = state_err(&message);
                e.details.extend(paths.iter().take(20).map(|p| format!("{} {}", p.status, p.path)));
                e.hint("commit it (`git planx checkpoint`) or stash it first: a reset keeps commits, not uncommitted work; nothing was changed")
            }
            L::BranchMoved { .. } => state_err(&message).hint("someone committed on it meanwhile; look, then try again"),
            L::NotStarted { phase } => JudgingError::NotStarted { phase }.into(),
            L::UnknownStep { known, .. } => CliError::usage(message).hint(if known.is_empty() {
                "the phase has no steps".to_owned()
            } else {
                format!("its steps are {}", known.join(", "))
            }),
            L::NoBlastRadius { .. } => CliError::usage(message)
                .hint("give the phase a `blast_radius` in the plan: the tests that guard what it touches"),
            L::RedButPassing { run } => {
                let mut e = CliError::new(ErrorKind::No, message);
                e.details.push(format!("`{}` {}", run.command, run.describe()));
                e.hint("a red checkpoint records failing tests: write the failing test first; nothing was committed")
            }
            L::GreenButFailing { run } => {
                let mut e = CliError::new(ErrorKind::No, message);
                e.details.push(format!("`{}` {}", run.command, run.describe()));
                e.details.extend(tail_lines(&run.tail, 10));
                e.hint("make the tests pass first; nothing was committed")
            }
            L::Interrupted { signal } => CommandError::Interrupted { signal }.into(),
            L::ForgedTrailer => CliError::usage(message)
                .hint("planx writes the Planx-* trailers itself; leave them out of the message"),
            L::CarriageReturn => CliError::usage(message)
                .hint("a terminal would write the rest over the start of the line; end lines with a newline (\\n)"),
            L::VerifyFailed { report } => {
                let mut e = CliError::new(ErrorKind::No, message);
                e.details = verify_problems(&report);
                e.hint(format!("nothing was merged; see `git planx verify {}`", report.phase))
            }
            L::Conflicts { branch, base, paths } => {
                let mut e = state();
                e.details.extend(paths.iter().map(|p| format!("conflict: {p}")));
                e.hint(format!(
                    "nothing was changed; bring the phase up to date: `git switch {branch} && git rebase {base}`, resolve, verify, then finish again"
                ))
            }
            L::BaseDirty { paths, .. } | L::PhaseDirty { paths, .. } => {
                let mut e = state();
                e.details.extend(paths.iter().take(20).map(|p| format!("{} {}", p.status, p.path)));
                e.hint("commit or stash them first; nothing was changed")
            }
            L::UncommittedEvidence { paths } => {
                let mut e = state();
                e.details.extend(paths.iter().take(20).map(|p| format!("{} {}", p.status, p.path)));
                let untracked = paths.iter().any(|p| p.status.trim() == "??");
                e = e.hint("the run must be about exactly what is committed: stage your changes (`git add`) or stash them, then try again");
                if untracked {
                    e = e.hint("files a build or a test writes (caches, build output) belong in .gitignore, not in a commit");
                }
                e
            }
            L::ForeignBranch { branch } => state().hint(format!(
                "rename or delete `{branch}` (its commits stay in the reflog), or start the phase under another plan branch prefix"
            )),
            L::BaseMoved { .. } => state().hint("nothing was merged; run finish again"),
            L::NotPublished { .. } => {
                state().hint("nothing of this merge landed, here or there; run again")
            }
            L::UnknownCheck { known, .. } => CliError::usage(message).hint(if known.is_empty() {
                "the phase has no checks".to_owned()
            } else {
                format!("its checks are {}", known.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", "))
            }),
            L::NotManual { .. } => CliError::usage(message)
                .hint("only `manual = true` checks take evidence; the others are verified by running them"),
            L::Spawn { command, source } => CommandError::Spawn { command, source }.into(),
            L::Git(e) => e.into(),
            L::CheckpointUnrecorded { source, .. } => {
                let cause = CliError::from(source);
                let mut e = CliError::repo_state(message);
                e.causes.push(cause.message);
                e.causes.extend(cause.causes);
                e.hints = cause.hints;
                e.hint("then run the same `git planx checkpoint` again: it records this commit instead of making another")
            }
            L::Trailer(e) => CliError::internal(e),
            L::Io(e) => local_state(&e),
        }
    }
}

impl From<ClaimError> for CliError {
    fn from(error: ClaimError) -> CliError {
        use ClaimError as C;
        let message = error.to_string();
        match error {
            C::Claimed {
                phase,
                remote,
                claim,
                age,
                stale,
            } => {
                let e = CliError::repo_state(format!(
                    "{message}, {} ago",
                    crate::clock::human_duration(age)
                ));
                match stale {
                    Some(why) => e.because(format!("the claim is stale: {why}")).hint(format!(
                        "if that machine is gone, take the phase over: `git planx claim {phase} --remote {remote} --steal`"
                    )),
                    None => e.hint(format!(
                        "another machine works on it; pick another phase (`git planx status` shows the claims), or ask {} to release it",
                        claim.by
                    )),
                }
            }
            C::NotYours {
                phase,
                remote,
                age,
                ..
            } => CliError::repo_state(format!(
                "{message} (claimed {} ago)",
                crate::clock::human_duration(age)
            ))
            .hint(format!(
                "only the machine that claimed it releases it; `git planx claim {phase} --remote {remote} --release --steal` removes it anyway"
            )),
            C::Moved { .. } => CliError::repo_state(message)
                .hint("another machine is claiming or releasing it at the same time; look again with `git planx status`, then try again"),
            C::UnknownRemote { known, .. } => {
                let e = CliError::usage(message);
                if known.is_empty() {
                    e.hint("this repository has no remote: add one with `git remote add origin URL`, or pass --remote URL")
                } else {
                    e.hint(format!("its remotes are {}; pass one with --remote", known.join(", ")))
                }
            }
            C::BadSetting { key, .. } => CliError::usage(message).hint(format!(
                "set it to a duration such as 30m or 2h: `git config {key} 2h`"
            )),
            C::Refused { .. } => CliError::repo_state(message)
                .hint("the remote's own rules (a hook, a protected ref, permissions) refuse refs/planx/claims/*; allow them there"),
            C::Remote(e) => e.into(),
            C::Trailer(e) => CliError::usage(format!("{message}: {e}"))
                .hint("the identity, host name and repository path recorded in a claim must be single lines"),
            C::Git(e) => e.into(),
        }
    }
}

impl From<RunError> for CliError {
    fn from(error: RunError) -> CliError {
        use RunError as R;
        let message = error.to_string();
        match error {
            R::PlanNotReady { .. } => CliError::repo_state(message).hint(
                "review the plan, then set `status = \"ready\"` in [plan] and commit it on base; or pass --force",
            ),
            R::NoExecutor => CliError::usage(message).hint(
                "pass --executor \"COMMAND\", set PLANX_EXECUTOR, or set `executor` in the plan's [run] table; it runs in each phase's worktree with $PLANX_BRIEF",
            ),
            R::Cycle | R::WorktreeInTheWay { .. } => {
                CliError::repo_state(format!("cannot use planx's local state: {message}"))
            }
            R::Spawn { ref source, .. } => {
                let cause = source.to_string();
                let mut e = CliError::repo_state(message);
                e.causes.push(cause);
                e
            }
            R::ExecutorLives { group, lock, .. } => {
                let stop = match group {
                    Some(g) => format!("stop it with `kill -- -{g}`"),
                    None => "stop it".to_owned(),
                };
                CliError::repo_state(message).hint(format!(
                    "its processes hold {}; wait for them to end, or {stop}, then run again",
                    lock.display()
                ))
            }
            R::RemoteHasNoBase { remote, base } => CliError::repo_state(message).hint(format!(
                "push it there first: `git push {remote} {base}`"
            )),
            R::BaseAhead { remote, base } => CliError::repo_state(message).hint(format!(
                "every machine runs against `{remote}`'s {base}: push yours (`git push {remote} {base}`), or set it back to `{remote}`'s, then run again"
            )),
            R::RemoteKeptMoving { .. } => CliError::repo_state(message)
                .hint("other machines keep pushing; run again"),
            R::BranchMovedOnRemote { branch, .. } => CliError::repo_state(message).hint(format!(
                "another machine pushed {branch}: someone took the phase over (`git planx status` shows its claim)"
            )),
            R::Claim(e) => e.into(),
            R::Remote(e) => e.into(),
            R::NotStarted { phase } => CliError::repo_state(message)
                .hint(format!("start it with `git planx start {phase}`")),
            R::Interrupted { .. } => {
                CliError::repo_state(message).hint("nothing more was done; run the command again")
            }
            R::Internal { what } => CliError::internal(what),
            R::Lifecycle(e) => e.into(),
            R::Git(e) => e.into(),
            R::Io(e) => CliError::repo_state(format!("cannot use planx's local state: {e}")),
        }
    }
}

impl From<ReportError> for CliError {
    fn from(error: ReportError) -> CliError {
        match error {
            ReportError::NoBranch { ref merged_by, .. } => {
                CliError::repo_state(error.to_string()).hint(format!(
                    "`git show {}` shows what it brought into base; `git planx report` reports on every phase",
                    crate::report::short(merged_by)
                ))
            }
            ReportError::Judging(e) => e.into(),
            ReportError::Git(e) => e.into(),
        }
    }
}

impl From<ForgeError> for CliError {
    fn from(error: ForgeError) -> CliError {
        let message = error.to_string();
        match error {
            ForgeError::Failed {
                program,
                stderr,
                branch,
                ..
            } => {
                let mut e = CliError::repo_state(message);
                e.causes.extend(
                    stderr
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
                e.hint(format!(
                    "nothing was created; the body is printed above. If {program} cannot find the branch, push it first (`git push -u origin {branch}`), then run `git planx review --open` again"
                ))
            }
            ForgeError::Spawn { ref source, .. } => CliError::repo_state(message).because(source),
            ForgeError::BodyFile(ref source) => CliError::repo_state(message)
                .because(source)
                .hint("nothing was created; set TMPDIR to a folder you may write, then run `git planx review --open` again"),
        }
    }
}

/// A verify's result in one line (for `verify`'s summary and the reason a run records): "manifest holds, 2 of 3 checks verified, 1 not run".
pub fn verify_summary(report: &Report) -> String {
    let mut parts = vec![match report.errors() {
        0 => "manifest holds".to_owned(),
        1 => "1 manifest error".to_owned(),
        n => format!("{n} manifest errors"),
    }];
    parts.push(format!(
        "{} of {} checks verified",
        report.checks.iter().filter(|c| c.verified).count(),
        report.checks.len()
    ));
    let skipped = report.checks.iter().filter(|c| c.skipped).count();
    if skipped > 0 {
        parts.push(format!("{skipped} not run"));
    }
    parts.join(", ")
}

/// What a verify found wrong, one line each: the manifest's errors, then the checks not
/// verified.
pub fn verify_problems(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.level == crate::verify::manifest::Level::Error)
        .map(|f| f.message.clone())
        .chain(
            report
                .checks
                .iter()
                .filter(|c| !c.verified)
                .map(|c| format!("check `{}` not verified: {}", c.name, c.evidence)),
        )
        .collect()
}

/// The refusal of untrusted commands: what would run, as a diff when the set changed.
pub fn untrusted_error(untrusted: &trust::Untrusted) -> CliError {
    let (message, lines) = match &untrusted.previous {
        Some(previous) => (
            "the plan's commands changed since they were trusted on this machine",
            trust::diff(previous, &untrusted.commands),
        ),
        None => (
            "the plan's commands are not trusted on this machine",
            untrusted.commands.clone(),
        ),
    };
    let mut e = CliError::new(ErrorKind::Untrusted, message);
    e.details.extend(lines);
    e.hint("read them; if you agree to run them here, `git planx trust` (or --trust-once; PLANX_TRUST=1 in CI)")
}

fn state_err(message: &str) -> CliError {
    CliError::repo_state(message)
}

fn tail_lines(tail: &str, n: usize) -> Vec<String> {
    crate::process::last_lines(tail, n)
        .lines()
        .map(|l| format!("| {l}"))
        .collect()
}

impl From<RemoteError> for CliError {
    fn from(error: RemoteError) -> CliError {
        let message = error.to_string();
        match error {
            RemoteError::Git(e) => e.into(),
            RemoteError::NoRemote => CliError::repo_state(message)
                .hint("add the team's remote first: `git remote add origin URL`"),
            RemoteError::UnknownRemote { name, known } => {
                let e = CliError::usage(message);
                if known.is_empty() {
                    e.hint(format!("add it first: `git remote add {name} URL`"))
                } else {
                    e.hint(format!(
                        "the remotes here are {}; name one: `git planx sync {}`",
                        known.join(", "),
                        known[0]
                    ))
                }
            }
            RemoteError::Unreachable {
                failure, remote, ..
            } => {
                let mut e = CliError::repo_state(message);
                e.details.extend(
                    failure
                        .stderr
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| format!("| {l}")),
                );
                e.hint(format!(
                    "nothing here was changed; check the remote's URL (`git remote -v`), the network and your credentials (`git fetch {remote}` says what git says), then run it again"
                ))
            }
            RemoteError::Refused { said, .. } => {
                let mut e = CliError::repo_state(message);
                e.details.extend(said.iter().map(|l| format!("| {l}")));
                e.hint(
                    "the remote's own rules (a hook, a protected ref, permissions) refuse it; the local notes keep every line",
                )
            }
            RemoteError::KeptLosing { .. } => CliError::repo_state(message).hint(
                "other machines are pushing notes right now; nothing was lost — run it again",
            ),
        }
    }
}

impl From<io::Error> for CliError {
    fn from(error: io::Error) -> CliError {
        if error.kind() == io::ErrorKind::BrokenPipe {
            return CliError::new(ErrorKind::BrokenPipe, "broken pipe");
        }
        CliError::repo_state("input/output error")
            .because(&error)
            .hint("check where the output goes: a full disk, a closed terminal or pipe")
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
        assert_eq!(ErrorKind::Internal.exit_code(), 70);
    }

    #[test]
    fn a_bug_is_its_own_kind_and_says_how_to_report_it() {
        let e = CliError::from(RunError::Internal {
            what: "a phase's thread panicked: index out of bounds".into(),
        });
        assert_eq!(e.kind, ErrorKind::Internal);
        assert_eq!(e.exit_code(), 70);
        assert_eq!(e.kind.as_str(), "internal");
        assert_eq!(
            e.message,
            "git-planx failed: a phase's thread panicked: index out of bounds"
        );
        assert!(
            e.hints[0].contains("this is a bug in git-planx"),
            "{:?}",
            e.hints
        );
        assert!(e.hints[1].contains("issue tracker"), "{:?}", e.hints);
        assert!(
            e.hints[1].contains(env!("CARGO_PKG_VERSION")),
            "{:?}",
            e.hints
        );
        assert!(!e.reported);
    }

    #[test]
    fn a_no_answer_exits_1_and_prints_nothing_more() {
        assert!(answer(true).is_ok());
        let no = answer(false).unwrap_err();
        assert_eq!(no.kind, ErrorKind::No);
        assert_eq!(no.exit_code(), 1);
        assert!(no.reported);
    }

    #[test]
    fn notes_that_keep_changing_say_to_try_again() {
        // Only a race makes it (200 lost compare-and-swaps in a row): shown here, not driven.
        let e = CliError::from(GitError::Busy {
            what: "refs/notes/planx kept changing under 200 attempts to append a note".into(),
        });
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.message,
            "refs/notes/planx kept changing under 200 attempts to append a note"
        );
        assert_eq!(e.hints, ["another process is writing; try again"]);
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
