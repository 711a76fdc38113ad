//! `git planx brief`: the phase execution plan, for the agent or person who executes a phase.

use clap::Args;

use super::context::{Context, Need, Origin};
use super::md::{self, Format};
use super::short;
use super::ui::Ui;
use super::{Document, GlobalArgs};
use crate::clock;
use crate::error::CliError;
use crate::lifecycle::LifecycleError;
use crate::plan::EntryKind;
use crate::report::Command;
use crate::report::brief::{self, Brief, JudgedAt, PreviousAttempt, SuiteFrom};
use crate::state::State;
use crate::state::judging::{BaseTip, Subject};

/// Write the phase execution plan of a phase, for the agent or person who executes it.
///
/// An introduction (the goal, the deliverables, and what to do when a step cannot be
/// completed), pre-implementation steps (read the plan, look at the phase's recorded status,
/// run the full test suite, review the code the manifest names), the plan's guidelines, the
/// steps with their verification commands, the file manifest, the acceptance checks and
/// post-implementation steps. Everything comes from git: the plan as committed on base — at the
/// phase's fork point once it has started — and the phase's recorded state. Commands are shown
/// as they run, with the [commands] name they come from.
#[derive(Debug, Args)]
pub struct BriefArgs {
    /// The phase
    pub phase: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
}

pub fn cmd_brief(ui: &Ui, global: &GlobalArgs, args: &BriefArgs) -> Result<(), CliError> {
    let brief = read(global, &args.phase)?;
    if ui.json || args.format == Format::Json {
        ui.json(&md::document("planx.brief/1", &brief))?;
    } else {
        ui.out(&render(&brief))?;
    }
    Ok(())
}

/// The `planx.brief/1` document, or with `--format md` the markdown as a JSON string.
pub(crate) fn document(global: &GlobalArgs, args: &BriefArgs) -> Result<Document, CliError> {
    let brief = read(global, &args.phase)?;
    Ok(Document::yes(match args.format {
        Format::Json => md::document("planx.brief/1", &brief),
        Format::Md => serde_json::Value::String(render(&brief)),
    }))
}

fn read(global: &GlobalArgs, phase: &str) -> Result<Brief, CliError> {
    let ctx = Context::open(global, Need::Base)?;
    let Origin::Base(base_tip) = ctx.origin else {
        return Err(CliError::repo_state(
            "the plan is not committed on its base",
        ));
    };
    Ok(brief::brief(ctx.subject(), base_tip, phase)?)
}

/// A command as it runs, with the `[commands]` name it comes from.
/// The brief of `phase` as markdown, for `run` to hand to an executor.
pub(crate) fn markdown(subject: Subject<'_>, phase: &str) -> Result<String, LifecycleError> {
    let base_tip = subject.base_tip(BaseTip::OrOrigin)?;
    match brief::brief(subject, base_tip, phase) {
        Ok(brief) => Ok(render(&brief)),
        Err(crate::report::ReportError::Judging(e)) => Err(e.into()),
        Err(crate::report::ReportError::Git(e)) => Err(e.into()),
        Err(e) => Err(LifecycleError::Io(std::io::Error::other(e.to_string()))),
    }
}

pub(crate) fn command(c: &Command) -> String {
    match &c.name {
        Some(name) => format!("{} (`[commands] {name}`)", md::code(&c.shell)),
        None => md::code(&c.shell),
    }
}

fn commands(list: &[Command]) -> String {
    list.iter().map(command).collect::<Vec<_>>().join(", then ")
}

