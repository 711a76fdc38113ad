//! The repository, as git-planx sees it: the only module that talks to libgit2 (through git2).
//!
//! [`Repo`] is a narrow wrapper: every call turns a git2 error into a [`GitError`] that says
//! what was being done, and "not found" becomes `Option`. Objects, refs, notes and history are
//! read and written with libgit2; operations on the work tree that users expect to behave
//! exactly like git (switching branches, committing with hooks and signing, worktrees) run the
//! `git` command itself, see [`cli`].

pub mod changes;
pub mod cli;
pub mod history;
pub mod index;
pub mod ledger;
pub mod notes;
pub mod path;
pub mod remote;
pub mod scratch;
pub mod trailers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use git2::Oid;

use crate::plan::PathFacts;

/// Commits read from git by [`Repo::commit_info`] in this process (see
/// [`history::work_counts`]).
static COMMITS_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn commits_read() -> u64 {
    COMMITS_READ.load(std::sync::atomic::Ordering::Relaxed)
}

/// What went wrong talking to the repository.
#[derive(Debug, Error)]
pub enum GitError {
    #[error("not a git repository (or any parent folder): {path}")]
    NotARepository {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("{path} is a bare repository; this needs a work tree")]
    Bare { path: PathBuf },
    #[error("{what}")]
    Unsupported { what: String, hint: String },
    #[error("{what}")]
    Busy { what: String },
    /// Another process holds a ref's lock file, or one was left behind by a process that died.
    #[error("{reference} is locked: {} exists", lock.display())]
    RefLocked { reference: String, lock: PathBuf },
    #[error("{what}")]
    Git {
        what: String,
        #[source]
        source: git2::Error,
    },
    #[error("`git {args}` failed")]
    Command {
        args: String,
        status: Option<i32>,
        stderr: String,
    },
    /// A hook of the repository (pre-commit, prepare-commit-msg, commit-msg) refused a commit.
    #[error("a hook refused the commit")]
    HookRefused { output: String },
    #[error("cannot run `git`")]
    Spawn {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take planx's lock on the worktree list")]
    Lock {
        #[source]
        source: std::io::Error,
    },
}

/// Attempts at a ref found locked before planx gives up: about a second. A lock is held for
/// milliseconds by a process writing the ref; one that stays was left by a process that died,
/// and waiting longer would not help (git itself waits 100 ms, `core.filesRefLockTimeout`).
pub(crate) const LOCKED_ATTEMPTS: u32 = 40;

/// The pause between two attempts at a locked ref.
pub(crate) fn thread_sleep_locked() {
    std::thread::sleep(std::time::Duration::from_millis(25));
}

fn read_err(key: &str) -> impl FnOnce(git2::Error) -> GitError {
    git_err(format!("cannot read `{key}`"))
}

/// Why a change of the configuration failed: a read or the lock, or the write itself.
enum ConfigWriteError {
    Git(GitError),
    Set(git2::Error),
}

impl ConfigWriteError {
    fn for_key(self, key: &str) -> GitError {
        match self {
            ConfigWriteError::Git(e) => e,
            ConfigWriteError::Set(source) => GitError::Git {
                what: format!("cannot set `{key}` in the repository's configuration"),
                source,
            },
        }
    }
}

pub(crate) fn git_err(what: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let what = what.into();
    move |source| GitError::Git { what, source }
}

/// Facts about one commit.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: Oid,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// The full message, lossily decoded.
    pub message: String,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// The message's trailers, parsed the first time they are asked for (a derivation asks
    /// two or three times for each commit).
    trailers: std::sync::OnceLock<Vec<trailers::Trailer>>,
}

impl CommitInfo {
    /// The facts of commit `id`, as [`Repo::commit_info`] reads them (or read them earlier).
    pub fn new(id: Oid, tree: Oid, parents: Vec<Oid>, message: String, time: i64) -> CommitInfo {
        CommitInfo {
            id,
            tree,
            parents,
            message,
            time,
            trailers: std::sync::OnceLock::new(),
        }
    }

    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    pub fn trailers(&self) -> &[trailers::Trailer] {
        self.trailers.get_or_init(|| trailers::parse(&self.message))
    }
}

