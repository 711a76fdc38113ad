//! `git planx log`: the timeline of checkpoints and the events in their notes.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need};
use super::ui::{Style, Ui};
use super::{Document, GlobalArgs, short};
use crate::error::CliError;
use crate::git::Oid;
use crate::state::{self, Checkpoint, PhaseStatus};

/// Show the timeline of checkpoints (from trailers) and what their notes recorded.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this phase
    pub phase: Option<String>,
}

pub fn cmd_log(ui: &Ui, global: &GlobalArgs, args: &LogArgs) -> Result<(), CliError> {
    let (ctx, statuses) = read(global, args)?;
    let plan = &ctx.plan;
    let (entries, completions) = timeline(&statuses, args);
    if ui.json {
        return Document::yes(log_json(&entries, &completions)).print(ui);
    }
    let p = ui.out_painter();
    let mut out = String::new();
    if entries.is_empty() && completions.is_empty() {
        out.push_str("no checkpoints yet: `git planx start PHASE` records the first\n");
    }
    for (phase, c) in &entries {
        let kind = match &c.step {
            Some(step) => format!("{} {step}", c.kind.as_str()),
            None => c.kind.as_str().to_owned(),
        };
        out.push_str(&format!(
            "{}  {}  {:<10} {}  {}\n",
            p.paint(Style::Dim, &time(c.time)),
            phase,
            kind,
            p.paint(Style::Gutter, &short(&c.commit)),
            c.summary
        ));
        for e in &c.events {
            for run in e.runs("preflight") {
                out.push_str(&format!(
                    "      preflight `{}` {} ({})\n",
                    run.command,
                    verdict(run.passed),
                    run.describe()
                ));
            }
            if let Some(run) = e.run("verify") {
                out.push_str(&format!(
                    "      verify `{}` {} ({})\n",
                    run.command,
                    verdict(run.passed),
                    run.describe()
                ));
            }
            if let Some(run) = e.run("run") {
                out.push_str(&format!(
                    "      blast radius `{}` {} ({})\n",
                    run.command,
                    verdict(run.passed),
                    run.describe()
                ));
            }
            if let Some(reason) = e.str("reason") {
                out.push_str(&format!("      reason: {reason}\n"));
            }
            if let Some(who) = e.str("who") {
                out.push_str(&format!("      by {who}\n"));
            }
        }
    }
    for (phase, by) in &completions {
        out.push_str(&format!(
            "{phase}: merged into {} by {}\n",
            plan.base,
            short(by)
        ));
    }
    ui.out(&out)?;
    Ok(())
}

/// The `planx.log/1` document.
pub(crate) fn document(global: &GlobalArgs, args: &LogArgs) -> Result<Document, CliError> {
    let (_, statuses) = read(global, args)?;
    let (entries, completions) = timeline(&statuses, args);
    Ok(Document::yes(log_json(&entries, &completions)))
}

fn read(global: &GlobalArgs, args: &LogArgs) -> Result<(Context, Vec<PhaseStatus>), CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    if let Some(id) = &args.phase {
        crate::state::judging::find_phase(&ctx.plan, id)?;
    }
    let statuses = state::derive(ctx.subject(), state::Notes::All)?;
    Ok((ctx, statuses))
}

type Entries<'a> = Vec<(&'a str, &'a Checkpoint)>;
type Completions<'a> = Vec<(&'a str, Oid)>;

/// The checkpoints of the phases asked for, oldest first, and their merges.
fn timeline<'a>(statuses: &'a [PhaseStatus], args: &LogArgs) -> (Entries<'a>, Completions<'a>) {
    let mut entries: Entries<'a> = statuses
        .iter()
        .filter(|s| args.phase.as_ref().is_none_or(|id| &s.id == id))
        .flat_map(|s| s.checkpoints.iter().rev().map(move |c| (s.id.as_str(), c)))
        .collect();
    entries.sort_by_key(|(_, c)| c.time);
    let completions = statuses
        .iter()
        .filter(|s| args.phase.as_ref().is_none_or(|id| &s.id == id))
        .filter_map(|s| s.completed_by.map(|c| (s.id.as_str(), c)))
        .collect();
    (entries, completions)
}

fn log_json(entries: &Entries<'_>, completions: &Completions<'_>) -> serde_json::Value {
    json!({
        "schema": "planx.log/1",
        "entries": entries.iter().map(|(phase, c)| json!({
            "phase": phase,
            "commit": c.commit.to_string(),
            "time": time(c.time),
            "checkpoint": c.kind.as_str(),
            "status": c.status,
            "step": c.step,
            "summary": c.summary,
            "events": c.events,
        })).collect::<Vec<_>>(),
        "completions": completions.iter().map(|(phase, by)| json!({"phase": phase, "commit": by.to_string()})).collect::<Vec<_>>(),
    })
}

fn verdict(passed: bool) -> &'static str {
    if passed { "passed" } else { "failed" }
}

fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}
