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

pub fn cmd_trust(ui: &Ui, global: &GlobalArgs, _args: &TrustArgs) -> Result<u8, CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let commands = trust::plan_commands(&ctx.plan);
    let store = store()?;
    let key = trust::repo_key(ctx.repo.common_dir());
    let added = store
        .trust(&key, &commands, &clock::format(clock::now()))
        .map_err(|e| {
            CliError::repo_state(format!("cannot write {}", store.path().display()))
                .hint(e.to_string())
        })?;
    if ui.json {
        ui.json(&json!({
            "schema": "planx.trust/1",
            "repository": key,
            "fingerprint": trust::fingerprint(&commands),
            "commands": commands,
            "changed": added,
        }))?;
        return Ok(0);
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
    Ok(0)
}

pub fn cmd_untrust(ui: &Ui, _global: &GlobalArgs, _args: &UntrustArgs) -> Result<u8, CliError> {
    let repo = Repo::discover()?;
    let store = store()?;
    let key = trust::repo_key(repo.common_dir());
    let removed = store.untrust(&key).map_err(|e| {
        CliError::repo_state(format!("cannot write {}", store.path().display())).hint(e.to_string())
    })?;
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
    Ok(0)
}
