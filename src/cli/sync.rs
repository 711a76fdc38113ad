//! `git planx sync [REMOTE]`: share evidence, claims and phase branches with a remote.

use clap::Args;
use serde_json::{Value, json};

use super::context::{Context, Need};
use super::ui::{Style, Ui, table};
use super::{Document, GlobalArgs, short};
use crate::error::CliError;
use crate::remote::branches::{BranchSync, Outcome};
use crate::remote::{self, Step, SyncReport};

/// Share the evidence with a remote: fetch its notes, merge them with these by the union of
/// lines, push the result back, and push the phase branches that are ahead.
///
/// The remote's refs/notes/planx is fetched into refs/notes/remotes/<remote>/planx (never onto
/// the local notes), merged line by line — no line of either side is lost, none is doubled —
/// and pushed back with a lease on the exact value merged; when another machine pushed in
/// between, it fetches and merges again. Claims (refs/planx/claims/*) are fetched into
/// refs/planx/remotes/<remote>/claims/. Each phase branch here that is ahead of the remote's
/// copy is pushed; one that someone else moved is never forced, only reported.
///
/// The first sync also configures the remote so that a plain `git fetch` or `git pull`
/// brings its notes and claims from then on. Fetch and push run `git` itself: your
/// credentials and remote configuration apply.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The remote [default: the current branch's upstream remote, else origin]
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
}

pub fn cmd_sync(ui: &Ui, global: &GlobalArgs, args: &SyncArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let remote = remote::resolve(&ctx.repo, args.remote.as_deref())?;
    let name = remote.name.clone();
    let mut progress = |step: Step| {
        let text = match step {
            Step::Fetching => format!("sync: fetching from {name}…"),
            Step::MergingNotes => "sync: merging the notes…".to_owned(),
            Step::PushingNotes(1) => format!("sync: pushing the notes to {name}…"),
            Step::PushingNotes(n) => {
                format!(
                    "sync: pushing the notes to {name} (attempt {n}: another machine pushed first)…"
                )
            }
            Step::PushingBranches => format!("sync: pushing phase branches to {name}…"),
        };
        ui.status_line(Some(&text));
    };
    let result = remote::sync(&ctx.repo, &ctx.plan, &remote, &mut progress);
    ui.status_line(None);
    let report = result?;
    if ui.json {
        return Document::yes(document(&report)).print(ui);
    }
    if !ui.quiet {
        ui.out(&render(&report, ui))?;
    }
    Ok(())
}

/// The `planx.sync/1` document.
fn document(r: &SyncReport) -> Value {
    let n = &r.notes;
    json!({
        "schema": "planx.sync/1",
        "remote": {"name": r.remote.name, "url": r.remote.url},
        "configured": r.configured,
        "notes": {
            "lines_in": n.lines_in,
            "lines_out": n.lines_out,
            "notes_in": n.notes_in,
            "notes_out": n.notes_out,
            "pushed": n.pushed,
            "attempts": n.attempts,
            "tip": n.tip.map(|t| t.to_string()),
        },
        "claims": r.claims,
        "branches": r.branches.iter().map(|b| json!({
            "branch": b.branch,
            "local": b.local.to_string(),
            "remote": b.remote.map(|t| t.to_string()),
            "outcome": outcome_name(&b.outcome),
            "reason": match &b.outcome { Outcome::Refused(reason) => Some(reason.as_str()), _ => None },
        })).collect::<Vec<_>>(),
    })
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Created => "created",
        Outcome::Pushed => "pushed",
        Outcome::UpToDate => "up-to-date",
        Outcome::Merged => "merged",
        Outcome::Behind => "behind",
        Outcome::Diverged => "diverged",
        Outcome::MovedMeanwhile => "moved-meanwhile",
        Outcome::Refused(_) => "refused",
    }
}

fn render(r: &SyncReport, ui: &Ui) -> String {
    let p = ui.out_painter();
    let n = &r.notes;
    let mut out = format!("synced with {} ({})\n", r.remote.name, r.remote.url);
    let notes = match (n.lines_in, n.lines_out) {
        (0, 0) => "up to date".to_owned(),
        (i, 0) => format!("{i} {} from {}", lines(i), r.remote.name),
        (0, o) => format!("{o} {} pushed", lines(o)),
        (i, o) => format!(
            "{i} {} from {}, {o} {} pushed",
            lines(i),
            r.remote.name,
            lines(o)
        ),
    };
    let retried = if n.attempts > 1 {
        format!(
            " (pushed on attempt {}: other machines pushed first, their lines merged in)",
            n.attempts
        )
    } else {
        String::new()
    };
    let mut rows = vec![
        vec!["notes".to_owned(), format!("{notes}{retried}")],
        vec![
            "claims".to_owned(),
            match r.claims.len() {
                0 => "none on the remote".to_owned(),
                1 => "1 on the remote".to_owned(),
                c => format!("{c} on the remote"),
            },
        ],
    ];
    if r.branches.is_empty() {
        rows.push(vec![
            "branches".to_owned(),
            "no phase branch here".to_owned(),
        ]);
    }
    out.push_str(&indent(&table(&rows)));
    let mut moved = Vec::new();
    if !r.branches.is_empty() {
        out.push_str("  branches\n");
        let rows: Vec<Vec<String>> = r
            .branches
            .iter()
            .map(|b| {
                if matches!(b.outcome, Outcome::Diverged | Outcome::MovedMeanwhile) {
                    moved.push(b.branch.clone());
                }
                vec![b.branch.clone(), branch_text(b, &r.remote.name, p)]
            })
            .collect();
        out.push_str(&indent(&indent(&table(&rows))));
    }
    if !r.configured.is_empty() {
        out.push_str(&format!(
            "configured {}: a plain `git fetch` or `git pull` now brings its notes and claims too\n",
            r.remote.name
        ));
    }
    for branch in moved {
        out.push_str(&format!(
            "{} {branch} was moved on {} by someone else and was not pushed: `git pull --rebase {} {branch}` (or merge), then sync again\n",
            p.paint(Style::Warning, "hint:"),
            r.remote.name,
            r.remote.name
        ));
    }
    out
}

fn branch_text(b: &BranchSync, remote: &str, p: super::ui::Painter) -> String {
    let to = short(&b.local);
    match &b.outcome {
        Outcome::Created => format!("pushed (new on {remote}) {to}"),
        Outcome::Pushed => format!(
            "pushed {} → {to}",
            b.remote.as_ref().map(short).unwrap_or_default()
        ),
        Outcome::UpToDate => "up to date".to_owned(),
        Outcome::Merged => format!("merged into base on {remote}; not pushed again"),
        Outcome::Behind => format!("behind {remote}: `git pull` brings its commits"),
        Outcome::Diverged => p.paint(
            Style::Warning,
            &format!("not pushed: {remote} has commits this branch lacks (someone else moved it)"),
        ),
        Outcome::MovedMeanwhile => p.paint(
            Style::Warning,
            &format!("not pushed: it moved on {remote} during this sync"),
        ),
        Outcome::Refused(reason) => {
            p.paint(Style::Warning, &format!("refused by {remote}: {reason}"))
        }
    }
}

fn lines(n: usize) -> &'static str {
    if n == 1 { "note line" } else { "note lines" }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
