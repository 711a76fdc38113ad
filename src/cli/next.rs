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

/// List the phases that can start now: not started, every dependency complete, and the plan
/// `ready` and committed on base.
///
/// The order is the plan's dependency order (ties in file order), so it is stable.
#[derive(Debug, Args)]
pub struct NextArgs {}

pub fn cmd_next(ui: &Ui, global: &GlobalArgs, _args: &NextArgs) -> Result<(), CliError> {
    let (ctx, statuses, order, ready) = ready(global)?;
    let plan = &ctx.plan;
    let current = ctx.repo.current_branch()?;
    let committed = matches!(ctx.origin, super::context::Origin::Base(_));
    let next = state::next_action(plan, &statuses, &order, current.as_deref(), committed);
    if ui.json {
        return Document::yes(next_json(plan, &ready, &next)).print(ui);
    }
    if ready.is_empty() {
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
    let mut out = table(&rows);
    // A phase that passed verify comes before any new start.
    if matches!(next, state::Next::Finish { .. }) {
        out.push_str(&format!("next: {}\n", next_text(&next, plan)));
    }
    ui.out(&out)?;
    Ok(())
}

/// The `planx.next/1` document.
pub(crate) fn document(global: &GlobalArgs, _args: &NextArgs) -> Result<Document, CliError> {
    let (ctx, statuses, order, ready) = ready(global)?;
    let current = ctx.repo.current_branch()?;
    let committed = matches!(ctx.origin, super::context::Origin::Base(_));
    let next = state::next_action(&ctx.plan, &statuses, &order, current.as_deref(), committed);
    Ok(Document::yes(next_json(&ctx.plan, &ready, &next)))
}

type Ready = (Context, Vec<state::PhaseStatus>, Vec<usize>, Vec<usize>);

/// The phases' states, the plan's order, and the phases ready to start, in that order.
fn ready(global: &GlobalArgs) -> Result<Ready, CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let statuses = state::derive_seen(ctx.subject(), state::Notes::Open)?;
    let order = Graph::order(&ctx.plan).unwrap_or_else(|_| (0..ctx.plan.phases.len()).collect());
    // Only a plan that is ready and committed on base lets a phase start.
    let startable = ctx.plan.status == crate::plan::PlanStatus::Ready
        && matches!(ctx.origin, super::context::Origin::Base(_));
    let ready: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| startable && statuses[i].state == State::Ready)
        .collect();
    Ok((ctx, statuses, order, ready))
}

fn next_json(plan: &Plan, ready: &[usize], next: &state::Next) -> serde_json::Value {
    json!({
        "schema": "planx.next/1",
        "next": super::status::next_json(next, plan),
        "phases": ready.iter().map(|&i| json!({
            "id": plan.phases[i].id,
            "title": plan.phases[i].title,
            "branch": plan.branch(&plan.phases[i]),
            "command": format!("git planx start {}", plan.phases[i].id),
        })).collect::<Vec<_>>(),
    })
}
