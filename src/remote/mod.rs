//! Working with a remote (SPEC §8): what travels between machines and how.
//!
//! Evidence travels in `refs/notes/planx`. A remote's notes are fetched into a remote-tracking
//! notes ref, `refs/notes/remotes/<remote>/planx`, never onto the local ref (a forced fetch
//! there would throw local lines away), and read beside the local notes. [`notes::sync`]
//! merges the two by the union of lines ([`lines::merge_note`]) and pushes the result back
//! with a compare-and-swap on the exact value it merged, fetching and merging again when
//! another machine pushed first. Claims (`refs/planx/claims/<plan>/<phase>` on the remote)
//! are fetched into `refs/planx/remotes/<remote>/claims/`. Phase branches are pushed when
//! they are ahead of the remote's, never over a branch someone else moved
//! ([`branches::push_ahead`]).
//!
//! Fetch and push run the `git` command ([`crate::git::remote`]), so credentials, SSH keys and
//! the remote's configuration work as they do for git. Everything here returns values; the
//! command line says them.

pub mod branches;
pub mod lines;
pub mod notes;

use thiserror::Error;

use crate::git::notes::{NOTES_REF, tracking_notes_ref};
use crate::git::remote::TransportFailure;
use crate::git::{GitError, Repo};
use crate::plan::Plan;

/// Where claims live on a remote: `refs/planx/claims/<plan>/<phase>`.
pub const CLAIMS_PREFIX: &str = "refs/planx/claims/";

/// The folder of a remote's claims, as fetched here: `refs/planx/remotes/<remote>/claims/`.
pub fn tracking_claims_prefix(remote: &str) -> String {
    format!("refs/planx/remotes/{remote}/claims/")
}

/// The fetch refspecs that bring a remote's notes and claims into its remote-tracking refs.
/// Patterns, so that `git fetch` does not fail while the remote has neither; the notes'
/// (`refs/notes/planx*`) matches `refs/notes/planx` and whatever starts with it, each mapped
/// under `refs/notes/remotes/<remote>/`.
pub fn fetch_refspecs(remote: &str) -> [String; 2] {
    [
        format!("+{NOTES_REF}*:{}*", tracking_notes_ref(remote)),
        format!("+{CLAIMS_PREFIX}*:{}*", tracking_claims_prefix(remote)),
    ]
}

/// A configured remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    pub url: String,
}

/// Why working with a remote failed.
#[derive(Debug, Error)]
pub enum RemoteError {
    #[error(transparent)]
    Git(#[from] GitError),
    /// The repository has no remote at all.
    #[error("this repository has no remote")]
    NoRemote,
    /// A remote name that is not configured.
    #[error("there is no remote `{name}`")]
    UnknownRemote { name: String, known: Vec<String> },
    /// git could not fetch from, or push to, the remote.
    #[error("cannot reach the remote `{remote}` ({url})")]
    Unreachable {
        remote: String,
        url: String,
        failure: TransportFailure,
    },
    /// The remote refused the notes for another reason than a race (a hook, permissions).
    #[error("`{remote}` refused {reference}: {reason}")]
    Refused {
        remote: String,
        reference: String,
        reason: String,
        /// What the remote printed.
        said: Vec<String>,
    },
    /// Other machines kept pushing notes between each fetch and push.
    #[error(
        "`{remote}`'s notes kept changing: {attempts} attempts to push the merged notes lost the race"
    )]
    KeptLosing { remote: String, attempts: u32 },
}

/// The remote to work with: `name` when given, else the upstream remote of the current
/// branch, else `origin`, else the only remote there is.
pub fn resolve(repo: &Repo, name: Option<&str>) -> Result<Remote, RemoteError> {
    let known = repo.remote_names()?;
    let url = |n: &str| repo.config_string(&format!("remote.{n}.url"));
    if let Some(name) = name {
        return match url(name)? {
            Some(url) => Ok(Remote {
                name: name.to_owned(),
                url,
            }),
            None => Err(RemoteError::UnknownRemote {
                name: name.to_owned(),
                known,
            }),
        };
    }
    let upstream = match repo.current_branch()? {
        Some(branch) => repo.config_string(&format!("branch.{branch}.remote"))?,
        None => None,
    };
    let chosen = upstream
        .filter(|r| r != "." && known.contains(r))
        .or_else(|| known.iter().find(|r| *r == "origin").cloned())
        .or_else(|| (known.len() == 1).then(|| known[0].clone()));
    match chosen {
        Some(name) => match url(&name)? {
            Some(url) => Ok(Remote { name, url }),
            None => Err(RemoteError::NoRemote),
        },
        None if known.is_empty() => Err(RemoteError::NoRemote),
        None => Err(RemoteError::UnknownRemote {
            name: "origin".into(),
            known,
        }),
    }
}

