//! `git planx install-man`: install the manual pages, so that `git planx --help` (which git
//! turns into `man git-planx`) opens the main one.
//!
//! As for git's own commands, each command has a page of its own, `git-planx-<command>(1)`,
//! beside the main page `git-planx(1)` (which also holds every command's section, for reading
//! in one place). The pages are generated from the built-in help, so they never drift from it;
//! the sections clap cannot know (EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO) are written here
//! as roff. git opens a page only for `git planx --help`: for `git planx start --help` git
//! hands `--help` to git-planx, which prints the command's help itself (as every clap program
//! does), so a command's page is opened with `man git-planx-start`.

use std::fs;
use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::Cli;
use super::ui::{Style, Ui};
use crate::error::CliError;

/// Install the git-planx manual pages, so that `git planx --help` shows the main one.
///
/// git answers `git planx --help` by opening the manual page `git-planx`. This writes that page
/// (generated from the built-in help) and one page per command, git-planx-<command>.1 (`man
/// git-planx-start`), into DIR; by default into share/man/man1 beside the folder holding this
/// binary (for `cargo install`: ~/.cargo/share/man/man1), where `man` finds them. `git planx
/// -h` and `git planx <command> --help` work without them.
#[derive(Debug, Args)]
pub struct InstallManArgs {
    /// The folder to write git-planx.1 into
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn cmd_install_man(ui: &Ui, args: &InstallManArgs) -> Result<(), CliError> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            let unknown = || {
                CliError::repo_state("cannot tell where this binary is installed")
                    .hint("name the folder for the pages with --dir DIR")
            };
            let exe = std::env::current_exe().map_err(|e| unknown().because(e))?;
            let bin = exe.parent().ok_or_else(unknown)?;
            bin.parent().unwrap_or(bin).join("share/man/man1")
        }
    };
    fs::create_dir_all(&dir).map_err(|e| {
        CliError::repo_state(format!("cannot create {}", dir.display()))
            .because(e)
            .hint("choose another folder with --dir DIR")
    })?;
    let mut written = Vec::new();
    for (name, text) in pages()? {
        let path = dir.join(format!("{name}.1"));
        fs::write(&path, text).map_err(|e| {
            CliError::repo_state(format!("cannot write {}", path.display()))
                .because(e)
                .hint("choose another folder with --dir DIR")
        })?;
        written.push(path);
    }
    let path = &written[0];
    if ui.json {
        ui.json(
            &serde_json::json!({"schema": "planx.install-man/1", "path": path, "pages": written}),
        )?;
    } else if !ui.quiet {
        ui.out(&format!(
            "{} {}\n`git planx --help` now opens it (when {} is on man's path, as it is for a binary installed by cargo)\n",
            ui.out_painter().paint(Style::Ok, "installed"),
            path.display(),
            dir.parent().and_then(|d| d.parent()).map_or(dir.clone(), |d| d.to_path_buf()).display()
        ))?;
    }
    Ok(())
}

/// Every page, the main one first: (name, roff text).
fn pages() -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut command = Cli::command().name("git-planx").bin_name("git planx");
    command.build();
    let subs: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        .cloned()
        .collect();
    let mut pages = vec![("git-planx".to_owned(), main_page(&command, &subs)?)];
    for sub in &subs {
        let name = format!("git-planx-{}", sub.get_name());
        let man = clap_mangen::Man::new(
            sub.clone()
                .name(name.clone())
                .bin_name(format!("git planx {}", sub.get_name())),
        );
        let mut out = Vec::new();
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
        if sub.has_subcommands() {
            man.render_subcommands_section(&mut out)?;
        }
        out.extend_from_slice(EXIT_STATUS.as_bytes());
        out.extend_from_slice(ENVIRONMENT.as_bytes());
        out.extend_from_slice(FILES.as_bytes());
        out.extend_from_slice(b".SH \"SEE ALSO\"\n");
        out.extend_from_slice(see_also(&["git-planx"], &[]).as_bytes());
        pages.push((name, out));
    }
    Ok(pages)
}

