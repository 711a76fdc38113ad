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
    let mut rows: Vec<Vec<String>> = Vec::new();
    if !entries.is_empty() {
        rows.push(
            ["TIME", "PHASE", "CHECKPOINT", "COMMIT", "SUMMARY"]
                .map(|h| p.paint(Style::Bold, h))
                .to_vec(),
        );
    }
    for (phase, c) in &entries {
        let kind = match &c.step {
            Some(step) => format!("{} {step}", c.kind.as_str()),
            None => c.kind.as_str().to_owned(),
        };
        rows.push(vec![
            p.paint(Style::Dim, &time(c.time)),
            (*phase).to_owned(),
            kind,
            p.paint(Style::Gutter, &short(&c.commit)),
            c.summary.clone(),
        ]);
        let mut detail = |label: &str, text: String| {
            rows.push(vec![
                String::new(),
                String::new(),
                p.paint(Style::Dim, label),
                String::new(),
                text,
            ]);
        };
        for e in &c.events {
            for run in e.runs("preflight") {
                detail("preflight", run_text(&run));
            }
            if let Some(run) = e.run("verify") {
                detail("step verify", run_text(&run));
            }
            if let Some(run) = e.run("run") {
                let label = match c.kind.as_str() {
                    kind @ ("red" | "green") => format!("{kind} run"),
                    _ => "blast radius".to_owned(),
                };
                detail(&label, run_text(&run));
            }
            if let Some(reason) = e.str("reason") {
                detail("reason", reason.to_owned());
            }
            match e.event.as_str() {
                "verify" => detail("verify", verify_text(e)),
                "accept" => detail(
                    "accepted",
                    format!(
                        "`{}`: {} (by {})",
                        e.str("check").unwrap_or("?"),
                        e.str("evidence").unwrap_or(""),
                        e.str("who").unwrap_or("?")
                    ),
                ),
                _ => {
                    if let Some(who) = e.str("who") {
                        detail("by", who.to_owned());
                    }
                }
            }
        }
    }
    out.push_str(&super::ui::table(&rows));
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

/// A command run: the command, whether it passed, and how (`exit 0 in 0.3s`).
fn run_text(run: &crate::state::events::CommandRun) -> String {
    format!(
        "`{}` {} ({})",
        run.command,
        verdict(run.passed),
        run.describe()
    )
}

/// A `verify` event: the verdict, its manifest errors and its checks.
fn verify_text(e: &crate::state::events::Event) -> String {
    let list = |key: &str| {
        e.data
            .get(key)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let errors = list("findings")
        .iter()
        .filter(|f| f["level"] == "error")
        .count();
    let checks = list("checks");
    let verified = checks.iter().filter(|c| c["verified"] == true).count();
    let passed = e.data.get("passed").and_then(|v| v.as_bool()) == Some(true);
    let mut text = format!(
        "{}: {} manifest error{}, {verified} of {} checks verified",
        if passed { "VERIFIED" } else { "NOT VERIFIED" },
        errors,
        if errors == 1 { "" } else { "s" },
        checks.len()
    );
    if e.data.get("clean").and_then(|v| v.as_bool()) == Some(false) {
        text.push_str(" (uncommitted changes)");
    }
    if let Some(tree) = e.str("tree") {
        text.push_str(&format!(", tree {}", &tree[..tree.len().min(10)]));
    }
    text
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
    let statuses = state::derive_seen(ctx.subject(), state::Notes::All)?;
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
