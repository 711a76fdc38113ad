//! `git planx verify`: the phase's changes against its manifest, and its acceptance checks.

use clap::Args;
use serde_json::json;

use super::context::{Context, Need, trust_policy};
use super::ui::{Painter, Style, Ui, table};
use super::{Document, GlobalArgs, short};
use crate::error::CliError;
use crate::lifecycle::LifecycleError;
use crate::state::judging::{find_phase, phase_of_branch};
use crate::verify::manifest::Level;
use crate::verify::{self, Place, Report, VerifyOptions};

/// Verify a phase: its changes since the fork point against its file manifest, and its checks.
///
/// The phase is judged by the plan on base at its fork point, never by the branch's own copy.
/// Every changed path — committed, staged, unstaged, untracked, deleted — must be declared;
/// `create` files must be new and not empty, `modify` files changed, `delete` files gone. Then
/// each check runs (commands in `sh -c` at the top of the work tree, with their timeout; a
/// command that changes the work tree fails). The result is recorded as a `verify` event on
/// HEAD carrying its tree, which `finish` requires. Exit 0 when everything is VERIFIED, 1 when
/// not.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The phase [default: the phase of the branch checked out here; in CI, of
    /// GITHUB_HEAD_REF or CI_MERGE_REQUEST_SOURCE_BRANCH_NAME]
    pub phase: Option<String>,
    /// Judge the manifest and file checks only; run no command (not enough to finish)
    #[arg(long)]
    pub no_run: bool,
}

/// The branch a CI job is verifying, from the variables GitHub and GitLab set.
pub(crate) fn ci_branch() -> Option<String> {
    [
        "GITHUB_HEAD_REF",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "CI_COMMIT_BRANCH",
    ]
    .iter()
    .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
}

/// The phase named, else the phase of the branch checked out (or the CI branch).
pub(crate) fn phase_arg(ctx: &Context, named: Option<&str>) -> Result<String, CliError> {
    if let Some(id) = named {
        return Ok(id.to_owned());
    }
    let branch = ctx.repo.current_branch()?.or_else(ci_branch);
    match branch
        .as_deref()
        .and_then(|b| phase_of_branch(&ctx.plan, b))
    {
        Some(phase) => Ok(phase.id.clone()),
        None => Err(LifecycleError::NotOnPhaseBranch {
            branch,
            plan: ctx.plan.id.clone(),
        }
        .into()),
    }
}

pub fn cmd_verify(ui: &Ui, global: &GlobalArgs, args: &VerifyArgs) -> Result<(), CliError> {
    let progress = ui.progress();
    let (report, yes) = judge(global, args)?;
    drop(progress);
    if ui.json {
        return Document {
            value: report_json(&report),
            yes,
        }
        .print(ui);
    }
    if ui.quiet {
        ui.out(&render_quiet(&report, ui.out_painter()))?;
    } else {
        ui.out(&render_report(&report, ui.out_painter()))?;
    }
    crate::error::answer(yes)
}

/// The `planx.verify/1` document, and whether the phase is verified.
pub(crate) fn document(global: &GlobalArgs, args: &VerifyArgs) -> Result<Document, CliError> {
    let (report, yes) = judge(global, args)?;
    Ok(Document {
        value: report_json(&report),
        yes,
    })
}

/// Verifies the phase and records the result; the report and whether it passed (with
/// `--no-run`, whether the manifest holds).
fn judge(global: &GlobalArgs, args: &VerifyArgs) -> Result<(Report, bool), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    let phase = phase_arg(&ctx, args.phase.as_deref())?;
    find_phase(&ctx.plan, &phase)?;
    let options = VerifyOptions {
        no_run: args.no_run,
        trust: trust_policy(global.trust_once),
    };
    let ci = ci_branch();
    let place = Place::choose(ctx.subject(), &phase, ci.as_deref())?;
    let report = verify::verify_at(ctx.subject(), &phase, place, &options)?;
    verify::record(&ctx.repo, &report)?;
    let yes = if args.no_run {
        report.manifest_passed()
    } else {
        report.passed()
    };
    Ok((report, yes))
}

pub(crate) fn report_json(report: &Report) -> serde_json::Value {
    json!({
        "schema": "planx.verify/1",
        "plan": report.plan,
        "phase": report.phase,
        "branch": report.branch,
        "base": report.base,
        "head": report.head.to_string(),
        "tree": report.tree.to_string(),
        "fork": report.fork.to_string(),
        "clean": report.clean,
        "no_run": report.no_run,
        "passed": report.passed(),
        "manifest_passed": report.manifest_passed(),
        "plan_edit": report.plan_edit,
        "changes": report.rows,
        "findings": report.findings,
        "checks": report.checks,
        "disagreeing": report.disagreeing().iter().map(|(commit, ts, passed)| json!({
            "commit": commit.to_string(),
            "ts": ts,
            "passed": passed,
        })).collect::<Vec<_>>(),
    })
}

