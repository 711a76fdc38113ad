//! `git planx review`: a phase's pull request — title and body — and, with `--open`, the pull
//! request itself, through `gh` or `glab`.

use clap::Args;

use super::brief::command;
use super::context::{Context, Need};
use super::md::{self, Format};
use super::ui::{Style, Ui};
use super::verify::{ci_branch, phase_arg};
use super::{GlobalArgs, short};
use crate::error::CliError;
use crate::report::RecordedRun;
use crate::report::forge::{self, Opened, Probe, Tool, shell_quote};
use crate::report::review::{self, CheckVerdict, Review, Verdict};
use crate::verify::manifest::Level;

/// Write a phase's pull request: a title and a body a reviewer can check against git.
///
/// The body: whether the reviewed tree is verified (from the latest `verify` record of exactly
/// that tree — review runs nothing) and "verified tree = head tree?" answered plainly; edits of
/// the plan and undeclared changes first; the goal; the deliverables as a checklist; the
/// acceptance checks VERIFIED / NOT VERIFIED with their evidence (command, exit, duration, output
/// in collapsible details); the manifest coverage of every changed path with lines added and
/// removed; the checkpoint timeline; the tests before and after. It renders on GitHub and
/// GitLab.
///
/// The reviewed commit is the phase branch's tip; in CI, with HEAD detached, the commit checked
/// out for GITHUB_HEAD_REF or CI_MERGE_REQUEST_SOURCE_BRANCH_NAME. With --open, the pull
/// request is created with `gh` (GitHub) or `glab` (GitLab) when one is installed and logged
/// in; otherwise review says how to create it, and still prints the body.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The phase [default: the phase of the branch checked out here; in CI, of
    /// GITHUB_HEAD_REF or CI_MERGE_REQUEST_SOURCE_BRANCH_NAME]
    pub phase: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Create the pull request with `gh` or `glab` (push the branch first)
    #[arg(long)]
    pub open: bool,
}

pub fn cmd_review(ui: &Ui, global: &GlobalArgs, args: &ReviewArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::Base)?;
    ctx.say_notes_notice(ui);
    let phase = phase_arg(&ctx, args.phase.as_deref())
        .map_err(|e| e.hint("or name the phase: `git planx review PHASE`"))?;
    let ci = ci_branch();
    let review = review::review(ctx.subject(), &phase, ci.as_deref())?;
    let body = render_body(&review);
    let json = ui.json || args.format == Format::Json;
    if !json {
        ui.out(&format!("# {}\n\n{body}", md::line(&review.title)))?;
    }
    let opened = if args.open {
        let workdir = ctx.repo.require_workdir()?.to_path_buf();
        let remote = ctx.repo.config_string("remote.origin.url")?;
        let tools = forge::preference(remote.as_deref());
        Some(forge::open(
            &workdir,
            &tools,
            &review.title,
            &body,
            &review.base,
            &review.branch,
        )?)
    } else {
        None
    };
    if json {
        let mut doc = md::document("planx.review/1", &review);
        doc["body"] = body.clone().into();
        doc["opened"] = serde_json::to_value(&opened).unwrap_or_default();
        ui.json(&doc)?;
    }
    match &opened {
        Some(Opened::Created { .. }) if ui.quiet => {}
        Some(Opened::Created { tool, output }) => ui.err(&format!(
            "{} the pull request on {} with {}: {output}\n",
            ui.err_painter().paint(Style::Ok, "opened"),
            tool.forge(),
            tool.program()
        )),
        Some(Opened::Unavailable { tried }) => {
            let why: Vec<String> = tried
                .iter()
                .map(|t| match &t.probe {
                    Probe::NotInstalled => format!("{} is not installed", t.tool.program()),
                    Probe::NotLoggedIn { detail } => format!(
                        "{} is not logged in (`{} auth login`): {detail}",
                        t.tool.program(),
                        t.tool.program()
                    ),
                    Probe::Ready => format!("{} is ready", t.tool.program()),
                })
                .collect();
            ui.err(&how_to_open(ui, &review, &phase, &why));
        }
        None => {}
    }
    Ok(())
}

