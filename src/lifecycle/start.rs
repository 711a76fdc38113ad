//! `start`: put a phase on its own branch with a start checkpoint that records the baseline.
//!
//! The start checkpoint is built before the branch exists and the branch is then created
//! pointing at it, atomically; the note follows. A start interrupted at any point — a branch
//! without its start commit (made by hand, or by an older crash), a start commit without its
//! note — is completed by the next `start`, never duplicated. A lock per phase makes two
//! simultaneous starts of one phase resolve to exactly one winner.

use std::path::{Path, PathBuf};

use super::LifecycleError;
use crate::clock;
use crate::git::scratch::{in_scratch, scratch_path};
use crate::git::trailers;
use crate::git::{Oid, Repo};
use crate::plan::{Phase, Plan, PlanStatus};
use crate::process::run_command;
use crate::state::events::{CommandRun, Event};
use crate::state::judging::{BaseTip, Subject, find_phase};
use crate::state::{self, State};
use crate::trust::{TrustError, TrustPolicy, require_trust};

#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Start even when the plan is not `ready`.
    pub force: bool,
    /// Check the phase out in a new linked worktree here instead of switching this one.
    pub worktree: Option<PathBuf>,
    pub trust: TrustPolicy,
}

#[derive(Debug)]
pub enum StartOutcome {
    Started {
        branch: String,
        commit: Oid,
        base: Oid,
        preflight: Vec<CommandRun>,
        /// Parts of an interrupted start that this run completed.
        completed: Vec<&'static str>,
        worktree: Option<PathBuf>,
    },
    /// The phase was started before: now checked out (or already where it was).
    AlreadyStarted {
        branch: String,
        /// The work tree holding the branch, when it is not this one.
        elsewhere: Option<PathBuf>,
        switched: bool,
        worktree: Option<PathBuf>,
    },
}

pub fn start(
    subject: Subject<'_>,
    phase_id: &str,
    opts: &StartOptions,
) -> Result<StartOutcome, LifecycleError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    let phase = find_phase(plan, phase_id)?;
    let _lock = crate::lock::take(
        &repo.locks_dir(),
        &format!("start-{}-{}", plan.id, phase.id),
        "start",
        &phase.id,
    )?;
    let branch = plan.branch(phase);
    repo.configure_notes()?;
    let statuses = state::derive_around(subject, &phase.id)?;
    let index = plan
        .phases
        .iter()
        .position(|p| p.id == phase.id)
        .unwrap_or(0);
    let status = &statuses[index];
    if let Some(by) = status.completed_by {
        return Err(LifecycleError::AlreadyComplete {
            phase: phase.id.clone(),
            by,
        });
    }
    let base_tip = subject.base_tip(BaseTip::Local)?;

    let start_checkpoint = status.start().cloned();
    let recorded = start_checkpoint
        .as_ref()
        .is_some_and(|c| c.events.iter().any(|e| e.event == "start"));
    if recorded {
        return switch_to_started(repo, plan, &branch, opts.worktree.as_deref());
    }
    // A branch without a start checkpoint is completed only when it holds nothing yet: one
    // with commits of its own was not started by planx (or its start is out of sight, as in a
    // shallow clone), and a start commit on top of it would be a lie.
    if start_checkpoint.is_none()
        && status.branch_tip.is_some()
        && (status.plain_commits > 0 || !status.checkpoints.is_empty())
    {
        return Err(LifecycleError::ForeignBranch { branch });
    }

    if plan.status != PlanStatus::Ready && !opts.force {
        return Err(LifecycleError::PlanNotReady {
            status: plan.status.as_str().to_owned(),
        });
    }
    if !status.waiting_for.is_empty() {
        let missing = status
            .waiting_for
            .iter()
            .map(|id| {
                let state = statuses
                    .iter()
                    .find(|s| &s.id == id)
                    .map_or(State::Waiting, |s| s.state);
                (id.clone(), state)
            })
            .collect();
        return Err(LifecycleError::DependenciesIncomplete {
            phase: phase.id.clone(),
            missing,
        });
    }
    if let Some(what) = repo.in_progress() {
        return Err(LifecycleError::OperationInProgress { what });
    }
    // Uncommitted changes would be carried onto the phase branch by a switch; a new linked
    // worktree carries nothing, so only a switch of this work tree needs a clean one.
    let dirty = repo.dirty_paths()?;
    if plan.preflight.clean_worktree && opts.worktree.is_none() && !dirty.is_empty() {
        return Err(LifecycleError::Dirty { paths: dirty });
    }

    let preflight = run_preflight(repo, plan, phase, base_tip, dirty.is_empty(), opts.trust)?;
    if preflight.iter().any(|r| !r.passed) {
        return Err(LifecycleError::PreflightFailed { runs: preflight });
    }

    // The start note is signed once the commit is made: a key that cannot be had is found first.
    crate::trust::signing::own_key_id().map_err(TrustError::from)?;
    let mut completed = Vec::new();
    let commit = match &start_checkpoint {
        Some(c) => {
            completed.push("the start note");
            c.commit
        }
        None => {
            let parent = status.branch_tip.unwrap_or(base_tip);
            let tree = repo.commit_info(parent)?.tree;
            let message = start_message(plan, phase)?;
            let commit = repo.commit_tree(tree, &[parent], &message)?;
            let moved = match status.branch_tip {
                None => repo.create_branch_exclusive(
                    &branch,
                    commit,
                    &format!("planx: start {}", phase.id),
                )?,
                Some(old) => {
                    completed.push("the start commit");
                    repo.move_branch(&branch, commit, old, &format!("planx: start {}", phase.id))?
                }
            };
            if !moved {
                return Err(LifecycleError::LostRace { branch });
            }
            commit
        }
    };
    let (name, email) = repo.identity();
    let event = Event::new(&clock::format(clock::now()), &plan.id, &phase.id, "start")
        .with("base_branch", &plan.base)
        .with("base", base_tip.to_string())
        .with("plan_hash", plan_fingerprint(repo, base_tip, plan_path)?)
        .with("who", format!("{name} <{email}>"))
        .with("preflight", &preflight);
    let line = event.sealed_line().map_err(TrustError::from)?;
    repo.append_note_line(commit, &line)?;

    let worktree = checkout(repo, &phase.id, &branch, opts.worktree.as_deref())?;
    Ok(StartOutcome::Started {
        branch,
        commit,
        base: base_tip,
        preflight,
        completed,
        worktree,
    })
}

