//! The pipeline of one phase, on its own thread: its worktree (started, or left by an
//! earlier run), the brief, the executor, a checkpoint of whatever the executor left, verify,
//! and the merge into base — or a `failed` (or `blocked`) checkpoint that says why.
//!
//! It returns how the phase ended as a value ([`Outcome`] and its reason) and reports progress
//! to the [`Observer`]; what it must say in words (the brief, an error, a verify report) it asks
//! of the caller's [`Render`], since the reasons it records in git are the ones a person reads.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::watch::{self, Touch};
use super::{
    Observer, Outcome, Render, RunError, RunEvent, RunOptions, phase_dir, remote, worktree_path,
};
use crate::clock;
use crate::git::Repo;
use crate::interrupt;
use crate::lifecycle::{self, CheckpointOptions, FinishOptions, LifecycleError, StartOptions};
use crate::plan::{Phase, Plan};
use crate::process;
use crate::state::events::{CommandRun, Event};
use crate::state::evidence::find_passing_record;
use crate::state::judging::{JudgingError, Subject};
use crate::state::usage::Usage;
use crate::trust::TrustError;
use crate::verify::{self, Target, VerifyOptions};

/// Everything a phase's thread needs.
pub(super) struct Shared<'a> {
    pub workdir: PathBuf,
    pub plan: &'a Plan,
    pub plan_path: &'a str,
    pub opts: &'a RunOptions,
    pub executor: String,
    /// The program that supervises each executor (git-planx itself): see
    /// [`process::supervise`].
    pub supervisor: PathBuf,
    pub render: &'a dyn Render,
    pub observer: &'a dyn Observer,
    /// Held while a phase merges into base: one merge at a time (and, with `--remote`, while
    /// base, the branches and the notes are brought in from the remote or pushed there).
    pub merge: Mutex<()>,
    /// Which executors run, for the watch over each.
    pub windows: Mutex<watch::Windows>,
    /// With `--remote`: the remote the machines share.
    pub remote: Option<crate::remote::Remote>,
    /// With `--remote`: how often the claims of running phases are renewed.
    pub renew_every: Option<Duration>,
    /// Held while this run takes, renews or releases a claim: a renewal never races the
    /// release of the same claim.
    pub claims: Mutex<()>,
}

impl Shared<'_> {
    /// The run's plan in `repo`: the repository, or a phase's worktree of it, opened by the
    /// phase's thread (a `Repo` stays on the thread that opened it).
    fn subject<'r>(&'r self, repo: &'r Repo) -> Subject<'r> {
        Subject::new(repo, self.plan, self.plan_path)
    }
}

/// One phase, from its worktree to its merge.
pub(super) fn run_phase(shared: &Shared<'_>, index: usize) -> Result<(Outcome, String), RunError> {
    let plan = shared.plan;
    let phase = &plan.phases[index];
    let repo = Repo::open(&shared.workdir)?;
    let dir = phase_dir(&repo, plan, &phase.id);
    std::fs::create_dir_all(&dir)?;

    // One run at a time per phase, whatever process runs it.
    let Ok(_phase_lock) = crate::lock::take(
        &repo.locks_dir(),
        &format!("run-{}-{}", plan.id, phase.id),
        "run",
        &phase.id,
    ) else {
        return Ok((
            Outcome::NotRun,
            "another `git planx run` is executing it".into(),
        ));
    };
    let Some(name) = &shared.remote else {
        return run_here(shared, &repo, index, &dir);
    };

    // Several machines: the phase is this one's only with the claim on the remote.
    let taken = {
        let _remote = shared.merge.lock().unwrap_or_else(|p| p.into_inner());
        let _claims = shared.claims.lock().unwrap_or_else(|p| p.into_inner());
        remote::take(
            shared.subject(&repo),
            name,
            &phase.id,
            shared.opts.retry_failed,
        )?
    };
    match taken {
        remote::Taken::Mine(_) => {}
        remote::Taken::Elsewhere(why) => return Ok((Outcome::Elsewhere, why)),
        remote::Taken::Ended(state) => {
            return Ok(match state {
                crate::state::State::Complete => {
                    (Outcome::Completed, "completed by another machine".into())
                }
                state => (
                    Outcome::NotRun,
                    format!(
                        "{} on another machine; `git planx status` says why",
                        state.as_str()
                    ),
                ),
            });
        }
    }
    let ended = run_here(shared, &repo, index, &dir);
    // Whatever happened, what the phase left travels, and the claim goes: the phase has ended
    // on this machine (an interrupted one is continued by whoever claims it next).
    let _remote = shared.merge.lock().unwrap_or_else(|p| p.into_inner());
    let _claims = shared.claims.lock().unwrap_or_else(|p| p.into_inner());
    let pushed = remote::push_branch(&repo, name, &plan.branch(phase))
        .and_then(|()| remote::push_notes(&repo, name));
    // Released as this machine's (it may have been renewed meanwhile); a claim someone took
    // over meanwhile stays theirs.
    let released = match crate::claim::release(&repo, name, plan, &phase.id, false) {
        Err(crate::claim::ClaimError::NotYours { .. }) => Ok(crate::claim::Released::NoClaim),
        other => other,
    };
    let ended = ended?;
    pushed?;
    released?;
    Ok(ended)
}

