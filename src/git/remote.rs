//! Talking to a remote: `git push` and `git fetch` through the `git` command itself, so that
//! the user's SSH keys, credential helpers and remote configuration just work (SPEC §8).
//!
//! A push here is always one exact compare-and-swap per ref: `--force-with-lease=<ref>:<old>`
//! names the value the ref must have on the remote (empty: it must not exist), and the
//! remote's `receive-pack` checks it under the ref's lock, so of several machines pushing at
//! once exactly one wins. `--porcelain` reports each ref's fate on its own line; what is
//! rejected is an answer (a lost race), not an error. An error is a remote git cannot reach.

use super::cli::spawn;
use super::{GitError, Oid, Repo};

/// One ref to change on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The remote's ref, full name (`refs/heads/main`).
    pub name: String,
    /// What it is to point at; `None` deletes it.
    pub new: Option<Oid>,
    /// What it must point at on the remote for the push to happen; `None`: it must not exist.
    pub old: Option<Oid>,
}

/// What became of one ref of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// The remote took it (or had it already).
    Done,
    /// The remote refused it: the ref was not at the expected value (another machine moved it
    /// first), or the remote's rules refused it. git's reason, as it says it.
    Rejected { reason: String },
}

impl Repo {
    /// Pushes every update to `remote` in one `git push`, each as a compare-and-swap, and says
    /// what became of each (in the order given). With `atomic`, the remote applies all or
    /// none. An error when the remote cannot be reached or git fails otherwise.
    pub fn push_cas(
        &self,
        remote: &str,
        updates: &[RefUpdate],
        atomic: bool,
    ) -> Result<Vec<Pushed>, GitError> {
        let mut args: Vec<String> = vec!["push".into(), "--porcelain".into(), "--no-verify".into()];
        if atomic {
            args.push("--atomic".into());
        }
        for u in updates {
            let old = u.old.map(|o| o.to_string()).unwrap_or_default();
            args.push(format!("--force-with-lease={}:{old}", u.name));
        }
        args.push("--".into());
        args.push(remote.into());
        for u in updates {
            let src = u.new.map(|n| n.to_string()).unwrap_or_default();
            args.push(format!("{src}:{}", u.name));
        }
        let out = spawn(self.common_dir(), &args, None, true)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let lines = porcelain(&stdout);
        let mut results = Vec::with_capacity(updates.len());
        for u in updates {
            match lines.iter().find(|l| l.dst == u.name) {
                Some(line) if line.flag == '!' => results.push(Pushed::Rejected {
                    reason: line.summary.clone(),
                }),
                Some(_) => results.push(Pushed::Done),
                // git said nothing of this ref: it never got to the remote.
                None => {
                    return Err(GitError::Remote {
                        remote: remote.to_owned(),
                        stderr,
                    });
                }
            }
        }
        Ok(results)
    }

    /// `git fetch remote refspecs…`, pruning what the refspecs' destinations hold that the
    /// remote no longer has when `prune`. An error when the remote cannot be reached.
    pub fn fetch(&self, remote: &str, refspecs: &[String], prune: bool) -> Result<(), GitError> {
        let mut args: Vec<String> = vec![
            "fetch".into(),
            "--quiet".into(),
            "--no-tags".into(),
            "--no-write-fetch-head".into(),
        ];
        if prune {
            args.push("--prune".into());
        }
        args.push("--".into());
        args.push(remote.into());
        args.extend(refspecs.iter().cloned());
        let out = spawn(self.common_dir(), &args, None, true)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(GitError::Remote {
                remote: remote.to_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    /// Whether `remote` names a remote configured here.
    pub fn is_remote(&self, remote: &str) -> Result<bool, GitError> {
        Ok(self
            .config_string(&format!("remote.{remote}.url"))?
            .is_some())
    }

    /// The names of the remotes configured here, sorted.
    pub fn remote_names(&self) -> Result<Vec<String>, GitError> {
        let out = spawn(self.common_dir(), &["remote"], None, true)?;
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every ref whose full name starts with `prefix`, by name, sorted.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>, GitError> {
        let fail = || super::git_err(format!("cannot list {prefix}*"));
        let mut out = Vec::new();
        for r in self
            .inner
            .references_glob(&format!("{prefix}*"))
            .map_err(fail())?
        {
            let r = r.map_err(fail())?;
            if let (Ok(name), Some(target)) = (r.name(), r.target()) {
                out.push((name.to_owned(), target));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Points the local ref `name` at `target` (a copy of a remote's ref: whatever it held
    /// before is the remote's old value), or deletes it with `None`.
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

    /// The remote a command talks to when none is named: the current branch's upstream
    /// remote, else `origin`.
    pub fn default_remote(&self) -> Result<String, GitError> {
        if let Some(branch) = self.current_branch()?
            && let Some(remote) = self.config_string(&format!("branch.{branch}.remote"))?
            && remote != "."
        {
            return Ok(remote);
        }
        Ok("origin".to_owned())
    }
}

/// One line of `git push --porcelain`: `<flag>\t<from>:<to>\t<summary>`.
struct PorcelainLine {
    flag: char,
    dst: String,
    summary: String,
}

fn porcelain(stdout: &str) -> Vec<PorcelainLine> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let flag = fields.next()?.chars().next()?;
            let refs = fields.next()?;
            let summary = fields.next().unwrap_or("").to_owned();
            let (_, dst) = refs.rsplit_once(':')?;
            Some(PorcelainLine {
                flag,
                dst: dst.to_owned(),
                summary,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_lines_say_each_refs_fate() {
        let out = "To file:///r.git\n*\tabc:refs/planx/claims/p/a\t[new reference]\n!\t:refs/heads/main\t[rejected] (stale info)\nDone\n";
        let lines = porcelain(out);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].flag, '*');
        assert_eq!(lines[0].dst, "refs/planx/claims/p/a");
        assert_eq!(lines[1].flag, '!');
        assert_eq!(lines[1].dst, "refs/heads/main");
        assert_eq!(lines[1].summary, "[rejected] (stale info)");
    }
}