/// Configures `remote` so that a plain `git fetch` (and `git pull`) also brings its notes and
/// claims into their remote-tracking refs ([`fetch_refspecs`]); the remote's other refspecs
/// stay. Returns the refspecs added (none when they were there already).
pub fn configure(repo: &Repo, remote: &str) -> Result<Vec<String>, RemoteError> {
    let key = format!("remote.{remote}.fetch");
    let mut added = Vec::new();
    for spec in fetch_refspecs(remote) {
        if repo.ensure_local_config_value(&key, &spec)? {
            added.push(spec);
        }
    }
    Ok(added)
}

/// Whether `remote` is configured to fetch planx's notes ([`configure`]).
pub fn is_configured(repo: &Repo, remote: &str) -> Result<bool, RemoteError> {
    let [notes, _] = fetch_refspecs(remote);
    Ok(repo
        .config_values(&format!("remote.{remote}.fetch"))?
        .contains(&notes))
}

/// The remote whose notes were never fetched here, if any: the remote commands would sync
/// with is not configured to fetch them and none of its notes are here. (Whether it has
/// notes at all would take a network round trip; a report does not make one.)
pub fn unfetched_notes(repo: &Repo) -> Result<Option<Remote>, RemoteError> {
    let remote = match resolve(repo, None) {
        Ok(remote) => remote,
        Err(RemoteError::NoRemote | RemoteError::UnknownRemote { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if is_configured(repo, &remote.name)?
        || repo
            .ref_target(&tracking_notes_ref(&remote.name))?
            .is_some()
    {
        return Ok(None);
    }
    Ok(Some(remote))
}

/// The refspecs one fetch of [`sync`] asks for: the notes and claims, the plan's phase branches
/// and its base, each into its usual remote-tracking ref. All patterns, so that refs the
/// remote does not have yet are no error (`refs/heads/main*` may bring `main-old` too, to
/// where `git fetch` would put it anyway).
pub fn sync_refspecs(remote: &str, plan: &Plan) -> Vec<String> {
    let mut specs = fetch_refspecs(remote).to_vec();
    specs.push(format!(
        "+refs/heads/{0}*:refs/remotes/{remote}/{0}*",
        plan.branch_prefix
    ));
    if !plan.base.starts_with(&plan.branch_prefix) {
        specs.push(format!(
            "+refs/heads/{0}*:refs/remotes/{remote}/{0}*",
            plan.base
        ));
    }
    specs
}

/// Fetches from `remote` what `specs` say, with pruning (a claim released there is gone here).
pub fn fetch(repo: &Repo, remote: &Remote, specs: &[String]) -> Result<(), RemoteError> {
    repo.fetch(&remote.name, specs, true)?
        .map_err(|failure| RemoteError::Unreachable {
            remote: remote.name.clone(),
            url: remote.url.clone(),
            failure,
        })
}

/// What a step of [`sync`] is doing, for progress on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fetching,
    MergingNotes,
    /// Pushing the merged notes, attempt `n` (from 1).
    PushingNotes(u32),
    PushingBranches,
}

/// What [`sync`] did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub remote: Remote,
    /// The fetch refspecs added to the remote's configuration by this sync.
    pub configured: Vec<String>,
    pub notes: notes::NotesSync,
    /// The claims on the remote, as fetched (full ref names here).
    pub claims: Vec<String>,
    pub branches: Vec<branches::BranchSync>,
}

/// `git planx sync`: configures the remote's refspecs, fetches its notes, claims, phase
/// branches and base, merges and pushes the notes back, and pushes the phase branches that are
/// ahead. One sync at a time per repository (a second waits for the first).
pub fn sync(
    repo: &Repo,
    plan: &Plan,
    remote: &Remote,
    progress: &mut dyn FnMut(Step),
) -> Result<SyncReport, RemoteError> {
    let _lock = lock(repo)?;
    let configured = configure(repo, &remote.name)?;
    progress(Step::Fetching);
    fetch(repo, remote, &sync_refspecs(&remote.name, plan))?;
    let notes = notes::sync_fetched(repo, remote, progress)?;
    let claims = repo
        .refs_under(&tracking_claims_prefix(&remote.name))?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    progress(Step::PushingBranches);
    let branches = branches::push_ahead(repo, plan, remote)?;
    Ok(SyncReport {
        remote: remote.clone(),
        configured,
        notes,
        claims,
        branches,
    })
}

/// The lock that keeps two syncs of one repository from fetching over each other.
fn lock(repo: &Repo) -> Result<crate::lock::Lock, RemoteError> {
    crate::lock::Lock::wait(&repo.locks_dir(), "sync")
        .map_err(|source| RemoteError::Git(GitError::Lock { source }))
}
