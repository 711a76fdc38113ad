//! `brief`: the phase execution plan for whoever executes a phase — an agent or a person — as the
//! seeds describe it: an introduction, pre-implementation steps, the plan's guidelines, the
//! steps with their verification, the manifest, the acceptance checks and post-implementation
//! steps.
//!
//! Everything in it comes from the plan and git. The plan is the one that judges the phase: the
//! plan on base at the phase's fork point once the phase has started, else the plan on base
//! now (where the phase will fork from). Commands are shown resolved, with the `[commands]`
//! name they came from.

use serde::Serialize;

use super::{Command, ReportError, hex, hex_opt};
use crate::git::{Oid, Repo};
use crate::plan::{CheckKind, EntryKind, Likelihood, Phase, PhaseKind, Plan};
use crate::state::events::VerifyRecord;
use crate::state::judging::{JudgingError, Subject, find_phase};
use crate::state::{self, Kind, PhaseStatus, State, StepState};

/// Which plan the brief was written from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JudgedAt {
    /// The plan on base at the phase's fork point (the phase has started).
    ForkPoint,
    /// The plan on base's tip (the phase has not started yet).
    Base,
}

/// Where the full test suite in the brief comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuiteFrom {
    /// `[preflight] run`: what must pass on base before a phase starts.
    Preflight,
    /// The `[commands]` entry named `test` (the plan has no preflight commands).
    TestCommand,
    /// The plan names no test suite.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub id: String,
    pub state: State,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastCheckpoint {
    pub checkpoint: &'static str,
    pub step: Option<String>,
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    pub summary: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BriefStep {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub verify: Option<Command>,
    /// Where it stands now, from its checkpoints.
    pub state: StepState,
}

/// One list of the file manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestList {
    pub kind: EntryKind,
    pub patterns: Vec<String>,
}

