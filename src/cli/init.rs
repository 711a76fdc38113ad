//! `git planx init`: write a commented example plan and configure git for planx notes.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::GlobalArgs;
use super::ui::{Style, Ui};
use crate::error::CliError;
use crate::git::Repo;
use crate::plan::{self, ids};

/// The example plan `init` writes; `{{id}}` and `{{base}}` are filled in.
const TEMPLATE: &str = include_str!("../plan/template.toml");

/// Create a commented example plan (.planx/plan.toml) and configure git for planx.
///
/// The plan takes its base from the current branch (also before the first commit). In the
/// repository's configuration it adds notes.rewriteRef=refs/notes/planx, so checkpoint notes
/// follow `commit --amend` and `rebase`, and sets notes.planx.mergeStrategy=cat_sort_uniq, so
/// notes written on several machines merge line by line.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing plan (the old file is kept beside it as <plan>.bak)
    #[arg(long)]
    pub force: bool,
    /// The base branch [default: the current branch]
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// The plan id [default: from the repository's folder name]
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
}

pub fn cmd_init(ui: &Ui, global: &GlobalArgs, args: &InitArgs) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let workdir = repo.require_workdir()?.to_path_buf();
    let (path, display) = plan::locate(global.plan.as_deref(), Some(&workdir))
        .expect("a work tree always gives a plan location");

    let id = match &args.id {
        Some(id) => {
            if let Some(problem) = ids::plan_id_problem(id) {
                return Err(CliError::usage(format!("`{id}` cannot be a plan id: {problem}"))
                    .hint("use lower-case letters, digits, `.`, `_` and `-`, like `refactor-providers`"));
            }
            id.clone()
        }
        None => id_from_folder(&workdir),
    };
    let mut notes = Vec::new();
    let base = match &args.base {
        Some(base) => base.clone(),
        None => match repo.current_branch()? {
            Some(branch) => branch,
            None => {
                let fallback = repo
                    .config_string("init.defaultBranch")?
                    .unwrap_or_else(|| "main".into());
                notes.push(format!(
                    "HEAD is detached, so the base is `{fallback}`; change `base` if phases should fork from another branch"
                ));
                fallback
            }
        },
    };
    if let Some(problem) = ids::branch_name_problem(&base) {
        return Err(CliError::usage(format!(
            "`{base}` cannot be the base branch: {problem}"
        )));
    }

    let mut backup = None;
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            return Err(CliError::repo_state(format!("{display} is a directory"))
                .hint("move it away, or name another plan file with --plan PATH"));
        }
        Ok(_) if !args.force => {
            return Err(CliError::repo_state(format!("a plan already exists at {display}"))
                .hint("check it with `git planx check`, or pass --force to replace it (the old file is kept under .git/planx/backup/)"));
        }
        Ok(_) => {
            let saved = keep_old_plan(&repo, &path)?;
            backup = Some(saved.display().to_string());
        }
        Err(_) => {}
    }
    let text = TEMPLATE.replace("{{id}}", &id).replace("{{base}}", &base);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| {
            CliError::repo_state(format!("cannot create {}", parent.display()))
                .because(e)
                .hint(
                    "check that you may write the work tree, or name another file with --plan PATH",
                )
        })?;
    }
    write_atomically(&path, &text).map_err(|e| {
        CliError::repo_state(format!("cannot write {display}"))
            .because(e)
            .hint("check that you may write there, or name another file with --plan PATH")
    })?;

    let mut config: Vec<(String, String, bool)> = repo
        .configure_notes()?
        .iter()
        .map(|(k, v, changed)| ((*k).to_owned(), (*v).to_owned(), *changed))
        .collect();
    // Each remote brings its notes and claims with a plain `git fetch` (docs/team.md).
    for remote in repo.remote_names()? {
        let added = crate::remote::configure(&repo, &remote)?;
        for spec in crate::remote::fetch_refspecs(&remote) {
            let changed = added.contains(&spec);
            config.push((format!("remote.{remote}.fetch"), spec, changed));
        }
    }

    if ui.json {
        ui.json(&json!({
            "schema": "planx.init/1",
            "plan": display,
            "id": id,
            "base": base,
            "backup": backup,
            "config": config.iter().map(|(k, v, changed)| json!({"key": k, "value": v, "changed": changed})).collect::<Vec<_>>(),
            "notes": notes,
        }))?;
        return Ok(());
    }
    if ui.quiet {
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = format!(
        "{} {display}: plan `{id}`, base `{base}`\n",
        p.paint(Style::Ok, "created")
    );
    if let Some(backup) = &backup {
        out.push_str(&format!("  the previous plan is kept as {backup}\n"));
    }
    for (key, value, changed) in config {
        let verb = if changed { "configured" } else { "already set" };
        out.push_str(&format!("{} {key} = {value}\n", p.paint(Style::Ok, verb)));
    }
    for note in &notes {
        out.push_str(&format!("{}: {note}\n", p.paint(Style::Warning, "note")));
    }
    out.push_str(&format!(
        "\nNext:\n  edit {display}: the phases, their files and checks\n  git planx check        validate it\n  git planx graph        see the phases and what runs in parallel\n  git add {display} && git commit -m \"Add the plan\"\n"
    ));
    ui.out(&out)?;
    Ok(())
}

/// A plan id made from the work tree's folder name, or `plan`.
fn id_from_folder(workdir: &Path) -> String {
    let name = workdir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while id.contains("--") || id.contains("..") {
        id = id.replace("--", "-").replace("..", ".");
    }
    let id = id
        .trim_matches(|c| matches!(c, '-' | '.' | '_'))
        .chars()
        .take(63)
        .collect::<String>();
    let id = id.trim_end_matches(['.', '-', '_']).to_owned();
    if ids::plan_id_problem(&id).is_none() {
        id
    } else {
        "plan".into()
    }
}

/// Writes through a temporary file in the same folder and renames it into place, so a reader
/// never sees half a plan.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Copies the plan about to be replaced to `.git/planx/backup/<name>.<n>` (the first `n` not
/// taken): inside the git folder, so that no `git add -A` picks it up, and never over an
/// earlier copy.
fn keep_old_plan(repo: &Repo, path: &Path) -> Result<PathBuf, CliError> {
    let dir = repo.state_dir().join("backup");
    let cannot = |what: &Path, e: std::io::Error| {
        CliError::repo_state(format!(
            "cannot keep a copy of the old plan at {}",
            what.display()
        ))
        .because(e)
    };
    fs::create_dir_all(&dir).map_err(|e| cannot(&dir, e))?;
    let name = path
        .file_name()
        .map_or("plan.toml".into(), |n| n.to_string_lossy().into_owned());
    let mut n = 1;
    loop {
        let saved = dir.join(format!("{name}.{n}"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&saved)
        {
            Ok(mut file) => {
                let text = fs::read(path).map_err(|e| cannot(&saved, e))?;
                std::io::Write::write_all(&mut file, &text).map_err(|e| cannot(&saved, e))?;
                return Ok(saved);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(cannot(&saved, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_folder_names() {
        assert_eq!(id_from_folder(Path::new("/x/My Project")), "my-project");
        assert_eq!(
            id_from_folder(Path::new("/x/--weird..name--")),
            "weird.name"
        );
        assert_eq!(id_from_folder(Path::new("/x/Ünïcode")), "n-code");
        assert_eq!(id_from_folder(Path::new("/x/___")), "plan");
    }
}