/// The fields of [`CommitInfo`] from a commit object's bytes (`tree`, `parent`…, `author`,
/// `committer`, other headers, a blank line, the message), `None` for anything this parse
/// does not take (libgit2 then reads the commit, and says what is wrong with it).
fn parse_commit(id: Oid, data: &[u8]) -> Option<CommitInfo> {
    // The headers end at the first empty line; a header's continuation lines (a signature's)
    // start with a space, so none is empty. No empty line: no message.
    let (headers, message) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(end) => (&data[..=end], &data[end + 2..]),
        None => (data, &data[data.len()..]),
    };
    let mut lines = headers.split_inclusive(|&b| b == b'\n');
    let hex_after = |line: &[u8], key: &[u8]| -> Option<Oid> {
        let hex = line.strip_prefix(key)?.strip_suffix(b"\n")?;
        (hex.len() == 40)
            .then(|| Oid::from_str(std::str::from_utf8(hex).ok()?).ok())
            .flatten()
    };
    let tree = hex_after(lines.next()?, b"tree ")?;
    let mut parents = Vec::new();
    let mut line = lines.next()?;
    while line.starts_with(b"parent ") {
        parents.push(hex_after(line, b"parent ")?);
        line = lines.next()?;
    }
    line.starts_with(b"author ").then_some(())?;
    let committer = lines.next()?.strip_prefix(b"committer ")?;
    // `Name <email> <seconds> <zone>`: the seconds follow the last `>`.
    let after = &committer[committer.iter().rposition(|&b| b == b'>')? + 1..];
    let seconds = after
        .split(|&b| b == b' ')
        .find(|field| !field.is_empty())?;
    let time = std::str::from_utf8(seconds).ok()?.parse::<i64>().ok()?;
    let message = String::from_utf8_lossy(message).into_owned();
    Some(CommitInfo::new(id, tree, parents, message, time))
}

/// An operation git has in progress in the work tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InProgress {
    Merge,
    Rebase,
    CherryPick,
    Revert,
    Bisect,
    ApplyMailbox,
}

impl InProgress {
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            InProgress::Merge => (
                "a merge",
                "finish it with `git commit` or stop it with `git merge --abort`",
            ),
            InProgress::Rebase => (
                "a rebase",
                "finish it with `git rebase --continue` or stop it with `git rebase --abort`",
            ),
            InProgress::CherryPick => (
                "a cherry-pick",
                "finish it or stop it with `git cherry-pick --abort`",
            ),
            InProgress::Revert => ("a revert", "finish it or stop it with `git revert --abort`"),
            InProgress::Bisect => ("a bisect", "end it with `git bisect reset`"),
            InProgress::ApplyMailbox => ("`git am`", "finish it or stop it with `git am --abort`"),
        }
    }
}

/// An open repository.
pub struct Repo {
    inner: git2::Repository,
    /// Whether the repository is a shallow clone, asked once: its commits are read through
    /// libgit2, which cuts their parents at the shallow boundary (see [`Repo::commit_info`]).
    shallow: std::sync::OnceLock<bool>,
}

impl Repo {
    fn wrap(inner: git2::Repository) -> Repo {
        Repo {
            inner,
            shallow: std::sync::OnceLock::new(),
        }
    }

    /// Opens the repository the way git does: from `GIT_DIR`, `GIT_WORK_TREE` and
    /// `GIT_INDEX_FILE` when set (as in a hook), else by searching upwards from the current
    /// directory; linked worktrees work as they do for git.
    pub fn discover() -> Result<Repo, GitError> {
        configure_libgit2();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        match git2::Repository::open_from_env() {
            Ok(inner) => Ok(Repo::wrap(inner)),
            Err(source) => Err(classify_open_error(cwd, source)),
        }
    }

