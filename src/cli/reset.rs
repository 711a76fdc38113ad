//! `git planx reset`: start a failed phase again from base, keeping its old branch.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need};
use super::ui::{Style, Ui};
use super::{GlobalArgs, short};
use crate::error::CliError;
use crate::lifecycle;

/// Put a failed or blocked phase back to ready, to start it again from base.
///
/// The phase branch is kept under refs/planx/backup/<plan>/<phase>/<n> (the first number free),
/// with its commits and their notes, then deleted, so that `git planx start PHASE` (or
/// `git planx run`) starts the phase afresh from base. A work tree that has the branch checked
/// out is left detached on the old tip (a worktree of `run` is removed); one with uncommitted
/// work on the branch refuses the reset, and nothing changes. Get the old branch back with
/// `git branch <name> <backup ref>`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The phase to start again
    pub phase: String,
    /// Reset a phase that is in progress too (not only failed or blocked)
    #[arg(long)]
    pub force: bool,
}

pub fn cmd_reset(ui: &Ui, global: &GlobalArgs, args: &ResetArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    let outcome = lifecycle::reset(ctx.subject(), &args.phase, args.force)?;
    if ui.json {
        ui.json(&json!({
            "schema": "planx.reset/1",
            "phase": outcome.phase,
            "branch": outcome.branch,
            "was": outcome.was.as_str(),
            "old_tip": outcome.old_tip.to_string(),
            "backup": outcome.backup,
            "detached": outcome.detached,
            "removed_worktree": outcome.removed,
        }))?;
        return Ok(());
    }
    if ui.quiet {
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = format!(
        "{} phase `{}` ({} before): it is ready to start again from base\n  \
         the old branch {} ({}) is kept as {}\n",
        p.paint(Style::Ok, "reset"),
        outcome.phase,
        outcome.was.as_str(),
        outcome.branch,
        short(&outcome.old_tip),
        outcome.backup,
    );
    if let Some(dir) = &outcome.detached {
        out.push_str(&format!(
            "  {} stays on the old tip, detached\n",
            dir.display()
        ));
    }
    if let Some(dir) = &outcome.removed {
        out.push_str(&format!("  run's worktree {} was removed\n", dir.display()));
    }
    out.push_str(&format!(
        "  start it with `git planx start {}`; get the old branch back with `git branch {} {}`\n",
        outcome.phase, outcome.branch, outcome.backup
    ));
    ui.out(&out)
}
