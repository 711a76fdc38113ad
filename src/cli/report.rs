//! `git planx report`: the whole plan's execution report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::context::{Context, Need, Origin};
use super::html;
use super::md;
use super::status::{next_json, next_text};
use super::ui::Ui;
use super::{GlobalArgs, short};
use crate::clock;
use crate::error::CliError;
use crate::git::changes::ChangeKind;
use crate::report::execution::{self, ExecutionReport, PhaseReport};
use crate::state::State;
use crate::state::judging::Subject;
use crate::state::usage::Usage;

/// Write the plan's execution report: phases, durations, files, test results, open problems.
///
/// A table of the phases with their state, owner and duration (from the first to the last time
/// recorded for each: checkpoints, note events, the completing merge); the files each phase
/// created, modified and deleted (from the merge that completed it, else from its branch since
/// the fork point), with lines added and removed; the command runs recorded in the notes and
/// the latest verify of each phase; and the problems still open: failed and blocked phases with
/// their reasons, unverified merges, stale phases, failing checks and manifest errors of
/// unmerged branches. Everything is read from git; nothing runs.
///
/// `--format html` writes one self-contained page (nothing is fetched when it is opened): the
/// phase graph drawn as SVG, each phase coloured by its state, and every phase's evidence —
/// checks VERIFIED or NOT VERIFIED with their output, manifest coverage, timeline, cost — with
/// a filter by state and groups that fold.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout (an existing file is replaced)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown (CommonMark with GitHub's tables), for GitHub, GitLab and people.
    Md,
    /// One JSON document.
    Json,
    /// One self-contained HTML page, to open in a browser.
    Html,
}

pub fn cmd_report(ui: &Ui, global: &GlobalArgs, args: &ReportArgs) -> Result<(), CliError> {
    let ctx = Context::open(global, Need::BaseOrWorkTree)?;
    ctx.say_notes_notice(ui);
    let current = ctx.repo.current_branch()?;
    let committed = matches!(ctx.origin, Origin::Base(_));
    let report = execution::report(ctx.subject(), current.as_deref(), committed)?;
    let next = next_text(&report.next, &ctx.plan);
    let text = if ui.json || args.format == ReportFormat::Json {
        let mut doc = md::document("planx.report/1", &report);
        doc["next"] = next_json(&report.next, &ctx.plan);
        // A `Value` always serializes: a failure here is a bug.
        let mut text = serde_json::to_string(&doc).map_err(CliError::internal)?;
        text.push('\n');
        if args.output.is_none() {
            // Git's own quoting of paths, whatever core.quotePath says.
            return ui.out_raw(&text);
        }
        text
    } else if args.format == ReportFormat::Html {
        html::page(&report, &ctx.plan, &ctx.origin, &next)
    } else if ui.quiet && args.output.is_none() {
        render_quiet(&report)
    } else {
        let logs = executor_logs(ctx.subject(), &report);
        render(&report, &ctx.origin, &next, &logs)
    };
    match &args.output {
        None => ui.out(&text),
        Some(path) => {
            write_output(path, &text)?;
            if !ui.quiet {
                ui.err(&format!("wrote the report to {}\n", path.display()));
            }
            Ok(())
        }
    }
}