    /// Opens the repository at or above `path`.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        configure_libgit2();
        match git2::Repository::discover(path) {
            Ok(inner) => Ok(Repo::wrap(inner)),
            Err(source) => Err(classify_open_error(path.to_path_buf(), source)),
        }
    }

    /// The repository's git folder (of this worktree): where another thread opens it again.
    pub fn git_dir(&self) -> &Path {
        self.inner.path()
    }

    /// The top of the work tree, if there is one.
    pub fn workdir(&self) -> Option<&Path> {
        self.inner.workdir()
    }

    /// The top of the work tree; a bare repository is refused.
    pub fn require_workdir(&self) -> Result<&Path, GitError> {
        self.inner.workdir().ok_or_else(|| GitError::Bare {
            path: self.inner.path().to_path_buf(),
        })
    }

    /// The folder shared by all worktrees (`$GIT_COMMON_DIR`).
    pub fn common_dir(&self) -> &Path {
        self.inner.commondir()
    }

    /// Where planx keeps local-only state: `$GIT_COMMON_DIR/planx`.
    pub fn state_dir(&self) -> PathBuf {
        self.common_dir().join("planx")
    }

    /// Where planx's local locks live ([`crate::lock`]).
    pub fn locks_dir(&self) -> PathBuf {
        self.state_dir().join("locks")
    }

    pub fn is_shallow(&self) -> bool {
        self.inner.is_shallow()
    }

    /// The branch HEAD is on (also on an unborn branch, before the first commit), or `None`
    /// when HEAD is detached.
    pub fn current_branch(&self) -> Result<Option<String>, GitError> {
        let head = self
            .inner
            .find_reference("HEAD")
            .map_err(git_err("cannot read HEAD"))?;
        let target = head
            .symbolic_target()
            .map_err(git_err("HEAD names a branch that is not UTF-8"))?;
        Ok(target
            .and_then(|target| target.strip_prefix("refs/heads/"))
            .map(str::to_owned))
    }

    /// The commit HEAD points at, `None` before the first commit.
    pub fn head_commit(&self) -> Result<Option<Oid>, GitError> {
        match self.inner.head() {
            Ok(head) => Ok(head.target()),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(git_err("cannot read HEAD")(e)),
        }
    }

    /// What a ref points at, `None` when it does not exist.
    pub fn ref_target(&self, name: &str) -> Result<Option<Oid>, GitError> {
        match self.inner.refname_to_id(name) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(format!("cannot read {name}"))(e)),
        }
    }

    /// The tip of a local branch.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<Oid>, GitError> {
        self.ref_target(&format!("refs/heads/{branch}"))
    }

    /// The tip of the base branch: the local branch, or `origin`'s copy of it when there is no
    /// local one (a CI checkout).
    pub fn base_tip(&self, base: &str) -> Result<Option<Oid>, GitError> {
        match self.branch_tip(base)? {
            Some(tip) => Ok(Some(tip)),
            None => self.ref_target(&format!("refs/remotes/origin/{base}")),
        }
    }

    /// Local branch names starting with `prefix`.
    pub fn branches_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Oid)>, GitError> {
        let glob = format!("refs/heads/{prefix}*");
        let refs = self
            .inner
            .references_glob(&glob)
            .map_err(git_err("cannot list branches"))?;
        let mut out = Vec::new();
        for r in refs {
            let r = r.map_err(git_err("cannot list branches"))?;
            if let (Ok(name), Some(target)) = (r.name(), r.target()) {
                out.push((name.trim_start_matches("refs/heads/").to_owned(), target));
            }
        }
        Ok(out)
    }

    /// The tips of the local branches whose names start with `prefix`, by name, read in one
    /// pass over the refs (a branch that is a symbolic ref counts with the branch it names):
    /// for a thousand phase branches, far cheaper than a thousand lookups.
    pub fn branch_tips(&self, prefix: &str) -> Result<HashMap<String, Oid>, GitError> {
        let fail = || git_err("cannot list branches");
        let glob = format!("refs/heads/{prefix}*");
        let mut out = HashMap::new();
        for r in self.inner.references_glob(&glob).map_err(fail())? {
            let r = r.map_err(fail())?;
            let target = match r.target() {
                Some(target) => Some(target),
                None => r.resolve().ok().and_then(|r| r.target()),
            };
            if let (Ok(name), Some(target)) = (r.name(), target) {
                out.insert(name.trim_start_matches("refs/heads/").to_owned(), target);
            }
        }
        Ok(out)
    }

    /// Every ref whose full name starts with `prefix` (`refs/planx/claims/`), with what it
    /// points at, in name order; symbolic refs are left out.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>, GitError> {
        let fail = || git_err(format!("cannot list the refs under {prefix}"));
        let glob = format!("{prefix}*");
        let mut out = Vec::new();
        for r in self.inner.references_glob(&glob).map_err(fail())? {
            let r = r.map_err(fail())?;
            if let (Ok(name), Some(target)) = (r.name(), r.target()) {
                out.push((name.to_owned(), target));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Creates `<prefix>/<n>` at `target` for the first `n` from 1 not taken, and returns its
    /// name: a backup that never replaces an earlier one.
    pub fn create_numbered_ref(
        &self,
        prefix: &str,
        target: Oid,
        log: &str,
    ) -> Result<String, GitError> {
        for n in 1.. {
            let name = format!("{prefix}/{n}");
            match self.inner.reference(&name, target, false, log) {
                Ok(_) => return Ok(name),
                Err(e) if e.code() == git2::ErrorCode::Exists => {}
                Err(e) => return Err(git_err(format!("cannot create {name}"))(e)),
            }
        }
        unreachable!("a number is free")
    }

    /// Creates `refs/heads/<branch>` at `target` only if it does not exist. `false` when it
    /// already exists (someone else created it first).
    pub fn create_branch_exclusive(
        &self,
        branch: &str,
        target: Oid,
        log: &str,
    ) -> Result<bool, GitError> {
        let name = format!("refs/heads/{branch}");
        let _writing = ledger::writing();
        ledger::moved(&name, None, Some(target));
        for _ in 0..LOCKED_ATTEMPTS {
            match self.inner.reference(&name, target, false, log) {
                Ok(_) => return Ok(true),
                Err(e) if e.code() == git2::ErrorCode::Exists => return Ok(false),
                Err(e) if e.code() == git2::ErrorCode::Locked => thread_sleep_locked(),
                Err(e) => return Err(git_err(format!("cannot create branch {branch}"))(e)),
            }
        }
        Err(self.ref_locked(name))
    }

    /// The error for a ref whose lock file stayed through [`LOCKED_ATTEMPTS`].
    pub(crate) fn ref_locked(&self, reference: String) -> GitError {
        GitError::RefLocked {
            lock: self.common_dir().join(format!("{reference}.lock")),
            reference,
        }
    }

    /// Moves `refs/heads/<branch>` from `old` to `new`; `false` when it no longer points at
    /// `old` (someone else moved it), [`GitError::RefLocked`] when its lock file stays.
    pub fn move_branch(
        &self,
        branch: &str,
        new: Oid,
        old: Oid,
        log: &str,
    ) -> Result<bool, GitError> {
        let name = format!("refs/heads/{branch}");
        let _writing = ledger::writing();
        ledger::moved(&name, Some(old), Some(new));
        for _ in 0..LOCKED_ATTEMPTS {
            match self.inner.reference_matching(&name, new, true, old, log) {
                Ok(_) => return Ok(true),
                Err(e) if e.code() == git2::ErrorCode::Modified => return Ok(false),
                Err(e) if e.code() == git2::ErrorCode::Locked => thread_sleep_locked(),
                Err(e) => return Err(git_err(format!("cannot update branch {branch}"))(e)),
            }
        }
        Err(self.ref_locked(name))
    }

    /// The commit `id`: its tree, parents, committer time and message.
    ///
    /// Read as raw bytes and parsed here for only these fields: a derivation reads thousands
    /// of commits, and libgit2's parse (both signatures, every header, each in its own
    /// allocation) was a third of its time. A shallow clone's commits, and any commit this
    /// parse does not take, are read through libgit2, which knows grafts and says what is wrong
    /// with a damaged commit.
    pub fn commit_info(&self, id: Oid) -> Result<CommitInfo, GitError> {
        COMMITS_READ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fail = || git_err(format!("cannot read commit {id}"));
        if !*self.shallow.get_or_init(|| self.inner.is_shallow()) {
            let odb = self.inner.odb().map_err(fail())?;
            let object = odb.read(id).map_err(fail())?;
            if object.kind() == git2::ObjectType::Commit
                && let Some(info) = parse_commit(id, object.data())
            {
                return Ok(info);
            }
        }
        let commit = self.inner.find_commit(id).map_err(fail())?;
        Ok(CommitInfo::new(
            id,
            commit.tree_id(),
            commit.parent_ids().collect(),
            String::from_utf8_lossy(commit.message_raw_bytes()).into_owned(),
            commit.committer().when().seconds(),
        ))
    }

    /// The best common ancestor of two commits (`git merge-base`), `None` when they have none.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Option<Oid>, GitError> {
        match self.inner.merge_base(a, b) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err("cannot compute a merge base")(e)),
        }
    }

    /// Is `ancestor` reachable from `descendant` (or equal to it)?
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool, GitError> {
        if ancestor == descendant {
            return Ok(true);
        }
        self.inner
            .graph_descendant_of(descendant, ancestor)
            .map_err(git_err("cannot compare commits"))
    }

    /// Commits reachable from `tip` but not from any of `hide`, newest first.
    pub fn commits_between(&self, tip: Oid, hide: &[Oid]) -> Result<Vec<Oid>, GitError> {
        self.walker()?.between(tip, hide)
    }

    /// A walker for many walks of the history: see [`Walker`].
    pub fn walker(&self) -> Result<Walker<'_>, GitError> {
        let walk = self
            .inner
            .revwalk()
            .map_err(git_err("cannot walk the history"))?;
        Ok(Walker { walk })
    }

    /// The contents of `path` (repo-relative, `/`-separated) in a commit's tree.
    pub fn file_at(&self, commit: Oid, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let Some(entry) = self.entry_at(commit, path)? else {
            return Ok(None);
        };
        match self.inner.find_blob(entry) {
            Ok(blob) => Ok(Some(blob.content().to_vec())),
            Err(_) => Ok(None),
        }
    }

    /// The object id of the entry at `path` in a commit's tree, if there is one.
    pub fn entry_at(&self, commit: Oid, path: &str) -> Result<Option<Oid>, GitError> {
        let tree = self
            .inner
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git_err(format!("cannot read the tree of {commit}")))?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(Some(entry.id())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(format!("cannot look up {path}"))(e)),
        }
    }

    /// The object id of the entry at `path` in the tree `tree`, if there is one: for a caller
    /// that knows the commit's tree already.
    pub fn entry_in_tree(&self, tree: Oid, path: &str) -> Result<Option<Oid>, GitError> {
        let tree = self
            .inner
            .find_tree(tree)
            .map_err(git_err(format!("cannot read the tree {tree}")))?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(Some(entry.id())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(format!("cannot look up {path}"))(e)),
        }
    }

    /// Is there a file (a blob, a link or a submodule, not a folder) at `path` in a commit's
    /// tree?
    pub fn file_exists_at(&self, commit: Oid, path: &str) -> Result<bool, GitError> {
        let tree = self
            .inner
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git_err(format!("cannot read the tree of {commit}")))?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(entry.kind() != Some(git2::ObjectType::Tree)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(false),
            Err(e) => Err(git_err(format!("cannot look up {path}"))(e)),
        }
    }

    /// Many lookups of files in one commit's tree, each folder read once.
    pub fn tree_lookup(&self, commit: Oid) -> Result<TreeLookup<'_>, GitError> {
        let root = self
            .inner
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git_err(format!("cannot read the tree of {commit}")))?;
        Ok(TreeLookup {
            repo: self,
            commit,
            folders: HashMap::from([(String::new(), Some(root))]),
        })
    }

    /// Every file path in a commit's tree (blobs and links, recursively).
    pub fn tree_paths(&self, commit: Oid) -> Result<Vec<String>, GitError> {
        self.tree_paths_under(commit, "")
    }

    /// Every file path under the folder `dir` of a commit's tree (`""`: the whole tree), as
    /// paths from the top; none when there is no such folder.
    pub fn tree_paths_under(&self, commit: Oid, dir: &str) -> Result<Vec<String>, GitError> {
        let fail = || git_err(format!("cannot read the tree of {commit}"));
        let root = self
            .inner
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(fail())?;
        let tree = if dir.is_empty() {
            root
        } else {
            match root.get_path(Path::new(dir)) {
                Ok(entry) if entry.kind() == Some(git2::ObjectType::Tree) => {
                    self.inner.find_tree(entry.id()).map_err(fail())?
                }
                Ok(_) => return Ok(Vec::new()),
                Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(fail()(e)),
            }
        };
        let top = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        let mut out = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |folder, entry| {
            if entry.kind() != Some(git2::ObjectType::Tree) {
                out.push(format!(
                    "{top}{folder}{}",
                    String::from_utf8_lossy(entry.name_bytes())
                ));
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(git_err("cannot walk a tree"))?;
        Ok(out)
    }

    /// The commits a merge in progress is merging (`MERGE_HEAD` of this work tree).
    pub fn merge_heads(&self) -> Result<Vec<Oid>, GitError> {
        let text =
            std::fs::read_to_string(self.inner.path().join("MERGE_HEAD")).unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| Oid::from_str(l.trim()).ok())
            .collect())
    }

    /// The operation git has in progress in this work tree, if any.
    pub fn in_progress(&self) -> Option<InProgress> {
        use git2::RepositoryState as S;
        match self.inner.state() {
            S::Clean => None,
            S::Merge => Some(InProgress::Merge),
            S::Revert | S::RevertSequence => Some(InProgress::Revert),
            S::CherryPick | S::CherryPickSequence => Some(InProgress::CherryPick),
            S::Bisect => Some(InProgress::Bisect),
            S::Rebase | S::RebaseInteractive | S::RebaseMerge => Some(InProgress::Rebase),
            S::ApplyMailbox | S::ApplyMailboxOrRebase => Some(InProgress::ApplyMailbox),
        }
    }

    /// The identity planx records: `GIT_COMMITTER_NAME`/`_EMAIL`, else `user.name`/`user.email`.
    pub fn identity(&self) -> (String, String) {
        let config = self.inner.config().ok();
        let get = |env: &str, key: &str, fallback: &str| {
            std::env::var(env)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| config.as_ref().and_then(|c| c.get_string(key).ok()))
                .unwrap_or_else(|| fallback.to_owned())
        };
        (
            get("GIT_COMMITTER_NAME", "user.name", "git-planx"),
            get("GIT_COMMITTER_EMAIL", "user.email", "git-planx@localhost"),
        )
    }

    /// A signature for objects planx writes itself (notes commits), stamped with
    /// [`crate::clock::now`].
    fn signature(&self) -> Result<git2::Signature<'static>, GitError> {
        let (name, email) = self.identity();
        let now = crate::clock::now();
        git2::Signature::new(&name, &email, &git2::Time::new(now.timestamp(), 0)).map_err(git_err(
            "cannot make a signature from the configured identity",
        ))
    }

    /// A value of the repository's configuration (all levels), if set.
    pub fn config_string(&self, key: &str) -> Result<Option<String>, GitError> {
        let config = self
            .inner
            .config()
            .map_err(git_err("cannot read the git configuration"))?;
        match config.get_string(key) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(format!(
                "cannot read `{key}` from the git configuration"
            ))(e)),
        }
    }

    /// Every value of the multi-valued `key` (all levels), in git's order.
    pub fn config_values(&self, key: &str) -> Result<Vec<String>, GitError> {
        let config = self
            .inner
            .config()
            .map_err(git_err("cannot read the git configuration"))?;
        let mut out = Vec::new();
        let mut entries = config.multivar(key, None).map_err(read_err(key))?;
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(read_err(key))?;
            out.push(String::from_utf8_lossy(entry.value_bytes()).into_owned());
        }
        Ok(out)
    }

    /// Makes sure the multi-valued `key` of the repository's own configuration has `value`
    /// among its values, leaving any other value alone. Returns whether it was added.
    pub fn ensure_local_config_value(&self, key: &str, value: &str) -> Result<bool, GitError> {
        self.with_local_config(|config| {
            let present = {
                let mut entries = config.multivar(key, None).map_err(read_err(key))?;
                let mut found = false;
                while let Some(entry) = entries.next() {
                    found |= entry.map_err(read_err(key))?.value_bytes() == value.as_bytes();
                }
                found
            };
            if present {
                return Ok(Ok(false));
            }
            Ok(config.set_multivar(key, "^$a", value).map(|()| true))
        })
        .map_err(|e| e.for_key(key))
    }

    /// Sets the single-valued `key` of the repository's own configuration. Returns the value it
    /// had before, if any.
    pub fn set_local_config(&self, key: &str, value: &str) -> Result<Option<String>, GitError> {
        self.with_local_config(|config| {
            let old = match config.get_string(key) {
                Ok(v) => Some(v),
                Err(e) if e.code() == git2::ErrorCode::NotFound => None,
                Err(e) => return Err(read_err(key)(e)),
            };
            if old.as_deref() == Some(value) {
                return Ok(Ok(old));
            }
            Ok(config.set_str(key, value).map(|()| old))
        })
        .map_err(|e| e.for_key(key))
    }

    /// Runs `change` on the repository's own configuration, read afresh each time, again while
    /// another process holds `config.lock` (two `start`s of one `run` set the same keys at
    /// once): the next attempt sees what the other wrote. `change` returns the outcome of its
    /// write inside its reads' result.
    fn with_local_config<T>(
        &self,
        mut change: impl FnMut(&mut git2::Config) -> Result<Result<T, git2::Error>, GitError>,
    ) -> Result<T, ConfigWriteError> {
        for _ in 0..LOCKED_ATTEMPTS {
            let mut config = self.local_config().map_err(ConfigWriteError::Git)?;
            match change(&mut config).map_err(ConfigWriteError::Git)? {
                Ok(done) => return Ok(done),
                Err(e) if e.code() == git2::ErrorCode::Locked => thread_sleep_locked(),
                Err(e) => return Err(ConfigWriteError::Set(e)),
            }
        }
        Err(ConfigWriteError::Git(GitError::RefLocked {
            reference: "the repository's configuration".into(),
            lock: self.common_dir().join("config.lock"),
        }))
    }

    fn local_config(&self) -> Result<git2::Config, GitError> {
        self.inner
            .config()
            .and_then(|c| c.open_level(git2::ConfigLevel::Local))
            .map_err(git_err("cannot open the repository's configuration"))
    }

    /// The tree the work tree holds as it is now — committed, staged, unstaged and untracked
    /// files that are not ignored, deletions too — written as objects (as `git add -A && git
    /// write-tree` would write them) without touching the index on disk.
    pub fn work_tree_id(&self) -> Result<Oid, GitError> {
        let what = "cannot read the work tree as a tree";
        let mut index = self.inner.index().map_err(git_err(what))?;
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .map_err(git_err(what))?;
        index.update_all(["*"], None).map_err(git_err(what))?;
        let tree = index.write_tree().map_err(git_err(what))?;
        // The index object is shared with later readers of this `Repo`: back to the file's.
        index.read(true).map_err(git_err(what))?;
        Ok(tree)
    }

    /// Path facts from the index, for plan validation.
    pub fn path_facts(&self) -> IndexPathFacts {
        IndexPathFacts {
            index: self.inner.index().ok(),
        }
    }
}

