//! `review`: the pull request of a phase — title and body — for a reviewer who should not have
//! to trust the author: the acceptance checks VERIFIED / NOT VERIFIED with their evidence, as the
//! latest `verify` record of exactly the reviewed tree has them; the manifest coverage of every
//! changed path with its line counts; undeclared changes and edits of the plan first; the
//! checkpoint timeline; the tests before and after.
//!
//! `review` runs nothing. What it reviews is the phase's committed work — the branch's tip, or in
//! CI the commit checked out for the branch — judged against the fork point by the plan on base
//! there, as `verify` judges it. Uncommitted changes are not part of a pull request; they are
//! only mentioned.

use serde::Serialize;

use super::{
    Command, RecordedCheck, RecordedRun, ReportError, TipFrom, VerifyRecord, hex, phase_tip,
    record_for, recorded_runs, rfc3339, verify_records,
};
use crate::git::changes::ChangeKind;
use crate::git::trailers;
use crate::git::{Oid, Repo};
use crate::plan::{CheckKind, EntryKind, PhaseKind};
use crate::state;
use crate::state::events::{CommandRun, Event};
use crate::state::evidence::{phase_events, uncounted_events};
use crate::state::judging::{BaseTip, Judged, Subject};
use crate::verify::manifest::{Finding, Level};
use crate::verify::{Judgement, PlanEdit, after_verify_findings, judge_changes};

/// Whether the reviewed tree is verified, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A passing record of a clean work tree at exactly the reviewed tree, commands run.
    Verified,
    /// The latest record of the reviewed tree did not pass.
    Failed,
    /// A record of the reviewed tree passed, but cannot count: the work tree had uncommitted
    /// changes, or no command ran (`--no-run`).
    Incomplete,
    /// Only trees other than the reviewed one were verified.
    OtherTree,
    /// Nothing was ever verified.
    NeverVerified,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub verdict: Verdict,
    /// "verified tree = head tree?": the record shown is of the reviewed tree.
    pub tree_matches: bool,
    /// The record the verdict rests on (of another tree for `other-tree`).
    pub record: Option<VerifyRecord>,
    /// Other records of the reviewed tree, of a clean work tree with commands run, whose answer
    /// differs from the record's: a passing and a failing verify of the same content. Both are
    /// shown; a passing one counts (docs/verification.md says why).
    pub disagreeing: Vec<VerifyRecord>,
    /// Records of the phase planx did not write: shown, never counted.
    pub uncounted: Vec<Uncounted>,
}

/// A record in a phase's notes that planx did not write (docs/verification.md).
#[derive(Debug, Clone, Serialize)]
pub struct Uncounted {
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    pub ts: String,
    pub event: String,
    /// It claims a passing verify (of which tree, when it says).
    pub claims_passed: bool,
    pub tree: Option<String>,
    /// Why it does not count: unsigned, its signature does not hold, or its signer.
    pub why: String,
    /// Who it says signed it (a claim).
    pub by: Option<String>,
}

/// A changed path, how the manifest declares it, and its line counts.
#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    pub path: String,
    pub change: ChangeKind,
    pub mode_only: bool,
    pub declared: Option<(EntryKind, String)>,
    pub added: usize,
    pub removed: usize,
    pub binary: bool,
}

/// The result of a check for the reviewed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckVerdict {
    Verified,
    NotVerified,
    /// The record of the reviewed tree was made with `--no-run`.
    NotRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReview {
    pub name: String,
    /// `run`, `file` or `manual`.
    pub kind: &'static str,
    pub tdd: bool,
    pub command: Option<Command>,
    pub verdict: CheckVerdict,
    pub evidence: String,
    pub run: Option<CommandRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub time: String,
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    /// `start`, `step`, `red`, `green`, `blocked`, `failed`, `verify`, `accept`, …
    pub what: String,
    pub step: Option<String>,
    pub detail: String,
}

