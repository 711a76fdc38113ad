//! `checkpoint`: commit what is staged (or nothing) on the phase branch with planx trailers,
//! and note the evidence: a step's verify run, a red or green run of the blast radius, the
//! reason a phase is blocked or failed.
//!
//! The commit is made by `git commit`, so the user's hooks run and their configuration
//! (identity, signing) applies. Commands come from the plan at the phase's fork point on base —
//! the plan that judges the phase — never from the branch's own copy.

use super::LifecycleError;
use super::start::one_line;
use crate::clock;
use crate::git::Oid;
use crate::git::trailers;
use crate::plan::{CheckKind, Phase, Plan};
use crate::process::run_command;
use crate::state::events::{CommandRun, Event, parse_note};
use crate::state::judging::{BaseTip, Subject, phase_of_branch};
use crate::state::{self, Kind};
use crate::trust::{TrustError, TrustPolicy, require_trust};

/// Red or green TDD evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tdd {
    Red,
    Green,
}

#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    pub message: Option<String>,
    pub step: Option<String>,
    pub tdd: Option<Tdd>,
    pub blocked: Option<String>,
    pub failed: Option<String>,
    pub trust: TrustPolicy,
    /// Stage every change of the work tree first (`git add -A`): what an executor left.
    pub stage_all: bool,
    /// Commit without running the hooks (`git commit --no-verify`); the note says so.
    pub no_verify: bool,
    /// More facts for the checkpoint's event (e.g. how an executor ended).
    pub extra: Vec<(String, serde_json::Value)>,
}

#[derive(Debug)]
pub struct CheckpointOutcome {
    pub phase: String,
    pub branch: String,
    pub commit: Oid,
    pub kind: Kind,
    pub step: Option<String>,
    pub status: &'static str,
    /// The step's verify run, or the blast-radius run of --red / --green.
    pub run: Option<CommandRun>,
    pub tdd: Option<Tdd>,
    pub reason: Option<String>,
    /// The commit was made by an earlier checkpoint whose note was not written; this one
    /// recorded it.
    pub recorded_earlier_commit: bool,
}

impl CheckpointOutcome {
    /// False when the step's verify failed (the checkpoint is recorded all the same). A red or
    /// green checkpoint only exists when its run said what it claims.
    pub fn verified(&self) -> bool {
        self.tdd.is_some() || self.run.as_ref().is_none_or(|r| r.passed)
    }
}

