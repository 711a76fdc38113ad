//! `git planx checkpoint`: commit progress on the phase branch with trailers and evidence.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need, trust_policy};
use super::ui::{Style, Ui};
use super::{Document, GlobalArgs, short};
use crate::error::CliError;
use crate::lifecycle::{self, CheckpointOptions, CheckpointOutcome, Tdd};

/// Record a checkpoint: commit what is staged (or an empty commit) with Planx-* trailers.
///
/// Runs on the phase branch checked out here, through `git commit`, so your hooks run. With
/// --step, the step's `verify` command runs and its result is recorded (a failing verify is
/// recorded too, and exits 1). --red runs the phase's blast radius and insists it fails (tests
/// written, not yet passing); --green insists it passes; neither commits when that is not so.
/// --blocked and --failed record why the phase cannot go on.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The commit message's subject (planx writes the trailers)
    #[arg(short, long)]
    pub message: Option<String>,
    /// The step of the phase this checkpoint completes
    #[arg(long, value_name = "ID")]
    pub step: Option<String>,
    /// TDD evidence: the blast radius fails now
    #[arg(long, conflicts_with_all = ["green", "blocked", "failed"])]
    pub red: bool,
    /// TDD evidence: the blast radius passes now
    #[arg(long, conflicts_with_all = ["blocked", "failed"])]
    pub green: bool,
    /// The phase cannot go on without help: record why
    #[arg(long, value_name = "REASON", conflicts_with = "failed")]
    pub blocked: Option<String>,
    /// The phase failed: record why
    #[arg(long, value_name = "REASON")]
    pub failed: Option<String>,
}

pub fn cmd_checkpoint(ui: &Ui, global: &GlobalArgs, args: &CheckpointArgs) -> Result<(), CliError> {
    let progress = ui.progress();
    let outcome = record(global, args)?;
    drop(progress);
    if ui.json {
        return checkpoint_json(&outcome).print(ui);
    }
    let p = ui.out_painter();
    let what = match (&outcome.step, outcome.kind.as_str()) {
        (Some(step), _) => format!("step {step}"),
        (None, kind) => kind.to_owned(),
    };
    let mut out = format!(
        "{} {} on {}: {what} ({})\n",
        p.paint(Style::Ok, "checkpoint"),
        short(&outcome.commit),
        outcome.branch,
        outcome.status
    );
    if outcome.recorded_earlier_commit {
        out.push_str(
            "  recorded the commit an earlier checkpoint made but could not record; no new commit\n",
        );
    }
    if let Some(run) = &outcome.run {
        let (label, verdict) = match outcome.tdd {
            Some(Tdd::Red) => (
                "blast radius",
                p.paint(Style::Ok, "fails, as a red checkpoint should"),
            ),
            Some(Tdd::Green) => ("blast radius", p.paint(Style::Ok, "passes")),
            None if run.passed => ("verify", p.paint(Style::Ok, "passed")),
            None => ("verify", p.paint(Style::Error, "FAILED")),
        };
        out.push_str(&format!(
            "  {label} `{}` {verdict} ({})\n",
            run.command,
            run.describe()
        ));
        if !outcome.verified() {
            for line in crate::process::last_lines(&run.tail, 10).lines() {
                out.push_str(&format!("  | {line}\n"));
            }
            out.push_str("  the step is recorded as attempted, not completed\n");
        }
    }
    if let Some(reason) = &outcome.reason {
        out.push_str(&format!("  reason: {reason}\n"));
    }
    if !ui.quiet || !outcome.verified() {
        ui.out(&out)?;
    }
    crate::error::answer(outcome.verified())
}

/// The `planx.checkpoint/1` document; the answer is no when the step's verification failed.
pub(crate) fn document(global: &GlobalArgs, args: &CheckpointArgs) -> Result<Document, CliError> {
    Ok(checkpoint_json(&record(global, args)?))
}

fn record(global: &GlobalArgs, args: &CheckpointArgs) -> Result<CheckpointOutcome, CliError> {
    let ctx = Context::open(global, Need::Base)?;
    let opts = CheckpointOptions {
        message: args.message.clone(),
        step: args.step.clone(),
        tdd: match (args.red, args.green) {
            (true, _) => Some(Tdd::Red),
            (_, true) => Some(Tdd::Green),
            _ => None,
        },
        blocked: args.blocked.clone(),
        failed: args.failed.clone(),
        trust: trust_policy(global.trust_once),
        ..CheckpointOptions::default()
    };
    Ok(lifecycle::checkpoint(ctx.subject(), &opts)?)
}

fn checkpoint_json(outcome: &CheckpointOutcome) -> Document {
    Document {
        value: json!({
            "schema": "planx.checkpoint/1",
            "phase": outcome.phase,
            "branch": outcome.branch,
            "commit": outcome.commit.to_string(),
            "checkpoint": outcome.kind.as_str(),
            "step": outcome.step,
            "status": outcome.status,
            "run": outcome.run,
            "reason": outcome.reason,
            "verified": outcome.verified(),
            "recorded_earlier_commit": outcome.recorded_earlier_commit,
        }),
        yes: outcome.verified(),
    }
}
