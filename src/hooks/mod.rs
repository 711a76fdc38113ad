//! Hooks (SPEC §5): small shims in the effective hooks folder that call `git planx hook <name>`,
//! and what each hook decides ([`decide`]): a value (the refusals and notes, or a
//! [`decide::HookError`] saying why it could not judge) that the command line words.
//!
//! A hook that is already there is never lost: it is moved aside to `<hook>.planx-chained`,
//! byte for byte with its mode, and the shim runs it first, honouring its exit status;
//! `uninstall` moves it back. The shims are the scripts of the project's `hooks/` folder,
//! built in.

pub mod decide;
pub mod digest;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::git::Repo;
use crate::git::cli::git;

/// The hooks planx installs.
pub const HOOKS: [&str; 4] = ["pre-commit", "commit-msg", "pre-merge-commit", "pre-push"];
/// The marker that identifies a planx shim.
const MARKER: &str = "# planx-shim v1";
/// Where a hook that was there before is kept.
pub const CHAINED_SUFFIX: &str = ".planx-chained";

/// The shim for `hook`: the script of that name in the project's `hooks/` folder, so that what
/// is installed and what users copy are one text.
pub fn shim(hook: &str) -> &'static str {
    match hook {
        "pre-commit" => include_str!("../../hooks/pre-commit"),
        "commit-msg" => include_str!("../../hooks/commit-msg"),
        "pre-merge-commit" => include_str!("../../hooks/pre-merge-commit"),
        "pre-push" => include_str!("../../hooks/pre-push"),
        _ => "",
    }
}

/// The effective hooks folder and whether it is shared beyond this repository.
#[derive(Debug, Clone, Serialize)]
pub struct HooksDir {
    pub path: PathBuf,
    /// `core.hooksPath` points outside this repository (a folder other repositories use too).
    pub shared: bool,
    /// Where `core.hooksPath` is set, when it is.
    pub configured_in: Option<String>,
    /// `core.hooksPath` is a relative path: git resolves it in each work tree, so every linked
    /// worktree has a hooks folder of its own.
    pub relative: bool,
}

/// Finds the hooks folder the way git does (`git rev-parse --git-path hooks`), which honours
/// `core.hooksPath` and linked worktrees.
pub fn hooks_dir(repo: &Repo) -> Result<HooksDir, crate::git::GitError> {
    let top = repo.require_workdir()?.to_path_buf();
    let out = git(
        &top,
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
        None,
    )?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let (code, scope, _) =
        crate::git::cli::git_status(&top, &["config", "--show-scope", "--get", "core.hooksPath"])?;
    let configured_in = (code == 0).then(|| {
        String::from_utf8_lossy(&scope)
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned()
    });
    let inside = |base: &Path| {
        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
        let p = path.canonicalize().unwrap_or_else(|_| path.clone());
        p.starts_with(base)
    };
    let shared = configured_in.is_some() && !(inside(repo.common_dir()) || inside(&top));
    let relative = repo
        .config_string("core.hooksPath")?
        .is_some_and(|v| !v.starts_with('/') && !v.starts_with('~'));
    Ok(HooksDir {
        path,
        shared,
        configured_in,
        relative,
    })
}

/// What is installed for one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookState {
    /// Nothing.
    None,
    /// planx's shim.
    Planx,
    /// planx's shim, running the hook that was there before first.
    Chained,
    /// Someone else's hook, no planx shim.
    Foreign,
    /// Someone else's hook; a hook manager moved planx's shim aside, where it does not run.
    Displaced,
}

fn is_shim(path: &Path) -> bool {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).contains(MARKER))
        .unwrap_or(false)
}

/// The state of each hook in `dir`.
pub fn status(dir: &Path) -> Vec<(&'static str, HookState)> {
    HOOKS
        .iter()
        .map(|hook| {
            let path = dir.join(hook);
            let chained = dir.join(format!("{hook}{CHAINED_SUFFIX}"));
            let state = if !path.exists() {
                HookState::None
            } else if is_shim(&path) {
                if chained.exists() {
                    HookState::Chained
                } else {
                    HookState::Planx
                }
            } else if is_shim(&dir.join(format!("{hook}.old"))) {
                HookState::Displaced
            } else {
                HookState::Foreign
            };
            (*hook, state)
        })
        .collect()
}

