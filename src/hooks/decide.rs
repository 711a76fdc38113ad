//! What each hook decides. Every hook returns at once off a phase branch (or, for the merge
//! and push hooks, when base is not concerned), and with `PLANX_HOOKS=0`. No hook runs a plan
//! command: they read the index, the manifest and the recorded evidence only.
//!
//! The phase's manifest comes from the plan on base at the fork point — the plan that judges
//! the phase — not from the branch's own copy.
//!
//! The hooks do not build a [`Judged`](crate::state::judging::Judged): on a phase branch they
//! read a digest of that plan (its header and manifests, cached by blob id), since a hook runs
//! on every commit and a full plan costs more to read; the merge hook judges a merge head, whose
//! fork point is base's own tip and may not exist, not a phase branch.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::digest::{self, Digest, Header};
use crate::git::cli::{StagedPath, git_status_in_hook};
use crate::git::trailers::{self, Trailer, TrailerError};
use crate::git::{GitError, Oid, Repo};
use crate::plan::{self, EntryKind, Manifest, Plan, PlanError};
use crate::state::events::is_passing_verify;
use crate::state::evidence::{find_passing_record, fork_point, phase_events};
use crate::state::judging::{JudgingError, Subject, judging_plan, phase_of_branch, plan_at};
use crate::state::{self, State};
use crate::verify::bypass::from_merged_side;

/// A hook's answer: let git go on, or stop it for these reasons. The command line says them.
#[derive(Debug, Default)]
pub struct Decision {
    pub refusals: Vec<Refusal>,
    /// Said without refusing.
    pub notes: Vec<Note>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// Why a hook stops git.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// pre-commit on base: the staged plan does not pass `check`.
    InvalidPlan {
        path: String,
        base: String,
        /// Its errors, each with its place in the file.
        diagnostics: Vec<plan::Diagnostic>,
    },
    /// pre-commit: a staged path no entry of the phase's manifest admits.
    OutsideManifest {
        /// The path as git names it (bytes: not always UTF-8).
        path: Vec<u8>,
        /// Its staged status letter (`A`, `M`, `D`, `T`, …).
        status: char,
        phase: String,
        /// The base whose plan judges the phase (where the manifest is to be edited).
        base: String,
        /// The `[phase.files]` entry that would admit exactly this path.
        admitting: Option<(EntryKind, String)>,
    },
    /// pre-commit: a staged path an `after_verify` entry admits, with no passing verify yet.
    BeforeVerify {
        path: Vec<u8>,
        status: char,
        phase: String,
        /// The entry's pattern.
        entry: String,
    },
    /// pre-merge-commit: a merge into base of a phase whose tree has no passing verify.
    UnverifiedMerge {
        phase: String,
        base: String,
        tree: Oid,
    },
    /// pre-push: a push of base carrying the merge of a phase without a passing verify.
    UnverifiedPush {
        phase: String,
        base: String,
        merge: Oid,
    },
}

/// What a hook says without refusing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// pre-push of base, allowed: the evidence lives in refs/notes/planx, to be pushed too.
    PushEvidence,
}

