//! The records in the notes by who signed them, and `signers adopt`: the one-time step that
//! makes the unsigned records of versions before records were signed count again.
//!
//! Adopting signs anew, with this machine's key, a copy of each unsigned record — marked
//! `adopted` with the time — appended beside the original on the same commit; the original stays
//! as it was. Whoever adopts vouches for the history as it is: a record written by hand before
//! that moment is adopted with the rest, so it is done once, on a history one trusts, and the
//! records it would adopt are shown first (`--dry-run`).

use std::collections::BTreeMap;

use super::LifecycleError;
use crate::clock;
use crate::git::{Oid, Repo};
use crate::state::events::{Event, is_adopted_copy, parse_note_all};
use crate::trust::TrustError;
use crate::trust::signing::{KeyId, Seal, Standing, standing};

/// Who wrote the records of the notes: how many lines each signer, and each kind of line that
/// is not evidence, holds.
#[derive(Debug, Default)]
pub struct Census {
    /// Signed with a key whose signature holds, by key: its standing here, the names its
    /// records give (`by`), and how many lines.
    pub signed: BTreeMap<KeyId, Signed>,
    /// Unsigned records that no adopted copy speaks for yet.
    pub unsigned: Vec<(Oid, Event)>,
    /// Unsigned records adopted already.
    pub adopted: usize,
    /// Lines whose signature does not hold.
    pub broken: Vec<(Oid, Event)>,
}

#[derive(Debug)]
pub struct Signed {
    pub standing: Standing,
    pub names: Vec<String>,
    pub records: usize,
}

/// Reads every note and sorts its records by who signed them.
pub fn census(repo: &Repo) -> Result<Census, LifecycleError> {
    let notes = repo.notes()?;
    let mut census = Census::default();
    for (commit, note) in notes.all()? {
        let events = parse_note_all(&note);
        for event in &events {
            match event.seal {
                Seal::Key(key) => {
                    let entry = census.signed.entry(key).or_insert_with(|| Signed {
                        standing: standing(key),
                        names: Vec::new(),
                        records: 0,
                    });
                    entry.records += 1;
                    if let Some(by) = event.signer()
                        && !entry.names.iter().any(|n| n == by)
                    {
                        entry.names.push(by.to_owned());
                    }
                }
                Seal::Broken => census.broken.push((commit, event.clone())),
                Seal::Unsigned => {
                    if events
                        .iter()
                        .any(|other| other.counts() && is_adopted_copy(other, event))
                    {
                        census.adopted += 1;
                    } else {
                        census.unsigned.push((commit, event.clone()));
                    }
                }
            }
        }
    }
    Ok(census)
}

/// What `signers adopt` did, or would do.
#[derive(Debug)]
pub struct AdoptOutcome {
    /// The unsigned records, by commit.
    pub records: Vec<(Oid, Event)>,
    /// They were signed (false for `--dry-run`).
    pub written: bool,
}

/// Signs anew, with this machine's key, every unsigned record no adopted copy speaks for yet.
pub fn adopt(repo: &Repo, dry_run: bool) -> Result<AdoptOutcome, LifecycleError> {
    let records = census(repo)?.unsigned;
    if dry_run || records.is_empty() {
        return Ok(AdoptOutcome {
            records,
            written: false,
        });
    }
    let now = clock::format(clock::now());
    let mut by_commit: BTreeMap<Oid, Vec<String>> = BTreeMap::new();
    for (commit, event) in &records {
        let line = event
            .clone()
            .with("adopted", &now)
            .sealed_line()
            .map_err(TrustError::from)?;
        by_commit.entry(*commit).or_default().push(line);
    }
    for (commit, lines) in by_commit {
        repo.append_note_lines(commit, &lines)?;
    }
    Ok(AdoptOutcome {
        records,
        written: true,
    })
}
