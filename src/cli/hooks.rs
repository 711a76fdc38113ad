//! `git planx hooks install|uninstall|status` and `git planx hook <name>`.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::GlobalArgs;
use super::ui::{Style, Ui, table};
use crate::error::{CliError, ErrorKind};
use crate::git::Repo;
use crate::git::path::escape_path;
use crate::hooks::decide::{self, Decision, Note, Refusal};
use crate::hooks::{self, HookState};
use crate::plan::EntryKind;

/// Install, remove or inspect the planx git hooks (pre-commit, commit-msg, pre-merge-commit,
/// pre-push).
///
/// The shims go into the hooks folder git uses (`git rev-parse --git-path hooks`: core.hooksPath
/// and linked worktrees are honoured). A hook that is already there is kept as
/// <hook>.planx-chained and still runs first, its exit status respected; `uninstall` puts it
/// back byte for byte. Installing twice changes nothing.
#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: HooksAction,
}

#[derive(Debug, Subcommand)]
pub enum HooksAction {
    /// Install the shims (chaining any hook already there)
    Install {
        /// Install even into a hooks folder shared with other repositories (core.hooksPath)
        #[arg(long)]
        force: bool,
    },
    /// Remove the shims, putting back the hooks that were there before
    Uninstall,
    /// Show, for each hook, whether it is planx's, chained, or someone else's
    Status,
}

