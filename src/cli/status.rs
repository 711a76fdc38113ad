//! `git planx status`: the state of every phase, derived from git, and the one next action.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::context::{Context, Need, Origin};
use super::ui::{Painter, Style, Ui, table};
use super::{Document, GlobalArgs, short};
use crate::clock;
use crate::error::CliError;
use crate::git::Repo;
use crate::plan::Plan;
use crate::plan::graph::Graph;
use crate::state::events::VerifyRecord;
use crate::state::{self, Kind, Next, PhaseStatus, State, StepState};

/// Show the state of each phase, as git records it, and the next thing to do.
///
/// States: complete (merged into base), failed or blocked (the latest checkpoint says so),
/// in-progress (its branch exists), ready (its dependencies are complete), waiting.
/// `--format md` writes the status document: each step COMPLETED, IN PROGRESS, NOT STARTED or
/// NEEDS CLARIFICATION, the test results recorded so far, and one overarching next step.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this phase
    pub phase: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Md,
    Json,
}

pub fn cmd_status(ui: &Ui, global: &GlobalArgs, args: &StatusArgs) -> Result<(), CliError> {
    let format = if ui.json {
        StatusFormat::Json
    } else {
        args.format
    };
    // Only the status document lists every test result recorded; the table and JSON need the
    // notes of the phases still open.
    let notes = match format {
        StatusFormat::Md => state::Notes::All,
        StatusFormat::Table | StatusFormat::Json => state::Notes::Open,
    };
    let derived = derive(global, args.phase.as_deref(), notes)?;
    let Derived {
        ctx,
        statuses,
        next,
        selected,
        claims,
    } = &derived;
    let plan = &ctx.plan;
    ctx.say_warnings(ui);
    match format {
        StatusFormat::Json => ui.json(&status_json(&derived))?,
        StatusFormat::Table => ui.out(&render_table(
            plan,
            statuses,
            selected,
            next,
            clock::now().timestamp(),
            &ctx.origin,
            ui.out_painter(),
            &bypassed(&ctx.repo, plan, statuses)?,
            &ctx.repo.branch_tips(&plan.branch_prefix)?,
            &render_claims(plan, selected, claims, ui.out_painter()),
        ))?,
        StatusFormat::Md => ui.out(&render_md(plan, statuses, selected, next, &ctx.origin))?,
    }
    // The process ends when the command returns: freeing the state of a thousand phases (and
    // libgit2's caches) one allocation at a time would only delay the exit.
    std::mem::forget(derived);
    Ok(())
}

/// The `planx.status/1` document.
pub(crate) fn document(global: &GlobalArgs, args: &StatusArgs) -> Result<Document, CliError> {
    let derived = derive(global, args.phase.as_deref(), state::Notes::Open)?;
    Ok(Document::yes(status_json(&derived)))
}

/// What every format of `status` shows: the states, the next action, the phases asked for.
struct Derived {
    ctx: Context,
    statuses: Vec<PhaseStatus>,
    next: Next,
    /// Indexes of the phases shown, in the plan's order.
    selected: Vec<usize>,
    /// The claims this repository last fetched, each with why it is stale (if it is).
    claims: Vec<(crate::claim::Seen, Option<String>)>,
}

fn derive(
    global: &GlobalArgs,
    phase: Option<&str>,
    notes: state::Notes,
) -> Result<Derived, CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    let plan = &ctx.plan;
    if let Some(id) = phase {
        crate::state::judging::find_phase(plan, id)?;
    }
    let statuses = state::derive_seen(ctx.subject(), notes)?;
    let order = Graph::order(plan).unwrap_or_else(|_| (0..plan.phases.len()).collect());
    let current = ctx.repo.current_branch()?;
    let committed = matches!(ctx.origin, Origin::Base(_));
    let next = state::next_action(plan, &statuses, &order, current.as_deref(), committed);
    let selected: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| phase.is_none_or(|id| plan.phases[i].id == id))
        .collect();
    let claims = claims(&ctx.repo, plan)?;
    let next = unclaimed_start(&ctx.repo, &statuses, &order, &claims, next);
    Ok(Derived {
        ctx,
        statuses,
        next,
        selected,
        claims,
    })
}