fn render(b: &Brief) -> String {
    let p = &b.phase;
    let mut out = format!("# Phase execution plan: `{p}` — {}\n\n", md::line(&b.title));
    let mut facts = vec![
        format!("Plan `{}` — {}", b.plan, md::line(&b.plan_title)),
        format!("branch `{}` from `{}`", b.branch, b.base),
        format!("{} phase", b.kind.as_str()),
    ];
    if let Some(owner) = &b.owner {
        facts.push(format!("owner: {}", md::line(owner)));
    }
    if let Some(secs) = b.timeout_seconds {
        facts.push(format!(
            "timeout: {}",
            clock::human_duration(secs.try_into().unwrap_or(i64::MAX))
        ));
    }
    out.push_str(&format!("{}.\n\n", facts.join("; ")));
    out.push_str(&format!(
        "Written by `git planx brief {p}` from the plan `{}` on `{}` at {} `{}`.\n\n",
        b.plan_path,
        b.base,
        match b.judged_at {
            JudgedAt::ForkPoint => "the phase's fork point",
            JudgedAt::Base => "its tip",
        },
        short(&b.plan_commit)
    ));

    out.push_str("## Introduction\n\n");
    match &b.goal {
        Some(goal) => out.push_str(&format!("{}\n\n", goal.trim())),
        None => out.push_str("The plan states no goal for this phase beyond its title.\n\n"),
    }
    if !b.deliverables.is_empty() {
        out.push_str("Deliverables:\n\n");
        for d in &b.deliverables {
            out.push_str(&format!("- {}\n", md::line(d)));
        }
        out.push('\n');
    }
    if !b.depends_on.is_empty() {
        let deps: Vec<String> = b
            .depends_on
            .iter()
            .map(|d| format!("`{}` ({})", d.id, d.state.as_str()))
            .collect();
        out.push_str(&format!("It depends on {}.\n\n", deps.join(", ")));
    }
    out.push_str(&format!(
        "**If any step cannot be completed, stop.** Record why with `git planx checkpoint --blocked \"REASON\"` \
         and tell whoever runs the plan. Do not report the phase complete: it is complete when \
         `git planx verify {p}` passes and the phase is merged with `git planx finish {p}`.\n\n"
    ));

    if let Some(previous) = &b.previous_attempt {
        out.push_str(&previous_attempt(previous, p));
    }

    out.push_str("## Pre-implementation steps\n\n");
    out.push_str(&match b.judged_at {
        JudgedAt::ForkPoint => format!(
            "1. Read the whole plan, as it was on `{}` where the phase forked: `git show {}:{}`.\n",
            b.base,
            short(&b.plan_commit),
            b.plan_path
        ),
        JudgedAt::Base => format!(
            "1. Read the whole plan: `git show {}:{}`.\n",
            b.base, b.plan_path
        ),
    });
    let now = match (&b.state, &b.last_checkpoint) {
        (State::Complete, _) => "It is complete: there is nothing left to do.".to_owned(),
        (State::Ready | State::Waiting, _) => format!(
            "It has not started: `git planx start {p}` runs the preflight and puts it on branch `{}`.",
            b.branch
        ),
        (state, Some(c)) => {
            let mut text = format!(
                "It is {}. Its last checkpoint is `{}` ({}{}): {}.",
                state.as_str(),
                short(&c.commit),
                c.checkpoint,
                c.step.as_ref().map_or(String::new(), |s| format!(" {s}")),
                md::line(&c.summary)
            );
            if let Some(reason) = &c.reason {
                text.push_str(&format!(" The reason recorded: {}.", md::line(reason)));
            }
            text.push_str(&format!(
                " `git planx resume {p}` switches to it and names the next step: continue from there, and do not redo completed steps."
            ));
            text
        }
        (state, None) => format!(
            "It is {}: `git planx resume {p}` switches to it and names the next step.",
            state.as_str()
        ),
    };
    out.push_str(&format!(
        "2. Look at the phase's recorded status: `git planx status {p} --format md`. {now}\n"
    ));
    match b.full_suite_from {
        SuiteFrom::None => out.push_str(
            "3. Run the full test suite and stop if it fails. The plan names none (no `[preflight] run`, no `test` in `[commands]`): ask whoever runs the plan which one it is.\n",
        ),
        _ => out.push_str(&format!(
            "3. Run the full test suite, {}, and make sure it passes. If it does not, stop and tell whoever runs the plan.\n",
            commands(&b.full_suite)
        )),
    }
    // `modify` entries that match nothing where the phase forks from cannot be met: verify will
    // fail on them, and the executor should know before starting.
    let unmatched: Vec<&String> = b
        .manifest
        .iter()
        .filter(|l| l.kind == EntryKind::Modify)
        .flat_map(|l| l.patterns.iter())
        .filter(|pattern| !b.to_review.iter().any(|r| &r.pattern == *pattern))
        .collect();
    if b.to_review.is_empty() && unmatched.is_empty() {
        out.push_str("4. Review the code around what the manifest below names; the phase is to modify or delete no existing file.\n");
    } else {
        out.push_str("4. Review the code the manifest names before changing it:\n");
        const SHOWN: usize = 30;
        for r in b.to_review.iter().take(SHOWN) {
            out.push_str(&format!(
                "   - {} ({} {})\n",
                md::code(&r.path),
                r.kind.as_str(),
                md::code(&r.pattern)
            ));
        }
        if b.to_review.len() > SHOWN {
            out.push_str(&format!(
                "   - … and {} more (`git planx brief {p} --format json` lists them all)\n",
                b.to_review.len() - SHOWN
            ));
        }
        for pattern in unmatched {
            out.push_str(&format!(
                "   - {} (modify) matches no file at `{}`: it cannot be modified, and `verify` will fail on it. Ask whoever runs the plan before going on.\n",
                md::code(pattern),
                short(&b.plan_commit)
            ));
        }
    }
    out.push('\n');

    if !b.prerequisites.is_empty() {
        out.push_str("## Prerequisites\n\n");
        out.push_str("Complete these before the implementation steps. If one does not hold and you cannot make it hold, stop and record why with `git planx checkpoint --blocked \"REASON\"`.\n\n");
        for (n, pre) in b.prerequisites.iter().enumerate() {
            out.push_str(&format!("{}. **{}**", n + 1, md::line(&pre.title)));
            if let Some(why) = &pre.why {
                out.push_str(&format!(" — {}", md::line(why)));
            }
            match &pre.verify {
                Some(v) => out.push_str(&format!("\n   Verification: {} must pass.\n", command(v))),
                None => out
                    .push_str("\n   Verification: the plan gives no command; check it by hand.\n"),
            }
        }
        out.push('\n');
    }

    out.push_str("## Guidelines\n\n");
    match &b.guidelines {
        Some(g) if !g.trim().is_empty() => out.push_str(&format!("{}\n\n", g.trim())),
        _ => out.push_str("The plan gives no guidelines.\n\n"),
    }

    if !b.risks.is_empty() {
        out.push_str("## Risks and mitigations\n\n");
        let rows: Vec<Vec<String>> = b
            .risks
            .iter()
            .map(|r| {
                vec![
                    md::cell(&r.risk),
                    r.likelihood.map_or("-", |l| l.as_str()).to_owned(),
                    md::cell(&r.mitigation),
                ]
            })
            .collect();
        out.push_str(&md::table(&["Risk", "Likelihood", "Mitigation"], &rows));
        out.push('\n');
    }

    out.push_str("## Implementation steps\n\n");
    if let Some(radius) = &b.blast_radius {
        out.push_str(&format!(
            "The phase's blast radius — the tests that guard what it touches — is {}. Work test first: \
             once the failing tests are written, `git planx checkpoint --red` records that it fails; \
             once they pass, `git planx checkpoint --green` records that it passes.\n\n",
            command(radius)
        ));
    }
    if b.steps.is_empty() {
        out.push_str(
            "The plan lists no steps for this phase: deliver the goal within the manifest below, and record progress with `git planx checkpoint -m MESSAGE`.\n\n",
        );
    }
    for s in &b.steps {
        out.push_str(&format!("### Step {}: {}\n\n", s.id, md::line(&s.title)));
        if let Some(d) = &s.description {
            out.push_str(&format!("{}\n\n", d.trim()));
        }
        match &s.verify {
            Some(v) => out.push_str(&format!(
                "- Verification: {} must pass.\n- When the step is done: `git planx checkpoint --step {}` commits what is staged, runs the verification and records it.\n",
                command(v),
                s.id
            )),
            None => out.push_str(&format!(
                "- Verification: the plan gives no command for this step.\n- When the step is done: `git planx checkpoint --step {}` commits what is staged and records it.\n",
                s.id
            )),
        }
        out.push_str(&format!("- Recorded so far: {}.\n\n", s.state.as_str()));
    }

    out.push_str("## File manifest\n\n");
    out.push_str(&format!(
        "`git planx verify {p}` compares every path the branch changes with this manifest. {}\n\n",
        if b.strict {
            "A change it does not declare is an error (the plan is strict)."
        } else {
            "A change it does not declare is a warning (the plan is not strict)."
        }
    ));
    if b.manifest.is_empty() {
        out.push_str("The manifest is empty: the phase may change no path.\n\n");
    } else {
        let rows: Vec<Vec<String>> = b
            .manifest
            .iter()
            .map(|list| {
                vec![
                    list.kind.as_str().to_owned(),
                    list.patterns
                        .iter()
                        .map(|p| md::code_cell(p))
                        .collect::<Vec<_>>()
                        .join(", "),
                    md::cell(&rule(list.kind, p)),
                ]
            })
            .collect();
        out.push_str(&md::table(&["List", "Paths", "Rule"], &rows));
        out.push('\n');
    }

    out.push_str("## Acceptance checks\n\n");
    if b.checks.is_empty() {
        out.push_str("The phase has no checks: only the manifest is verified.\n\n");
    } else {
        out.push_str(&format!(
            "`git planx verify {p}` evaluates each one; every one must be VERIFIED.\n\n"
        ));
        let rows: Vec<Vec<String>> = b
            .checks
            .iter()
            .map(|c| {
                let how = match c.kind {
                    "run" => {
                        let mut text = format!(
                            "{} exits {}",
                            c.command.as_ref().map(command).unwrap_or_default(),
                            c.expect_exit.unwrap_or(0)
                        );
                        if let Some(secs) = c.timeout_seconds {
                            text.push_str(&format!(
                                " within {}",
                                clock::human_duration(secs.try_into().unwrap_or(i64::MAX))
                            ));
                        }
                        if c.tdd {
                            text.push_str("; test first: a failing run must be recorded earlier on the branch (`git planx checkpoint --red`)");
                        }
                        text
                    }
                    "file" => match &c.contains {
                        Some(re) => format!(
                            "the file {} matches the expression {}",
                            md::code(c.file.as_deref().unwrap_or("")),
                            md::code(re)
                        ),
                        None => format!(
                            "the file {} exists",
                            md::code(c.file.as_deref().unwrap_or(""))
                        ),
                    },
                    _ => format!(
                        "manual: someone records the evidence with {}",
                        md::code(&format!(
                            "git planx accept {p} {} --evidence \"…\"",
                            crate::report::forge::shell_quote(&c.name)
                        ))
                    ),
                };
                vec![md::cell(&c.name), md::cell(&how)]
            })
            .collect();
        out.push_str(&md::table(&["Check", "How it is verified"], &rows));
        out.push('\n');
    }

    if !b.done.is_empty() {
        out.push_str("## What done looks like\n\n");
        out.push_str("Once the phase verifies, these show its result:\n\n");
        for (n, d) in b.done.iter().enumerate() {
            out.push_str(&format!("{}. {}", n + 1, command(&d.run)));
            match &d.expect {
                Some(expect) => out.push_str(&format!(" — expected: {}\n", md::line(expect))),
                None => out.push('\n'),
            }
        }
        out.push('\n');
    }

    out.push_str("## Post-implementation steps\n\n");
    let mut n = 0;
    let mut step = |text: String| {
        n += 1;
        format!("{n}. {text}\n")
    };
    if b.full_suite_from != SuiteFrom::None {
        out.push_str(&step(format!(
            "Run the full test suite again, {}: it must pass.",
            commands(&b.full_suite)
        )));
    }
    out.push_str(&step(
        "Commit what is left: `git add` it, then `git planx checkpoint -m MESSAGE`. Verification judges committed work; a verify of a work tree with uncommitted changes cannot finish the phase.".to_owned(),
    ));
    out.push_str(&step(format!(
        "Verify the phase: `git planx verify {p}`. Fix whatever it reports and verify again until it says VERIFIED."
    )));
    let after: Vec<String> = b
        .manifest
        .iter()
        .filter(|l| l.kind == EntryKind::AfterVerify)
        .flat_map(|l| l.patterns.iter().map(|p| md::code(p)))
        .collect();
    if !after.is_empty() {
        out.push_str(&step(format!(
            "Only now write {}, commit it with `git planx checkpoint -m MESSAGE`, and verify again.",
            after.join(", ")
        )));
    }
    out.push_str(&step(format!(
        "The status document is derived from git: `git planx status {p} --format md`. Do not write one by hand: a report is not evidence."
    )));
    out
}

