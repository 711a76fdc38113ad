//! The plumbing that carries out the scheduler's decisions: a scoped thread per started phase
//! running its pipeline, a channel back to this thread with how it ended, the skips and the
//! failures told to the observer, a tick for live displays while it waits. Every decision is
//! the [`Scheduler`]'s; this file only moves values between it, the threads and the observer.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::pipeline::{Shared, reason_of, run_phase};
use super::scheduler::{Decision, Scheduler, Why};
use super::{Outcome, RunError, RunEvent};
use crate::interrupt;

/// How a phase's thread ended: the phase, and its outcome with the reason, or the error that
/// stopped it.
type Ended = (usize, Result<(Outcome, String), RunError>);

/// Runs the scheduler to its end and says how each selected phase ended, in dependency order.
pub(super) fn drive(
    shared: &Shared<'_>,
    mut scheduler: Scheduler,
) -> Vec<(usize, Outcome, String)> {
    let plan = shared.plan;
    let observer = shared.observer;
    let mut reasons: HashMap<usize, String> = HashMap::new();
    let (tx, rx) = mpsc::channel::<Ended>();
    let mut last_look = Instant::now();
    // The claims of the phases running here are renewed now and then, so that a phase that
    // runs long never looks abandoned to other machines.
    let renew_every = shared.renew_every;
    let mut last_renewal = Instant::now();

    std::thread::scope(|scope| {
        loop {
            if interrupt::received().is_some() {
                scheduler.interrupt();
            }
            for decision in scheduler.decide() {
                match decision {
                    Decision::Skip { phase, because: d } => {
                        observer.event(&RunEvent::Skipped {
                            phase: plan.phases[phase].id.clone(),
                            because: shared.render.why(&Why::Dependency(d)),
                        });
                    }
                    Decision::Start(i) => {
                        let tx = tx.clone();
                        scope.spawn(move || {
                            let _ = tx.send((i, run_guarded(shared, i)));
                        });
                    }
                }
            }
            if scheduler.is_over() {
                break;
            }
            // Phases other machines hold: look again now and then, and at once when nothing
            // else is left to wait for.
            if !scheduler.elsewhere().is_empty()
                && (scheduler.waits_elsewhere() || last_look.elapsed() >= LOOK_EVERY)
            {
                if scheduler.waits_elsewhere() {
                    std::thread::sleep(LOOK_EVERY.saturating_sub(last_look.elapsed()));
                }
                last_look = Instant::now();
                match look_again(shared, scheduler.elsewhere()) {
                    Ok(now) => scheduler.refresh(&now),
                    Err(e) => observer.event(&RunEvent::Waiting {
                        because: reason_of(shared.render, e),
                    }),
                }
                if scheduler.waits_elsewhere() {
                    continue;
                }
            }
            if scheduler.running().is_empty() {
                continue;
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok((i, result)) => {
                    let (outcome, why) = match result {
                        Ok(done) => done,
                        Err(e) if e.is_interrupted() => {
                            (Outcome::Interrupted, "interrupted".into())
                        }
                        Err(e) => {
                            let reason = reason_of(shared.render, e);
                            observer.event(&RunEvent::Failed {
                                phase: plan.phases[i].id.clone(),
                                reason: reason.clone(),
                                tail: String::new(),
                            });
                            (Outcome::Failed, reason)
                        }
                    };
                    if outcome == Outcome::Elsewhere {
                        observer.event(&RunEvent::Elsewhere {
                            phase: plan.phases[i].id.clone(),
                            reason: why.clone(),
                        });
                    }
                    scheduler.finished(i, outcome);
                    reasons.insert(i, why);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    observer.tick();
                    if let Some(every) = renew_every
                        && last_renewal.elapsed() >= every
                    {
                        last_renewal = Instant::now();
                        if let Err(e) = renew(shared, scheduler.running()) {
                            observer.event(&RunEvent::Waiting {
                                because: reason_of(shared.render, e),
                            });
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });

    if interrupt::received().is_some() {
        scheduler.interrupt();
    }
    scheduler
        .end()
        .into_iter()
        .map(|(i, outcome, why)| {
            let why = match why {
                Why::Ran => reasons.remove(&i).unwrap_or_default(),
                why => shared.render.why(&why),
            };
            (i, outcome, why)
        })
        .collect()
}

/// How often a run with other machines looks again at the phases they hold.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// How the phases other machines hold look now (`run --remote`), under the merge lock.
fn look_again(
    shared: &Shared<'_>,
    elsewhere: &[usize],
) -> Result<Vec<(usize, super::scheduler::Remote)>, RunError> {
    let Some(name) = &shared.remote else {
        return Ok(Vec::new());
    };
    let _remote = shared.merge.lock().unwrap_or_else(|p| p.into_inner());
    let repo = crate::git::Repo::open(&shared.workdir)?;
    super::remote::look_again(
        crate::state::judging::Subject::new(&repo, shared.plan, shared.plan_path),
        name,
        elsewhere,
    )
}

/// Renews this machine's claims of the phases running here (`run --remote`).
fn renew(shared: &Shared<'_>, running: &[usize]) -> Result<(), RunError> {
    let Some(name) = &shared.remote else {
        return Ok(());
    };
    let _claims = shared.claims.lock().unwrap_or_else(|p| p.into_inner());
    let repo = crate::git::Repo::open(&shared.workdir)?;
    for &i in running {
        super::remote::renew(&repo, name, shared.plan, &shared.plan.phases[i].id)?;
    }
    Ok(())
}

/// A phase's pipeline; a panic becomes an error, so that the run never waits for it forever.
fn run_guarded(shared: &Shared<'_>, i: usize) -> Result<(Outcome, String), RunError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_phase(shared, i))).unwrap_or_else(
        |panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Err(RunError::Internal { what })
        },
    )
}