fn status_json(d: &Derived) -> Value {
    let plan = &d.ctx.plan;
    let now = clock::now().timestamp();
    json!({
        "schema": "planx.status/1",
        "plan": {
            "id": plan.id,
            "title": plan.title,
            "base": plan.base,
            "from": match d.ctx.origin { Origin::Base(tip) => json!({"base": tip.to_string()}), Origin::WorkTree => json!("work-tree") },
        },
        "phases": d.selected.iter().map(|&i| {
            let mut phase = phase_json(plan, &d.statuses[i], i, now);
            phase["claims"] = claims_json(&d.claims, &plan.phases[i].id, now);
            phase
        }).collect::<Vec<_>>(),
        "next": next_json(&d.next, plan),
        "warnings": d.ctx.warnings(),
    })
}

fn phase_json(plan: &Plan, status: &PhaseStatus, i: usize, now: i64) -> Value {
    let phase = &plan.phases[i];
    let steps = state::step_states(phase, status);
    json!({
        "id": status.id,
        "title": phase.title,
        "state": status.state,
        "stale": status.stale,
        "branch": status.branch,
        "branch_exists": status.branch_tip.is_some(),
        "completed_by": status.completed_by.map(|c| c.to_string()),
        "waiting_for": status.waiting_for,
        "last_checkpoint": status.last_checkpoint().map(|c| json!({
            "commit": c.commit.to_string(),
            "checkpoint": c.kind.as_str(),
            "status": c.status,
            "step": c.step,
            "time": crate::report::rfc3339(c.time),
            "summary": c.summary,
        })),
        "age_seconds": status.last_activity().map(|t| now - t),
        "steps": phase.steps.iter().zip(&steps).map(|(s, st)| json!({"id": s.id, "title": s.title, "state": st})).collect::<Vec<_>>(),
        "reason": status.reason(),
        "verify": verify_json(status),
    })
}

/// The verify state of a phase: of its merge once merged (`passed`, or `none` for a merge
/// without a passing record), else what its branch's latest verify says of the tip; `null` when
/// nothing was merged and no verify is recorded.
pub(crate) fn verify_json(status: &PhaseStatus) -> Value {
    match (status.completed_by, &status.tip_verify) {
        (Some(by), _) => json!({
            "of": "merge",
            "state": if status.verified { "passed" } else { "none" },
            "commit": by.to_string(),
            "time": null,
            "contradicted": status.contradicted,
            "uncounted_record": status.uncounted,
        }),
        (None, Some(v)) => json!({
            "of": "tip",
            "state": v.state,
            "commit": v.commit.to_string(),
            "time": v.ts,
        }),
        (None, None) => Value::Null,
    }
}

/// The claims this repository last fetched from its remotes (`claim`, `run --remote` and
/// `sync` fetch them), each with why it is stale, if it is.
fn claims(repo: &Repo, plan: &Plan) -> Result<Vec<(crate::claim::Seen, Option<String>)>, CliError> {
    let seen = crate::claim::all_tracked(repo, &plan.id)?;
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let here = crate::claim::Here::of(repo);
    let stale_after = crate::claim::stale_after(repo)?;
    let now = clock::now().timestamp();
    let mut out = Vec::new();
    for s in seen {
        let branch = format!("{}{}", plan.branch_prefix, s.claim.phase);
        let activity = crate::claim::activity(repo, &s.remote, &branch)?;
        let stale = s.claim.stale(now, stale_after, &here, activity);
        out.push((s, stale));
    }
    Ok(out)
}

/// A phase to start that another machine holds (a live claim not made here) is not the next
/// thing to do here: the next ready phase nobody else holds is, if there is one.
fn unclaimed_start(
    repo: &Repo,
    statuses: &[PhaseStatus],
    order: &[usize],
    claims: &[(crate::claim::Seen, Option<String>)],
    next: Next,
) -> Next {
    let Next::Start { phase } = &next else {
        return next;
    };
    let here = crate::claim::Here::of(repo);
    let held = |id: &str| {
        claims
            .iter()
            .any(|(s, stale)| s.claim.phase == id && stale.is_none() && !s.claim.is_mine(&here))
    };
    if !held(phase) {
        return next;
    }
    order
        .iter()
        .map(|&i| &statuses[i])
        .find(|s| s.state == State::Ready && !held(&s.id))
        .map_or(next.clone(), |s| Next::Start {
            phase: s.id.clone(),
        })
}