/// How a phase was merged into base.
#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    #[serde(serialize_with = "hex")]
    pub by: Oid,
    /// A passing verify of the merged tree is recorded: the phase counts as complete.
    pub verified: bool,
}

/// A pull request for a phase.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub title: String,
    pub plan: String,
    pub plan_title: String,
    pub base: String,
    pub phase: String,
    pub phase_title: String,
    pub kind: PhaseKind,
    pub owner: Option<String>,
    pub goal: Option<String>,
    pub deliverables: Vec<String>,
    pub branch: String,
    /// The merge that brought the phase into base, when it is merged.
    pub merged: Option<Merged>,
    /// How the reviewed commit was found.
    pub head_from: TipFrom,
    #[serde(serialize_with = "hex")]
    pub head: Oid,
    #[serde(serialize_with = "hex")]
    pub head_tree: Oid,
    #[serde(serialize_with = "hex")]
    pub fork: Oid,
    pub verification: Verification,
    pub plan_edit: Option<PlanEdit>,
    /// Changed paths no manifest entry declares.
    pub undeclared: Vec<String>,
    /// Commits of the phase that bypassed the pre-commit hook, oldest first.
    pub bypassed: Vec<super::Bypass>,
    pub files: Vec<FileRow>,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckReview>,
    pub timeline: Vec<TimelineEntry>,
    /// Runs before the work: preflight on base, red runs of the blast radius.
    pub tests_before: Vec<RecordedRun>,
    /// Runs after it: green runs of the blast radius, the checks of the verify record shown.
    pub tests_after: Vec<RecordedRun>,
    /// Uncommitted paths in this work tree (phase branch checked out here): not reviewed.
    pub uncommitted: Vec<String>,
    /// The trailers a squash merge made on a forge must keep for planx to see it complete.
    pub squash_trailers: Vec<String>,
    /// What the executors of the phase said it cost, and how long they ran (`run`).
    pub usage: Option<crate::state::usage::Usage>,
}

