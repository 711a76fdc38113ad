//! `report`: the whole plan's execution report, as the seeds' final report to the user has it —
//! a phase table with state, owner and duration, the files each phase created, modified and
//! deleted, the test results recorded, and the problems still open — derived from git alone.
//!
//! Durations run from a phase's first to its last recorded time (checkpoint commits, note
//! events, the completing merge). Files come from the merge that completed a phase (what it
//! brought into base), else from its branch since the fork point. Test results are the command
//! runs recorded in the notes; nothing is run.

use serde::Serialize;

use super::review::{CheckReview, TimelineEntry, check_review, timeline};
use super::{
    Attempt, RecordedRun, ReportError, VerifyRecord, attempts, epoch, hex, hex_opt, recorded_runs,
    rfc3339,
};
use super::{record_for, verify_records};
use crate::git::changes::{Change, ChangeKind};
use crate::git::trailers;
use crate::git::{Oid, Repo};
use crate::plan::graph::Graph;
use crate::plan::{EntryKind, Phase, PhaseKind, Plan};
use crate::state::evidence::{fork_point, phase_events};
use crate::state::judging::{Judged, JudgingError, Subject};
use crate::state::usage::Usage;
use crate::state::{self, Next, PhaseStatus, State};
use crate::verify::{Judgement, after_verify_findings, judge_changes};

/// The plan as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    /// Every phase is complete.
    Complete,
    /// A phase failed.
    Failed,
    /// A phase is blocked (and none failed).
    Blocked,
    /// Work has started and is not done.
    InProgress,
    /// No phase has started.
    NotStarted,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Complete => "complete",
            Overall::Failed => "failed",
            Overall::Blocked => "blocked",
            Overall::InProgress => "in-progress",
            Overall::NotStarted => "not-started",
        }
    }
}

/// Where a phase's files were read from.
#[derive(Debug, Clone, Serialize)]
pub struct FilesFrom {
    /// `merge`, `squash`, `fast-forward` (complete phases) or `branch`.
    pub what: &'static str,
    #[serde(serialize_with = "hex")]
    pub from: Oid,
    #[serde(serialize_with = "hex")]
    pub to: Oid,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileStat {
    pub path: String,
    pub change: ChangeKind,
    /// The first entry of the phase's manifest (in the plan on base) that covers the path.
    pub declared: Option<(EntryKind, String)>,
    pub added: usize,
    pub removed: usize,
    pub binary: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunCounts {
    pub recorded: usize,
    /// Passed, other than red runs.
    pub passed: usize,
    /// Failed, other than red runs.
    pub failed: usize,
    /// Red runs of the blast radius: failing, as tests written first should.
    pub red: usize,
}

/// Something that still needs attention.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `failed`, `blocked`, `unverified`, `stale`, `check-not-verified`, `verify-incomplete`,
    /// `verify-outdated`, `judging-plan`, or a manifest finding's code (`undeclared-change`, …).
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub id: String,
    pub title: String,
    pub kind: PhaseKind,
    pub owner: Option<String>,
    pub state: State,
    pub stale: Vec<String>,
    pub branch: String,
    pub branch_exists: bool,
    #[serde(serialize_with = "hex_opt")]
    pub completed_by: Option<Oid>,
    pub first: Option<String>,
    pub last: Option<String>,
    pub duration_seconds: Option<i64>,
    pub files_from: Option<FilesFrom>,
    pub files: Vec<FileStat>,
    pub runs: RunCounts,
    /// Every recorded run, oldest first.
    pub recorded_runs: Vec<RecordedRun>,
    /// Every run of the phase's executor by `git planx run`, oldest first.
    pub attempts: Vec<Attempt>,
    /// Time spent in the recorded runs, added up.
    pub command_ms: u64,
    /// Time the executor of `git planx run` took, added up over its recorded runs, if any ran.
    pub executor_ms: Option<u64>,
    /// The phase's checks, VERIFIED or NOT VERIFIED by `latest_verify` when it is of the
    /// phase's latest tree.
    pub checks: Vec<CheckReview>,
    /// Checkpoints, verify and accept events, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The verify record that speaks for the phase's latest tree.
    pub latest_verify: Option<VerifyRecord>,
    /// `latest_verify` is of the phase's latest tree.
    pub latest_verify_of_tip: bool,
    pub problems: Vec<Problem>,
    /// Commits of the phase that bypassed the pre-commit hook, oldest first.
    pub bypassed: Vec<super::Bypass>,
    /// What its executors said they cost, with how long they ran (`run`'s `usage` events),
    /// summed over attempts; `None` when no executor ran it.
    pub usage: Option<Usage>,
}

/// The plan's execution report.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionReport {
    pub plan: String,
    pub plan_title: String,
    pub base: String,
    #[serde(serialize_with = "hex_opt")]
    pub base_tip: Option<Oid>,
    pub overall: Overall,
    pub phases_complete: usize,
    pub phases_total: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub duration_seconds: Option<i64>,
    /// The phases' usage summed.
    pub usage: Option<Usage>,
    /// In dependency order.
    pub phases: Vec<PhaseReport>,
    #[serde(skip)]
    pub next: Next,
}

