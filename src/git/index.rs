//! What the next commit changes, read in-process from the index file and `HEAD`'s tree: the
//! answer of `git diff --cached --raw --no-renames`, without starting git.
//!
//! The pre-commit hook asks this on every commit, and starting `git diff --cached` was half of
//! its cost on a repository of 10,000 files (docs/performance.md). Like git, the comparison
//! trusts the index's cache tree (the `TREE` extension): a folder whose cached tree id is the
//! id of the same folder in `HEAD` holds no staged change and is not read at all, so a commit
//! of three files reads three folders of `HEAD`'s tree, whatever the size of the repository.
//!
//! Only what is read exactly as git reads it is answered here: index versions 2, 3 and 4, with
//! or without a cache tree. Anything else — a split or sparse index, an entry added with
//! `git add -N`, a submodule whose commit changed (git's `submodule.*.ignore` settings decide
//! whether that counts), an extension git requires readers to understand, a file that does not
//! parse — is answered `None`, and the caller asks git, which reads it as it always has.
//!
//! Format: git's `Documentation/gitformat-index.txt`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::cli::StagedPath;
use super::{GitError, Oid, Repo, git_err};

const OID_LEN: usize = 20;
/// Bytes of an entry before its path: times, device, inode, mode, owner, size, id and flags.
const ENTRY_FIXED: usize = 62;
const FLAG_EXTENDED: u16 = 0x4000;
const FLAG_STAGE: u16 = 0x3000;
const NAME_MASK: u16 = 0x0fff;
/// Folders nested deeper than this in a cache tree are not read.
const MAX_DEPTH: usize = 512;
const EXTENDED_INTENT_TO_ADD: u16 = 0x2000;

const MODE_TYPE: u32 = 0o170000;
const MODE_FILE: u32 = 0o100000;
const MODE_LINK: u32 = 0o120000;
const MODE_DIR: u32 = 0o040000;
const MODE_GITLINK: u32 = 0o160000;

/// One entry of the index: a path at a stage (0, or 1–3 while a merge conflict is unresolved).
/// Its mode, id and flags are read from the file when asked for.
#[derive(Clone, Copy)]
struct Entry {
    /// Where the entry starts in the file.
    at: u32,
    /// Its path: in the file (versions 2 and 3) or in [`Index::v4_names`].
    name: u32,
    name_len: u32,
}

/// A node of the cache tree: the tree id of a folder's entries, when git still knows it.
struct CacheTree {
    name: Vec<u8>,
    /// `None` when a change under the folder made git forget it.
    oid: Option<Oid>,
    /// Sorted by name.
    children: Vec<CacheTree>,
}

impl CacheTree {
    fn child(&self, name: &[u8]) -> Option<&CacheTree> {
        self.children
            .binary_search_by(|c| c.name[..].cmp(name))
            .ok()
            .map(|i| &self.children[i])
    }
}

/// An index file, parsed.
struct Index {
    /// The file, mapped: git never rewrites an index in place (it writes `index.lock` and
    /// renames it), so the mapped bytes do not change under the reader.
    data: Mmap,
    /// Version 4's paths, rebuilt from their prefix compression.
    v4_names: Option<Vec<u8>>,
    entries: Vec<Entry>,
    tree: Option<CacheTree>,
}

impl Index {
    fn name(&self, entry: &Entry) -> &[u8] {
        let names = self.v4_names.as_deref().unwrap_or(&self.data);
        &names[entry.name as usize..(entry.name + entry.name_len) as usize]
    }

    fn mode(&self, entry: &Entry) -> u32 {
        let at = entry.at as usize + 24;
        u32::from_be_bytes(self.data[at..at + 4].try_into().unwrap_or_default())
    }

    fn oid(&self, entry: &Entry) -> &[u8] {
        let at = entry.at as usize + 40;
        &self.data[at..at + OID_LEN]
    }

    fn stage(&self, entry: &Entry) -> u8 {
        let at = entry.at as usize + 60;
        (self.data[at] & (FLAG_STAGE >> 8) as u8) >> 4
    }

    /// The entries whose path is exactly `path`, at every stage.
    fn entries_at(&self, path: &[u8]) -> &[Entry] {
        let start = self.entries.partition_point(|e| self.name(e) < path);
        let len = self.entries[start..]
            .iter()
            .take_while(|e| self.name(e) == path)
            .count();
        &self.entries[start..start + len]
    }
}

