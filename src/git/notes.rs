//! Notes in `refs/notes/planx`: one blob of JSON Lines per annotated commit, only ever appended.
//!
//! libgit2's own note writer keeps every note in one flat tree (libgit2 issue 5793), so each
//! write rewrites a tree that grows with the number of notes. This writer lays notes out with a
//! fan-out the way git does — `ab/cdef…` once a tree holds more than 256 notes — so a write
//! touches a couple of small trees whatever the number of notes, and git reads the result as
//! its own. Reads accept any layout git may have written (flat, fanned out, or mixed).
//!
//! Appends are a compare-and-swap on the notes ref: read the tip, write the new notes commit,
//! move the ref only if it still points at the tip that was read; on a lost race (or a lock
//! held by another writer) read again and retry, so no event is ever dropped.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::thread;
use std::time::Duration;

use git2::{ErrorCode, ObjectType, Oid, Tree};

use super::{GitError, LOCKED_ATTEMPTS, Repo, git_err, thread_sleep_locked};

/// The ref holding planx's notes.
pub const NOTES_REF: &str = "refs/notes/planx";

/// Where a remote's `refs/notes/planx` is fetched to: `refs/notes/remotes/<remote>/planx`,
/// beside (never onto) the local notes, read with them ([`Repo::notes`]).
pub const TRACKING_NOTES_PREFIX: &str = "refs/notes/remotes/";

/// The remote-tracking notes ref of `remote`: `refs/notes/remotes/<remote>/planx`.
pub fn tracking_notes_ref(remote: &str) -> String {
    format!("{TRACKING_NOTES_PREFIX}{remote}/planx")
}

/// Above this many notes directly in one tree, the tree is split into two-character folders.
const FANOUT_THRESHOLD: usize = 256;
const MODE_TREE: i32 = 0o040000;
const MODE_BLOB: i32 = 0o100644;
const MAX_ATTEMPTS: u32 = 200;

/// The notes as of one tip of the notes ref (and of the remote-tracking notes refs beside it),
/// for many lookups. With several trees, the note on a commit is the union of its lines in
/// each, the local tree's first.
pub struct NotesSnapshot<'r> {
    repo: &'r Repo,
    /// The local notes tree first, then the remote-tracking ones that differ from it.
    roots: Vec<Tree<'r>>,
    /// Fan-out folders read so far, by id: each is read once however many notes are looked up
    /// in it (a thousand lookups in 50,000 notes read most of 256 folders of 13 KiB).
    folders: RefCell<HashMap<Oid, Listing>>,
}

