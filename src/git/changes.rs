//! The change set of a phase: every path that differs between the fork point and the work
//! tree — committed, staged, unstaged, untracked (not ignored), deleted — read by libgit2 from
//! the index and the trees (it stats the files the index knows and lists untracked ones; nothing
//! here walks the file system itself). Renames are not detected: a rename is a deletion and a
//! creation, and both paths are judged.

use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions};

use super::{GitError, Oid, Repo, git_err};

/// How a path changed since the fork point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// New since the fork point (also untracked files).
    Added,
    /// Existed at the fork point and its content or mode changed.
    Modified,
    /// Existed at the fork point and is gone.
    Deleted,
    /// A file became a symlink, a submodule, or the other way round.
    TypeChanged,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
            ChangeKind::TypeChanged => "type changed",
        }
    }
}

/// What a path is, by its git mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    File,
    Executable,
    Symlink,
    Submodule,
    Other,
}

impl EntryType {
    fn from_mode(mode: git2::FileMode) -> Option<EntryType> {
        match mode {
            git2::FileMode::Unreadable => None,
            git2::FileMode::Blob => Some(EntryType::File),
            git2::FileMode::BlobExecutable => Some(EntryType::Executable),
            git2::FileMode::Link => Some(EntryType::Symlink),
            git2::FileMode::Commit => Some(EntryType::Submodule),
            _ => Some(EntryType::Other),
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The path as git stores it: bytes, not necessarily UTF-8.
    pub path: Vec<u8>,
    pub kind: ChangeKind,
    pub old: Option<EntryType>,
    pub new: Option<EntryType>,
    /// Size in the work tree, for paths that exist there (a symlink's own size).
    pub size: Option<u64>,
    /// Where a symlink in the work tree points.
    pub link_target: Option<PathBuf>,
}

impl Change {
    /// The path for matching manifest patterns (invalid UTF-8 replaced).
    pub fn path_lossy(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }

    /// The path for people, quoted the way git quotes unusual names.
    pub fn path_display(&self) -> String {
        escape_path(&self.path)
    }

    /// Only the mode changed (e.g. a file became executable).
    pub fn mode_only(&self) -> bool {
        self.kind == ChangeKind::Modified && self.old != self.new
    }
}

/// A path changed between two commits, with its line counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub change: Change,
    /// Lines added and removed (0 for binary files and submodules).
    pub added: usize,
    pub removed: usize,
    /// git considers the content binary: it has no line counts.
    pub binary: bool,
}

/// A path as git shows it with `core.quotePath`: as is when it is printable ASCII, else in
/// double quotes with C escapes and octal bytes.
pub fn escape_path(path: &[u8]) -> String {
    let plain = path
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\');
    if plain {
        return String::from_utf8_lossy(path).into_owned();
    }
    let mut out = String::from("\"");
    for &b in path {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

impl Repo {
    /// Every path that differs between `fork`'s tree and the work tree (through the index).
    pub fn changes_since(&self, fork: Oid) -> Result<Vec<Change>, GitError> {
        let workdir = self.require_workdir()?.to_path_buf();
        let tree = self
            .inner
            .find_commit(fork)
            .and_then(|c| c.tree())
            .map_err(git_err(format!("cannot read the tree of {fork}")))?;
        let mut opts = DiffOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_typechange(true)
            .include_unreadable(true);
        let diff = self
            .inner
            .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
            .map_err(git_err("cannot compare the work tree with the fork point"))?;
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let kind = match delta.status() {
                Delta::Added | Delta::Untracked => ChangeKind::Added,
                Delta::Deleted => ChangeKind::Deleted,
                Delta::Modified
                | Delta::Renamed
                | Delta::Copied
                | Delta::Unreadable
                | Delta::Conflicted => ChangeKind::Modified,
                Delta::Typechange => ChangeKind::TypeChanged,
                Delta::Unmodified | Delta::Ignored => continue,
            };
            let file = if kind == ChangeKind::Deleted {
                delta.old_file()
            } else {
                delta.new_file()
            };
            let Some(path) = file.path_bytes().map(<[u8]>::to_vec) else {
                continue;
            };
            let (old, new) = (
                (kind != ChangeKind::Added)
                    .then(|| EntryType::from_mode(delta.old_file().mode()))
                    .flatten(),
                (kind != ChangeKind::Deleted)
                    .then(|| EntryType::from_mode(delta.new_file().mode()))
                    .flatten(),
            );
            let on_disk = workdir.join(bytes_path(&path));
            let meta = (kind != ChangeKind::Deleted)
                .then(|| std::fs::symlink_metadata(&on_disk).ok())
                .flatten();
            let link_target = match &meta {
                Some(m) if m.file_type().is_symlink() => std::fs::read_link(&on_disk).ok(),
                _ => None,
            };
            out.push(Change {
                path,
                kind,
                old,
                new,
                size: meta.map(|m| m.len()),
                link_target,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Every path that differs between the trees of two commits, with the lines each gained and
    /// lost (`git diff --numstat from to`, without rename detection: a rename is a deletion and
    /// a creation, as in [`Repo::changes_since`]). Sizes and symlink targets come from the blobs
    /// of `to`, so a change set judged from here matches one judged in a clean work tree at `to`.
    pub fn diff_stats(&self, from: Oid, to: Oid) -> Result<Vec<FileDiff>, GitError> {
        let fail = || git_err(format!("cannot compare {from} with {to}"));
        let tree = |id: Oid| {
            self.inner
                .find_commit(id)
                .and_then(|c| c.tree())
                .map_err(git_err(format!("cannot read the tree of {id}")))
        };
        let (old_tree, new_tree) = (tree(from)?, tree(to)?);
        let mut opts = DiffOptions::new();
        opts.include_typechange(true);
        let diff = self
            .inner
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))
            .map_err(fail())?;
        let mut out = Vec::new();
        for (index, delta) in diff.deltas().enumerate() {
            let kind = match delta.status() {
                Delta::Added => ChangeKind::Added,
                Delta::Deleted => ChangeKind::Deleted,
                Delta::Typechange => ChangeKind::TypeChanged,
                Delta::Unmodified | Delta::Ignored | Delta::Untracked => continue,
                _ => ChangeKind::Modified,
            };
            let file = if kind == ChangeKind::Deleted {
                delta.old_file()
            } else {
                delta.new_file()
            };
            let Some(path) = file.path_bytes().map(<[u8]>::to_vec) else {
                continue;
            };
            let old = (kind != ChangeKind::Added)
                .then(|| EntryType::from_mode(delta.old_file().mode()))
                .flatten();
            let new = (kind != ChangeKind::Deleted)
                .then(|| EntryType::from_mode(delta.new_file().mode()))
                .flatten();
            let (mut size, mut link_target) = (None, None);
            if kind != ChangeKind::Deleted {
                match new {
                    // A submodule names a commit: it is never empty.
                    Some(EntryType::Submodule) => size = Some(1),
                    _ => {
                        let blob = self
                            .inner
                            .find_blob(delta.new_file().id())
                            .map_err(git_err(format!(
                                "cannot read the blob of {}",
                                escape_path(&path)
                            )))?;
                        size = Some(blob.size() as u64);
                        if new == Some(EntryType::Symlink) {
                            link_target = Some(bytes_path(blob.content()).to_path_buf());
                        }
                    }
                }
            }
            let (mut added, mut removed, mut binary) = (0, 0, false);
            if let Some(patch) = git2::Patch::from_diff(&diff, index).map_err(fail())? {
                binary = patch.delta().flags().is_binary();
                let (_, plus, minus) = patch.line_stats().map_err(fail())?;
                (added, removed) = (plus, minus);
            }
            out.push(FileDiff {
                change: Change {
                    path,
                    kind,
                    old,
                    new,
                    size,
                    link_target,
                },
                added,
                removed,
                binary,
            });
        }
        out.sort_by(|a, b| a.change.path.cmp(&b.change.path));
        Ok(out)
    }

    /// The paths a commit changed against its first parent (all of them for a root commit).
    pub fn paths_changed_by(&self, commit: Oid) -> Result<Vec<String>, GitError> {
        let fail = || git_err(format!("cannot read what {commit} changed"));
        let c = self.inner.find_commit(commit).map_err(fail())?;
        let new = c.tree().map_err(fail())?;
        let old = match c.parent(0) {
            Ok(p) => Some(p.tree().map_err(fail())?),
            Err(_) => None,
        };
        let diff = self
            .inner
            .diff_tree_to_tree(old.as_ref(), Some(&new), None)
            .map_err(fail())?;
        Ok(diff
            .deltas()
            .filter_map(|d| {
                d.new_file()
                    .path_bytes()
                    .or(d.old_file().path_bytes())
                    .map(|p| String::from_utf8_lossy(p).into_owned())
            })
            .collect())
    }

    /// Does `path` exist in `commit`'s tree?
    pub fn path_exists_at(&self, commit: Oid, path: &str) -> Result<bool, GitError> {
        Ok(self.entry_at(commit, path)?.is_some())
    }

    /// The tree of a commit.
    pub fn tree_of(&self, commit: Oid) -> Result<Oid, GitError> {
        Ok(self.commit_info(commit)?.tree)
    }
}

/// A git path (bytes) as a file system path.
pub fn bytes_path(bytes: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_like_git() {
        assert_eq!(escape_path(b"src/lib.rs"), "src/lib.rs");
        assert_eq!(escape_path("café".as_bytes()), "\"caf\\303\\251\"");
        assert_eq!(escape_path(b"a\xffb"), "\"a\\377b\"");
        assert_eq!(escape_path(b"tab\there"), "\"tab\\there\"");
        assert_eq!(escape_path(b"q\"uote"), "\"q\\\"uote\"");
    }
}