/// Reviews `phase_id`. `plan` is the plan on base; `ci_branch` the branch a CI job names.
pub fn review(
    subject: Subject<'_>,
    phase_id: &str,
    ci_branch: Option<&str>,
) -> Result<Review, ReportError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let phase = subject.phase(phase_id)?;
    let branch = plan.branch(phase);
    let base_tip = subject.base_tip(BaseTip::OrOrigin)?;
    let status = state::derive_around_seen(subject, &phase.id)?
        .into_iter()
        .find(|s| s.id == phase.id);
    let merged_by = status.as_ref().and_then(|s| s.completed_by);
    let (head, head_from) = phase_tip(repo, &branch, ci_branch, merged_by, &phase.id)?;
    let judged = subject
        .judge(&phase.id, &branch, head, base_tip)
        .and_then(Judged::from_fork_only)?;
    let phase = judged.phase()?;
    let (judging, fork) = (&judged.plan, judged.fork);

    let head_tree = repo.tree_of(head)?;
    let commits = repo.commits_between(head, &[fork])?;
    let events = phase_events(repo, &judging.id, &phase.id, &commits)?;
    let diffs = repo.diff_stats(fork, head)?;
    let changes: Vec<_> = diffs.iter().map(|d| d.change.clone()).collect();
    let Judgement {
        rows,
        mut findings,
        plan_edit,
    } = judge_changes(repo, &judged, phase, &changes)?;
    findings.extend(after_verify_findings(repo, phase, &commits, &events)?);
    let files: Vec<FileRow> = rows
        .into_iter()
        .zip(&diffs)
        .map(|(row, diff)| FileRow {
            path: row.path,
            change: row.change,
            mode_only: row.mode_only,
            declared: row.declared,
            added: diff.added,
            removed: diff.removed,
            binary: diff.binary,
        })
        .collect();
    let undeclared = files
        .iter()
        .filter(|f| f.declared.is_none())
        .map(|f| f.path.clone())
        .collect();
    let bypassed = super::bypasses(repo, phase, &commits)?;

    let records = verify_records(&events);
    let record = record_for(&records, head_tree).cloned();
    let mut verification = verification(record, head_tree);
    verification.disagreeing = disagreeing(&records, verification.record.as_ref(), head_tree);
    verification.uncounted = uncounted_events(repo, &judging.id, &phase.id, &commits)?
        .into_iter()
        .map(|(commit, e)| Uncounted {
            commit,
            ts: e.ts.clone(),
            event: e.event.clone(),
            claims_passed: e.data.get("passed").and_then(serde_json::Value::as_bool) == Some(true),
            tree: e.str("tree").map(str::to_owned),
            why: e.seal.why_not(),
            by: e.signer().map(str::to_owned),
        })
        .collect();
    let of_head = verification
        .record
        .as_ref()
        .filter(|_| verification.tree_matches);
    let checks = phase
        .checks
        .iter()
        .map(|check| check_review(check, of_head, &phase.id))
        .collect();

    let runs = recorded_runs(&events);
    let tests_before = runs
        .iter()
        .filter(|r| matches!(r.when, "preflight" | "red"))
        .cloned()
        .collect();
    let mut tests_after: Vec<RecordedRun> =
        runs.iter().filter(|r| r.when == "green").cloned().collect();
    if let Some(record) = of_head {
        tests_after.extend(
            runs.iter()
                .filter(|r| r.when == "check" && r.commit == record.commit && r.ts == record.ts)
                .cloned(),
        );
    }

    let uncommitted = if head_from == TipFrom::CheckedOut {
        repo.dirty_paths()?.into_iter().map(|p| p.path).collect()
    } else {
        Vec::new()
    };
    let mut squash_trailers = vec![
        format!("{}: {}", trailers::PLAN, judging.id),
        format!("{}: {}", trailers::PHASE, phase.id),
        format!("{}: complete", trailers::CHECKPOINT),
        format!("{}: complete", trailers::STATUS),
    ];
    if verification.verdict == Verdict::Verified {
        squash_trailers.push(format!("{}: {head_tree}", trailers::VERIFIED_TREE));
    }
    Ok(Review {
        title: format!("{}: {}", phase.id, one_line(&phase.title)),
        plan: judging.id.clone(),
        plan_title: judging.title.clone(),
        base: judging.base.clone(),
        phase: phase.id.clone(),
        phase_title: phase.title.clone(),
        kind: phase.kind,
        owner: phase.owner.clone(),
        goal: phase.goal.clone(),
        deliverables: phase.deliverables.clone(),
        branch,
        merged: status.as_ref().and_then(|s| {
            s.completed_by.map(|by| Merged {
                by,
                verified: s.verified,
            })
        }),
        head_from,
        head,
        head_tree,
        fork,
        verification,
        plan_edit,
        undeclared,
        bypassed,
        files,
        findings,
        checks,
        usage: crate::state::usage::recorded(&events),
        timeline: timeline(repo, &judging.id, &phase.id, &commits, &events)?,
        tests_before,
        tests_after,
        uncommitted,
        squash_trailers,
    })
}

fn one_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

fn verification(record: Option<VerifyRecord>, head_tree: Oid) -> Verification {
    let tree_matches = record.as_ref().is_some_and(|r| r.is_of(head_tree));
    let verdict = match &record {
        None => Verdict::NeverVerified,
        Some(_) if !tree_matches => Verdict::OtherTree,
        Some(r) if r.counts => Verdict::Verified,
        Some(r) if r.holds() => Verdict::Incomplete,
        Some(_) => Verdict::Failed,
    };
    Verification {
        verdict,
        tree_matches,
        record,
        disagreeing: Vec::new(),
        uncounted: Vec::new(),
    }
}

