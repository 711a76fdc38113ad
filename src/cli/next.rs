//! `git planx next`: the phases that can start now, in a stable order.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need};
use super::status::next_text;
use super::ui::{Ui, table};
use super::{Document, GlobalArgs};
use crate::error::CliError;
use crate::plan::Plan;
use crate::plan::graph::Graph;
use crate::state::{self, State};

/// List the phases that can start now: not started, every dependency complete.
///
/// The order is the plan's dependency order (ties in file order), so it is stable.
#[derive(Debug, Args)]
pub struct NextArgs {}

pub fn cmd_next(ui: &Ui, global: &GlobalArgs, _args: &NextArgs) -> Result<(), CliError> {
    let (ctx, statuses, order, ready) = ready(global)?;
    let plan = &ctx.plan;
    if ui.json {
        return Document::yes(next_json(plan, &ready)).print(ui);
    }
    if ready.is_empty() {
        let current = ctx.repo.current_branch()?;
        let next = state::next_action(plan, &statuses, &order, current.as_deref());
        ui.out(&format!(
            "no phase can start now; next: {}\n",
            next_text(&next, plan)
        ))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = ready
        .iter()
        .map(|&i| {
            let phase = &plan.phases[i];
            vec![
                phase.id.clone(),
                phase.title.clone(),
                format!("git planx start {}", phase.id),
            ]
        })
        .collect();
    ui.out(&table(&rows))?;
    Ok(())
}

/// The `planx.next/1` document.
pub(crate) fn document(global: &GlobalArgs, _args: &NextArgs) -> Result<Document, CliError> {
    let (ctx, _, _, ready) = ready(global)?;
    Ok(Document::yes(next_json(&ctx.plan, &ready)))
}

type Ready = (Context, Vec<state::PhaseStatus>, Vec<usize>, Vec<usize>);

/// The phases' states, the plan's order, and the phases ready to start, in that order.
fn ready(global: &GlobalArgs) -> Result<Ready, CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let statuses = state::derive(ctx.subject(), state::Notes::Open)?;
    let order = Graph::order(&ctx.plan).unwrap_or_else(|_| (0..ctx.plan.phases.len()).collect());
    let ready: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| statuses[i].state == State::Ready)
        .collect();
    Ok((ctx, statuses, order, ready))
}

fn next_json(plan: &Plan, ready: &[usize]) -> serde_json::Value {
    json!({
        "schema": "planx.next/1",
        "phases": ready.iter().map(|&i| json!({
            "id": plan.phases[i].id,
            "title": plan.phases[i].title,
            "branch": plan.branch(&plan.phases[i]),
            "command": format!("git planx start {}", plan.phases[i].id),
        })).collect::<Vec<_>>(),
    })
}
