//! `git planx install-man`: install the manual page, so that `git planx --help` (which git
//! turns into `man git-planx`) opens it.

use std::fs;
use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::Cli;
use super::ui::{Style, Ui};
use crate::error::CliError;

/// Install the git-planx manual page, so that `git planx --help` shows it.
///
/// git answers `git planx --help` by opening the manual page `git-planx`. This writes that page
/// (generated from the built-in help) into DIR; by default into share/man/man1 beside the
/// folder holding this binary (for `cargo install`: ~/.cargo/share/man/man1), where `man` finds
/// it. `git planx -h` and `git planx <command> --help` work without it.
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
            let exe = std::env::current_exe()?;
            let bin = exe
                .parent()
                .ok_or_else(|| CliError::repo_state("cannot tell where this binary is"))?;
            bin.parent().unwrap_or(bin).join("share/man/man1")
        }
    };
    fs::create_dir_all(&dir).map_err(|e| {
        CliError::repo_state(format!("cannot create {}", dir.display()))
            .hint(e.to_string())
            .hint("choose another folder with --dir DIR")
    })?;
    let path = dir.join("git-planx.1");
    fs::write(&path, page()?).map_err(|e| {
        CliError::repo_state(format!("cannot write {}", path.display()))
            .hint(e.to_string())
            .hint("choose another folder with --dir DIR")
    })?;
    if ui.json {
        ui.json(&serde_json::json!({"schema": "planx.install-man/1", "path": path}))?;
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

/// The manual page: the main page followed by a section per command.
fn page() -> Result<Vec<u8>, CliError> {
    let command = Cli::command().name("git-planx").bin_name("git planx");
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    for sub in command.get_subcommands() {
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
    Ok(out)
}
