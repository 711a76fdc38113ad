//! `git planx resume`: back to the phase in progress, with where it stands.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need};
use super::ui::{Style, Ui};
use super::{GlobalArgs, short};
use crate::clock;
use crate::error::CliError;
use crate::lifecycle::{self, Choice};
use crate::state::VerifyState;

/// Switch to the phase in progress (or failed, or blocked) and say where it stands.
///
/// Without PHASE: the phase of the branch checked out here, else the only phase in progress.
/// Prints the last completed step and the next one, and checks that the files complete phases
/// created are still on base (reporting `stale` phases).
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The phase to resume
    pub phase: Option<String>,
}

pub fn cmd_resume(ui: &Ui, global: &GlobalArgs, args: &ResumeArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let outcome = match lifecycle::resume(ctx.subject(), args.phase.as_deref())? {
        Ok(outcome) => outcome,
        Err(Choice::None) => {
            return Err(CliError::repo_state("no phase is in progress")
                .hint("`git planx next` lists the phases that can start"));
        }
        Err(Choice::Several(ids)) => {
            return Err(CliError::usage(format!(
                "several phases are in progress: {}",
                ids.join(", ")
            ))
            .hint("name one: `git planx resume PHASE`"));
        }
    };
    if ui.json {
        ui.json(&json!({
            "schema": "planx.resume/1",
            "phase": outcome.phase,
            "branch": outcome.branch,
            "state": outcome.state,
            "switched": outcome.switched,
            "elsewhere": outcome.elsewhere,
            "last_completed_step": outcome.last_completed_step.as_ref().map(|(id, title)| json!({"id": id, "title": title})),
            "next_step": outcome.next_step.as_ref().map(|(id, title)| json!({"id": id, "title": title})),
            "reason": outcome.reason,
            "verify": super::status::verify_json(&outcome.status),
            "next": outcome.finish.then(|| format!("git planx finish {}", outcome.phase)),
            "stale": outcome.stale.iter().map(|(id, paths)| json!({"phase": id, "missing": paths})).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = match (&outcome.elsewhere, outcome.switched) {
        (Some(path), _) => format!(
            "phase `{}` ({}) is checked out in {}: continue there\n",
            outcome.phase,
            outcome.state.as_str(),
            path.display()
        ),
        (None, true) => format!(
            "{} phase `{}` ({}) on {}\n",
            p.paint(Style::Ok, "resumed"),
            outcome.phase,
            outcome.state.as_str(),
            outcome.branch
        ),
        (None, false) => format!(
            "phase `{}` ({}) is checked out here, on {}\n",
            outcome.phase,
            outcome.state.as_str(),
            outcome.branch
        ),
    };
    if let Some(reason) = &outcome.reason {
        out.push_str(&format!("  {}: {reason}\n", outcome.state.as_str()));
    }
    if let Some(c) = outcome.status.last_checkpoint() {
        out.push_str(&format!(
            "  last checkpoint: {} {}, {} ago\n",
            c.kind.as_str(),
            short(&c.commit),
            clock::human_duration(clock::now().timestamp() - c.time)
        ));
    }
    match &outcome.last_completed_step {
        Some((id, title)) => out.push_str(&format!("  last completed step: {id} — {title}\n")),
        None => out.push_str("  no step completed yet\n"),
    }
    if let Some(v) = &outcome.status.tip_verify {
        out.push_str(&format!(
            "  latest verify, on {} ({}): {}\n",
            short(&v.commit),
            v.ts,
            verify_word(v.state)
        ));
    }
    match &outcome.next_step {
        _ if outcome.finish => out.push_str(&format!(
            "  {} merge it into {} with `git planx finish {}`\n",
            p.paint(Style::Ok, "next:"),
            ctx.plan.base,
            outcome.phase
        )),
        Some((id, title)) => out.push_str(&format!(
            "  next step: {id} — {title} (`git planx checkpoint --step {id}` when done)\n"
        )),
        None => out.push_str(&format!(
            "  every step is done: verify the phase (`git planx verify {}`)\n",
            outcome.phase
        )),
    }
    if outcome.stale.is_empty() {
        out.push_str(&format!(
            "  complete phases: what they created is still on {}\n",
            ctx.plan.base
        ));
    } else {
        for (id, missing) in &outcome.stale {
            out.push_str(&format!(
                "  {} phase `{id}` is complete but {} no longer on {}\n",
                p.paint(Style::Warning, "stale:"),
                missing.join(", "),
                ctx.plan.base
            ));
        }
    }
    ui.out(&out)?;
    Ok(())
}

/// What a verify state says, for a person.
fn verify_word(state: VerifyState) -> &'static str {
    match state {
        VerifyState::Passed => "passed",
        VerifyState::Failed => "failed",
        VerifyState::NotRun => "not evidence (checks not run, or uncommitted changes)",
        VerifyState::Outdated => "of an older tree: the files changed since",
    }
}
