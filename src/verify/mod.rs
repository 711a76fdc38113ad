//! Verification (SPEC §4): the phase's change set since its fork point, judged by the manifest
//! of the plan on base at the fork point — never the phase branch's own copy, which whoever does
//! the work could rewrite — and its acceptance checks run, producing a [`Report`].
//!
//! A verify record (a `verify` event in the note of HEAD) is about a tree: it carries HEAD's tree
//! and whether the work tree was clean. `finish`, the merge hooks and CI accept only a passing
//! record of a clean work tree whose tree is exactly the tree being merged, found by tree so that
//! it survives amend, rebase and squash that keep the tree.

pub mod bypass;
pub mod checks;
pub use crate::state::manifest;

use std::collections::HashSet;
use std::path::PathBuf;

use thiserror::Error;

use crate::clock;
use crate::git::{GitError, Oid, Repo};
use crate::plan::{CheckKind, EntryKind, Phase};
use crate::process::CommandError;
use crate::state::events::Event;
use crate::state::evidence::phase_events;
use crate::state::judging::{BaseTip, Judged, JudgingError, Subject};
use crate::trust::{TrustError, TrustPolicy, require_trust};
use checks::CheckResult;
use manifest::{Finding, Level, Row};
pub use manifest::{Judgement, PlanEdit, judge_changes};

/// Why a phase was not verified (a verification that finds problems is a [`Report`]).
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(transparent)]
    Judging(#[from] JudgingError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// What is verified: a work tree and the commit checked out in it.
pub struct Target<'a> {
    /// The repository opened at the verified work tree.
    pub work: &'a Repo,
    pub workdir: PathBuf,
    pub head: Oid,
    pub branch: String,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Judge the manifest and file checks only; run no command.
    pub no_run: bool,
    pub trust: TrustPolicy,
}

/// The outcome of a verification.
#[derive(Debug, Clone)]
pub struct Report {
    pub plan: String,
    pub phase: String,
    pub branch: String,
    pub base: String,
    pub head: Oid,
    pub tree: Oid,
    pub fork: Oid,
    /// The work tree had no uncommitted change: the verified content is exactly `tree`.
    pub clean: bool,
    pub no_run: bool,
    pub plan_edit: Option<PlanEdit>,
    pub rows: Vec<Row>,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckResult>,
    /// Earlier records of this tree, of a clean work tree with commands run: `(commit, ts,
    /// passed)`. When their answer differs from this one, both are shown.
    pub earlier: Vec<(Oid, String, bool)>,
}

impl Report {
    /// The earlier records of this tree (clean, commands run) whose answer differs from this
    /// report's; none when this one cannot count itself.
    pub fn disagreeing(&self) -> Vec<&(Oid, String, bool)> {
        if !self.clean || self.no_run {
            return Vec::new();
        }
        let passed = self.passed();
        self.earlier
            .iter()
            .filter(|(_, _, p)| *p != passed)
            .collect()
    }

    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }

    /// Everything holds: no error finding, every check verified, and commands ran.
    pub fn passed(&self) -> bool {
        self.errors() == 0 && self.checks.iter().all(|c| c.verified) && !self.no_run
    }

    /// The manifest part alone holds (what `--no-run` answers).
    pub fn manifest_passed(&self) -> bool {
        self.errors() == 0 && self.checks.iter().all(|c| c.verified || c.skipped)
    }

    /// The `verify` event recorded for this report.
    pub fn event(&self, ts: &str) -> Event {
        Event::new(ts, &self.plan, &self.phase, "verify")
            .with("tree", self.tree.to_string())
            .with("head", self.head.to_string())
            .with("fork", self.fork.to_string())
            .with("clean", self.clean)
            .with("no_run", self.no_run)
            .with("passed", self.passed())
            .with("plan_edit", &self.plan_edit)
            .with("findings", &self.findings)
            .with("checks", &self.checks)
    }
}

/// Phase `phase_id` at `head` of `branch`, as verification judges it: forked from base (the
/// local branch, else `origin`'s in a CI checkout), by the plan committed at the fork point —
/// a phase forked before its plan existed has nothing to be verified by.
pub fn judge<'p>(
    subject: Subject<'p>,
    phase_id: &str,
    branch: &str,
    head: Oid,
) -> Result<Judged<'p>, JudgingError> {
    let base_tip = subject.base_tip(BaseTip::OrOrigin)?;
    subject
        .judge(phase_id, branch, head, base_tip)?
        .from_fork_only()
}

