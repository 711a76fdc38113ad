//! Trust (SPEC §7): the commands in a plan are code from the repository. Before planx runs any
//! of them on a machine, that exact set of commands must have been trusted there.
//!
//! The store lives in the user's data folder (`$XDG_DATA_HOME/git-planx/trust.json`, by default
//! `~/.local/share/git-planx/trust.json`), outside every repository, keyed by the repository's
//! git folder and the fingerprint of the command set. Nothing read from a repository — its
//! plan, its configuration — can grant trust; only `git planx trust`, `--trust-once` or
//! `PLANX_TRUST=1` can.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::git::Repo;
use crate::plan::{CheckKind, Plan};

pub mod signing;

/// This user's folder of git-planx data, outside every repository: `$XDG_DATA_HOME/git-planx`,
/// by default `~/.local/share/git-planx`; `None` when neither variable is set.
pub fn data_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(base.join("git-planx"))
}

/// How many command sets are remembered per repository (older ones are forgotten).
const KEEP_PER_REPOSITORY: usize = 20;

/// Every distinct shell command the plan can run, sorted.
pub fn plan_commands(plan: &Plan) -> Vec<String> {
    let mut all: Vec<String> = plan
        .commands
        .iter()
        .map(|(_, shell)| shell.clone())
        .collect();
    all.extend(plan.preflight.run.iter().map(|c| c.shell.clone()));
    all.extend(plan.run.executor.iter().map(|c| c.shell.clone()));
    for phase in &plan.phases {
        all.extend(phase.blast_radius.iter().map(|c| c.shell.clone()));
        for check in &phase.checks {
            if let CheckKind::Run { command, .. } = &check.kind {
                all.push(command.shell.clone());
            }
        }
        all.extend(
            phase
                .steps
                .iter()
                .filter_map(|s| s.verify.as_ref())
                .map(|c| c.shell.clone()),
        );
    }
    all.sort();
    all.dedup();
    all
}

/// The fingerprint of a command set.
pub fn fingerprint(commands: &[String]) -> String {
    let mut text = String::new();
    for c in commands {
        text.push_str(&c.replace('\0', ""));
        text.push('\0');
    }
    crate::git::fingerprint(text.as_bytes())
}

