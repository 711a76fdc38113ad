//! `git planx run`: execute the plan, phases in parallel worktrees, with live progress.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::GlobalArgs;
use super::context::{Context, Need, trust_policy};
use super::ui::{Style, Ui};
use crate::error::{CliError, ErrorKind};
use crate::git::Repo;
use crate::lifecycle::LifecycleError;
use crate::plan::MAX_JOBS;
use crate::run::scheduler::Why;
use crate::run::{
    self, Explained, Observer, Outcome, Render, RunError, RunEvent, RunOptions, Summary, Touch,
};
use crate::state::judging::Subject;
use crate::verify::Report;

/// Run the plan: ready phases in parallel worktrees, an executor per phase, verify, merge.
///
/// Repeatedly takes the phases whose dependencies are complete (never two at once whose
/// manifests could touch the same path), up to --jobs at a time, each in its own linked
/// worktree on its phase branch. For each: writes the phase brief, runs the executor with
/// PLANX_PLAN, PLANX_PHASE, PLANX_BRIEF, PLANX_BRANCH and PLANX_WORKTREE set (output in a log
/// under .git/planx/run/), commits whatever it left, verifies, and merges a pass into base —
/// one merge at a time. A failure records a `failed` checkpoint; the phases depending on it are
/// skipped; every other phase goes on (--fail-fast: no new phase starts after a failure). Ctrl-C
/// stops the executors and leaves the worktrees;
/// running again continues. Exit 0 only when every selected phase is complete.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Phases run at the same time at most, 1 to 256 [default: the plan's [run] jobs, else 1]
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// The command that executes a phase [default: PLANX_EXECUTOR, else the plan's [run] executor]
    #[arg(long, value_name = "COMMAND")]
    pub executor: Option<String>,
    /// Only these phases (repeat the option for several)
    #[arg(long = "phase", value_name = "PHASE")]
    pub phases: Vec<String>,
    /// Print the schedule (waves of phases) and what would run, and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// After a failure, go on with every phase that does not depend on it (the default)
    #[arg(long, short = 'k', overrides_with = "fail_fast")]
    pub keep_going: bool,
    /// After a failure, start no new phase (the running ones finish)
    #[arg(long, overrides_with = "keep_going")]
    pub fail_fast: bool,
    /// Run phases that failed before again (their branch and worktree are reused)
    #[arg(long)]
    pub retry_failed: bool,
    /// Run even though the plan's status is not `ready`
    #[arg(long)]
    pub force: bool,
    /// The executor is you: it gets this terminal (e.g. --executor "$SHELL"), one phase at a time
    #[arg(long)]
    pub interactive: bool,
    /// Run with other machines against this remote: claim each phase there first, push as it goes
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
}

/// `--jobs`: a number of phases, at least 1 (more than [`MAX_JOBS`] is capped in `cmd_run`).
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("0 phases at a time would run nothing; give 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Ok(usize::MAX),
        Err(_) => Err(format!("`{text}` is not a number of phases")),
    }
}

pub fn cmd_run(ui: &Ui, global: &GlobalArgs, args: &RunArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    ctx.require_valid_base_plan()?;
    if args.interactive && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(CliError::usage("--interactive needs a terminal")
            .hint("run it from a terminal, or give an executor that needs no person"));
    }
    let opts = RunOptions {
        interactive: args.interactive,
        jobs: if args.interactive {
            1
        } else {
            args.jobs
                .or(ctx.plan.run.jobs)
                .unwrap_or(1)
                .clamp(1, MAX_JOBS)
        },
        executor: args.executor.clone().or_else(|| {
            std::env::var("PLANX_EXECUTOR")
                .ok()
                .filter(|e| !e.trim().is_empty())
        }),
        phases: args.phases.clone(),
        keep_going: !args.fail_fast,
        retry_failed: args.retry_failed,
        force: args.force,
        trust: trust_policy(global.trust_once),
        remote: args.remote.clone(),
    };
    if let Some(jobs) = args.jobs.filter(|&n| n > MAX_JOBS)
        && !ui.quiet
    {
        ui.err(&format!(
            "{}: --jobs {} is more than a run takes; running {MAX_JOBS} phases at a time at most\n",
            ui.err_painter().paint(Style::Warning, "warning"),
            if jobs == usize::MAX {
                "this large".to_owned()
            } else {
                jobs.to_string()
            },
        ));
    }
    if args.dry_run {
        return dry_run(ui, &ctx, &opts);
    }
    let summary = execute(ui, ctx.subject(), &opts)?;
    finish_output(ui, &ctx, &summary)
}

