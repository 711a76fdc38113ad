//! The scheduler's rules as tables of cases: a small plan written in letters, the outcomes
//! its phases end with, and the trace of decisions the scheduler makes for it.

use super::*;

/// A plan of phases `a`, `b`, … (the letter is the index), written as `"b: a"` (b depends
/// on a) or `"c: a b"`; `states` gives the state of each in turn when the run begins (`c`
/// complete, `f` failed, `u` unverified, `p` in progress, `b` blocked, anything else or
/// nothing: ready); every phase is selected unless `only` names some.
fn plan(spec: &[&str], states: &str, overlaps: &[(char, char)], only: &str) -> Phases {
    let index = |c: char| (c as u8 - b'a') as usize;
    let depends = spec
        .iter()
        .map(|line| {
            let (_, deps) = line.split_once(':').unwrap_or((line, ""));
            deps.split_whitespace()
                .map(|d| index(d.chars().next().unwrap()))
                .collect()
        })
        .collect();
    let states = (0..spec.len())
        .map(|i| match states.as_bytes().get(i) {
            Some(b'c') => State::Complete,
            Some(b'f') => State::Failed,
            Some(b'u') => State::Unverified,
            Some(b'p') => State::InProgress,
            Some(b'b') => State::Blocked,
            _ => State::Ready,
        })
        .collect();
    let selected = (0..spec.len())
        .filter(|&i| only.is_empty() || only.contains((b'a' + i as u8) as char))
        .collect();
    Phases {
        depends,
        overlaps: overlaps
            .iter()
            .map(|&(a, b)| (index(a), index(b)))
            .collect(),
        states,
        selected,
    }
}

fn name(i: usize) -> char {
    (b'a' + i as u8) as char
}

/// Runs the scheduler to its end, each started phase finishing in the order started with
/// the outcome `outcomes` gives it (by default, completed). Returns the trace — `+a` a
/// start, `-a/b` a skip because of `b`, `(a)` the driver told that `a` finished — and
/// how each phase ended.
fn simulate(phases: Phases, rules: Rules, outcomes: &[(char, Outcome)]) -> (String, String) {
    simulate_with(phases, rules, outcomes, None)
}

