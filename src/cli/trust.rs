//! `git planx trust` / `untrust`: allow the plan's commands to run on this machine, or stop.

use clap::Args;
use serde_json::json;

use super::GlobalArgs;
use super::context::{Context, Need};
use super::ui::{Style, Ui};
use crate::clock;
use crate::error::CliError;
use crate::git::Repo;

use crate::trust::{self, Store};

/// Trust the plan's commands on this machine, after reading them.
///
/// Commands in a plan are code from the repository. Before `start`, `checkpoint`, `verify`,
/// `run` or a hook runs any of them, their exact set must be trusted here. This prints the set
/// and records its fingerprint for this repository in your own data folder, outside every
/// repository. When the commands change, they must be trusted again.
#[derive(Debug, Args)]
pub struct TrustArgs {}

/// Forget every command set trusted for this repository.
#[derive(Debug, Args)]
pub struct UntrustArgs {}

fn store() -> Result<Store, CliError> {
    Store::for_user().ok_or_else(|| {
        CliError::repo_state("cannot find a place for the trust store")
            .hint("set HOME (or XDG_DATA_HOME)")
    })
}

/// The command sets that can run from here: the plan on base, and — on a phase branch — the
/// plan at the phase's fork point, which judges it.
fn command_sets(ctx: &Context) -> Result<Vec<Vec<String>>, CliError> {
    let mut sets = vec![trust::plan_commands(&ctx.plan)];
    let branch = ctx.repo.current_branch()?;
    let on_phase = branch
        .as_deref()
        .and_then(|b| crate::state::judging::phase_of_branch(&ctx.plan, b))
        .is_some();
    if on_phase
        && let (Some(base), Some(head)) =
            (ctx.repo.base_tip(&ctx.plan.base)?, ctx.repo.head_commit()?)
        && let Some(fork) = ctx.repo.merge_base(base, head)?
        && let Some(plan) =
            crate::state::judging::plan_at(&ctx.repo, fork, &ctx.plan_path, &ctx.plan.base)?
    {
        let set = trust::plan_commands(&plan);
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    Ok(sets)
}

pub fn cmd_trust(ui: &Ui, global: &GlobalArgs, _args: &TrustArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let mut sets = command_sets(&ctx)?;
    let store = store()?;
    let key = trust::repo_key(ctx.repo.common_dir());
    let at = clock::format(clock::now());
    // The fork point's set first, so that base's set is the one trusted last.
    for set in sets.iter().skip(1) {
        store
            .trust(&key, set, &at)
            .map_err(|e| unwritable(&store, e))?;
    }
    let commands = sets.swap_remove(0);
    let added = store
        .trust(&key, &commands, &at)
        .map_err(|e| unwritable(&store, e))?;
    if ui.json {
        ui.json(&json!({
            "schema": "planx.trust/1",
            "repository": key,
            "fingerprint": trust::fingerprint(&commands),
            "commands": commands,
            "changed": added,
        }))?;
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = String::new();
    if commands.is_empty() {
        out.push_str("the plan has no commands; nothing needs trust\n");
    } else {
        out.push_str(&format!(
            "{} the plan's {} command{} in this repository:\n",
            p.paint(Style::Ok, if added { "trusted" } else { "already trusted" }),
            commands.len(),
            if commands.len() == 1 { "" } else { "s" }
        ));
        for c in &commands {
            out.push_str(&format!("  {c}\n"));
        }
    }
    if !ui.quiet {
        ui.out(&out)?;
    }
    Ok(())
}

pub fn cmd_untrust(ui: &Ui, _global: &GlobalArgs, _args: &UntrustArgs) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let store = store()?;
    let key = trust::repo_key(repo.common_dir());
    let removed = store.untrust(&key).map_err(|e| unwritable(&store, e))?;
    if ui.json {
        ui.json(&json!({"schema": "planx.untrust/1", "repository": key, "forgotten": removed}))?;
    } else if !ui.quiet {
        ui.out(&match removed {
            0 => "nothing was trusted for this repository\n".to_owned(),
            n => format!(
                "forgot {n} trusted command set{} for this repository\n",
                if n == 1 { "" } else { "s" }
            ),
        })?;
    }
    Ok(())
}

/// The trust store could not be written: what the system said, and where else it can live.
fn unwritable(store: &trust::Store, e: impl std::fmt::Display) -> CliError {
    CliError::repo_state(format!("cannot write {}", store.path().display()))
        .because(e)
        .hint("check that you may write that folder, or set XDG_DATA_HOME to one you may")
}