/// Writes `text` to `path` whole or not at all: into a new file beside it, then renamed over
/// it, so a reader never sees half a report and a failure leaves what was there. A symbolic
/// link is followed (the file it names is replaced, not the link); a path that is no regular
/// file (`/dev/stdout`, a pipe) is written to as it is.
fn write_output(path: &Path, text: &str) -> Result<(), CliError> {
    let refused = |why: String| {
        CliError::usage(format!(
            "cannot write the report to {}: {why}",
            path.display()
        ))
    };
    let failed = |e: &dyn std::fmt::Display| {
        CliError::repo_state(format!("cannot write the report to {}", path.display()))
            .because(e)
            .hint("check that you may write there, or name another file with -o FILE")
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(
                refused("it is a folder".into()).hint("name a file, for example report.html")
            );
        }
        Ok(meta) if !meta.is_file() => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .map_err(|e| failed(&e))?;
            return file
                .write_all(text.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|e| failed(&e));
        }
        _ => {}
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| failed(&e))?
        }
        _ => path.to_path_buf(),
    };
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(refused(format!("there is no folder {}", folder.display()))
            .hint("create the folder first, or name a file in one that exists"));
    }
    let mut file = tempfile::Builder::new()
        .prefix(".planx-report")
        // As a new file gets: what the umask leaves of read-write for everyone.
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(folder)
        .map_err(|e| failed(&e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| failed(&e))?;
    file.persist(&target).map_err(|e| failed(&e.error))?;
    Ok(())
}

/// With `-q`, the answer alone: the plan's status line and its open problems, if any.
fn render_quiet(r: &ExecutionReport) -> String {
    let mut out = status_line(r);
    out.push_str(&problems(r).concat());
    out
}

fn status_line(r: &ExecutionReport) -> String {
    format!(
        "**Status: {}** — {} of {} phases complete.\n",
        r.overall.as_str().replace('-', " ").to_uppercase(),
        r.phases_complete,
        r.phases_total
    )
}

fn problems(r: &ExecutionReport) -> Vec<String> {
    r.phases
        .iter()
        .flat_map(|p| {
            p.problems
                .iter()
                .map(move |x| format!("- `{}` ({}): {}\n", p.id, x.code, md::line(&x.message)))
        })
        .collect()
}

/// The plan's execution report as text, for the end of `run` and `demo`.
pub(crate) fn print_report_for(
    ui: &Ui,
    subject: Subject<'_>,
    origin: &Origin,
) -> Result<(), CliError> {
    let current = subject.repo.current_branch()?;
    let report = execution::report(
        subject,
        current.as_deref(),
        matches!(origin, Origin::Base(_)),
    )?;
    let next = next_text(&report.next, subject.plan);
    let logs = executor_logs(subject, &report);
    ui.out(&render(&report, origin, &next, &logs))
}

fn duration(secs: Option<i64>) -> String {
    secs.map_or("-".to_owned(), clock::human_duration)
}

