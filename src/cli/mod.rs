//! The command line: clap types, one file per command, and the glue that gives each command
//! what it needs. Only this module writes to stdout and stderr (through [`ui::Ui`]).

mod accept;
mod agent_stop;
mod check;
mod checkpoint;
mod claim;
mod completions;
mod context;
mod demo;
mod finish;
mod graph;
mod hooks;
mod init;
mod log;
mod man;
mod mcp;
mod next;
mod reset;
mod resume;
mod run;
mod setup;
mod signers;
mod start;
mod status;
mod supervise;
mod sync;
mod trust;
pub mod ui;
mod verify;

// Review and reporting: brief, review, report, and the markdown and HTML they write.
mod brief;
mod html;
mod md;
mod report;
mod review;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::CliError;
use crate::git::Repo;
use crate::plan::{self, LoadedPlan};
use ui::{ColorChoice, Ui};

/// Plans executed in phases, with git as the record.
///
/// A plan (.planx/plan.toml) lists phases with dependencies, a file manifest and acceptance
/// checks. Each phase runs on its own branch; checkpoints are commits with Planx-* trailers and
/// notes in refs/notes/planx; verification compares the work with the manifest before merging.
#[derive(Debug, Parser)]
#[command(
    name = "git-planx",
    bin_name = "git planx",
    version,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes: listed under their own heading, after the command's own.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The plan file [default: .planx/plan.toml at the top of the work tree]
    #[arg(long, global = true, value_name = "PATH")]
    pub plan: Option<PathBuf>,
    /// Print one JSON document (schema "planx.<command>/1") instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Say more about what happens (-v debug, -vv trace; PLANX_LOG overrides)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only errors and the answer itself
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Run the plan's commands this once without them being trusted here (see `trust`)
    #[arg(long, global = true)]
    pub trust_once: bool,
    /// When to colour the output [default: color.planx, else color.ui, else auto]
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::InitArgs),
    Check(check::CheckArgs),
    Graph(graph::GraphArgs),
    Next(next::NextArgs),
    Start(start::StartArgs),
    Checkpoint(checkpoint::CheckpointArgs),
    Status(status::StatusArgs),
    Log(log::LogArgs),
    Verify(verify::VerifyArgs),
    Accept(accept::AcceptArgs),
    Finish(finish::FinishArgs),
    // Review and reporting.
    Brief(brief::BriefArgs),
    Review(review::ReviewArgs),
    Report(report::ReportArgs),
    Resume(resume::ResumeArgs),
    Reset(reset::ResetArgs),
    Run(run::RunArgs),
    Demo(demo::DemoArgs),
    Setup(setup::SetupArgs),
    Hooks(hooks::HooksArgs),
    Hook(hooks::HookArgs),
    Claim(claim::ClaimArgs),
    Sync(sync::SyncArgs),
    Trust(trust::TrustArgs),
    Untrust(trust::UntrustArgs),
    Signers(signers::SignersArgs),
    Mcp(mcp::McpArgs),
    InstallMan(man::InstallManArgs),
    Completions(completions::CompletionsArgs),
    #[command(name = "__complete-phases", hide = true)]
    CompletePhases(completions::CompletePhasesArgs),
    #[command(name = "__supervise", hide = true)]
    Supervise(supervise::SuperviseArgs),
}

/// Runs a parsed command line. A "no" answer (exit 1) is an error already shown
/// ([`crate::error::answer`]); every exit code is decided by the error's kind.
pub fn run(cli: &Cli, ui: &Ui) -> Result<(), CliError> {
    let result = run_command(cli, ui);
    // The work done, counted, for the benchmark's bounds (docs/performance.md): never timed.
    if std::env::var_os("PLANX_WORK_COUNTS").is_some_and(|v| v == "1") {
        let (visits, read) = crate::git::history::work_counts();
        ui.err(&format!(
            "planx-work: commit-visits={visits} commits-read={read}\n"
        ));
    }
    result
}