pub fn checkpoint(
    subject: Subject<'_>,
    opts: &CheckpointOptions,
) -> Result<CheckpointOutcome, LifecycleError> {
    let (repo, plan) = (subject.repo, subject.plan);
    // Text from the user never carries planx's own trailer lines: they would forge the record.
    let forged = |text: &String| {
        text.lines()
            .any(|l| l.trim_start().to_ascii_lowercase().starts_with("planx-"))
    };
    if [&opts.message, &opts.blocked, &opts.failed]
        .into_iter()
        .flatten()
        .any(forged)
    {
        return Err(LifecycleError::ForgedTrailer);
    }
    // A carriage return that ends no line would land raw in the subject, where a terminal
    // goes back to the start of the line and writes over what was shown.
    let lone_cr = |text: &String| text.replace("\r\n", "\n").contains('\r');
    if [&opts.message, &opts.blocked, &opts.failed]
        .into_iter()
        .flatten()
        .any(lone_cr)
    {
        return Err(LifecycleError::CarriageReturn);
    }
    let branch = repo.current_branch()?;
    let phase = branch
        .as_deref()
        .and_then(|b| phase_of_branch(plan, b))
        .ok_or_else(|| LifecycleError::NotOnPhaseBranch {
            branch: branch.clone(),
            plan: plan.id.clone(),
        })?;
    let branch = branch.unwrap_or_default();
    repo.configure_notes()?;
    // The record is signed once the commit is made: a key that cannot be had is found first.
    crate::trust::signing::own_key_id().map_err(TrustError::from)?;
    let statuses = state::derive_around(subject, &phase.id)?;
    let status =
        statuses
            .iter()
            .find(|s| s.id == phase.id)
            .ok_or_else(|| LifecycleError::NotStarted {
                phase: phase.id.clone(),
            })?;
    if status.start().is_none() {
        return Err(LifecycleError::NotStarted {
            phase: phase.id.clone(),
        });
    }
    let head = repo
        .head_commit()?
        .ok_or_else(|| LifecycleError::NotStarted {
            phase: phase.id.clone(),
        })?;
    let base_tip = subject.base_tip(BaseTip::Local)?;
    let as_judged = subject.judge(&phase.id, &branch, head, base_tip)?;
    let judging = &as_judged.plan;
    let judged = as_judged.phase().unwrap_or(phase);

    let step = match &opts.step {
        Some(id) => Some(judged.steps.iter().find(|s| &s.id == id).ok_or_else(|| {
            LifecycleError::UnknownStep {
                phase: phase.id.clone(),
                step: id.clone(),
                known: judged.steps.iter().map(|s| s.id.clone()).collect(),
            }
        })?),
        None => None,
    };
    let command =
        match opts.tdd {
            Some(tdd) => Some(judged.blast_radius.as_ref().ok_or(
                LifecycleError::NoBlastRadius {
                    phase: phase.id.clone(),
                    what: if tdd == Tdd::Red { "red" } else { "green" },
                },
            )?),
            None => step.and_then(|s| s.verify.as_ref()),
        };
    let run = match command {
        Some(command) => {
            // The run is evidence about the commit this checkpoint makes: nothing outside it
            // (unstaged or untracked) may take part.
            let outside: Vec<_> = repo
                .dirty_paths()?
                .into_iter()
                .filter(|p| p.status.as_bytes().get(1).is_some_and(|c| *c != b' '))
                .collect();
            if !outside.is_empty() {
                return Err(LifecycleError::UncommittedEvidence { paths: outside });
            }
            require_trust(repo, judging, opts.trust)?;
            let dir = repo.require_workdir()?.to_path_buf();
            let env = [
                ("PLANX_PLAN", judging.id.as_str()),
                ("PLANX_PHASE", phase.id.as_str()),
            ];
            // A check's time, not the executor's (the phase's `timeout`): the timeout of a
            // check of the phase that runs the same command, else a check's default.
            let timeout = judged
                .checks
                .iter()
                .find_map(|c| match &c.kind {
                    CheckKind::Run {
                        command: same,
                        timeout,
                        ..
                    } if same.shell == command.shell => Some(*timeout),
                    _ => None,
                })
                .unwrap_or(crate::plan::DEFAULT_CHECK_TIMEOUT);
            let what = match (opts.tdd, step) {
                (Some(Tdd::Red), _) => "blast radius (red)".to_owned(),
                (Some(Tdd::Green), _) => "blast radius (green)".to_owned(),
                (None, Some(step)) => format!("step {} verify", step.id),
                (None, None) => "verify".to_owned(),
            };
            let outcome = run_command(&what, command, &dir, timeout, &env)?;
            let passed = outcome.exited_with(0);
            let run = CommandRun::new(&command.text, &command.shell, &outcome, passed);
            match (opts.tdd, passed) {
                (Some(Tdd::Red), true) => return Err(LifecycleError::RedButPassing { run }),
                (Some(Tdd::Green), false) => return Err(LifecycleError::GreenButFailing { run }),
                _ => Some(run),
            }
        }
        None => None,
    };

    let (kind, status_value, reason) = match (&opts.blocked, &opts.failed, opts.tdd) {
        (Some(reason), _, _) => (Kind::Blocked, "blocked", Some(reason.clone())),
        (_, Some(reason), _) => (Kind::Failed, "failed", Some(reason.clone())),
        (_, _, Some(Tdd::Red)) => (Kind::Red, "in-progress", None),
        (_, _, Some(Tdd::Green)) => (Kind::Green, "in-progress", None),
        _ => (Kind::Step, "in-progress", None),
    };
    let message = message(
        judging,
        judged,
        kind,
        status_value,
        step.map(|s| (s.id.as_str(), s.title.as_str())),
        opts,
        reason.as_deref(),
    )?;
    if opts.stage_all {
        repo.stage_all()?;
    }
    // A checkpoint whose note could not be written (the notes ref locked, the process killed)
    // left its commit: the same checkpoint again records that one instead of making another.
    let unrecorded = repo.commit_info(head)?.message.trim_end() == message.trim_end()
        && !repo
            .notes()?
            .get(head)?
            .is_some_and(|note| parse_note(&note).iter().any(|e| e.event == "checkpoint"))
        && !repo.dirty_paths()?.iter().any(|p| p.is_staged());
    let commit = if unrecorded {
        head
    } else {
        repo.commit_staged(&message, opts.no_verify)?
    };

    let mut event = Event::new(
        &clock::format(clock::now()),
        &judging.id,
        &phase.id,
        "checkpoint",
    )
    .with("checkpoint", kind.as_str())
    .with("status", status_value);
    if let Some(step) = step {
        event = event.with("step", &step.id);
    }
    if let Some(run) = &run {
        event = event.with(if opts.tdd.is_some() { "run" } else { "verify" }, run);
    }
    if let Some(reason) = &reason {
        event = event.with("reason", reason);
    }
    if opts.no_verify {
        event = event.with("hooks", "bypassed");
    }
    for (key, value) in &opts.extra {
        event = event.with(key, value);
    }
    // The key was checked before the commit was made: signing cannot fail here.
    let line = event.sealed_line().map_err(TrustError::from)?;
    repo.append_note_line(commit, &line)
        .map_err(|source| LifecycleError::CheckpointUnrecorded { commit, source })?;
    Ok(CheckpointOutcome {
        phase: phase.id.clone(),
        branch,
        commit,
        kind,
        step: step.map(|s| s.id.clone()),
        status: status_value,
        run,
        tdd: opts.tdd,
        reason,
        recorded_earlier_commit: unrecorded,
    })
}

