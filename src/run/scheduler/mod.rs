//! The scheduler of a run: which phases start, which are skipped, and when the run ends.
//!
//! It is a state machine over phase indices and nothing else — no git, no threads, no
//! processes — so that every scheduling rule of SPEC §6 is a table of cases in the tests below.
//! It is told what the plan looks like ([`Phases`]: dependencies, overlapping manifests, each
//! phase's state when the run begins, the selection) and how to run it ([`Rules`]); the driver
//! then alternates [`Scheduler::decide`] (what to start, what to skip) with
//! [`Scheduler::finished`] (a phase ended, with its [`Outcome`]) until [`Scheduler::is_over`],
//! and [`Scheduler::end`] says how every selected phase ended. [`waves`] is the same plan seen
//! ahead of time, for `run --dry-run`.
//!
//! Reasons are data ([`Why`], naming phases by index); the words are chosen by whoever shows
//! them.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::state::State;

/// How each selected phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Already complete before this run.
    WasComplete,
    Completed,
    Failed,
    /// Verified but not merged (a conflict with base, a dirty base): needs a person.
    Blocked,
    /// A dependency failed, or is blocked.
    Skipped,
    /// Not run: earlier failures stopped the run (with --fail-fast), a dependency outside
    /// the selection is not complete, or it failed before and --retry-failed was not given.
    NotRun,
    Interrupted,
    /// Another machine holds its claim (`run --remote`): the run waits for that machine, and
    /// the phase's dependents with it.
    Elsewhere,
}

impl Outcome {
    /// The outcome as people read it ("complete" whether or not this run completed it).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed | Outcome::WasComplete => "complete",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not run",
            Outcome::Interrupted => "interrupted",
            Outcome::Elsewhere => "elsewhere",
        }
    }

    /// A failure for `--fail-fast`: the phase ran and did not land (failed, or blocked and
    /// waiting for a person). A phase another run holds, or one interrupted, is not.
    pub fn stops_fail_fast(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Blocked)
    }
}

/// The plan as the scheduler sees it. Phases are indices into these vectors.
#[derive(Debug, Clone, Default)]
pub struct Phases {
    /// `depends[i]`: the phases phase `i` depends on, in the order the plan lists them.
    pub depends: Vec<Vec<usize>>,
    /// Pairs of independent phases whose manifests could touch the same path.
    pub overlaps: Vec<(usize, usize)>,
    /// Each phase's state when the run begins (selected or not).
    pub states: Vec<State>,
    /// The phases the run is about, in dependency order.
    pub selected: Vec<usize>,
}

impl Phases {
    fn overlap(&self, a: usize, b: usize) -> bool {
        self.overlaps
            .iter()
            .any(|&pair| pair == (a, b) || pair == (b, a))
    }
}

/// How the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Phases running at the same time at most (0 counts as 1).
    pub jobs: usize,
    /// After a failure (a phase failed or blocked), go on with the phases that do not depend on
    /// it; false is `--fail-fast`: start no new phase.
    pub keep_going: bool,
    /// Run the phases that failed before again.
    pub retry_failed: bool,
}

/// Why a phase ended as it did, when the scheduler decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", content = "phases", rename_all = "kebab-case")]
pub enum Why {
    /// Complete before this run.
    WasComplete,
    /// Failed before, and `--retry-failed` was not given.
    FailedBefore,
    /// Merged into base without a passing verify.
    Unverified,
    /// This dependency did not complete (failed, blocked, skipped, not run, interrupted).
    Dependency(usize),
    /// Not started: the run was interrupted.
    InterruptedBeforeStart,
    /// Not started: a failure stopped the run (`--fail-fast`).
    FailFast,
    /// Not started: these dependencies are not complete and the run does not complete them.
    WaitsFor(Vec<usize>),
    /// It ran: the phase's own pipeline says why it ended so.
    Ran,
    /// Another machine completed it (`run --remote`).
    CompletedElsewhere,
    /// Another machine ran it, and it failed or is blocked there.
    FailedElsewhere,
    /// Another machine claimed it and is gone: its claim is stale, for a person to take over.
    StaleClaim,
}

/// What another machine's phase looks like now, when the run looks again (`run --remote`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    /// Merged into base.
    Complete,
    /// Failed or blocked there.
    Failed,
    /// Still claimed by a machine that shows signs of life.
    Claimed,
    /// Claimed by a machine that is gone.
    Stale,
    /// Not claimed any more, and not complete: free to claim again.
    Free,
}

/// What the driver does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start this phase (it counts as running until [`Scheduler::finished`]).
    Start(usize),
    /// This phase will not run: its dependency `because` did not complete.
    Skip { phase: usize, because: usize },
}