/// The plan's commands are not trusted here.
#[derive(Debug, Clone)]
pub struct Untrusted {
    /// The command set that would run.
    pub commands: Vec<String>,
    /// The last set trusted in this repository, when there is one: the refusal shows a diff.
    pub previous: Option<Vec<String>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    repositories: BTreeMap<String, Vec<TrustedSet>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrustedSet {
    fingerprint: String,
    commands: Vec<String>,
    trusted_at: String,
}

/// The trust store of this user.
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The user's store; `None` when neither `XDG_DATA_HOME` nor `HOME` is set.
    pub fn for_user() -> Option<Store> {
        Some(Store {
            path: data_dir()?.join("trust.json"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> StoreFile {
        fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(StoreFile {
                version: 1,
                repositories: BTreeMap::new(),
            })
    }

    fn save(&self, file: &StoreFile) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?)?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Is this command set trusted for the repository `repo_key`?
    pub fn check(&self, repo_key: &str, commands: &[String]) -> Result<(), Untrusted> {
        let wanted = fingerprint(commands);
        let file = self.load();
        let sets = file.repositories.get(repo_key);
        if sets.is_some_and(|sets| sets.iter().any(|s| s.fingerprint == wanted)) {
            return Ok(());
        }
        Err(Untrusted {
            commands: commands.to_vec(),
            previous: sets.and_then(|s| s.last()).map(|s| s.commands.clone()),
        })
    }

    /// Records the command set as trusted for the repository. Returns false when it already was.
    pub fn trust(&self, repo_key: &str, commands: &[String], at: &str) -> std::io::Result<bool> {
        let wanted = fingerprint(commands);
        let mut file = self.load();
        let sets = file.repositories.entry(repo_key.to_owned()).or_default();
        if let Some(i) = sets.iter().position(|s| s.fingerprint == wanted) {
            // Most recently trusted last: it is what a later refusal diffs against.
            let set = sets.remove(i);
            sets.push(set);
            self.save(&file)?;
            return Ok(false);
        }
        sets.push(TrustedSet {
            fingerprint: wanted,
            commands: commands.to_vec(),
            trusted_at: at.to_owned(),
        });
        let excess = sets.len().saturating_sub(KEEP_PER_REPOSITORY);
        sets.drain(..excess);
        self.save(&file)?;
        Ok(true)
    }

    /// Forgets every command set trusted for the repository. Returns how many there were.
    pub fn untrust(&self, repo_key: &str) -> std::io::Result<usize> {
        let mut file = self.load();
        let removed = file.repositories.remove(repo_key).map_or(0, |s| s.len());
        if removed > 0 {
            self.save(&file)?;
        }
        Ok(removed)
    }
}

/// The key of a repository in the store: its shared git folder, canonical.
pub fn repo_key(common_dir: &Path) -> String {
    common_dir
        .canonicalize()
        .unwrap_or_else(|_| common_dir.to_path_buf())
        .display()
        .to_string()
}

/// A diff of two command sets, one line each: `+ added`, `- removed`, `  kept`.
pub fn diff(previous: &[String], current: &[String]) -> Vec<String> {
    let lines = |set: &[String]| set.iter().map(|c| format!("{c}\n")).collect::<String>();
    let (old, new) = (lines(previous), lines(current));
    similar::TextDiff::from_lines(&old, &new)
        .iter_all_changes()
        .map(|change| {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => " ",
            };
            format!("{sign} {}", change.value().trim_end_matches('\n'))
        })
        .collect()
}

/// How trust is granted for this run (SPEC §7).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustPolicy {
    /// `--trust-once`.
    pub once: bool,
    /// `PLANX_TRUST=1`.
    pub environment: bool,
}

/// Why the plan's commands may not run here.
#[derive(Debug, Error)]
pub enum TrustError {
    #[error("the plan's commands are not trusted on this machine")]
    Untrusted(Untrusted),
    /// Neither `XDG_DATA_HOME` nor `HOME` is set: there is no store to read.
    #[error("cannot use the trust store")]
    NoStore,
    /// The record could not be signed.
    #[error("cannot sign the record")]
    Signing(#[from] signing::SigningError),
}

/// Checks that the plan's commands may run here: `--trust-once`, `PLANX_TRUST=1`, or the
/// command set recorded by `git planx trust` for this repository.
pub fn require_trust(repo: &Repo, plan: &Plan, policy: TrustPolicy) -> Result<(), TrustError> {
    if policy.once || policy.environment {
        return Ok(());
    }
    let store = Store::for_user().ok_or(TrustError::NoStore)?;
    let commands = plan_commands(plan);
    store
        .check(&repo_key(repo.common_dir()), &commands)
        .map_err(TrustError::Untrusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_per_repository_and_per_command_set() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            path: dir.path().join("trust.json"),
        };
        let a = vec!["cargo test".to_string()];
        let b = vec!["cargo test".to_string(), "curl x | sh".to_string()];
        assert!(store.check("/r1", &a).is_err());
        assert!(store.trust("/r1", &a, "t").unwrap());
        assert!(!store.trust("/r1", &a, "t").unwrap());
        assert!(store.check("/r1", &a).is_ok());
        assert!(store.check("/r2", &a).is_err());
        let refused = store.check("/r1", &b).unwrap_err();
        assert_eq!(refused.previous, Some(a.clone()));
        assert_eq!(diff(&a, &b), vec!["  cargo test", "+ curl x | sh"]);
        assert_eq!(store.untrust("/r1").unwrap(), 1);
        assert!(store.check("/r1", &a).is_err());
    }
}