/// The main page: the program's help, then a section per command, then the sections below.
fn main_page(command: &clap::Command, subs: &[clap::Command]) -> Result<Vec<u8>, CliError> {
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    for sub in subs {
        let mut body = Vec::new();
        let man = clap_mangen::Man::new(
            sub.clone()
                .bin_name(format!("git planx {}", sub.get_name())),
        );
        man.render_name_section(&mut body)?;
        man.render_synopsis_section(&mut body)?;
        man.render_description_section(&mut body)?;
        man.render_options_section(&mut body)?;
        let text = String::from_utf8_lossy(&body)
            .replace(
                ".SH NAME",
                &format!(".SH \"COMMAND: {}\"", sub.get_name().to_uppercase()),
            )
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH DESCRIPTION", ".SS Description")
            .replace(".SH OPTIONS", ".SS Options");
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(EXIT_STATUS.as_bytes());
    out.extend_from_slice(ENVIRONMENT.as_bytes());
    out.extend_from_slice(FILES.as_bytes());
    let commands: Vec<String> = subs
        .iter()
        .map(|s| format!("git-planx-{}", s.get_name()))
        .collect();
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    out.extend_from_slice(b".SH \"SEE ALSO\"\n");
    out.extend_from_slice(see_also(&commands, &["git", "git-worktree", "git-notes"]).as_bytes());
    out.extend_from_slice(b"and githooks(5).\n");
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// `name(1)` for each page, comma-separated, in bold as man pages cite each other.
fn see_also(pages: &[&str], more: &[&str]) -> String {
    let mut out = String::new();
    for name in pages.iter().chain(more) {
        out.push_str(&format!(".BR {} (1),\n", name.replace('-', "\\-")));
    }
    out
}

/// The exit codes (src/error.rs decides them).
const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
ok
.TP
.B 1
the answer is "no": verification failed, \fBcheck\fR found errors, a hook refused
.TP
.B 2
usage or invalid input: bad arguments, a bad or missing plan, an unknown phase, not a repository
.TP
.B 3
the repository's state refuses the operation: dirty work tree, conflict, lock held, lost race
.TP
.B 4
the plan's commands are not trusted on this machine (see \fBgit planx trust\fR)
.TP
.B 70
a bug in git\-planx itself (EX_SOFTWARE of sysexits.h), never the repository's fault
"#;

/// The environment variables git-planx reads, then those it sets for the commands it runs.
const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
.B PLANX_TRUST
\fB1\fR: run the plan's commands this once without them being trusted here, as \fB\-\-trust\-once\fR does (for CI); nothing is recorded.
.TP
.B PLANX_HOOKS
\fB0\fR: the hooks \fBgit planx hooks install\fR installed return at once (git's \fB\-\-no\-verify\fR for one commit).
.TP
.B PLANX_EXECUTOR
the command \fBgit planx run\fR runs for each phase when \fB\-\-executor\fR is not given; it wins over the plan's [run] executor.
.TP
.B PLANX_LOG
what is logged on stderr, as a filter (\fBdebug\fR, \fBgit_planx::plan=trace\fR); overrides \fB\-v\fR.
.TP
.B NO_COLOR
set: no colour, whatever \fB\-\-color\fR says.
.TP
.BR XDG_DATA_HOME ", " HOME
where the trust store is (see FILES).
.TP
.BR GITHUB_HEAD_REF ", " CI_MERGE_REQUEST_SOURCE_BRANCH_NAME ", " CI_COMMIT_BRANCH
in CI, the branch whose phase \fBverify\fR and \fBreview\fR judge when none is named and no branch is checked out.
.TP
.BR PLANX_PLAN ", " PLANX_PHASE
set by git\-planx for the plan's checks and for the executor of \fBrun\fR: the plan's id and the phase's.
.TP
.BR PLANX_BRIEF ", " PLANX_BRANCH ", " PLANX_WORKTREE
set by \fBgit planx run\fR for its executor: the phase's brief, its branch and its worktree.
"#;

/// Where git-planx keeps what it keeps (docs/data-model.md, docs/commands.md).
const FILES: &str = r#".SH FILES
.TP
.I .planx/plan.toml
the plan, at the top of the work tree (\fB\-\-plan\fR names another).
.TP
.I $XDG_DATA_HOME/git\-planx/trust.json
the trust store (by default \fI~/.local/share/git\-planx/trust.json\fR): the fingerprint of the commands trusted, per repository, outside every repository.
.TP
.I $GIT_COMMON_DIR/planx/
local state of one clone, never committed nor pushed: \fIworktrees/\fR of \fBrun\fR, \fIrun/\fR (briefs and executor logs), \fIlocks/\fR, \fItmp/\fR.
.TP
.I $GIT_COMMON_DIR/planx/cache/
cached answers (validated plans, what the hooks need, facts of base), keyed by what they were computed from; deleting them costs only time.
.TP
.I refs/notes/planx
not a file but the notes every checkpoint and verification writes, in the repository.
.TP
.I refs/notes/remotes/<remote>/planx
a remote's notes as \fBgit planx sync\fR (and, once configured, \fBgit fetch\fR) last fetched them, read beside the local ones.
"#;
