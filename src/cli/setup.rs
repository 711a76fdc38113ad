//! `git planx setup <agent> [--remove]`.

use clap::{Args, ValueEnum};
use serde_json::json;

use super::GlobalArgs;
use super::ui::{Style, Ui, table};
use crate::agents::setup::{self, Agent, Change};
use crate::error::CliError;
use crate::git::Repo;

/// Make a coding agent work the planx way in this repository.
///
/// Adds to the agent's own hook file a Stop hook that runs `git planx hook agent-stop` (the
/// agent cannot end its turn on a phase branch while `git planx verify` fails; after a few
/// blocks in a row, `planx.agentStopCap`, it may, and the phase is recorded blocked), and to
/// AGENTS.md a section, between marker lines, that tells an agent the protocol: read the brief,
/// checkpoint each step, verify before saying done, never edit the plan, record
/// `--blocked REASON` when a step cannot be done.
///
/// claude: .claude/settings.json, hooks Stop and SubagentStop, and SessionStart (the phase's
/// brief as the session's context: `git planx hook agent-start`). codex: .codex/hooks.json, hooks
/// Stop and SubagentStop. cursor: .cursor/hooks.json, hook stop (a follow-up message: Cursor
/// has no blocking stop). What is in those files is kept: planx adds its entries and nothing
/// else, and running setup again changes nothing. `--remove` takes out exactly planx's
/// parts, giving back the bytes that were there before.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The agent
    #[arg(value_enum)]
    pub agent: AgentArg,
    /// Take planx's parts out again
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AgentArg {
    Claude,
    Codex,
    Cursor,
}

impl From<AgentArg> for Agent {
    fn from(arg: AgentArg) -> Agent {
        match arg {
            AgentArg::Claude => Agent::Claude,
            AgentArg::Codex => Agent::Codex,
            AgentArg::Cursor => Agent::Cursor,
        }
    }
}

pub fn cmd_setup(ui: &Ui, _global: &GlobalArgs, args: &SetupArgs) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let agent = Agent::from(args.agent);
    let changes = setup::setup(&repo, agent, args.remove)?;
    if ui.json {
        return ui.json(&json!({
            "schema": "planx.setup/1",
            "agent": agent,
            "remove": args.remove,
            "files": changes,
        }));
    }
    if ui.quiet {
        return Ok(());
    }
    let p = ui.out_painter();
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let what = match c.change {
                Change::Created => p.paint(Style::Ok, "created"),
                Change::Updated => p.paint(Style::Ok, "updated"),
                Change::Unchanged => p.paint(Style::Dim, "unchanged"),
                Change::Removed => p.paint(Style::Ok, "planx's parts removed"),
                Change::Restored => p.paint(Style::Ok, "restored as it was"),
                Change::Deleted => p.paint(Style::Ok, "deleted (it held only planx's parts)"),
            };
            vec![format!("  {}", c.path), what]
        })
        .collect();
    let mut out = if args.remove {
        format!("{} taken out of this repository\n", agent.product())
    } else {
        format!("{} set up to work the planx way\n", agent.product())
    };
    out.push_str(&table(&rows));
    if !args.remove {
        let note = match agent {
            Agent::Claude => {
                "the Stop and SubagentStop hooks run `git planx hook agent-stop`: on a phase branch the agent cannot end its turn while verify fails"
            }
            Agent::Codex => {
                "the Stop and SubagentStop hooks run `git planx hook agent-stop --agent codex`; Codex asks you to review and trust new hooks before they run"
            }
            Agent::Cursor => {
                "the stop hook runs `git planx hook agent-stop --agent cursor`: Cursor has no blocking stop; planx sends the findings as a follow-up message (Cursor's loop_limit bounds them)"
            }
        };
        out.push_str(&format!("{} {note}\n", p.paint(Style::Dim, "note:")));
        out.push_str("commit these files to share them; `git planx setup ");
        out.push_str(agent.name());
        out.push_str(" --remove` takes planx's parts out again\n");
    }
    ui.out(&out)
}
