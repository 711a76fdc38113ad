//! Acceptance checks: commands run in the verified work tree (and must leave it as they found
//! it), files that must exist and match, manual checks that need recorded evidence, and TDD
//! checks that need a failing run recorded earlier on the branch.

use std::path::Path;

use serde::Serialize;

use super::VerifyError;
use crate::git::{Oid, Repo};
use crate::plan::{Check, CheckKind, Phase, Plan};
use crate::process::run_command;
use crate::state::events::{CommandRun, Event};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub name: String,
    /// `run`, `file`, `manual`.
    pub kind: &'static str,
    pub tdd: bool,
    pub verified: bool,
    /// Not run (`--no-run`).
    pub skipped: bool,
    /// What shows the result, in one line.
    pub evidence: String,
    pub run: Option<CommandRun>,
}

/// Evaluates every check of `phase` for HEAD's `tree`. `events` are the phase's recorded events
/// on the branch, oldest first, each `accept` naming the tree it accepted.
pub fn run_checks(
    work: &Repo,
    workdir: &Path,
    plan: &Plan,
    phase: &Phase,
    events: &[Event],
    tree: Oid,
    no_run: bool,
) -> Result<Vec<CheckResult>, VerifyError> {
    let mut results = Vec::new();
    for check in &phase.checks {
        results.push(match &check.kind {
            CheckKind::Run { command, expect_exit, timeout, tdd } => {
                if no_run {
                    CheckResult {
                        name: check.name.clone(),
                        kind: "run",
                        tdd: *tdd,
                        verified: false,
                        skipped: true,
                        evidence: format!("not run (--no-run): `{}`", command.text),
                        run: None,
                    }
                } else {
                    let before = work.worktree_fingerprint(workdir)?;
                    let env = [("PLANX_PLAN", plan.id.as_str()), ("PLANX_PHASE", phase.id.as_str())];
                    let what = format!("check `{}`", check.name);
                    let outcome = run_command(&what, command, workdir, *timeout, &env)?;
                    let after = work.worktree_fingerprint(workdir)?;
                    let exited = outcome.exited_with(*expect_exit);
                    let touched = after.changed_since(&before);
                    let changed = !touched.is_empty();
                    let run = CommandRun::new(&command.text, &command.shell, &outcome, exited && !changed);
                    let red_first = !*tdd || earlier_failure(events, check, &command.shell);
                    let evidence = match (exited, changed, red_first) {
                        (_, true, _) => format!(
                            "`{}` changed the work tree ({}): {}; a check may only read it{}",
                            command.text,
                            outcome.describe(),
                            listed(&touched, 5),
                            if touched.iter().any(|p| after.is_untracked(p)) {
                                " (files a build writes belong in .gitignore)"
                            } else {
                                ""
                            }
                        ),
                        (false, _, _) => format!(
                            "`{}` {}, expected exit {expect_exit}",
                            command.text,
                            run.describe()
                        ),
                        (true, false, false) => format!(
                            "`{}` passes ({}), but no failing run was recorded earlier on the branch (tdd: red first)",
                            command.text,
                            run.describe()
                        ),
                        (true, false, true) => format!("`{}` {}", command.text, run.describe()),
                    };
                    CheckResult {
                        name: check.name.clone(),
                        kind: "run",
                        tdd: *tdd,
                        verified: exited && !changed && red_first,
                        skipped: false,
                        evidence,
                        run: Some(run),
                    }
                }
            }
            CheckKind::File { path, contains } => file_check(check, workdir, path, contains.as_ref()),
            CheckKind::Manual => manual_check(check, phase, events, tree),
        });
    }
    Ok(results)
}