/// With `-q`, only what is wrong and the answer: the errors among the findings, the checks not
/// verified with their output's tail, and the verdict line.
fn render_quiet(report: &Report, p: Painter) -> String {
    let mut out = String::new();
    for f in report.findings.iter().filter(|f| f.level == Level::Error) {
        let entry = f
            .entry
            .as_ref()
            .map_or(String::new(), |(k, pat)| format!(" [{} {pat}]", k.as_str()));
        out.push_str(&format!(
            "{}: {}{entry}\n",
            p.paint(Style::Error, "error"),
            f.message
        ));
    }
    for c in report.checks.iter().filter(|c| !c.verified && !c.skipped) {
        out.push_str(&format!(
            "{}  {}: {}\n",
            p.paint(Style::Error, "NOT VERIFIED"),
            c.name,
            c.evidence
        ));
        if let Some(run) = &c.run {
            for line in crate::process::last_lines(&run.tail, 8).lines() {
                out.push_str(&format!("    | {line}\n"));
            }
        }
    }
    out.push_str(&verdict_line(report, p));
    out
}

/// The last line of the report: the verdict, what it rests on, where it was recorded.
fn verdict_line(report: &Report, p: Painter) -> String {
    let verdict = if report.passed() {
        p.paint(Style::Ok, "VERIFIED")
    } else if report.no_run && report.manifest_passed() {
        p.paint(Style::Warning, "MANIFEST HOLDS (checks not run)")
    } else {
        p.paint(Style::Error, "NOT VERIFIED")
    };
    format!(
        "{verdict}: {} (recorded on {})\n",
        crate::error::verify_summary(report),
        short(&report.head)
    )
}

/// The report a person reads at a glance.
pub(crate) fn render_report(report: &Report, p: Painter) -> String {
    let mut out = format!(
        "{} phase `{}` on {} at {} (tree {})\n  judged by the plan on {} at the fork point {}\n",
        p.paint(Style::Bold, "verify"),
        report.phase,
        report.branch,
        short(&report.head),
        short(&report.tree),
        report.base,
        short(&report.fork),
    );
    if let Some(edit) = &report.plan_edit {
        let how = match &edit.declared {
            Some((kind, pattern)) => format!("declared as {} `{pattern}`", kind.as_str()),
            None => "NOT declared".to_owned(),
        };
        out.push_str(&format!(
            "\n{} the plan file {} was edited on this branch ({how}); the plan on base at the fork point judges this phase, not the edited copy\n",
            p.paint(Style::Warning, "plan edited:"),
            edit.path
        ));
    }
    if !report.clean {
        out.push_str(&format!(
            "\n{} the work tree has uncommitted changes: they are verified, but this record cannot be used to finish\n",
            p.paint(Style::Warning, "note:")
        ));
    }

    out.push_str(&format!("\n{}\n", p.paint(Style::Bold, "manifest")));
    if report.rows.is_empty() {
        out.push_str("  no path changed since the fork point\n");
    } else {
        let mut rows = vec![vec![
            "  PATH".to_owned(),
            "CHANGE".to_owned(),
            "DECLARED AS".to_owned(),
        ]];
        for row in &report.rows {
            let change = if row.mode_only {
                "mode changed".to_owned()
            } else {
                row.change.as_str().to_owned()
            };
            let declared = match &row.declared {
                Some((kind, pattern)) => format!("{} {pattern}", kind.as_str()),
                None => p.paint(Style::Error, "undeclared"),
            };
            rows.push(vec![format!("  {}", row.path), change, declared]);
        }
        out.push_str(&table(&rows));
    }
    let findings: Vec<_> = report.findings.iter().collect();
    if !findings.is_empty() {
        out.push_str(&format!("\n{}\n", p.paint(Style::Bold, "findings")));
        for f in findings {
            let level = match f.level {
                Level::Error => p.paint(Style::Error, "error"),
                Level::Warning => p.paint(Style::Warning, "warning"),
            };
            let entry = f
                .entry
                .as_ref()
                .map_or(String::new(), |(k, pat)| format!(" [{} {pat}]", k.as_str()));
            out.push_str(&format!("  {level}: {}{entry}\n", f.message));
        }
    }

    out.push_str(&format!("\n{}\n", p.paint(Style::Bold, "checks")));
    if report.checks.is_empty() {
        out.push_str("  the phase has no checks\n");
    }
    for c in &report.checks {
        let verdict = match (c.verified, c.skipped) {
            (true, _) => p.paint(Style::Ok, "VERIFIED    "),
            (false, true) => p.paint(Style::Dim, "NOT RUN     "),
            (false, false) => p.paint(Style::Error, "NOT VERIFIED"),
        };
        out.push_str(&format!("  {verdict}  {}: {}\n", c.name, c.evidence));
        if let Some(run) = &c.run
            && !c.verified
        {
            for line in crate::process::last_lines(&run.tail, 8).lines() {
                out.push_str(&format!("      | {line}\n"));
            }
        }
    }

    out.push('\n');
    out.push_str(&verdict_line(report, p));
    for (commit, ts, passed) in report.disagreeing() {
        out.push_str(&format!(
            "{} an earlier verify of this same tree {} (recorded on {commit_short} at {ts}){}: a check here does not always hold (flaky, or it depends on something outside the tree)\n",
            p.paint(Style::Warning, "note:"),
            if *passed { "passed" } else { "failed" },
            if *passed {
                " and still counts, so `finish` can merge this tree"
            } else {
                ""
            },
            commit_short = short(commit),
        ));
    }
    out
}
