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

/// How many of `commits` [`bypassed`] finds, with the commits judged before remembered: what
/// a commit changed never changes, so a commit judged within (or outside) a manifest once is
/// known by a tag only this machine makes (kept with the verified lines) and not diffed again.
pub fn count_bypassed(repo: &Repo, phase: &Phase, commits: &[Oid]) -> Result<usize, GitError> {
    use crate::trust::signing;
    let mut manifest = Vec::new();
    for (kind, entry) in phase.files.all() {
        manifest.extend_from_slice(kind.as_str().as_bytes());
        manifest.push(0);
        manifest.extend_from_slice(entry.pattern.as_str().as_bytes());
        manifest.push(0);
    }
    let mut count = 0;
    for &commit in commits {
        let fact = |within: &[u8]| signing::fact_tag(FACT, &[within, commit.as_bytes(), &manifest]);
        let (within, outside) = (fact(b"within"), fact(b"outside"));
        if within.as_ref().is_some_and(signing::knows) {
            continue;
        }
        if outside.as_ref().is_some_and(signing::knows) {
            count += 1;
            continue;
        }
        let found = !bypassed(repo, phase, &[commit])?.is_empty();
        if let Some(tag) = if found { outside } else { within } {
            signing::learn(tag);
        }
        count += usize::from(found);
    }
    Ok(count)
}

/// The domain of the facts [`count_bypassed`] keeps.
const FACT: &str = "commit against a manifest";

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