/// Reports on `plan` (the plan on base).
pub fn report(
    subject: Subject<'_>,
    current_branch: Option<&str>,
    committed: bool,
) -> Result<ExecutionReport, ReportError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let statuses = state::derive_seen(subject, state::Notes::All)?;
    let order = Graph::order(plan).unwrap_or_else(|_| (0..plan.phases.len()).collect());
    let base_tip = repo.base_tip(&plan.base)?;
    let mut phases = Vec::new();
    for &i in &order {
        phases.push(phase_report(
            subject,
            base_tip,
            &plan.phases[i],
            &statuses[i],
        )?);
    }
    let states: Vec<State> = statuses.iter().map(|s| s.state).collect();
    let overall = if !states.is_empty() && states.iter().all(|s| *s == State::Complete) {
        Overall::Complete
    } else if states.contains(&State::Failed) {
        Overall::Failed
    } else if states.contains(&State::Blocked) {
        Overall::Blocked
    } else if statuses
        .iter()
        .any(|s| s.branch_tip.is_some() || s.completed_by.is_some())
    {
        Overall::InProgress
    } else {
        Overall::NotStarted
    };
    let usage = phases
        .iter()
        .filter_map(|p| p.usage.as_ref())
        .fold(None, |sum: Option<Usage>, u| {
            Some(sum.map_or_else(|| u.clone(), |s| s.plus(u)))
        });
    let first = phases.iter().filter_map(|p| p.first.clone()).min();
    let last = phases.iter().filter_map(|p| p.last.clone()).max();
    Ok(ExecutionReport {
        plan: plan.id.clone(),
        plan_title: plan.title.clone(),
        base: plan.base.clone(),
        base_tip,
        overall,
        phases_complete: states.iter().filter(|s| **s == State::Complete).count(),
        phases_total: states.len(),
        duration_seconds: span(first.as_deref(), last.as_deref()),
        first,
        last,
        usage,
        phases,
        next: state::next_action(plan, &statuses, &order, current_branch, committed),
    })
}

fn span(first: Option<&str>, last: Option<&str>) -> Option<i64> {
    Some(epoch(last?)? - epoch(first?)?)
}

/// The commits of a phase, where its files come from, and its latest tree.
struct Work {
    commits: Vec<Oid>,
    files_from: Option<FilesFrom>,
    tip: Option<Oid>,
}

fn work_of(repo: &Repo, base_tip: Option<Oid>, status: &PhaseStatus) -> Result<Work, ReportError> {
    // A merged phase is read from its merge, against the merge's first parent: what it brought
    // into base. That is not the phase as judged (a branch's tip against its fork point, by the
    // plan there), so it takes no `Judged`; the branch of an open phase, below, does.
    if let Some(merge) = status.completed_by {
        let info = repo.commit_info(merge)?;
        let squash = trailers::value(info.trailers(), trailers::STATUS) == Some("complete");
        return Ok(match info.parents.as_slice() {
            [first, merged, ..] => {
                let mut commits = repo.commits_between(*merged, &[*first])?;
                commits.insert(0, merge);
                Work {
                    commits,
                    files_from: Some(FilesFrom {
                        what: "merge",
                        from: *first,
                        to: merge,
                    }),
                    tip: Some(*merged),
                }
            }
            [parent] if squash => Work {
                commits: vec![merge],
                files_from: Some(FilesFrom {
                    what: "squash",
                    from: *parent,
                    to: merge,
                }),
                tip: Some(merge),
            },
            _ => {
                // Fast-forwarded: its checkpoints are on base; the work starts below its start.
                let from = match status.start() {
                    Some(start) => repo.commit_info(start.commit)?.parents.first().copied(),
                    None => None,
                };
                Work {
                    commits: status.checkpoints.iter().map(|c| c.commit).collect(),
                    files_from: from.map(|from| FilesFrom {
                        what: "fast-forward",
                        from,
                        to: merge,
                    }),
                    tip: Some(merge),
                }
            }
        });
    }
    let (Some(tip), Some(base_tip)) = (status.branch_tip, base_tip) else {
        return Ok(Work {
            commits: Vec::new(),
            files_from: None,
            tip: status.branch_tip,
        });
    };
    let Some(fork) = fork_point(repo, base_tip, tip)? else {
        return Ok(Work {
            commits: repo.commits_between(tip, &[])?,
            files_from: None,
            tip: Some(tip),
        });
    };
    Ok(Work {
        commits: repo.commits_between(tip, &[fork])?,
        files_from: Some(FilesFrom {
            what: "branch",
            from: fork,
            to: tip,
        }),
        tip: Some(tip),
    })
}