/// Why an index is left to git. Not an error: git reads it.
#[derive(Debug)]
struct LeftToGit;

type Parsed<T> = Result<T, LeftToGit>;

fn be32(data: &[u8], at: usize) -> Parsed<u32> {
    let bytes = data.get(at..at + 4).ok_or(LeftToGit)?;
    Ok(u32::from_be_bytes(bytes.try_into().map_err(|_| LeftToGit)?))
}

fn be16(data: &[u8], at: usize) -> Parsed<u16> {
    let bytes = data.get(at..at + 2).ok_or(LeftToGit)?;
    Ok(u16::from_be_bytes(bytes.try_into().map_err(|_| LeftToGit)?))
}

fn oid_at(data: &[u8], at: usize) -> Parsed<Oid> {
    Oid::from_bytes(data.get(at..at + OID_LEN).ok_or(LeftToGit)?).map_err(|_| LeftToGit)
}

/// Position of the first NUL at or after `at`.
fn nul_from(data: &[u8], at: usize) -> Parsed<usize> {
    let rest = data.get(at..).ok_or(LeftToGit)?;
    rest.iter()
        .position(|b| *b == 0)
        .map(|p| at + p)
        .ok_or(LeftToGit)
}

/// The varint of version 4's path compression (the encoding of a pack's `OFS_DELTA` offset).
fn varint(data: &[u8], at: &mut usize) -> Parsed<usize> {
    let mut byte = *data.get(*at).ok_or(LeftToGit)?;
    *at += 1;
    let mut value = usize::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        byte = *data.get(*at).ok_or(LeftToGit)?;
        *at += 1;
        value = value
            .checked_add(1)
            .and_then(|v| v.checked_mul(128))
            .ok_or(LeftToGit)?
            | usize::from(byte & 0x7f);
    }
    Ok(value)
}

fn parse(data: Mmap) -> Parsed<Index> {
    if data.get(..4) != Some(b"DIRC") {
        return Err(LeftToGit);
    }
    let version = be32(&data, 4)?;
    if !(2..=4).contains(&version) {
        return Err(LeftToGit);
    }
    let count = be32(&data, 8)? as usize;
    // Every entry takes more than its fixed part: a count the file cannot hold is a bad file.
    if count > data.len() / ENTRY_FIXED {
        return Err(LeftToGit);
    }
    let end = data.len().checked_sub(OID_LEN).ok_or(LeftToGit)?;
    // Offsets are kept in 32 bits.
    if u32::try_from(data.len()).is_err() {
        return Err(LeftToGit);
    }
    let mut entries = Vec::with_capacity(count);
    let mut v4_names: Vec<u8> = Vec::new();
    let mut previous: Range<usize> = 0..0;
    let mut at = 12;
    for _ in 0..count {
        let start = at;
        let mode = be32(&data, at + 24)?;
        let flags = be16(&data, at + 60)?;
        let mut name_at = at + ENTRY_FIXED;
        if flags & FLAG_EXTENDED != 0 {
            if version < 3 {
                return Err(LeftToGit);
            }
            if be16(&data, name_at)? & EXTENDED_INTENT_TO_ADD != 0 {
                return Err(LeftToGit);
            }
            name_at += 2;
        }
        // A folder entry is a sparse index's.
        if mode & MODE_TYPE == MODE_DIR {
            return Err(LeftToGit);
        }
        let name = if version == 4 {
            let strip = varint(&data, &mut name_at)?;
            let nul = nul_from(&data, name_at)?;
            let kept = previous.len().checked_sub(strip).ok_or(LeftToGit)?;
            let start = v4_names.len();
            v4_names.extend_from_within(previous.start..previous.start + kept);
            v4_names.extend_from_slice(&data[name_at..nul]);
            at = nul + 1;
            start..v4_names.len()
        } else {
            let len = usize::from(flags & NAME_MASK);
            let nul = if len < usize::from(NAME_MASK) {
                name_at + len
            } else {
                nul_from(&data, name_at + len)?
            };
            if data.get(nul) != Some(&0) {
                return Err(LeftToGit);
            }
            // Padded with 1 to 8 NULs to a multiple of 8 bytes from the entry's start.
            at += (name_at - at + (nul - name_at) + 8) & !7;
            name_at..nul
        };
        if at > end {
            return Err(LeftToGit);
        }
        previous = name.clone();
        entries.push(Entry {
            at: start as u32,
            name: u32::try_from(name.start).map_err(|_| LeftToGit)?,
            name_len: name.len() as u32,
        });
    }
    // Extensions, up to the file's checksum.
    let mut tree = None;
    while at < end {
        let signature = data.get(at..at + 4).ok_or(LeftToGit)?;
        let size = be32(&data, at + 4)? as usize;
        let body = data.get(at + 8..at + 8 + size).ok_or(LeftToGit)?;
        match signature {
            b"TREE" => tree = Some(cache_tree(body, &mut 0, 0)?),
            // An extension whose name starts with a capital letter may be ignored; any other
            // (a split index's `link`, a sparse index's `sdir`) changes what the entries mean.
            [first, ..] if first.is_ascii_uppercase() => {}
            _ => return Err(LeftToGit),
        }
        at += 8 + size;
    }
    if at != end {
        return Err(LeftToGit);
    }
    Ok(Index {
        data,
        v4_names: (version == 4).then_some(v4_names),
        entries,
        tree,
    })
}

