//! Running the `git` command for what must behave exactly as git does for the user: switching
//! branches (checkout filters, sparse checkouts, hooks), committing (hooks, signing, the
//! user's configuration), worktrees, and work-tree status (untracked cache, fsmonitor).
//! Always `git -C <dir>`, never a change of the process's own directory.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{GitError, Oid, Repo};

/// Output of a successful git command.
pub struct GitOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Variables with which git points a process at one repository, work tree and index (a hook
/// runs with them set). A git command aimed at another folder (`-C dir`), or a plan command run
/// in a phase's worktree, must not inherit them, or it would act on the wrong work tree.
/// The arguments of the `git diff --cached` the commit hooks run for the staged paths when
/// the index is one only git reads (see `git::index`).
pub const STAGED_ARGS: [&str; 6] = [
    "diff",
    "--cached",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "-z",
];

/// The arguments of the `git status` that verify reads the work tree with.
pub const WORK_TREE_ARGS: [&str; 5] = [
    "status",
    "--porcelain=v2",
    "-z",
    "--untracked-files=all",
    "--no-renames",
];

/// The arguments of the `git commit` a checkpoint is, before its message (`--file`).
pub const COMMIT_ARGS: [&str; 4] = ["commit", "--quiet", "--allow-empty", "--cleanup=verbatim"];

pub const LOCATION_VARIABLES: [&str; 5] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
];

/// Runs `git -C dir args…`, feeding `input` on stdin when given. A non-zero exit is an error
/// carrying git's own message.
pub fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Result<GitOutput, GitError> {
    let out = spawn(dir, args, input, true)?;
    succeeded(out, || args.join(" "))
}

/// Runs `git -C dir args…` and returns its exit code with its output, failing only when git
/// cannot be started (for commands whose non-zero exit is an answer, not an error).
pub fn git_status(dir: &Path, args: &[&str]) -> Result<(i32, Vec<u8>, String), GitError> {
    let out = spawn(dir, args, None, true)?;
    Ok((
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// [`git_status`] for a hook: git's own location variables are kept, so that the repository,
/// work tree and index git pointed the hook at are the ones read.
pub fn git_status_in_hook(dir: &Path, args: &[&str]) -> Result<(i32, Vec<u8>), GitError> {
    let out = spawn(dir, args, None, false)?;
    Ok((out.status.code().unwrap_or(-1), out.stdout))
}

/// Spawns `git -C dir args…` and waits for it, feeding `input` on stdin when given; with
/// `scrub`, the [`LOCATION_VARIABLES`] are removed from its environment.
pub(super) fn spawn<S: AsRef<OsStr> + std::fmt::Debug>(
    dir: &Path,
    args: &[S],
    input: Option<&[u8]>,
    scrub: bool,
) -> Result<Output, GitError> {
    tracing::debug!(dir = %dir.display(), ?args, "git");
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    if scrub {
        for var in LOCATION_VARIABLES {
            cmd.env_remove(var);
        }
    }
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| GitError::Spawn { source })?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // git may end before it reads its input (a pre-commit hook refused the commit): its exit
        // status and message say why, not the closed pipe.
        match stdin.write_all(input) {
            Err(source) if source.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(GitError::Spawn { source });
            }
            _ => {}
        }
    }
    child
        .wait_with_output()
        .map_err(|source| GitError::Spawn { source })
}

/// The user's settings for how output looks, as git itself reads them: every configuration
/// level, `git -c`, and `GIT_CONFIG_*` in the environment (which libgit2 does not read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputConfig {
    /// `color.planx`, the setting for this command as `color.diff` is for `git diff`.
    pub color_planx: Option<String>,
    /// `color.ui`, the setting for every command.
    pub color_ui: Option<String>,
    /// `core.quotePath`: whether paths with bytes above 0x7f are quoted (git's default: yes).
    pub quote_path: bool,
}

/// Reads [`OutputConfig`] with one `git config` for the repository of the current directory
/// (or none). When git cannot be run, git's defaults.
pub fn output_config() -> OutputConfig {
    let mut config = OutputConfig {
        quote_path: true,
        ..OutputConfig::default()
    };
    let args = [
        "config",
        "--get-regexp",
        r"^(color\.(ui|planx)|core\.quotepath)$",
    ];
    // Not scrubbed: in a hook, git's own variables point at the repository concerned.
    let Ok(out) = spawn(Path::new("."), &args, None, false) else {
        return config;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = value.trim().to_owned();
        match key {
            "color.planx" => config.color_planx = Some(value),
            "color.ui" => config.color_ui = Some(value),
            "core.quotepath" => config.quote_path = !is_false(&value),
            _ => {}
        }
    }
    config
}

