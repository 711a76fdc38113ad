//! Claims: which machine works on a phase, when several share one remote (SPEC §8).
//!
//! A claim is the ref `refs/planx/claims/<plan>/<phase>` on the remote. It points at a claim
//! commit — an empty commit on base's tip whose trailers are the record: who (the git
//! identity), where (the host and the repository there), when, and, for a claim `run` made,
//! the run's process id. It is created with a compare-and-swap push that expects the ref
//! absent (`--force-with-lease=<ref>:`); the remote's `receive-pack` checks that under the
//! ref's lock, so of any number of machines claiming at once exactly one wins, and the others
//! are told whose claim it is. Releasing is a delete with the exact old value expected;
//! stealing, a replace with the exact old value expected: neither can undo a change it did
//! not see.
//!
//! The claims a remote holds are fetched into `refs/planx/remotes/<remote>/claims/<plan>/…`
//! (pruned, so a released claim disappears), where `status` reads them without the network.
//!
//! A claim is **stale** when the machine that made it is gone, as far as this machine can
//! tell: made by a `run` on this host whose process is no longer running; or older than
//! `planx.claimStaleAfter` (default 1h) with nothing pushed to the phase's branch since
//! (the remote-tracking branch's latest commit). A stale claim is never taken silently:
//! `claim --steal` takes it over and says whose it was and how old.

use std::path::Path;

use thiserror::Error;

use crate::clock;
use crate::git::remote::{PushStatus, RefUpdate};
use crate::git::trailers::{self, TrailerError};
use crate::git::{GitError, Oid, Repo};
use crate::plan::Plan;
pub use crate::remote::CLAIMS_PREFIX;
use crate::remote::{Remote, RemoteError, tracking_claims_prefix};

/// Where this repository keeps what it fetched of each remote's planx refs:
/// `refs/planx/remotes/<remote>/claims/<plan>/<phase>` for claims.
pub const TRACKING_PREFIX: &str = "refs/planx/remotes/";
/// The setting for how long a claim lives without a sign of life.
pub const STALE_AFTER_KEY: &str = "planx.claimStaleAfter";
/// [`STALE_AFTER_KEY`]'s default: an hour.
pub const DEFAULT_STALE_AFTER: i64 = 3600;

const BY: &str = "Planx-Claimed-By";
const HOST: &str = "Planx-Claimed-On";
const IN: &str = "Planx-Claimed-In";
const AT: &str = "Planx-Claimed-At";
const PID: &str = "Planx-Claimed-Pid";

/// Attempts at a claim whose ref keeps changing under it (claimed, released, claimed…).
const ATTEMPTS: usize = 5;

#[derive(Debug, Error)]
pub enum ClaimError {
    /// Someone else holds the claim.
    #[error("phase `{phase}` is claimed by {}", .claim.who())]
    Claimed {
        phase: String,
        remote: String,
        claim: Box<Claim>,
        age: i64,
        stale: Option<String>,
    },
    /// `--release` of a claim this machine did not make, without `--steal`.
    #[error("phase `{phase}` is claimed by {}, not by this machine", .claim.who())]
    NotYours {
        phase: String,
        remote: String,
        claim: Box<Claim>,
        age: i64,
    },
    /// The claim changed on the remote between reading it and changing it, again and again.
    #[error("phase `{phase}`'s claim on `{remote}` changed while it was being {doing}")]
    Moved {
        phase: String,
        remote: String,
        doing: &'static str,
    },
    #[error("`{remote}` is not a remote of this repository")]
    UnknownRemote { remote: String, known: Vec<String> },
    #[error("`{key}` is not a duration: {problem}")]
    BadSetting { key: String, problem: String },
    /// The remote refused a claim for another reason than a race (a hook, permissions).
    #[error("`{remote}` refused {reference}: {reason}")]
    Refused {
        remote: String,
        reference: String,
        reason: String,
    },
    #[error("the claim cannot be recorded")]
    Trailer(#[from] TrailerError),
    #[error(transparent)]
    Remote(RemoteError),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A claim, as its commit records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub plan: String,
    pub phase: String,
    /// `Name <email>`.
    pub by: String,
    pub host: String,
    /// The repository (its git folder) on that host.
    pub repo: String,
    /// When it was made, seconds since the epoch.
    pub time: i64,
    /// The process id of the `run` that made it.
    pub pid: Option<u32>,
    /// The claim commit.
    pub commit: Oid,
}

impl Claim {
    /// Who and where, as a person reads it: `Ada <ada@example.com> on host (/path/.git)`.
    pub fn who(&self) -> String {
        format!("{} on {} ({})", self.by, self.host, self.repo)
    }