/// One node of the `TREE` extension and, after it, its subtrees: `<name>\0<entries>
/// <subtrees>\n`, then the tree id unless `<entries>` is -1.
fn cache_tree(body: &[u8], at: &mut usize, depth: usize) -> Parsed<CacheTree> {
    // Deeper than any real project: left to git rather than recursed into.
    if depth > MAX_DEPTH {
        return Err(LeftToGit);
    }
    let nul = nul_from(body, *at)?;
    let name = body[*at..nul].to_vec();
    let newline = body[nul..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|p| nul + p)
        .ok_or(LeftToGit)?;
    let counts = &body[nul + 1..newline];
    let space = counts.iter().position(|b| *b == b' ').ok_or(LeftToGit)?;
    let (entries, subtrees) = (&counts[..space], &counts[space + 1..]);
    let subtrees = decimal(subtrees)?;
    *at = newline + 1;
    let oid = if entries != b"-1" {
        decimal(entries)?;
        let oid = oid_at(body, *at)?;
        *at += OID_LEN;
        Some(oid)
    } else {
        None
    };
    if subtrees > body.len() {
        return Err(LeftToGit);
    }
    let mut children = (0..subtrees)
        .map(|_| cache_tree(body, at, depth + 1))
        .collect::<Parsed<Vec<_>>>()?;
    // git keeps them shortest first.
    children.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(CacheTree {
        name,
        oid,
        children,
    })
}

/// A count of the `TREE` extension.
fn decimal(digits: &[u8]) -> Parsed<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return Err(LeftToGit);
    }
    digits.iter().try_fold(0, |n, d| match d {
        b'0'..=b'9' => Ok(n * 10 + usize::from(d - b'0')),
        _ => Err(LeftToGit),
    })
}

/// A mode as git compares it: a regular file is 644 or 755, whatever else its bits say.
fn canonical(mode: u32) -> u32 {
    match mode & MODE_TYPE {
        MODE_FILE if mode & 0o111 != 0 => MODE_FILE | 0o755,
        MODE_FILE => MODE_FILE | 0o644,
        MODE_LINK => MODE_LINK,
        MODE_DIR => MODE_DIR,
        _ => MODE_GITLINK,
    }
}

/// A file of `HEAD`'s tree, by its full path.
struct TreeFile {
    path: Vec<u8>,
    mode: u32,
    oid: Oid,
}

/// The files of `tree` under `prefix`, except in folders the cache tree shows unchanged
/// (their prefixes, `dir/`, go to `skipped`): both come out in the index's order.
fn tree_files(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    prefix: &mut Vec<u8>,
    cached: Option<&CacheTree>,
    files: &mut Vec<TreeFile>,
    skipped: &mut Vec<Vec<u8>>,
) -> Result<(), GitError> {
    for entry in tree.iter() {
        let len = prefix.len();
        prefix.extend_from_slice(entry.name_bytes());
        let mode = entry.filemode() as u32;
        if mode & MODE_TYPE == MODE_DIR {
            prefix.push(b'/');
            let cached = cached.and_then(|c| c.child(entry.name_bytes()));
            if cached.and_then(|c| c.oid) == Some(entry.id()) {
                skipped.push(prefix.clone());
            } else {
                let sub = repo
                    .find_tree(entry.id())
                    .map_err(git_err("cannot read HEAD's tree"))?;
                tree_files(repo, &sub, prefix, cached, files, skipped)?;
            }
        } else {
            files.push(TreeFile {
                path: prefix.clone(),
                mode: canonical(mode),
                oid: entry.id(),
            });
        }
        prefix.truncate(len);
    }
    Ok(())
}