/// One phase on this machine, from its worktree to its merge.
fn run_here(
    shared: &Shared<'_>,
    repo: &Repo,
    index: usize,
    dir: &Path,
) -> Result<(Outcome, String), RunError> {
    let plan = shared.plan;
    let phase = &plan.phases[index];
    let observer = shared.observer;
    let branch = plan.branch(phase);
    let dir = dir.to_path_buf();

    // The executor's lock: held by this run, and by the executor's processes, which inherit
    // it, for as long as any of them lives — so that a run never takes over a worktree where
    // the executor of an earlier run (whose planx was killed) still works.
    let executor_lock = match crate::lock::Lock::acquire(&dir, super::EXECUTOR_LOCK)? {
        Ok(lock) => lock,
        Err(held) => {
            let error = RunError::ExecutorLives {
                phase: phase.id.clone(),
                group: held.pid,
                lock: dir.join(format!("{}.lock", super::EXECUTOR_LOCK)),
            };
            return Ok((Outcome::NotRun, reason_of(shared.render, error)));
        }
    };

    // The worktree: run's own, under .git/planx/worktrees — started now, or left by an earlier
    // run. A phase checked out anywhere else is someone's work in progress: left alone.
    let path = worktree_path(repo, plan, &phase.id);
    match repo.worktree_of_branch(&branch)? {
        Some(elsewhere) if !same_path(&elsewhere, &path) => {
            return Ok((
                Outcome::NotRun,
                format!(
                    "{branch} is checked out in {}; run works in worktrees of its own: switch that one to another branch, or go on there by hand",
                    elsewhere.display()
                ),
            ));
        }
        Some(_) => {}
        None if repo.branch_tip(&branch)?.is_some() => {
            if path.exists() {
                return Err(RunError::WorktreeInTheWay { path, branch });
            }
            std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
            repo.add_worktree(&path, &branch)?;
        }
        None => {
            std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
            let opts = StartOptions {
                force: shared.opts.force,
                worktree: Some(path.clone()),
                trust: shared.opts.trust,
            };
            lifecycle::start(shared.subject(repo), &phase.id, &opts)?;
        }
    }
    let worktree = path;
    observer.event(&RunEvent::Started {
        phase: phase.id.clone(),
        branch: branch.clone(),
        worktree: worktree.clone(),
    });
    if let Some(name) = &shared.remote {
        // The start is the first sign of life others see.
        let _remote = shared.merge.lock().unwrap_or_else(|p| p.into_inner());
        remote::push_branch(repo, name, &branch)?;
    }
    let work = Repo::open(&worktree)?;
    // From here on the phase is under way in its worktree: whatever stops it (an executor
    // that cannot be started, a verify or a checkpoint that errs) is recorded as a failure,
    // so that git says `failed` and the next run leaves it alone unless told to retry.
    let place = Place {
        worktree: &worktree,
        dir: &dir,
        executor_lock: &executor_lock,
    };
    match in_worktree(shared, repo, &work, index, &place) {
        Err(e) if !e.is_interrupted() => {
            let reason = reason_of(shared.render, e);
            fail(shared, &work, phase, reason, "", None)
        }
        other => other,
    }
}

/// Where a phase is worked on: its worktree, its folder of run files, the executor's lock.
struct Place<'a> {
    worktree: &'a Path,
    dir: &'a Path,
    executor_lock: &'a crate::lock::Lock,
}

