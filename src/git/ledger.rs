//! What this process itself wrote to refs, while a ledger is kept: `run` keeps one, so that
//! it can tell its own writes (phases' checkpoints, verify records, merges into base, made on
//! several threads at once) from anyone else's while an executor runs.
//!
//! Every write of a ref through [`Repo`](super::Repo) that `run` watches is written down here
//! — a branch moved from one value to another, lines appended to a note — while the write is
//! under way; [`quiet`] waits for writes under way to end and holds new ones back, so that
//! what a reader sees of the refs and what the ledger says agree. A process-wide book, as
//! [`crate::interrupt`] is a process-wide registry: the writes happen deep in the layers
//! below `run`, on whichever thread writes, and only `run` asks.
//!
//! When no ledger is kept (every command but `run`), nothing is written down and nothing
//! waits.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Oid;

static KEPT: AtomicBool = AtomicBool::new(false);
/// Held shared by each write under way, exclusively by [`quiet`].
static GATE: RwLock<()> = RwLock::new(());
static BOOK: Mutex<Option<Book>> = Mutex::new(None);

#[derive(Default)]
struct Book {
    /// A ref moved from a value (none: created) to a value (none: deleted).
    moves: Vec<(String, Option<Oid>, Option<Oid>)>,
    /// Lines appended to the note on an object.
    lines: HashMap<Oid, HashSet<String>>,
}

/// While it lives, this process's writes to refs are written down.
#[must_use = "the ledger is kept only while the guard lives"]
pub struct Keeping(());

/// Keeps a ledger until the guard is dropped.
pub fn keep() -> Keeping {
    *book() = Some(Book::default());
    KEPT.store(true, Ordering::SeqCst);
    Keeping(())
}

impl Drop for Keeping {
    fn drop(&mut self) {
        KEPT.store(false, Ordering::SeqCst);
        *book() = None;
    }
}

fn book() -> std::sync::MutexGuard<'static, Option<Book>> {
    BOOK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A write under way; hold it across the write and its entry in the ledger.
pub(crate) fn writing() -> Option<RwLockReadGuard<'static, ()>> {
    KEPT.load(Ordering::SeqCst)
        .then(|| GATE.read().unwrap_or_else(|p| p.into_inner()))
}

/// `name` is moved (or created, or deleted) by this process.
pub(crate) fn moved(name: &str, old: Option<Oid>, new: Option<Oid>) {
    if let Some(book) = book().as_mut() {
        book.moves.push((name.to_owned(), old, new));
    }
}

/// `lines` are appended by this process to the note on `target`.
pub(crate) fn noted(target: Oid, lines: &[String]) {
    if let Some(book) = book().as_mut() {
        book.lines
            .entry(target)
            .or_default()
            .extend(lines.iter().cloned());
    }
}

/// While the guard lives, no write of this process is under way: the refs read meanwhile are
/// as the ledger says this process left them. The caller must not write refs meanwhile.
pub fn quiet() -> RwLockWriteGuard<'static, ()> {
    GATE.write().unwrap_or_else(|p| p.into_inner())
}

/// Do this process's own moves of `name` take it from `from` to `to` (nothing else moved it
/// in between)?
pub fn accounts_for(name: &str, from: Option<Oid>, to: Option<Oid>) -> bool {
    if from == to {
        return true;
    }
    let book = book();
    let Some(book) = book.as_ref() else {
        return false;
    };
    let mut seen = HashSet::from([from]);
    let mut todo = vec![from];
    while let Some(at) = todo.pop() {
        for (_, _, next) in book
            .moves
            .iter()
            .filter(|(n, old, _)| n == name && *old == at)
        {
            if *next == to {
                return true;
            }
            if seen.insert(*next) {
                todo.push(*next);
            }
        }
    }
    false
}

/// The lines this process appended to the note on `target`.
pub fn noted_lines(target: Oid) -> HashSet<String> {
    book()
        .as_ref()
        .and_then(|b| b.lines.get(&target).cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Option<Oid> {
        Some(Oid::from_bytes(&[n; 20]).unwrap())
    }

    #[test]
    fn a_chain_of_own_moves_accounts_for_a_change_and_a_gap_does_not() {
        let _kept = keep();
        moved("refs/heads/main", oid(1), oid(2));
        moved("refs/heads/main", oid(2), oid(3));
        moved("refs/heads/main", oid(7), oid(8));
        moved("refs/heads/x", None, oid(5));
        assert!(accounts_for("refs/heads/main", oid(1), oid(3)));
        assert!(accounts_for("refs/heads/main", oid(4), oid(4)));
        // Someone moved main from 3 to 7 before this process moved it on to 8.
        assert!(!accounts_for("refs/heads/main", oid(1), oid(8)));
        assert!(!accounts_for("refs/heads/main", oid(3), oid(1)));
        assert!(accounts_for("refs/heads/x", None, oid(5)));
        assert!(!accounts_for("refs/heads/x", oid(5), None));
        noted(oid(9).unwrap(), &["{}".to_owned()]);
        assert!(noted_lines(oid(9).unwrap()).contains("{}"));
        assert!(noted_lines(oid(1).unwrap()).is_empty());
    }
}