/// Walks of the history that share the commits they have read: libgit2 keeps the commits a
/// walk parsed for the next walk of the same walker, and the walks that derive a plan's state
/// (one per phase) cover much of the same history.
pub struct Walker<'r> {
    walk: git2::Revwalk<'r>,
}

/// Files of one commit's tree, looked up by path with every folder read once (libgit2 keeps
/// no tree over 4 KiB in its cache, so a folder of a few hundred files would be read again for
/// each lookup).
pub struct TreeLookup<'r> {
    repo: &'r Repo,
    commit: Oid,
    /// Folders by path (`""` the top), `None` where there is no such folder.
    folders: HashMap<String, Option<git2::Tree<'r>>>,
}

impl TreeLookup<'_> {
    /// Is there a file (a blob, a link or a submodule, not a folder) at `path`? As
    /// [`Repo::file_exists_at`].
    pub fn has_file(&mut self, path: &str) -> Result<bool, GitError> {
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        Ok(self.folder(folder)?.is_some_and(|tree| {
            tree.get_name(name)
                .is_some_and(|e| e.kind() != Some(git2::ObjectType::Tree))
        }))
    }

    /// Is `path` a symbolic link in this tree?
    pub fn is_symlink(&mut self, path: &str) -> Result<bool, GitError> {
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        Ok(self.folder(folder)?.is_some_and(|tree| {
            tree.get_name(name)
                .is_some_and(|e| e.filemode() as u32 == SYMLINK_MODE)
        }))
    }

    fn folder(&mut self, path: &str) -> Result<Option<&git2::Tree<'_>>, GitError> {
        if !self.folders.contains_key(path) {
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
            let id = self.folder(parent)?.and_then(|tree| {
                tree.get_name(name)
                    .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
                    .map(|e| e.id())
            });
            let tree = match id {
                Some(id) => Some(
                    self.repo
                        .inner
                        .find_tree(id)
                        .map_err(git_err(format!("cannot read the tree of {}", self.commit)))?,
                ),
                None => None,
            };
            self.folders.insert(path.to_owned(), tree);
        }
        Ok(self.folders.get(path).and_then(Option::as_ref))
    }
}