fn start_message(plan: &Plan, phase: &Phase) -> Result<String, LifecycleError> {
    let subject = format!("planx: start {} — {}", phase.id, one_line(&phase.title));
    Ok(trailers::message(
        &subject,
        &[
            (trailers::PLAN, &plan.id),
            (trailers::PHASE, &phase.id),
            (trailers::CHECKPOINT, "start"),
            (trailers::STATUS, "in-progress"),
        ],
    )?)
}

/// Switching branches carries uncommitted changes along: refuse, as a fresh start does.
pub(super) fn refuse_dirty(repo: &Repo) -> Result<(), LifecycleError> {
    let dirty = repo.dirty_paths()?;
    if dirty.is_empty() {
        Ok(())
    } else {
        Err(LifecycleError::Dirty { paths: dirty })
    }
}

pub(super) fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// The fingerprint of the plan file the phase starts from.
fn plan_fingerprint(repo: &Repo, commit: Oid, plan_path: &str) -> Result<String, LifecycleError> {
    Ok(repo
        .entry_at(commit, plan_path)?
        .map(|id| id.to_string())
        .unwrap_or_default())
}

/// Runs the preflight commands against base: in place when this work tree is clean at base's
/// tip, else in a scratch worktree at base's tip that is removed afterwards.
fn run_preflight(
    repo: &Repo,
    plan: &Plan,
    phase: &Phase,
    base_tip: Oid,
    clean: bool,
    trust: TrustPolicy,
) -> Result<Vec<CommandRun>, LifecycleError> {
    if plan.preflight.run.is_empty() {
        return Ok(Vec::new());
    }
    require_trust(repo, plan, trust)?;
    let env = [
        ("PLANX_PLAN", plan.id.as_str()),
        ("PLANX_PHASE", phase.id.as_str()),
    ];
    let run_all = |dir: &Path| -> Result<Vec<CommandRun>, LifecycleError> {
        let mut runs = Vec::new();
        for command in &plan.preflight.run {
            let outcome = run_command("preflight", command, dir, plan.preflight.timeout, &env)?;
            let passed = outcome.exited_with(0);
            runs.push(CommandRun::new(
                &command.text,
                &command.shell,
                &outcome,
                passed,
            ));
            if !passed {
                break;
            }
        }
        Ok(runs)
    };
    if clean && repo.head_commit()? == Some(base_tip) {
        run_all(repo.require_workdir()?)
    } else {
        let path = scratch_path(repo, &format!("preflight-{}", phase.id));
        in_scratch(repo, &path, base_tip, |_| run_all(&path))
    }
}

/// Checks the branch out: in a new linked worktree at `worktree`, or in this work tree.
fn checkout(
    repo: &Repo,
    phase: &str,
    branch: &str,
    worktree: Option<&Path>,
) -> Result<Option<PathBuf>, LifecycleError> {
    let result = match worktree {
        Some(path) => {
            let path = absolute(path);
            repo.add_worktree(&path, branch)
                .map(|_| Some(absolute(&path)))
        }
        None => repo.switch(branch).map(|_| None),
    };
    result.map_err(|source| LifecycleError::Switch {
        phase: phase.to_owned(),
        branch: branch.to_owned(),
        source,
    })
}

/// `path` from the current directory (git runs elsewhere), canonical when it exists.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

fn switch_to_started(
    repo: &Repo,
    plan: &Plan,
    branch: &str,
    worktree: Option<&Path>,
) -> Result<StartOutcome, LifecycleError> {
    if repo.current_branch()?.as_deref() == Some(branch) {
        return Ok(StartOutcome::AlreadyStarted {
            branch: branch.to_owned(),
            elsewhere: None,
            switched: false,
            worktree: None,
        });
    }
    if let Some(path) = repo.worktree_of_branch(branch)? {
        return Ok(StartOutcome::AlreadyStarted {
            branch: branch.to_owned(),
            elsewhere: Some(path),
            switched: false,
            worktree: None,
        });
    }
    if worktree.is_none() && plan.preflight.clean_worktree {
        refuse_dirty(repo)?;
    }
    let phase = branch.strip_prefix(&plan.branch_prefix).unwrap_or(branch);
    let worktree = checkout(repo, phase, branch, worktree)?;
    Ok(StartOutcome::AlreadyStarted {
        branch: branch.to_owned(),
        elsewhere: None,
        switched: worktree.is_none(),
        worktree,
    })
}
