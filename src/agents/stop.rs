//! The stop gate (`git planx hook agent-stop`): an agent on a phase branch may end its turn
//! only when the phase's work verifies, judged exactly as `verify` judges it — by the plan on
//! base at the fork point, on the work tree as it is, uncommitted work included.
//!
//! Two answers are kept so that the gate stays fast and bounded:
//!
//! - a passing judgement, by the tree the work tree holds and the judging plan's blob: the same
//!   work under the same plan is not checked again (a passing `verify` record of the same tree
//!   counts too), so an agent that stops twice in a row over finished work waits for no test
//!   run the second time;
//! - the loop guard: how many times in a row the gate has held the agent back in this phase,
//!   in local state (`$GIT_COMMON_DIR/planx/agent-stop/`), so that a cap lets the agent go —
//!   with a `blocked` checkpoint the command line records — before the agent's own limit ends
//!   the turn without a word in git.

use std::fs;
use std::path::PathBuf;

use super::AgentsError;
use crate::cache::Cache;
use crate::git::Repo;
use crate::state::judging::Subject;
use crate::verify::{self, Place, Report, VerifyOptions};

/// The git configuration key of the loop guard's cap.
pub const CAP_KEY: &str = "planx.agentStopCap";
/// Consecutive blocks before the agent may stop all the same: below Claude Code's own cap of
/// 8 (`CLAUDE_CODE_STOP_HOOK_BLOCK_CAP`), or planx's guard would never have its say.
pub const DEFAULT_CAP: u32 = 5;

/// The cap on consecutive blocks: `planx.agentStopCap`, else [`DEFAULT_CAP`]. `Err` with the
/// value when it is not a whole number of at least 1.
pub fn cap(repo: &Repo) -> Result<Result<u32, String>, AgentsError> {
    Ok(match repo.config_string(CAP_KEY)? {
        None => Ok(DEFAULT_CAP),
        Some(value) => match value.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(value),
        },
    })
}

/// What the gate found.
#[derive(Debug)]
pub enum Verdict {
    /// The work verifies; `reused` when a passing judgement of the same tree and plan was
    /// already known, and nothing ran.
    Passed {
        reused: bool,
        /// Manual checks left for a person (`accept`): an agent cannot do them, so they do not
        /// hold it back.
        manual: Vec<String>,
    },
    /// The work does not verify: the report says why.
    Failing(Box<Report>),
}

/// Does `report` hold the agent back? Every manifest error and every check not verified,
/// except manual checks still waiting for a person's `accept`.
pub fn holds_back(report: &Report) -> bool {
    report.errors() > 0
        || report
            .checks
            .iter()
            .any(|c| !c.verified && c.kind != "manual")
}

/// Judges phase `phase` checked out in this work tree, as `verify` would.
pub fn judge(
    subject: Subject<'_>,
    phase: &str,
    opts: &VerifyOptions,
) -> Result<Verdict, AgentsError> {
    let repo = subject.repo;
    let place = Place::choose(subject, phase, None)?;
    let (head, branch) = place.commit();
    let judged = verify::judge(subject, phase, branch, head).map_err(verify::VerifyError::from)?;
    let tree = repo.work_tree_id()?;
    let plan_key = judged.plan.blob.clone().unwrap_or_else(|| "unknown".into());
    let key = format!(
        "{plan_key}-{tree}-{}",
        crate::git::fingerprint(phase.as_bytes())
    );
    let cache = Cache::new(repo, "agent-stop", 1, "bin");
    let manual_of = |report: Option<&Report>| -> Vec<String> {
        report
            .map(|r| {
                r.checks
                    .iter()
                    .filter(|c| !c.verified && c.kind == "manual")
                    .map(|c| c.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(manual) = cache.get_value::<Vec<String>>(&key) {
        return Ok(Verdict::Passed {
            reused: true,
            manual,
        });
    }
    // A passing `verify` of exactly this tree, clean, is as good.
    if tree == repo.tree_of(head)? {
        let commits = repo.commits_between(head, &[judged.fork])?;
        if crate::state::evidence::find_passing_record(
            repo,
            &judged.plan.id,
            phase,
            tree,
            &commits,
        )?
        .is_some()
        {
            return Ok(Verdict::Passed {
                reused: true,
                manual: Vec::new(),
            });
        }
    }
    let report = verify::verify_judged_at(repo, &judged, place, opts)?;
    if holds_back(&report) {
        return Ok(Verdict::Failing(Box::new(report)));
    }
    if report.passed() {
        verify::record(repo, &report)?;
    }
    let manual = manual_of(Some(&report));
    cache.put_value(&key, &manual);
    Ok(Verdict::Passed {
        reused: false,
        manual,
    })
}

/// The loop guard of one phase and hook event: the count of consecutive blocks, in local
/// state.
pub struct Guard {
    path: PathBuf,
}

impl Guard {
    pub fn new(repo: &Repo, plan: &str, phase: &str, event: &str) -> Guard {
        let name = |s: &str| s.replace('/', "%2F");
        Guard {
            path: repo
                .state_dir()
                .join("agent-stop")
                .join(name(plan))
                .join(format!("{}.{}", name(phase), name(event))),
        }
    }

    /// The blocks in a row so far (0 when none is recorded).
    pub fn blocks(&self) -> u32 {
        fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Records `n` blocks in a row.
    pub fn set(&self, n: u32) -> Result<(), AgentsError> {
        let write = |e| AgentsError::Write {
            path: self.path.display().to_string(),
            source: e,
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(write)?;
        }
        fs::write(&self.path, format!("{n}\n")).map_err(write)
    }

    /// Forgets the count: the agent stopped.
    pub fn clear(&self) {
        let _ = fs::remove_file(&self.path);
    }
}
