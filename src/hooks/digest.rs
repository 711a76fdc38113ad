//! What the commit hooks need from a plan — its id, base and branch prefix, and each phase's
//! manifest — kept in planx's local state under the blob id of the plan's bytes, so that a
//! commit does not validate a plan of hundreds of phases again (60 ms for 1,000 phases, three
//! times what `git diff --cached` costs on a 100,000-file repository); the hook reads one line.
//!
//! A plan is validated in full the first time its bytes are seen, exactly as without the
//! digest, and only a valid plan is kept: the key is the content, so an edited plan is a new
//! key and never meets an old answer. The folder is per planx version (another version may
//! validate differently) and holds a few plans at most. Like the hooks themselves, it lives in
//! the repository's git folder and is never committed or pushed.
//!
//! Format: a first line `{"id":…,"base":…,"branch_prefix":…}`, then one line per phase,
//! `["<phase id>",[["create","<pattern>"],…]]`, so that finding a phase is a scan for the start
//! of its line.

use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::git::Repo;
use crate::plan::{EntryKind, Glob, Manifest, ManifestEntry, Plan};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub id: String,
    pub base: String,
    pub branch_prefix: String,
}

/// The digest of one valid plan.
#[derive(Debug, Clone)]
pub struct Digest {
    pub header: Header,
    text: String,
}

impl Digest {
    /// The digest of a validated plan.
    pub fn of(plan: &Plan) -> Digest {
        let header = Header {
            id: plan.id.clone(),
            base: plan.base.clone(),
            branch_prefix: plan.branch_prefix.clone(),
        };
        let mut text = serde_json::to_string(&header).unwrap_or_default();
        text.push('\n');
        for phase in &plan.phases {
            let entries: Vec<(&str, &str)> = phase
                .files
                .all()
                .map(|(kind, entry)| (kind.as_str(), entry.pattern.as_str()))
                .collect();
            text.push_str(&serde_json::to_string(&(&phase.id, entries)).unwrap_or_default());
            text.push('\n');
        }
        Digest { header, text }
    }

    fn parse(text: String) -> Option<Digest> {
        let first = text.lines().next()?;
        let header = serde_json::from_str(first).ok()?;
        Some(Digest { header, text })
    }

    /// The manifest of phase `id`, if the plan has that phase.
    pub fn manifest(&self, id: &str) -> Option<Manifest> {
        let start = format!("[{},", serde_json::to_string(id).ok()?);
        let line = self.text.lines().skip(1).find(|l| l.starts_with(&start))?;
        let (_, entries): (String, Vec<(String, String)>) = serde_json::from_str(line).ok()?;
        let mut manifest = Manifest::default();
        for (kind, pattern) in entries {
            let kind = EntryKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
            let entry = ManifestEntry {
                pattern: Glob::parse(&pattern).ok()?,
                span: 0..0,
            };
            match kind {
                EntryKind::Create => manifest.create.push(entry),
                EntryKind::Modify => manifest.modify.push(entry),
                EntryKind::Delete => manifest.delete.push(entry),
                EntryKind::Allow => manifest.allow.push(entry),
                EntryKind::AfterVerify => manifest.after_verify.push(entry),
            }
        }
        Some(manifest)
    }
}

/// The folder of digests, and the version of their format.
fn cache(repo: &Repo) -> Cache {
    Cache::new(repo, "hook-plans", 1, "jsonl")
}

/// The digest of the plan whose blob id is `key`: kept from an earlier run, else made
/// from `load` (which validates the plan; `None` when there is no valid plan) and kept.
pub fn digest<E>(
    repo: &Repo,
    key: &str,
    load: impl FnOnce() -> Result<Option<Plan>, E>,
) -> Result<Option<Digest>, E> {
    let cache = cache(repo);
    if let Some(bytes) = cache.get(key)
        && let Ok(text) = String::from_utf8(bytes)
        && let Some(digest) = Digest::parse(text)
    {
        return Ok(Some(digest));
    }
    let Some(plan) = load()? else {
        return Ok(None);
    };
    let digest = Digest::of(&plan);
    cache.put(key, digest.text.as_bytes());
    Ok(Some(digest))
}
