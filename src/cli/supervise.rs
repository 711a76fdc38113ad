//! `git-planx __supervise`: the supervisor `run` puts between itself and an executor, so that
//! the executor ends with planx (see [`crate::process::supervise`]). Not for people: hidden.

use clap::Args;

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

pub fn cmd_supervise(args: &SuperviseArgs) -> ! {
    crate::process::supervise(args.parent, args.holder_fd, &args.command)
}