/// git's reading of a boolean that is false (`git config --type=bool`); a key without a
/// value is true.
fn is_false(value: &str) -> bool {
    ["false", "no", "off", "0"]
        .iter()
        .any(|f| value.eq_ignore_ascii_case(f))
}

/// The output of a git command that succeeded; else an error with git's message and `args`
/// (as the error shows them).
pub(super) fn succeeded(out: Output, args: impl FnOnce() -> String) -> Result<GitOutput, GitError> {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(GitError::Command {
            args: args(),
            status: out.status.code(),
            stderr,
        });
    }
    Ok(GitOutput {
        stdout: out.stdout,
        stderr,
    })
}

/// The result of merging two commits without touching any work tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeResult {
    Clean { tree: Oid },
    Conflicts { paths: Vec<String> },
}

/// The entries of `git status --porcelain=v1 -z` output: each path with its two-letter status.
/// A rename or copy is followed by its source path, which is skipped.
fn status_entries(stdout: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut fields = stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
    std::iter::from_fn(move || {
        loop {
            let field = fields.next()?;
            if field.len() < 4 {
                continue;
            }
            if field.starts_with(b"R") || field.starts_with(b"C") {
                fields.next();
            }
            return Some((&field[..2], &field[3..]));
        }
    })
}

/// A path with uncommitted changes, as `git status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyPath {
    /// Two-letter status, as in `git status --short` (`??` for untracked).
    pub status: String,
    pub path: String,
}

impl DirtyPath {
    /// Whether a change of this path is staged for the next commit.
    pub fn is_staged(&self) -> bool {
        !matches!(
            self.status.as_bytes().first(),
            None | Some(b' ' | b'?' | b'!')
        )
    }
}