fn simulate_with(
    phases: Phases,
    rules: Rules,
    outcomes: &[(char, Outcome)],
    interrupt_after: Option<char>,
) -> (String, String) {
    let mut s = Scheduler::new(phases, rules);
    let mut trace = Vec::new();
    loop {
        for d in s.decide() {
            trace.push(match d {
                Decision::Start(i) => format!("+{}", name(i)),
                Decision::Skip { phase, because } => {
                    format!("-{}/{}", name(phase), name(because))
                }
            });
        }
        if s.is_over() {
            break;
        }
        assert!(s.running().len() <= rules.jobs.max(1), "more than --jobs");
        let i = s.running()[0];
        let outcome = outcomes
            .iter()
            .find(|(c, _)| *c == name(i))
            .map_or(Outcome::Completed, |&(_, o)| o);
        trace.push(format!("({})", name(i)));
        s.finished(i, outcome);
        if interrupt_after == Some(name(i)) {
            s.interrupt();
        }
    }
    let ends = s
        .end()
        .into_iter()
        .map(|(i, o, why)| {
            let why = match why {
                Why::WasComplete => "was-complete".to_owned(),
                Why::FailedBefore => "failed-before".to_owned(),
                Why::Unverified => "unverified".to_owned(),
                Why::Dependency(d) => format!("dep {}", name(d)),
                Why::InterruptedBeforeStart => "interrupted".to_owned(),
                Why::FailFast => "fail-fast".to_owned(),
                Why::WaitsFor(ds) => {
                    format!("waits {}", ds.into_iter().map(name).collect::<String>())
                }
                Why::Ran => "ran".to_owned(),
                Why::CompletedElsewhere => "completed-elsewhere".to_owned(),
                Why::FailedElsewhere => "failed-elsewhere".to_owned(),
                Why::StaleClaim => "stale-claim".to_owned(),
            };
            format!("{}={} ({why})", name(i), o.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ");
    (trace.join(" "), ends)
}

const ONE: Rules = Rules {
    jobs: 1,
    keep_going: true,
    retry_failed: false,
};
const TWO: Rules = Rules { jobs: 2, ..ONE };
const FAIL_FAST: Rules = Rules {
    keep_going: false,
    ..TWO
};

#[test]
fn the_scheduling_rules_hold() {
    use Outcome::{Blocked, Failed, Interrupted, NotRun};
    struct Case {
        what: &'static str,
        plan: Phases,
        rules: Rules,
        outcomes: &'static [(char, Outcome)],
        trace: &'static str,
        ends: &'static str,
    }
    let cases = [
        Case {
            what: "in dependency order, one at a time",
            plan: plan(&["a", "b: a", "c: b"], "", &[], ""),
            rules: ONE,
            outcomes: &[],
            trace: "+a (a) +b (b) +c (c)",
            ends: "a=complete (ran), b=complete (ran), c=complete (ran)",
        },
        Case {
            what: "--jobs 2 runs independent phases together, never three",
            plan: plan(&["a", "b", "c", "d: a b c"], "", &[], ""),
            rules: TWO,
            outcomes: &[],
            trace: "+a +b (a) +c (b) (c) +d (d)",
            ends: "a=complete (ran), b=complete (ran), c=complete (ran), d=complete (ran)",
        },
        Case {
            what: "--jobs 3 with five independent phases: three at a time, a new one as one ends",
            plan: plan(&["a", "b", "c", "d", "e"], "", &[], ""),
            rules: Rules { jobs: 3, ..ONE },
            outcomes: &[],
            trace: "+a +b +c (a) +d (b) +e (c) (d) (e)",
            ends: "a=complete (ran), b=complete (ran), c=complete (ran), d=complete (ran), e=complete (ran)",
        },
        Case {
            what: "a failure skips only its dependents, transitively",
            plan: plan(&["a", "b: a", "c: b", "d"], "", &[], ""),
            rules: ONE,
            outcomes: &[('a', Failed)],
            trace: "+a (a) -b/a -c/b +d (d)",
            ends: "a=failed (ran), b=skipped (dep a), c=skipped (dep b), d=complete (ran)",
        },
        Case {
            what: "a blocked phase skips its dependents too",
            plan: plan(&["a", "b: a", "c"], "", &[], ""),
            rules: ONE,
            outcomes: &[('a', Blocked)],
            trace: "+a (a) -b/a +c (c)",
            ends: "a=blocked (ran), b=skipped (dep a), c=complete (ran)",
        },
        Case {
            what: "--keep-going goes on with everything that does not depend on a failure",
            plan: plan(&["a", "b", "c: b", "d"], "", &[], ""),
            rules: TWO,
            outcomes: &[('a', Failed)],
            trace: "+a +b (a) +d (b) +c (d) (c)",
            ends: "a=failed (ran), b=complete (ran), c=complete (ran), d=complete (ran)",
        },
        Case {
            what: "--fail-fast starts nothing after a failure; the running ones finish",
            plan: plan(&["a", "b", "c", "d: a"], "", &[], ""),
            rules: FAIL_FAST,
            outcomes: &[('a', Failed)],
            trace: "+a +b (a) -d/a (b)",
            ends: "a=failed (ran), b=complete (ran), c=not run (fail-fast), d=skipped (dep a)",
        },
        Case {
            what: "--fail-fast stops on a blocked phase",
            plan: plan(&["a", "b"], "", &[], ""),
            rules: Rules {
                jobs: 1,
                ..FAIL_FAST
            },
            outcomes: &[('a', Blocked)],
            trace: "+a (a)",
            ends: "a=blocked (ran), b=not run (fail-fast)",
        },
        Case {
            what: "--fail-fast does not stop on a phase another run holds",
            plan: plan(&["a", "b"], "", &[], ""),
            rules: Rules {
                jobs: 1,
                ..FAIL_FAST
            },
            outcomes: &[('a', NotRun)],
            trace: "+a (a) +b (b)",
            ends: "a=not run (ran), b=complete (ran)",
        },
        Case {
            what: "phases whose manifests overlap never run together",
            plan: plan(&["a", "b", "c"], "", &[('a', 'b')], ""),
            rules: Rules { jobs: 3, ..ONE },
            outcomes: &[],
            trace: "+a +c (a) +b (c) (b)",
            ends: "a=complete (ran), b=complete (ran), c=complete (ran)",
        },
        Case {
            what: "a phase complete already is never scheduled",
            plan: plan(&["a", "b: a", "c"], "cc", &[], ""),
            rules: TWO,
            outcomes: &[],
            trace: "+c (c)",
            ends: "a=complete (was-complete), b=complete (was-complete), c=complete (ran)",
        },
        Case {
            what: "an interrupted run resumes: complete phases stay done, the one in progress continues",
            plan: plan(&["a", "b: a", "c: b"], "cp", &[], ""),
            rules: ONE,
            outcomes: &[],
            trace: "+b (b) +c (c)",
            ends: "a=complete (was-complete), b=complete (ran), c=complete (ran)",
        },
        Case {
            what: "a blocked phase runs again (to be merged)",
            plan: plan(&["a", "b: a"], "b", &[], ""),
            rules: ONE,
            outcomes: &[],
            trace: "+a (a) +b (b)",
            ends: "a=complete (ran), b=complete (ran)",
        },
        Case {
            what: "a phase that failed before is left out, and its dependents skipped",
            plan: plan(&["a", "b: a", "c"], "f", &[], ""),
            rules: ONE,
            outcomes: &[],
            trace: "-b/a +c (c)",
            ends: "a=not run (failed-before), b=skipped (dep a), c=complete (ran)",
        },
        Case {
            what: "--retry-failed runs it again",
            plan: plan(&["a", "b: a"], "f", &[], ""),
            rules: Rules {
                retry_failed: true,
                ..ONE
            },
            outcomes: &[],
            trace: "+a (a) +b (b)",
            ends: "a=complete (ran), b=complete (ran)",
        },
        Case {
            what: "an unverified phase is left out",
            plan: plan(&["a", "b: a"], "u", &[], ""),
            rules: ONE,
            outcomes: &[],
            trace: "-b/a",
            ends: "a=not run (unverified), b=skipped (dep a)",
        },
        Case {
            what: "a dependency outside the selection that is complete",
            plan: plan(&["a", "b: a"], "c", &[], "b"),
            rules: ONE,
            outcomes: &[],
            trace: "+b (b)",
            ends: "b=complete (ran)",
        },
        Case {
            what: "a dependency outside the selection that is not complete: waits, and the run ends",
            plan: plan(&["a", "b: a", "c"], "", &[], "bc"),
            rules: ONE,
            outcomes: &[],
            trace: "+c (c)",
            ends: "b=not run (waits a), c=complete (ran)",
        },
        Case {
            what: "a dependency outside the selection that failed: skipped",
            plan: plan(&["a", "b: a"], "f", &[], "b"),
            rules: ONE,
            outcomes: &[],
            trace: "-b/a",
            ends: "b=skipped (dep a)",
        },
        Case {
            what: "a dependency another run holds: its dependents are skipped",
            plan: plan(&["a", "b: a"], "", &[], ""),
            rules: ONE,
            outcomes: &[('a', NotRun)],
            trace: "+a (a) -b/a",
            ends: "a=not run (ran), b=skipped (dep a)",
        },
        Case {
            what: "an interrupted phase: its dependents are skipped",
            plan: plan(&["a", "b: a"], "", &[], ""),
            rules: ONE,
            outcomes: &[('a', Interrupted)],
            trace: "+a (a) -b/a",
            ends: "a=interrupted (ran), b=skipped (dep a)",
        },
        Case {
            what: "nothing to run: the run ends at once",
            plan: plan(&["a", "b"], "cc", &[], ""),
            rules: ONE,
            outcomes: &[],
            trace: "",
            ends: "a=complete (was-complete), b=complete (was-complete)",
        },
    ];
    for case in cases {
        let (trace, ends) = simulate(case.plan, case.rules, case.outcomes);
        assert_eq!(
            (trace.as_str(), ends.as_str()),
            (case.trace, case.ends),
            "{}",
            case.what
        );
    }
}

#[test]
fn an_interrupt_starts_nothing_more_and_says_so() {
    let (trace, ends) = simulate_with(plan(&["a", "b", "c: a"], "", &[], ""), TWO, &[], Some('a'));
    assert_eq!(trace, "+a +b (a) (b)");
    assert_eq!(
        ends,
        "a=complete (ran), b=complete (ran), c=not run (interrupted)"
    );
}

#[test]
fn jobs_zero_counts_as_one() {
    let (trace, _) = simulate(
        plan(&["a", "b"], "", &[], ""),
        Rules { jobs: 0, ..ONE },
        &[],
    );
    assert_eq!(trace, "+a (a) +b (b)");
}

#[test]
fn the_waves_ahead_of_time() {
    struct Case {
        what: &'static str,
        plan: Phases,
        rules: Rules,
        waves: &'static [&'static [usize]],
        complete: &'static [usize],
        left_out: Vec<(usize, Why)>,
    }
    let cases = [
        Case {
            what: "levels, split by --jobs",
            plan: plan(&["a", "b", "c", "d: a b"], "", &[], ""),
            rules: TWO,
            waves: &[&[0, 1], &[2, 3]],
            complete: &[],
            left_out: vec![],
        },
        Case {
            what: "overlapping manifests in separate waves",
            plan: plan(&["a", "b"], "", &[('a', 'b')], ""),
            rules: TWO,
            waves: &[&[0], &[1]],
            complete: &[],
            left_out: vec![],
        },
        Case {
            what: "complete phases, failed ones and what waits for them",
            plan: plan(&["a", "b", "c: b", "d: a"], "cf", &[], ""),
            rules: TWO,
            waves: &[&[3]],
            complete: &[0],
            left_out: vec![(1, Why::FailedBefore), (2, Why::WaitsFor(vec![1]))],
        },
        Case {
            what: "a dependency outside the selection",
            plan: plan(&["a", "b: a"], "", &[], "b"),
            rules: ONE,
            waves: &[],
            complete: &[],
            left_out: vec![(1, Why::WaitsFor(vec![0]))],
        },
    ];
    for case in cases {
        let w = waves(&case.plan, &case.rules);
        let expected: Vec<Vec<usize>> = case.waves.iter().map(|w| w.to_vec()).collect();
        assert_eq!(w.waves, expected, "{}", case.what);
        assert_eq!(w.complete, case.complete, "{}", case.what);
        assert_eq!(w.left_out, case.left_out, "{}", case.what);
    }
}

fn rules2() -> Rules {
    Rules {
        jobs: 2,
        keep_going: true,
        retry_failed: false,
    }
}

#[test]
fn a_phase_another_machine_holds_is_waited_for_and_then_counts_as_it_ended_there() {
    let mut s = Scheduler::new(plan(&["a", "b: a", "c"], "", &[], ""), rules2());
    assert_eq!(s.decide(), vec![Decision::Start(0), Decision::Start(2)]);
    s.finished(0, Outcome::Elsewhere);
    s.finished(2, Outcome::Completed);
    // b waits for a, which another machine runs: the run is not over.
    assert_eq!(s.decide(), vec![]);
    assert!(!s.is_over() && s.waits_elsewhere());
    s.refresh(&[(0, Remote::Claimed)]);
    assert_eq!(s.decide(), vec![]);
    assert!(s.waits_elsewhere());
    s.refresh(&[(0, Remote::Complete)]);
    assert_eq!(s.decide(), vec![Decision::Start(1)]);
    s.finished(1, Outcome::Completed);
    assert!(s.is_over());
    assert_eq!(
        s.end(),
        vec![
            (0, Outcome::Completed, Why::CompletedElsewhere),
            (1, Outcome::Completed, Why::Ran),
            (2, Outcome::Completed, Why::Ran),
        ]
    );
}

#[test]
fn a_stale_or_failed_phase_elsewhere_skips_its_dependents_and_a_free_one_is_claimed_again() {
    let mut s = Scheduler::new(plan(&["a", "b: a", "c", "d: c"], "", &[], ""), rules2());
    assert_eq!(s.decide(), vec![Decision::Start(0), Decision::Start(2)]);
    s.finished(0, Outcome::Elsewhere);
    s.finished(2, Outcome::Elsewhere);
    s.refresh(&[(0, Remote::Stale), (2, Remote::Free)]);
    assert_eq!(
        s.decide(),
        vec![
            Decision::Skip {
                phase: 1,
                because: 0
            },
            Decision::Start(2)
        ]
    );
    s.finished(2, Outcome::Elsewhere);
    s.refresh(&[(2, Remote::Failed)]);
    assert_eq!(
        s.decide(),
        vec![Decision::Skip {
            phase: 3,
            because: 2
        }]
    );
    assert!(s.is_over());
    let ended = s.end();
    assert_eq!(ended[0], (0, Outcome::NotRun, Why::StaleClaim));
    assert_eq!(ended[2], (2, Outcome::NotRun, Why::FailedElsewhere));
}