impl Walker<'_> {
    /// Commits reachable from `tip` but not from any of `hide`, newest first.
    pub fn between(&mut self, tip: Oid, hide: &[Oid]) -> Result<Vec<Oid>, GitError> {
        let fail = || git_err("cannot walk the history");
        let walk = &mut self.walk;
        walk.reset().map_err(fail())?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
            .map_err(fail())?;
        walk.push(tip).map_err(fail())?;
        for h in hide {
            walk.hide(*h).map_err(fail())?;
        }
        walk.collect::<Result<Vec<_>, _>>().map_err(fail())
    }
}

/// libgit2's settings for this process, made once before a repository is opened: objects read
/// from the object database are not hashed again to check their id, as git itself does not
/// (`git fsck` does). libgit2 would otherwise hash every commit, tree and note it reads, a
/// third of the time of `status` over a long plan history.
fn configure_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Turns libgit2's refusal to open a repository into what the user needs to know.
fn classify_open_error(path: PathBuf, source: git2::Error) -> GitError {
    let message = source.message().to_lowercase();
    if message.contains("refstorage") || message.contains("reftable") {
        return GitError::Unsupported {
            what: "this repository stores its refs in the reftable format, which git-planx cannot read yet".into(),
            hint: "use a clone with the files ref format: `git clone --ref-format=files …` (or `git refs migrate --ref-format=files`)".into(),
        };
    }
    if message.contains("object format")
        || message.contains("objectformat")
        || message.contains("sha256")
    {
        return GitError::Unsupported {
            what: "this repository uses SHA-256 object ids, which git-planx does not support yet"
                .into(),
            hint: "git-planx works with SHA-1 repositories".into(),
        };
    }
    if message.contains("unsupported extension") {
        return GitError::Unsupported {
            what: format!(
                "this repository uses a git extension that git-planx cannot read: {}",
                source.message()
            ),
            hint: "run git-planx in a repository without that extension".into(),
        };
    }
    GitError::NotARepository { path, source }
}

