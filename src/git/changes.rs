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

    /// The paths a commit changed against its first parent (all of them for a root commit), in
    /// path order.
    pub fn paths_changed_by(&self, commit: Oid) -> Result<Vec<String>, GitError> {
        let fail = || git_err(format!("cannot read what {commit} changed"));
        let c = self.inner.find_commit(commit).map_err(fail())?;
        let new = c.tree().map_err(fail())?;
        let old = match c.parent(0) {
            Ok(p) => Some(p.tree().map_err(fail())?),
            Err(_) => None,
        };
        let changed = tree_diff(&self.inner, old.as_ref(), Some(&new)).map_err(fail())?;
        Ok(changed
            .iter()
            .map(|c| String::from_utf8_lossy(&c.path).into_owned())
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

/// A path that differs between two trees: its mode and id on each side (`None`: absent).
/// Folders are not listed, only what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeChange {
    pub path: Vec<u8>,
    pub old: Option<(i32, Oid)>,
    pub new: Option<(i32, Oid)>,
}

/// The paths that differ between two trees, in path order. Folders with the same id on both
/// sides are skipped without being read, as git does, so the cost follows the size of the
/// change, not the size of the trees (libgit2's tree-to-tree diff reads both trees whole).
pub(crate) fn tree_diff(
    repo: &git2::Repository,
    old: Option<&git2::Tree<'_>>,
    new: Option<&git2::Tree<'_>>,
) -> Result<Vec<TreeChange>, git2::Error> {
    let mut out = Vec::new();
    diff_level(repo, old, new, &mut Vec::new(), &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

const MODE_TREE: i32 = 0o040000;

/// One entry of a tree, ordered as git orders tree entries (a folder as its name and `/`).
struct Item {
    key: Vec<u8>,
    name: Vec<u8>,
    mode: i32,
    id: Oid,
}

fn items(tree: Option<&git2::Tree<'_>>) -> Vec<Item> {
    let Some(tree) = tree else {
        return Vec::new();
    };
    let mut items: Vec<Item> = tree
        .iter()
        .map(|e| {
            let name = e.name_bytes().to_vec();
            let mode = e.filemode();
            let mut key = name.clone();
            if mode == MODE_TREE {
                key.push(b'/');
            }
            Item {
                key,
                name,
                mode,
                id: e.id(),
            }
        })
        .collect();
    items.sort_by(|a, b| a.key.cmp(&b.key));
    items
}

fn diff_level(
    repo: &git2::Repository,
    old: Option<&git2::Tree<'_>>,
    new: Option<&git2::Tree<'_>>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<TreeChange>,
) -> Result<(), git2::Error> {
    let (a, b) = (items(old), items(new));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.key.cmp(&y.key),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (x, y) = match order {
            std::cmp::Ordering::Less => (Some(&a[i]), None),
            std::cmp::Ordering::Greater => (None, Some(&b[j])),
            std::cmp::Ordering::Equal => (Some(&a[i]), Some(&b[j])),
        };
        i += usize::from(x.is_some());
        j += usize::from(y.is_some());
        if let (Some(x), Some(y)) = (x, y)
            && x.id == y.id
            && x.mode == y.mode
        {
            continue;
        }
        let name = x.or(y).map(|e| e.name.as_slice()).unwrap_or_default();
        let depth = prefix.len();
        prefix.extend_from_slice(name);
        let is_tree = |e: Option<&Item>| e.is_some_and(|e| e.mode == MODE_TREE);
        if is_tree(x) || is_tree(y) {
            let load = |e: Option<&Item>| {
                e.filter(|e| e.mode == MODE_TREE)
                    .map(|e| repo.find_tree(e.id))
                    .transpose()
            };
            let (old_tree, new_tree) = (load(x)?, load(y)?);
            prefix.push(b'/');
            diff_level(repo, old_tree.as_ref(), new_tree.as_ref(), prefix, out)?;
            prefix.truncate(depth + name.len());
        }
        let leaf = |e: Option<&Item>| e.filter(|e| e.mode != MODE_TREE).map(|e| (e.mode, e.id));
        let (old_leaf, new_leaf) = (leaf(x), leaf(y));
        if old_leaf.is_some() || new_leaf.is_some() {
            out.push(TreeChange {
                path: prefix.clone(),
                old: old_leaf,
                new: new_leaf,
            });
        }
        prefix.truncate(depth);
    }
    Ok(())
}

/// A git path (bytes) as a file system path.
pub fn bytes_path(bytes: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tree from `(path, content, executable)` in `repo`.
    fn tree_of<'r>(repo: &'r git2::Repository, files: &[(&str, &str, bool)]) -> git2::Tree<'r> {
        let mut index = git2::Index::new().unwrap();
        for (path, content, exec) in files {
            let id = repo.blob(content.as_bytes()).unwrap();
            let mut entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: if *exec { 0o100755 } else { 0o100644 },
                uid: 0,
                gid: 0,
                file_size: 0,
                id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            entry.flags = path.len().min(0xfff) as u16;
            index.add(&entry).unwrap();
        }
        let id = index.write_tree_to(repo).unwrap();
        repo.find_tree(id).unwrap()
    }

    #[test]
    fn tree_diff_lists_what_libgit2_lists() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let old = tree_of(
            &repo,
            &[
                ("same/deep/a.rs", "a", false),
                ("same/b.rs", "b", false),
                ("changed/deep/c.rs", "c", false),
                ("changed/d.rs", "d", false),
                ("gone/e.rs", "e", false),
                ("gone/sub/f.rs", "f", false),
                ("becomes-dir", "g", false),
                ("run.sh", "h", false),
                ("top.txt", "i", false),
                ("a-b", "j", false),
            ],
        );
        let new = tree_of(
            &repo,
            &[
                ("same/deep/a.rs", "a", false),
                ("same/b.rs", "b", false),
                ("changed/deep/c.rs", "c2", false),
                ("changed/d.rs", "d", false),
                ("changed/new.rs", "n", false),
                ("becomes-dir/x", "g", false),
                ("run.sh", "h", true),
                ("top.txt", "i", false),
                ("added/z/y.rs", "y", false),
                ("a", "k", false),
            ],
        );
        for (old, new) in [
            (Some(&old), Some(&new)),
            (None, Some(&new)),
            (Some(&new), Some(&old)),
        ] {
            let ours: Vec<Vec<u8>> = tree_diff(&repo, old, new)
                .unwrap()
                .into_iter()
                .map(|c| c.path)
                .collect();
            let diff = repo.diff_tree_to_tree(old, new, None).unwrap();
            let mut theirs: Vec<Vec<u8>> = diff
                .deltas()
                .map(|d| {
                    d.new_file()
                        .path_bytes()
                        .or(d.old_file().path_bytes())
                        .unwrap()
                        .to_vec()
                })
                .collect();
            theirs.sort();
            assert_eq!(ours, theirs);
        }
        let changes = tree_diff(&repo, Some(&old), Some(&new)).unwrap();
        let run = changes.iter().find(|c| c.path == b"run.sh").unwrap();
        assert_eq!(
            (run.old.unwrap().0, run.new.unwrap().0),
            (0o100644, 0o100755)
        );
        assert!(changes.iter().all(|c| !c.path.starts_with(b"same/")));
    }

    #[test]
    fn paths_are_quoted_like_git() {
        assert_eq!(escape_path(b"src/lib.rs"), "src/lib.rs");
        assert_eq!(escape_path("café".as_bytes()), "\"caf\\303\\251\"");
        assert_eq!(escape_path(b"a\xffb"), "\"a\\377b\"");
        assert_eq!(escape_path(b"tab\there"), "\"tab\\there\"");
        assert_eq!(escape_path(b"q\"uote"), "\"q\\\"uote\"");
    }
}
