//! The union of two histories of `refs/notes/planx`: every line of either side, none twice,
//! so that notes written on different machines merge losslessly (git's `cat_sort_uniq`, with
//! the local order of lines kept). Used to bring a remote's notes in before they are pushed
//! back with a lease.

use std::collections::BTreeMap;

use git2::{ErrorCode, ObjectType, Oid};

use super::notes::{NOTES_REF, insert};
use super::{GitError, LOCKED_ATTEMPTS, Repo, git_err, thread_sleep_locked};

const ATTEMPTS: u32 = 100;

impl Repo {
    /// Merges the notes commit `other` (a remote's notes, as fetched) into `refs/notes/planx`
    /// by the union of lines, in one notes commit whose parents are both sides (or a
    /// fast-forward when the local notes are behind), moved by compare-and-swap: a line
    /// appended here meanwhile is never lost. Returns whether the local notes changed.
    pub fn merge_notes_from(&self, other: Oid) -> Result<bool, GitError> {
        let fail = |what: &'static str| git_err(what);
        let other_tree = self
            .inner
            .find_commit(other)
            .and_then(|c| c.tree())
            .map_err(fail("cannot read the fetched notes"))?;
        let theirs = note_entries(self, other_tree.id(), String::new())?;
        let mut locked = 0;
        for _ in 0..ATTEMPTS {
            let tip = self.ref_target(NOTES_REF)?;
            if let Some(tip) = tip
                && (tip == other || self.is_ancestor(other, tip)?)
            {
                return Ok(false);
            }
            let fast_forward = match tip {
                None => true,
                Some(tip) => self.is_ancestor(tip, other)?,
            };
            let commit = if fast_forward {
                other
            } else {
                let tip = tip.expect("a tip that is not an ancestor");
                let parent = self
                    .inner
                    .find_commit(tip)
                    .map_err(fail("cannot read refs/notes/planx"))?;
                let mut root = parent.tree_id();
                let ours = self.notes()?;
                for (target, blob) in &theirs {
                    let their_bytes = self
                        .inner
                        .find_blob(*blob)
                        .map_err(fail("cannot read a fetched note"))?
                        .content()
                        .to_vec();
                    let mine = ours.get(*target)?.unwrap_or_default();
                    let merged = union(mine.as_bytes(), &their_bytes);
                    if merged == mine.as_bytes() {
                        continue;
                    }
                    let blob = self
                        .inner
                        .blob(&merged)
                        .map_err(fail("cannot write a note"))?;
                    let tree = self
                        .inner
                        .find_tree(root)
                        .map_err(fail("cannot read the notes tree"))?;
                    root = insert(self, Some(&tree), &target.to_string(), blob)?;
                }
                let tree = self
                    .inner
                    .find_tree(root)
                    .map_err(fail("cannot read the notes tree"))?;
                let theirs_commit = self
                    .inner
                    .find_commit(other)
                    .map_err(fail("cannot read the fetched notes"))?;
                let sig = self.signature()?;
                self.inner
                    .commit(
                        None,
                        &sig,
                        &sig,
                        "Notes merged by 'git planx' (union of lines)\n",
                        &tree,
                        &[&parent, &theirs_commit],
                    )
                    .map_err(fail("cannot write a notes commit"))?
            };
            let moved = match tip {
                Some(old) => self.inner.reference_matching(
                    NOTES_REF,
                    commit,
                    true,
                    old,
                    "notes: merge by git planx",
                ),
                None => self
                    .inner
                    .reference(NOTES_REF, commit, false, "notes: merge by git planx"),
            };
            match moved {
                Ok(_) => return Ok(true),
                Err(e) if e.code() == ErrorCode::Locked => {
                    locked += 1;
                    if locked >= LOCKED_ATTEMPTS {
                        return Err(self.ref_locked(NOTES_REF.into()));
                    }
                    thread_sleep_locked();
                }
                Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Exists) => {}
                Err(e) => return Err(git_err("cannot update refs/notes/planx")(e)),
            }
        }
        Err(GitError::Busy {
            what: format!("{NOTES_REF} kept changing while the fetched notes were merged in"),
        })
    }
}

/// Every note of a notes tree, by the commit it annotates, whatever its fan-out.
fn note_entries(repo: &Repo, tree: Oid, prefix: String) -> Result<BTreeMap<Oid, Oid>, GitError> {
    let tree = repo
        .inner
        .find_tree(tree)
        .map_err(git_err("cannot read a notes tree"))?;
    let mut out = BTreeMap::new();
    for entry in tree.iter() {
        let Ok(name) = entry.name() else { continue };
        let hex = format!("{prefix}{name}");
        if !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        match entry.kind() {
            Some(ObjectType::Tree) if hex.len() < 40 => {
                out.extend(note_entries(repo, entry.id(), hex)?);
            }
            Some(ObjectType::Blob) if hex.len() == 40 => {
                if let Ok(target) = Oid::from_str(&hex) {
                    out.insert(target, entry.id());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `ours`, then every line of `theirs` that `ours` lacks, each line once.
fn union(ours: &[u8], theirs: &[u8]) -> Vec<u8> {
    let mut seen: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(ours.len() + theirs.len());
    for line in ours
        .split(|&b| b == b'\n')
        .chain(theirs.split(|&b| b == b'\n'))
    {
        if line.is_empty() || !seen.insert(line) {
            continue;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::union;

    #[test]
    fn the_union_keeps_every_line_once_in_our_order() {
        assert_eq!(union(b"a\nb\n", b"b\nc\na\n"), b"a\nb\nc\n");
        assert_eq!(union(b"", b"x\n"), b"x\n");
        assert_eq!(union(b"x", b""), b"x\n");
    }
}