fn run_command(cli: &Cli, ui: &Ui) -> Result<(), CliError> {
    match &cli.command {
        Command::Init(args) => init::cmd_init(ui, &cli.global, args),
        Command::Check(args) => check::cmd_check(ui, &cli.global, args),
        Command::Graph(args) => graph::cmd_graph(ui, &cli.global, args),
        Command::Next(args) => next::cmd_next(ui, &cli.global, args),
        Command::Start(args) => start::cmd_start(ui, &cli.global, args),
        Command::Checkpoint(args) => checkpoint::cmd_checkpoint(ui, &cli.global, args),
        Command::Status(args) => status::cmd_status(ui, &cli.global, args),
        Command::Log(args) => log::cmd_log(ui, &cli.global, args),
        Command::Verify(args) => verify::cmd_verify(ui, &cli.global, args),
        Command::Accept(args) => accept::cmd_accept(ui, &cli.global, args),
        Command::Finish(args) => finish::cmd_finish(ui, &cli.global, args),
        Command::Brief(args) => brief::cmd_brief(ui, &cli.global, args),
        Command::Review(args) => review::cmd_review(ui, &cli.global, args),
        Command::Report(args) => report::cmd_report(ui, &cli.global, args),
        Command::Resume(args) => resume::cmd_resume(ui, &cli.global, args),
        Command::Reset(args) => reset::cmd_reset(ui, &cli.global, args),
        Command::Run(args) => run::cmd_run(ui, &cli.global, args),
        Command::Demo(args) => demo::cmd_demo(ui, &cli.global, args),
        Command::Setup(args) => setup::cmd_setup(ui, &cli.global, args),
        Command::Hooks(args) => hooks::cmd_hooks(ui, &cli.global, args),
        Command::Hook(args) => hooks::cmd_hook(ui, &cli.global, args),
        Command::Claim(args) => claim::cmd_claim(ui, &cli.global, args),
        Command::Sync(args) => sync::cmd_sync(ui, &cli.global, args),
        Command::Trust(args) => trust::cmd_trust(ui, &cli.global, args),
        Command::Untrust(args) => trust::cmd_untrust(ui, &cli.global, args),
        Command::Signers(args) => signers::cmd_signers(ui, &cli.global, args),
        Command::Mcp(args) => mcp::cmd_mcp(ui, &cli.global, args),
        Command::InstallMan(args) => man::cmd_install_man(ui, args),
        Command::Completions(args) => completions::cmd_completions(ui, args),
        Command::CompletePhases(_) => completions::cmd_complete_phases(ui, &cli.global),
        Command::Supervise(args) => supervise::cmd_supervise(ui, args),
    }
}

/// Builds the `Ui` the options ask for.
pub fn make_ui(global: &GlobalArgs) -> Ui {
    let ui = Ui::new(global.color, global.json, global.quiet);
    // Log lines on stderr would land in the middle of a spinner's line.
    if global.verbose > 0 || std::env::var_os("PLANX_LOG").is_some_and(|v| !v.is_empty()) {
        ui.without_progress()
    } else {
        ui
    }
}

/// Reads the plan: `--plan` if given (then a repository is optional), else the default path at
/// the top of the current repository's work tree. The result may hold errors.
fn read_plan(global: &GlobalArgs) -> Result<LoadedPlan, CliError> {
    let repo = match Repo::discover() {
        Ok(repo) => Some(repo),
        Err(e) if global.plan.is_none() => return Err(e.into()),
        Err(_) => None,
    };
    let workdir = repo.as_ref().and_then(Repo::workdir);
    let Some((path, display)) = plan::locate(global.plan.as_deref(), workdir) else {
        return Err(
            CliError::repo_state("this repository has no work tree to hold a plan")
                .hint("pass the plan file with --plan PATH"),
        );
    };
    let loaded = match &repo {
        Some(repo) => plan::load_file(&path, &display, &repo.path_facts())?,
        None => plan::load_file(&path, &display, &plan::NoPathFacts)?,
    };
    Ok(loaded)
}

pub(crate) use crate::report::short;

/// A command's `--json` document and its answer: yes (exit 0) or no (exit 1, the document
/// says why). The CLI prints it; the MCP server returns it as a tool's result.
pub(crate) struct Document {
    pub value: serde_json::Value,
    pub yes: bool,
}

impl Document {
    fn yes(value: serde_json::Value) -> Document {
        Document { value, yes: true }
    }

    /// Prints the document and gives the command's answer.
    fn print(self, ui: &Ui) -> Result<(), CliError> {
        ui.json(&self.value)?;
        crate::error::answer(self.yes)
    }
}

/// Reads the plan and insists that it is valid (exit 2 with every error otherwise).
fn read_valid_plan(global: &GlobalArgs) -> Result<plan::Plan, CliError> {
    let (plan, _warnings) = read_plan(global)?.into_valid()?;
    Ok(plan)
}
