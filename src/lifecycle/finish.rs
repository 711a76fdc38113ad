//! `finish`: merge a phase into base, only with a passing verify record of exactly the tree
//! being merged — running verify first when there is none — and never leaving a half state.
//!
//! The merge is computed in memory by git itself (`git merge-tree`), so a conflict touches
//! nothing. The merge commit is written as an object first; then base moves in one step:
//! a compare-and-swap of the ref when base is checked out nowhere, or a fast-forward of the
//! work tree holding it (refused by git, with nothing changed, when that would lose work).

use super::LifecycleError;
use super::start::one_line;
use crate::clock;
use crate::git::cli::MergeResult;
use crate::git::scratch::scratch_path;
use crate::git::trailers;
use crate::git::{Oid, Repo};
use crate::plan::Plan;
use crate::state::events::Event;
use crate::state::judging::{BaseTip, Subject};
use crate::trust::{TrustError, TrustPolicy};
use crate::verify::{self, Place, Report, VerifyOptions};

#[derive(Debug, Clone, Default)]
pub struct FinishOptions {
    pub squash: bool,
    pub delete_branch: bool,
    pub trust: TrustPolicy,
}

#[derive(Debug)]
pub struct FinishOutcome {
    pub phase: String,
    pub branch: String,
    pub base: String,
    pub commit: Oid,
    pub verified_tree: Oid,
    /// The commit whose note holds the passing record.
    pub record: Oid,
    /// The verification `finish` ran itself, when there was no record.
    pub ran_verify: Option<Report>,
    pub squash: bool,
    pub branch_deleted: bool,
    /// Why the branch was kept although --delete-branch asked otherwise.
    pub branch_kept: Option<String>,
}

/// Publishes a merge elsewhere before base moves here (`run --remote` pushes it to the
/// remote's base with a lease): given the merge commit and the base tip it is made on, says
/// whether it landed there. `false` (another machine moved that base first) leaves base here
/// as it is, and [`finish_with`] fails with [`LifecycleError::BaseMoved`]; an error (in the
/// caller's words) with [`LifecycleError::NotPublished`].
pub type Publish<'a> = &'a dyn Fn(Oid, Oid) -> Result<bool, String>;

pub fn finish(
    subject: Subject<'_>,
    phase_id: &str,
    opts: &FinishOptions,
) -> Result<FinishOutcome, LifecycleError> {
    finish_with(subject, phase_id, opts, None)
}