/// The phase's work in its worktree: the brief, the executor, the checkpoint, verify, merge.
fn in_worktree(
    shared: &Shared<'_>,
    repo: &Repo,
    work: &Repo,
    index: usize,
    place: &Place<'_>,
) -> Result<(Outcome, String), RunError> {
    let Place {
        worktree,
        dir,
        executor_lock,
    } = *place;
    let plan = shared.plan;
    let phase = &plan.phases[index];
    let observer = shared.observer;
    let branch = plan.branch(phase);

    // Verified already (a phase that could not be merged last time): the executor does not run
    // again. The record is looked for as verify made it: under the id of the plan that judges
    // the phase. A phase that cannot be judged has no such record; verify, below, says why.
    // The run still merges only on a verify of its own: a record on the branch may be anyone's
    // (the notes on the phase's own commits are its executor's to write).
    if let Some(tip) = work.head_commit()?
        && work.dirty_paths()?.is_empty()
    {
        let judged = match verify::judge(shared.subject(repo), &phase.id, &branch, tip) {
            Ok(judged) => Some(judged),
            Err(JudgingError::Git(e)) => return Err(e.into()),
            Err(_) => None,
        };
        if let Some(judged) = judged {
            let commits = repo.commits_between(tip, &[judged.fork])?;
            let tree = repo.tree_of(tip)?;
            if find_passing_record(repo, &judged.plan.id, &phase.id, tree, &commits)?.is_some() {
                return verify_then_merge(shared, repo, work, worktree, phase, None);
            }
        }
    }

    // The brief, then the executor.
    let brief_path = dir.join("brief.md");
    std::fs::write(&brief_path, shared.render.brief(work, &phase.id)?)?;
    let log = dir.join("executor.log");
    observer.event(&RunEvent::Executing {
        phase: phase.id.clone(),
        command: shared.executor.clone(),
        log: log.clone(),
    });
    let worktree_text = worktree.display().to_string();
    let brief_text = brief_path.display().to_string();
    // Where the executor may write what it cost; a document of an earlier attempt is not this
    // one's.
    let usage_path = dir.join("usage.json");
    let _ = std::fs::remove_file(&usage_path);
    let env = vec![
        ("PLANX_PLAN".to_owned(), plan.id.clone()),
        ("PLANX_PHASE".to_owned(), phase.id.clone()),
        ("PLANX_BRIEF".to_owned(), brief_text),
        ("PLANX_BRANCH".to_owned(), branch.clone()),
        ("PLANX_WORKTREE".to_owned(), worktree_text),
        ("PLANX_USAGE".to_owned(), usage_path.display().to_string()),
    ];
    let before = work.head_commit()?;
    // The watch: the refs the executor may not change, as they are when it starts.
    let window = lock_windows(shared).open(index);
    let watched = match watch::look(repo, plan, phase) {
        Ok(watched) => watched,
        Err(e) => {
            lock_windows(shared).close(window, index);
            return Err(e.into());
        }
    };
    let started = Instant::now();
    let spec = process::Spec {
        shell: &shared.executor,
        cwd: worktree,
        timeout: super::phase_timeout(phase),
        env,
        tail_bytes: process::DEFAULT_TAIL_BYTES,
        log: Some(&log),
        supervisor: Some(&shared.supervisor),
        inherit: Some(executor_lock.as_raw_fd()),
    };
    let outcome = if shared.opts.interactive {
        process::run_interactive(&shared.executor, worktree, &spec.env, spec.inherit)
    } else {
        process::run(&spec)
    }
    .map_err(|source| RunError::Spawn {
        command: shared.executor.clone(),
        source,
    });
    let beside = lock_windows(shared).close(window, index);
    let outcome = outcome?;
    let touched = watch::touched(repo, plan, phase, &watched, &beside)?;
    observer.event(&RunEvent::Executed {
        phase: phase.id.clone(),
        outcome: outcome.describe(),
        duration_ms: started.elapsed().as_millis() as u64,
    });
    if let Some(signal) = interrupt::received() {
        // Leave everything as it is for inspection; say so in the notes.
        let event = Event::new(
            &clock::format(clock::now()),
            &plan.id,
            &phase.id,
            "interrupted",
        )
        .with("signal", signal)
        .with(
            "executor",
            CommandRun::new(&shared.executor, &shared.executor, &outcome, false),
        );
        let event = if touched.is_empty() {
            event
        } else {
            event.with("touched", &touched)
        };
        if let Some(head) = work.head_commit()? {
            let line = event.sealed_line().map_err(TrustError::from)?;
            work.append_note_line(head, &line)?;
        }
        observer.event(&RunEvent::Interrupted {
            phase: phase.id.clone(),
        });
        return Err(RunError::Interrupted { signal });
    }

    // Nothing the executor did is lost: whatever it left becomes a checkpoint.
    let executor_run = CommandRun::new(
        &shared.executor,
        &shared.executor,
        &outcome,
        outcome.exited_with(0),
    );
    if !work.dirty_paths()?.is_empty() {
        let opts = CheckpointOptions {
            message: Some(format!(
                "planx run: what the executor left in phase {}",
                phase.id
            )),
            stage_all: true,
            no_verify: true,
            trust: shared.opts.trust,
            extra: vec![(
                "executor".into(),
                serde_json::to_value(&executor_run).unwrap_or_default(),
            )],
            ..CheckpointOptions::default()
        };
        let done = lifecycle::checkpoint(shared.subject(work), &opts)?;
        observer.event(&RunEvent::Committed {
            phase: phase.id.clone(),
            commit: done.commit.to_string(),
        });
    }
    record_usage(work, plan, phase, &usage_path, executor_run.duration_ms)?;
    if !touched.is_empty() {
        // Nothing the executor wrote there is taken: no verify, no merge. planx sets none
        // of those refs back (they may hold a person's work); the details say how to.
        return failed_by_touch(shared, work, phase, &touched, &executor_run);
    }
    if !outcome.exited_with(0) {
        let reason = format!("the executor {}", outcome.describe());
        return fail(
            shared,
            work,
            phase,
            reason,
            &outcome.tail,
            Some(&executor_run),
        );
    }

    verify_then_merge(
        shared,
        repo,
        work,
        worktree,
        phase,
        Some((&executor_run, before)),
    )
}