/// Answers plan validation's questions about paths from a commit's tree: the facts of a plan
/// as committed there. A tree that cannot be read answers "no symlink", as no facts do.
pub struct TreePathFacts<'r> {
    lookup: std::cell::RefCell<TreeLookup<'r>>,
}

impl<'r> TreePathFacts<'r> {
    pub fn new(lookup: TreeLookup<'r>) -> TreePathFacts<'r> {
        TreePathFacts {
            lookup: std::cell::RefCell::new(lookup),
        }
    }
}

impl PathFacts for TreePathFacts<'_> {
    fn symlink_prefix(&self, path: &str) -> Option<String> {
        let mut lookup = self.lookup.borrow_mut();
        let mut end = 0;
        for component in path.split('/') {
            end += component.len();
            let prefix = &path[..end];
            if lookup.is_symlink(prefix).unwrap_or(false) {
                return Some(prefix.to_owned());
            }
            end += 1;
        }
        None
    }
}

/// Answers plan validation's questions about paths from the index.
pub struct IndexPathFacts {
    index: Option<git2::Index>,
}

const SYMLINK_MODE: u32 = 0o120000;

impl PathFacts for IndexPathFacts {
    fn symlink_prefix(&self, path: &str) -> Option<String> {
        let index = self.index.as_ref()?;
        let mut prefix = String::new();
        for component in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(component);
            if let Some(entry) = index.get_path(Path::new(&prefix), 0)
                && entry.mode == SYMLINK_MODE
            {
                return Some(prefix);
            }
        }
        None
    }
}