/// [`finish`], with the merge published by `publish` (when given) before base moves here.
pub fn finish_with(
    subject: Subject<'_>,
    phase_id: &str,
    opts: &FinishOptions,
    publish: Option<Publish<'_>>,
) -> Result<FinishOutcome, LifecycleError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let phase = subject.phase(phase_id)?;
    // One merge into base at a time.
    let _lock = crate::lock::take(
        &repo.locks_dir(),
        &format!("finish-{}", plan.id),
        "finish",
        &phase.id,
    )?;
    let branch = plan.branch(phase);
    let statuses = crate::state::derive_around(subject, &phase.id)?;
    if let Some(status) = statuses.iter().find(|s| s.id == phase.id)
        && let Some(by) = status.completed_by
        && status.state == crate::state::State::Complete
    {
        return Err(LifecycleError::AlreadyComplete {
            phase: phase.id.clone(),
            by,
        });
    }
    let tip = repo
        .branch_tip(&branch)?
        .ok_or_else(|| LifecycleError::NotStarted {
            phase: phase.id.clone(),
        })?;
    let base_tip = subject.base_tip(BaseTip::Local)?;
    if repo.current_branch()?.as_deref() == Some(branch.as_str()) {
        let dirty = repo.dirty_paths()?;
        if !dirty.is_empty() {
            return Err(LifecycleError::PhaseDirty {
                branch,
                paths: dirty,
            });
        }
    }
    let tip_tree = repo.tree_of(tip)?;
    // The phase as judged: its fork point, and the plan there, under whose id verify records
    // (and by which it verifies, below, when there is no record). Over the fork point, judging
    // costs one lookup of the plan file at the fork point; the plan there is read (from the
    // cache) only when it is not the plan as loaded.
    let judged = subject.judge(&phase.id, &branch, tip, base_tip)?;
    let branch_commits = repo.commits_between(tip, &[judged.fork])?;

    // The merge, computed in memory: a conflict changes nothing.
    let merged_tree = match repo.merge_tree(base_tip, tip)? {
        MergeResult::Clean { tree } => tree,
        MergeResult::Conflicts { paths } => {
            return Err(LifecycleError::Conflicts {
                branch,
                base: plan.base.clone(),
                paths,
            });
        }
    };
    // What would land on base, as an object: no ref moves yet.
    let message = merge_message(plan, phase, merged_tree, opts.squash)?;
    let parents: Vec<Oid> = if opts.squash {
        vec![base_tip]
    } else {
        vec![base_tip, tip]
    };
    let commit = repo.commit_tree(merged_tree, &parents, &message)?;

    let base_worktree = repo.worktree_of_branch(&plan.base)?;
    if let Some(dir) = &base_worktree {
        // As `git merge` does: changes to tracked files there that the merge would overwrite
        // refuse it; others stay as they are (the fast-forward keeps them). Untracked files
        // are left alone by the fast-forward, which refuses (changing nothing) when one is in
        // the way.
        let touched: std::collections::HashSet<String> =
            repo.paths_changed_by(commit)?.into_iter().collect();
        let dirty: Vec<_> = Repo::open(dir)?
            .dirty_paths()?
            .into_iter()
            .filter(|p| p.status != "??" && touched.contains(&p.path))
            .collect();
        if !dirty.is_empty() {
            return Err(LifecycleError::BaseDirty {
                base: plan.base.clone(),
                worktree: dir.clone(),
                paths: dirty,
            });
        }
    }

    // The evidence: a passing record, of a clean work tree, for exactly the tree that lands —
    // the phase's tip when base has not moved since it forked, else the merge itself.
    let mut candidates = branch_commits.clone();
    candidates.push(commit);
    let found = crate::state::evidence::find_passing_record(
        repo,
        &judged.plan.id,
        &phase.id,
        merged_tree,
        &candidates,
    )?;
    let (record, ran_verify) = match found {
        Some(record) => (record, None),
        None => {
            let options = VerifyOptions {
                no_run: false,
                trust: opts.trust,
            };
            let scratch = |head: Oid, branch: String| Place::Scratch {
                tip: head,
                branch,
                path: scratch_path(repo, &format!("finish-{}", phase.id)),
            };
            // The tip lands as it is: verified as the phase judged above. Else the merge lands,
            // and is judged itself (forked from base's tip, by the plan there).
            let report = if merged_tree == tip_tree {
                let place = match Place::choose(subject, &phase.id, None)? {
                    Place::Here { head, branch }
                        if head == tip && repo.dirty_paths()?.is_empty() =>
                    {
                        Place::Here { head, branch }
                    }
                    Place::Here { branch, .. } | Place::Scratch { branch, .. } => {
                        scratch(tip, branch)
                    }
                };
                let judged = judged.from_fork_only()?;
                verify::verify_judged_at(repo, &judged, place, &options)?
            } else {
                verify::verify_at(
                    subject,
                    &phase.id,
                    scratch(commit, branch.clone()),
                    &options,
                )?
            };
            verify::record(repo, &report)?;
            if !report.passed() || !report.clean {
                return Err(LifecycleError::VerifyFailed {
                    report: Box::new(report),
                });
            }
            (report.head, Some(report))
        }
    };

    // The completion event — and, for a squash, every event of the phase carried over so that
    // no evidence is stranded on commits base does not reach — written to the new commit in one
    // notes commit before base moves: base never holds the commit without its record. Should
    // base then refuse to move, the note stays on a commit nothing reaches.
    let mut lines = Vec::new();
    if opts.squash {
        // Evidence is carried signed anew, with where it came from; a line that is not
        // evidence (a record planx did not write) is carried as it was, and stays what it is.
        let notes = repo.notes()?;
        for &c in branch_commits.iter().rev() {
            if let Some(note) = notes.get(c)? {
                for line in note.lines() {
                    match Event::parse(line) {
                        Some(event) if event.counts() => lines.push(
                            event
                                .with("carried_from", c.to_string())
                                .sealed_line()
                                .map_err(TrustError::from)?,
                        ),
                        Some(event) if event.plan == plan.id && event.phase == phase.id => {
                            lines.push(line.to_owned())
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let now = clock::format(clock::now());
    let event = Event::new(&now, &plan.id, &phase.id, "complete")
        .with("merged", tip.to_string())
        .with("verified_tree", merged_tree.to_string())
        .with("record", record.to_string())
        .with("squash", opts.squash)
        .with(
            "commits",
            branch_commits
                .iter()
                .map(Oid::to_string)
                .collect::<Vec<_>>(),
        );
    lines.push(event.sealed_line().map_err(TrustError::from)?);
    repo.append_note_lines(commit, &lines)?;

    if let Some(publish) = publish
        && !publish(commit, base_tip).map_err(|why| LifecycleError::NotPublished {
            phase: phase.id.clone(),
            why,
        })?
    {
        return Err(LifecycleError::BaseMoved {
            base: plan.base.clone(),
        });
    }
    match &base_worktree {
        Some(dir) => repo.fast_forward_worktree(dir, commit)?,
        None => {
            if !repo.move_branch(
                &plan.base,
                commit,
                base_tip,
                &format!("planx: finish {}", phase.id),
            )? {
                return Err(LifecycleError::BaseMoved {
                    base: plan.base.clone(),
                });
            }
        }
    }

    let (mut branch_deleted, mut branch_kept) = (false, None);
    if opts.delete_branch {
        match repo.worktree_of_branch(&branch)? {
            Some(dir) => branch_kept = Some(format!("it is checked out in {}", dir.display())),
            None => branch_deleted = repo.delete_branch(&branch, tip)?,
        }
    }
    Ok(FinishOutcome {
        phase: phase.id.clone(),
        branch,
        base: plan.base.clone(),
        commit,
        verified_tree: merged_tree,
        record,
        ran_verify,
        squash: opts.squash,
        branch_deleted,
        branch_kept,
    })
}

fn merge_message(
    plan: &Plan,
    phase: &crate::plan::Phase,
    tree: Oid,
    squash: bool,
) -> Result<String, LifecycleError> {
    let subject = format!(
        "planx: {} phase {} — {}",
        if squash { "squash" } else { "complete" },
        phase.id,
        one_line(&phase.title)
    );
    let tree = tree.to_string();
    Ok(trailers::message(
        &subject,
        &[
            (trailers::PLAN, &plan.id),
            (trailers::PHASE, &phase.id),
            (trailers::CHECKPOINT, "complete"),
            (trailers::STATUS, "complete"),
            (trailers::VERIFIED_TREE, &tree),
        ],
    )?)
}