    /// Whether `here` made it.
    pub fn is_mine(&self, here: &Here) -> bool {
        self.by == here.by && self.host == here.host && self.repo == here.repo
    }

    /// Stale (with why) or not, at `now`, for a machine that sees the phase's branch's latest
    /// commit at `activity` (seconds since the epoch).
    pub fn stale(
        &self,
        now: i64,
        stale_after: i64,
        here: &Here,
        activity: Option<i64>,
    ) -> Option<String> {
        if let Some(pid) = self.pid
            && self.host == here.host
            && !process_running(pid)
        {
            return Some(format!(
                "the `git planx run` that made it (process {pid} on {}) is gone",
                self.host
            ));
        }
        let last = activity.map_or(self.time, |a| a.max(self.time));
        let quiet = now - last;
        (quiet > stale_after).then(|| {
            format!(
                "no sign of life for {} ({STALE_AFTER_KEY} is {})",
                clock::human_duration(quiet),
                clock::human_duration(stale_after)
            )
        })
    }

    /// Reads a claim commit; `None` when it is not one.
    fn read(repo: &Repo, commit: Oid) -> Result<Option<Claim>, GitError> {
        let info = repo.commit_info(commit)?;
        let t = info.trailers();
        let get = |key: &str| trailers::value(t, key).map(str::to_owned);
        let (Some(plan), Some(phase), Some(by), Some(at)) =
            (get(trailers::PLAN), get(trailers::PHASE), get(BY), get(AT))
        else {
            return Ok(None);
        };
        let time = clock::parse_git_date(&at).map_or(info.time, |t| t.timestamp());
        Ok(Some(Claim {
            plan,
            phase,
            by,
            host: get(HOST).unwrap_or_default(),
            repo: get(IN).unwrap_or_default(),
            time,
            pid: get(PID).and_then(|p| p.parse().ok()),
            commit,
        }))
    }
}

/// This machine, as a claim records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Here {
    pub by: String,
    pub host: String,
    pub repo: String,
}

impl Here {
    pub fn of(repo: &Repo) -> Here {
        let (name, email) = repo.identity();
        let dir = repo.common_dir();
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        Here {
            by: format!("{name} <{email}>"),
            host: hostname(),
            repo: dir.display().to_string(),
        }
    }
}

/// How a claim was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Took {
    /// It was free.
    New,
    /// This machine held it already; the record is renewed (a new time, this process).
    Renewed,
    /// Someone else's, taken over with `--steal`.
    Stolen {
        from: Box<Claim>,
        age: i64,
        stale: Option<String>,
    },
}

/// A claim this machine holds now.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub claim: Claim,
    pub took: Took,
    pub remote: String,
}

/// What `--release` did.
#[derive(Debug, Clone)]
pub enum Released {
    /// The claim is gone (this machine's, or someone else's with `steal`).
    Released { claim: Box<Claim>, age: i64 },
    /// There was no claim.
    NoClaim,
}

/// How to claim.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimOptions {
    /// Take it over from whoever holds it.
    pub steal: bool,
    /// The process that will work on the phase (`run`), so that its death makes the claim
    /// stale at once on its own host.
    pub pid: Option<u32>,
}

/// The ref of a phase's claim on the remote.
pub fn claim_ref(plan: &str, phase: &str) -> String {
    format!("{CLAIMS_PREFIX}{plan}/{phase}")
}

/// Where this repository keeps its copy of a remote's claims of a plan.
pub fn tracking_prefix(remote: &str, plan: &str) -> String {
    format!("{}{plan}/", tracking_claims_prefix(remote))
}

/// The remote to claim on: `name`, else the current branch's upstream remote, else `origin`,
/// else the only remote there is.
///
/// The remote is configured as `sync` configures it, so that a plain `git fetch` brings its
/// notes and claims from then on.
pub fn resolve(repo: &Repo, name: Option<&str>) -> Result<Remote, ClaimError> {
    let remote = crate::remote::resolve(repo, name)?;
    crate::remote::configure(repo, &remote.name)?;
    Ok(remote)
}