/// A manual check holds when its latest acceptance is about exactly `tree`; an acceptance of
/// another tree is shown, with the tree it accepted, as not verified until accepted again.
fn manual_check(check: &Check, phase: &Phase, events: &[Event], tree: Oid) -> CheckResult {
    let tree = tree.to_string();
    let accepted = events
        .iter()
        .rev()
        .find(|e| e.event == "accept" && e.str("check") == Some(check.name.as_str()));
    let again = format!(
        "`git planx accept {} \"{}\" --evidence …`",
        phase.id, check.name
    );
    let (verified, evidence) = match accepted {
        None => (false, format!("no evidence recorded: {again}")),
        Some(e) => {
            let said = format!(
                "by {} at {}: {}",
                e.str("who").unwrap_or("someone"),
                e.ts,
                e.str("evidence").unwrap_or("")
            );
            match e.str("tree") {
                Some(t) if t == tree => (true, format!("accepted {said}")),
                other => (
                    false,
                    format!(
                        "accepted for an older tree {} {said}; accept it again for this tree: {again}",
                        other.map_or("(unknown)", |t| &t[..t.len().min(10)])
                    ),
                ),
            }
        }
    };
    CheckResult {
        name: check.name.clone(),
        kind: "manual",
        tdd: false,
        verified,
        skipped: false,
        evidence,
        run: None,
    }
}

/// Was a failing run of this check (by name in a verify record, or its command as a red
/// checkpoint's blast radius) recorded earlier on the branch?
fn earlier_failure(events: &[Event], check: &Check, shell: &str) -> bool {
    events.iter().any(|e| match e.event.as_str() {
        "checkpoint" => e
            .run("run")
            .is_some_and(|run| run.shell == shell && !run.passed),
        "verify" => e
            .data
            .get("checks")
            .and_then(|c| c.as_array())
            .is_some_and(|checks| {
                checks.iter().any(|c| {
                    c.get("name").and_then(|n| n.as_str()) == Some(check.name.as_str())
                        && c.get("run")
                            .and_then(|r| r.get("passed"))
                            .and_then(|p| p.as_bool())
                            == Some(false)
                        && c.get("run")
                            .and_then(|r| r.get("shell"))
                            .and_then(|s| s.as_str())
                            == Some(shell)
                })
            }),
        _ => false,
    })
}

fn file_check(
    check: &Check,
    workdir: &Path,
    path: &str,
    contains: Option<&crate::plan::Contains>,
) -> CheckResult {
    let full = workdir.join(path);
    let result = |verified: bool, evidence: String| CheckResult {
        name: check.name.clone(),
        kind: "file",
        tdd: false,
        verified,
        skipped: false,
        evidence,
        run: None,
    };
    // A file check reads the file itself, never through a symlink that leaves the work tree.
    match std::fs::symlink_metadata(&full) {
        Err(_) => return result(false, format!("{path} does not exist")),
        Ok(m) if m.file_type().is_symlink() => {
            return result(false, format!("{path} is a symlink, not a file"));
        }
        Ok(m) if !m.is_file() => return result(false, format!("{path} is not a file")),
        Ok(_) => {}
    }
    let Some(contains) = contains else {
        return result(true, format!("{path} exists"));
    };
    let pattern = match contains.regex() {
        Ok(pattern) => pattern,
        Err(e) => {
            return result(
                false,
                format!("`{}` is not a valid expression: {e}", contains.as_str()),
            );
        }
    };
    match std::fs::read(&full) {
        Err(e) => result(false, format!("{path} cannot be read: {e}")),
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            match pattern.find(&text) {
                Some(m) => {
                    let line = text[..m.start()].matches('\n').count() + 1;
                    result(
                        true,
                        format!("{path} matches `{}` on line {line}", pattern.as_str()),
                    )
                }
                None => result(
                    false,
                    format!("{path} has no match for `{}`", pattern.as_str()),
                ),
            }
        }
    }
}

/// `paths` as a list for one line: the first `max`, then how many more.
fn listed(paths: &[String], max: usize) -> String {
    let mut text = paths
        .iter()
        .take(max)
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > max {
        text.push_str(&format!(" and {} more", paths.len() - max));
    }
    text
}