fn claims_json(claims: &[(crate::claim::Seen, Option<String>)], phase: &str, now: i64) -> Value {
    Value::Array(
        claims
            .iter()
            .filter(|(s, _)| s.claim.phase == phase)
            .map(|(s, stale)| {
                let mut claim = super::claim::claim_json(&s.claim, now);
                claim["remote"] = json!(s.remote);
                claim["stale"] = json!(stale);
                claim
            })
            .collect(),
    )
}

/// A line per claim of a phase shown, after the table.
fn render_claims(
    plan: &Plan,
    selected: &[usize],
    claims: &[(crate::claim::Seen, Option<String>)],
    p: Painter,
) -> String {
    let now = clock::now().timestamp();
    let mut out = String::new();
    for &i in selected {
        let id = &plan.phases[i].id;
        for (s, stale) in claims.iter().filter(|(s, _)| &s.claim.phase == id) {
            out.push_str(&format!(
                "{} {id} on {} by {}, {} ago\n",
                p.paint(Style::Hint, "claimed:"),
                s.remote,
                s.claim.who(),
                clock::human_duration(now - s.claim.time)
            ));
            if let Some(why) = stale {
                out.push_str(&format!(
                    "  {} {why}: take it over with `git planx claim {id} --remote {} --steal`\n",
                    p.paint(Style::Warning, "STALE:"),
                    s.remote
                ));
            }
        }
    }
    out
}

/// Commits on active phase branches that the pre-commit hook would have refused, by phase.
fn bypassed(
    repo: &Repo,
    plan: &Plan,
    statuses: &[PhaseStatus],
) -> Result<Vec<(String, usize)>, CliError> {
    let mut bypassed = Vec::new();
    let Some(base) = repo.base_tip(&plan.base)? else {
        return Ok(bypassed);
    };
    let mut walker = repo.walker()?;
    for (phase, status) in plan.phases.iter().zip(statuses) {
        if matches!(
            status.state,
            State::InProgress | State::Blocked | State::Failed
        ) && let Some(tip) = status.branch_tip
        {
            let commits = walker.between(tip, &[base])?;
            let found = crate::verify::bypass::count_bypassed(repo, phase, &commits)?;
            if found > 0 {
                bypassed.push((status.id.clone(), found));
            }
        }
    }
    crate::state::keep_learnt(repo);
    Ok(bypassed)
}

pub(crate) fn next_json(next: &Next, plan: &Plan) -> Value {
    let (action, phase) = match next {
        Next::Continue { phase, .. } => ("continue", Some(phase)),
        Next::Unblock { phase, .. } => ("unblock", Some(phase)),
        Next::Unverified { phase } => ("verify", Some(phase)),
        Next::Finish { phase } => ("finish", Some(phase)),
        Next::Start { phase } => ("start", Some(phase)),
        Next::PlanNotReady { phase, .. } => ("review-plan", Some(phase)),
        Next::CommitPlan { phase } => ("commit-plan", Some(phase)),
        Next::Stale { phase, .. } => ("restore", Some(phase)),
        Next::Wait { phase, .. } => ("wait", Some(phase)),
        Next::Done => ("done", None),
        Next::Nothing => ("nothing", None),
    };
    json!({"action": action, "phase": phase, "text": next_text(next, plan)})
}

