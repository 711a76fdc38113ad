//! The `git-planx` binary: parse the command line, set up logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use git_planx::cli::{self, Cli};

// A command such as `status` builds and frees hundreds of thousands of small values (the
// plan, commits, notes); mimalloc makes that a third cheaper than the system allocator
// (docs/performance.md). Built without transparent huge pages (`no_thp`): the kernel zeroes a
// whole 2 MiB page at the first touch of mimalloc's arena, a third of a millisecond that every
// command, the commit hooks first, would pay for nothing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return refused_arguments(error),
    };
    git_planx::interrupt::install();
    let ui = cli::make_ui(&cli.global);
    // Logs are coloured as the rest of stderr is, which takes a `git config`: asked only when
    // logs are on (git-planx logs nothing at the default level), so that a command that
    // prints nothing (a hook letting a commit through) runs no git for it.
    let logs = !cli.global.quiet
        && (cli.global.verbose > 0 || std::env::var_os("PLANX_LOG").is_some_and(|v| !v.is_empty()));
    init_tracing(
        cli.global.verbose,
        cli.global.quiet,
        logs && ui.err_painter().enabled(),
    );
    match cli::run(&cli, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.reported && error.kind != git_planx::error::ErrorKind::BrokenPipe {
                ui.report_error(&error);
            }
            // Cleaned up: now end the way the signal asked, so the shell sees it.
            git_planx::interrupt::die_if_received();
            ExitCode::from(error.exit_code())
        }
    }
}

/// A command line clap refused: as clap shows it, or with `--json` as a `planx.error/1`
/// document (and the same error as text on stderr). Help and version are not errors.
fn refused_arguments(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let json = std::env::args_os()
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    let shown = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if !json || shown {
        error.exit();
    }
    let ui = git_planx::cli::ui::Ui::new(None, true, false);
    let error = git_planx::error::CliError::from_clap(&error);
    ui.report_error(&error);
    ExitCode::from(error.exit_code())
}

/// Logs go to stderr. `PLANX_LOG` (an `EnvFilter` directive such as `debug` or
/// `git_planx::plan=trace`) wins over `-v` / `-q`. Coloured only when stderr's other output is.
fn init_tracing(verbose: u8, quiet: bool, color: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "off",
        (false, 0) => "git_planx=warn",
        (false, 1) => "git_planx=debug",
        (false, _) => "git_planx=trace",
    };
    let filter = std::env::var("PLANX_LOG")
        .ok()
        .and_then(|directive| EnvFilter::try_new(directive).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_target(false)
        .init();
}
