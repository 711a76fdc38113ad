//! The plan that judges a phase (SPEC §4) and the lookups of a phase in a plan.
//!
//! A phase is judged by the plan committed on base at its fork point, never by the branch's own
//! copy, which whoever does the work could rewrite. Every command that judges a phase reads that
//! plan here, through two values:
//!
//! - [`Subject`] — this plan, in this repository, at this path: what a command opens once (the
//!   command line builds it from its context) and hands to the domain function (lifecycle,
//!   verify, report, run, the derivation of state), instead of the same three arguments and a
//!   phase id threaded through every signature. It is a few references, `Copy`, and loads
//!   nothing.
//! - [`Judged`] — one phase of the subject as judged: branch, tip, base's tip, fork point, the
//!   judging plan. [`Subject::judge`] builds it once (checkpoint, accept, finish, verify,
//!   review, brief, run's pipeline) and it is passed down, so every step reads the same fork
//!   point and the same plan instead of writing the same lookups out again.
//!
//! Whether the branch edited the plan is not a field of [`Judged`]: the edit that matters is in
//! the change set being judged (for `verify`, the work tree's too, uncommitted edits included),
//! which carries the manifest's word on it, so verify and review read it there.

use std::borrow::Cow;

use thiserror::Error;

use crate::git::{GitError, Oid, Repo, TreePathFacts};
use crate::plan::{self, Plan, PlanError};

/// A phase id the plan does not have.
#[derive(Debug, Error)]
#[error("the plan has no phase `{id}`")]
pub struct UnknownPhase {
    pub id: String,
    /// The plan's phase ids, in plan order.
    pub known: Vec<String>,
}

/// Why a phase cannot be judged: the way from its branch to the plan that judges it is broken.
#[derive(Debug, Error)]
pub enum JudgingError {
    #[error("the base branch `{base}` does not exist")]
    NoBase { base: String },
    #[error("phase `{phase}` has not been started")]
    NotStarted { phase: String },
    #[error("`{branch}` and base have no common history{}", if *shallow { " in this shallow clone" } else { "" })]
    NoForkPoint { branch: String, shallow: bool },
    #[error("the plan file did not exist on base at the fork point of `{branch}`")]
    NoPlanAtFork { branch: String },
    #[error("the plan at the fork point of `{branch}` cannot be used")]
    Plan {
        branch: String,
        #[source]
        source: PlanError,
    },
    #[error(transparent)]
    UnknownPhase(#[from] UnknownPhase),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// The phase `id` of `plan`, or the error that names the plan's phases.
pub fn find_phase<'p>(plan: &'p Plan, id: &str) -> Result<&'p plan::Phase, UnknownPhase> {
    plan.phase(id).ok_or_else(|| UnknownPhase {
        id: id.to_owned(),
        known: plan.phases.iter().map(|p| p.id.clone()).collect(),
    })
}

/// The phase of a branch, when it is one of the plan's phase branches.
pub fn phase_of_branch<'p>(plan: &'p Plan, branch: &str) -> Option<&'p plan::Phase> {
    let id = branch.strip_prefix(&plan.branch_prefix)?;
    plan.phase(id)
}

/// The plan as committed in `commit`, validated.
pub fn plan_at(
    repo: &Repo,
    commit: Oid,
    plan_path: &str,
    label: &str,
) -> Result<Option<Plan>, PlanError> {
    let unreadable = |e: crate::git::GitError| PlanError::Unreadable {
        path: format!("{label}:{plan_path}"),
        source: std::io::Error::other(e.to_string()),
    };
    let Some(blob) = repo.entry_at(commit, plan_path).map_err(unreadable)? else {
        return Ok(None);
    };
    // The plan's blob id is the key of a validated copy: a plan validated once (60 ms for a
    // thousand phases) is read back in a few.
    let display = format!("{label}:{plan_path}");
    let plan = crate::cache::valid_plan(repo, blob, || {
        let Some(bytes) = repo.file_at(commit, plan_path).map_err(unreadable)? else {
            return Ok(None);
        };
        plan::load_valid(&display, bytes).map(Some)
    })?;
    if let Some(plan) = &plan {
        refuse_symlink_paths(repo, commit, plan_path, &display, plan)?;
    }
    Ok(plan)
}