/// Runs the plan with the display `ui` asks for (used by `demo` too).
pub(crate) fn execute(
    ui: &Ui,
    subject: Subject<'_>,
    opts: &RunOptions,
) -> Result<Summary, CliError> {
    let render = Words {
        plan: subject.plan,
        plan_path: subject.plan_path,
    };
    // The observers write from the phases' threads, through `ui`: a closed pipe never
    // stops the run (the summary at the end finds it closed and ends quietly).
    let observer: Box<dyn Observer + '_> = if ui.json {
        Box::new(JsonLines {
            ui,
            closed: AtomicBool::new(false),
        })
    } else if std::io::stderr().is_terminal() && !ui.quiet && !opts.interactive {
        Box::new(Live::new(ui))
    } else {
        Box::new(Lines { ui })
    };
    let summary = run::run(subject, opts, &render, observer.as_ref())?;
    observer.tick();
    drop(observer);
    Ok(summary)
}

/// The words a run records in git and shows in its events: the brief, errors and verify
/// reports, as every other command says them.
struct Words<'a> {
    plan: &'a crate::plan::Plan,
    plan_path: &'a str,
}

impl Render for Words<'_> {
    fn brief(&self, work: &Repo, phase: &str) -> Result<String, LifecycleError> {
        super::brief::markdown(Subject::new(work, self.plan, self.plan_path), phase)
    }

    fn error(&self, error: RunError) -> Explained {
        let e = CliError::from(error);
        Explained {
            message: e.message,
            causes: e.causes,
            details: e.details,
        }
    }

    fn verify_summary(&self, report: &Report) -> String {
        crate::error::verify_summary(report)
    }

    fn verify_problems(&self, report: &Report) -> Vec<String> {
        crate::error::verify_problems(report)
    }

    fn why(&self, why: &Why) -> String {
        because(self.plan, why)
    }

    fn touched(&self, touched: &[Touch]) -> Explained {
        touched_words(touched)
    }
}

/// The reason a phase failed because refs it may not change were changed while its executor
/// ran, and what the user may do about each: planx changes none of them back.
fn touched_words(touched: &[Touch]) -> Explained {
    let short = |v: &Option<String>| match v {
        Some(v) => v.chars().take(10).collect::<String>(),
        None => "nothing".to_owned(),
    };
    let what: Vec<String> = touched
        .iter()
        .map(|t| {
            if t.notes_on.is_empty() {
                format!("{} ({} → {})", t.reference, short(&t.old), short(&t.new))
            } else {
                let on: Vec<String> = t.notes_on.iter().map(|o| short(&Some(o.clone()))).collect();
                format!("{} (notes on {})", t.reference, on.join(", "))
            }
        })
        .collect();
    let mut details = Vec::new();
    for t in touched {
        let name = &t.reference;
        if !t.notes_on.is_empty() {
            for on in &t.notes_on {
                let on = short(&Some(on.clone()));
                details.push(format!(
                    "{name}: the note on {on} has lines planx did not write, or lost some:"
                ));
                details.push(format!(
                    "  `git notes --ref planx show {on}` shows it, `git notes --ref planx edit {on}` takes out what is not wanted"
                ));
            }
            continue;
        }
        match (&t.old, &t.new) {
            (Some(old), Some(new)) => {
                details.push(format!(
                    "{name} moved {} → {}:",
                    short(&t.old),
                    short(&t.new)
                ));
                details.push(format!(
                    "  `git log --oneline {}..{}` shows what came in",
                    short(&t.old),
                    short(&t.new)
                ));
                details.push(format!(
                    "  `git update-ref {name} {old} {new}` sets it back, if that is not wanted"
                ));
            }
            (None, Some(new)) => {
                details.push(format!("{name} was created at {}:", short(&t.new)));
                details.push(format!(
                    "  `git update-ref -d {name} {new}` deletes it, if it is not wanted"
                ));
            }
            (Some(old), None) => {
                details.push(format!("{name} was deleted (at {}):", short(&t.old)));
                details.push(format!("  `git update-ref {name} {old}` brings it back"));
            }
            (None, None) => details.push(format!("{name} changed")),
        }
    }
    details.push(
        "planx set none of them back; then `git planx run --retry-failed` runs the phase again"
            .to_owned(),
    );
    Explained {
        message: format!(
            "changed while the executor ran, by someone other than planx: {}",
            what.join(", ")
        ),
        causes: Vec::new(),
        details,
    }
}

