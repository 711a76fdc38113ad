//! `git-planx __supervise`: the supervisor `run` puts between itself and an executor, so that
//! the executor ends with planx (see [`crate::process::supervise`]). Not for people: hidden.

use clap::Args;

use super::ui::Ui;

/// The supervisor of an executor of `git planx run` (internal).
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The planx process the supervisor ends with
    #[arg(long)]
    pub parent: u32,
    /// The inherited descriptor of the executor's lock, to write the supervisor's id to
    #[arg(long)]
    pub holder_fd: Option<i32>,
    /// The executor's command, run with `sh -c`
    #[arg(last = true, required = true)]
    pub command: String,
}

/// Ends this process as the executor ended; returns only when `sh` cannot be started, and
/// then says so (on the executor's output, which goes to its log) and exits with 127.
pub fn cmd_supervise(ui: &Ui, args: &SuperviseArgs) -> ! {
    let error = crate::process::supervise(args.parent, args.holder_fd, &args.command);
    ui.err(&format!(
        "git-planx: cannot run `sh -c {}`: {error}\n",
        args.command
    ));
    std::process::exit(i32::from(crate::process::CANNOT_RUN))
}
