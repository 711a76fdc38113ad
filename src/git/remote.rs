//! Fetching and pushing through the `git` command, so that the user's credentials, SSH keys,
//! remote configuration and transports all work as they do for `git fetch` and `git push`.
//! Every push is a compare-and-swap: each ref names the value it must have on the remote
//! (`--force-with-lease=<ref>:<expected>`), and the remote's answer for each ref is read from
//! `git push --porcelain`.

use super::cli::git_status;
use super::{GitError, Oid, Repo};

/// One ref to change on a remote, only if it has the value this side expects there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The commit to set it to; `None` deletes it.
    pub new: Option<Oid>,
    /// The ref on the remote (`refs/notes/planx`).
    pub reference: String,
    /// What the remote's ref must hold for the change to happen; `None`: it must not exist.
    pub expect: Option<Oid>,
}

/// What the remote did with one ref of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStatus {
    /// Changed (created, moved or deleted).
    Updated,
    /// It had the value already.
    UpToDate,
    /// It did not hold the expected value: someone else changed it first.
    Stale,
    /// The remote refused it for another reason (a hook, a protected branch, permissions);
    /// `said` holds what the remote printed (git's `remote: …` lines).
    Rejected { reason: String, said: Vec<String> },
}

/// Why a fetch or a push did not happen at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFailure {
    /// The git command, as run.
    pub command: String,
    /// git's own message.
    pub stderr: String,
}

/// How `git push --porcelain` says that a ref changed on the remote under a push.
const RACE_LOST: [&str; 5] = [
    "stale info",
    "failed to update ref",
    "failed to lock",
    "cannot lock ref",
    "incorrect old value",
];

impl Repo {
    /// The names of the configured remotes, in git's order.
    pub fn remote_names(&self) -> Result<Vec<String>, GitError> {
        let names = self
            .inner
            .remotes()
            .map_err(super::git_err("cannot list the remotes"))?;
        Ok(names
            .iter()
            .flatten()
            .flatten()
            .map(str::to_owned)
            .collect())
    }

    /// `git fetch <remote> <refspecs>…` (with `--prune`: refs gone from the remote are deleted
    /// where the refspecs map them). `Ok(Err(_))` when git could not fetch: the remote is
    /// unreachable, refuses, or the name is unknown to git.
    pub fn fetch(
        &self,
        remote: &str,
        refspecs: &[String],
        prune: bool,
    ) -> Result<Result<(), TransportFailure>, GitError> {
        let mut args = vec!["fetch", "--quiet", "--no-write-fetch-head"];
        if prune {
            args.push("--prune");
        }
        args.push(remote);
        args.extend(refspecs.iter().map(String::as_str));
        let (code, _, stderr) = git_status(self.common_dir(), &args)?;
        if code == 0 {
            Ok(Ok(()))
        } else {
            Ok(Err(TransportFailure {
                command: format!("git {}", args.join(" ")),
                stderr,
            }))
        }
    }

    /// `git push --porcelain` of `updates` to `remote`, each with its lease. The remote's
    /// answer for each update, in order; `Ok(Err(_))` when nothing could be pushed (the remote
    /// is unreachable or refused the connection).
    #[allow(clippy::type_complexity)]
    pub fn push(
        &self,
        remote: &str,
        updates: &[RefUpdate],
    ) -> Result<Result<Vec<PushStatus>, TransportFailure>, GitError> {
        self.push_with(remote, updates, false)
    }

    /// [`Repo::push`] with `--atomic`: the remote applies every update or none (one whose
    /// lease fails refuses them all).
    #[allow(clippy::type_complexity)]
    pub fn push_atomic(
        &self,
        remote: &str,
        updates: &[RefUpdate],
    ) -> Result<Result<Vec<PushStatus>, TransportFailure>, GitError> {
        self.push_with(remote, updates, true)
    }

    #[allow(clippy::type_complexity)]
    fn push_with(
        &self,
        remote: &str,
        updates: &[RefUpdate],
        atomic: bool,
    ) -> Result<Result<Vec<PushStatus>, TransportFailure>, GitError> {
        if updates.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let mut args: Vec<String> = vec!["push".into(), "--porcelain".into()];
        if atomic {
            args.push("--atomic".into());
        }
        for u in updates {
            let expect = u.expect.map(|o| o.to_string()).unwrap_or_default();
            args.push(format!("--force-with-lease={}:{expect}", u.reference));
        }
        args.push(remote.to_owned());
        for u in updates {
            let src = u.new.map(|o| o.to_string()).unwrap_or_default();
            args.push(format!("{src}:{}", u.reference));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = git_status(self.common_dir(), &refs)?;
        let stdout = String::from_utf8_lossy(&stdout);
        let said: Vec<String> = stderr
            .lines()
            .filter(|l| l.starts_with("remote: "))
            .map(|l| l.trim_end().to_owned())
            .collect();
        let mut statuses: Vec<Option<PushStatus>> = vec![None; updates.len()];
        for line in stdout.lines() {
            let mut fields = line.splitn(3, '\t');
            let (Some(flag), Some(spec), summary) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Some((_, to)) = spec.split_once(':') else {
                continue;
            };
            let Some(i) = updates.iter().position(|u| u.reference == to) else {
                continue;
            };
            let summary = summary.unwrap_or("").trim();
            statuses[i] = Some(match flag {
                "=" => PushStatus::UpToDate,
                " " | "+" | "-" | "*" => PushStatus::Updated,
                // The lease failed on this side (stale info), or on the remote's, which moved
                // the ref between its answer and the update (another push got there first).
                _ if RACE_LOST.iter().any(|m| summary.contains(m)) => PushStatus::Stale,
                _ => PushStatus::Rejected {
                    reason: summary.to_owned(),
                    said: said.clone(),
                },
            });
        }
        if statuses.iter().all(Option::is_none) && code != 0 {
            return Ok(Err(TransportFailure {
                command: format!("git {}", refs.join(" ")),
                stderr,
            }));
        }
        Ok(Ok(statuses
            .into_iter()
            .map(|s| {
                s.unwrap_or_else(|| PushStatus::Rejected {
                    reason: stderr
                        .lines()
                        .last()
                        .unwrap_or("no answer")
                        .trim()
                        .to_owned(),
                    said: said.clone(),
                })
            })
            .collect()))
    }
}

impl Repo {
    /// Points the local ref `name` at `target` — a copy of what a push just made the remote's
    /// ref — or deletes it with `None`.
    pub fn set_tracking_ref(
        &self,
        name: &str,
        target: Option<Oid>,
        log: &str,
    ) -> Result<(), GitError> {
        let fail = || super::git_err(format!("cannot update {name}"));
        match target {
            Some(target) => self
                .inner
                .reference(name, target, true, log)
                .map(|_| ())
                .map_err(fail()),
            None => match self.inner.find_reference(name) {
                Ok(mut r) => r.delete().map_err(fail()),
                Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(()),
                Err(e) => Err(fail()(e)),
            },
        }
    }
}