/// Verifies the phase `judged` in the work tree of `target`, which has `judged.tip` checked
/// out.
pub fn verify_judged(
    repo: &Repo,
    judged: &Judged<'_>,
    target: &Target<'_>,
    opts: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let judging = &judged.plan;
    let fork = judged.fork;
    let phase = judged.phase().map_err(JudgingError::from)?;
    let tree = repo.tree_of(target.head)?;
    let crate::git::changes::WorkTreeChanges { changes, clean } =
        target.work.changes_since(fork)?;
    let Judgement {
        rows,
        mut findings,
        plan_edit,
    } = judge_changes(repo, judged, phase, &changes)?;
    let branch_commits = repo.commits_between(target.head, &[fork])?;
    let events = phase_events(repo, &judging.id, &phase.id, &branch_commits)?;
    findings.extend(after_verify_findings(
        repo,
        phase,
        &branch_commits,
        &events,
    )?);
    for (commit, summary, paths) in bypass::bypassed(repo, phase, &branch_commits)? {
        findings.push(Finding {
            level: Level::Warning,
            code: "hook-bypassed",
            message: format!(
                "commit {} ({summary}) changed {} outside the manifest: the pre-commit hook was bypassed or not installed",
                &commit.to_string()[..10],
                paths.join(", ")
            ),
            path: paths.first().cloned(),
            entry: None,
        });
    }

    let runs_commands = !opts.no_run
        && phase
            .checks
            .iter()
            .any(|c| matches!(c.kind, CheckKind::Run { .. }));
    if runs_commands {
        require_trust(repo, judging, opts.trust)?;
    }
    let earlier = events
        .iter()
        .filter(|(_, e)| {
            let flag = |k: &str| e.data.get(k).and_then(serde_json::Value::as_bool);
            e.event == "verify"
                && e.str("tree") == Some(tree.to_string().as_str())
                && flag("clean") == Some(true)
                && flag("no_run") == Some(false)
        })
        .map(|(commit, e)| {
            let passed = e.data.get("passed").and_then(serde_json::Value::as_bool);
            (*commit, e.ts.clone(), passed == Some(true))
        })
        .collect();
    let event_list = with_accepted_trees(repo, events)?;
    let checks = checks::run_checks(
        target.work,
        &target.workdir,
        judging,
        phase,
        &event_list,
        tree,
        opts.no_run,
    )?;

    Ok(Report {
        plan: judging.id.clone(),
        phase: phase.id.clone(),
        branch: judged.branch.clone(),
        base: judging.base.clone(),
        head: target.head,
        tree,
        fork,
        clean,
        no_run: opts.no_run,
        plan_edit,
        rows,
        findings,
        checks,
        earlier,
    })
}

/// The events without the commits they are noted on, an `accept` recorded without its tree
/// (by a planx before acceptances named one) given the tree of the commit it is noted on: the
/// tip it was recorded on, which is what it accepted.
pub fn with_accepted_trees(repo: &Repo, events: Vec<(Oid, Event)>) -> Result<Vec<Event>, GitError> {
    let mut out = Vec::with_capacity(events.len());
    for (commit, mut event) in events {
        if event.event == "accept" && event.str("tree").is_none() {
            event = event.with("tree", repo.tree_of(commit)?.to_string());
        }
        out.push(event);
    }
    Ok(out)
}

/// Appends the report's `verify` event to the note of the verified commit.
pub fn record(repo: &Repo, report: &Report) -> Result<(), VerifyError> {
    let event = report.event(&clock::format(clock::now()));
    let line = event.sealed_line().map_err(TrustError::from)?;
    repo.append_note_line(report.head, &line)?;
    Ok(())
}