/// The validation a cached plan skipped: whether its paths go through a symlink of the tree it
/// is committed in (the same blob is valid in one tree and not in another). When one does,
/// the plan is validated again with the tree's facts, for the diagnostics `check` shows.
pub fn refuse_symlink_paths(
    repo: &Repo,
    commit: Oid,
    plan_path: &str,
    display: &str,
    plan: &Plan,
) -> Result<(), PlanError> {
    let unreadable = |e: crate::git::GitError| PlanError::Unreadable {
        path: display.to_owned(),
        source: std::io::Error::other(e.to_string()),
    };
    // The answer depends on the tree and the plan's bytes alone: a "no" is kept under both
    // (a status does not read a thousand phases' folders in the tree again). The last tree
    // found free is kept too: a tree that differs from it by no new symlink is free as well
    // (base moved on by a commit reads what the commit changed, not every phase's folders).
    let tree = repo.commit_info(commit).map_err(unreadable)?.tree;
    let key_of = |tree: &str| {
        plan.blob
            .as_deref()
            .map(|blob| crate::git::fingerprint(format!("{tree}\n{blob}\n{plan_path}").as_bytes()))
    };
    let key = key_of(&tree.to_string());
    let last_key = key_of("last");
    let kept = crate::cache::Cache::new(repo, "symlink-free", 2, "none");
    if key.as_deref().is_some_and(|k| kept.get(k).is_some()) {
        return Ok(());
    }
    let keep = |tree: Oid| {
        if let (Some(key), Some(last)) = (&key, &last_key) {
            kept.put(key, b"");
            kept.put(last, tree.to_string().as_bytes());
        }
    };
    let last_free = last_key
        .as_deref()
        .and_then(|k| kept.get(k))
        .and_then(|bytes| Oid::from_str(&String::from_utf8_lossy(&bytes)).ok());
    if let Some(last) = last_free
        && matches!(repo.links_added_between_trees(last, tree), Ok(false))
    {
        keep(tree);
        return Ok(());
    }
    let facts = TreePathFacts::new(repo.tree_lookup(commit).map_err(unreadable)?);
    if !plan.goes_through_a_symlink(&facts) {
        keep(tree);
        return Ok(());
    }
    let bytes = repo
        .file_at(commit, plan_path)
        .map_err(unreadable)?
        .unwrap_or_default();
    plan::load_bytes(display, bytes, &facts).into_valid()?;
    Ok(())
}

/// The plan committed on base at `fork`, the fork point of a phase: the plan that judges it.
/// `plan` itself, borrowed, when the fork point holds the same blob (no copy of a large plan);
/// `None` when the plan file did not exist there.
pub fn plan_at_fork<'p>(
    repo: &Repo,
    plan: &'p Plan,
    fork: Oid,
    plan_path: &str,
) -> Result<Option<Cow<'p, Plan>>, PlanError> {
    let at_fork = repo
        .entry_at(fork, plan_path)
        .map_err(|e| PlanError::Unreadable {
            path: format!("{}:{plan_path}", plan.base),
            source: std::io::Error::other(e.to_string()),
        })?;
    let Some(at_fork) = at_fork else {
        return Ok(None);
    };
    if plan.blob.as_deref() == Some(at_fork.to_string().as_str()) {
        return Ok(Some(Cow::Borrowed(plan)));
    }
    Ok(plan_at(repo, fork, plan_path, &plan.base)?.map(Cow::Owned))
}

/// The plan that judges a phase forked at `fork`: [`plan_at_fork`], or `plan` itself when the
/// plan file did not exist at the fork point.
pub fn judging_plan<'p>(
    repo: &Repo,
    plan: &'p Plan,
    fork: Oid,
    plan_path: &str,
) -> Result<Cow<'p, Plan>, PlanError> {
    Ok(plan_at_fork(repo, plan, fork, plan_path)?.unwrap_or(Cow::Borrowed(plan)))
}

