//! Review and reporting (SPEC §3 `brief`, `review`, `report`): what is said about one phase or
//! a whole plan, as values derived from the plan and git alone.
//!
//! Nothing here runs a plan command: `review` and `report` read the `verify` records that
//! `verify` left in the notes and judge the committed trees by the manifest, which is a pure
//! function of two trees. Nothing here prints either; `cli` renders these values as markdown or
//! JSON. The one exception to "only reads" is [`forge`], which hands a finished review to the
//! forge's own tool when asked to.

pub mod brief;
pub mod execution;
pub mod forge;
pub mod review;

use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::git::{GitError, Oid, Repo};
use crate::plan::CommandRef;
use crate::state::events::{CommandRun, Event, is_passing_record};
use crate::state::judging::{JudgingError, UnknownPhase};

/// Why a report could not be made.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("phase `{phase}` has no branch to review: it was merged by {} and its branch is gone", &merged_by.to_string()[..10])]
    NoBranch { phase: String, merged_by: Oid },
    /// The phase cannot be judged: not started, no fork point, no usable plan there.
    #[error(transparent)]
    Judging(#[from] JudgingError),
    #[error(transparent)]
    Git(#[from] GitError),
}

impl From<UnknownPhase> for ReportError {
    fn from(error: UnknownPhase) -> ReportError {
        ReportError::Judging(error.into())
    }
}

/// A command as the plan wrote it, and what runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// What the plan says: a `[commands]` name or a shell command.
    pub text: String,
    /// The `[commands]` name, when `text` is one.
    pub name: Option<String>,
    /// What runs, with `sh -c`.
    pub shell: String,
}

impl From<&CommandRef> for Command {
    fn from(c: &CommandRef) -> Command {
        Command {
            text: c.text.clone(),
            name: c.name.clone(),
            shell: c.shell.clone(),
        }
    }
}

/// The short form of an object id, as people read it.
pub fn short(id: &Oid) -> String {
    id.to_string()[..10].to_owned()
}

pub(crate) fn hex<S: Serializer>(id: &Oid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

pub(crate) fn hex_opt<S: Serializer>(id: &Option<Oid>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_str(&id.to_string()),
        None => s.serialize_none(),
    }
}

/// A check's result as a `verify` event recorded it.
/// A commit on a phase branch made with the pre-commit hook bypassed (`git commit
/// --no-verify`, `PLANX_HOOKS=0`) or not installed: it changed paths outside the manifest,
/// which the hook refuses (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bypass {
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    pub summary: String,
    /// The paths outside the manifest it changed.
    pub paths: Vec<String>,
}

/// The commits among `commits` that bypassed the pre-commit hook, oldest first.
pub fn bypasses(
    repo: &Repo,
    phase: &crate::plan::Phase,
    commits: &[Oid],
) -> Result<Vec<Bypass>, GitError> {
    let mut found: Vec<Bypass> = crate::verify::bypass::bypassed(repo, phase, commits)?
        .into_iter()
        .map(|(commit, summary, paths)| Bypass {
            commit,
            summary,
            paths,
        })
        .collect();
    found.reverse();
    Ok(found)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCheck {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub tdd: bool,
    pub verified: bool,
    #[serde(default)]
    pub skipped: bool,
    pub evidence: String,
    #[serde(default)]
    pub run: Option<CommandRun>,
}

/// A `verify` event read back from the note of the commit it was recorded on.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyRecord {
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    pub ts: String,
    /// The tree that was verified.
    #[serde(serialize_with = "hex")]
    pub tree: Oid,
    pub passed: bool,
    /// The work tree had no uncommitted change: the verified content is exactly `tree`.
    pub clean: bool,
    /// Recorded by `verify --no-run`: no command ran.
    pub no_run: bool,
    /// What `finish` accepts: passed, clean, with commands run.
    pub counts: bool,
    /// Error findings of the manifest it recorded.
    pub errors: usize,
    pub checks: Vec<RecordedCheck>,
}

impl VerifyRecord {
    pub fn from_event(commit: Oid, event: &Event) -> Option<VerifyRecord> {
        if event.event != "verify" {
            return None;
        }
        let flag = |key: &str| event.data.get(key).and_then(serde_json::Value::as_bool);
        let checks = event
            .data
            .get("checks")
            .and_then(|c| serde_json::from_value::<Vec<RecordedCheck>>(c.clone()).ok())
            .unwrap_or_default();
        let errors = event
            .data
            .get("findings")
            .and_then(serde_json::Value::as_array)
            .map_or(0, |findings| {
                findings
                    .iter()
                    .filter(|f| f.get("level").and_then(serde_json::Value::as_str) == Some("error"))
                    .count()
            });
        Some(VerifyRecord {
            commit,
            ts: event.ts.clone(),
            // A note is text anyone can write: a record whose tree is not an object id is
            // not a verify record.
            tree: Oid::from_str(event.str("tree")?).ok()?,
            passed: flag("passed") == Some(true),
            clean: flag("clean") == Some(true),
            no_run: flag("no_run") != Some(false),
            counts: is_passing_record(event, None),
            errors,
            checks,
        })
    }

