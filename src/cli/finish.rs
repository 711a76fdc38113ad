//! `git planx finish`: merge a verified phase into base.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need, trust_policy};
use super::ui::{Style, Ui};
use super::verify::render_report;
use super::{GlobalArgs, short};
use crate::error::CliError;
use crate::lifecycle::{self, FinishOptions};

/// Merge a phase into base — only with a passing verify of exactly the tree being merged.
///
/// When no passing record exists for the phase branch's tree, verify runs first; when it fails,
/// nothing is merged (exit 1). The merge is a --no-ff merge commit (or, with --squash, one
/// commit) whose trailers say Planx-Phase, Planx-Status: complete and the verified tree. A
/// conflict, a dirty base work tree or any failure leaves everything exactly as it was (exit 3).
#[derive(Debug, Args)]
pub struct FinishArgs {
    /// The phase to merge
    pub phase: String,
    /// One commit on base instead of a merge; the phase's notes are carried over to it
    #[arg(long)]
    pub squash: bool,
    /// Delete the phase branch after the merge (kept when it is checked out somewhere)
    #[arg(long)]
    pub delete_branch: bool,
}

pub fn cmd_finish(ui: &Ui, global: &GlobalArgs, args: &FinishArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    let opts = FinishOptions {
        squash: args.squash,
        delete_branch: args.delete_branch,
        trust: trust_policy(global.trust_once),
    };
    let result = lifecycle::finish(ctx.subject(), &args.phase, &opts);
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(lifecycle::LifecycleError::VerifyFailed { report }) if !ui.json => {
            ui.out(&render_report(&report, ui.out_painter()))?;
            return Err(lifecycle::LifecycleError::VerifyFailed { report }.into());
        }
        Err(e) => return Err(e.into()),
    };
    if ui.json {
        ui.json(&json!({
            "schema": "planx.finish/1",
            "phase": outcome.phase,
            "branch": outcome.branch,
            "base": outcome.base,
            "commit": outcome.commit.to_string(),
            "verified_tree": outcome.verified_tree.to_string(),
            "record": outcome.record.to_string(),
            "ran_verify": outcome.ran_verify.is_some(),
            "squash": outcome.squash,
            "branch_deleted": outcome.branch_deleted,
        }))?;
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = String::new();
    if let Some(report) = &outcome.ran_verify {
        out.push_str(&render_report(report, p));
        out.push('\n');
    }
    out.push_str(&format!(
        "{} phase `{}` into {}: {} {} (verified tree {}, record on {})\n",
        p.paint(Style::Ok, "merged"),
        outcome.phase,
        outcome.base,
        if outcome.squash {
            "squash commit"
        } else {
            "merge commit"
        },
        short(&outcome.commit),
        short(&outcome.verified_tree),
        short(&outcome.record),
    ));
    if outcome.branch_deleted {
        out.push_str(&format!("  deleted {}\n", outcome.branch));
    }
    if let Some(why) = &outcome.branch_kept {
        out.push_str(&format!("  kept {}: {why}\n", outcome.branch));
    }
    if !ui.quiet {
        ui.out(&out)?;
    }
    Ok(())
}
