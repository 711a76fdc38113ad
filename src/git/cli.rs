//! Running the `git` command for what must behave exactly as git does for the user: switching
//! branches (checkout filters, sparse checkouts, hooks), committing (hooks, signing, the
//! user's configuration), worktrees, and work-tree status (untracked cache, fsmonitor).
//! Always `git -C <dir>`, never a change of the process's own directory.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{GitError, Oid, Repo};

/// Output of a successful git command.
pub struct GitOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `git -C dir args…`, feeding `input` on stdin when given. A non-zero exit is an error
/// carrying git's own message.
pub fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Result<GitOutput, GitError> {
    tracing::debug!(dir = %dir.display(), ?args, "git");
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| GitError::Spawn { source })?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input)
            .map_err(|source| GitError::Spawn { source })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| GitError::Spawn { source })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(GitError::Command {
            args: args.join(" "),
            status: out.status.code(),
            stderr,
        });
    }
    Ok(GitOutput {
        stdout: out.stdout,
        stderr,
    })
}

/// A path with uncommitted changes, as `git status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyPath {
    /// Two-letter status, as in `git status --short` (`??` for untracked).
    pub status: String,
    pub path: String,
}

impl Repo {
    /// Paths with staged, unstaged or untracked (not ignored) changes in the work tree.
    pub fn dirty_paths(&self) -> Result<Vec<DirtyPath>, GitError> {
        let dir = self.require_workdir()?;
        let out = git(
            dir,
            &["status", "--porcelain=v1", "-z", "--untracked-files=all"],
            None,
        )?;
        let mut paths = Vec::new();
        let mut fields = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
        while let Some(field) = fields.next() {
            if field.len() < 4 {
                continue;
            }
            let status = String::from_utf8_lossy(&field[..2]).into_owned();
            let path = String::from_utf8_lossy(&field[3..]).into_owned();
            // A rename or copy is followed by its source path.
            if status.starts_with(['R', 'C']) {
                fields.next();
            }
            paths.push(DirtyPath { status, path });
        }
        Ok(paths)
    }

    /// `git switch <branch>` in the work tree.
    pub fn switch(&self, branch: &str) -> Result<(), GitError> {
        git(
            self.require_workdir()?,
            &["switch", "--quiet", branch],
            None,
        )
        .map(|_| ())
    }

    /// `git worktree add <path> <branch>`.
    pub fn add_worktree(&self, path: &Path, branch: &str) -> Result<(), GitError> {
        let path = path.to_string_lossy();
        git(
            self.require_workdir()?,
            &["worktree", "add", "--quiet", &path, branch],
            None,
        )
        .map(|_| ())
    }

    /// `git worktree add --detach <path> <commit>`, for a scratch checkout.
    pub fn add_detached_worktree(&self, path: &Path, commit: Oid) -> Result<(), GitError> {
        let path = path.to_string_lossy();
        let commit = commit.to_string();
        git(
            self.common_dir(),
            &["worktree", "add", "--quiet", "--detach", &path, &commit],
            None,
        )
        .map(|_| ())
    }

    /// `git worktree remove --force <path>`.
    pub fn remove_worktree(&self, path: &Path) -> Result<(), GitError> {
        let path = path.to_string_lossy();
        git(
            self.common_dir(),
            &["worktree", "remove", "--force", &path],
            None,
        )
        .map(|_| ())
    }

    /// The work tree where `branch` is checked out, if any (`git worktree list`).
    pub fn worktree_of_branch(&self, branch: &str) -> Result<Option<std::path::PathBuf>, GitError> {
        let out = git(
            self.common_dir(),
            &["worktree", "list", "--porcelain", "-z"],
            None,
        )?;
        let wanted = format!("branch refs/heads/{branch}");
        let mut current: Option<std::path::PathBuf> = None;
        for field in out.stdout.split(|b| *b == 0) {
            let field = String::from_utf8_lossy(field);
            if let Some(path) = field.strip_prefix("worktree ") {
                current = Some(std::path::PathBuf::from(path));
            } else if field == wanted {
                return Ok(current);
            }
        }
        Ok(None)
    }

    /// `git commit` of what is staged (or an empty commit), with `message` taken verbatim.
    /// The user's hooks run and their configuration (signing, identity) applies.
    pub fn commit_staged(&self, message: &str) -> Result<Oid, GitError> {
        let dir = self.require_workdir()?;
        git(
            dir,
            &[
                "commit",
                "--quiet",
                "--allow-empty",
                "--cleanup=verbatim",
                "--file=-",
            ],
            Some(message.as_bytes()),
        )?;
        self.head_commit()?.ok_or_else(|| GitError::Busy {
            what: "HEAD has no commit after `git commit`".into(),
        })
    }

    /// `git commit-tree`: a commit object with the given tree, parents and message, honouring the
    /// user's signing configuration. Moves no ref.
    pub fn commit_tree(&self, tree: Oid, parents: &[Oid], message: &str) -> Result<Oid, GitError> {
        let tree = tree.to_string();
        let parents: Vec<String> = parents.iter().map(Oid::to_string).collect();
        let mut args = vec!["commit-tree", tree.as_str()];
        for p in &parents {
            args.push("-p");
            args.push(p);
        }
        let out = git(self.common_dir(), &args, Some(message.as_bytes()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        Oid::from_str(text.trim()).map_err(super::git_err("`git commit-tree` printed no commit id"))
    }
}