    /// Nothing it judged failed: the manifest held and every check it evaluated was verified
    /// (checks it did not run, with `--no-run`, aside).
    pub fn holds(&self) -> bool {
        self.errors == 0 && self.checks.iter().all(|c| c.verified || c.skipped)
    }

    pub fn is_of(&self, tree: Oid) -> bool {
        self.tree == tree
    }
}

/// The `verify` records among a phase's events, oldest first.
pub fn verify_records(events: &[(Oid, Event)]) -> Vec<VerifyRecord> {
    let mut records: Vec<VerifyRecord> = events
        .iter()
        .filter_map(|(commit, e)| VerifyRecord::from_event(*commit, e))
        .collect();
    records.sort_by(|a, b| a.ts.cmp(&b.ts));
    records
}

/// The record that speaks for `tree`: the latest that counts for it, else the latest of it,
/// else the latest of any tree.
pub fn record_for(records: &[VerifyRecord], tree: Oid) -> Option<&VerifyRecord> {
    records
        .iter()
        .rfind(|r| r.is_of(tree) && r.counts)
        .or_else(|| records.iter().rfind(|r| r.is_of(tree)))
        .or_else(|| records.last())
}

/// A command run recorded in a phase's notes, with what it was for.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRun {
    /// `preflight` (on base, before the phase), `red` / `green` (the blast radius), `step`
    /// (a step's verify), `check` (an acceptance check run by `verify`).
    pub when: &'static str,
    /// The step id or the check's name, for `step` and `check`.
    pub label: Option<String>,
    pub ts: String,
    #[serde(serialize_with = "hex")]
    pub commit: Oid,
    pub run: CommandRun,
}