/// The records of `tree` that could count (clean, commands run) and answer otherwise than
/// `shown`.
fn disagreeing(
    records: &[VerifyRecord],
    shown: Option<&VerifyRecord>,
    tree: Oid,
) -> Vec<VerifyRecord> {
    let Some(shown) = shown.filter(|r| r.is_of(tree)) else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| r.is_of(tree) && r.clean && !r.no_run && r.passed != shown.passed)
        .cloned()
        .collect()
}

pub(super) fn check_review(
    check: &crate::plan::Check,
    record: Option<&VerifyRecord>,
    phase: &str,
) -> CheckReview {
    let (kind, tdd, command) = match &check.kind {
        CheckKind::Run { command, tdd, .. } => ("run", *tdd, Some(Command::from(command))),
        CheckKind::File { .. } => ("file", false, None),
        CheckKind::Manual => ("manual", false, None),
    };
    let recorded: Option<&RecordedCheck> =
        record.and_then(|r| r.checks.iter().find(|c| c.name == check.name));
    let (verdict, evidence, run) = match (record, recorded) {
        (Some(_), Some(c)) => (
            match (c.verified, c.skipped) {
                (true, _) => CheckVerdict::Verified,
                (false, true) => CheckVerdict::NotRun,
                (false, false) => CheckVerdict::NotVerified,
            },
            c.evidence.clone(),
            c.run.clone(),
        ),
        (Some(_), None) => (
            CheckVerdict::NotVerified,
            "the verify record of this tree has no result for this check".to_owned(),
            None,
        ),
        (None, _) => (
            CheckVerdict::NotVerified,
            format!("no verify record of this tree: run `git planx verify {phase}`"),
            None,
        ),
    };
    CheckReview {
        name: check.name.clone(),
        kind,
        tdd,
        command,
        verdict,
        evidence,
        run,
    }
}

/// Checkpoints (from their trailers) and the verify and accept events of the phase, oldest
/// first.
pub(super) fn timeline(
    repo: &Repo,
    plan: &str,
    phase: &str,
    commits: &[Oid],
    events: &[(Oid, Event)],
) -> Result<Vec<TimelineEntry>, ReportError> {
    let (checkpoints, _) = state::checkpoints_in(repo, plan, phase, commits)?;
    let mut out = Vec::new();
    for c in &checkpoints {
        let mut detail = c.summary.clone();
        for e in &c.events {
            if let Some(run) = e.run("verify") {
                detail.push_str(&format!(
                    "; verify `{}` {}",
                    run.command,
                    if run.passed { "passed" } else { "failed" }
                ));
            }
        }
        out.push(TimelineEntry {
            time: rfc3339(c.time),
            commit: c.commit,
            what: c.kind.as_str().to_owned(),
            step: c.step.clone(),
            detail,
        });
    }
    for (commit, e) in events {
        let detail = match e.event.as_str() {
            "verify" => match VerifyRecord::from_event(*commit, e) {
                Some(r) => {
                    let mut text = format!(
                        "{} (tree `{}`)",
                        if r.passed { "VERIFIED" } else { "NOT VERIFIED" },
                        super::short(&r.tree)
                    );
                    if !r.clean {
                        text.push_str(", with uncommitted changes");
                    }
                    if r.no_run {
                        text.push_str(", no command run");
                    }
                    text
                }
                None => continue,
            },
            "accept" => format!(
                "`{}` accepted by {}: {}",
                e.str("check").unwrap_or("?"),
                e.str("who").unwrap_or("someone"),
                e.str("evidence").unwrap_or("")
            ),
            _ => continue,
        };
        out.push(TimelineEntry {
            time: e.ts.clone(),
            commit: *commit,
            what: e.event.clone(),
            step: None,
            detail,
        });
    }
    out.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(out)
}

/// Errors among the findings: what keeps the phase from verifying whatever the checks say.
pub fn errors(findings: &[Finding]) -> impl Iterator<Item = &Finding> {
    findings.iter().filter(|f| f.level == Level::Error)
}