impl From<RemoteError> for ClaimError {
    fn from(error: RemoteError) -> ClaimError {
        match error {
            RemoteError::UnknownRemote { name, known } => ClaimError::UnknownRemote {
                remote: name,
                known,
            },
            RemoteError::Git(e) => ClaimError::Git(e),
            e => ClaimError::Remote(e),
        }
    }
}

/// Pushes one update to a claim: whether it landed (`false`: another machine changed the
/// claim first).
fn push(repo: &Repo, remote: &Remote, update: RefUpdate) -> Result<bool, ClaimError> {
    let reference = update.reference.clone();
    let statuses =
        repo.push(&remote.name, &[update])?
            .map_err(|failure| RemoteError::Unreachable {
                remote: remote.name.clone(),
                url: remote.url.clone(),
                failure,
            })?;
    match statuses.into_iter().next() {
        Some(PushStatus::Updated | PushStatus::UpToDate) => Ok(true),
        Some(PushStatus::Stale) => Ok(false),
        Some(PushStatus::Rejected { reason, .. }) => Err(ClaimError::Refused {
            remote: remote.name.clone(),
            reference,
            reason,
        }),
        None => Ok(false),
    }
}

/// `planx.claimStaleAfter`, in seconds.
pub fn stale_after(repo: &Repo) -> Result<i64, ClaimError> {
    match repo.config_string(STALE_AFTER_KEY)? {
        None => Ok(DEFAULT_STALE_AFTER),
        Some(text) => crate::plan::duration::parse(&text)
            .map(|d| d.as_secs() as i64)
            .map_err(|problem| ClaimError::BadSetting {
                key: STALE_AFTER_KEY.to_owned(),
                problem,
            }),
    }
}

/// Fetches the remote's claims of `plan` into [`tracking_prefix`], pruning the released ones.
pub fn fetch_claims(repo: &Repo, remote: &Remote, plan: &str) -> Result<(), ClaimError> {
    let spec = format!(
        "+{CLAIMS_PREFIX}{plan}/*:{}*",
        tracking_prefix(&remote.name, plan)
    );
    Ok(crate::remote::fetch(repo, remote, &[spec])?)
}

/// The claims of `plan` this repository last fetched from `remote`, by phase.
pub fn tracked(repo: &Repo, remote: &str, plan: &str) -> Result<Vec<Claim>, GitError> {
    let mut out = Vec::new();
    for (_, commit) in repo.refs_under(&tracking_prefix(remote, plan))? {
        if let Some(claim) = Claim::read(repo, commit)? {
            out.push(claim);
        }
    }
    Ok(out)
}

/// A claim seen in this repository's copies: on which remote.
#[derive(Debug, Clone)]
pub struct Seen {
    pub remote: String,
    pub claim: Claim,
}

/// Every claim of `plan` this repository last fetched, from every remote, in ref order.
pub fn all_tracked(repo: &Repo, plan: &str) -> Result<Vec<Seen>, GitError> {
    let mut out = Vec::new();
    let marker = format!("/claims/{plan}/");
    for (name, commit) in repo.refs_under(TRACKING_PREFIX)? {
        let rest = &name[TRACKING_PREFIX.len()..];
        let Some((remote, _phase)) = rest.split_once(&marker) else {
            continue;
        };
        if let Some(claim) = Claim::read(repo, commit)? {
            out.push(Seen {
                remote: remote.to_owned(),
                claim,
            });
        }
    }
    Ok(out)
}

fn tracked_one(
    repo: &Repo,
    remote: &str,
    plan: &str,
    phase: &str,
) -> Result<Option<Claim>, GitError> {
    let name = format!("{}{phase}", tracking_prefix(remote, plan));
    match repo.ref_target(&name)? {
        Some(commit) => Claim::read(repo, commit),
        None => Ok(None),
    }
}

/// The latest commit time of the remote's copy of the phase's branch, as last fetched.
pub fn activity(repo: &Repo, remote: &str, branch: &str) -> Result<Option<i64>, GitError> {
    match repo.ref_target(&format!("refs/remotes/{remote}/{branch}"))? {
        Some(tip) => Ok(Some(repo.commit_info(tip)?.time)),
        None => Ok(None),
    }
}