/// A path staged for the next commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedPath {
    /// git's status letter: `A`dded, `M`odified, `D`eleted, `T`ype changed, `U`nmerged.
    pub status: char,
    pub path: Vec<u8>,
    /// The staged content; `None` for a deletion.
    pub blob: Option<Oid>,
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
        Ok(status_entries(&out.stdout)
            .map(|(status, path)| DirtyPath {
                status: String::from_utf8_lossy(status).into_owned(),
                path: String::from_utf8_lossy(path).into_owned(),
            })
            .collect())
    }

    /// Merges `theirs` into `ours` in memory with git's own merge (`git merge-tree
    /// --write-tree`): no work tree, index or ref is touched.
    pub fn merge_tree(&self, ours: Oid, theirs: Oid) -> Result<MergeResult, GitError> {
        let (ours, theirs) = (ours.to_string(), theirs.to_string());
        let args = [
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            &ours,
            &theirs,
        ];
        let (code, stdout, stderr) = git_status(self.common_dir(), &args)?;
        let mut fields = stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
        match code {
            0 => {
                let tree = fields
                    .next()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .unwrap_or_default();
                let tree = Oid::from_str(tree.trim())
                    .map_err(super::git_err("`git merge-tree` printed no tree"))?;
                Ok(MergeResult::Clean { tree })
            }
            1 => {
                fields.next();
                let mut paths: Vec<String> = fields
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                paths.dedup();
                Ok(MergeResult::Conflicts { paths })
            }
            _ => Err(GitError::Command {
                args: args.join(" "),
                status: Some(code),
                stderr,
            }),
        }
    }

    /// Fast-forwards the branch checked out in the work tree `dir` to `commit`, updating that
    /// work tree (`git merge --ff-only`); git refuses when local changes would be overwritten.
    pub fn fast_forward_worktree(&self, dir: &Path, new: Oid) -> Result<(), GitError> {
        let _writing = super::ledger::writing();
        let there = Repo::open(dir)?;
        if let Some(branch) = there.current_branch()? {
            super::ledger::moved(
                &format!("refs/heads/{branch}"),
                there.head_commit()?,
                Some(new),
            );
        }
        let commit = new.to_string();
        git(dir, &["merge", "--ff-only", "--quiet", &commit], None).map(|_| ())
    }

    /// Deletes a local branch if it still points at `expected`.
    pub fn delete_branch(&self, branch: &str, expected: Oid) -> Result<bool, GitError> {
        let name = format!("refs/heads/{branch}");
        let _writing = super::ledger::writing();
        super::ledger::moved(&name, Some(expected), None);
        let expected = expected.to_string();
        let (code, _, _) = git_status(self.common_dir(), &["update-ref", "-d", &name, &expected])?;
        Ok(code == 0)
    }

    /// A fingerprint of the work tree in `dir`: what `git status` lists, with the content of
    /// every listed file. Ignored files are left out: build outputs do not count.
    pub fn worktree_fingerprint(&self, dir: &Path) -> Result<WorktreeFingerprint, GitError> {
        let out = git(
            dir,
            &[
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=dirty",
            ],
            None,
        )?;
        let mut paths = std::collections::BTreeMap::new();
        for (status, path) in status_entries(&out.stdout) {
            let full = dir.join(super::path::bytes_path(path));
            let content = match std::fs::symlink_metadata(&full) {
                Ok(m) if m.file_type().is_symlink() => std::fs::read_link(&full)
                    .map(|t| format!("link:{}", t.display()))
                    .unwrap_or_default(),
                Ok(m) if m.is_file() => std::fs::read(&full)
                    .map(|bytes| super::fingerprint(&bytes))
                    .unwrap_or_default(),
                Ok(_) => "other".to_owned(),
                Err(_) => "gone".to_owned(),
            };
            paths.insert(
                String::from_utf8_lossy(path).into_owned(),
                format!("{} {content}", String::from_utf8_lossy(status)),
            );
        }
        Ok(WorktreeFingerprint { paths })
    }

    /// The staged content of `path` when the next commit changes it, read in `dir` with the
    /// hook's own index (`GIT_INDEX_FILE`): `None` when the commit leaves it as it is,
    /// `Some(None)` when it deletes it.
    pub fn staged_file(&self, dir: &Path, path: &str) -> Result<Option<Option<Vec<u8>>>, GitError> {
        if let Some(answer) = self.staged_file_in_process(dir, path)? {
            return Ok(answer);
        }
        let args = [
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--",
            path,
        ];
        let out = succeeded(spawn(dir, &args, None, false)?, || args.join(" "))?;
        if out.stdout.is_empty() {
            return Ok(None);
        }
        let out = spawn(dir, &["cat-file", "blob", &format!(":{path}")], None, false)?;
        Ok(Some(out.status.success().then_some(out.stdout)))
    }

    /// What is staged for the next commit, with a hook's `GIT_DIR` and `GIT_INDEX_FILE` (the
    /// temporary index of `git commit -- path`) the ones read: in-process
    /// ([`Repo::staged_in_process`]), else from `git diff --cached` run in `dir`. Renames are a
    /// deletion and an addition.
    pub fn staged(&self, dir: &Path) -> Result<Vec<StagedPath>, GitError> {
        match self.staged_in_process(dir)? {
            Some(staged) => Ok(staged),
            None => self.staged_by_git(dir),
        }
    }

    /// [`Repo::staged`] from `git diff --cached`, for an index only git reads.
    pub fn staged_by_git(&self, dir: &Path) -> Result<Vec<StagedPath>, GitError> {
        // The git command keeps the hook's GIT_DIR and GIT_INDEX_FILE.
        let args = STAGED_ARGS;
        let out = succeeded(spawn(dir, &args, None, false)?, || args.join(" "))?;
        let mut fields = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
        let mut staged = Vec::new();
        // `:<old mode> <new mode> <old id> <new id> <status>`, then the path.
        while let (Some(raw), Some(path)) = (fields.next(), fields.next()) {
            let raw = String::from_utf8_lossy(raw);
            let mut parts = raw.split(' ').skip(3);
            let blob = parts
                .next()
                .and_then(|id| Oid::from_str(id).ok())
                .filter(|id| !id.is_zero());
            let status = parts.next().and_then(|s| s.chars().next()).unwrap_or('?');
            staged.push(StagedPath {
                status,
                path: path.to_vec(),
                blob,
            });
        }
        Ok(staged)
    }

    /// `git switch <branch>` in the work tree.
    pub fn switch(&self, branch: &str) -> Result<(), GitError> {
        self.worktree_admin(|| {
            git(
                self.require_workdir()?,
                &["switch", "--quiet", branch],
                None,
            )
            .map(|_| ())
        })
    }

    /// Holds planx's lock on the repository's worktree list while `f` runs. `git worktree add`
    /// writes a new entry's files one after another, and a git command that scans the list
    /// meanwhile (another `worktree add`, `worktree list`, `switch`) can read a half-written
    /// entry and die; planx's own worktree commands, run side by side by `run`, take turns.
    fn worktree_admin<T>(&self, f: impl FnOnce() -> Result<T, GitError>) -> Result<T, GitError> {
        let _lock = crate::lock::Lock::wait(&self.locks_dir(), "worktrees")
            .map_err(|source| GitError::Lock { source })?;
        f()
    }

    /// `git worktree add <path> <branch>`.
    pub fn add_worktree(&self, path: &Path, branch: &str) -> Result<(), GitError> {
        self.worktree_admin(|| {
            let path = path.to_string_lossy();
            git(
                self.require_workdir()?,
                &["worktree", "add", "--quiet", &path, branch],
                None,
            )
            .map(|_| ())
        })
    }

    /// `git worktree add --detach <path> <commit>`, for a scratch checkout.
    pub fn add_detached_worktree(&self, path: &Path, commit: Oid) -> Result<(), GitError> {
        self.worktree_admin(|| {
            let path = path.to_string_lossy();
            let commit = commit.to_string();
            git(
                self.common_dir(),
                &["worktree", "add", "--quiet", "--detach", &path, &commit],
                None,
            )
            .map(|_| ())
        })
    }

    /// `git worktree remove --force <path>`.
    pub fn remove_worktree(&self, path: &Path) -> Result<(), GitError> {
        self.worktree_admin(|| {
            let path = path.to_string_lossy();
            git(
                self.common_dir(),
                &["worktree", "remove", "--force", &path],
                None,
            )
            .map(|_| ())
        })
    }

    /// `git worktree remove <path>`: only when the worktree is clean (git refuses otherwise, and
    /// nothing is lost).
    pub fn remove_clean_worktree(&self, path: &Path) -> Result<(), GitError> {
        self.worktree_admin(|| {
            let path = path.to_string_lossy();
            git(self.common_dir(), &["worktree", "remove", &path], None).map(|_| ())
        })
    }

    /// Detaches the HEAD of the work tree in `dir` where it is (its files stay as they are).
    pub fn detach_worktree(&self, dir: &Path) -> Result<(), GitError> {
        git(dir, &["checkout", "--quiet", "--detach"], None).map(|_| ())
    }

    /// The work tree where `branch` is checked out, if any (`git worktree list`).
    pub fn worktree_of_branch(&self, branch: &str) -> Result<Option<std::path::PathBuf>, GitError> {
        self.worktree_admin(|| {
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
        })
    }

    /// `git add -A`: every change of the work tree, untracked files too (ignored ones not).
    pub fn stage_all(&self) -> Result<(), GitError> {
        git(self.require_workdir()?, &["add", "-A"], None).map(|_| ())
    }

    /// `git commit` of what is staged (or an empty commit), with `message` taken verbatim.
    /// The user's hooks run (unless `no_verify`) and their configuration (signing, identity)
    /// applies.
    pub fn commit_staged(&self, message: &str, no_verify: bool) -> Result<Oid, GitError> {
        let dir = self.require_workdir()?;
        let _writing = super::ledger::writing();
        let (branch, old) = (self.current_branch()?, self.head_commit()?);
        let mut args = COMMIT_ARGS.to_vec();
        args.push("--file=-");
        if no_verify {
            args.push("--no-verify");
        }
        match git(dir, &args, Some(message.as_bytes())) {
            // git exits 1, having printed the hook's output, when a commit hook refuses; its
            // own failures (identity, signing, a lock) end in `fatal:` with 128.
            Err(GitError::Command {
                status: Some(1),
                stderr,
                ..
            }) if !no_verify && self.has_commit_hook(dir) => {
                return Err(GitError::HookRefused { output: stderr });
            }
            other => other?,
        };
        let new = self.head_commit()?.ok_or_else(|| GitError::Busy {
            what: "HEAD has no commit after `git commit`".into(),
        })?;
        if let Some(branch) = branch {
            super::ledger::moved(&format!("refs/heads/{branch}"), old, Some(new));
        }
        Ok(new)
    }

    /// Whether a hook that can refuse a commit is installed where git looks for hooks.
    fn has_commit_hook(&self, dir: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        let Ok(out) = git(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
            None,
        ) else {
            return false;
        };
        let hooks = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        ["pre-commit", "prepare-commit-msg", "commit-msg"]
            .iter()
            .any(|name| {
                std::fs::metadata(hooks.join(name))
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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

/// What `git status` lists in a work tree, each path with its status and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeFingerprint {
    paths: std::collections::BTreeMap<String, String>,
}

impl WorktreeFingerprint {
    /// Whether `path` is listed as untracked (and not ignored).
    pub fn is_untracked(&self, path: &str) -> bool {
        self.paths.get(path).is_some_and(|s| s.starts_with("??"))
    }

    /// The paths whose status or content differ from `before`, in path order.
    pub fn changed_since(&self, before: &WorktreeFingerprint) -> Vec<String> {
        let mut changed: Vec<String> = self
            .paths
            .iter()
            .filter(|(path, state)| before.paths.get(*path) != Some(*state))
            .map(|(path, _)| path.clone())
            .collect();
        changed.extend(
            before
                .paths
                .keys()
                .filter(|path| !self.paths.contains_key(*path))
                .cloned(),
        );
        changed.sort();
        changed
    }
}