/// The state of a run in progress.
#[derive(Debug, Clone)]
pub struct Scheduler {
    phases: Phases,
    rules: Rules,
    /// Every phase complete, selected or not: before the run, or completed by it.
    complete: BTreeSet<usize>,
    /// Selected phases still to run, in dependency order.
    pending: Vec<usize>,
    running: Vec<usize>,
    /// How each selected phase ended, by index.
    ended: Vec<Option<(Outcome, Why)>>,
    /// Phases another machine holds, waited for.
    elsewhere: Vec<usize>,
    /// No new phase starts (a failure with `--fail-fast`, or an interrupt).
    stopped: bool,
    interrupted: bool,
}

impl Scheduler {
    pub fn new(phases: Phases, rules: Rules) -> Scheduler {
        let complete = complete_at_start(&phases);
        let mut ended = vec![None; phases.states.len()];
        let mut pending = Vec::new();
        for &i in &phases.selected {
            match at_start(&phases, &rules, i) {
                Some(end) => ended[i] = Some(end),
                None => pending.push(i),
            }
        }
        Scheduler {
            phases,
            rules,
            complete,
            pending,
            running: Vec::new(),
            elsewhere: Vec::new(),
            ended,
            stopped: false,
            interrupted: false,
        }
    }

    /// What to do now: first the phases to skip (a dependency did not complete), then the
    /// phases to start — ready (every dependency complete), up to `jobs`, none whose manifest
    /// overlaps a running one's, in dependency order; none once the run is stopped.
    pub fn decide(&mut self) -> Vec<Decision> {
        let mut decisions = Vec::new();
        let mut changed = true;
        while changed {
            changed = false;
            for i in self.pending.clone() {
                if let Some(d) = self.failed_dependency(i) {
                    decisions.push(Decision::Skip {
                        phase: i,
                        because: d,
                    });
                    self.ended[i] = Some((Outcome::Skipped, Why::Dependency(d)));
                    self.pending.retain(|&p| p != i);
                    changed = true;
                }
            }
        }
        if !self.stopped {
            for i in self.pending.clone() {
                if self.running.len() >= self.rules.jobs.max(1) {
                    break;
                }
                let ready = self.phases.depends[i]
                    .iter()
                    .all(|d| self.complete.contains(d));
                let clash = self.running.iter().any(|&j| self.phases.overlap(i, j));
                if ready && !clash {
                    self.pending.retain(|&p| p != i);
                    self.running.push(i);
                    decisions.push(Decision::Start(i));
                }
            }
        }
        decisions
    }

    /// A running phase ended so.
    pub fn finished(&mut self, phase: usize, outcome: Outcome) {
        self.running.retain(|&r| r != phase);
        if outcome == Outcome::Elsewhere {
            self.elsewhere.push(phase);
            return;
        }
        if outcome == Outcome::Completed {
            self.complete.insert(phase);
        } else if outcome.stops_fail_fast() && !self.rules.keep_going {
            self.stopped = true;
        }
        self.ended[phase] = Some((outcome, Why::Ran));
    }

    /// The run was interrupted: no new phase starts.
    pub fn interrupt(&mut self) {
        self.interrupted = true;
        self.stopped = true;
    }

    /// The phases running now.
    pub fn running(&self) -> &[usize] {
        &self.running
    }

    /// The phases other machines hold, which the run waits for.
    pub fn elsewhere(&self) -> &[usize] {
        &self.elsewhere
    }

    /// What the phases other machines held look like now: a complete one counts as complete
    /// (its dependents may start), a failed or stale one ends here (its dependents are
    /// skipped), a free one is to be claimed again, a claimed one is waited for still.
    pub fn refresh(&mut self, now: &[(usize, Remote)]) {
        for &(i, remote) in now {
            if !self.elsewhere.contains(&i) {
                continue;
            }
            let end = match remote {
                Remote::Claimed => continue,
                Remote::Free => {
                    self.elsewhere.retain(|&e| e != i);
                    // Back among the pending phases, in dependency order.
                    self.pending.push(i);
                    let order = &self.phases.selected;
                    self.pending
                        .sort_by_key(|p| order.iter().position(|s| s == p));
                    continue;
                }
                Remote::Complete => {
                    self.complete.insert(i);
                    (Outcome::Completed, Why::CompletedElsewhere)
                }
                Remote::Failed => (Outcome::NotRun, Why::FailedElsewhere),
                Remote::Stale => (Outcome::NotRun, Why::StaleClaim),
            };
            self.elsewhere.retain(|&e| e != i);
            self.ended[i] = Some(end);
        }
    }

    /// After [`Scheduler::decide`]: nothing runs and no other machine's phase is waited for,
    /// so nothing can start any more — the run ends.
    pub fn is_over(&self) -> bool {
        self.running.is_empty() && (self.elsewhere.is_empty() || self.interrupted)
    }

