//! Scratch worktrees: a detached checkout under planx's state folder, for work that must not
//! touch the user's work tree (verifying a phase that is not checked out, a merge's preflight).
//! Each is named after the process that made it, so one left by a killed process is known to
//! be stale and removed the next time a scratch path is asked for.

use std::path::{Path, PathBuf};

use super::{GitError, Oid, Repo};

/// A temporary folder path under planx's state folder, named after this process; scratch
/// worktrees left by processes that are gone (killed) are removed first.
pub fn scratch_path(repo: &Repo, name: &str) -> PathBuf {
    let dir = repo.state_dir().join("tmp");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let pid = file_name
                .to_string_lossy()
                .rsplit('-')
                .next()
                .and_then(|p| p.parse::<i32>().ok());
            // SAFETY: kill(2) with signal 0 only asks whether the process exists.
            let gone = pid.is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH));
            if gone {
                let _ = repo.remove_worktree(&entry.path());
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    dir.join(format!("{}-{}", name.replace('/', "-"), std::process::id()))
}

/// Runs `f` on a scratch worktree at `commit`, removing it afterwards whatever happens.
pub fn in_scratch<T, E: From<GitError>>(
    repo: &Repo,
    path: &Path,
    commit: Oid,
    f: impl FnOnce(&Repo) -> Result<T, E>,
) -> Result<T, E> {
    repo.add_detached_worktree(path, commit)?;
    let result = Repo::open(path).map_err(E::from).and_then(|work| f(&work));
    let removed = repo.remove_worktree(path);
    let value = result?;
    removed?;
    Ok(value)
}