/// Verify, by the run itself, then the merge of a pass — or a `failed` (or `blocked`)
/// checkpoint that says why. `ran`: the executor's run and the branch's tip before it, when
/// the executor ran just now.
fn verify_then_merge(
    shared: &Shared<'_>,
    repo: &Repo,
    work: &Repo,
    worktree: &Path,
    phase: &Phase,
    ran: Option<(&CommandRun, Option<crate::git::Oid>)>,
) -> Result<(Outcome, String), RunError> {
    let plan = shared.plan;
    let observer = shared.observer;
    let branch = plan.branch(phase);
    let executor_run = ran.map(|(run, _)| run);
    let head = work.head_commit()?.ok_or_else(|| RunError::NotStarted {
        phase: phase.id.clone(),
    })?;
    let judged = verify::judge(shared.subject(repo), &phase.id, &branch, head)
        .map_err(LifecycleError::from)?;
    let target = Target {
        work,
        workdir: worktree.to_path_buf(),
        head,
        branch: branch.clone(),
    };
    let report = verify::verify_judged(
        repo,
        &judged,
        &target,
        &VerifyOptions {
            no_run: false,
            trust: shared.opts.trust,
        },
    )
    .map_err(LifecycleError::from)?;
    verify::record(repo, &report).map_err(LifecycleError::from)?;
    let summary = shared.render.verify_summary(&report);
    observer.event(&RunEvent::Verified {
        phase: phase.id.clone(),
        passed: report.passed(),
        summary: summary.clone(),
    });
    if !report.passed() {
        let details = shared.render.verify_problems(&report);
        let gate = match ran {
            Some((_, before)) => stopped_by_the_gate(work, plan, phase, head, before)?,
            None => None,
        };
        if let Some(blocks) = gate {
            // The agent's stop gate let it go after holding it back: the phase is blocked,
            // as the gate recorded, with verify's findings.
            let reason = format!(
                "the agent stopped after {blocks} blocks of the stop gate; verify: {summary}"
            );
            let opts = CheckpointOptions {
                blocked: Some(format!("{reason}\n{}", details.join("\n"))),
                trust: shared.opts.trust,
                no_verify: true,
                extra: vec![(
                    "executor".into(),
                    serde_json::to_value(executor_run).unwrap_or_default(),
                )],
                ..CheckpointOptions::default()
            };
            lifecycle::checkpoint(shared.subject(work), &opts)?;
            observer.event(&RunEvent::Blocked {
                phase: phase.id.clone(),
                reason: reason.clone(),
            });
            return Ok((Outcome::Blocked, reason));
        }
        let reason = format!("verify: {summary}");
        return fail(
            shared,
            work,
            phase,
            reason,
            &details.join("\n"),
            executor_run,
        );
    }

    merge(shared, repo, work, worktree, phase)
}