/// A path that exists where the phase forks from and that the manifest names to modify or
/// delete: the code to read before changing it.
#[derive(Debug, Clone, Serialize)]
pub struct ToReview {
    pub path: String,
    pub kind: EntryKind,
    pub pattern: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BriefCheck {
    pub name: String,
    /// `run`, `file` or `manual`.
    pub kind: &'static str,
    pub command: Option<Command>,
    pub expect_exit: Option<i32>,
    pub timeout_seconds: Option<u64>,
    pub tdd: bool,
    pub file: Option<String>,
    pub contains: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BriefPrerequisite {
    pub title: String,
    pub why: Option<String>,
    pub verify: Option<Command>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BriefRisk {
    pub risk: String,
    pub likelihood: Option<Likelihood>,
    pub mitigation: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BriefDone {
    pub run: Command,
    pub expect: Option<String>,
}

/// The attempt before this one, when its latest verify failed: what to fix first.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousAttempt {
    /// The checkpoint the failing verify was recorded on.
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    pub verify: VerifyRecord,
}

/// The phase execution plan.
#[derive(Debug, Clone, Serialize)]
pub struct Brief {
    pub plan: String,
    pub plan_title: String,
    pub plan_path: String,
    pub base: String,
    pub judged_at: JudgedAt,
    /// The commit whose plan the brief was written from.
    #[serde(serialize_with = "hex")]
    pub plan_commit: Oid,
    pub strict: bool,
    pub guidelines: Option<String>,
    pub phase: String,
    pub title: String,
    pub kind: PhaseKind,
    pub owner: Option<String>,
    pub goal: Option<String>,
    pub deliverables: Vec<String>,
    pub timeout_seconds: Option<u64>,
    pub branch: String,
    pub depends_on: Vec<Dependency>,
    pub state: State,
    pub last_checkpoint: Option<LastCheckpoint>,
    #[serde(serialize_with = "hex_opt")]
    pub fork: Option<Oid>,
    pub full_suite: Vec<Command>,
    pub full_suite_from: SuiteFrom,
    pub blast_radius: Option<Command>,
    pub steps: Vec<BriefStep>,
    pub manifest: Vec<ManifestList>,
    pub to_review: Vec<ToReview>,
    pub checks: Vec<BriefCheck>,
    pub prerequisites: Vec<BriefPrerequisite>,
    pub risks: Vec<BriefRisk>,
    pub done: Vec<BriefDone>,
    /// A retry: the phase's latest verify failed. `None` on a first attempt, after a passing
    /// verify, and once the phase is complete.
    pub previous_attempt: Option<PreviousAttempt>,
}

/// Writes the brief of `phase_id`. `plan` is the plan on base's tip, committed at `base_tip`.
pub fn brief(subject: Subject<'_>, base_tip: Oid, phase_id: &str) -> Result<Brief, ReportError> {
    let Subject {
        repo,
        plan,
        plan_path,
    } = subject;
    let phase = subject.phase(phase_id)?;
    let statuses = state::derive_around(subject, &phase.id)?;
    let index = plan
        .phases
        .iter()
        .position(|p| p.id == phase.id)
        .unwrap_or_default();
    let status = &statuses[index];

    // Once started, the plan at the fork point judges the phase: brief from that one.
    let judged = match status.branch_tip {
        Some(tip) => match subject.judge(&phase.id, &status.branch, tip, base_tip) {
            Ok(judged) => Some(judged),
            Err(JudgingError::NoForkPoint { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let fork = judged.as_ref().map(|j| j.fork);
    let (judging, judged_at, plan_commit) = match judged {
        Some(judged) if judged.at_fork => {
            (judged.plan.into_owned(), JudgedAt::ForkPoint, judged.fork)
        }
        _ => (plan.clone(), JudgedAt::Base, base_tip),
    };
    let phase = find_phase(&judging, phase_id)?;

    let (full_suite, full_suite_from) = full_suite(&judging);
    let steps = state::step_states(phase, status);
    Ok(Brief {
        plan: judging.id.clone(),
        plan_title: judging.title.clone(),
        plan_path: plan_path.to_owned(),
        base: judging.base.clone(),
        judged_at,
        plan_commit,
        strict: judging.strict,
        guidelines: judging.guidelines.clone(),
        phase: phase.id.clone(),
        title: phase.title.clone(),
        kind: phase.kind,
        owner: phase.owner.clone(),
        goal: phase.goal.clone(),
        deliverables: phase.deliverables.clone(),
        timeout_seconds: phase.timeout.map(|t| t.as_secs()),
        branch: judging.branch(phase),
        depends_on: phase
            .depends_on
            .iter()
            .map(|d| Dependency {
                id: d.id.clone(),
                state: statuses
                    .iter()
                    .find(|s| s.id == d.id)
                    .map_or(State::Waiting, |s| s.state),
            })
            .collect(),
        state: status.state,
        last_checkpoint: last_checkpoint(status),
        fork,
        full_suite,
        full_suite_from,
        blast_radius: phase.blast_radius.as_ref().map(Command::from),
        steps: phase
            .steps
            .iter()
            .zip(steps)
            .map(|(s, state)| BriefStep {
                id: s.id.clone(),
                title: s.title.clone(),
                description: s.description.clone(),
                verify: s.verify.as_ref().map(Command::from),
                state,
            })
            .collect(),
        manifest: EntryKind::ALL
            .into_iter()
            .filter(|&kind| !phase.files.entries(kind).is_empty())
            .map(|kind| ManifestList {
                kind,
                patterns: phase
                    .files
                    .entries(kind)
                    .iter()
                    .map(|e| e.pattern.to_string())
                    .collect(),
            })
            .collect(),
        to_review: to_review(repo, phase, plan_commit)?,
        checks: phase.checks.iter().map(brief_check).collect(),
        prerequisites: phase
            .prerequisites
            .iter()
            .map(|p| BriefPrerequisite {
                title: p.title.clone(),
                why: p.why.clone(),
                verify: p.verify.as_ref().map(Command::from),
            })
            .collect(),
        risks: phase
            .risks
            .iter()
            .map(|r| BriefRisk {
                risk: r.risk.clone(),
                likelihood: r.likelihood,
                mitigation: r.mitigation.clone(),
            })
            .collect(),
        done: phase
            .done
            .iter()
            .map(|d| BriefDone {
                run: Command::from(&d.run),
                expect: d.expect.clone(),
            })
            .collect(),
        previous_attempt: match status.latest_verify() {
            Some((commit, verify)) if !verify.passed && status.state != State::Complete => {
                Some(PreviousAttempt { commit, verify })
            }
            _ => None,
        },
    })
}

/// The full test suite: the preflight commands (what must pass on base before a phase starts),
/// else the `[commands]` entry named `test`.
fn full_suite(plan: &Plan) -> (Vec<Command>, SuiteFrom) {
    if !plan.preflight.run.is_empty() {
        return (
            plan.preflight.run.iter().map(Command::from).collect(),
            SuiteFrom::Preflight,
        );
    }
    match plan.commands.iter().find(|(name, _)| name == "test") {
        Some((name, shell)) => (
            vec![Command {
                text: name.clone(),
                name: Some(name.clone()),
                shell: shell.clone(),
            }],
            SuiteFrom::TestCommand,
        ),
        None => (Vec::new(), SuiteFrom::None),
    }
}

fn last_checkpoint(status: &PhaseStatus) -> Option<LastCheckpoint> {
    let c = status.last_checkpoint()?;
    Some(LastCheckpoint {
        checkpoint: c.kind.as_str(),
        step: c.step.clone(),
        commit: c.commit,
        summary: c.summary.clone(),
        reason: matches!(c.kind, Kind::Blocked | Kind::Failed)
            .then(|| status.reason())
            .flatten(),
    })
}

/// The paths at `commit` that the `modify` and `delete` entries name.
fn to_review(repo: &Repo, phase: &Phase, commit: Oid) -> Result<Vec<ToReview>, ReportError> {
    let entries: Vec<_> = phase
        .files
        .all()
        .filter(|(kind, _)| matches!(kind, EntryKind::Modify | EntryKind::Delete))
        .collect();
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for path in repo.tree_paths(commit)? {
        if let Some((kind, entry)) = entries.iter().find(|(_, e)| e.pattern.matches(&path)) {
            out.push(ToReview {
                path,
                kind: *kind,
                pattern: entry.pattern.to_string(),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn brief_check(check: &crate::plan::Check) -> BriefCheck {
    let mut out = BriefCheck {
        name: check.name.clone(),
        kind: "manual",
        command: None,
        expect_exit: None,
        timeout_seconds: None,
        tdd: false,
        file: None,
        contains: None,
    };
    match &check.kind {
        CheckKind::Run {
            command,
            expect_exit,
            timeout,
            tdd,
        } => {
            out.kind = "run";
            out.command = Some(command.into());
            out.expect_exit = Some(*expect_exit);
            out.timeout_seconds = Some(timeout.as_secs());
            out.tdd = *tdd;
        }
        CheckKind::File { path, contains } => {
            out.kind = "file";
            out.file = Some(path.clone());
            out.contains = contains.as_ref().map(|c| c.as_str().to_owned());
        }
        CheckKind::Manual => {}
    }
    out
}