/// Why the scheduler skipped a phase, or did not start it.
fn because(plan: &crate::plan::Plan, why: &Why) -> String {
    let id = |i: usize| plan.phases[i].id.as_str();
    match why {
        Why::WasComplete => "complete before this run".to_owned(),
        Why::FailedBefore => "failed before; --retry-failed runs it again".to_owned(),
        Why::Unverified => "merged without a passing verify; verify it".to_owned(),
        Why::Dependency(d) => format!("`{}` did not complete", id(*d)),
        Why::InterruptedBeforeStart => "interrupted before it started".to_owned(),
        Why::FailFast => "a phase failed and --fail-fast stops the run".to_owned(),
        Why::WaitsFor(deps) => {
            let deps: Vec<&str> = deps.iter().map(|&d| id(d)).collect();
            format!("waits for {} (not in this run)", deps.join(", "))
        }
        Why::Ran => String::new(),
        Why::CompletedElsewhere => "completed by another machine".to_owned(),
        Why::FailedElsewhere => {
            "another machine ran it, and it failed or is blocked there; `git planx status` says why"
                .to_owned()
        }
        Why::StaleClaim => {
            "claimed by a machine that is gone: its claim is stale; `git planx status` says whose, and `git planx claim PHASE --steal` takes it over".to_owned()
        }
    }
}

fn finish_output(ui: &Ui, ctx: &Context, summary: &Summary) -> Result<(), CliError> {
    if ui.json {
        ui.json(&json!({
            "schema": "planx.run/1",
            "complete": summary.all_complete(),
            "phases": summary.outcomes.iter().map(|(id, o, why)| json!({"phase": id, "outcome": o, "why": why})).collect::<Vec<_>>(),
        }))?;
    } else {
        let p = ui.out_painter();
        let mut out = String::from("\n");
        for (id, o, why) in &summary.outcomes {
            let style = match o {
                Outcome::Completed | Outcome::WasComplete => Style::Ok,
                Outcome::Failed | Outcome::Blocked => Style::Error,
                Outcome::Skipped | Outcome::Interrupted => Style::Warning,
                Outcome::NotRun | Outcome::Elsewhere => Style::Dim,
            };
            // Padded before painting: the colour codes take no room on screen.
            let mark = format!("{:<12}", o.as_str());
            out.push_str(&format!("{} {id}: {why}\n", p.paint(style, &mark)));
        }
        if !ui.quiet {
            ui.out(&out)?;
        }
    }
    if summary.interrupted.is_some() {
        return Err(CliError::new(ErrorKind::RepoState, "interrupted").hint(
            "the worktrees are left as they were (under .git/planx/worktrees/); `git planx run` again continues",
        ));
    }
    if !ui.json && !ui.quiet {
        // The plan's execution report, as `git planx report` prints it, with base as it is now.
        let origin = match ctx.repo.base_tip(&ctx.plan.base)? {
            Some(tip) => super::context::Origin::Base(tip),
            None => ctx.origin.clone(),
        };
        ui.out("\n")?;
        super::report::print_report_for(ui, ctx.subject(), &origin)?;
    }
    crate::error::answer(summary.all_complete())
}