/// Writes a claim commit for `phase` on base's tip `base` (no ref moves).
fn record(
    repo: &Repo,
    plan: &Plan,
    phase: &str,
    base: Oid,
    here: &Here,
    opts: &ClaimOptions,
) -> Result<Oid, ClaimError> {
    let at = clock::format(clock::now());
    let pid = opts.pid.map(|p| p.to_string());
    let mut pairs: Vec<(&str, &str)> = vec![
        (trailers::PLAN, &plan.id),
        (trailers::PHASE, phase),
        (BY, &here.by),
        (HOST, &here.host),
        (IN, &here.repo),
        (AT, &at),
    ];
    if let Some(pid) = &pid {
        pairs.push((PID, pid));
    }
    let message = trailers::message(&format!("planx: claim phase {phase}"), &pairs)?;
    let tree = repo.tree_of(base)?;
    Ok(repo.commit_tree(tree, &[base], &message)?)
}

/// Claims `phase` on `remote` for this machine: creates the claim if there is none, renews
/// this machine's own, takes over someone else's with `steal`, and otherwise fails naming
/// whose claim it is and how old.
pub fn claim(
    repo: &Repo,
    remote: &Remote,
    plan: &Plan,
    phase: &str,
    base: Oid,
    opts: &ClaimOptions,
) -> Result<Claimed, ClaimError> {
    let here = Here::of(repo);
    let name = claim_ref(&plan.id, phase);
    let tracking = format!("{}{phase}", tracking_prefix(&remote.name, &plan.id));
    let new = record(repo, plan, phase, base, &here, opts)?;
    let mine = Claim::read(repo, new)?.expect("a claim commit reads as a claim");
    let done = |took: Took| -> Result<Claimed, ClaimError> {
        repo.set_tracking_ref(&tracking, Some(new), "planx: claim")?;
        Ok(Claimed {
            claim: mine.clone(),
            took,
            remote: remote.name.clone(),
        })
    };
    for _ in 0..ATTEMPTS {
        let create = RefUpdate {
            reference: name.clone(),
            new: Some(new),
            expect: None,
        };
        if push(repo, remote, create)? {
            return done(Took::New);
        }
        // Someone holds it: whom?
        fetch_claims(repo, remote, &plan.id)?;
        let Some(current) = tracked_one(repo, &remote.name, &plan.id, phase)? else {
            continue; // released meanwhile: try again
        };
        let now = clock::now().timestamp();
        let replace = RefUpdate {
            reference: name.clone(),
            new: Some(new),
            expect: Some(current.commit),
        };
        if current.is_mine(&here) {
            if push(repo, remote, replace)? {
                return done(Took::Renewed);
            }
            continue;
        }
        let age = now - current.time;
        let activity = activity(
            repo,
            &remote.name,
            &format!("{}{phase}", plan.branch_prefix),
        )?;
        let stale = current.stale(now, stale_after(repo)?, &here, activity);
        if !opts.steal {
            return Err(ClaimError::Claimed {
                phase: phase.to_owned(),
                remote: remote.name.clone(),
                claim: Box::new(current),
                age,
                stale,
            });
        }
        if push(repo, remote, replace)? {
            return done(Took::Stolen {
                from: Box::new(current),
                age,
                stale,
            });
        }
    }
    Err(ClaimError::Moved {
        phase: phase.to_owned(),
        remote: remote.name.clone(),
        doing: "claimed",
    })
}

/// Renews this machine's claim of `phase` on `remote` (a new time, the process `pid`), only if
/// it holds one: a claim released or taken over meanwhile is never made again. Whether it was
/// renewed.
pub fn renew(
    repo: &Repo,
    remote: &Remote,
    plan: &Plan,
    phase: &str,
    base: Oid,
    pid: Option<u32>,
) -> Result<bool, ClaimError> {
    let here = Here::of(repo);
    fetch_claims(repo, remote, &plan.id)?;
    let Some(current) = tracked_one(repo, &remote.name, &plan.id, phase)? else {
        return Ok(false);
    };
    if !current.is_mine(&here) {
        return Ok(false);
    }
    let opts = ClaimOptions { steal: false, pid };
    let new = record(repo, plan, phase, base, &here, &opts)?;
    let replace = RefUpdate {
        reference: claim_ref(&plan.id, phase),
        new: Some(new),
        expect: Some(current.commit),
    };
    if !push(repo, remote, replace)? {
        return Ok(false);
    }
    let tracking = format!("{}{phase}", tracking_prefix(&remote.name, &plan.id));
    repo.set_tracking_ref(&tracking, Some(new), "planx: renew claim")?;
    Ok(true)
}