/// Every command run recorded in `events`, oldest first.
pub fn recorded_runs(events: &[(Oid, Event)]) -> Vec<RecordedRun> {
    let mut out = Vec::new();
    for (commit, e) in events {
        let mut push = |when: &'static str, label: Option<String>, run: CommandRun| {
            out.push(RecordedRun {
                when,
                label,
                ts: e.ts.clone(),
                commit: *commit,
                run,
            })
        };
        match e.event.as_str() {
            "start" => {
                for run in e.runs("preflight") {
                    push("preflight", None, run);
                }
            }
            "checkpoint" => {
                if let Some(run) = e.run("verify") {
                    push("step", e.str("step").map(str::to_owned), run);
                }
                if let Some(run) = e.run("run") {
                    let when = if e.str("checkpoint") == Some("red") {
                        "red"
                    } else {
                        "green"
                    };
                    push(when, None, run);
                }
            }
            "verify" => {
                if let Some(record) = VerifyRecord::from_event(*commit, e) {
                    for check in record.checks {
                        if let Some(run) = check.run {
                            push("check", Some(check.name), run);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.ts.cmp(&b.ts));
    out
}

/// One run of a phase's executor by `git planx run`, as its notes recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1 for the first attempt; a later one is a retry.
    pub number: usize,
    pub ts: String,
    /// `passed` (the executor exited 0; verify and merge follow), `failed`, `timeout`,
    /// `interrupted`.
    pub result: &'static str,
    pub duration_ms: u64,
    /// The exit as `run` describes it (`exit 1 in 3.0s`, `timed out in 7200.0s`).
    pub how: String,
}

/// Every run of the phase's executor recorded in `events`, oldest first. A run is recorded on
/// the checkpoint of what it left and again on the `failed` checkpoint after it: once here.
pub fn attempts(events: &[(Oid, Event)]) -> Vec<Attempt> {
    let mut found: Vec<(String, &'static str, CommandRun)> = Vec::new();
    for (_, e) in events {
        let Some(run) = e.run("executor") else {
            continue;
        };
        let result = if e.event == "interrupted" {
            "interrupted"
        } else if run.timed_out {
            "timeout"
        } else if run.passed {
            "passed"
        } else {
            "failed"
        };
        found.push((e.ts.clone(), result, run));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|later, earlier| {
        later.2.duration_ms == earlier.2.duration_ms
            && later.2.exit == earlier.2.exit
            && later.2.signal == earlier.2.signal
            && later.2.timed_out == earlier.2.timed_out
    });
    found
        .into_iter()
        .enumerate()
        .map(|(i, (ts, result, run))| Attempt {
            number: i + 1,
            ts,
            result,
            duration_ms: run.duration_ms,
            how: run.describe(),
        })
        .collect()
}

/// The commit a phase's work ends at, and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TipFrom {
    /// The phase branch, checked out in this work tree.
    CheckedOut,
    /// HEAD, detached at the commit a CI job names for the phase branch (or at its tip).
    Detached,
    /// The local phase branch.
    Branch,
    /// The merged side of the merge that completed the phase (its branch is gone).
    Merged,
}

/// Where the phase's work is: the phase branch checked out here; HEAD, detached, when a CI job
/// names the phase branch (`ci_branch`) or HEAD is the branch's tip; the local branch; else,
/// for a phase merged by a merge commit, the merged side.
pub fn phase_tip(
    repo: &Repo,
    branch: &str,
    ci_branch: Option<&str>,
    completed_by: Option<Oid>,
    phase: &str,
) -> Result<(Oid, TipFrom), ReportError> {
    let current = repo.current_branch()?;
    let head = repo.head_commit()?;
    let tip = repo.branch_tip(branch)?;
    if let Some(head) = head {
        if current.as_deref() == Some(branch) {
            return Ok((head, TipFrom::CheckedOut));
        }
        if current.is_none() && (ci_branch == Some(branch) || tip == Some(head)) {
            return Ok((head, TipFrom::Detached));
        }
    }
    if let Some(tip) = tip {
        return Ok((tip, TipFrom::Branch));
    }
    // A phase started elsewhere, or a CI checkout: `origin`'s copy, as fetched.
    if completed_by.is_none()
        && let Some(tip) = repo.ref_target(&format!("refs/remotes/origin/{branch}"))?
    {
        return Ok((tip, TipFrom::Branch));
    }
    match completed_by {
        Some(merge) => match repo.commit_info(merge)?.parents.as_slice() {
            [_, merged, ..] => Ok((*merged, TipFrom::Merged)),
            _ => Err(ReportError::NoBranch {
                phase: phase.to_owned(),
                merged_by: merge,
            }),
        },
        None => Err(JudgingError::NotStarted {
            phase: phase.to_owned(),
        }
        .into()),
    }
}

/// Seconds since the epoch of an RFC 3339 time, as events record it.
pub(crate) fn epoch(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.timestamp())
}

/// An RFC 3339 time (UTC) of seconds since the epoch.
pub(crate) fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(crate::clock::format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verify event as planx writes it and reads it back: signed.
    fn verify_event(ts: &str, tree: &str, passed: bool, clean: bool) -> Event {
        let event = Event::new(ts, "p", "a", "verify")
            .with("tree", tree)
            .with("passed", passed)
            .with("clean", clean)
            .with("no_run", false);
        Event::parse(&event.sealed_line().unwrap()).unwrap()
    }

    #[test]
    fn the_record_for_a_tree_prefers_one_that_counts() {
        let tree = Oid::from_str("1111111111111111111111111111111111111111").unwrap();
        let other = "2222222222222222222222222222222222222222";
        let commit = Oid::ZERO_SHA1;
        let events = vec![
            (
                commit,
                verify_event("2026-01-01T00:00:01Z", &tree.to_string(), true, true),
            ),
            (
                commit,
                verify_event("2026-01-01T00:00:02Z", &tree.to_string(), false, false),
            ),
            (
                commit,
                verify_event("2026-01-01T00:00:03Z", other, true, true),
            ),
        ];
        let records = verify_records(&events);
        let chosen = record_for(&records, tree).unwrap();
        assert_eq!(chosen.ts, "2026-01-01T00:00:01Z");
        assert!(chosen.counts);
        // Without one that counts: the latest of the tree.
        let records = verify_records(&events[1..]);
        assert_eq!(
            record_for(&records, tree).unwrap().ts,
            "2026-01-01T00:00:02Z"
        );
        // Without any of the tree: the latest of any tree.
        let records = verify_records(&events[2..]);
        assert_eq!(record_for(&records, tree).unwrap().tree.to_string(), other);
        assert!(record_for(&[], tree).is_none());
    }

    #[test]
    fn a_tree_that_is_not_an_object_id_is_no_record() {
        let events = vec![(
            Oid::ZERO_SHA1,
            verify_event("2026-01-01T00:00:01Z", &"aé".repeat(8), true, true),
        )];
        assert!(verify_records(&events).is_empty());
    }

    #[test]
    fn runs_are_read_from_every_kind_of_event() {
        let run = |passed: bool| CommandRun {
            command: "test".into(),
            shell: "true".into(),
            passed,
            exit: Some(i32::from(!passed)),
            signal: None,
            timed_out: false,
            duration_ms: 5,
            tail: String::new(),
        };
        let commit = Oid::ZERO_SHA1;
        let events = vec![
            (
                commit,
                Event::new("2026-01-01T00:00:01Z", "p", "a", "start")
                    .with("preflight", [run(true)]),
            ),
            (
                commit,
                Event::new("2026-01-01T00:00:02Z", "p", "a", "checkpoint")
                    .with("checkpoint", "red")
                    .with("run", run(false)),
            ),
            (
                commit,
                Event::new("2026-01-01T00:00:03Z", "p", "a", "verify")
                    .with("tree", "3".repeat(40))
                    .with(
                        "checks",
                        serde_json::json!([{"name":"tests","kind":"run","verified":true,
                            "evidence":"ok","run":run(true)}]),
                    ),
            ),
        ];
        let runs = recorded_runs(&events);
        let whens: Vec<&str> = runs.iter().map(|r| r.when).collect();
        assert_eq!(whens, ["preflight", "red", "check"]);
        assert_eq!(runs[2].label.as_deref(), Some("tests"));
    }
}
