//! `git planx accept`: evidence for a manual check.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need};
use super::ui::{Style, Ui};
use super::{GlobalArgs, short};
use crate::error::CliError;
use crate::lifecycle;

/// Record the evidence for a manual check of a phase (a check with `manual = true`).
///
/// The evidence is kept, with who gave it and when, as an `accept` event on the phase branch's
/// tip. It is about the tip's tree: `verify` counts the check as VERIFIED, and shows the
/// evidence, for that tree only; once the files change, it must be accepted again.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The phase
    pub phase: String,
    /// The name of the manual check
    pub check: String,
    /// What shows the check holds: a link, a reviewer's words, a document
    #[arg(long, value_name = "TEXT")]
    pub evidence: String,
}

pub fn cmd_accept(ui: &Ui, global: &GlobalArgs, args: &AcceptArgs) -> Result<(), CliError> {
    if args.evidence.trim().is_empty() {
        return Err(CliError::usage("the evidence is empty").hint("say what shows the check holds"));
    }
    let ctx = Context::open(global, Need::Base)?;
    let outcome = lifecycle::accept(ctx.subject(), &args.phase, &args.check, &args.evidence)?;
    if ui.json {
        ui.json(&json!({
            "schema": "planx.accept/1",
            "phase": outcome.phase,
            "check": outcome.check,
            "commit": outcome.commit.to_string(),
            "tree": outcome.tree.to_string(),
            "who": outcome.who,
        }))?;
    } else if !ui.quiet {
        ui.out(&format!(
            "{} `{}` of phase `{}` for tree {} (recorded on {} by {})\n",
            ui.out_painter().paint(Style::Ok, "accepted"),
            outcome.check,
            outcome.phase,
            short(&outcome.tree),
            short(&outcome.commit),
            outcome.who
        ))?;
    }
    Ok(())
}