/// git's object id of `bytes` as a blob (what `git hash-object` prints).
pub fn blob_id(bytes: &[u8]) -> Option<Oid> {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes).ok()
}

/// git's object id of `bytes` as a blob: a stable fingerprint of a text.
pub fn fingerprint(bytes: &[u8]) -> String {
    blob_id(bytes)
        .map(|oid| oid.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commit objects of every shape this parse meets or refuses, read here and by libgit2:
    /// the same fields, or (refused) libgit2's.
    #[test]
    fn commits_parsed_here_read_as_libgit2_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(dir.path()).unwrap();
        let tree = git.treebuilder(None).unwrap().write().unwrap();
        let odb = git.odb().unwrap();
        let write = |bytes: &[u8]| odb.write(git2::ObjectType::Commit, bytes).unwrap();
        let root = write(
            format!(
                "tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1700000000 +0100\n\nroot\n"
            )
            .as_bytes(),
        );
        let side = write(
            format!("tree {tree}\nparent {root}\nauthor A <a@x> 2 +0000\ncommitter C <c@x> 2 +0000\n\nside").as_bytes(),
        );
        let shapes: Vec<Vec<u8>> = vec![
            // A merge, signed (a header continued over lines, one of them a lone space), with
            // an encoding, and a message holding blank lines and trailers.
            format!(
                "tree {tree}\nparent {root}\nparent {side}\nauthor A <a@x> 3 +0000\n\
                 committer C <c@x>  1700000300 -0500\nencoding ISO-8859-1\n\
                 gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\n\
                 Merge side\n\nbody\n\nPlanx-Phase: p1\nPlanx-Status: complete\n"
            )
            .into_bytes(),
            // No blank line, no message.
            format!(
                "tree {tree}\nparent {root}\nauthor A <a@x> 4 +0000\ncommitter C <c@x> 4 +0000\n"
            )
            .into_bytes(),
            // An empty message after the blank line; a name holding `>`.
            format!("tree {tree}\nauthor A <a@x> 5 +0000\ncommitter C> x <c@x> 5 +0000\n\n")
                .into_bytes(),
            // A message that is not UTF-8.
            [
                format!("tree {tree}\nauthor A <a@x> 6 +0000\ncommitter C <c@x> 6 +0000\n\n")
                    .as_bytes(),
                b"caf\xe9\n",
            ]
            .concat(),
            // Ids in uppercase, which git reads too.
            format!(
                "tree {}\nauthor A <a@x> 8 +0000\ncommitter C <c@x> 8 +0000\n\nupper\n",
                tree.to_string().to_uppercase()
            )
            .into_bytes(),
            // Refused here, read by libgit2: a committer without a time.
            format!("tree {tree}\nauthor A <a@x> 7 +0000\ncommitter C <c@x>\n\nno time\n")
                .into_bytes(),
        ];
        let mut ids = vec![root, side];
        ids.extend(shapes.iter().map(|bytes| write(bytes)));
        let repo = Repo::open(dir.path()).unwrap();
        let mut parsed_here = 0;
        for id in ids {
            let info = repo.commit_info(id).unwrap();
            let commit = git.find_commit(id).unwrap();
            let raw = odb.read(id).unwrap();
            parsed_here += usize::from(parse_commit(id, raw.data()).is_some());
            assert_eq!(info.tree, commit.tree_id(), "{id}");
            assert_eq!(
                info.parents,
                commit.parent_ids().collect::<Vec<_>>(),
                "{id}"
            );
            assert_eq!(info.time, commit.committer().when().seconds(), "{id}");
            let message = String::from_utf8_lossy(commit.message_raw_bytes());
            assert_eq!(info.message, message, "{id}");
        }
        assert_eq!(parsed_here, 7, "the last is refused here");
    }
}