/// The next action as one sentence with the command that does it.
pub(crate) fn next_text(next: &Next, plan: &Plan) -> String {
    match next {
        Next::Continue {
            phase,
            step: Some(step),
        } => {
            let title = plan
                .phase(phase)
                .and_then(|p| p.steps.iter().find(|s| &s.id == step))
                .map_or(String::new(), |s| format!(" — {}", s.title));
            format!(
                "continue phase `{phase}` with step {step}{title}; record it with `git planx checkpoint --step {step}`"
            )
        }
        Next::Continue { phase, step: None } => {
            format!("phase `{phase}` has no open step: verify it with `git planx verify {phase}`")
        }
        Next::Unblock {
            phase,
            state,
            reason,
        } => {
            let why = reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"));
            format!(
                "phase `{phase}` is {}{why}: deal with that, then `git planx resume {phase}`",
                state.as_str()
            )
        }
        Next::Finish { phase } => format!(
            "phase `{phase}` passed verify: merge it into {} with `git planx finish {phase}`",
            plan.base
        ),
        Next::Start { phase } => format!("start phase `{phase}`: `git planx start {phase}`"),
        Next::PlanNotReady {
            phase,
            status,
            committed,
        } => format!(
            "the plan is {}, so no phase can start (`{phase}` is first): review it, set `status = \"ready\"` in [plan] and commit it on {}{}",
            status.as_str(),
            plan.base,
            if *committed {
                ""
            } else {
                " (it is not committed there yet)"
            }
        ),
        Next::CommitPlan { phase } => format!(
            "the plan is not committed on {base}, so no phase can start (`{phase}` is first): commit it on {base}, then `git planx start {phase}`",
            base = plan.base
        ),
        Next::Stale { phase, missing } => format!(
            "phase `{phase}` is stale: {} no longer on {}; restore {} on {} (every other phase is complete)",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            plan.base,
            if missing.len() == 1 { "it" } else { "them" },
            plan.base
        ),
        Next::Unverified { phase } => format!(
            "phase `{phase}` was merged without a passing verify of its tree, so its dependents wait: verify its branch (`git planx verify {phase}`) and share the notes"
        ),
        Next::Wait { phase, waiting_for } => format!(
            "phase `{phase}` waits for {}; nothing can start now",
            waiting_for
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Next::Done => "every phase is complete".to_owned(),
        Next::Nothing => "the plan has no phases: add some to the plan".to_owned(),
    }
}

fn state_cell(status: &PhaseStatus, p: Painter) -> String {
    let style = match status.state {
        State::Complete => Style::Ok,
        State::Failed | State::Blocked | State::Unverified | State::Contradicted => Style::Error,
        State::InProgress => Style::Warning,
        State::Ready => Style::Bold,
        State::Waiting => Style::Dim,
    };
    let mut text = match status.state {
        State::Unverified => "UNVERIFIED".to_owned(),
        State::Contradicted => "CONTRADICTED".to_owned(),
        state => state.as_str().to_owned(),
    };
    if !status.stale.is_empty() {
        text.push_str(" (stale)");
    }
    p.paint(style, &text)
}

#[allow(clippy::too_many_arguments)]
fn render_table(
    plan: &Plan,
    statuses: &[PhaseStatus],
    selected: &[usize],
    next: &Next,
    now: i64,
    origin: &Origin,
    p: Painter,
    bypassed: &[(String, usize)],
    local: &std::collections::HashMap<String, crate::git::Oid>,
    claims: &str,
) -> String {
    let mut rows = vec![vec![
        p.paint(Style::Bold, "PHASE"),
        p.paint(Style::Bold, "STATE"),
        p.paint(Style::Bold, "BRANCH"),
        p.paint(Style::Bold, "LAST CHECKPOINT"),
        p.paint(Style::Bold, "STEP"),
        p.paint(Style::Bold, "AGE"),
    ]];
    for &i in selected {
        let status = &statuses[i];
        let phase = &plan.phases[i];
        let last = match (status.completed_by, status.last_checkpoint()) {
            (Some(by), _) => format!("merged {}", short(&by)),
            (None, Some(c)) => format!("{} {}", c.kind.as_str(), short(&c.commit)),
            (None, None) if status.branch_tip.is_some() => "none (not started by planx)".to_owned(),
            (None, None) => "-".to_owned(),
        };
        let steps = state::step_states(phase, status);
        let step = if phase.steps.is_empty() {
            "-".to_owned()
        } else {
            let done = steps.iter().filter(|s| **s == StepState::Completed).count();
            format!("{done}/{}", steps.len())
        };
        let age = status
            .last_activity()
            .map_or("-".to_owned(), |t| clock::human_duration(now - t));
        rows.push(vec![
            status.id.clone(),
            state_cell(status, p),
            if status.branch_tip.is_some() && local.contains_key(&status.branch) {
                status.branch.clone()
            } else if status.branch_tip.is_some() && status.completed_by.is_none() {
                // Only fetched: a CI checkout, or a phase started on another machine.
                format!("origin/{}", status.branch)
            } else if status.branch_tip.is_some() {
                status.branch.clone()
            } else {
                "-".to_owned()
            },
            last,
            step,
            age,
        ]);
    }
    let mut out = format!(
        "{} {}",
        p.paint(Style::Bold, &format!("plan {}:", plan.id)),
        plan.title
    );
    out.push_str(&match origin {
        Origin::Base(tip) => format!(" (base {} at {})\n\n", plan.base, short(tip)),
        Origin::WorkTree => format!(
            " (base {}; the plan is not committed there yet)\n\n",
            plan.base
        ),
    });
    out.push_str(&table(&rows));
    for &i in selected {
        let status = &statuses[i];
        if let Some(reason) = status.reason() {
            out.push_str(&format!(
                "\n{} {}: {reason}",
                status.id,
                status.state.as_str()
            ));
        }
        if let (State::Unverified, Some(by)) = (status.state, status.completed_by) {
            out.push_str(&format!(
                "\n{} {} was merged by {} without a passing verify of its tree: it does not count as complete",
                p.paint(Style::Error, "UNVERIFIED:"),
                status.id,
                short(&by)
            ));
        }
        if let (State::Contradicted, Some(by)) = (status.state, status.completed_by) {
            out.push_str(&format!(
                "\n{} {} was merged by {}, but what was merged fails its manifest: whatever its records say, it does not count as complete",
                p.paint(Style::Error, "CONTRADICTED:"),
                status.id,
                short(&by)
            ));
            for finding in &status.contradicted {
                out.push_str(&format!("\n  - {finding}"));
            }
        }
        if let Some(why) = &status.uncounted {
            out.push_str(&format!(
                "\n{} {}: a record planx did not write claims its merged tree passed ({why}); it does not count",
                p.paint(Style::Warning, "warning:"),
                status.id,
            ));
        }
        if !status.stale.is_empty() {
            out.push_str(&format!(
                "\n{} is stale: {} no longer on {}",
                status.id,
                status.stale.join(", "),
                plan.base
            ));
        }
        if let Some((_, count)) = bypassed.iter().find(|(id, _)| *id == status.id) {
            out.push_str(&format!(
                "\n{} {}: {count} commit{} changed paths outside the manifest: the pre-commit hook was bypassed or not installed (`git planx verify {}` lists them)",
                p.paint(Style::Warning, "warning:"),
                status.id,
                if *count == 1 { "" } else { "s" },
                status.id
            ));
        }
    }
    if !claims.is_empty() {
        out.push('\n');
        out.push_str(claims.trim_end());
    }
    out.push_str(&format!(
        "\n{} {}\n",
        p.paint(Style::Hint, "next:"),
        next_text(next, plan)
    ));
    out
}

/// The status document of the seeds, in markdown.
fn render_md(
    plan: &Plan,
    statuses: &[PhaseStatus],
    selected: &[usize],
    next: &Next,
    origin: &Origin,
) -> String {
    let mut out = format!("# Status: {} — {}\n\n", plan.id, md_escape(&plan.title));
    out.push_str(&match origin {
        Origin::Base(tip) => format!("Derived from git by `git planx status --format md` (base `{}` at `{}`).\n\n", plan.base, short(tip)),
        Origin::WorkTree => format!("Derived from git by `git planx status --format md` (the plan is not committed on `{}` yet).\n\n", plan.base),
    });
    if selected.len() > 1 {
        out.push_str("| Phase | State | Steps |\n| --- | --- | --- |\n");
        for &i in selected {
            let steps = state::step_states(&plan.phases[i], &statuses[i]);
            let done = steps.iter().filter(|s| **s == StepState::Completed).count();
            out.push_str(&format!(
                "| `{}` {} | {} | {done}/{} |\n",
                statuses[i].id,
                md_escape(&plan.phases[i].title),
                phase_word(&statuses[i]),
                steps.len()
            ));
        }
        out.push('\n');
    }
    for &i in selected {
        let status = &statuses[i];
        let phase = &plan.phases[i];
        out.push_str(&format!(
            "## Phase `{}` — {}: {}\n\n",
            phase.id,
            md_escape(&phase.title),
            phase_word(status)
        ));
        if let Some(reason) = status.reason() {
            out.push_str(&format!("Reason: {}\n\n", md_escape(&reason)));
        }
        if !phase.steps.is_empty() {
            out.push_str("| Step | Title | Status |\n| --- | --- | --- |\n");
            for (step, st) in phase.steps.iter().zip(state::step_states(phase, status)) {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    step.id,
                    md_escape(&step.title),
                    st.as_str()
                ));
            }
            out.push('\n');
        }
        if let Some((commit, verify)) = status.latest_verify() {
            out.push_str(&latest_checks(commit, &verify));
        }
        let results = test_results(status);
        if !results.is_empty() {
            out.push_str("Test results recorded:\n\n");
            for line in results {
                out.push_str(&format!("- {line}\n"));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "**Next step:** {}\n",
        md_escape(&next_text(next, plan))
    ));
    out
}