/// Releases `phase`'s claim on `remote`: this machine's own, or anyone's with `steal`.
pub fn release(
    repo: &Repo,
    remote: &Remote,
    plan: &Plan,
    phase: &str,
    steal: bool,
) -> Result<Released, ClaimError> {
    let here = Here::of(repo);
    fetch_claims(repo, remote, &plan.id)?;
    let Some(current) = tracked_one(repo, &remote.name, &plan.id, phase)? else {
        return Ok(Released::NoClaim);
    };
    let age = clock::now().timestamp() - current.time;
    if !current.is_mine(&here) && !steal {
        return Err(ClaimError::NotYours {
            phase: phase.to_owned(),
            remote: remote.name.clone(),
            claim: Box::new(current),
            age,
        });
    }
    release_exactly(repo, remote, &current)?;
    Ok(Released::Released {
        claim: Box::new(current),
        age,
    })
}

/// Deletes `claim` on `remote` if it is still that claim; a claim that changed meanwhile is
/// someone else's now and stays.
pub fn release_exactly(repo: &Repo, remote: &Remote, claim: &Claim) -> Result<(), ClaimError> {
    let delete = RefUpdate {
        reference: claim_ref(&claim.plan, &claim.phase),
        new: None,
        expect: Some(claim.commit),
    };
    if !push(repo, remote, delete)? {
        return Err(ClaimError::Moved {
            phase: claim.phase.clone(),
            remote: remote.name.clone(),
            doing: "released",
        });
    }
    let tracking = format!(
        "{}{}",
        tracking_prefix(&remote.name, &claim.plan),
        claim.phase
    );
    repo.set_tracking_ref(&tracking, None, "planx: release claim")?;
    Ok(())
}

/// The name of this host.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

/// Whether process `pid` runs on this host (a zombie counts as gone).
fn process_running(pid: u32) -> bool {
    let Ok(pid_t) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it asks whether the process exists.
    let exists = unsafe { libc::kill(pid_t, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
        .unwrap_or_default();
    !stat
        .rsplit(')')
        .next()
        .is_some_and(|rest| rest.trim_start().starts_with('Z'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(host: &str, time: i64, pid: Option<u32>) -> Claim {
        Claim {
            plan: "p".into(),
            phase: "a".into(),
            by: "Ada <ada@example.com>".into(),
            host: host.into(),
            repo: "/r/.git".into(),
            time,
            pid,
            commit: Oid::ZERO_SHA1,
        }
    }

    fn here() -> Here {
        Here {
            by: "Ada <ada@example.com>".into(),
            host: "this".into(),
            repo: "/other/.git".into(),
        }
    }

    #[test]
    fn a_claim_is_stale_when_quiet_for_longer_than_allowed() {
        let c = claim("elsewhere", 1000, None);
        assert_eq!(c.stale(1000 + 3600, 3600, &here(), None), None);
        assert!(c.stale(1000 + 3601, 3600, &here(), None).is_some());
        // A push to the phase's branch is a sign of life.
        assert_eq!(c.stale(1000 + 3601, 3600, &here(), Some(2000)), None);
    }

    #[test]
    fn a_run_on_this_host_whose_process_is_gone_leaves_a_stale_claim() {
        let me = std::process::id();
        assert_eq!(
            claim("this", 1000, Some(me)).stale(1000, 3600, &here(), None),
            None
        );
        // No process has id 0x7ffffffe on Linux (pid_max is at most 2^22).
        let gone = claim("this", 1000, Some(0x7fff_fffe));
        assert!(gone.stale(1000, 3600, &here(), None).is_some());
        // On another host, a process id says nothing here.
        let there = claim("elsewhere", 1000, Some(0x7fff_fffe));
        assert_eq!(there.stale(1000, 3600, &here(), None), None);
    }

    #[test]
    fn mine_means_this_identity_in_this_repository_on_this_host() {
        let mut c = claim("this", 0, None);
        assert!(!c.is_mine(&here()));
        c.repo = "/other/.git".into();
        assert!(c.is_mine(&here()));
    }
}