/// Did the agent's stop gate (`git planx hook agent-stop`) let the agent go at its cap while
/// the executor ran (a `blocked` checkpoint it recorded between `before` and `head`)? The
/// number of blocks it says, when so.
fn stopped_by_the_gate(
    work: &Repo,
    plan: &Plan,
    phase: &Phase,
    head: crate::git::Oid,
    before: Option<crate::git::Oid>,
) -> Result<Option<u64>, RunError> {
    let hide: Vec<_> = before.into_iter().collect();
    let commits = work.commits_between(head, &hide)?;
    let events = crate::state::evidence::phase_events(work, &plan.id, &phase.id, &commits)?;
    Ok(events
        .iter()
        .filter(|(_, e)| e.event == "checkpoint" && e.str("by") == Some("agent-stop"))
        .map(|(_, e)| {
            e.data
                .get("blocks")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        })
        .next())
}

/// Records what the executor ran for and what it says it cost (its usage document, when it
/// wrote one) as a `usage` event on the branch's tip. A document planx cannot read is recorded
/// as such; it never stops the phase.
fn record_usage(
    work: &Repo,
    plan: &Plan,
    phase: &Phase,
    path: &Path,
    duration_ms: u64,
) -> Result<(), RunError> {
    let Some(head) = work.head_commit()? else {
        return Ok(());
    };
    let mut event = Event::new(&clock::format(clock::now()), &plan.id, &phase.id, "usage")
        .with("source", "executor");
    let usage = match std::fs::read(path) {
        Ok(bytes) => match Usage::parse(&bytes) {
            Ok(usage) => usage,
            Err(error) => {
                event = event.with("usage_error", error);
                Usage::default()
            }
        },
        Err(_) => Usage::default(),
    };
    let usage = Usage {
        duration_ms: Some(duration_ms),
        ..usage
    };
    event = event.with("usage", &usage);
    let line = event.sealed_line().map_err(TrustError::from)?;
    work.append_note_line(head, &line)?;
    Ok(())
}