/// `after_verify` paths may be committed only after a passing verify: every commit of the branch
/// that touches one needs a passing verify of this phase recorded on an earlier commit of the
/// branch. `commits` are the branch's commits since the fork point, newest first; `events` the
/// phase's events in their notes, as [`phase_events`] returns them (of this plan and phase only).
pub fn after_verify_findings(
    repo: &Repo,
    phase: &Phase,
    commits: &[Oid],
    events: &[(Oid, Event)],
) -> Result<Vec<Finding>, GitError> {
    let mut findings = Vec::new();
    if phase.files.after_verify.is_empty() {
        return Ok(findings);
    }
    let verified_on: HashSet<Oid> = events
        .iter()
        .filter(|(_, e)| crate::state::events::is_passing_verify(e))
        .map(|(commit, _)| *commit)
        .collect();
    // Oldest first; remember whether a passing record was seen before each commit.
    let mut verified_before = false;
    for &commit in commits.iter().rev() {
        let touched = repo.paths_changed_by(commit)?;
        for entry in &phase.files.after_verify {
            for path in touched.iter().filter(|p| entry.pattern.matches(p)) {
                if !verified_before {
                    findings.push(Finding {
                        level: Level::Error,
                        code: "after-verify-early",
                        message: format!(
                            "{path} was committed in {} before any passing verify",
                            &commit.to_string()[..10]
                        ),
                        path: Some(path.clone()),
                        entry: Some((EntryKind::AfterVerify, entry.pattern.to_string())),
                    });
                }
            }
        }
        verified_before |= verified_on.contains(&commit);
    }
    Ok(findings)
}

/// Chooses what to verify for `phase`: this work tree when it has the phase checked out (or,
/// detached, the commit a CI job names), else a scratch worktree at the branch's tip.
pub enum Place {
    Here {
        head: Oid,
        branch: String,
    },
    Scratch {
        tip: Oid,
        branch: String,
        path: PathBuf,
    },
}

impl Place {
    /// The commit verified there, and its branch.
    pub fn commit(&self) -> (Oid, &str) {
        match self {
            Place::Here { head, branch } => (*head, branch),
            Place::Scratch { tip, branch, .. } => (*tip, branch),
        }
    }

    pub fn choose(
        subject: Subject<'_>,
        phase: &str,
        ci_branch: Option<&str>,
    ) -> Result<Place, VerifyError> {
        let (repo, plan) = (subject.repo, subject.plan);
        let branch = format!("{}{phase}", plan.branch_prefix);
        let current = repo.current_branch()?;
        let head = repo.head_commit()?;
        let tip = repo.branch_tip(&branch)?;
        if current.as_deref() == Some(branch.as_str())
            && let Some(head) = head
        {
            return Ok(Place::Here { head, branch });
        }
        if current.is_none()
            && let Some(head) = head
            && (ci_branch == Some(branch.as_str()) || tip == Some(head))
        {
            return Ok(Place::Here { head, branch });
        }
        match tip {
            Some(tip) => Ok(Place::Scratch {
                tip,
                path: crate::git::scratch::scratch_path(repo, &format!("verify-{phase}")),
                branch,
            }),
            None => Err(JudgingError::NotStarted {
                phase: phase.to_owned(),
            }
            .into()),
        }
    }
}

/// Verifies `phase` where `place` says: this work tree, or a scratch worktree at the tip.
pub fn verify_at(
    subject: Subject<'_>,
    phase: &str,
    place: Place,
    opts: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let (head, branch) = place.commit();
    let judged = judge(subject, phase, branch, head)?;
    verify_judged_at(subject.repo, &judged, place, opts)
}

/// Verifies the phase `judged` where `place` says; `place` is at `judged.tip`.
pub fn verify_judged_at(
    repo: &Repo,
    judged: &Judged<'_>,
    place: Place,
    opts: &VerifyOptions,
) -> Result<Report, VerifyError> {
    match place {
        Place::Here { head, branch } => {
            let workdir = repo.require_workdir()?.to_path_buf();
            let target = Target {
                work: repo,
                workdir,
                head,
                branch,
            };
            verify_judged(repo, judged, &target, opts)
        }
        Place::Scratch { tip, branch, path } => {
            crate::git::scratch::in_scratch(repo, &path, tip, |work| {
                let target = Target {
                    work,
                    workdir: path.clone(),
                    head: tip,
                    branch,
                };
                verify_judged(repo, judged, &target, opts)
            })
        }
    }
}