impl<'r> NotesSnapshot<'r> {
    /// The note on `target`, if any (lossily decoded: notes are written as UTF-8).
    pub fn get(&self, target: Oid) -> Result<Option<String>, GitError> {
        Ok(self
            .get_bytes(target)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The note on `target` as stored: with several trees, each line once, in the order of
    /// the first tree holding it.
    fn get_bytes(&self, target: Oid) -> Result<Option<Vec<u8>>, GitError> {
        let mut found: Option<(Oid, Vec<u8>)> = None;
        for root in &self.roots {
            let Some(blob) = self.blob_in(root, target)? else {
                continue;
            };
            let bytes = match &found {
                Some((seen, _)) if *seen == blob => continue,
                _ => self.read_blob(blob)?,
            };
            found = Some(match found {
                None => (blob, bytes),
                Some((first, mut have)) => {
                    union_into(&mut have, &bytes);
                    (first, have)
                }
            });
        }
        Ok(found.map(|(_, bytes)| bytes))
    }

    /// The blobs of the note on `target`, one per tree holding it, in the order of the trees:
    /// what [`NotesSnapshot::get`] reads, named without reading it.
    pub fn note_blobs(&self, target: Oid) -> Result<Vec<Oid>, GitError> {
        let mut blobs = Vec::new();
        for root in &self.roots {
            if let Some(blob) = self.blob_in(root, target)? {
                blobs.push(blob);
            }
        }
        Ok(blobs)
    }

    fn read_blob(&self, blob: Oid) -> Result<Vec<u8>, GitError> {
        let blob = self
            .repo
            .inner
            .find_blob(blob)
            .map_err(git_err("cannot read a note"))?;
        Ok(blob.content().to_vec())
    }

    /// The blob of the note on `target` in the notes tree `root`.
    fn blob_in(&self, root: &Tree<'r>, target: Oid) -> Result<Option<Oid>, GitError> {
        let hex = target.to_string();
        let found = match root.get_name(&hex) {
            Some(entry) if entry.kind() == Some(ObjectType::Blob) => Some(entry.id()),
            _ => match root.get_name(&hex[..2]) {
                Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                    self.find(entry.id(), &hex[2..])?
                }
                _ => None,
            },
        };
        Ok(found)
    }

    /// Finds the note blob for `hex` in the folder `folder`: a leaf named by the rest of the id,
    /// or a two-character folder to descend into (each folder read once).
    fn find(&self, folder: Oid, hex: &str) -> Result<Option<Oid>, GitError> {
        if !self.folders.borrow().contains_key(&folder) {
            let listing = Listing::read(self.repo, folder)?;
            self.folders.borrow_mut().insert(folder, listing);
        }
        let next = {
            let folders = self.folders.borrow();
            let listing = &folders[&folder];
            if let Some((id, Kind::Note)) = listing.get(hex.as_bytes()) {
                return Ok(Some(id));
            }
            match hex.get(..2).and_then(|h| listing.get(h.as_bytes())) {
                Some((id, Kind::Folder)) if hex.len() > 2 => id,
                _ => return Ok(None),
            }
        };
        self.find(next, &hex[2..])
    }

    /// Every note of this snapshot, by annotated commit, in the order of their ids: for the
    /// rare reads of all of them (`signers`).
    pub fn all(&self) -> Result<Vec<(Oid, String)>, GitError> {
        let mut out = Vec::new();
        for root in &self.roots {
            self.collect(root, String::new(), &mut out)?;
        }
        out.sort_by_key(|(id, _)| *id);
        if self.roots.len() > 1 {
            // A commit noted in several trees: its note is the union of their lines.
            out.dedup_by_key(|(id, _)| *id);
            for (id, note) in &mut out {
                if let Some(union) = self.get(*id)? {
                    *note = union;
                }
            }
        }
        Ok(out)
    }

    fn collect(
        &self,
        tree: &Tree<'_>,
        prefix: String,
        out: &mut Vec<(Oid, String)>,
    ) -> Result<(), GitError> {
        for entry in tree.iter() {
            let Ok(name) = entry.name() else { continue };
            let hex = format!("{prefix}{name}");
            match entry.kind() {
                Some(ObjectType::Tree) if hex.len() < 40 => {
                    let sub = self
                        .repo
                        .inner
                        .find_tree(entry.id())
                        .map_err(git_err("cannot read refs/notes/planx"))?;
                    self.collect(&sub, hex, out)?;
                }
                Some(ObjectType::Blob) => {
                    let Ok(target) = Oid::from_str(&hex) else {
                        continue;
                    };
                    let blob = self
                        .repo
                        .inner
                        .find_blob(entry.id())
                        .map_err(git_err("cannot read a note"))?;
                    out.push((target, String::from_utf8_lossy(blob.content()).into_owned()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads ahead the fan-out folders of this snapshot: `folders` (from [`read_folders`], for
    /// instance on another thread) are used instead of reading them again.
    pub fn with_folders(self, folders: Vec<(Oid, Vec<u8>)>) -> Self {
        {
            let mut known = self.folders.borrow_mut();
            for (id, raw) in folders {
                if let Some(listing) = Listing::parse(raw) {
                    known.insert(id, listing);
                }
            }
        }
        self
    }
}

/// The notes trees a [`NotesSnapshot`] reads: the local notes' and the remote-tracking ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotesTrees {
    /// The tree of `refs/notes/planx`, `None` when there are no local notes.
    pub local: Option<Oid>,
    /// The trees of the remote-tracking notes refs that differ from the local one.
    pub tracking: Vec<Oid>,
}

impl NotesTrees {
    /// The tree most notes are read from: the local one, else the first remote's.
    pub fn main(&self) -> Option<Oid> {
        self.local.or_else(|| self.tracking.first().copied())
    }
}

/// Appends to `have` each line of `more` that `have` does not hold yet, keeping `have` as it is.
fn union_into(have: &mut Vec<u8>, more: &[u8]) {
    let known: std::collections::HashSet<&[u8]> = lines(have).collect();
    let new: Vec<&[u8]> = lines(more).filter(|l| !known.contains(l)).collect();
    if new.is_empty() {
        return;
    }
    let mut out = have.clone();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut seen = std::collections::HashSet::new();
    for line in new {
        if seen.insert(line) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    *have = out;
}

/// The non-empty lines of a note, without their line ends.
pub fn lines(note: &[u8]) -> impl Iterator<Item = &[u8]> {
    note.split(|b| *b == b'\n').filter(|l| !l.is_empty())
}

/// The raw fan-out folders of the notes tree `tree` in the repository at `git_dir`, read with
/// a repository of their own (so on any thread), for [`NotesSnapshot::with_folders`].
pub fn read_folders(git_dir: &std::path::Path, tree: Oid) -> Result<Vec<(Oid, Vec<u8>)>, GitError> {
    let repo = git2::Repository::open(git_dir).map_err(git_err("cannot open the repository"))?;
    let odb = repo.odb().map_err(git_err("cannot read the notes tree"))?;
    let root = repo
        .find_tree(tree)
        .map_err(git_err("cannot read the notes tree"))?;
    let mut out = Vec::new();
    for entry in root.iter() {
        if entry.kind() == Some(ObjectType::Tree) && entry.name_bytes().len() == 2 {
            let object = odb
                .read(entry.id())
                .map_err(git_err("cannot read the notes tree"))?;
            out.push((entry.id(), object.data().to_vec()));
        }
    }
    Ok(out)
}

/// A tree's entries as stored, found by name without building libgit2's tree object.
struct Listing {
    raw: Vec<u8>,
    /// `(start of name, length of name, kind)`, sorted by name.
    entries: Vec<(usize, usize, Kind)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A blob (or a link): a note when named by an object id.
    Note,
    Folder,
    /// A submodule entry: nothing git notes would write.
    Other,
}

impl Listing {
    fn read(repo: &Repo, id: Oid) -> Result<Listing, GitError> {
        let fail = || git_err("cannot read the notes tree");
        let odb = repo.inner.odb().map_err(fail())?;
        let object = odb.read(id).map_err(fail())?;
        if object.kind() != ObjectType::Tree {
            return Err(fail()(git2::Error::from_str("not a tree")));
        }
        Listing::parse(object.data().to_vec())
            .ok_or_else(|| fail()(git2::Error::from_str("a damaged tree")))
    }

    /// Parses a tree object (`<mode> <name>\0<20-byte id>`, repeated).
    fn parse(raw: Vec<u8>) -> Option<Listing> {
        let mut entries = Vec::new();
        let mut at = 0;
        while at < raw.len() {
            let space = at + raw[at..].iter().position(|&b| b == b' ')?;
            let nul = space + raw[space..].iter().position(|&b| b == 0)?;
            if nul + 21 > raw.len() {
                return None;
            }
            let kind = match &raw[at..space] {
                b"40000" | b"040000" => Kind::Folder,
                b"100644" | b"100755" | b"100664" | b"120000" => Kind::Note,
                _ => Kind::Other,
            };
            entries.push((space + 1, nul - space - 1, kind));
            at = nul + 21;
        }
        entries.sort_by(|a, b| raw[a.0..a.0 + a.1].cmp(&raw[b.0..b.0 + b.1]));
        Some(Listing { raw, entries })
    }

    /// The id of the entry named `name`, and its kind.
    fn get(&self, name: &[u8]) -> Option<(Oid, Kind)> {
        let i = self
            .entries
            .binary_search_by(|e| self.raw[e.0..e.0 + e.1].cmp(name))
            .ok()?;
        let (start, len, kind) = self.entries[i];
        let id = Oid::from_bytes(&self.raw[start + len + 1..start + len + 21]).ok()?;
        Some((id, kind))
    }
}

/// Writes `blob` as the note for `hex` under `tree` (which may be absent), returning the new
/// tree. Splits a tree into folders when it holds too many notes directly.
fn insert(repo: &Repo, tree: Option<&Tree<'_>>, hex: &str, blob: Oid) -> Result<Oid, GitError> {
    let git = &repo.inner;
    let fail = || git_err("cannot write the notes tree");
    let mut builder = git.treebuilder(tree).map_err(fail())?;
    let folder = tree.and_then(|t| {
        t.get_name(hex.get(..2)?)
            .filter(|e| e.kind() == Some(ObjectType::Tree))
            .map(|e| e.id())
    });
    // Once a tree is fanned out, every new note goes into a folder, as git lays them out.
    let fanned = tree.is_some_and(|t| {
        t.iter()
            .any(|e| e.kind() == Some(ObjectType::Tree) && e.name_bytes().len() == 2)
    });
    if hex.len() > 2 && (folder.is_some() || fanned) {
        let sub = folder
            .map(|f| git.find_tree(f))
            .transpose()
            .map_err(fail())?;
        let new_sub = insert(repo, sub.as_ref(), &hex[2..], blob)?;
        // A note for the same commit written flat by another tool is replaced, not kept twice.
        if builder.get(hex).map_err(fail())?.is_some() {
            builder.remove(hex).map_err(fail())?;
        }
        builder
            .insert(&hex[..2], new_sub, MODE_TREE)
            .map_err(fail())?;
        return builder.write().map_err(fail());
    }
    let replacing = builder.get(hex).map_err(fail())?.is_some();
    builder.insert(hex, blob, MODE_BLOB).map_err(fail())?;
    let leaves = tree.map_or(0, leaf_count) + usize::from(!replacing);
    if hex.len() > 2 && leaves > FANOUT_THRESHOLD {
        return split(repo, builder);
    }
    builder.write().map_err(fail())
}

/// Notes held directly in a tree (not in folders).
fn leaf_count(tree: &Tree<'_>) -> usize {
    tree.iter()
        .filter(|e| e.kind() == Some(ObjectType::Blob) && e.name_bytes().len() > 2)
        .count()
}

/// Moves every note held directly in `builder` into its two-character folder.
fn split(repo: &Repo, builder: git2::TreeBuilder<'_>) -> Result<Oid, GitError> {
    let git = &repo.inner;
    let fail = || git_err("cannot split the notes tree");
    let tree = git
        .find_tree(builder.write().map_err(fail())?)
        .map_err(fail())?;
    let mut leaves: Vec<(String, Oid)> = tree
        .iter()
        .filter(|e| e.kind() == Some(ObjectType::Blob))
        .filter_map(|e| {
            e.name()
                .ok()
                .filter(|n| n.len() > 2 && n.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(|n| (n.to_owned(), e.id()))
        })
        .collect();
    leaves.sort();
    let mut out = git.treebuilder(Some(&tree)).map_err(fail())?;
    let mut index = 0;
    while index < leaves.len() {
        let prefix = leaves[index].0[..2].to_owned();
        let existing = tree
            .get_name(&prefix)
            .filter(|e| e.kind() == Some(ObjectType::Tree))
            .map(|e| git.find_tree(e.id()))
            .transpose()
            .map_err(fail())?;
        let mut sub = git.treebuilder(existing.as_ref()).map_err(fail())?;
        while index < leaves.len() && leaves[index].0.starts_with(&prefix) {
            let (name, blob) = &leaves[index];
            out.remove(name).map_err(fail())?;
            sub.insert(&name[2..], *blob, MODE_BLOB).map_err(fail())?;
            index += 1;
        }
        let sub = sub.write().map_err(fail())?;
        out.insert(&prefix, sub, MODE_TREE).map_err(fail())?;
    }
    out.write().map_err(fail())
}

/// How the note on one object differs between two states of the notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteChange {
    /// The object annotated.
    pub target: Oid,
    /// Lines in the later note that the earlier one did not have.
    pub added: Vec<String>,
    /// Lines of the earlier note that the later one no longer has.
    pub removed: Vec<String>,
}

impl Repo {
    /// How the notes changed from the notes commit `from` to `to` (`None`: no notes): a
    /// [`NoteChange`] for each object whose note changed, lines compared as a set (the notes
    /// are JSON Lines, merged by taking the union of lines).
    pub fn note_changes(
        &self,
        from: Option<Oid>,
        to: Option<Oid>,
    ) -> Result<Vec<NoteChange>, GitError> {
        let fail = || git_err("cannot compare two states of refs/notes/planx");
        let tree = |commit: Option<Oid>| -> Result<Option<git2::Tree<'_>>, GitError> {
            commit
                .map(|c| self.inner.find_commit(c).and_then(|c| c.tree()))
                .transpose()
                .map_err(fail())
        };
        let (old, new) = (tree(from)?, tree(to)?);
        let diff = self
            .inner
            .diff_tree_to_tree(old.as_ref(), new.as_ref(), None)
            .map_err(fail())?;
        let lines = |id: Oid| -> Result<std::collections::BTreeSet<String>, GitError> {
            if id.is_zero() {
                return Ok(Default::default());
            }
            let blob = self.inner.find_blob(id).map_err(fail())?;
            Ok(String::from_utf8_lossy(blob.content())
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect())
        };
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let path = delta.new_file().path().or_else(|| delta.old_file().path());
            let Some(target) = path
                .and_then(|p| p.to_str())
                .map(|p| p.replace('/', ""))
                .and_then(|hex| Oid::from_str(&hex).ok())
            else {
                continue;
            };
            let (before, after) = (lines(delta.old_file().id())?, lines(delta.new_file().id())?);
            out.push(NoteChange {
                target,
                added: after.difference(&before).cloned().collect(),
                removed: before.difference(&after).cloned().collect(),
            });
        }
        Ok(out)
    }

    /// Configures this repository so that planx notes follow `commit --amend` and `rebase`
    /// (`notes.rewriteRef`, keeping other values) and merge line by line across machines
    /// (`notes.planx.mergeStrategy = cat_sort_uniq`). Returns each setting and whether it
    /// changed. Idempotent; `init`, `start` and `checkpoint` all make sure of it.
    pub fn configure_notes(&self) -> Result<[(&'static str, &'static str, bool); 2], GitError> {
        let rewrite = self.ensure_local_config_value("notes.rewriteRef", NOTES_REF)?;
        let old = self.set_local_config("notes.planx.mergeStrategy", "cat_sort_uniq")?;
        Ok([
            ("notes.rewriteRef", NOTES_REF, rewrite),
            (
                "notes.planx.mergeStrategy",
                "cat_sort_uniq",
                old.as_deref() != Some("cat_sort_uniq"),
            ),
        ])
    }

    /// The notes as they are now: the local ones with every remote's fetched beside them.
    pub fn notes(&self) -> Result<NotesSnapshot<'_>, GitError> {
        self.notes_at(&self.notes_trees()?)
    }

    /// The tree of the notes ref's tip, `None` when there are no notes.
    pub fn notes_tree(&self) -> Result<Option<Oid>, GitError> {
        self.notes_tree_of(NOTES_REF)
    }

    /// The tree of the notes commit `reference` points at, `None` when it does not exist.
    pub fn notes_tree_of(&self, reference: &str) -> Result<Option<Oid>, GitError> {
        match self.ref_target(reference)? {
            Some(tip) => Ok(Some(
                self.inner
                    .find_commit(tip)
                    .map(|c| c.tree_id())
                    .map_err(git_err(format!("cannot read {reference}")))?,
            )),
            None => Ok(None),
        }
    }

    /// The notes trees read together: the local notes' and each remote-tracking notes ref's
    /// (`refs/notes/remotes/<remote>/planx`) that differs from the local one.
    pub fn notes_trees(&self) -> Result<NotesTrees, GitError> {
        let local = self.notes_tree()?;
        let mut tracking = Vec::new();
        for (name, _) in self.refs_under(TRACKING_NOTES_PREFIX)? {
            if !name.ends_with("/planx") {
                continue;
            }
            if let Some(tree) = self.notes_tree_of(&name)?
                && Some(tree) != local
                && !tracking.contains(&tree)
            {
                tracking.push(tree);
            }
        }
        Ok(NotesTrees { local, tracking })
    }

    /// The notes as of the notes trees `trees` (from [`Repo::notes_trees`]).
    pub fn notes_at(&self, trees: &NotesTrees) -> Result<NotesSnapshot<'_>, GitError> {
        let mut roots = Vec::new();
        for tree in trees.local.iter().chain(&trees.tracking) {
            roots.push(
                self.inner
                    .find_tree(*tree)
                    .map_err(git_err("cannot read the notes tree"))?,
            );
        }
        Ok(NotesSnapshot {
            repo: self,
            roots,
            folders: RefCell::new(HashMap::new()),
        })
    }

    /// Every note in the notes tree `tree`, by the commit it annotates, whatever the layout
    /// (flat, fanned out, mixed). Entries that are not notes (a name that is not an object id
    /// once its folders are joined) are left out.
    pub fn notes_entries(&self, tree: Oid) -> Result<BTreeMap<Oid, Oid>, GitError> {
        let mut out = BTreeMap::new();
        self.collect_notes(tree, String::new(), &mut out)?;
        Ok(out)
    }

    fn collect_notes(
        &self,
        tree: Oid,
        prefix: String,
        out: &mut BTreeMap<Oid, Oid>,
    ) -> Result<(), GitError> {
        let listing = Listing::read(self, tree)?;
        for &(start, len, kind) in &listing.entries {
            let Ok(name) = std::str::from_utf8(&listing.raw[start..start + len]) else {
                continue;
            };
            let Ok(id) = Oid::from_bytes(&listing.raw[start + len + 1..start + len + 21]) else {
                continue;
            };
            let full = format!("{prefix}{name}");
            match kind {
                Kind::Note if full.len() == 40 => {
                    if let Ok(target) = Oid::from_str(&full) {
                        // A note git wrote flat beside the same one in a folder: git reads
                        // the one in the folder, and so does this.
                        out.entry(target).or_insert(id);
                    }
                }
                Kind::Folder if full.len() < 40 && name.len() == 2 => {
                    self.collect_notes(id, full, out)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The content of the blob `blob`.
    pub fn blob_content(&self, blob: Oid) -> Result<Vec<u8>, GitError> {
        Ok(self
            .inner
            .find_blob(blob)
            .map_err(git_err("cannot read a note"))?
            .content()
            .to_vec())
    }

    /// Writes `content` as a blob.
    pub fn write_blob(&self, content: &[u8]) -> Result<Oid, GitError> {
        self.inner
            .blob(content)
            .map_err(git_err("cannot write a note"))
    }

    /// Writes a notes tree holding exactly `entries` (annotated commit → note blob), laid out
    /// as the appends lay it out: flat up to 256 notes, else in two-character folders, each
    /// folder split again past 256. The layout follows from the entries alone, so the same
    /// notes make the same tree wherever they are written.
    pub fn write_notes_tree(&self, entries: &BTreeMap<Oid, Oid>) -> Result<Oid, GitError> {
        let named: Vec<(String, Oid)> = entries
            .iter()
            .map(|(target, blob)| (target.to_string(), *blob))
            .collect();
        self.write_notes_level(&named, 0)
    }

    fn write_notes_level(&self, entries: &[(String, Oid)], depth: usize) -> Result<Oid, GitError> {
        let fail = || git_err("cannot write the notes tree");
        let mut builder = self.inner.treebuilder(None).map_err(fail())?;
        if entries.len() <= FANOUT_THRESHOLD || depth + 2 >= 40 {
            for (name, blob) in entries {
                builder
                    .insert(&name[depth..], *blob, MODE_BLOB)
                    .map_err(fail())?;
            }
            return builder.write().map_err(fail());
        }
        let mut at = 0;
        while at < entries.len() {
            let folder = &entries[at].0[depth..depth + 2];
            let end = at
                + entries[at..]
                    .iter()
                    .take_while(|(name, _)| &name[depth..depth + 2] == folder)
                    .count();
            let sub = self.write_notes_level(&entries[at..end], depth + 2)?;
            builder.insert(folder, sub, MODE_TREE).map_err(fail())?;
            at = end;
        }
        builder.write().map_err(fail())
    }

    /// A notes commit of `tree` with `parents`, written as planx writes its own; no ref moves.
    pub fn write_notes_commit(
        &self,
        tree: Oid,
        parents: &[Oid],
        message: &str,
    ) -> Result<Oid, GitError> {
        let fail = || git_err("cannot write a notes commit");
        let tree = self.inner.find_tree(tree).map_err(fail())?;
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| self.inner.find_commit(*p))
            .collect::<Result<_, _>>()
            .map_err(fail())?;
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let sig = self.signature()?;
        self.inner
            .commit(None, &sig, &sig, message, &tree, &parents)
            .map_err(fail())
    }

    /// Moves `reference` to `new` only if it points at `expected` (`None`: only if it does not
    /// exist). `false` when someone else moved it first; waits out a lock held for a moment.
    pub fn update_ref_if(
        &self,
        reference: &str,
        new: Oid,
        expected: Option<Oid>,
        log: &str,
    ) -> Result<bool, GitError> {
        for _ in 0..LOCKED_ATTEMPTS {
            let moved = match expected {
                Some(old) => self
                    .inner
                    .reference_matching(reference, new, true, old, log),
                None => self.inner.reference(reference, new, false, log),
            };
            match moved {
                Ok(_) => return Ok(true),
                Err(e)
                    if matches!(
                        e.code(),
                        ErrorCode::Modified | ErrorCode::Exists | ErrorCode::NotFound
                    ) =>
                {
                    return Ok(false);
                }
                Err(e) if e.code() == ErrorCode::Locked => thread_sleep_locked(),
                Err(e) => return Err(git_err(format!("cannot update {reference}"))(e)),
            }
        }
        Err(self.ref_locked(reference.to_owned()))
    }

    /// Appends `line` (one JSON object, no newline) to the note on `target`.
    pub fn append_note_line(&self, target: Oid, line: &str) -> Result<(), GitError> {
        self.append_note_lines(target, &[line.to_owned()])
    }

    /// Appends `lines` (each one JSON object, no newline) to the note on `target`, all in one
    /// notes commit: either every line is recorded or none is.
    pub fn append_note_lines(&self, target: Oid, lines: &[String]) -> Result<(), GitError> {
        debug_assert!(lines.iter().all(|l| !l.contains('\n')));
        if lines.is_empty() {
            return Ok(());
        }
        let _writing = super::ledger::writing();
        super::ledger::noted(target, lines);
        let hex = target.to_string();
        let mut locked = 0;
        for attempt in 0..MAX_ATTEMPTS {
            let tip = self.ref_target(NOTES_REF)?;
            let parent = tip
                .map(|t| self.inner.find_commit(t))
                .transpose()
                .map_err(git_err("cannot read refs/notes/planx"))?;
            let root = parent
                .as_ref()
                .map(|c| c.tree())
                .transpose()
                .map_err(git_err("cannot read refs/notes/planx"))?;
            let snapshot = NotesSnapshot {
                repo: self,
                roots: root.into_iter().collect(),
                folders: RefCell::new(HashMap::new()),
            };
            let mut content = snapshot.get_bytes(target)?.unwrap_or_default();
            if !content.is_empty() && !content.ends_with(b"\n") {
                content.push(b'\n');
            }
            for line in lines {
                content.extend_from_slice(line.as_bytes());
                content.push(b'\n');
            }
            let blob = self
                .inner
                .blob(&content)
                .map_err(git_err("cannot write a note"))?;
            let new_root = insert(self, snapshot.roots.first(), &hex, blob)?;
            let new_root = self
                .inner
                .find_tree(new_root)
                .map_err(git_err("cannot write the notes tree"))?;
            let sig = self.signature()?;
            let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
            let commit = self
                .inner
                .commit(
                    None,
                    &sig,
                    &sig,
                    "Notes added by 'git planx'\n",
                    &new_root,
                    &parents,
                )
                .map_err(git_err("cannot write a notes commit"))?;
            let moved = match tip {
                Some(old) => self.inner.reference_matching(
                    NOTES_REF,
                    commit,
                    true,
                    old,
                    "notes: append by git planx",
                ),
                None => {
                    self.inner
                        .reference(NOTES_REF, commit, false, "notes: append by git planx")
                }
            };
            match moved {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == ErrorCode::Locked => {
                    locked += 1;
                    if locked >= LOCKED_ATTEMPTS {
                        return Err(self.ref_locked(NOTES_REF.into()));
                    }
                    tracing::debug!(attempt, "{NOTES_REF} is locked, waiting");
                    thread_sleep_locked();
                }
                Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Exists) => {
                    locked = 0;
                    tracing::debug!(attempt, "lost the race for {NOTES_REF}, retrying");
                    thread::sleep(Duration::from_millis(2 + u64::from(attempt % 16) * 3));
                }
                Err(e) => return Err(git_err("cannot update refs/notes/planx")(e)),
            }
        }
        Err(GitError::Busy {
            what: format!(
                "{NOTES_REF} kept changing under {MAX_ATTEMPTS} attempts to append a note"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_changes_are_the_lines_added_and_taken_out_of_each_note() {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::new("t", "t@example.com", &git2::Time::new(1, 0)).unwrap();
        let tree = git
            .find_tree(git.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let a = git.commit(None, &sig, &sig, "a", &tree, &[]).unwrap();
        let b = git.commit(None, &sig, &sig, "b", &tree, &[]).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        repo.append_note_line(a, r#"{"n":1}"#).unwrap();
        let first = repo.ref_target(NOTES_REF).unwrap();
        repo.append_note_line(a, r#"{"n":2}"#).unwrap();
        repo.append_note_line(b, r#"{"n":3}"#).unwrap();
        let second = repo.ref_target(NOTES_REF).unwrap();
        let sorted = |mut changes: Vec<NoteChange>| {
            changes.sort_by_key(|c| if c.target == a { 0 } else { 1 });
            changes
        };
        let change = |target, added: &[&str], removed: &[&str]| NoteChange {
            target,
            added: added.iter().map(|s| s.to_string()).collect(),
            removed: removed.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            sorted(repo.note_changes(first, second).unwrap()),
            vec![
                change(a, &[r#"{"n":2}"#], &[]),
                change(b, &[r#"{"n":3}"#], &[])
            ]
        );
        assert_eq!(
            sorted(repo.note_changes(second, first).unwrap()),
            vec![
                change(a, &[], &[r#"{"n":2}"#]),
                change(b, &[], &[r#"{"n":3}"#])
            ]
        );
        assert_eq!(
            repo.note_changes(None, first).unwrap(),
            vec![change(a, &[r#"{"n":1}"#], &[])]
        );
        assert!(repo.note_changes(second, second).unwrap().is_empty());
    }
}