fn same_type(a: u32, b: u32) -> bool {
    a & MODE_TYPE == b & MODE_TYPE
}

/// The staged changes of `index` against `head` (`None`: an unborn branch), in path order.
/// `Err(LeftToGit)` for a submodule whose commit changed.
fn compare(
    repo: &git2::Repository,
    head: Option<&git2::Tree<'_>>,
    index: &Index,
) -> Result<Parsed<Vec<StagedPath>>, GitError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    if let Some(head) = head {
        let root = index.tree.as_ref();
        if root.and_then(|t| t.oid) == Some(head.id()) {
            return Ok(Ok(Vec::new()));
        }
        tree_files(repo, head, &mut Vec::new(), root, &mut files, &mut skipped)?;
    }
    let mut staged = Vec::new();
    let entries = &index.entries;
    let (mut e, mut f, mut s) = (0, 0, 0);
    loop {
        // Entries in a folder the cache tree showed unchanged are the same in HEAD.
        if let Some(entry) = entries.get(e) {
            let name = index.name(entry);
            while skipped
                .get(s)
                .is_some_and(|dir| dir[..] < *name && !name.starts_with(dir))
            {
                s += 1;
            }
            if skipped.get(s).is_some_and(|dir| name.starts_with(dir)) {
                e += 1;
                continue;
            }
        }
        let in_head = files.get(f);
        let path = match (entries.get(e).map(|x| index.name(x)), in_head) {
            (None, None) => break,
            (Some(name), None) => name,
            (None, Some(file)) => &file.path[..],
            (Some(name), Some(file)) => name.min(&file.path[..]),
        };
        let first = e;
        while entries.get(e).is_some_and(|x| index.name(x) == path) {
            e += 1;
        }
        let in_index = &entries[first..e];
        let in_head = in_head.filter(|file| file.path == path);
        if in_head.is_some() {
            f += 1;
        }
        let change = match (in_index, in_head) {
            ([], None) => None,
            ([], Some(_)) => Some(('D', None, None)),
            ([entry], head) if index.stage(entry) == 0 => {
                let mode = canonical(index.mode(entry));
                let oid = index.oid(entry);
                match head {
                    None => Some(('A', Some(mode), Some(oid))),
                    Some(f) if f.mode == mode && f.oid.as_bytes() == oid => None,
                    Some(f) if !same_type(f.mode, mode) => Some(('T', Some(mode), Some(oid))),
                    Some(_) => Some(('M', Some(mode), Some(oid))),
                }
            }
            // Unresolved: stages 1 to 3.
            _ => Some(('U', None, None)),
        };
        let Some((status, mode, blob)) = change else {
            continue;
        };
        let gitlink = |m: u32| m & MODE_TYPE == MODE_GITLINK;
        if mode.is_some_and(gitlink) || in_head.is_some_and(|file| gitlink(file.mode)) {
            return Ok(Err(LeftToGit));
        }
        let blob = blob
            .map(Oid::from_bytes)
            .transpose()
            .map_err(git_err("a staged object id"))?;
        staged.push(StagedPath {
            status,
            path: path.to_vec(),
            blob,
        });
    }
    Ok(Ok(staged))
}

/// The index the next commit is made from: `GIT_INDEX_FILE` as git sets it for a hook (the
/// temporary index of `git commit -a` or `git commit -- path`), relative to `dir`, else the
/// work tree's own.
fn index_file(repo: &Repo, dir: &Path) -> PathBuf {
    match std::env::var_os("GIT_INDEX_FILE") {
        Some(file) if !file.is_empty() => dir.join(file),
        _ => repo.git_dir().join("index"),
    }
}

fn read(repo: &Repo, dir: &Path) -> Option<Index> {
    let file = std::fs::File::open(index_file(repo, dir)).ok()?;
    // SAFETY: git replaces an index by renaming a new file over it, never by writing into it
    // (see [`Index::data`]); a file changed in place anyway makes a wrong answer or SIGBUS,
    // as it would for git, which maps the index too.
    let data = unsafe { Mmap::map(&file) }.ok()?;
    parse(data).ok()
}

