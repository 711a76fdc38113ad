//! The change set of a phase: every path that differs between the fork point and the work
//! tree — committed, staged, unstaged, untracked (not ignored), deleted. What the commits since
//! the fork point changed comes from a diff of the two trees that skips unchanged folders; what
//! the index and the work tree add comes from one `git status`, so that git's own index
//! refresh, untracked cache and fsmonitor do the reading (nothing here walks the file system).
//! Renames are not detected: a rename is a deletion and a creation, and both paths are judged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions};

use super::path::{bytes_path, escape_path};
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
    /// The type of a git mode (`0o100644`…); `None` for no entry.
    fn from_mode(mode: u32) -> Option<EntryType> {
        match mode {
            0 => None,
            0o100644 => Some(EntryType::File),
            0o100755 => Some(EntryType::Executable),
            0o120000 => Some(EntryType::Symlink),
            0o160000 => Some(EntryType::Submodule),
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

/// The change set of a work tree since a fork point.
#[derive(Debug, Clone)]
pub struct WorkTreeChanges {
    /// In path order.
    pub changes: Vec<Change>,
    /// Nothing differs from HEAD and nothing is untracked: the content is exactly HEAD's tree.
    pub clean: bool,
}

/// A path's entry in a tree or the index: its mode and id, `None` when there is none.
type Entry = Option<(u32, Oid)>;

/// A path as it is now in the work tree, against the fork point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Now {
    Absent,
    /// Present with this mode and blob (the work tree matches the index, or HEAD).
    Known(u32, Oid),
    /// Present with this mode, its content differing from the index's `index` entry (`None`:
    /// not in the index).
    Differs(u32, Entry),
}

/// One entry of `git status --porcelain=v2 -z`: the path, its entry in HEAD, and now.
fn parse_status(out: &[u8]) -> Vec<(Vec<u8>, Entry, Now)> {
    let mode = |f: &[u8]| {
        std::str::from_utf8(f)
            .ok()
            .and_then(|t| u32::from_str_radix(t, 8).ok())
            .unwrap_or(0)
    };
    let oid = |f: &[u8]| {
        std::str::from_utf8(f)
            .ok()
            .and_then(|t| Oid::from_str(t).ok())
            .unwrap_or(Oid::ZERO_SHA1)
    };
    let entry = |m: u32, o: Oid| (m != 0).then_some((m, o));
    let mut out_entries = Vec::new();
    let mut records = out.split(|b| *b == 0).filter(|r| !r.is_empty());
    while let Some(record) = records.next() {
        match record.first() {
            Some(b'1' | b'2') => {
                // `1 XY sub mH mI mW hH hI path`; `2` adds a score before the path and the
                // original path as the next record (renames, which --no-renames leaves out).
                let fields = if record[0] == b'1' { 9 } else { 10 };
                let parts: Vec<&[u8]> = record.splitn(fields, |b| *b == b' ').collect();
                if parts.len() < fields {
                    continue;
                }
                let worktree_same = parts[1].get(1) == Some(&b'.');
                let (m_head, m_index, m_work) = (mode(parts[3]), mode(parts[4]), mode(parts[5]));
                let (h_head, h_index) = (oid(parts[6]), oid(parts[7]));
                let now = match (m_work, worktree_same) {
                    (0, _) => Now::Absent,
                    (_, true) => Now::Known(m_work, h_index),
                    (_, false) => Now::Differs(m_work, entry(m_index, h_index)),
                };
                out_entries.push((parts[fields - 1].to_vec(), entry(m_head, h_head), now));
                if record[0] == b'2' {
                    records.next();
                }
            }
            Some(b'u') => {
                // `u XY sub m1 m2 m3 mW h1 h2 h3 path`: a conflict; HEAD's side is stage 2.
                let parts: Vec<&[u8]> = record.splitn(11, |b| *b == b' ').collect();
                if parts.len() < 11 {
                    continue;
                }
                let m_work = mode(parts[6]);
                let now = if m_work == 0 {
                    Now::Absent
                } else {
                    Now::Differs(m_work, None)
                };
                out_entries.push((
                    parts[10].to_vec(),
                    entry(mode(parts[4]), oid(parts[8])),
                    now,
                ));
            }
            Some(b'?') if record.len() > 2 => {
                out_entries.push((record[2..].to_vec(), None, Now::Differs(0, None)));
            }
            _ => {}
        }
    }
    out_entries
}

/// The file type bits of a git mode: a file (either mode), a link or a submodule.
fn kind_of(mode: u32) -> u32 {
    mode & 0o170000
}

impl Repo {
    /// Every path that differs between `fork`'s tree and the work tree, and whether the work
    /// tree is clean.
    pub fn changes_since(&self, fork: Oid) -> Result<WorkTreeChanges, GitError> {
        let workdir = self.require_workdir()?.to_path_buf();
        let status = super::cli::git(&workdir, &super::cli::WORK_TREE_ARGS, None)?;
        let now = parse_status(&status.stdout);
        let clean = now.is_empty();

        let fail = || git_err(format!("cannot compare {fork} with HEAD"));
        let fork_tree = self
            .inner
            .find_commit(fork)
            .and_then(|c| c.tree())
            .map_err(fail())?;
        let head_tree = match self.head_commit()? {
            Some(head) => Some(
                self.inner
                    .find_commit(head)
                    .and_then(|c| c.tree())
                    .map_err(fail())?,
            ),
            None => None,
        };
        let as_u32 = |(m, o): (i32, Oid)| (m as u32, o);
        // Each path's entry at the fork point and now: first what the commits changed…
        let mut sides: BTreeMap<Vec<u8>, (Entry, Now)> = BTreeMap::new();
        for c in tree_diff(&self.inner, Some(&fork_tree), head_tree.as_ref()).map_err(fail())? {
            let after = match c.new.map(as_u32) {
                Some((m, o)) => Now::Known(m, o),
                None => Now::Absent,
            };
            sides.insert(c.path, (c.old.map(as_u32), after));
        }
        // …then what the index and the work tree change on top of HEAD. A path the commits did
        // not change was at the fork point as it is in HEAD.
        for (path, head, after) in now {
            let before = match sides.get(&path) {
                Some((before, _)) => *before,
                None => head,
            };
            sides.insert(path, (before, after));
        }

        let mut out = Vec::new();
        let mut unsure: Vec<Vec<u8>> = Vec::new();
        for (path, (before, after)) in sides {
            let on_disk = workdir.join(bytes_path(&path));
            let meta = std::fs::symlink_metadata(&on_disk).ok();
            let now_mode = match after {
                Now::Absent => 0,
                Now::Known(m, _) => m,
                Now::Differs(0, _) => meta.as_ref().map_or(0o100644, disk_mode),
                Now::Differs(m, _) => m,
            };
            let kind = match (before, after) {
                (None, Now::Absent) => continue,
                (None, _) => ChangeKind::Added,
                (Some(_), Now::Absent) => ChangeKind::Deleted,
                (Some((m, _)), _) if kind_of(m) != kind_of(now_mode) => ChangeKind::TypeChanged,
                (Some(f), Now::Known(m, o)) if f == (m, o) => continue,
                (Some(_), Now::Known(..)) => ChangeKind::Modified,
                // The work tree differs from the index, which holds the fork point's version.
                (Some(f), Now::Differs(_, index)) if index == Some(f) => ChangeKind::Modified,
                // The work tree differs from an index that differs from the fork point: only
                // git can tell whether it came back to the fork point's content.
                (Some(_), Now::Differs(..)) => {
                    unsure.push(path.clone());
                    ChangeKind::Modified
                }
            };
            let present = kind != ChangeKind::Deleted;
            let link_target = match &meta {
                Some(m) if present && m.file_type().is_symlink() => {
                    std::fs::read_link(&on_disk).ok()
                }
                _ => None,
            };
            out.push(Change {
                old: before.and_then(|(m, _)| EntryType::from_mode(m)),
                new: EntryType::from_mode(now_mode),
                kind,
                size: meta.filter(|_| present).map(|m| m.len()),
                link_target,
                path,
            });
        }
        if !unsure.is_empty() {
            let changed = self.differ_from(&workdir, fork, &unsure)?;
            out.retain(|c| !unsure.contains(&c.path) || changed.contains(&c.path));
        }
        Ok(WorkTreeChanges {
            changes: out,
            clean,
        })
    }

    fn tree_of_commit(&self, id: Oid) -> Result<git2::Tree<'_>, GitError> {
        self.inner
            .find_commit(id)
            .and_then(|c| c.tree())
            .map_err(git_err(format!("cannot read the tree of {id}")))
    }

    /// The size of the entry `id` at `path` and, for a symlink, where it points, as a clean work
    /// tree would have them. A submodule names a commit: it is never empty.
    fn blob_facts(
        &self,
        path: &[u8],
        id: Oid,
        entry: Option<EntryType>,
    ) -> Result<(Option<u64>, Option<PathBuf>), GitError> {
        if entry == Some(EntryType::Submodule) {
            return Ok((Some(1), None));
        }
        let blob = self.inner.find_blob(id).map_err(git_err(format!(
            "cannot read the blob of {}",
            escape_path(path)
        )))?;
        let link =
            (entry == Some(EntryType::Symlink)).then(|| bytes_path(blob.content()).to_path_buf());
        Ok((Some(blob.size() as u64), link))
    }

    /// Every path that differs between the trees of two commits, as [`Repo::diff_stats`] gives
    /// them but without counting lines: the cost follows the size of the change (folders with the
    /// same id are not read). For judging what a merge brought in.
    pub fn changes_between(&self, from: Oid, to: Oid) -> Result<Vec<Change>, GitError> {
        let fail = || git_err(format!("cannot compare {from} with {to}"));
        let (old_tree, new_tree) = (self.tree_of_commit(from)?, self.tree_of_commit(to)?);
        let as_u32 = |(m, o): (i32, Oid)| (m as u32, o);
        let mut out = Vec::new();
        for c in tree_diff(&self.inner, Some(&old_tree), Some(&new_tree)).map_err(fail())? {
            let (old, new) = (c.old.map(as_u32), c.new.map(as_u32));
            let kind = match (old, new) {
                (None, None) => continue,
                (None, Some(_)) => ChangeKind::Added,
                (Some(_), None) => ChangeKind::Deleted,
                (Some((a, _)), Some((b, _))) if kind_of(a) != kind_of(b) => ChangeKind::TypeChanged,
                (Some(_), Some(_)) => ChangeKind::Modified,
            };
            let new_type = new.and_then(|(m, _)| EntryType::from_mode(m));
            let (size, link_target) = match new {
                Some((_, id)) => self.blob_facts(&c.path, id, new_type)?,
                None => (None, None),
            };
            out.push(Change {
                old: old.and_then(|(m, _)| EntryType::from_mode(m)),
                new: new_type,
                kind,
                size,
                link_target,
                path: c.path,
            });
        }
        Ok(out)
    }

    /// Every path that differs between the trees of two commits, with the lines each gained and
    /// lost (`git diff --numstat from to`, without rename detection: a rename is a deletion and
    /// a creation, as in [`Repo::changes_since`]). Sizes and symlink targets come from the blobs
    /// of `to`, so a change set judged from here matches one judged in a clean work tree at `to`.
    pub fn diff_stats(&self, from: Oid, to: Oid) -> Result<Vec<FileDiff>, GitError> {
        let fail = || git_err(format!("cannot compare {from} with {to}"));
        let (old_tree, new_tree) = (self.tree_of_commit(from)?, self.tree_of_commit(to)?);
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
                .then(|| EntryType::from_mode(u32::from(delta.old_file().mode())))
                .flatten();
            let new = (kind != ChangeKind::Deleted)
                .then(|| EntryType::from_mode(u32::from(delta.new_file().mode())))
                .flatten();
            let (size, link_target) = if kind == ChangeKind::Deleted {
                (None, None)
            } else {
                self.blob_facts(&path, delta.new_file().id(), new)?
            };
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

    /// Which of `paths` differ between `commit` and the work tree, as `git diff` sees them.
    fn differ_from(
        &self,
        workdir: &Path,
        commit: Oid,
        paths: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, GitError> {
        use std::os::unix::ffi::OsStrExt;
        let commit = commit.to_string();
        let mut args: Vec<&std::ffi::OsStr> = [
            "diff",
            "--no-renames",
            "--name-only",
            "-z",
            commit.as_str(),
            "--",
        ]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .collect();
        let specs: Vec<Vec<u8>> = paths
            .iter()
            .map(|path| [b":(literal)".as_slice(), path].concat())
            .collect();
        args.extend(specs.iter().map(|spec| std::ffi::OsStr::from_bytes(spec)));
        let out = super::cli::spawn(workdir, &args, None, true)?;
        let out = super::cli::succeeded(out, || format!("diff --name-only {commit} -- …"))?;
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect())
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

    /// The paths whose entries differ between the trees of two commits, in path order.
    pub fn paths_between(&self, from: Oid, to: Oid) -> Result<Vec<Vec<u8>>, GitError> {
        let fail = || git_err(format!("cannot compare {from} with {to}"));
        let (old, new) = (self.tree_of_commit(from)?, self.tree_of_commit(to)?);
        let changed = tree_diff(&self.inner, Some(&old), Some(&new)).map_err(fail())?;
        Ok(changed.into_iter().map(|c| c.path).collect())
    }

    /// Does a path of the tree `new` hold a symlink that the tree `old` does not (a new link,
    /// or a file or folder become one)?
    pub fn links_added_between_trees(&self, old: Oid, new: Oid) -> Result<bool, GitError> {
        let fail = || git_err(format!("cannot compare the trees {old} and {new}"));
        let read = |id: Oid| self.inner.find_tree(id).map_err(fail());
        let (old_tree, new_tree) = (read(old)?, read(new)?);
        let changed = tree_diff(&self.inner, Some(&old_tree), Some(&new_tree)).map_err(fail())?;
        Ok(changed.iter().any(|c| {
            c.new
                .is_some_and(|(mode, _)| mode as u32 & 0o170000 == 0o120000)
        }))
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

/// The git mode of an untracked file, from the file system.
fn disk_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.file_type().is_symlink() {
        0o120000
    } else if meta.is_dir() {
        0o160000
    } else if meta.permissions().mode() & 0o111 != 0 {
        0o100755
    } else {
        0o100644
    }
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
}