fn files_cell(p: &PhaseReport) -> String {
    if p.files_from.is_none() {
        return "-".to_owned();
    }
    let count = |kind: ChangeKind| p.files.iter().filter(|f| f.change == kind).count();
    let mut parts = Vec::new();
    for (kind, word) in [
        (ChangeKind::Added, "created"),
        (ChangeKind::Modified, "modified"),
        (ChangeKind::Deleted, "deleted"),
        (ChangeKind::TypeChanged, "type changed"),
    ] {
        let n = count(kind);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

fn runs_cell(p: &PhaseReport) -> String {
    let mut text = format!("{} passed, {} failed", p.runs.passed, p.runs.failed);
    if p.runs.red > 0 {
        text.push_str(&format!(", {} red", p.runs.red));
    }
    text
}

fn verify_cell(p: &PhaseReport) -> String {
    match &p.latest_verify {
        None => "none recorded".to_owned(),
        Some(r) => {
            let verdict = if r.counts {
                "VERIFIED"
            } else if !r.holds() {
                "NOT VERIFIED"
            } else if r.no_run {
                "held, but ran no command (--no-run)"
            } else {
                "held, but with uncommitted changes"
            };
            let of = if p.latest_verify_of_tip {
                if p.completed_by.is_some() {
                    "the merged tree"
                } else {
                    "the branch's tip"
                }
            } else {
                "an older tree"
            };
            format!("{verdict}, of {of} (`{}`, {})", super::short(&r.tree), r.ts)
        }
    }
}

/// A usage as the cells of the report's table: executor time, cost, tokens in and out, turns,
/// model.
pub(crate) fn usage_cells(u: &Usage) -> Vec<String> {
    let num = |n: Option<u64>| n.map_or("-".to_owned(), |n| n.to_string());
    vec![
        u.duration_ms.map_or("-".to_owned(), |ms| {
            clock::human_duration((ms / 1000) as i64)
        }),
        u.cost_usd.map_or("-".to_owned(), |c| format!("${c:.4}")),
        num(u.input_tokens),
        num(u.output_tokens),
        num(u.turns),
        md::cell(u.model.as_deref().unwrap_or("-")),
    ]
}

/// A usage in a line, for the review.
pub(crate) fn usage_line(u: &Usage) -> String {
    let cells = usage_cells(u);
    format!(
        "Executor time {}, cost {}, {} input and {} output tokens, {} turns, model {}.",
        cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
    )
}

fn state_cell(p: &PhaseReport) -> String {
    let mut text = match p.state {
        State::Unverified => "**UNVERIFIED**".to_owned(),
        State::Contradicted => "**CONTRADICTED**".to_owned(),
        State::Failed | State::Blocked => format!("**{}**", p.state.as_str()),
        state => state.as_str().to_owned(),
    };
    if !p.stale.is_empty() {
        text.push_str(" (stale)");
    }
    text
}

/// Where `run` keeps each phase's executor log, relative to the top of the work tree (the
/// latest attempt's: each attempt writes it anew).
fn executor_logs(subject: Subject<'_>, r: &ExecutionReport) -> BTreeMap<String, String> {
    let top = subject.repo.workdir().map(Path::to_path_buf);
    r.phases
        .iter()
        .filter(|p| !p.attempts.is_empty())
        .map(|p| {
            let log = crate::run::phase_dir(subject.repo, subject.plan, &p.id).join("executor.log");
            let shown = top
                .as_deref()
                .and_then(|top| log.strip_prefix(top).ok())
                .unwrap_or(&log)
                .display()
                .to_string();
            (p.id.clone(), shown)
        })
        .collect()
}

/// The runs of the phases' executors, one row per attempt.
fn attempts_section(r: &ExecutionReport, logs: &BTreeMap<String, String>) -> String {
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .flat_map(|p| {
            p.attempts.iter().map(move |a| {
                let number = if a.number > 1 {
                    format!("{} (retry)", a.number)
                } else {
                    "1".to_owned()
                };
                vec![
                    format!("`{}`", p.id),
                    number,
                    format!("**{}**", a.result.to_uppercase()),
                    duration(Some((a.duration_ms / 1000) as i64)),
                    md::cell(&a.how),
                    logs.get(&p.id).map_or("-".to_owned(), |l| md::code_cell(l)),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("## Executor runs\n\n");
    out.push_str("Each run of a phase's executor by `git planx run`: TIMEOUT when it ran out of the phase's time, INTERRUPTED when the run was stopped, a later attempt a retry. The log holds the latest attempt's output.\n\n");
    out.push_str(&md::table(
        &[
            "Phase",
            "Attempt",
            "Result",
            "Duration",
            "Exit",
            "Executor log",
        ],
        &rows,
    ));
    out.push('\n');
    out
}

fn render(
    r: &ExecutionReport,
    origin: &Origin,
    next: &str,
    logs: &BTreeMap<String, String>,
) -> String {
    let mut out = format!(
        "# Plan execution report: `{}` — {}\n\n",
        r.plan,
        md::line(&r.plan_title)
    );
    out.push_str(&status_line(r));
    out.push('\n');
    out.push_str(&match origin {
        Origin::Base(tip) => format!("- Base: `{}` at `{}`\n", r.base, short(tip)),
        Origin::WorkTree => format!(
            "- Base: `{}` (the plan is not committed there yet)\n",
            r.base
        ),
    });
    match (&r.first, &r.last) {
        (Some(first), Some(last)) => out.push_str(&format!(
            "- Recorded from {first} to {last} ({})\n\n",
            duration(r.duration_seconds)
        )),
        _ => out.push_str("- Nothing recorded yet\n\n"),
    }

    out.push_str("## Phases\n\n");
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .map(|p| {
            vec![
                format!("`{}`", p.id),
                md::cell(&p.title),
                md::cell(p.owner.as_deref().unwrap_or("-")),
                state_cell(p),
                duration(p.duration_seconds),
                files_cell(p),
                runs_cell(p),
            ]
        })
        .collect();
    out.push_str(&md::table(
        &[
            "Phase", "Title", "Owner", "State", "Duration", "Files", "Runs",
        ],
        &rows,
    ));
    out.push('\n');

    out.push_str("## Files changed\n\n");
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .flat_map(|p| {
            p.files.iter().map(move |f| {
                let (plus, minus) = if f.binary {
                    ("binary".to_owned(), "binary".to_owned())
                } else {
                    (f.added.to_string(), f.removed.to_string())
                };
                vec![
                    format!("`{}`", p.id),
                    md::code_cell(&f.path),
                    match f.change {
                        ChangeKind::Added => "created".to_owned(),
                        kind => kind.as_str().to_owned(),
                    },
                    plus,
                    minus,
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        out.push_str("No phase has changed a file yet.\n\n");
    } else {
        out.push_str(&md::table(&["Phase", "Path", "Change", "+", "−"], &rows));
        out.push('\n');
        let sources: Vec<String> = r
            .phases
            .iter()
            .filter_map(|p| {
                p.files_from.as_ref().map(|f| {
                    format!(
                        "`{}`: {} `{}`..`{}`",
                        p.id,
                        f.what,
                        short(&f.from),
                        short(&f.to)
                    )
                })
            })
            .collect();
        out.push_str(&format!("Read from {}.\n\n", sources.join("; ")));
    }

    out.push_str("## Test results\n\n");
    out.push_str("The command runs recorded in the notes: preflights, step verifications, red and green runs of the blast radius, and the checks of each verify. Red runs fail on purpose (tests written first) and are counted apart.\n\n");
    let rows: Vec<Vec<String>> = r
        .phases
        .iter()
        .map(|p| {
            vec![
                format!("`{}`", p.id),
                p.runs.recorded.to_string(),
                p.runs.passed.to_string(),
                p.runs.failed.to_string(),
                p.runs.red.to_string(),
                md::cell(&verify_cell(p)),
            ]
        })
        .collect();
    out.push_str(&md::table(
        &["Phase", "Runs", "Passed", "Failed", "Red", "Latest verify"],
        &rows,
    ));
    out.push('\n');

    if r.usage.is_some() {
        out.push_str("## Cost and effort\n\n");
        out.push_str("What each phase's executors said they used (their usage documents: a claim, not evidence), and how long they ran, as `run` measured it; summed over attempts.\n\n");
        let mut rows: Vec<Vec<String>> = r
            .phases
            .iter()
            .filter_map(|p| Some((p, p.usage.as_ref()?)))
            .map(|(p, u)| {
                let mut row = vec![format!("`{}`", p.id)];
                row.extend(usage_cells(u));
                row
            })
            .collect();
        if let Some(total) = &r.usage {
            let mut row = vec!["**Total**".to_owned()];
            row.extend(usage_cells(total));
            rows.push(row);
        }
        out.push_str(&md::table(
            &[
                "Phase",
                "Executor time",
                "Cost",
                "Input tokens",
                "Output tokens",
                "Turns",
                "Model",
            ],
            &rows,
        ));
        out.push('\n');
    }

    out.push_str(&attempts_section(r, logs));

    out.push_str("## Open problems\n\n");
    let problems = problems(r);
    if problems.is_empty() {
        out.push_str("None.\n\n");
    } else {
        out.push_str(&problems.concat());
        out.push('\n');
    }

    out.push_str(&format!("## Next step\n\n{}\n", md::line(next)));
    out
}