/// Merges a verified phase into base, one merge at a time.
fn merge(
    shared: &Shared<'_>,
    repo: &Repo,
    work: &Repo,
    worktree: &Path,
    phase: &Phase,
) -> Result<(Outcome, String), RunError> {
    let plan = shared.plan;
    let observer = shared.observer;
    // One merge into base at a time; finish takes the plan's lock, so another process's finish
    // is waited for.
    let _merging = shared.merge.lock().unwrap_or_else(|p| p.into_inner());
    let main = Repo::open(&shared.workdir)?;
    let finish = FinishOptions {
        squash: false,
        delete_branch: false,
        trust: shared.opts.trust,
    };
    // Another writer's lock is waited for; a race lost to another writer that moved base
    // first is merged again onto the new base, a few times.
    let (mut locked, mut moved) = (0, 0);
    let branch = plan.branch(phase);
    // With other machines, the merge lands on the remote's base first, pushed with a lease on
    // the base it was made on; a race lost there fetches the new base, and the merge is made
    // (and its tree verified) again on it — as often as other machines keep winning, within
    // reason.
    let publish = |commit, on| -> Result<bool, String> {
        let Some(name) = &shared.remote else {
            return Ok(true);
        };
        remote::publish(&main, name, plan, &branch, commit, on)
            .map_err(|e| reason_of(shared.render, e))
    };
    let attempts = if shared.remote.is_some() { 50 } else { 5 };
    let merged = loop {
        if let Some(name) = &shared.remote {
            remote::fetch(&main, name, plan)?;
            remote::bring_in(&main, name, plan)?;
        }
        let publish: Option<lifecycle::Publish<'_>> = match shared.remote {
            Some(_) => Some(&publish),
            None => None,
        };
        match lifecycle::finish_with(shared.subject(&main), &phase.id, &finish, publish) {
            Err(LifecycleError::Locked { .. }) if locked < 600 => {
                locked += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(LifecycleError::BaseMoved { .. }) if moved < attempts => moved += 1,
            other => break other,
        }
    };
    match merged {
        Ok(done) => {
            observer.event(&RunEvent::Merged {
                phase: phase.id.clone(),
                commit: done.commit.to_string(),
            });
            // Merged and clean: the worktree has served (the branch stays). git removes only a
            // clean one; anything left there stays for a person to look at.
            let _ = repo.remove_clean_worktree(worktree);
            Ok((
                Outcome::Completed,
                format!("merged by {}", &done.commit.to_string()[..10]),
            ))
        }
        Err(
            e @ (LifecycleError::Conflicts { .. }
            | LifecycleError::BaseDirty { .. }
            | LifecycleError::BaseMoved { .. }),
        ) => {
            let error = shared.render.error(e.into());
            let reason = format!("verified, but not merged: {}", error.message);
            let opts = CheckpointOptions {
                blocked: Some(format!("{reason}\n{}", error.details.join("\n"))),
                trust: shared.opts.trust,
                no_verify: true,
                ..CheckpointOptions::default()
            };
            lifecycle::checkpoint(shared.subject(work), &opts)?;
            observer.event(&RunEvent::Blocked {
                phase: phase.id.clone(),
                reason: reason.clone(),
            });
            Ok((Outcome::Blocked, reason))
        }
        Err(LifecycleError::VerifyFailed { report }) => {
            // Base moved since the phase forked, and the tree that would land fails.
            let details = shared.render.verify_problems(&report);
            fail(
                shared,
                work,
                phase,
                format!("merged with the latest {}, it does not verify", plan.base),
                &details.join("\n"),
                None,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// The phase failed because its executor touched refs it may not change: a `failed`
/// checkpoint that names them, with what was touched in its note.
fn failed_by_touch(
    shared: &Shared<'_>,
    work: &Repo,
    phase: &Phase,
    touched: &[Touch],
    executor: &CommandRun,
) -> Result<(Outcome, String), RunError> {
    let words = shared.render.touched(touched);
    let extra = vec![(
        "touched".to_owned(),
        serde_json::to_value(touched).unwrap_or_default(),
    )];
    fail_with(
        shared,
        work,
        phase,
        words.message,
        &words.details.join("\n"),
        Some(executor),
        extra,
    )
}

fn lock_windows<'a>(shared: &'a Shared<'_>) -> std::sync::MutexGuard<'a, watch::Windows> {
    shared.windows.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records a `failed` checkpoint with the reason and the output's tail.
fn fail(
    shared: &Shared<'_>,
    work: &Repo,
    phase: &Phase,
    reason: String,
    tail: &str,
    executor: Option<&CommandRun>,
) -> Result<(Outcome, String), RunError> {
    fail_with(shared, work, phase, reason, tail, executor, Vec::new())
}

/// [`fail`], with more data in the checkpoint's note.
fn fail_with(
    shared: &Shared<'_>,
    work: &Repo,
    phase: &Phase,
    reason: String,
    tail: &str,
    executor: Option<&CommandRun>,
    more: Vec<(String, serde_json::Value)>,
) -> Result<(Outcome, String), RunError> {
    let mut extra = vec![(
        "tail".to_owned(),
        serde_json::Value::String(process::last_lines(tail, 40)),
    )];
    if let Some(run) = executor {
        extra.push((
            "executor".into(),
            serde_json::to_value(run).unwrap_or_default(),
        ));
    }
    extra.extend(more);
    let opts = CheckpointOptions {
        failed: Some(reason.clone()),
        trust: shared.opts.trust,
        no_verify: true,
        extra,
        ..CheckpointOptions::default()
    };
    lifecycle::checkpoint(shared.subject(work), &opts)?;
    shared.observer.event(&RunEvent::Failed {
        phase: phase.id.clone(),
        reason: reason.clone(),
        tail: process::last_lines(tail, 10),
    });
    Ok((Outcome::Failed, reason))
}

/// An error as a failure's reason: the message with its causes (git's own words among them).
pub(super) fn reason_of(render: &dyn Render, e: RunError) -> String {
    let error = render.error(e);
    std::iter::once(error.message)
        .chain(error.causes)
        .chain(
            error
                .details
                .iter()
                .map(|d| d.trim_start_matches("| ").to_owned()),
        )
        .collect::<Vec<_>>()
        .join(": ")
}

/// Do two paths name the same folder?
fn same_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canon(a) == canon(b)
}