fn dry_run(ui: &Ui, ctx: &Context, opts: &RunOptions) -> Result<(), CliError> {
    let plan = &ctx.plan;
    let schedule = run::schedule(ctx.subject(), opts)?;
    let executor = opts
        .executor
        .clone()
        .or_else(|| plan.run.executor.as_ref().map(|e| e.shell.clone()));
    if ui.json {
        ui.json(&json!({
            "schema": "planx.run-plan/1",
            "jobs": opts.jobs,
            "executor": executor,
            "waves": schedule.waves,
            "timeouts": schedule.waves.iter().flatten().filter_map(|id| Some((id.clone(), run::phase_timeout(plan.phase(id)?).as_secs()))).collect::<BTreeMap<_, _>>(),
            "complete": schedule.complete,
            "left_out": schedule.left_out.iter().map(|(p, why)| json!({"phase": p, "why": because(plan, why)})).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    let p = ui.out_painter();
    let mut out = format!(
        "{} plan `{}` with {} job{}; executor: {}\n",
        p.paint(Style::Bold, "would run"),
        plan.id,
        opts.jobs,
        if opts.jobs == 1 { "" } else { "s" },
        executor
            .as_deref()
            .unwrap_or("none (pass --executor or set PLANX_EXECUTOR)")
    );
    for (n, wave) in schedule.waves.iter().enumerate() {
        out.push_str(&format!("\nwave {}:\n", n + 1));
        for id in wave {
            let path = run::worktree_path(&ctx.repo, plan, id);
            let timeout = plan.phase(id).map_or(String::new(), |phase| {
                let secs = run::phase_timeout(phase).as_secs() as i64;
                let default = if phase.timeout.is_none() {
                    " (the default)"
                } else {
                    ""
                };
                format!(", at most {}{default}", crate::clock::human_duration(secs))
            });
            out.push_str(&format!("  {id:<16} in {}{timeout}\n", path.display()));
        }
    }
    if schedule.waves.is_empty() {
        out.push_str("\nnothing to run\n");
    }
    if !schedule.complete.is_empty() {
        out.push_str(&format!(
            "\nalready complete: {}\n",
            schedule.complete.join(", ")
        ));
    }
    for (id, why) in &schedule.left_out {
        out.push_str(&format!("skipped: {id}: {}\n", because(plan, why)));
    }
    out.push_str("\nfor each phase: brief → executor → commit what it left → verify → merge into base (one at a time)\n");
    ui.out(&out)?;
    Ok(())
}

fn describe(event: &RunEvent) -> String {
    match event {
        RunEvent::Started {
            branch, worktree, ..
        } => format!("started on {branch} in {}", worktree.display()),
        RunEvent::Executing { command, log, .. } => {
            format!("running `{command}` (log: {})", log.display())
        }
        RunEvent::Executed {
            outcome,
            duration_ms,
            ..
        } => {
            format!(
                "executor ended: {outcome} after {}",
                crate::clock::human_duration((duration_ms / 1000) as i64)
            )
        }
        RunEvent::Committed { commit, .. } => {
            format!("committed what the executor left: {}", &commit[..10])
        }
        RunEvent::Verified {
            passed, summary, ..
        } => {
            format!(
                "{}: {summary}",
                if *passed { "VERIFIED" } else { "NOT VERIFIED" }
            )
        }
        RunEvent::Merged { commit, .. } => format!("merged into base: {}", &commit[..10]),
        RunEvent::Failed { reason, .. } => format!("FAILED: {reason}"),
        RunEvent::Blocked { reason, .. } => format!("BLOCKED: {reason}"),
        RunEvent::Skipped { because, .. } => format!("skipped: {because}"),
        RunEvent::Interrupted { .. } => "interrupted: its worktree is left as it was".to_owned(),
        RunEvent::Elsewhere { reason, .. } => {
            format!("{reason}; waiting for that machine")
        }
        RunEvent::Waiting { because } => {
            format!("cannot look at the phases other machines hold ({because}); trying again")
        }
    }
}

/// One line per event (not a terminal).
struct Lines<'a> {
    ui: &'a Ui,
}

impl Observer for Lines<'_> {
    fn event(&self, event: &RunEvent) {
        let important = matches!(
            event,
            RunEvent::Failed { .. } | RunEvent::Blocked { .. } | RunEvent::Interrupted { .. }
        );
        if self.ui.quiet && !important {
            return;
        }
        let who = match event.phase() {
            "" => "run",
            phase => phase,
        };
        let mut line = format!(
            "{}: {}\n",
            self.ui.err_painter().paint(Style::Bold, who),
            describe(event)
        );
        if let RunEvent::Failed { tail, .. } = event {
            for l in tail.lines() {
                line.push_str(&format!("  | {l}\n"));
            }
        }
        self.ui.err(&line);
    }
}

/// Events as JSON lines on stdout (`--json`); once stdout is closed, nothing more.
struct JsonLines<'a> {
    ui: &'a Ui,
    closed: AtomicBool,
}

impl Observer for JsonLines<'_> {
    fn event(&self, event: &RunEvent) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let mut value = serde_json::to_value(event).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("schema".into(), json!("planx.run-event/1"));
            map.insert(
                "ts".into(),
                json!(crate::clock::format(crate::clock::now())),
            );
        }
        if self.ui.out(&format!("{value}\n")).is_err() {
            self.closed.store(true, Ordering::Relaxed);
        }
    }
}

/// A live block on the terminal: one line per running phase with its elapsed time and state;
/// finished phases scroll up above it.
struct Live<'a> {
    ui: &'a Ui,
    state: Mutex<LiveState>,
}

struct LiveState {
    running: BTreeMap<String, (Instant, String)>,
    drawn: usize,
    frame: usize,
}

