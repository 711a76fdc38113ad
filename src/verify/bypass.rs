//! The manifest rule on a branch's history: commits that changed paths outside the manifest
//! were made with the pre-commit hook bypassed (`--no-verify`, `PLANX_HOOKS=0`) or not
//! installed. Verify reports them as warnings; the pre-commit hook shares the test of what a
//! merge takes from its merged side.

use crate::git::{GitError, Oid, Repo};
use crate::plan::Phase;

/// Commits on a phase branch that changed paths outside the manifest: the pre-commit hook was
/// bypassed (`--no-verify`, `PLANX_HOOKS=0`) or not installed. A merge (of base into the
/// phase, say) counts only the paths whose content differs from every parent's: what it takes
/// from a merged side is not the phase's work. Newest first.
pub fn bypassed(
    repo: &Repo,
    phase: &Phase,
    commits: &[Oid],
) -> Result<Vec<(Oid, String, Vec<String>)>, GitError> {
    let mut out = Vec::new();
    for &commit in commits {
        let info = repo.commit_info(commit)?;
        let others = info.parents.get(1..).unwrap_or_default();
        let mut outside = Vec::new();
        for path in repo.paths_changed_by(commit)? {
            if phase.files.all().any(|(_, e)| e.pattern.matches(&path)) {
                continue;
            }
            if !others.is_empty()
                && from_merged_side(repo, others, &path, repo.entry_at(commit, &path)?)?
            {
                continue;
            }
            outside.push(path);
        }
        if !outside.is_empty() {
            out.push((commit, info.summary().to_owned(), outside));
        }
    }
    Ok(out)
}

/// Is `blob` (`None`: absent) what one of the `merged` commits holds at `path`?
pub fn from_merged_side(
    repo: &Repo,
    merged: &[Oid],
    path: &str,
    blob: Option<Oid>,
) -> Result<bool, GitError> {
    for &commit in merged {
        if repo.entry_at(commit, path)? == blob {
            return Ok(true);
        }
    }
    Ok(false)
}
