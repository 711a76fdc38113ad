//! `git planx start <phase>`: preflight, the phase branch from base, the start checkpoint.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::context::{Context, Need, trust_policy};
use super::ui::{Style, Ui};
use super::{GlobalArgs, short};
use crate::error::CliError;
use crate::lifecycle::{self, StartOptions, StartOutcome};

/// Start a phase: check the preflight, create its branch from base, record the start.
///
/// Refused (exit 3, saying why) when the plan is not ready (unless --force), a dependency is
/// not complete, the work tree has uncommitted changes (when [preflight] clean_worktree is on;
/// they are never touched), a merge or rebase is in progress, or a preflight command fails.
/// The branch is <branch_prefix><phase> at base's tip; the start checkpoint is an empty commit
/// with Planx-* trailers and a note recording the base, the plan and the preflight results.
/// Starting a phase that is already started switches to it.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The phase to start
    pub phase: String,
    /// Check the phase out in a new linked worktree at PATH (for phases in parallel)
    #[arg(long, value_name = "PATH")]
    pub worktree: Option<PathBuf>,
    /// Start even though the plan's status is not `ready`
    #[arg(long)]
    pub force: bool,
}

pub fn cmd_start(ui: &Ui, global: &GlobalArgs, args: &StartArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    ctx.require_valid_base_plan()?;
    let opts = StartOptions {
        force: args.force,
        worktree: args.worktree.clone(),
        trust: trust_policy(global.trust_once),
    };
    let progress = ui.progress();
    let outcome = lifecycle::start(ctx.subject(), &args.phase, &opts)?;
    drop(progress);
    let phase = ctx.plan.phase(&args.phase);
    let first_step = phase.and_then(|p| p.steps.first());
    if ui.json {
        let doc = match &outcome {
            StartOutcome::Started {
                branch,
                commit,
                base,
                preflight,
                completed,
                worktree,
            } => json!({
                "schema": "planx.start/1",
                "phase": args.phase,
                "branch": branch,
                "started": true,
                "commit": commit.to_string(),
                "base": base.to_string(),
                "preflight": preflight,
                "completed_interrupted": completed,
                "worktree": worktree,
            }),
            StartOutcome::AlreadyStarted {
                branch,
                elsewhere,
                switched,
                worktree,
            } => json!({
                "schema": "planx.start/1",
                "phase": args.phase,
                "branch": branch,
                "started": false,
                "switched": switched,
                "elsewhere": elsewhere,
                "worktree": worktree,
            }),
        };
        ui.json(&doc)?;
        return Ok(());
    }
    if ui.quiet {
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = String::new();
    match &outcome {
        StartOutcome::Started {
            branch,
            commit,
            base,
            preflight,
            completed,
            worktree,
        } => {
            out.push_str(&format!(
                "{} phase `{}` on {branch} (from {} at {}), start checkpoint {}\n",
                p.paint(Style::Ok, "started"),
                args.phase,
                ctx.plan.base,
                short(base),
                short(commit)
            ));
            for part in completed {
                out.push_str(&format!("  completed an interrupted start: {part}\n"));
            }
            for run in preflight {
                out.push_str(&format!(
                    "  preflight `{}` passed ({})\n",
                    run.command,
                    run.describe()
                ));
            }
            match worktree {
                Some(path) => out.push_str(&format!(
                    "  checked out in the new worktree {}\n",
                    path.display()
                )),
                None => out.push_str(&format!("  switched to {branch}\n")),
            }
        }
        StartOutcome::AlreadyStarted {
            branch,
            elsewhere,
            switched,
            worktree,
        } => {
            let what = match (elsewhere, switched, worktree) {
                (Some(path), _, _) => format!(
                    "{branch} is checked out in {}: continue there",
                    path.display()
                ),
                (None, _, Some(path)) => {
                    format!("checked out in the new worktree {}", path.display())
                }
                (None, true, None) => format!("switched to {branch}"),
                (None, false, None) => format!("you are on {branch}"),
            };
            out.push_str(&format!(
                "phase `{}` was already started: {what}\n",
                args.phase
            ));
        }
    }
    if let Some(step) = first_step {
        out.push_str(&format!(
            "next: step {} — {}; record it with `git planx checkpoint --step {}`\n",
            step.id, step.title, step.id
        ));
    }
    ui.out(&out)?;
    Ok(())
}