/// Where the tip of base is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseTip {
    /// The local branch only: for commands that change the phase in this clone.
    Local,
    /// The local branch, else `origin`'s copy of it: a CI checkout has no local base.
    OrOrigin,
}

/// The tip of `plan`'s base branch, read as `which` says.
pub fn base_tip(repo: &Repo, plan: &Plan, which: BaseTip) -> Result<Oid, JudgingError> {
    let tip = match which {
        BaseTip::Local => repo.branch_tip(&plan.base)?,
        BaseTip::OrOrigin => repo.base_tip(&plan.base)?,
    };
    tip.ok_or_else(|| JudgingError::NoBase {
        base: plan.base.clone(),
    })
}

/// This plan, in this repository: the plan as loaded (committed on base, or the work tree's
/// for the commands that only report), the repository it is read from, and the plan file's
/// path there. Built once by a command and passed by value.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub repo: &'a Repo,
    pub plan: &'a Plan,
    /// The plan file's path in the repository, `/`-separated.
    pub plan_path: &'a str,
}

impl<'a> Subject<'a> {
    pub fn new(repo: &'a Repo, plan: &'a Plan, plan_path: &'a str) -> Subject<'a> {
        Subject {
            repo,
            plan,
            plan_path,
        }
    }

    /// The phase `id` of the plan as loaded.
    pub fn phase(&self, id: &str) -> Result<&'a plan::Phase, UnknownPhase> {
        find_phase(self.plan, id)
    }

    /// The tip of the plan's base branch, read as `which` says.
    pub fn base_tip(&self, which: BaseTip) -> Result<Oid, JudgingError> {
        base_tip(self.repo, self.plan, which)
    }

    /// Judges phase `id` at `tip` of `branch`, forked from base at `base_tip`: the fork point,
    /// and the plan committed on base there — the plan as loaded standing in when the plan file
    /// did not exist at the fork point ([`Judged::at_fork`] says which).
    pub fn judge(
        &self,
        id: &str,
        branch: &str,
        tip: Oid,
        base_tip: Oid,
    ) -> Result<Judged<'a>, JudgingError> {
        let repo = self.repo;
        let fork = super::evidence::fork_point(repo, base_tip, tip)?.ok_or_else(|| {
            JudgingError::NoForkPoint {
                branch: branch.to_owned(),
                shallow: repo.is_shallow(),
            }
        })?;
        self.judge_forked(id, branch, tip, base_tip, fork)
    }

    /// [`Subject::judge`], for a caller that knows the fork point already: the execution report,
    /// which reads an open phase's files from it whether or not the plan there can judge them.
    pub fn judge_forked(
        &self,
        id: &str,
        branch: &str,
        tip: Oid,
        base_tip: Oid,
        fork: Oid,
    ) -> Result<Judged<'a>, JudgingError> {
        let at_fork =
            plan_at_fork(self.repo, self.plan, fork, self.plan_path).map_err(|source| {
                JudgingError::Plan {
                    branch: branch.to_owned(),
                    source,
                }
            })?;
        Ok(Judged {
            id: id.to_owned(),
            branch: branch.to_owned(),
            tip,
            base_tip,
            fork,
            at_fork: at_fork.is_some(),
            plan: at_fork.unwrap_or(Cow::Borrowed(self.plan)),
            plan_path: self.plan_path,
        })
    }
}

/// A phase as judged (SPEC §4): a commit of its branch, where that forked from base, and the
/// plan that judges it. Built once by [`Subject::judge`], then passed down, so every step
/// reads the same fork point and the same plan.
#[derive(Debug)]
pub struct Judged<'p> {
    /// The phase's id.
    pub id: String,
    pub branch: String,
    /// The commit judged: the branch's tip, or the commit a work tree has checked out.
    pub tip: Oid,
    pub base_tip: Oid,
    /// Where `tip` forked from base ([`fork_point`](super::evidence::fork_point)).
    pub fork: Oid,
    /// The plan that judges the phase: the plan on base at the fork point, or — when the plan
    /// file did not exist there, see [`Judged::at_fork`] — the plan as loaded.
    pub plan: Cow<'p, Plan>,
    /// The plan file's path in the repository.
    pub plan_path: &'p str,
    /// The plan file existed at the fork point: `plan` is the plan committed there.
    pub at_fork: bool,
}