impl<'a> Live<'a> {
    fn new(ui: &'a Ui) -> Live<'a> {
        Live {
            ui,
            state: Mutex::new(LiveState {
                running: BTreeMap::new(),
                drawn: 0,
                frame: 0,
            }),
        }
    }

    fn redraw(&self, state: &mut LiveState, permanent: Option<String>) {
        const SPIN: [&str; 4] = ["|", "/", "-", "\\"];
        let mut out = String::new();
        if state.drawn > 0 {
            out.push_str(&format!("\x1b[{}A\x1b[J", state.drawn));
        }
        if let Some(line) = permanent {
            out.push_str(&line);
        }
        state.frame += 1;
        for (phase, (since, what)) in &state.running {
            out.push_str(&format!(
                "  {} {:<16} {:>7}  {what}\n",
                SPIN[state.frame % 4],
                phase,
                crate::clock::human_duration(since.elapsed().as_secs() as i64)
            ));
        }
        state.drawn = state.running.len();
        self.ui.err(&out);
    }
}

impl Observer for Live<'_> {
    fn event(&self, event: &RunEvent) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let phase = event.phase().to_owned();
        let p = self.ui.err_painter();
        let permanent = match event {
            RunEvent::Merged { commit, .. } => {
                state.running.remove(&phase);
                Some(format!(
                    "{} {phase}: merged into base ({})\n",
                    p.paint(Style::Ok, "✓"),
                    &commit[..10]
                ))
            }
            RunEvent::Failed { reason, tail, .. } => {
                state.running.remove(&phase);
                let mut s = format!("{} {phase}: {reason}\n", p.paint(Style::Error, "✗"));
                for l in tail.lines() {
                    s.push_str(&format!("    | {l}\n"));
                }
                Some(s)
            }
            RunEvent::Blocked { reason, .. } => {
                state.running.remove(&phase);
                Some(format!(
                    "{} {phase}: {reason}\n",
                    p.paint(Style::Error, "!")
                ))
            }
            RunEvent::Skipped { because, .. } => Some(format!(
                "{} {phase}: skipped, {because}\n",
                p.paint(Style::Warning, "-")
            )),
            RunEvent::Interrupted { .. } => {
                state.running.remove(&phase);
                Some(format!(
                    "{} {phase}: interrupted\n",
                    p.paint(Style::Warning, "!")
                ))
            }
            RunEvent::Elsewhere { .. } | RunEvent::Waiting { .. } => {
                state.running.remove(&phase);
                Some(format!(
                    "{} {}: {}\n",
                    p.paint(Style::Dim, "·"),
                    if phase.is_empty() { "run" } else { &phase },
                    describe(event)
                ))
            }
            other => {
                let since = state
                    .running
                    .get(&phase)
                    .map_or_else(Instant::now, |(t, _)| *t);
                let what = match other {
                    RunEvent::Started { .. } => "started".to_owned(),
                    RunEvent::Executing { .. } => "executor running".to_owned(),
                    RunEvent::Executed { .. } => "committing".to_owned(),
                    RunEvent::Committed { .. } => "verifying".to_owned(),
                    RunEvent::Verified { passed: true, .. } => "merging".to_owned(),
                    _ => "…".to_owned(),
                };
                state.running.insert(phase, (since, what));
                None
            }
        };
        self.redraw(&mut state, permanent);
    }

    fn tick(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.redraw(&mut state, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_of_the_scheduler_in_words() {
        let mut text = String::from(
            "version = 1\n[plan]\nid = \"g\"\ntitle = \"G\"\nstatus = \"ready\"\nbase = \"main\"\n",
        );
        for id in ["core", "api", "docs"] {
            text.push_str(&format!(
                "[[phase]]\nid = \"{id}\"\ntitle = \"P\"\nkind = \"design\"\nowner = \"x\"\n\
                 [phase.files]\nallow = [\"{id}/**\"]\n[[phase.check]]\nname = \"c\"\nmanual = true\n"
            ));
        }
        let plan = crate::plan::load_valid("plan.toml", text.into_bytes()).expect("a valid plan");
        let words = [
            (Why::WasComplete, "complete before this run"),
            (
                Why::FailedBefore,
                "failed before; --retry-failed runs it again",
            ),
            (
                Why::Unverified,
                "merged without a passing verify; verify it",
            ),
            (Why::Dependency(1), "`api` did not complete"),
            (Why::InterruptedBeforeStart, "interrupted before it started"),
            (
                Why::FailFast,
                "a phase failed and --fail-fast stops the run",
            ),
            (
                Why::WaitsFor(vec![0, 2]),
                "waits for core, docs (not in this run)",
            ),
        ];
        for (why, expected) in words {
            assert_eq!(because(&plan, &why), expected);
        }
    }
}
