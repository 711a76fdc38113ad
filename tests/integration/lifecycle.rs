//! The phase lifecycle in git: start, checkpoint, status, log, next, resume — by hand, with
//! real commits, real notes and real merges.

use std::collections::HashMap;
use std::fs;

use insta::assert_snapshot;

use crate::common::{
    AWAIT, PhaseBuilder, PlanBuilder, Repo, SMALL_PLAN, WALK_PLAN, interrupt, wait_ended,
    wait_for_pids, wait_until, walk_plan,
};

/// Merges a phase branch into main with git itself, the way `finish` will, with trailers.
fn merge_with_git(repo: &Repo, phase: &str) {
    repo.git(&["switch", "-q", "main"]);
    repo.git(&[
        "merge",
        "--no-ff",
        "-q",
        &format!("planx/{phase}"),
        "-m",
        &format!(
            "Merge phase {phase}\n\nPlanx-Plan: walk\nPlanx-Phase: {phase}\nPlanx-Status: complete"
        ),
    ]);
}

#[test]
fn a_step_command_has_a_check_s_time_not_the_executor_s() {
    // The phase's `timeout` is the executor's time under `run`; a step's command is a check.
    let plan = WALK_PLAN
        .replace(
            "blast_radius = \"test -f a.txt\"",
            "blast_radius = \"test -f a.txt\"\ntimeout = \"1s\"",
        )
        .replace(
            "verify = \"test -f a.txt\"",
            "verify = \"sleep 1.2; test -f a.txt\"",
        );
    assert!(plan.contains("timeout = \"1s\"") && plan.contains("sleep 1.2"));
    let repo = Repo::with_plan(&plan);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    let run = repo.planx(&["checkpoint", "--step", "2"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("passed"), "{run}");
}

#[test]
fn a_full_walk_by_hand() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["status"]), @"
    plan walk: Walk a plan by hand (base main at 33c9de5589)

    PHASE  STATE    BRANCH  LAST CHECKPOINT  STEP  AGE
    a      ready    -       -                0/2   -
    b      waiting  -       -                -     -

    next: start phase `a`: `git planx start a`
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    started phase `a` on planx/a (from main at 33c9de5589), start checkpoint de3e72a820
      preflight `test` passed (exit 0 in 0.0s)
      switched to planx/a
    next: step 1 — Write the test; record it with `git planx checkpoint --step 1`
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.branch(), "planx/a");
    assert_eq!(
        repo.trailers("HEAD"),
        "Planx-Plan: walk\nPlanx-Phase: a\nPlanx-Checkpoint: start\nPlanx-Status: in-progress\n\n"
    );
    let note = repo.note("HEAD");
    assert!(note.contains(r#""event":"start""#), "{note}");
    assert!(note.contains(r#""preflight":[{"command":"test""#), "{note}");

    // Step 1 without a verify command; then red: the blast radius must fail.
    assert_eq!(
        repo.planx(&["checkpoint", "--step", "1", "-m", "Test for a"])
            .code,
        0
    );
    assert_snapshot!(repo.planx(&["checkpoint", "--red"]), @"
    checkpoint cb4bc16da8 on planx/a: red (in-progress)
      blast radius `test -f a.txt` fails, as a red checkpoint should (exit 1 in 0.0s)
    --- stderr ---
    [exit status: 0]
    ");
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_snapshot!(repo.planx(&["checkpoint", "--green"]), @"
    checkpoint 7f151b03b6 on planx/a: green (in-progress)
      blast radius `test -f a.txt` passes (exit 0 in 0.0s)
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(repo.planx(&["checkpoint", "--step", "2"]), @"
    checkpoint a46960ffb5 on planx/a: step 2 (in-progress)
      verify `test -f a.txt` passed (exit 0 in 0.0s)
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(repo.planx(&["status", "a", "--format", "md"]), @"
    # Status: walk — Walk a plan by hand

    Derived from git by `git planx status --format md` (base `main` at `33c9de5589`).

    ## Phase `a` — First: IN PROGRESS

    | Step | Title | Status |
    | --- | --- | --- |
    | 1 | Write the test | COMPLETED |
    | 2 | Make it pass | COMPLETED |

    Test results recorded:

    - 2026-01-01T00:00:05Z preflight: `test` passed — exit 0 in 0.0s
    - 2026-01-01T00:00:10Z red: `test -f a.txt` failed — exit 1 in 0.0s
    - 2026-01-01T00:00:12Z green: `test -f a.txt` passed — exit 0 in 0.0s
    - 2026-01-01T00:00:13Z step 2 verify: `test -f a.txt` passed — exit 0 in 0.0s

    **Next step:** phase `a` has no open step: verify it with `git planx verify a`
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(repo.planx(&["log", "a"]), @"
    TIME              PHASE  CHECKPOINT   COMMIT      SUMMARY
    2026-01-01 00:00  a      start        de3e72a820  planx: start a — First
                             preflight                `test` passed (exit 0 in 0.0s)
                             by                       Ada Lovelace <ada@example.com>
    2026-01-01 00:00  a      step 1       673327ee49  Test for a
    2026-01-01 00:00  a      red          cb4bc16da8  planx: a red: the blast radius fails
                             red run                  `test -f a.txt` failed (exit 1 in 0.0s)
    2026-01-01 00:00  a      green        7f151b03b6  planx: a green: the blast radius passes
                             green run                `test -f a.txt` passed (exit 0 in 0.0s)
    2026-01-01 00:00  a      step 2       a46960ffb5  planx: a step 2 — Make it pass
                             step verify              `test -f a.txt` passed (exit 0 in 0.0s)
    --- stderr ---
    [exit status: 0]
    ");

    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    let log = repo.planx(&["log", "a"]).stdout;
    assert_snapshot!(log.lines().last().unwrap().trim(), @"verify                   VERIFIED: 0 manifest errors, 1 of 1 checks verified, tree f92b537bce");
    merge_with_git(&repo, "a");
    assert_snapshot!(repo.planx(&["status"]), @"
    plan walk: Walk a plan by hand (base main at cc51e8cd44)

    PHASE  STATE     BRANCH   LAST CHECKPOINT    STEP  AGE
    a      complete  planx/a  merged cc51e8cd44  2/2   7s
    b      ready     -        -                  -     -

    next: start phase `b`: `git planx start b`
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(repo.planx(&["next"]), @"
    b  Second  git planx start b
    --- stderr ---
    [exit status: 0]
    ");
    let run = repo.planx(&["start", "b"]);
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn amend_and_rebase_keep_the_notes() {
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.planx(&["init", "-q", "--force"]);
    repo.git(&["checkout", "-q", "--", ".planx/plan.toml"]);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    let before = repo.note("HEAD");
    repo.git(&["commit", "-q", "--amend", "-m", "Amended subject\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Checkpoint: step\nPlanx-Step: 2\nPlanx-Status: in-progress"]);
    assert_eq!(repo.note("HEAD"), before, "the note followed the amend");
    // Base moves on; the phase branch is rebased onto it.
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "x\n");
    repo.commit_all("Meanwhile on main");
    repo.git(&["switch", "-q", "planx/a"]);
    repo.git(&["rebase", "-q", "main"]);
    assert_eq!(repo.note("HEAD"), before, "the note followed the rebase");
    assert!(repo.note("HEAD~1").contains(r#""event":"start""#));
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "in-progress");
    assert_eq!(status["phases"][0]["steps"][1]["state"], "COMPLETED");
}

#[test]
fn works_from_a_subdirectory_and_a_linked_worktree() {
    let repo = Repo::with_plan(&WALK_PLAN);
    fs::create_dir_all(repo.path("deep/er")).unwrap();
    let run = repo.planx_in(
        &repo.path("deep/er"),
        &["start", "a", "--worktree", "../../../wt-a"],
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(repo.branch(), "main", "this work tree stays where it was");
    let wt = repo.root.parent().unwrap().join("wt-a");
    let run = repo.planx_in(&wt, &["checkpoint", "--step", "1"]);
    assert_eq!(run.code, 0, "{run}");
    let status = repo
        .planx_in(&repo.path("deep"), &["status", "--json"])
        .json();
    assert_eq!(status["phases"][0]["steps"][0]["state"], "COMPLETED");
    // Starting it again from the main work tree points at the worktree holding it.
    let run = repo.planx(&["start", "a"]);
    assert!(run.stdout.contains("is checked out in"), "{run}");
    let run = repo.planx(&["resume", "a"]);
    assert!(run.stdout.contains("checked out in"), "{run}");
}

#[test]
fn starting_a_started_phase_switches_to_it() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    phase `a` was already started: switched to planx/a
    next: step 1 — Write the test; record it with `git planx checkpoint --step 1`
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.branch(), "planx/a");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    phase `a` was already started: you are on planx/a
    next: step 1 — Write the test; record it with `git planx checkpoint --step 1`
    --- stderr ---
    [exit status: 0]
    ");
    let starts = repo.git(&[
        "log",
        "--format=%s",
        "--grep=Planx-Checkpoint: start",
        "planx/a",
    ]);
    assert_eq!(starts.lines().count(), 1);
}

fn start_events(repo: &Repo) -> usize {
    let log = repo.git(&["log", "--format=%H", "planx/a"]);
    log.lines()
        .filter_map(|c| {
            let out = repo.run(
                repo.command("git", &repo.root)
                    .args(["notes", "--ref", "planx", "show", c]),
            );
            out.success().then_some(out.stdout)
        })
        .map(|n| n.matches(r#""event":"start""#).count())
        .sum()
}

#[test]
fn an_interrupted_start_is_completed_never_duplicated() {
    // Interrupted after the branch was made, before the start commit.
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.git(&["branch", "planx/a", "main"]);
    let run = repo.planx(&["start", "a"]);
    assert!(
        run.stdout
            .contains("completed an interrupted start: the start commit"),
        "{run}"
    );
    assert_eq!(start_events(&repo), 1);
    assert_eq!(
        repo.git(&["rev-list", "--count", "main..planx/a"]).trim(),
        "1"
    );

    // Interrupted after the start commit, before its note.
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.git(&["switch", "-q", "-c", "planx/a"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "planx: start a — First\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Checkpoint: start\nPlanx-Status: in-progress"]);
    repo.git(&["switch", "-q", "main"]);
    let run = repo.planx(&["start", "a"]);
    assert!(
        run.stdout
            .contains("completed an interrupted start: the start note"),
        "{run}"
    );
    assert_eq!(start_events(&repo), 1);
    assert_eq!(
        repo.git(&["rev-list", "--count", "main..planx/a"]).trim(),
        "1"
    );

    // Interrupted after the note, before the switch: the next start only switches.
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    let run = repo.planx(&["start", "a"]);
    assert!(run.stdout.contains("was already started"), "{run}");
    assert_eq!(start_events(&repo), 1);
}

#[test]
fn two_simultaneous_starts_have_exactly_one_winner() {
    // The winner's preflight holds its start until the other start has ended.
    let repo = Repo::new();
    let loser_ended = repo.root.parent().unwrap().join("loser-ended");
    let plan = walk_plan()
        .preflight([format!("{AWAIT}; await '{}'", loser_ended.display())])
        .toml();
    repo.write("README.md", "# demo\n");
    repo.write_plan(&plan);
    repo.commit_all("Add the plan");
    let trust = repo.planx(&["trust", "-q"]);
    assert_eq!(trust.code, 0, "{trust}");
    let spawn = || {
        repo.command(crate::common::BIN, &repo.root)
            .args(["start", "a"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut starts = [spawn(), spawn()];
    wait_until("one of the two starts has ended", || {
        starts.iter_mut().any(|c| c.try_wait().unwrap().is_some())
    });
    fs::write(&loser_ended, "").unwrap();
    let outs = starts.map(|c| c.wait_with_output().unwrap());
    let mut codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, [0, 3], "{outs:?}");
    let loser = outs.iter().find(|o| o.status.code() == Some(3)).unwrap();
    assert!(
        String::from_utf8_lossy(&loser.stderr)
            .contains("another `git planx start` of phase `a` is running")
    );
    assert_eq!(
        repo.git(&["branch", "--list", "planx/*"]).lines().count(),
        1
    );
    assert_eq!(start_events(&repo), 1);
    assert!(
        git_planx::lock::Lock::is_free(&repo.path(".git/planx/locks"), "start-walk-a").unwrap(),
        "no lock left held"
    );
}

#[test]
fn eight_processes_checkpointing_at_once_lose_no_event() {
    let plan = (0..8).fold(PlanBuilder::new("par", "Parallel"), |plan, i| {
        plan.phase(
            PhaseBuilder::new(&format!("p{i}"), &format!("P{i}"))
                .owner("x")
                .kind("design")
                .check_manual("m"),
        )
    });
    let repo = Repo::with_plan(&plan.toml());
    for i in 0..8 {
        let run = repo.planx(&[
            "start",
            &format!("p{i}"),
            "--worktree",
            &format!("../wt{i}"),
        ]);
        assert_eq!(run.code, 0, "{run}");
    }
    let children: Vec<_> = (0..8)
        .map(|i| {
            let wt = repo.root.parent().unwrap().join(format!("wt{i}"));
            repo.command("sh", &wt)
                .args([
                    "-c",
                    &format!(
                        "for n in 1 2 3 4 5; do '{}' checkpoint -q -m \"p{i} n$n\" || exit 1; done",
                        crate::common::BIN
                    ),
                ])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let notes = repo.git(&["notes", "--ref", "planx", "list"]);
    assert_eq!(
        notes.lines().count(),
        8 * 6,
        "8 start notes and 40 checkpoint notes"
    );
    for i in 0..8 {
        let subjects = repo.git(&["log", "--format=%s", &format!("main..planx/p{i}")]);
        for n in 1..=5 {
            assert!(subjects.contains(&format!("p{i} n{n}")));
        }
    }
}

#[test]
fn refusals_of_start() {
    let repo = Repo::with_plan(&walk_plan().status("reviewed").toml());
    assert_snapshot!(repo.planx(&["start", "a"]), @r#"
    --- stderr ---
    error: the plan is reviewed, not ready
    hint: review the plan, then set `status = "ready"` in [plan] and commit it on base; or pass --force
    [exit status: 3]
    "#);
    assert_snapshot!(repo.planx(&["start", "zzz"]), @"
    --- stderr ---
    error: the plan has no phase `zzz`
    hint: the plan's phases are a, b
    [exit status: 2]
    ");

    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["start", "b"]), @"
    --- stderr ---
    error: phase `b` depends on phases that are not complete
      `a` is ready
    hint: finish those first; `git planx next` lists the phases that can start now
    [exit status: 3]
    ");

    repo.write("README.md", "changed\n");
    repo.write("new.txt", "new\n");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: the work tree has uncommitted changes
       M README.md
      ?? new.txt
    hint: commit or stash them yourself (planx never touches them), or set `clean_worktree = false` in [preflight]
    [exit status: 3]
    ");
    assert_eq!(repo.read("README.md"), "changed\n", "never touched");
    repo.git(&["checkout", "--", "README.md"]);
    fs::remove_file(repo.path("new.txt")).unwrap();

    repo.write("broken", "");
    repo.commit_all("Break main");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: preflight failed
      `test` FAILED (exit 1 in 0.0s)
    hint: the base must pass preflight before a phase starts; fix base, then start again
    [exit status: 3]
    ");
    assert_eq!(repo.branch(), "main");
    assert!(
        repo.git(&["branch", "--list", "planx/*"]).is_empty(),
        "nothing left behind"
    );
}

#[test]
fn a_merge_or_rebase_in_progress_refuses_start() {
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.git(&["switch", "-q", "-c", "side"]);
    repo.write("README.md", "side\n");
    repo.commit_all("Side");
    repo.git(&["switch", "-q", "main"]);
    repo.write("README.md", "main\n");
    repo.commit_all("Main");
    let run = repo.run(repo.command("git", &repo.root).args(["merge", "side"]));
    assert_ne!(run.code, 0, "the merge conflicts");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: a merge is in progress in this work tree
    hint: finish it with `git commit` or stop it with `git merge --abort`
    [exit status: 3]
    ");
    repo.git(&["merge", "--abort"]);
    let run = repo.run(repo.command("git", &repo.root).args(["rebase", "side"]));
    assert_ne!(run.code, 0, "the rebase stops on the conflict");
    let run = repo.planx(&["start", "a"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("a rebase is in progress"), "{run}");
}

#[test]
fn refusals_of_checkpoint() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["checkpoint"]), @"
    --- stderr ---
    error: `main` is not a phase branch of plan `walk`
    hint: switch to the phase with `git planx resume PHASE`, or start one with `git planx start PHASE`
    [exit status: 3]
    ");
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    assert_snapshot!(repo.planx(&["checkpoint", "--step", "9"]), @"
    --- stderr ---
    error: phase `a` has no step `9`
    hint: its steps are 1, 2
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["checkpoint", "--green"]), @"
    --- stderr ---
    error: the blast radius fails, so this is not a green checkpoint
      `test -f a.txt` exit 1 in 0.0s
    hint: make the tests pass first; nothing was committed
    [exit status: 1]
    ");
    repo.write("a.txt", "a\n");
    assert_snapshot!(repo.planx(&["checkpoint", "--red"]), @"
    --- stderr ---
    error: the work tree has changes this checkpoint would not commit
      ?? a.txt
    hint: the run must be about exactly what is committed: stage your changes (`git add`) or stash them, then try again
    hint: files a build or a test writes (caches, build output) belong in .gitignore, not in a commit
    [exit status: 3]
    ");
    assert_snapshot!(repo.planx(&["checkpoint", "-m", "sneaky\n\nPlanx-Status: complete"]), @"
    --- stderr ---
    error: the checkpoint's message or reason carries a Planx-* line
    hint: planx writes the Planx-* trailers itself; leave them out of the message
    [exit status: 2]
    ");
    for args in [
        ["-m", "done\rPlanx-Status: complete"],
        ["--blocked", "waiting\r"],
        ["--failed", "a\r\nb\rc"],
    ] {
        let mut argv = vec!["checkpoint"];
        argv.extend(args);
        insta::allow_duplicates! { assert_snapshot!(repo.planx(&argv), @r"
        --- stderr ---
        error: the checkpoint's message or reason holds a carriage return that ends no line
        hint: a terminal would write the rest over the start of the line; end lines with a newline (\n)
        [exit status: 2]
        "); }
    }
    assert_snapshot!(repo.planx(&["checkpoint", "--red", "--green"]), @"
    --- stderr ---
    error: the argument '--red' cannot be used with '--green'

    Usage: git planx checkpoint --red

    For more information, try '--help'.
    [exit status: 2]
    ");
    repo.git(&["switch", "-q", "--detach"]);
    let run = repo.planx(&["checkpoint"]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn a_failing_step_verify_is_recorded_and_says_no() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    assert_snapshot!(repo.planx(&["checkpoint", "--step", "2"]), @"
    checkpoint c7ecc15565 on planx/a: step 2 (in-progress)
      verify `test -f a.txt` FAILED (exit 1 in 0.0s)
      the step is recorded as attempted, not completed
    --- stderr ---
    [exit status: 1]
    ");
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["steps"][1]["state"], "IN_PROGRESS");
}

#[test]
fn blocked_and_failed_phases() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    assert_eq!(
        repo.planx(&["checkpoint", "--blocked", "the API spec is missing"])
            .code,
        0
    );
    assert_snapshot!(repo.planx(&["status"]), @"
    plan walk: Walk a plan by hand (base main at 33c9de5589)

    PHASE  STATE    BRANCH   LAST CHECKPOINT     STEP  AGE
    a      blocked  planx/a  blocked 30a2eb9512  0/2   1s
    b      waiting  -        -                   -     -

    a blocked: the API spec is missing
    next: phase `a` is blocked (the API spec is missing): deal with that, then `git planx resume a`
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(
        repo.planx(&["checkpoint", "-m", "Spec found, going on"])
            .code,
        0
    );
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["phases"][0]["state"],
        "in-progress"
    );
    assert_eq!(
        repo.planx(&["checkpoint", "--failed", "the approach does not work"])
            .code,
        0
    );
    repo.git(&["switch", "-q", "main"]);
    assert_snapshot!(repo.planx(&["resume"]), @"
    resumed phase `a` (failed) on planx/a
      failed: the approach does not work
      last checkpoint: failed ba73d1f5ea, 2s ago
      no step completed yet
      next step: 1 — Write the test (`git planx checkpoint --step 1` when done)
      complete phases: what they created is still on main
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.branch(), "planx/a");
}

#[test]
fn a_merge_made_elsewhere_completes_the_phase() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    assert_eq!(
        repo.planx(&["verify", "-q"]).code,
        0,
        "CI verified the pull request"
    );
    // A forge merges the pull request without any planx trailer.
    repo.git(&["switch", "-q", "main"]);
    repo.git(&[
        "merge",
        "--no-ff",
        "-q",
        "planx/a",
        "-m",
        "Merge pull request #1 from planx/a",
    ]);
    repo.git(&["branch", "-D", "planx/a"]);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete");
    assert_eq!(status["phases"][1]["state"], "ready");
}

#[test]
fn a_merge_without_a_passing_verify_is_unverified_and_blocks_dependents() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    merge_with_git(&repo, "a");
    assert_snapshot!(repo.planx(&["status"]), @"
    plan walk: Walk a plan by hand (base main at 6b8cddf570)

    PHASE  STATE       BRANCH   LAST CHECKPOINT    STEP  AGE
    a      UNVERIFIED  planx/a  merged 6b8cddf570  1/2   3s
    b      waiting     -        -                  -     -

    UNVERIFIED: a was merged by 6b8cddf570 without a passing verify of its tree: it does not count as complete
    next: phase `a` was merged without a passing verify of its tree, so its dependents wait: verify its branch (`git planx verify a`) and share the notes
    --- stderr ---
    [exit status: 0]
    ");
    // Verifying the merged branch records the evidence: now it counts.
    assert_eq!(repo.planx(&["verify", "a", "-q"]).code, 0);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete");
    assert_eq!(status["phases"][1]["state"], "ready");
}

#[test]
fn a_squash_commit_claiming_completion_without_evidence_is_unverified() {
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        "Phase a, squashed\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete",
    ]);
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["phases"][0]["state"],
        "unverified"
    );
    // A claim for another plan does not count at all.
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x\n\nPlanx-Plan: other\nPlanx-Phase: a\nPlanx-Status: complete",
    ]);
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["phases"][0]["state"],
        "ready"
    );
}

#[test]
fn a_complete_phase_whose_files_are_gone_is_stale() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    assert_eq!(repo.planx(&["finish", "a", "--squash", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["phases"][0]["state"],
        "complete"
    );
    repo.git(&["rm", "-q", "a.txt"]);
    repo.commit_all("Remove a.txt");
    assert_snapshot!(repo.planx(&["status", "a"]), @"
    plan walk: Walk a plan by hand (base main at e6bb6ffb9d)

    PHASE  STATE             BRANCH   LAST CHECKPOINT    STEP  AGE
    a      complete (stale)  planx/a  merged 18aa724e6f  2/2   6s

    a is stale: a.txt no longer on main
    next: start phase `b`: `git planx start b`
    --- stderr ---
    [exit status: 0]
    ");
    let run = repo.planx(&["resume", "--json"]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn history_before_the_plan_is_not_read() {
    let repo = Repo::new();
    repo.write("x.txt", "x\n");
    // A claim made before the plan existed does not count.
    repo.git(&["add", "x.txt"]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        "Old\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete",
    ]);
    repo.write_plan(&WALK_PLAN);
    repo.commit_all("Add the plan");
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["phases"][0]["state"],
        "ready"
    );
}

#[test]
fn next_lists_ready_phases_in_order() {
    let repo = Repo::with_plan(&SMALL_PLAN);
    assert_snapshot!(repo.planx(&["next"]), @"
    a  First  git planx start a
    --- stderr ---
    [exit status: 0]
    ");
    let doc = repo.planx(&["next", "--json"]).json();
    assert_eq!(doc["schema"], "planx.next/1");
    assert_eq!(doc["phases"][0]["id"], "a");
}

#[test]
fn status_needs_no_committed_plan() {
    let repo = Repo::with_commit();
    repo.write_plan(&WALK_PLAN);
    let run = repo.planx(&["status"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("the plan is not committed there yet"),
        "{run}"
    );
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: the plan is not committed on `main`
    hint: commit .planx/plan.toml on main first: phases start from, and are judged by, the plan on their base
    [exit status: 3]
    ");
}

#[test]
fn unsupported_repositories_are_refused_clearly() {
    let repo = Repo::folder();
    repo.git(&["init", "-q", "--ref-format=reftable"]);
    repo.write_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["status"]), @"
    --- stderr ---
    error: this repository stores its refs in the reftable format, which git-planx cannot read yet
    hint: use a clone with the files ref format: `git clone --ref-format=files …` (or `git refs migrate --ref-format=files`)
    [exit status: 3]
    ");
    let repo = Repo::folder();
    repo.git(&["init", "-q", "--object-format=sha256"]);
    repo.write_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["status"]), @"
    --- stderr ---
    error: this repository uses SHA-256 object ids, which git-planx does not support yet
    hint: git-planx works with SHA-1 repositories
    [exit status: 3]
    ");
    let repo = Repo::folder();
    repo.git(&["init", "-q", "--bare"]);
    let run = repo.planx(&["status"]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn a_step_with_a_verify_command_needs_its_recorded_run() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    // A hand-made commit claiming step 2, whose step has a verify command: no evidence.
    repo.git(&["commit", "-q", "--allow-empty", "-m", "s\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Checkpoint: step\nPlanx-Step: 2\nPlanx-Status: in-progress"]);
    // Step 1 has no verify command: the checkpoint alone completes it.
    assert_eq!(repo.planx(&["checkpoint", "--step", "1"]).code, 0);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["steps"][0]["state"], "COMPLETED");
    assert_eq!(status["phases"][0]["steps"][1]["state"], "IN_PROGRESS");
}

#[test]
fn reasons_cannot_carry_trailers_either() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    let run = repo.planx(&[
        "checkpoint",
        "--blocked",
        "x\n\nPlanx-Step: 2\nPlanx-Status: complete",
    ]);
    assert_eq!(run.code, 2, "{run}");
    let run = repo.planx(&[
        "checkpoint",
        "--blocked",
        "waiting for the spec\nfrom the API team",
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        repo.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Planx-Status,valueonly)"
        ]),
        "blocked\n\n"
    );
}

#[test]
fn an_uncommitted_base_edit_cannot_promote_another_branch() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write_plan(&WALK_PLAN.replace("base = \"main\"", "base = \"other\""));
    repo.git(&["branch", "other", "main"]);
    repo.git(&["stash", "-q"]);
    repo.git(&["switch", "-q", "other"]);
    repo.write_plan(&WALK_PLAN.replace("depends_on = [\"a\"]", "depends_on = []"));
    repo.commit_all("A plan on other, still naming main");
    repo.write_plan(
        &WALK_PLAN
            .replace("base = \"main\"", "base = \"other\"")
            .replace("depends_on = [\"a\"]", "depends_on = []"),
    );
    let run = repo.planx(&["status"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("names `other` as the base, but the plan committed there names `main`"),
        "{run}"
    );
}

#[test]
fn a_branch_with_foreign_commits_is_not_taken_over() {
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.git(&["switch", "-q", "-c", "planx/a"]);
    repo.write("mine.txt", "someone's work\n");
    repo.commit_all("Someone's own work");
    repo.git(&["switch", "-q", "main"]);
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: `planx/a` has commits but no start checkpoint: planx did not start it
    hint: rename or delete `planx/a` (its commits stay in the reflog), or start the phase under another plan branch prefix
    [exit status: 3]
    ");
    assert_eq!(
        repo.git(&["rev-list", "--count", "main..planx/a"]).trim(),
        "1"
    );
}

#[test]
fn evidence_must_be_about_what_is_committed() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    assert_snapshot!(repo.planx(&["checkpoint", "--green"]), @"
    --- stderr ---
    error: the work tree has changes this checkpoint would not commit
      ?? a.txt
    hint: the run must be about exactly what is committed: stage your changes (`git add`) or stash them, then try again
    hint: files a build or a test writes (caches, build output) belong in .gitignore, not in a commit
    [exit status: 3]
    ");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--green"]).code, 0);
}

#[test]
fn switching_to_a_started_phase_refuses_a_dirty_work_tree() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    repo.write("README.md", "edited\n");
    let run = repo.planx(&["start", "a"]);
    assert_eq!(run.code, 3, "{run}");
    let run = repo.planx(&["resume", "a"]);
    assert_eq!(run.code, 3, "{run}");
    assert_eq!(repo.branch(), "main");
}

/// Phase `a` of the walk plan written, verified and merged into `main` by a fast-forward.
fn fast_forward_a(repo: &Repo) {
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["merge", "-q", "--ff-only", "planx/a"]);
}

/// `git planx <args>` with `PLANX_WORK_COUNTS=1`: the run and each count it printed.
fn counted_status(repo: &Repo, args: &[&str]) -> (crate::common::Run, HashMap<String, usize>) {
    let run = repo.run(
        repo.command(crate::common::BIN, &repo.root)
            .args(args)
            .env("PLANX_WORK_COUNTS", "1"),
    );
    assert_eq!(run.code, 0, "{run}");
    let counts = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("planx-work: "))
        .unwrap_or_else(|| panic!("no work counts: {run}"))
        .split_whitespace()
        .filter_map(|kv| {
            let (key, value) = kv.split_once('=')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect();
    (run, counts)
}

#[test]
fn a_fast_forward_merge_counts_and_the_phase_is_not_started_again() {
    let repo = Repo::with_plan(&WALK_PLAN);
    fast_forward_a(&repo);
    repo.git(&["branch", "-q", "-D", "planx/a"]);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete", "{status}");
    assert_eq!(status["phases"][1]["state"], "ready");
    assert_eq!(repo.planx(&["start", "a"]).code, 3);
}

#[test]
fn a_phase_rebased_onto_main_without_its_start_counts_and_status_reads_each_commit_once() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    repo.write("main.txt", "main moves on\n");
    repo.commit_all("Main moves on");
    // Rebased as a forge's "rebase and merge" does: the empty start checkpoint is dropped.
    repo.git(&["switch", "-q", "planx/a"]);
    repo.git(&["rebase", "-q", "--no-keep-empty", "main"]);
    let log = repo.git(&["log", "--format=%s", "main..planx/a"]);
    assert!(!log.contains("start"), "{log}");
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["merge", "-q", "--ff-only", "planx/a"]);
    repo.git(&["branch", "-q", "-D", "planx/a"]);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete", "{status}");
    assert_eq!(status["phases"][1]["state"], "ready");
    // The work counted: every commit read from git once at most, only when asked for.
    assert!(!repo.planx(&["status"]).stderr.contains("planx-work"));
    let (_, counts) = counted_status(&repo, &["status"]);
    let value = |key: &str| counts[key];
    let commits: usize = repo
        .git(&["rev-list", "--count", "--all"])
        .trim()
        .parse()
        .unwrap();
    assert!(value("commits-read") >= 1, "{counts:?}");
    assert!(
        value("commits-read") <= commits,
        "{counts:?}: {commits} commits"
    );
    assert!(
        value("commit-visits") >= value("commits-read"),
        "{counts:?}"
    );
}

/// A status of many phases keeps the commits it read: the next reads none from git and says
/// the same; after base moved on, it reads only what is new. A kept file changed by hand is
/// not believed.
#[test]
fn the_commits_a_status_read_are_kept_for_the_next() {
    let mut plan = walk_plan();
    for n in 0..70 {
        plan = plan.phase(
            PhaseBuilder::new(&format!("x{n:02}"), "More")
                .depends_on(["b"])
                .blast_radius("test")
                .create([format!("x{n:02}.txt")])
                .check_run("tests", "test"),
        );
    }
    let repo = Repo::with_plan(&plan.toml());
    fast_forward_a(&repo);
    // Each phase's state and verification, and the commits read from git.
    let status = |repo: &Repo| -> (Vec<String>, usize) {
        let (run, counts) = counted_status(repo, &["status", "--json"]);
        let states = run.json()["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .map(|p| format!("{} {} {}", p["id"], p["state"], p["verify"]["state"]))
            .collect();
        (states, counts["commits-read"])
    };
    let (first, read_first) = status(&repo);
    assert_eq!(first[0], r#""a" "complete" "passed""#);
    assert!(read_first >= 4, "{read_first}");
    let (again, read_again) = status(&repo);
    assert_eq!(again, first);
    // Every commit was kept; base's tip is still read once, for its tree, before the
    // derivation.
    assert_eq!(read_again, 1, "every commit was kept");
    repo.write("main.txt", "main moves on\n");
    repo.commit_all("Main moves on");
    let (moved, read_moved) = status(&repo);
    assert_eq!(
        read_moved, 2,
        "only the new commit is read (and the tip, for its tree)"
    );
    assert_eq!(moved, first);
    // A kept file written by hand (here: its bytes changed) is read from git again.
    let kept = repo.root.join(".git/planx/cache/commits-0.1.0-1/read.bin");
    let mut bytes = std::fs::read(&kept).expect("the kept commits");
    bytes[8] ^= 1;
    std::fs::write(&kept, bytes).unwrap();
    let (after, read_after) = status(&repo);
    assert_eq!(after, moved);
    assert!(read_after >= read_first, "{read_after}");
}

#[test]
fn an_interrupted_start_stops_its_preflight_and_leaves_nothing() {
    let repo = Repo::new();
    let started = repo.root.parent().unwrap().join("preflight-started");
    // The preflight writes its own process id and its child's, then waits for the child.
    let plan = walk_plan()
        .preflight([format!(
            "sleep 300 & echo $$ $! > {0}.tmp && mv {0}.tmp {0}; wait; touch preflight-finished",
            started.display()
        )])
        .toml();
    repo.write("README.md", "# demo\n");
    repo.write_plan(&plan);
    repo.commit_all("Add the plan");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    // HEAD elsewhere: the preflight runs in a scratch worktree at base's tip.
    repo.git(&["switch", "-q", "-c", "elsewhere"]);
    let child = repo
        .command(crate::common::BIN, &repo.root)
        .args(["start", "a"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the preflight is running.
    let preflight = wait_for_pids(&started);
    interrupt(child);
    wait_ended(&preflight, "the preflight was stopped");
    let worktrees = repo.git(&["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "{worktrees}");
    assert!(repo.git(&["branch", "--list", "planx/*"]).is_empty());
    let leftovers = repo.run(
        repo.command("sh", &repo.root)
            .args(["-c", "find .. -name preflight-finished"]),
    );
    assert_eq!(leftovers.stdout, "", "the preflight was stopped");
}

#[test]
fn a_fast_forward_past_the_verified_checkpoint_is_unverified() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // A commit after the verified checkpoint, then a fast-forward of base over all of it.
    repo.write("a.txt", "broken\n");
    repo.git(&["commit", "-q", "-am", "After the verify"]);
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["merge", "-q", "--ff-only", "planx/a"]);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "unverified", "{status}");
    assert_eq!(status["phases"][1]["state"], "waiting");
}

#[test]
fn a_verified_tree_trailer_is_only_a_claim() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    let verified = repo.git(&["rev-parse", "HEAD^{tree}"]);
    repo.write("a.txt", "broken\n");
    repo.git(&["commit", "-q", "-am", "Broken after the verify"]);
    repo.git(&["switch", "-q", "main"]);
    let message = format!(
        "Merge a\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete\nPlanx-Verified-Tree: {}",
        verified.trim()
    );
    repo.git(&["merge", "-q", "--no-ff", "-m", &message, "planx/a"]);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "unverified", "{status}");
}

/// `status` reads the notes of open phases only (`Notes::Open`); everything it shows must be
/// what reading every note (`Notes::All`, the status document and the log) gives.
#[test]
fn reading_only_open_phases_notes_changes_no_state() {
    use git_planx::state::{self, Notes};
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "--step", "1"]).code, 0);
    assert_eq!(repo.planx(&["checkpoint", "--step", "2"]).code, 0);
    assert_eq!(repo.planx(&["finish", "a", "-q"]).code, 0);
    assert_eq!(repo.planx(&["start", "b"]).code, 0);
    assert_eq!(
        repo.planx(&["checkpoint", "--blocked", "waiting for the spec"])
            .code,
        0
    );
    let git = git_planx::git::Repo::open(&repo.path(".")).unwrap();
    // The records were signed by the test's user; read here, in this process, that key is
    // trusted the way a plan on base declares a signer.
    let key = repo.planx(&["signers", "--json"]).json()["own"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    git_planx::trust::signing::declare(&[("the test's user".to_owned(), key)], false);
    let tip = git.branch_tip("main").unwrap().unwrap();
    let plan = git_planx::state::judging::plan_at(&git, tip, ".planx/plan.toml", "main")
        .unwrap()
        .unwrap();
    let subject = state::judging::Subject::new(&git, &plan, ".planx/plan.toml");
    let open = state::derive(subject, Notes::Open).unwrap();
    let all = state::derive(subject, Notes::All).unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].state, state::State::Complete);
    assert_eq!(open[1].state, state::State::Blocked);
    for ((o, a), phase) in open.iter().zip(&all).zip(&plan.phases) {
        assert_eq!(o.state, a.state);
        assert_eq!(o.verified, a.verified);
        assert_eq!(o.stale, a.stale);
        assert_eq!(o.reason(), a.reason());
        assert_eq!(state::step_states(phase, o), state::step_states(phase, a));
        assert_eq!(o.checkpoints.len(), a.checkpoints.len());
        if o.state != state::State::Complete {
            assert_eq!(o.completed_steps(phase), a.completed_steps(phase));
            for (co, ca) in o.checkpoints.iter().zip(&a.checkpoints) {
                assert_eq!(co.events, ca.events);
            }
        }
    }
    assert_eq!(open[1].reason().as_deref(), Some("waiting for the spec"));
    // A complete phase's step evidence is left unread; the full read has it.
    assert!(all[0].checkpoints.iter().any(|c| !c.events.is_empty()));
    assert_eq!(
        state::next_action(&plan, &open, &[0, 1], Some("planx/b"), true),
        state::next_action(&plan, &all, &[0, 1], Some("planx/b"), true)
    );
}

/// A validated plan is kept by a SHA-256 of its bytes (with their blob id); a damaged copy is
/// validated again, and an edited plan is a new key that never meets the old answer.
#[test]
fn validated_plans_are_kept_by_their_content() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let first = repo.planx(&["status", "--json"]);
    assert_eq!(first.code, 0, "{first}");
    let sum = std::process::Command::new("sha256sum")
        .arg(repo.path(".planx/plan.toml"))
        .output()
        .expect("run sha256sum");
    let sum = String::from_utf8_lossy(&sum.stdout);
    let digest = sum.split_whitespace().next().expect("a digest");
    let kept: Vec<_> = fs::read_dir(repo.path(".git/planx/cache"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("plans-"))
        .flat_map(|dir| fs::read_dir(dir.path()).unwrap().flatten())
        .map(|e| e.path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        kept[0].file_stem().unwrap().to_string_lossy(),
        digest,
        "kept under the digest of the plan's bytes"
    );
    fs::write(&kept[0], b"damaged").unwrap();
    let again = repo.planx(&["status", "--json"]);
    assert_eq!(again.stdout, first.stdout, "{again}");
    // The work tree's edit is its own plan: `check` reads it, not the kept copy of main's.
    repo.write_plan(&WALK_PLAN.replace("title = \"First\"", "title = \"First\"\nbogus = 1"));
    let check = repo.planx(&["check"]);
    assert_ne!(check.code, 0, "{check}");
    assert!(check.stdout.contains("unknown key `bogus`"), "{check}");
}

/// What status keeps of base's tip is not trusted in a shallow clone, whose commits gain
/// parents when it is deepened: a claim made before the plan existed must still not count.
#[test]
fn a_deepened_shallow_clone_still_ends_the_plan_line_where_the_plan_began() {
    let origin = Repo::with_plan(&WALK_PLAN);
    origin.write("a.txt", "a\n");
    origin.git(&["add", "a.txt"]);
    origin.git(&[
        "commit",
        "-q",
        "-m",
        "a, squashed\n\nPlanx-Plan: walk\nPlanx-Phase: a\nPlanx-Status: complete",
    ]);
    origin.git(&["rm", "-q", ".planx/plan.toml"]);
    origin.commit_all("Remove the plan");
    origin.write_plan(&WALK_PLAN);
    origin.commit_all("Add the plan again");
    origin.write("more.txt", "more\n");
    origin.commit_all("More");
    assert_eq!(origin.states()[0], "ready", "the claim predates the plan");
    let clone = origin.shallow_clone(2);
    assert_eq!(clone.states()[0], "ready");
    clone.git(&["fetch", "-q", "--unshallow"]);
    assert_eq!(clone.states()[0], "ready", "after the clone was deepened");
}

#[test]
fn a_checkpoint_whose_note_failed_is_completed_by_the_next_not_repeated() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    repo.write(".git/refs/notes/planx.lock", "");
    let run = repo.planx(&["checkpoint", "-m", "Write a"]);
    let made = repo.git(&["rev-parse", "HEAD"]);
    let short = &made[..10];
    assert_snapshot!(run.to_string().replace(short, "$COMMIT"), @"
    --- stderr ---
    error: checkpoint $COMMIT was committed, but its note could not be written
      caused by: refs/notes/planx is locked: $REPO/.git/refs/notes/planx.lock exists
    hint: another git process is updating it; if none is running, one died: remove $REPO/.git/refs/notes/planx.lock
    hint: then run the same `git planx checkpoint` again: it records this commit instead of making another
    [exit status: 3]
    ");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]),
        "Write a\n",
        "the commit was made"
    );
    std::fs::remove_file(repo.path(".git/refs/notes/planx.lock")).unwrap();

    let run = repo.planx(&["checkpoint", "-m", "Write a"]);
    assert_eq!(run.code, 0, "{run}");
    assert_snapshot!(run.stdout.replace(short, "$COMMIT"), @"
    checkpoint $COMMIT on planx/a: step (in-progress)
      recorded the commit an earlier checkpoint made but could not record; no new commit
    ");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), made, "no second commit");
    assert!(
        repo.note("HEAD").contains("\"checkpoint\""),
        "{}",
        repo.note("HEAD")
    );

    // Once recorded, the same message again is a checkpoint of its own.
    let run = repo.planx(&["checkpoint", "-m", "Write a", "--json"]);
    assert_eq!(run.json()["recorded_earlier_commit"], false, "{run}");
    assert_ne!(repo.git(&["rev-parse", "HEAD"]), made);
}