fn phase_report(
    subject: Subject<'_>,
    base_tip: Option<Oid>,
    phase: &Phase,
    status: &PhaseStatus,
) -> Result<PhaseReport, ReportError> {
    let (repo, plan) = (subject.repo, subject.plan);
    let work = work_of(repo, base_tip, status)?;
    let events = phase_events(repo, &plan.id, &phase.id, &work.commits)?;

    let mut times: Vec<i64> = status.checkpoints.iter().map(|c| c.time).collect();
    times.extend(events.iter().filter_map(|(_, e)| epoch(&e.ts)));
    if let Some(merge) = status.completed_by {
        times.push(repo.commit_info(merge)?.time);
    }
    let (first, last) = (times.iter().min().copied(), times.iter().max().copied());

    let diffs = match &work.files_from {
        Some(range) => repo.diff_stats(range.from, range.to)?,
        None => Vec::new(),
    };
    let files = diffs
        .iter()
        .map(|d| FileStat {
            path: d.change.path_display(),
            change: d.change.kind,
            declared: phase
                .files
                .all()
                .find(|(_, e)| e.pattern.matches(&d.change.path_lossy()))
                .map(|(k, e)| (k, e.pattern.to_string())),
            added: d.added,
            removed: d.removed,
            binary: d.binary,
        })
        .collect();

    let runs = recorded_runs(&events);
    let red = |r: &&RecordedRun| r.when == "red";
    let counts = RunCounts {
        recorded: runs.len(),
        passed: runs.iter().filter(|r| r.run.passed && !red(r)).count(),
        failed: runs.iter().filter(|r| !r.run.passed && !red(r)).count(),
        red: runs.iter().filter(red).count(),
    };
    let tip_tree = work.tip.map(|t| repo.tree_of(t)).transpose()?;
    let records = verify_records(&events);
    let latest = match tip_tree {
        Some(tree) => record_for(&records, tree).cloned(),
        None => records.last().cloned(),
    };
    let of_tip = match (&latest, tip_tree) {
        (Some(r), Some(tree)) => r.is_of(tree),
        _ => false,
    };

    let executor: Vec<u64> = events
        .iter()
        .filter_map(|(_, e)| e.run("executor"))
        .map(|r| r.duration_ms)
        .collect();
    let checks = phase
        .checks
        .iter()
        .map(|c| check_review(c, latest.as_ref().filter(|_| of_tip), &phase.id))
        .collect();
    let timeline = timeline(repo, &plan.id, &phase.id, &work.commits, &events)?;

    let mut problems = Vec::new();
    let mut problem = |code: &str, message: String| {
        problems.push(Problem {
            code: code.to_owned(),
            message,
        })
    };
    match status.state {
        State::Failed | State::Blocked => problem(
            status.state.as_str(),
            status
                .reason()
                .unwrap_or_else(|| "no reason was recorded".to_owned()),
        ),
        State::Contradicted => problem(
            "contradicted",
            format!(
                "merged by {}, but what was merged fails its manifest ({}): whatever its records say, it does not count as complete",
                status
                    .completed_by
                    .as_ref()
                    .map(super::short)
                    .unwrap_or_default(),
                status.contradicted.join("; ")
            ),
        ),
        State::Unverified => problem(
            "unverified",
            format!(
                "merged by {} without a passing verify of its tree: it does not count as complete",
                status
                    .completed_by
                    .as_ref()
                    .map(super::short)
                    .unwrap_or_default()
            ),
        ),
        _ => {}
    }
    if let Some(why) = &status.uncounted {
        problem(
            "uncounted-record",
            format!(
                "a record planx did not write claims its merged tree passed ({why}): it does not count"
            ),
        );
    }
    for pattern in &status.stale {
        problem(
            "stale",
            format!(
                "complete, but nothing on {} matches `{pattern}` any more",
                plan.base
            ),
        );
    }
    let open = status.completed_by.is_none() && status.branch_tip.is_some();
    if open {
        if let Some(record) = latest.as_ref().filter(|_| of_tip) {
            if !record.holds() {
                for check in record.checks.iter().filter(|c| !c.verified && !c.skipped) {
                    problem(
                        "check-not-verified",
                        format!("check `{}` NOT VERIFIED: {}", check.name, check.evidence),
                    );
                }
            } else if !record.counts {
                problem(
                    "verify-incomplete",
                    format!(
                        "the verify of its tip {}, so it does not count",
                        if record.no_run {
                            "ran no command (--no-run)"
                        } else {
                            "was of a work tree with uncommitted changes"
                        }
                    ),
                );
            }
        } else if let Some(record) = &latest {
            problem(
                "verify-outdated",
                format!(
                    "the branch changed since its last verify (of tree {})",
                    super::short(&record.tree)
                ),
            );
        }
        // An open phase's files are its branch's since the fork point: judged as verify would.
        if let (Some(range), Some(base_tip)) = (&work.files_from, base_tip) {
            let changes: Vec<_> = diffs.into_iter().map(|d| d.change).collect();
            let judged =
                subject.judge_forked(&phase.id, &status.branch, range.to, base_tip, range.from);
            problems.extend(manifest_problems(
                repo,
                plan,
                judged,
                &changes,
                &work.commits,
            )?);
        }
    }

    // Commits that skipped the pre-commit hook stay visible, merged or not (SPEC §5).
    let bypassed = super::bypasses(repo, phase, &work.commits)?;
    if !bypassed.is_empty() {
        problems.push(Problem {
            code: "hook-bypassed".into(),
            message: format!(
                "the pre-commit hook was bypassed (`--no-verify`, `PLANX_HOOKS=0`) or not installed on {}: {}",
                match bypassed.len() {
                    1 => "1 commit".to_owned(),
                    n => format!("{n} commits"),
                },
                bypassed
                    .iter()
                    .map(|b| format!(
                        "{} {} changed {}",
                        super::short(&b.commit),
                        b.summary,
                        b.paths.join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }

    Ok(PhaseReport {
        id: phase.id.clone(),
        title: phase.title.clone(),
        kind: phase.kind,
        owner: phase.owner.clone(),
        state: status.state,
        stale: status.stale.clone(),
        branch: status.branch.clone(),
        branch_exists: status.branch_tip.is_some(),
        completed_by: status.completed_by,
        first: first.map(rfc3339),
        last: last.map(rfc3339),
        duration_seconds: first.zip(last).map(|(a, b)| b - a),
        files_from: work.files_from,
        files,
        runs: counts,
        command_ms: runs.iter().map(|r| r.run.duration_ms).sum(),
        executor_ms: (!executor.is_empty()).then(|| executor.iter().sum()),
        recorded_runs: runs,
        attempts: attempts(&events),
        checks,
        timeline,
        latest_verify: latest,
        latest_verify_of_tip: of_tip,
        problems,
        bypassed,
        usage: crate::state::usage::recorded(&events),
    })
}

/// The manifest errors of a phase's branch tip, judged by the plan at its fork point (`judged`,
/// or why the plan there cannot judge it); `plan` is the plan as loaded.
fn manifest_problems(
    repo: &Repo,
    plan: &Plan,
    judged: Result<Judged<'_>, JudgingError>,
    changes: &[Change],
    commits: &[Oid],
) -> Result<Vec<Problem>, ReportError> {
    let judged = match judged {
        Ok(judged) if judged.at_fork => judged,
        Ok(_) => {
            return Ok(vec![Problem {
                code: "judging-plan".into(),
                message: format!(
                    "the plan file did not exist on {} where the branch forked",
                    plan.base
                ),
            }]);
        }
        Err(JudgingError::Plan { source, .. }) => {
            return Ok(vec![Problem {
                code: "judging-plan".into(),
                message: format!("the plan where the branch forked cannot be used: {source}"),
            }]);
        }
        Err(e) => return Err(e.into()),
    };
    let Ok(phase) = judged.phase() else {
        return Ok(vec![Problem {
            code: "judging-plan".into(),
            message: format!(
                "the plan where the branch forked has no phase `{}`",
                judged.id
            ),
        }]);
    };
    let Judgement { mut findings, .. } = judge_changes(repo, &judged, phase, changes)?;
    let events = phase_events(repo, &judged.plan.id, &phase.id, commits)?;
    findings.extend(after_verify_findings(repo, phase, commits, &events)?);
    Ok(super::review::errors(&findings)
        .map(|f| Problem {
            code: f.code.to_owned(),
            message: f.message.clone(),
        })
        .collect())
}