    /// Nothing runs here, but phases other machines hold are waited for: the driver looks
    /// again ([`Scheduler::refresh`]).
    pub fn waits_elsewhere(&self) -> bool {
        self.running.is_empty() && !self.elsewhere.is_empty() && !self.interrupted
    }

    /// How every selected phase ended, in dependency order; the phases never started say why.
    pub fn end(mut self) -> Vec<(usize, Outcome, Why)> {
        for i in std::mem::take(&mut self.elsewhere) {
            self.ended[i] = Some((Outcome::Elsewhere, Why::Ran));
        }
        for i in std::mem::take(&mut self.pending) {
            let why = if self.interrupted {
                Why::InterruptedBeforeStart
            } else if self.stopped {
                Why::FailFast
            } else {
                Why::WaitsFor(self.waiting_for(i, &self.complete))
            };
            self.ended[i] = Some((Outcome::NotRun, why));
        }
        self.phases
            .selected
            .iter()
            .map(|&i| {
                let (outcome, why) = self.ended[i].take().unwrap_or((Outcome::NotRun, Why::Ran));
                (i, outcome, why)
            })
            .collect()
    }

    /// The first dependency of `i` that did not complete in this run (or is failed and not in
    /// it), if any.
    fn failed_dependency(&self, i: usize) -> Option<usize> {
        self.phases.depends[i].iter().copied().find(|&d| {
            self.ended[d]
                .as_ref()
                .is_some_and(|(o, _)| !matches!(o, Outcome::Completed | Outcome::WasComplete))
                || (self.phases.states[d] == State::Failed && !self.phases.selected.contains(&d))
        })
    }

    fn waiting_for(&self, i: usize, complete: &BTreeSet<usize>) -> Vec<usize> {
        self.phases.depends[i]
            .iter()
            .copied()
            .filter(|d| !complete.contains(d))
            .collect()
    }
}

/// The phases complete before the run, selected or not.
fn complete_at_start(phases: &Phases) -> BTreeSet<usize> {
    (0..phases.states.len())
        .filter(|&i| phases.states[i] == State::Complete)
        .collect()
}

/// How a selected phase ends before the run starts, or `None` when it is to run: complete
/// phases are never redone, failed ones only with `--retry-failed`, unverified ones need a
/// verify; every other phase (in progress, blocked, ready, waiting) runs or continues.
fn at_start(phases: &Phases, rules: &Rules, i: usize) -> Option<(Outcome, Why)> {
    match phases.states[i] {
        State::Complete => Some((Outcome::WasComplete, Why::WasComplete)),
        State::Failed if !rules.retry_failed => Some((Outcome::NotRun, Why::FailedBefore)),
        State::Unverified | State::Contradicted => Some((Outcome::NotRun, Why::Unverified)),
        _ => None,
    }
}

/// The run ahead of time, assuming every phase succeeds (`run --dry-run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waves {
    /// Phases started together, wave after wave.
    pub waves: Vec<Vec<usize>>,
    /// Selected phases complete already.
    pub complete: Vec<usize>,
    /// Selected phases that would not run, with why.
    pub left_out: Vec<(usize, Why)>,
}

/// The waves a run would start if every phase succeeded: each wave the ready phases, up to
/// `jobs`, no two with overlapping manifests.
pub fn waves(phases: &Phases, rules: &Rules) -> Waves {
    let mut done = complete_at_start(phases);
    let complete = phases
        .selected
        .iter()
        .copied()
        .filter(|i| done.contains(i))
        .collect();
    let mut left_out = Vec::new();
    let mut pending = Vec::new();
    for &i in &phases.selected {
        match at_start(phases, rules, i) {
            Some((Outcome::WasComplete, _)) => {}
            Some((_, why)) => left_out.push((i, why)),
            None => pending.push(i),
        }
    }
    let mut waves = Vec::new();
    loop {
        let mut wave: Vec<usize> = Vec::new();
        for &i in &pending {
            if wave.len() >= rules.jobs {
                break;
            }
            let ready = phases.depends[i].iter().all(|d| done.contains(d));
            let clash = wave.iter().any(|&j| phases.overlap(i, j));
            if ready && !clash {
                wave.push(i);
            }
        }
        if wave.is_empty() {
            break;
        }
        pending.retain(|i| !wave.contains(i));
        done.extend(&wave);
        waves.push(wave);
    }
    for i in pending {
        let waiting = phases.depends[i]
            .iter()
            .copied()
            .filter(|d| !done.contains(d))
            .collect();
        left_out.push((i, Why::WaitsFor(waiting)));
    }
    Waves {
        waves,
        complete,
        left_out,
    }
}

#[cfg(test)]
mod tests;