/// On a retry: the findings and checks that failed the phase's latest verify.
fn previous_attempt(previous: &PreviousAttempt, phase: &str) -> String {
    let v = &previous.verify;
    let mut out = format!(
        "## Previous attempt\n\nThis is a retry: the latest verify of the phase, recorded on `{}` at {}, did not pass. Fix what it found first, then verify again (`git planx verify {phase}`):\n\n",
        short(&previous.commit),
        v.ts
    );
    let errors: Vec<_> = v.findings.iter().filter(|f| f.level == "error").collect();
    for f in &errors {
        let entry = f.entry.as_ref().map_or(String::new(), |(kind, pattern)| {
            format!(" (manifest: {kind} {})", md::code(pattern))
        });
        out.push_str(&format!("- {}: {}{entry}\n", f.level, md::line(&f.message)));
    }
    for c in v.checks.iter().filter(|c| !c.verified && !c.skipped) {
        out.push_str(&format!(
            "- check {} NOT VERIFIED: {}\n",
            md::code(&c.name),
            md::line(&c.evidence)
        ));
    }
    if errors.is_empty() && !v.checks.iter().any(|c| !c.verified && !c.skipped) {
        out.push_str("- it recorded no finding: run `git planx verify` to see why\n");
    }
    out.push('\n');
    out
}

fn rule(kind: EntryKind, phase: &str) -> String {
    match kind {
        EntryKind::Create => "must be new since the fork point and not empty".to_owned(),
        EntryKind::Modify => "must differ from the fork point".to_owned(),
        EntryKind::Delete => "must be gone".to_owned(),
        EntryKind::Allow => "may change; need not".to_owned(),
        EntryKind::AfterVerify => {
            format!("may be committed only after `git planx verify {phase}` passes")
        }
    }
}
