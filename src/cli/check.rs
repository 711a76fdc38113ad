//! `git planx check`: validate the plan (SPEC §1), reporting every problem in one run.

use clap::Args;
use serde_json::json;

use super::ui::{Style, Ui, render_diagnostic};
use super::{GlobalArgs, read_plan};
use crate::error::CliError;
use crate::plan::graph::Graph;

/// Validate the plan file and report every problem at once.
///
/// Errors and warnings are listed in file order, each with its line, column and a hint.
/// Exit status: 0 when the plan is valid (warnings are shown), 1 when it has errors, 2 when
/// the plan file is missing or unreadable.
#[derive(Debug, Args)]
pub struct CheckArgs {}

pub fn cmd_check(ui: &Ui, global: &GlobalArgs, _args: &CheckArgs) -> Result<(), CliError> {
    let loaded = read_plan(global)?;
    let (errors, warnings) = (loaded.errors(), loaded.warnings());
    let valid = errors == 0;
    let groups = valid
        .then(|| Graph::build(&loaded.plan).ok())
        .flatten()
        .map(|g| g.groups.len());
    if ui.json {
        ui.json(&json!({
            "schema": "planx.check/1",
            "file": loaded.source.display(),
            "valid": valid,
            "errors": errors,
            "warnings": warnings,
            "plan": valid.then(|| json!({
                "id": loaded.plan.id,
                "phases": loaded.plan.phases.len(),
                "groups": groups,
            })),
            "diagnostics": loaded.diagnostics,
        }))?;
        return crate::error::answer(valid);
    }
    let p = ui.out_painter();
    let mut out = String::new();
    for d in &loaded.diagnostics {
        if ui.quiet && !d.is_error() {
            continue;
        }
        out.push_str(&render_diagnostic(d, p));
        out.push('\n');
    }
    let counts = format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if valid {
        if !ui.quiet {
            let plan = &loaded.plan;
            out.push_str(&format!(
                "{} {}: plan `{}` is valid: {}, {} ({})\n",
                p.paint(Style::Ok, "ok"),
                loaded.source.display(),
                plan.id,
                plural(plan.phases.len(), "phase"),
                plural(groups.unwrap_or(0), "parallel group"),
                plural(warnings, "warning"),
            ));
        }
    } else {
        out.push_str(&format!(
            "{} {}: {counts}\n",
            p.paint(Style::Error, "invalid"),
            loaded.source.display()
        ));
    }
    ui.out(&out)?;
    crate::error::answer(valid)
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