/// Run a planx hook (what the installed shims call; not for people).
///
/// Off a phase branch every hook returns at once; with PLANX_HOOKS=0 too.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// pre-commit, commit-msg, pre-merge-commit, pre-push; agent-stop (a coding agent's Stop
    /// hook: reads the hook's JSON on stdin; --agent claude|codex|cursor) or agent-start (a
    /// SessionStart hook: prints the phase's brief)
    pub name: String,
    /// What git passed to the hook
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn cmd_hooks(ui: &Ui, _global: &GlobalArgs, args: &HooksArgs) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let dir = hooks::hooks_dir(&repo)?;
    let p = ui.out_painter();
    let io = |e: std::io::Error| {
        CliError::repo_state(format!("cannot change the hooks in {}", dir.path.display()))
            .because(e)
            .hint("check that you may write that folder")
    };
    let changes = match &args.action {
        HooksAction::Install { force } => {
            if dir.shared && !force {
                return Err(CliError::repo_state(format!(
                    "the hooks folder {} is shared: core.hooksPath ({} configuration) points outside this repository",
                    dir.path.display(),
                    dir.configured_in.as_deref().unwrap_or("some")
                ))
                .hint("installing there makes the planx shims run for every repository using that folder (they do nothing outside a phase branch); pass --force to do it")
                .hint("or unset core.hooksPath for this repository and install here"));
            }
            Some(hooks::install(&dir.path).map_err(io)?)
        }
        HooksAction::Uninstall => Some(hooks::uninstall(&dir.path).map_err(io)?),
        HooksAction::Status => None,
    };
    let status = hooks::status(&dir.path);
    if ui.json {
        ui.json(&json!({
            "schema": "planx.hooks/1",
            "dir": dir.path,
            "shared": dir.shared,
            "core_hooks_path": dir.configured_in,
            "relative": dir.relative,
            "changes": changes.as_ref().map(|c| c.iter().map(|(h, c)| json!({"hook": h, "change": c})).collect::<Vec<_>>()),
            "hooks": status.iter().map(|(h, s)| json!({"hook": h, "state": s})).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    if ui.quiet {
        return Ok(());
    }
    let mut rows = Vec::new();
    for (hook, state) in &status {
        let change = changes
            .as_ref()
            .and_then(|c| c.iter().find(|(h, _)| h == hook))
            .map(|(_, c)| {
                format!("{c:?}")
                    .to_lowercase()
                    .replace("leftalone", "left alone")
            });
        let what = match state {
            HookState::None => "none".to_owned(),
            HookState::Planx => p.paint(Style::Ok, "planx"),
            HookState::Chained => format!(
                "{}: the hook that was there runs first ({hook}{})",
                p.paint(Style::Ok, "chained"),
                hooks::CHAINED_SUFFIX
            ),
            HookState::Foreign => p.paint(Style::Warning, "foreign: not planx's"),
            HookState::Displaced => format!(
                "{}: a hook manager moved planx's shim to {hook}.old, where it does not run; add planx to its configuration (see docs/hooks.md)",
                p.paint(Style::Warning, "foreign")
            ),
        };
        let mut row = vec![format!("  {hook}"), what];
        if let Some(change) = change {
            row.push(p.paint(Style::Dim, &format!("({change})")));
        }
        rows.push(row);
    }
    let mut out = format!("hooks in {}", dir.path.display());
    if let Some(scope) = &dir.configured_in {
        out.push_str(&format!(" (core.hooksPath, {scope} configuration)"));
    }
    out.push('\n');
    out.push_str(&table(&rows));
    if dir.relative {
        out.push_str(&format!(
            "{} core.hooksPath is a relative path: git resolves it in each work tree, so each linked worktree has its own hooks folder (and the shims are files of the work tree); run `git planx hooks install` in each, or add planx to your hook manager's configuration (docs/hooks.md)\n",
            p.paint(Style::Warning, "note:")
        ));
    }
    ui.out(&out)?;
    Ok(())
}

pub fn cmd_hook(ui: &Ui, global: &GlobalArgs, args: &HookArgs) -> Result<(), CliError> {
    if args.name == "agent-stop" {
        return super::agent_stop::cmd_agent_stop(ui, global, &args.args);
    }
    if args.name == "agent-start" {
        return super::agent_stop::cmd_agent_start(ui, global);
    }
    if !hooks::HOOKS.contains(&args.name.as_str()) {
        return Err(
            CliError::usage(format!("`{}` is not a planx hook", args.name)).hint(format!(
                "planx hooks are {}, and agent-stop and agent-start for coding agents",
                hooks::HOOKS.join(", ")
            )),
        );
    }
    if decide::disabled() {
        return Ok(());
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let repo = match Repo::discover() {
        Ok(repo) => repo,
        // A repository planx cannot read (reftable refs, SHA-256 ids): git itself says whether
        // this is a phase branch; there the hook cannot judge and refuses, elsewhere it returns.
        Err(error) => {
            return match decide::phase_by_git(&cwd) {
                Some(phase) => Err(cannot_check(
                    &format!("the planx {} hook cannot check phase `{phase}`", args.name),
                    CliError::from(error),
                )),
                None => Ok(()),
            };
        }
    };
    let result = match args.name.as_str() {
        "pre-commit" => decide::pre_commit(&repo, &cwd),
        "commit-msg" => match args.args.first() {
            Some(file) => decide::commit_msg(&repo, &cwd.join(file)).map(|_| Decision::default()),
            None => {
                return Err(
                    CliError::usage("commit-msg needs the message file").hint("git passes it")
                );
            }
        },
        "pre-merge-commit" => decide::pre_merge_commit(&repo),
        _ => {
            let updates = push_updates();
            decide::pre_push(&repo, &updates)
        }
    };
    let decision = match result {
        Ok(decision) => decision,
        Err(error) => {
            return Err(cannot_check(
                &format!("the planx {} hook could not check this", args.name),
                CliError::from(error),
            ));
        }
    };
    for note in &decision.notes {
        ui.err(&format!("planx: {}\n", note_text(*note)));
    }
    if decision.allowed() {
        return Ok(());
    }
    let mut error = CliError::new(
        ErrorKind::No,
        format!("the planx {} hook refused this", args.name),
    );
    for refusal in &decision.refusals {
        if let Refusal::InvalidPlan { diagnostics, .. } = refusal {
            error.diagnostics.extend(diagnostics.iter().cloned());
        }
    }
    error.details = decision.refusals.iter().map(refusal_line).collect();
    error.hints = hints(&decision);
    Err(error)
}

/// One refusal, as the line that names it.
fn refusal_line(refusal: &Refusal) -> String {
    match refusal {
        Refusal::InvalidPlan {
            path,
            base,
            diagnostics,
        } => format!(
            "{path} as staged is not a valid plan ({}): phases forked from `{base}` would be judged by it",
            match diagnostics.len() {
                1 => "1 error".to_owned(),
                n => format!("{n} errors"),
            }
        ),
        Refusal::OutsideManifest {
            path,
            status,
            phase,
            admitting,
            ..
        } => {
            let mut line = format!(
                "{} ({}) is outside the manifest of phase `{phase}`",
                escape_path(path),
                describe_status(*status)
            );
            if let Some((kind, pattern)) = admitting {
                line.push_str(&format!(
                    ": `{}` would admit it",
                    manifest_line(*kind, pattern)
                ));
            }
            line
        }
        Refusal::BeforeVerify {
            path,
            status,
            phase,
            entry,
        } => format!(
            "{} ({}) is admitted by `after_verify` entry `{entry}` of phase `{phase}`: only after a passing verify",
            escape_path(path),
            describe_status(*status)
        ),
        Refusal::UnverifiedMerge { phase, base, tree } => format!(
            "merging phase `{phase}` into `{base}` needs a passing verify of its tree {}",
            &tree.to_string()[..10]
        ),
        Refusal::UnverifiedPush { phase, base, merge } => format!(
            "`{base}` would carry the merge of phase `{phase}` ({}) without a passing verify of its tree",
            &merge.to_string()[..10]
        ),
    }
}

/// What to do about the refusals, in the order they call for it.
fn hints(decision: &Decision) -> Vec<String> {
    let refusals = &decision.refusals;
    let mut hints = Vec::new();
    if refusals
        .iter()
        .any(|r| matches!(r, Refusal::InvalidPlan { .. }))
    {
        hints.push("fix the errors above (`git planx check` lists them), stage the plan again and commit; `git commit --no-verify` commits it as it is".into());
    }
    if let Some(Refusal::OutsideManifest { base, .. }) = refusals
        .iter()
        .find(|r| matches!(r, Refusal::OutsideManifest { .. }))
    {
        hints.push(format!(
            "declare what the phase may touch in [phase.files] of the plan on `{base}` (phases are judged by it), or unstage: `git restore --staged <path>`"
        ));
    }
    if let Some(Refusal::BeforeVerify { phase, .. }) = refusals
        .iter()
        .find(|r| matches!(r, Refusal::BeforeVerify { .. }))
    {
        hints.push(format!(
            "run `git planx verify {phase}` first for after_verify paths"
        ));
    }
    if refusals.iter().any(|r| {
        matches!(
            r,
            Refusal::OutsideManifest { .. } | Refusal::BeforeVerify { .. }
        )
    }) {
        hints.push("to bypass once: `git commit --no-verify` (verify and status will still show the commit)".into());
    }
    for refusal in refusals {
        if let Refusal::UnverifiedMerge { phase, .. } = refusal {
            hints.push(format!(
                "`git merge --abort`, then `git planx verify {phase}` (or `git planx finish {phase}`, which verifies and merges)"
            ));
        }
    }
    if refusals
        .iter()
        .any(|r| matches!(r, Refusal::UnverifiedPush { .. }))
    {
        hints.push(
            "verify those phases' branches (`git planx verify PHASE`), then push again and share the evidence: `git planx sync`"
                .into(),
        );
    }
    hints
}

fn note_text(note: Note) -> &'static str {
    match note {
        Note::PushEvidence => {
            "share the evidence too: `git planx sync` (merges the notes with the remote's and pushes them)"
        }
    }
}

/// The `[phase.files]` line that declares `pattern` as `kind`.
fn manifest_line(kind: EntryKind, pattern: &str) -> String {
    // A JSON string is a TOML basic string.
    let quoted = serde_json::to_string(pattern).unwrap_or_else(|_| format!("{pattern:?}"));
    format!("{} = [{quoted}]", kind.as_str())
}

fn describe_status(status: char) -> &'static str {
    match status {
        'A' => "added",
        'D' => "deleted",
        'M' => "modified",
        'T' => "type changed",
        _ => "changed",
    }
}

/// A hook that cannot judge refuses: an enforcement that a broken state switches off would be
/// none. Bypassing stays explicit.
fn cannot_check(what: &str, cause: CliError) -> CliError {
    let mut refusal = CliError::new(ErrorKind::No, format!("{what}: {}", cause.message));
    refusal.details = cause.details;
    refusal.causes = cause.causes;
    refusal.hints = cause.hints;
    refusal.hint(
        "fix the cause, or bypass once with git's --no-verify (or PLANX_HOOKS=0); verify and status will still see it",
    )
}

/// The ref updates of a push: git's stdin lines, or the variables the pre-commit framework sets
/// when it runs a pre-push hook.
fn push_updates() -> Vec<String> {
    if let (Ok(to), Ok(remote_branch)) = (
        std::env::var("PRE_COMMIT_TO_REF"),
        std::env::var("PRE_COMMIT_REMOTE_BRANCH"),
    ) {
        let from = std::env::var("PRE_COMMIT_FROM_REF").unwrap_or_else(|_| "0".repeat(40));
        let local = std::env::var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_default();
        return vec![format!("{local} {to} {remote_branch} {from}")];
    }
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    input
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::manifest_line;
    use crate::hooks::decide::admitting_entry;

    #[test]
    fn the_admitting_entry_is_said_as_the_line_to_write() {
        let line = |status, path| {
            admitting_entry(status, path).map(|(kind, pattern)| manifest_line(kind, &pattern))
        };
        assert_eq!(
            line('A', "stray.txt").as_deref(),
            Some(r#"create = ["stray.txt"]"#)
        );
        assert_eq!(
            line('M', "src/a.rs").as_deref(),
            Some(r#"modify = ["src/a.rs"]"#)
        );
        assert_eq!(line('T', "link").as_deref(), Some(r#"modify = ["link"]"#));
        assert_eq!(
            line('D', "old.txt").as_deref(),
            Some(r#"delete = ["old.txt"]"#)
        );
        // Wildcards and quotes in the path itself stay literal.
        assert_eq!(
            line('A', "a*b?[c].txt").as_deref(),
            Some(r#"create = ["a[*]b[?][[]c[]].txt"]"#)
        );
        assert_eq!(
            line('A', "say \"hi\".txt").as_deref(),
            Some(r#"create = ["say \"hi\".txt"]"#)
        );
    }
}