impl<'p> Judged<'p> {
    /// This value, when the plan file existed at the fork point: a phase forked before its plan
    /// existed has no plan to be verified or reviewed by.
    pub fn from_fork_only(self) -> Result<Judged<'p>, JudgingError> {
        if self.at_fork {
            Ok(self)
        } else {
            Err(JudgingError::NoPlanAtFork {
                branch: self.branch,
            })
        }
    }

    /// The phase, as the judging plan has it.
    pub fn phase(&self) -> Result<&plan::Phase, UnknownPhase> {
        find_phase(&self.plan, &self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "version = 1\n\n[plan]\nid = \"p\"\ntitle = \"P\"\nbase = \"main\"\n\n[[phase]]\nid = \"a\"\ntitle = \"A\"\n";
    const PATH: &str = ".planx/plan.toml";

    /// A repository whose `main` holds `base_plan` (or no plan) and whose branch `planx/a`
    /// forks from it with `branch_plan` committed on top. Returns the fork point and the tip.
    fn fixture(base_plan: Option<&str>, branch_plan: &str) -> (tempfile::TempDir, Repo, Oid, Oid) {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(dir.path()).unwrap();
        let sig =
            git2::Signature::new("t", "t@example.com", &git2::Time::new(1_000_000, 0)).unwrap();
        let tree = |plan: Option<&str>| {
            let mut index = git2::Index::new().unwrap();
            if let Some(text) = plan {
                let blob = git.blob(text.as_bytes()).unwrap();
                let mut entry = git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode: 0o100644,
                    uid: 0,
                    gid: 0,
                    file_size: 0,
                    id: blob,
                    flags: 0,
                    flags_extended: 0,
                    path: PATH.as_bytes().to_vec(),
                };
                entry.flags = PATH.len() as u16;
                index.add(&entry).unwrap();
            }
            git.find_tree(index.write_tree_to(&git).unwrap()).unwrap()
        };
        let fork = git
            .commit(
                Some("refs/heads/main"),
                &sig,
                &sig,
                "base",
                &tree(base_plan),
                &[],
            )
            .unwrap();
        let parent = git.find_commit(fork).unwrap();
        let tip = git
            .commit(
                Some("refs/heads/planx/a"),
                &sig,
                &sig,
                "work",
                &tree(Some(branch_plan)),
                &[&parent],
            )
            .unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        (dir, repo, fork, tip)
    }

    fn plan(text: &str) -> Plan {
        plan::load_valid(PATH, text.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn the_plan_at_the_fork_point_judges_not_the_branch_edit() {
        let edited = PLAN.replace("title = \"A\"", "title = \"Edited\"");
        let (_dir, repo, fork, tip) = fixture(Some(PLAN), &edited);
        // The plan as loaded is the branch's edit; the fork point's plan judges.
        let loaded = plan(&edited);
        let subject = Subject::new(&repo, &loaded, PATH);
        let base = subject.base_tip(BaseTip::Local).unwrap();
        let judged = subject.judge("a", "planx/a", tip, base).unwrap();
        assert_eq!(
            (judged.fork, judged.tip, judged.base_tip),
            (fork, tip, fork)
        );
        assert_eq!(
            (judged.branch.as_str(), judged.plan_path),
            ("planx/a", PATH)
        );
        assert!(judged.at_fork);
        assert!(matches!(judged.plan, Cow::Owned(_)));
        assert_eq!(judged.phase().unwrap().title, "A");
        // The subject's own lookups read the plan as loaded.
        assert_eq!(subject.phase("a").unwrap().title, "Edited");
        assert_eq!(judged.phase().unwrap().id, "a");

        // Unchanged on the branch: the plan as loaded is the one at the fork, borrowed.
        let (_dir, repo, _, tip) = fixture(Some(PLAN), PLAN);
        let mut loaded = plan(PLAN);
        loaded.blob = crate::git::blob_id(PLAN.as_bytes()).map(|b| b.to_string());
        let subject = Subject::new(&repo, &loaded, PATH);
        let base = subject.base_tip(BaseTip::OrOrigin).unwrap();
        let judged = subject.judge("a", "planx/a", tip, base).unwrap();
        assert!(judged.at_fork);
        assert!(matches!(judged.plan, Cow::Borrowed(_)));
    }

    #[test]
    fn a_phase_forked_before_its_plan_existed_is_judged_only_when_allowed() {
        let (_dir, repo, _, tip) = fixture(None, PLAN);
        let loaded = plan(PLAN);
        let subject = Subject::new(&repo, &loaded, PATH);
        let base = subject.base_tip(BaseTip::Local).unwrap();
        let judged = subject.judge("a", "planx/a", tip, base).unwrap();
        assert!(!judged.at_fork);
        assert!(matches!(judged.plan, Cow::Borrowed(_)));
        let refused = judged.from_fork_only().unwrap_err();
        assert!(
            matches!(&refused, JudgingError::NoPlanAtFork { branch } if branch == "planx/a"),
            "{refused:?}"
        );
    }

    #[test]
    fn what_cannot_be_judged_says_why() {
        let (_dir, repo, _, tip) = fixture(Some(PLAN), PLAN);
        let mut other = plan(PLAN);
        other.base = "trunk".into();
        assert!(matches!(
            base_tip(&repo, &other, BaseTip::OrOrigin),
            Err(JudgingError::NoBase { base }) if base == "trunk"
        ));
        let loaded = plan(PLAN);
        let subject = Subject::new(&repo, &loaded, PATH);
        let base = subject.base_tip(BaseTip::Local).unwrap();
        assert!(matches!(
            subject.phase("b"),
            Err(UnknownPhase { id, .. }) if id == "b"
        ));
        let judged = subject.judge("b", "planx/b", tip, base).unwrap();
        let unknown = judged.phase().unwrap_err();
        assert_eq!(
            (unknown.id.as_str(), unknown.known.clone()),
            ("b", vec!["a".to_owned()])
        );
        assert_eq!(unknown.to_string(), "the plan has no phase `b`");
    }

    #[test]
    fn a_branch_without_common_history_or_a_broken_plan_at_its_fork_cannot_be_judged() {
        let (dir, repo, fork, tip) = fixture(Some(PLAN), PLAN);
        let git = git2::Repository::open(dir.path()).unwrap();
        let sig =
            git2::Signature::new("t", "t@example.com", &git2::Time::new(1_000_000, 0)).unwrap();
        let tree = git.find_commit(tip).unwrap().tree().unwrap();
        let lone = git
            .commit(
                Some("refs/heads/planx/lone"),
                &sig,
                &sig,
                "lone",
                &tree,
                &[],
            )
            .unwrap();
        let loaded = plan(PLAN);
        let subject = Subject::new(&repo, &loaded, PATH);
        let base = subject.base_tip(BaseTip::Local).unwrap();
        let refused = subject.judge("a", "planx/lone", lone, base).unwrap_err();
        assert!(
            matches!(&refused, JudgingError::NoForkPoint { branch, shallow: false } if branch == "planx/lone"),
            "{refused:?}"
        );

        // At a fork point known already, the phase is judged as `judge` judges it.
        let found = subject.judge("a", "planx/a", tip, base).unwrap();
        let given = subject
            .judge_forked("a", "planx/a", tip, base, fork)
            .unwrap();
        assert_eq!(
            (given.fork, given.tip, given.at_fork, &given.branch),
            (found.fork, found.tip, found.at_fork, &found.branch)
        );

        // A plan on base that cannot be used at the fork point is said to be the fork's.
        let (_dir, repo, fork, tip) = fixture(Some("version = 1\n[plan]\n"), PLAN);
        let subject = Subject::new(&repo, &loaded, PATH);
        let base = subject.base_tip(BaseTip::Local).unwrap();
        let refused = subject
            .judge_forked("a", "planx/a", tip, base, fork)
            .unwrap_err();
        assert!(
            matches!(&refused, JudgingError::Plan { branch, .. } if branch == "planx/a"),
            "{refused:?}"
        );
    }
}