/// The seed's word for the phase, with the state when the word alone does not say it.
fn phase_word(status: &PhaseStatus) -> String {
    let word = StepState::of_phase(status.state).as_str();
    match status.state {
        State::Complete | State::InProgress => word.to_owned(),
        state => format!("{word} ({})", state.as_str()),
    }
}

/// The latest verify's verdict and each check's result.
fn latest_checks(commit: crate::git::Oid, verify: &VerifyRecord) -> String {
    let verdict = match (verify.passed, verify.no_run) {
        (true, _) => "VERIFIED",
        (false, true) => "checks not run",
        (false, false) => "NOT VERIFIED",
    };
    let mut out = format!(
        "Latest verify ({}, on `{}`): {verdict}.\n\n",
        verify.ts,
        short(&commit)
    );
    if !verify.checks.is_empty() {
        out.push_str("| Check | Result | Evidence |\n| --- | --- | --- |\n");
        for c in &verify.checks {
            let result = match (c.verified, c.skipped) {
                (true, _) => "VERIFIED",
                (false, true) => "NOT RUN",
                (false, false) => "NOT VERIFIED",
            };
            out.push_str(&format!(
                "| {} | {result} | {} |\n",
                md_escape(&c.name),
                md_escape(&c.evidence)
            ));
        }
        out.push('\n');
    }
    let errors: Vec<_> = verify
        .findings
        .iter()
        .filter(|f| f.level == "error")
        .collect();
    if !errors.is_empty() {
        out.push_str("Findings:\n\n");
        for f in errors {
            out.push_str(&format!("- {}\n", md_escape(&f.message)));
        }
        out.push('\n');
    }
    out
}

/// Every command run recorded in the phase's notes, oldest first.
fn test_results(status: &PhaseStatus) -> Vec<String> {
    let mut lines = Vec::new();
    for c in status.checkpoints.iter().rev() {
        for e in &c.events {
            let mut runs = e.runs("preflight");
            runs.extend(e.run("verify"));
            runs.extend(e.run("run"));
            for run in runs {
                let what = match (c.kind, &c.step) {
                    (Kind::Start, _) => "preflight".to_owned(),
                    (Kind::Step, Some(step)) => format!("step {step} verify"),
                    (kind, _) => kind.as_str().to_owned(),
                };
                lines.push(format!(
                    "{} {what}: `{}` {} — {}",
                    e.ts,
                    run.command.replace('`', "'"),
                    if run.passed { "passed" } else { "failed" },
                    run.describe()
                ));
            }
        }
    }
    lines
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