fn head_tree(repo: &Repo) -> Result<Option<git2::Tree<'_>>, GitError> {
    match repo.head_commit()? {
        None => Ok(None),
        Some(head) => repo
            .inner
            .find_commit(head)
            .and_then(|c| c.tree())
            .map(Some)
            .map_err(git_err("cannot read HEAD's tree")),
    }
}

impl Repo {
    /// What is staged for the next commit, as `git diff --cached --raw --no-renames` in `dir`
    /// gives it, read in-process; `None` for an index only git reads (see the module).
    pub fn staged_in_process(&self, dir: &Path) -> Result<Option<Vec<StagedPath>>, GitError> {
        let Some(index) = read(self, dir) else {
            return Ok(None);
        };
        let head = head_tree(self)?;
        Ok(compare(&self.inner, head.as_ref(), &index)?.ok())
    }

    /// The staged content of one file, read in-process: see [`Repo::staged_file`]. `None` for
    /// an index only git reads.
    pub fn staged_file_in_process(
        &self,
        dir: &Path,
        path: &str,
    ) -> Result<Option<Option<Option<Vec<u8>>>>, GitError> {
        let Some(index) = read(self, dir) else {
            return Ok(None);
        };
        let in_head = match head_tree(self)? {
            None => None,
            Some(tree) => match tree.get_path(Path::new(path)) {
                Ok(entry) if entry.filemode() as u32 & MODE_TYPE != MODE_DIR => {
                    Some((canonical(entry.filemode() as u32), entry.id()))
                }
                Ok(_) => None,
                Err(e) if e.code() == git2::ErrorCode::NotFound => None,
                Err(e) => return Err(git_err(format!("cannot look up {path}"))(e)),
            },
        };
        let staged = match index.entries_at(path.as_bytes()) {
            [entry] if index.stage(entry) == 0 => Some((
                canonical(index.mode(entry)),
                Oid::from_bytes(index.oid(entry)).map_err(git_err("a staged object id"))?,
            )),
            [] => None,
            // Unresolved: changed, and no staged content to read.
            _ => return Ok(Some(Some(None))),
        };
        if staged == in_head {
            return Ok(Some(None));
        }
        let Some((mode, oid)) = staged else {
            return Ok(Some(Some(None)));
        };
        if mode & MODE_TYPE == MODE_GITLINK {
            return Ok(Some(Some(None)));
        }
        let blob = self
            .inner
            .find_blob(oid)
            .map_err(git_err(format!("cannot read the staged {path}")))?;
        Ok(Some(Some(Some(blob.content().to_vec()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(bytes: Vec<u8>) -> Mmap {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        unsafe { Mmap::map(&file) }.unwrap()
    }

    fn parse(bytes: Vec<u8>) -> Parsed<Index> {
        super::parse(mapped(bytes))
    }

    fn entry(path: &str, mode: u32, stage: u16, extended: Option<u16>, version: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 24];
        bytes.extend_from_slice(&mode.to_be_bytes());
        bytes.extend_from_slice(&[0; 12]);
        bytes.extend_from_slice(&[0xab; OID_LEN]);
        let mut flags = (stage << 12) | (path.len().min(0xfff) as u16);
        if extended.is_some() {
            flags |= FLAG_EXTENDED;
        }
        bytes.extend_from_slice(&flags.to_be_bytes());
        if let Some(ext) = extended {
            bytes.extend_from_slice(&ext.to_be_bytes());
        }
        bytes.extend_from_slice(path.as_bytes());
        if version < 4 {
            let padded = (bytes.len() + 8) & !7;
            bytes.resize(padded, 0);
        }
        bytes
    }

    fn file(version: u32, entries: &[Vec<u8>], extensions: &[u8]) -> Vec<u8> {
        let mut bytes = b"DIRC".to_vec();
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            bytes.extend_from_slice(e);
        }
        bytes.extend_from_slice(extensions);
        bytes.extend_from_slice(&[0; OID_LEN]);
        bytes
    }

    #[test]
    fn reads_entries_of_version_2_with_their_padding() {
        let data = file(
            2,
            &[
                entry("a", 0o100644, 0, None, 2),
                entry("dir/longer-name.rs", 0o100755, 0, None, 2),
                entry("z", 0o120000, 2, None, 2),
            ],
            &[],
        );
        let index = parse(data).unwrap();
        let names: Vec<&[u8]> = index.entries.iter().map(|e| index.name(e)).collect();
        assert_eq!(names, [&b"a"[..], &b"dir/longer-name.rs"[..], &b"z"[..]]);
        assert_eq!(index.stage(&index.entries[2]), 2);
        assert_eq!(index.mode(&index.entries[1]), 0o100755);
        assert!(index.tree.is_none());
    }

    #[test]
    fn rebuilds_version_4_paths_from_their_prefix_compression() {
        // "src/a.rs", then "src/b.rs" (strip 4, add "b.rs"), then "top" (strip 8).
        let mut first = entry("", 0o100644, 0, None, 4);
        first.truncate(ENTRY_FIXED);
        first[61] = 8;
        first.extend_from_slice(b"\0src/a.rs\0");
        let mut second = entry("", 0o100644, 0, None, 4);
        second.truncate(ENTRY_FIXED);
        second[61] = 8;
        second.extend_from_slice(b"\x04b.rs\0");
        let mut third = entry("", 0o100644, 0, None, 4);
        third.truncate(ENTRY_FIXED);
        third[61] = 3;
        third.extend_from_slice(b"\x08top\0");
        let index = parse(file(4, &[first, second, third], &[])).unwrap();
        let names: Vec<&[u8]> = index.entries.iter().map(|e| index.name(e)).collect();
        assert_eq!(names, [&b"src/a.rs"[..], &b"src/b.rs"[..], &b"top"[..]]);
    }

    #[test]
    fn reads_the_cache_tree_and_skips_optional_extensions() {
        let mut tree = b"\x002 1\n".to_vec();
        tree.extend_from_slice(&[0x11; OID_LEN]);
        tree.extend_from_slice(b"src\0-1 0\n");
        let mut ext = b"TREE".to_vec();
        ext.extend_from_slice(&(tree.len() as u32).to_be_bytes());
        ext.extend_from_slice(&tree);
        ext.extend_from_slice(b"UNTR\0\0\0\x03abc");
        let index = parse(file(2, &[entry("a", 0o100644, 0, None, 2)], &ext)).unwrap();
        let root = index.tree.unwrap();
        assert_eq!(root.oid, Some(Oid::from_bytes(&[0x11; OID_LEN]).unwrap()));
        assert_eq!(root.children.len(), 1);
        assert_eq!(root.child(b"src").unwrap().oid, None);
    }

    #[test]
    fn leaves_to_git_what_it_does_not_read_as_git_does() {
        let ita = entry("new", 0o100644, 0, Some(EXTENDED_INTENT_TO_ADD), 3);
        assert!(parse(file(3, &[ita], &[])).is_err(), "git add -N");
        let sparse = entry("folder/", 0o040000, 0, Some(0x4000), 3);
        assert!(parse(file(3, &[sparse], &[])).is_err(), "sparse index");
        let link = b"link\0\0\0\x14aaaaaaaaaaaaaaaaaaaa";
        let one = entry("a", 0o100644, 0, None, 2);
        assert!(
            parse(file(2, std::slice::from_ref(&one), link)).is_err(),
            "split index"
        );
        assert!(
            parse(file(5, std::slice::from_ref(&one), &[])).is_err(),
            "version 5"
        );
        let mut short = file(2, &[one], &[]);
        short.truncate(40);
        assert!(parse(short).is_err(), "truncated");
        assert!(parse(b"not an index".to_vec()).is_err());
        // A cache tree nested past any real depth is refused, not recursed into.
        let mut deep = Vec::new();
        for _ in 0..=MAX_DEPTH + 1 {
            deep.extend_from_slice(b"d\0-1 1\n");
        }
        let mut ext = b"TREE".to_vec();
        ext.extend_from_slice(&(deep.len() as u32).to_be_bytes());
        ext.extend_from_slice(&deep);
        let one = entry("a", 0o100644, 0, None, 2);
        assert!(
            parse(file(2, &[one], &ext)).is_err(),
            "a cache tree too deep"
        );
        let skip = entry("s", 0o100644, 0, Some(0x4000), 3);
        assert!(
            parse(file(3, &[skip], &[])).is_ok(),
            "skip-worktree is read"
        );
    }

    #[test]
    fn modes_compare_as_git_compares_them() {
        assert_eq!(canonical(0o100664), 0o100644);
        assert_eq!(canonical(0o100775), 0o100755);
        assert_eq!(canonical(0o120000), MODE_LINK);
        assert_eq!(canonical(0o160000), MODE_GITLINK);
    }
}