/// What to do by hand when no forge tool can open the pull request.
fn how_to_open(ui: &Ui, review: &Review, phase: &str, why: &[String]) -> String {
    let branch = shell_quote(&review.branch);
    let base = shell_quote(&review.base);
    let title = shell_quote(&review.title);
    // Outside the work tree: a body file there would be an undeclared change of the phase.
    let file = format!("\"${{TMPDIR:-/tmp}}/planx-review-{phase}.md\"");
    let body = Tool::Gh.create_args(&review.title, "", "FILE", &review.base, &review.branch);
    let gh = format!(
        "gh {}",
        body.iter()
            .map(|a| if a == "FILE" {
                file.clone()
            } else {
                shell_quote(a)
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    format!(
        "{} cannot open the pull request here: {}\n  \
         push the branch, then open it with the body printed {}:\n    \
         git push -u origin {branch}\n    \
         git planx review {phase} > {file}\n    \
         {gh}\n  \
         or on GitLab:\n    \
         glab mr create --source-branch {branch} --target-branch {base} --title {title} --description \"$(cat {file})\" --yes\n  \
         or paste the body into the forge's page for a new pull request.\n",
        ui.err_painter().paint(Style::Warning, "note:"),
        why.join("; "),
        if ui.json { "in \"body\"" } else { "above" },
    )
}

/// Records of the phase planx did not write: never evidence, said so beside the verdict.
fn uncounted_line(r: &Review) -> Option<String> {
    let list = &r.verification.uncounted;
    if list.is_empty() {
        return None;
    }
    let items: Vec<String> = list
        .iter()
        .map(|u| {
            let claim = match (u.event.as_str(), u.claims_passed) {
                ("verify", true) => "a passing verify".to_owned(),
                ("verify", false) => "a verify".to_owned(),
                (event, _) => format!("a `{event}` record"),
            };
            let by =
                u.by.as_deref()
                    .map_or(String::new(), |by| format!(", which says it is {by}"));
            format!(
                "{claim} on `{}` at {} ({}{by})",
                short(&u.commit),
                u.ts,
                u.why
            )
        })
        .collect();
    Some(format!(
        "**Records planx did not write** (not counted): {}. A record counts only when planx signed it with a key trusted here or declared by the plan on base; `git planx signers` shows who signed what.\n\n",
        items.join("; ")
    ))
}

/// Records of the reviewed tree that answer otherwise than the one the verdict rests on.
fn disagreement_line(r: &Review) -> Option<String> {
    let v = &r.verification;
    if v.disagreeing.is_empty() {
        return None;
    }
    let others: Vec<String> = v
        .disagreeing
        .iter()
        .map(|rec| {
            format!(
                "{} on `{}` at {}",
                if rec.passed { "passed" } else { "failed" },
                short(&rec.commit),
                rec.ts
            )
        })
        .collect();
    Some(format!(
        "**Records of this tree disagree**: it also {}. A passing record of a clean work tree with commands run counts; a failing one beside it says a check does not always hold here (flaky, or it depends on something outside the tree).\n\n",
        others.join(", ")
    ))
}

fn verdict_line(r: &Review) -> String {
    let v = &r.verification;
    let at = v.record.as_ref().map_or(String::new(), |rec| {
        format!(" (recorded on `{}` at {})", short(&rec.commit), rec.ts)
    });
    let p = &r.phase;
    match v.verdict {
        Verdict::Verified => format!(
            "**VERIFIED**: the manifest holds and every acceptance check passed on exactly the tree under review{at}."
        ),
        Verdict::Failed => {
            let errors = review::errors(&r.findings).count();
            let checks = r
                .checks
                .iter()
                .filter(|c| c.verdict == CheckVerdict::NotVerified)
                .count();
            let mut why = Vec::new();
            if errors > 0 {
                why.push(plural(errors, "manifest error", "manifest errors"));
            }
            if checks > 0 {
                why.push(plural(checks, "check not verified", "checks not verified"));
            }
            format!(
                "**NOT VERIFIED**: the latest verify of the tree under review failed{at}{}.",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {}", why.join(", "))
                }
            )
        }
        Verdict::Incomplete => format!(
            "**NOT VERIFIED**: the verify of the tree under review found nothing wrong{at}, but {}, so it does not count.",
            match &v.record {
                Some(rec) if rec.no_run => "it ran no command (`--no-run`)",
                _ => "the work tree had uncommitted changes",
            }
        ),
        Verdict::OtherTree => format!(
            "**NOT VERIFIED**: the latest verify was of another tree{at}; the branch changed since. Run `git planx verify {p}`."
        ),
        Verdict::NeverVerified => format!(
            "**NOT VERIFIED**: no verify is recorded for this phase. Run `git planx verify {p}`."
        ),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn tree_line(r: &Review) -> String {
    let head = short(&r.head_tree);
    match &r.verification.record {
        Some(_) if r.verification.tree_matches => {
            format!("Verified tree = head tree? **yes** (`{head}`).")
        }
        Some(rec) => format!(
            "Verified tree = head tree? **no**: verified `{}`, head `{head}`.",
            super::short(&rec.tree)
        ),
        None => format!("Verified tree = head tree? **no**: nothing verified; head `{head}`."),
    }
}

/// The body of the pull request.
pub(crate) fn render_body(r: &Review) -> String {
    let p = &r.phase;
    let mut out = format!("{}\n\n{}\n\n", verdict_line(r), tree_line(r));
    if let Some(line) = uncounted_line(r) {
        out.push_str(&line);
    }
    if let Some(line) = disagreement_line(r) {
        out.push_str(&line);
    }
    out.push_str(&format!(
        "- Plan: `{}` — {}\n- Phase: `{p}` — {} ({} phase{})\n- Branch: `{}` at `{}`, forked from `{}` at `{}`\n\n",
        r.plan,
        md::line(&r.plan_title),
        md::line(&r.phase_title),
        r.kind.as_str(),
        r.owner
            .as_ref()
            .map_or(String::new(), |o| format!(", owner {}", md::line(o))),
        r.branch,
        short(&r.head),
        r.base,
        short(&r.fork),
    ));

    let mut attention = Vec::new();
    if let Some(edit) = &r.plan_edit {
        attention.push(format!(
            "**The plan file `{}` is edited on this branch** ({}). The plan on `{}` at the fork point judges this phase, not the edited copy.",
            edit.path,
            match &edit.declared {
                Some((kind, pattern)) => format!("declared as {} {}", kind.as_str(), md::code(pattern)),
                None => "not declared".to_owned(),
            },
            r.base
        ));
    }
    if !r.undeclared.is_empty() {
        let strict = r
            .findings
            .iter()
            .any(|f| f.code == "undeclared-change" && f.level == Level::Error);
        attention.push(format!(
            "**Undeclared changes** ({}): {}.",
            if strict {
                "errors: the plan is strict"
            } else {
                "warnings: the plan is not strict"
            },
            r.undeclared
                .iter()
                .map(|u| md::code(u))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !r.bypassed.is_empty() {
        attention.push(bypass_text(&r.bypassed));
    }
    if !r.uncommitted.is_empty() {
        attention.push(format!(
            "Uncommitted changes in the work tree are not part of this review: {}.",
            r.uncommitted
                .iter()
                .map(|u| md::code(u))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !attention.is_empty() {
        out.push_str("## Needs attention\n\n");
        for a in attention {
            out.push_str(&format!("- {a}\n"));
        }
        out.push('\n');
    }

    out.push_str("## Goal\n\n");
    match &r.goal {
        Some(goal) => out.push_str(&format!("{}\n\n", goal.trim())),
        None => out.push_str("The plan states no goal for this phase beyond its title.\n\n"),
    }
    if !r.deliverables.is_empty() {
        out.push_str("## Deliverables\n\n");
        for d in &r.deliverables {
            out.push_str(&format!("- [ ] {}\n", md::line(d)));
        }
        out.push('\n');
    }

    out.push_str("## Acceptance checks\n\n");
    if r.checks.is_empty() {
        out.push_str("The phase has no checks: only the manifest is verified.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .checks
            .iter()
            .map(|c| {
                let what = match (&c.command, c.kind) {
                    (Some(cmd), _) => command(cmd),
                    (None, kind) => kind.to_owned(),
                };
                vec![
                    md::cell(&c.name),
                    md::cell(&what),
                    match c.verdict {
                        CheckVerdict::Verified => "VERIFIED",
                        CheckVerdict::NotVerified => "NOT VERIFIED",
                        CheckVerdict::NotRun => "NOT RUN",
                    }
                    .to_owned(),
                    md::cell(&c.evidence),
                ]
            })
            .collect();
        out.push_str(&md::table(&["Check", "What", "Result", "Evidence"], &rows));
        out.push('\n');
        for c in &r.checks {
            if let Some(run) = c.run.as_ref().filter(|run| !run.tail.trim().is_empty()) {
                out.push_str(&md::details(
                    &format!(
                        "Output of the check \"{}\": {} (last 50 lines)",
                        c.name,
                        run.describe()
                    ),
                    &crate::process::last_lines(&run.tail, 50),
                ));
                out.push('\n');
            }
        }
    }

    out.push_str("## Manifest coverage\n\n");
    if r.files.is_empty() {
        out.push_str(&format!(
            "No path changed between the fork point `{}` and `{}`.\n\n",
            short(&r.fork),
            short(&r.head)
        ));
    } else {
        let rows: Vec<Vec<String>> = r
            .files
            .iter()
            .map(|f| {
                let (plus, minus) = if f.binary {
                    ("binary".to_owned(), "binary".to_owned())
                } else {
                    (f.added.to_string(), f.removed.to_string())
                };
                vec![
                    md::code_cell(&f.path),
                    match &f.declared {
                        Some((kind, pattern)) => {
                            format!("{} {}", kind.as_str(), md::code_cell(pattern))
                        }
                        None => "**undeclared**".to_owned(),
                    },
                    if f.mode_only {
                        "mode changed".to_owned()
                    } else {
                        f.change.as_str().to_owned()
                    },
                    plus,
                    minus,
                ]
            })
            .collect();
        out.push_str(&md::table(
            &["Path", "Declared as", "Change", "+", "−"],
            &rows,
        ));
        out.push('\n');
    }
    if !r.findings.is_empty() {
        out.push_str("Findings:\n\n");
        for f in &r.findings {
            let entry = f.entry.as_ref().map_or(String::new(), |(kind, pattern)| {
                format!(" ({} {})", kind.as_str(), md::code(pattern))
            });
            out.push_str(&format!(
                "- {}: {}{entry}\n",
                match f.level {
                    Level::Error => "error",
                    Level::Warning => "warning",
                },
                md::line(&f.message)
            ));
        }
        out.push('\n');
    }

    out.push_str("## Checkpoints\n\n");
    if r.timeline.is_empty() {
        out.push_str("No checkpoint or event is recorded on the branch.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .timeline
            .iter()
            .map(|t| {
                vec![
                    t.time.clone(),
                    match &t.step {
                        Some(step) => format!("{} {step}", t.what),
                        None => t.what.clone(),
                    },
                    format!("`{}`", short(&t.commit)),
                    md::cell(&t.detail),
                ]
            })
            .collect();
        out.push_str(&md::table(&["Time", "What", "Commit", "Detail"], &rows));
        out.push('\n');
    }

    out.push_str("## Tests before and after\n\n");
    out.push_str(&format!(
        "Before — the preflight on `{}` when the phase started, and the failing (red) runs of the blast radius:\n\n",
        r.base
    ));
    out.push_str(&runs_table(&r.tests_before));
    out.push_str(
        "After — the passing (green) runs of the blast radius, and the checks of the verify record of this tree:\n\n",
    );
    out.push_str(&runs_table(&r.tests_after));

    if let Some(usage) = &r.usage {
        out.push_str("## Cost and effort\n\n");
        out.push_str(&format!(
            "{} (What the executors said they used — a claim, not evidence — and how long they ran.)\n\n",
            super::report::usage_line(usage)
        ));
    }

    out.push_str("## Merging\n\n");
    match &r.merged {
        Some(merged) => out.push_str(&format!(
            "The phase is merged into `{}` by `{}`{}.\n",
            r.base,
            short(&merged.by),
            if !merged.verified {
                ", **without a passing verify of its tree**: it does not count as complete"
            } else {
                ""
            }
        )),
        None => {
            out.push_str(&format!(
                "`git planx finish {p}` merges the phase only with a passing verify of exactly the tree it merges. \
                 A pull request merged on the forge counts too. If you squash-merge it there, end the squash commit's message with these trailers, so that planx sees the phase complete:\n\n"
            ));
            out.push_str(&md::fence(&r.squash_trailers.join("\n"), "text"));
        }
    }
    out.push_str(&format!(
        "\nWritten by `git planx review {p}` from git: the results above are read from the verify records in `refs/notes/planx`, not from anyone's report.\n"
    ));
    out
}

fn runs_table(runs: &[RecordedRun]) -> String {
    if runs.is_empty() {
        return "No run recorded.\n\n".to_owned();
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let when = match (&r.label, r.when) {
                (Some(label), "check") => format!("check \"{label}\""),
                (Some(label), when) => format!("{when} {label}"),
                (None, when) => when.to_owned(),
            };
            vec![
                md::cell(&when),
                md::code_cell(&r.run.shell),
                if r.run.passed { "passed" } else { "failed" }.to_owned(),
                r.run.describe(),
                r.ts.clone(),
            ]
        })
        .collect();
    format!(
        "{}\n",
        md::table(&["Run", "Command", "Result", "Status", "Time"], &rows)
    )
}

/// The commits that bypassed the pre-commit hook, as one markdown paragraph.
pub(crate) fn bypass_text(bypassed: &[crate::report::Bypass]) -> String {
    let commits: Vec<String> = bypassed
        .iter()
        .map(|b| {
            format!(
                "{} {} ({})",
                md::code(&short(&b.commit)),
                md::line(&b.summary),
                b.paths
                    .iter()
                    .map(|p| md::code(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    format!(
        "**The pre-commit hook was bypassed** on {} (`git commit --no-verify`, `PLANX_HOOKS=0`, or the hook not installed): {} changed paths outside the manifest: {}.",
        match bypassed.len() {
            1 => "1 commit".to_owned(),
            n => format!("{n} commits"),
        },
        if bypassed.len() == 1 { "it" } else { "they" },
        commits.join("; ")
    )
}