/// What `install` or `uninstall` did to one hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Installed,
    /// The hook that was there is kept and runs first.
    Chained,
    Unchanged,
    Updated,
    Removed,
    /// The hook that was there before planx is back, byte for byte.
    Restored,
    /// Not planx's: left alone.
    LeftAlone,
}

/// Installs the shims into `dir`. Running it twice changes nothing.
pub fn install(dir: &Path) -> std::io::Result<Vec<(&'static str, Change)>> {
    fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let text = shim(hook);
        let change = if !path.exists() && fs::symlink_metadata(&path).is_err() {
            write_executable(&path, text)?;
            Change::Installed
        } else if is_shim(&path) {
            if fs::read(&path)? == text.as_bytes() {
                Change::Unchanged
            } else {
                write_executable(&path, text)?;
                Change::Updated
            }
        } else {
            let chained = dir.join(format!("{hook}{CHAINED_SUFFIX}"));
            if fs::symlink_metadata(&chained).is_ok() {
                return Err(std::io::Error::other(format!(
                    "{} is not planx's and {} already exists: move one of them away first",
                    path.display(),
                    chained.display()
                )));
            }
            // A rename keeps the bytes, the mode and even a symlink exactly as they were.
            fs::rename(&path, &chained)?;
            write_executable(&path, text)?;
            Change::Chained
        };
        out.push((hook, change));
    }
    Ok(out)
}

/// Removes the shims from `dir`, putting back what was there before.
pub fn uninstall(dir: &Path) -> std::io::Result<Vec<(&'static str, Change)>> {
    let mut out = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = dir.join(format!("{hook}{CHAINED_SUFFIX}"));
        let change = if fs::symlink_metadata(&path).is_err() {
            Change::Unchanged
        } else if is_shim(&path) {
            if fs::symlink_metadata(&chained).is_ok() {
                fs::rename(&chained, &path)?;
                Change::Restored
            } else {
                fs::remove_file(&path)?;
                Change::Removed
            }
        } else {
            Change::LeftAlone
        };
        out.push((hook, change));
    }
    Ok(out)
}

fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o755))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_chains_and_uninstall_restores_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("pre-commit");
        fs::write(&mine, b"#!/bin/sh\necho mine\n\xff").unwrap();
        fs::set_permissions(&mine, fs::Permissions::from_mode(0o750)).unwrap();
        let first = install(dir.path()).unwrap();
        assert_eq!(first[0], ("pre-commit", Change::Chained));
        assert_eq!(first[1], ("commit-msg", Change::Installed));
        let again = install(dir.path()).unwrap();
        assert!(again.iter().all(|(_, c)| *c == Change::Unchanged));
        assert_eq!(status(dir.path())[0], ("pre-commit", HookState::Chained));
        let removed = uninstall(dir.path()).unwrap();
        assert_eq!(removed[0], ("pre-commit", Change::Restored));
        assert_eq!(fs::read(&mine).unwrap(), b"#!/bin/sh\necho mine\n\xff");
        assert_eq!(
            fs::metadata(&mine).unwrap().permissions().mode() & 0o777,
            0o750
        );
        assert!(!dir.path().join("commit-msg").exists());
    }

    #[test]
    fn each_shim_is_marked_chains_and_calls_its_hook() {
        for hook in HOOKS {
            let text = shim(hook);
            assert!(text.starts_with("#!/bin/sh\n"), "{hook}");
            assert!(text.contains(MARKER), "{hook}");
            assert!(text.contains(&format!("{hook}{CHAINED_SUFFIX}")), "{hook}");
            assert!(
                text.contains(&format!("git-planx hook {hook} \"$@\"")),
                "{hook}"
            );
        }
    }
}
