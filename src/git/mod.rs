//! The repository, as git-planx sees it: the only module that talks to libgit2 (through git2).
//!
//! [`Repo`] is a narrow wrapper: every call turns a git2 error into a [`GitError`] that says
//! what was being done, and "not found" becomes `Option`. Callers never see git2 types.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::plan::PathFacts;

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
    Git {
        what: String,
        #[source]
        source: git2::Error,
    },
}

fn git_err(what: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let what = what.into();
    move |source| GitError::Git { what, source }
}

/// An open repository.
pub struct Repo {
    inner: git2::Repository,
}

impl Repo {
    /// Opens the repository the way git does: from `GIT_DIR` (and `GIT_WORK_TREE`) when set,
    /// else by searching upwards from the current directory.
    pub fn discover() -> Result<Repo, GitError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let inner =
            git2::Repository::open_from_env().map_err(|source| GitError::NotARepository {
                path: cwd.clone(),
                source,
            })?;
        if let Some(work_tree) = std::env::var_os("GIT_WORK_TREE") {
            let work_tree = cwd.join(work_tree);
            inner
                .set_workdir(&work_tree, false)
                .map_err(git_err(format!(
                    "cannot use {} as the work tree",
                    work_tree.display()
                )))?;
        }
        Ok(Repo { inner })
    }

    /// Opens the repository at or above `path`.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        let inner =
            git2::Repository::discover(path).map_err(|source| GitError::NotARepository {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Repo { inner })
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

    /// Makes sure the multi-valued `key` of the repository's own configuration has `value`
    /// among its values, leaving any other value alone. Returns whether it was added.
    pub fn ensure_local_config_value(&self, key: &str, value: &str) -> Result<bool, GitError> {
        let config = self.local_config()?;
        let present = {
            let mut entries = config
                .multivar(key, None)
                .map_err(git_err(format!("cannot read `{key}`")))?;
            let mut found = false;
            while let Some(entry) = entries.next() {
                let entry = entry.map_err(git_err(format!("cannot read `{key}`")))?;
                found |= entry.value_bytes() == value.as_bytes();
            }
            found
        };
        if present {
            return Ok(false);
        }
        let mut config = config;
        config
            .set_multivar(key, "^$a", value)
            .map_err(git_err(format!(
                "cannot set `{key}` in the repository's configuration"
            )))?;
        Ok(true)
    }

    /// Sets the single-valued `key` of the repository's own configuration. Returns the value it
    /// had before, if any.
    pub fn set_local_config(&self, key: &str, value: &str) -> Result<Option<String>, GitError> {
        let mut config = self.local_config()?;
        let old = match config.get_string(key) {
            Ok(v) => Some(v),
            Err(e) if e.code() == git2::ErrorCode::NotFound => None,
            Err(e) => return Err(git_err(format!("cannot read `{key}`"))(e)),
        };
        if old.as_deref() != Some(value) {
            config.set_str(key, value).map_err(git_err(format!(
                "cannot set `{key}` in the repository's configuration"
            )))?;
        }
        Ok(old)
    }

    fn local_config(&self) -> Result<git2::Config, GitError> {
        self.inner
            .config()
            .and_then(|c| c.open_level(git2::ConfigLevel::Local))
            .map_err(git_err("cannot open the repository's configuration"))
    }

    /// Path facts from the index, for plan validation.
    pub fn path_facts(&self) -> IndexPathFacts {
        IndexPathFacts {
            index: self.inner.index().ok(),
        }
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