fn message(
    plan: &Plan,
    phase: &Phase,
    kind: Kind,
    status: &str,
    step: Option<(&str, &str)>,
    opts: &CheckpointOptions,
    reason: Option<&str>,
) -> Result<String, LifecycleError> {
    let subject = match (&opts.message, kind, step, reason) {
        (Some(m), ..) => m.trim_end().to_owned(),
        (None, Kind::Blocked | Kind::Failed, _, Some(reason)) => {
            format!(
                "planx: {} {}: {}",
                phase.id,
                kind.as_str(),
                one_line(reason)
            )
        }
        (None, Kind::Red, ..) => format!("planx: {} red: the blast radius fails", phase.id),
        (None, Kind::Green, ..) => format!("planx: {} green: the blast radius passes", phase.id),
        (None, _, Some((id, title)), _) => {
            format!("planx: {} step {id} — {}", phase.id, one_line(title))
        }
        (None, ..) => format!("planx: {} checkpoint", phase.id),
    };
    let mut body = subject;
    if let Some(reason) = reason
        && reason.contains('\n')
    {
        body.push_str("\n\n");
        body.push_str(reason.trim_end());
    }
    let mut pairs = vec![
        (trailers::PLAN, plan.id.as_str()),
        (trailers::PHASE, phase.id.as_str()),
        (trailers::CHECKPOINT, kind.as_str()),
    ];
    if let Some((id, _)) = step {
        pairs.push((trailers::STEP, id));
    }
    pairs.push((trailers::STATUS, status));
    Ok(trailers::message(&body, &pairs)?)
}