/// Why a hook could not judge (and so refuses: an enforcement a broken state switches off
/// would be none).
#[derive(Debug, Error)]
pub enum HookError {
    /// The phase checked out here cannot be judged (no base, no fork point, a broken plan).
    #[error(transparent)]
    Judging(#[from] JudgingError),
    /// The plan committed where the hook looked for it cannot be used.
    #[error("the plan committed at {at} cannot be used")]
    Plan {
        at: String,
        #[source]
        source: PlanError,
    },
    #[error("cannot use the commit message file {}", path.display())]
    MessageFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A trailer planx would add cannot be one: the plan's ids are validated, so a bug.
    #[error(transparent)]
    Trailer(#[from] TrailerError),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Are hooks switched off for this run?
pub fn disabled() -> bool {
    std::env::var("PLANX_HOOKS").is_ok_and(|v| v == "0")
}

/// A digest of the plan as committed — at HEAD, else on a default branch — to learn the branch
/// prefix and the base, with the commit it was read at. Never the work tree's copy: an edit
/// there, or a broken plan committed on a phase branch, must not switch the hooks off. `None`
/// when the repository has no plan (the hooks then have nothing to enforce).
fn committed_digest(repo: &Repo) -> Option<(Digest, Oid)> {
    candidates(repo).into_iter().find_map(|commit| {
        plan_digest(repo, commit, "HEAD")
            .ok()
            .flatten()
            .map(|(digest, _)| (digest, commit))
    })
}

/// HEAD, then the tips of the usual default branches: where a committed plan is looked for.
fn candidates(repo: &Repo) -> Vec<Oid> {
    let mut candidates = Vec::new();
    if let Ok(Some(head)) = repo.head_commit() {
        candidates.push(head);
    }
    for branch in ["main", "master", "trunk"] {
        if let Ok(Some(tip)) = repo.branch_tip(branch) {
            candidates.push(tip);
        }
    }
    candidates
}

/// The digest of the plan committed at `commit`, keyed by its blob id (validated only the first
/// time that blob is seen), with the blob id. `None` when `commit` has no plan.
fn plan_digest(repo: &Repo, commit: Oid, label: &str) -> Result<Option<(Digest, Oid)>, PlanError> {
    let path = plan::DEFAULT_PLAN_PATH;
    let blob = repo
        .entry_at(commit, path)
        .map_err(|e| PlanError::Unreadable {
            path: format!("{label}:{path}"),
            source: std::io::Error::other(e.to_string()),
        })?;
    let Some(blob) = blob else {
        return Ok(None);
    };
    let digest = digest::digest(repo, &blob.to_string(), || {
        plan_at(repo, commit, path, label)
    })?;
    Ok(digest.map(|d| (d, blob)))
}

/// The plan committed at `commit` (where [`committed_digest`] found it), in full, for the merge
/// and push hooks once base is concerned.
fn committed_plan(repo: &Repo, commit: Oid) -> Result<Option<(Plan, String)>, HookError> {
    let path = plan::DEFAULT_PLAN_PATH;
    let plan = plan_at(repo, commit, path, "HEAD").map_err(|source| HookError::Plan {
        at: "HEAD".into(),
        source,
    })?;
    // The signers base's plan declares are the ones its merges' records are judged by.
    if let Some(plan) = &plan {
        crate::trust::signing::declare(&plan.evidence.signers, plan.evidence.count_unknown);
    }
    Ok(plan.map(|plan| (plan, path.to_owned())))
}

/// For a repository planx cannot open (reftable refs, SHA-256 ids): the phase whose branch
/// `git` itself says HEAD is on, by the plan committed at HEAD (else on a default branch).
/// `None` off a phase branch, or when git cannot tell either.
pub fn phase_by_git(dir: &Path) -> Option<String> {
    let (code, out) = git_status_in_hook(dir, &["symbolic-ref", "-q", "--short", "HEAD"]).ok()?;
    if code != 0 {
        return None;
    }
    let branch = String::from_utf8_lossy(&out).trim().to_owned();
    ["HEAD", "main", "master", "trunk"]
        .into_iter()
        .find_map(|commit| {
            let spec = format!("{commit}:{}", plan::DEFAULT_PLAN_PATH);
            let (code, bytes) = git_status_in_hook(dir, &["show", &spec]).ok()?;
            let plan = plan::load_valid(&spec, bytes).ok().filter(|_| code == 0)?;
            let id = branch.strip_prefix(&plan.branch_prefix)?;
            plan.phase(id).map(|phase| phase.id.clone())
        })
}

/// The phase checked out here, with what the plan that judges it says of it.
struct PhaseHere {
    /// The judging plan's id, base and branch prefix.
    judging: Header,
    phase: String,
    manifest: Manifest,
    head: Oid,
    fork: Oid,
}

fn phase_here(repo: &Repo) -> Result<Option<PhaseHere>, HookError> {
    let Some(branch) = repo.current_branch()? else {
        return Ok(None);
    };
    let Some((here, _)) = committed_digest(repo) else {
        return Ok(None);
    };
    let Some(phase) = branch
        .strip_prefix(&here.header.branch_prefix)
        .filter(|id| here.manifest(id).is_some())
        .map(str::to_owned)
    else {
        return Ok(None);
    };
    // From here on the branch is a phase branch: a hook that cannot judge it refuses.
    let base_tip = repo
        .base_tip(&here.header.base)?
        .ok_or_else(|| JudgingError::NoBase {
            base: here.header.base.clone(),
        })?;
    let no_fork = || JudgingError::NoForkPoint {
        branch: branch.clone(),
        shallow: repo.is_shallow(),
    };
    let head = repo.head_commit()?.ok_or_else(no_fork)?;
    let fork = fork_point(repo, base_tip, head)?.ok_or_else(no_fork)?;
    let judging = plan_digest(repo, fork, &here.header.base)
        .map_err(|source| JudgingError::Plan {
            branch: branch.clone(),
            source,
        })?
        .map(|(digest, _)| digest)
        .unwrap_or(here);
    let Some(manifest) = judging.manifest(&phase) else {
        return Ok(None);
    };
    Ok(Some(PhaseHere {
        judging: judging.header,
        phase,
        manifest,
        head,
        fork,
    }))
}

/// pre-commit: staged paths outside the phase's manifest are refused, and `after_verify`
/// paths until a passing verify exists.
pub fn pre_commit(repo: &Repo, cwd: &Path) -> Result<Decision, HookError> {
    let mut decision = Decision::default();
    let Some(here) = phase_here(repo)? else {
        if let Some(refusal) = invalid_plan_on_base(repo, cwd)? {
            decision.refusals.push(refusal);
        }
        return Ok(decision);
    };
    let staged = repo.staged(cwd)?;
    // A merge in progress (a merge of base into the phase, say) stages what the merged side
    // changed: a path whose staged content is the merged side's is not the phase's work.
    let merged = repo.merge_heads()?;
    let mut verified: Option<bool> = None;
    for StagedPath { status, path, blob } in staged {
        let text = String::from_utf8_lossy(&path).into_owned();
        if from_merged_side(repo, &merged, &text, blob)? {
            continue;
        }
        match here.manifest.all().find(|(_, e)| e.pattern.matches(&text)) {
            None => {
                decision.refusals.push(Refusal::OutsideManifest {
                    admitting: admitting_entry(status, &text),
                    path,
                    status,
                    phase: here.phase.clone(),
                    base: here.judging.base.clone(),
                });
            }
            Some((EntryKind::AfterVerify, entry)) => {
                let ok = match verified {
                    Some(ok) => ok,
                    None => {
                        let commits = repo.commits_between(here.head, &[here.fork])?;
                        let ok = phase_events(repo, &here.judging.id, &here.phase, &commits)?
                            .iter()
                            .any(|(_, e)| is_passing_verify(e));
                        verified = Some(ok);
                        ok
                    }
                };
                if !ok {
                    decision.refusals.push(Refusal::BeforeVerify {
                        path,
                        status,
                        phase: here.phase.clone(),
                        entry: entry.pattern.to_string(),
                    });
                }
            }
            Some(_) => {}
        }
    }
    Ok(decision)
}

/// A commit on base whose plan does not pass `check`: every phase forked after it would be
/// judged by a plan that cannot judge. Base is the branch the committed plan names, or, where
/// none is committed (or it does not parse), the one the staged plan names.
fn invalid_plan_on_base(repo: &Repo, cwd: &Path) -> Result<Option<Refusal>, HookError> {
    let path = plan::DEFAULT_PLAN_PATH;
    let Some(Some(bytes)) = repo.staged_file(cwd, path)? else {
        return Ok(None);
    };
    let loaded = plan::load_bytes(path, bytes, &repo.path_facts());
    if !loaded.has_errors() {
        return Ok(None);
    }
    let Some(branch) = repo.current_branch()? else {
        return Ok(None);
    };
    let committed_base = match repo.head_commit()? {
        Some(head) => plan_at(repo, head, path, "HEAD")
            .ok()
            .flatten()
            .map(|p| p.base),
        None => None,
    };
    let base = committed_base.or_else(|| named_base(loaded.source.text()));
    if base.as_deref() != Some(branch.as_str()) {
        return Ok(None);
    }
    Ok(Some(Refusal::InvalidPlan {
        path: path.to_owned(),
        base: branch,
        diagnostics: loaded
            .diagnostics
            .into_iter()
            .filter(|d| d.is_error())
            .collect(),
    }))
}

/// `[plan] base` of a plan's text, when that much of it parses.
fn named_base(text: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(text).ok()?;
    Some(value.get("plan")?.get("base")?.as_str()?.to_owned())
}

/// The manifest entry that would admit `path` staged with `status`: `create` for an added
/// path, `delete` for a deleted one, `modify` otherwise, with the pattern naming exactly that
/// path. `None` when no pattern can.
pub fn admitting_entry(status: char, path: &str) -> Option<(EntryKind, String)> {
    let kind = match status {
        'A' => EntryKind::Create,
        'D' => EntryKind::Delete,
        _ => EntryKind::Modify,
    };
    // Wildcard characters of the path itself stand for themselves inside a class.
    let pattern: String = path
        .chars()
        .map(|c| match c {
            '*' | '?' | '[' | ']' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect();
    let glob = plan::Glob::parse(&pattern).ok()?;
    if !glob.matches(path) {
        return None;
    }
    Some((kind, pattern))
}

/// commit-msg: adds `Planx-Plan` / `Planx-Phase` trailers on a phase branch when missing,
/// keeping the message otherwise byte for byte. Returns whether the file changed.
pub fn commit_msg(repo: &Repo, message_file: &Path) -> Result<bool, HookError> {
    let Some(here) = phase_here(repo)? else {
        return Ok(false);
    };
    let file_error = |source| HookError::MessageFile {
        path: message_file.to_owned(),
        source,
    };
    let message = std::fs::read_to_string(message_file).map_err(file_error)?;
    let wanted = [
        Trailer::new(trailers::PLAN, &here.judging.id),
        Trailer::new(trailers::PHASE, &here.phase),
    ]
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    // core.commentChar (git's "auto" picks per message; '#' is its usual choice).
    let comment = repo
        .config_string("core.commentChar")?
        .filter(|c| c != "auto")
        .and_then(|c| c.chars().next())
        .unwrap_or('#');
    match trailers::add_missing(&message, &wanted, comment) {
        Some(new) => {
            std::fs::write(message_file, new).map_err(file_error)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// pre-merge-commit: merging a phase branch into base needs a passing verify of its tree.
pub fn pre_merge_commit(repo: &Repo) -> Result<Decision, HookError> {
    let mut decision = Decision::default();
    let Some((here, at)) = committed_digest(repo) else {
        return Ok(decision);
    };
    if repo.current_branch()?.as_deref() != Some(here.header.base.as_str()) {
        return Ok(decision);
    }
    let Some((plan, plan_path)) = committed_plan(repo, at)? else {
        return Ok(decision);
    };
    let base_tip = repo.head_commit()?;
    // `git merge` names what it merges in GITHEAD_<id> variables (MERGE_HEAD is written only
    // later); a conflicted merge committed with `git commit` has MERGE_HEAD.
    let mut heads = repo.merge_heads()?;
    for (key, _) in std::env::vars_os() {
        if let Some(id) = key.to_str().and_then(|k| k.strip_prefix("GITHEAD_"))
            && let Ok(id) = Oid::from_str(id)
            && !heads.contains(&id)
        {
            heads.push(id);
        }
    }
    for head in heads {
        let fork = base_tip
            .map(|b| repo.merge_base(b, head))
            .transpose()?
            .flatten();
        let commits = repo.commits_between(head, fork.as_slice())?;
        let phases = phases_merged(repo, &plan, head, &commits)?;
        if phases.is_empty() {
            continue;
        }
        let judging = match fork {
            Some(fork) => judging_plan(repo, &plan, fork, &plan_path).map_err(|source| {
                JudgingError::Plan {
                    branch: head.to_string(),
                    source,
                }
            })?,
            None => Cow::Borrowed(&plan),
        };
        let tree = repo.tree_of(head)?;
        for phase in phases {
            if find_passing_record(repo, &judging.id, &phase, tree, &commits)?.is_none() {
                decision.refusals.push(Refusal::UnverifiedMerge {
                    phase,
                    base: plan.base.clone(),
                    tree,
                });
            }
        }
    }
    Ok(decision)
}

/// The phases a merge of `head` into base completes, as status counts them: the phase whose
/// branch `head` is the tip of, and every phase with checkpoint commits among `commits` (what
/// the merge brings) — a phase branch, its remote-tracking copy, or any commit on top of it.
/// Phases the merged history completes by itself (a `git pull` of base brings completion
/// merges that were judged when they were made) are not this merge's.
fn phases_merged(
    repo: &Repo,
    plan: &Plan,
    head: Oid,
    commits: &[Oid],
) -> Result<Vec<String>, GitError> {
    let mut merged = BTreeSet::new();
    let mut completed = BTreeSet::new();
    for (branch, tip) in repo.branches_with_prefix(&plan.branch_prefix)? {
        if tip == head
            && let Some(phase) = phase_of_branch(plan, &branch)
        {
            merged.insert(phase.id.clone());
        }
    }
    for &commit in commits {
        let info = repo.commit_info(commit)?;
        let trailers = info.trailers();
        let ours = trailers::value(trailers, trailers::PLAN).is_none_or(|p| p == plan.id);
        let phase = trailers::value(trailers, trailers::PHASE);
        match (phase, trailers::value(trailers, trailers::STATUS)) {
            (Some(phase), Some("complete")) if ours => {
                completed.insert(phase.to_owned());
            }
            (Some(phase), _)
                if ours && trailers::value(trailers, trailers::CHECKPOINT).is_some() =>
            {
                merged.insert(phase.to_owned());
            }
            (None, _) if info.parents.len() >= 2 => {
                // A merge made elsewhere (a pull request): it completed the phases whose
                // checkpoints are on its merged side.
                for side in repo.commits_between(info.parents[1], &info.parents[..1])? {
                    let side = repo.commit_info(side)?;
                    let trailers = side.trailers();
                    if trailers::value(trailers, trailers::PLAN).is_none_or(|p| p == plan.id)
                        && trailers::value(trailers, trailers::CHECKPOINT).is_some()
                        && let Some(phase) = trailers::value(trailers, trailers::PHASE)
                    {
                        completed.insert(phase.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(merged
        .difference(&completed)
        .filter(|id| plan.phase(id).is_some())
        .cloned()
        .collect())
}

/// pre-push: pushing base with phase merges that lack a passing verify is refused. `updates`
/// are git's stdin lines (`<local ref> <local sha> <remote ref> <remote sha>`).
pub fn pre_push(repo: &Repo, updates: &[String]) -> Result<Decision, HookError> {
    let mut decision = Decision::default();
    let Some((here, at)) = committed_digest(repo) else {
        return Ok(decision);
    };
    let base_ref = format!("refs/heads/{}", here.header.base);
    if updates
        .iter()
        .all(|l| l.split_whitespace().nth(2).is_none_or(|r| r != base_ref))
    {
        return Ok(decision);
    }
    let Some((plan, plan_path)) = committed_plan(repo, at)? else {
        return Ok(decision);
    };
    let zero = "0".repeat(40);
    for line in updates {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, local_sha, remote_ref, remote_sha] = fields.as_slice() else {
            continue;
        };
        if *remote_ref != base_ref || *local_sha == zero {
            continue;
        }
        let Ok(local) = Oid::from_str(local_sha) else {
            continue;
        };
        let hide: Vec<Oid> = Oid::from_str(remote_sha)
            .ok()
            .filter(|r| *remote_sha != zero && repo.commit_info(*r).is_ok())
            .into_iter()
            .collect();
        let pushed = repo.commits_between(local, &hide)?;
        // Judge what the remote's base would become: the commit being pushed, whatever local
        // branch it comes from.
        for status in state::derive_with_base(Subject::new(repo, &plan, &plan_path), Some(local))? {
            if matches!(status.state, State::Unverified | State::Contradicted)
                && let Some(by) = status.completed_by
                && pushed.contains(&by)
            {
                decision.refusals.push(Refusal::UnverifiedPush {
                    phase: status.id.clone(),
                    base: plan.base.clone(),
                    merge: by,
                });
            }
        }
    }
    if decision.allowed() {
        decision.notes.push(Note::PushEvidence);
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::admitting_entry;
    use crate::plan::EntryKind;

    #[test]
    fn the_admitting_entry_names_the_path_and_its_kind() {
        let entry = |kind, pattern: &str| Some((kind, pattern.to_owned()));
        assert_eq!(
            admitting_entry('A', "stray.txt"),
            entry(EntryKind::Create, "stray.txt")
        );
        assert_eq!(
            admitting_entry('M', "src/a.rs"),
            entry(EntryKind::Modify, "src/a.rs")
        );
        assert_eq!(
            admitting_entry('T', "link"),
            entry(EntryKind::Modify, "link")
        );
        assert_eq!(
            admitting_entry('D', "old.txt"),
            entry(EntryKind::Delete, "old.txt")
        );
        // Wildcards in the path itself stay literal.
        assert_eq!(
            admitting_entry('A', "a*b?[c].txt"),
            entry(EntryKind::Create, "a[*]b[?][[]c[]].txt")
        );
    }
}
