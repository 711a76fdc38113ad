//! `git planx reset`: a failed phase starts again from base, its old branch kept.

use insta::assert_snapshot;

use crate::common::{Repo, WALK_PLAN};

fn failed_phase_a() -> (Repo, String) {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.write("a.txt", "a first try\n");
    repo.git(&["add", "a.txt"]);
    let run = repo.planx(&["checkpoint", "-q", "--failed", "the approach does not work"]);
    assert_eq!(run.code, 0, "{run}");
    let tip = repo.git(&["rev-parse", "planx/a"]);
    (repo, tip)
}

#[test]
fn a_failed_phase_starts_again_from_base_and_its_branch_is_kept() {
    let (repo, tip) = failed_phase_a();
    assert_snapshot!(repo.planx(&["reset", "a"]), @"
    reset phase `a` (failed before): it is ready to start again from base
      the old branch planx/a (4c3114edb9) is kept as refs/planx/backup/walk/a/1
      $REPO stays on the old tip, detached
      start it with `git planx start a`; get the old branch back with `git branch planx/a refs/planx/backup/walk/a/1`
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.git(&["rev-parse", "refs/planx/backup/walk/a/1"]), tip);
    assert!(repo.git(&["branch", "--list", "planx/a"]).is_empty());
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        tip,
        "the work tree stays where it was"
    );
    assert_eq!(repo.states(), ["ready", "waiting"]);
    // Started again: from base, the first try nowhere on the new branch.
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    assert_eq!(repo.branch(), "planx/a");
    assert!(!repo.path("a.txt").exists());
    assert_eq!(repo.states(), ["in-progress", "waiting"]);
    // A second reset keeps the second branch beside the first.
    repo.planx(&["checkpoint", "-q", "--failed", "again"]);
    let second = repo.git(&["rev-parse", "planx/a"]);
    let run = repo.planx(&["reset", "a", "--json"]);
    assert_eq!(run.json()["backup"], "refs/planx/backup/walk/a/2", "{run}");
    assert_eq!(
        repo.git(&["rev-parse", "refs/planx/backup/walk/a/2"]),
        second
    );
    assert_eq!(repo.git(&["rev-parse", "refs/planx/backup/walk/a/1"]), tip);
}

#[test]
fn uncommitted_work_on_the_branch_refuses_a_reset() {
    let (repo, tip) = failed_phase_a();
    repo.write("a.txt", "more work\n");
    assert_snapshot!(repo.planx(&["reset", "a"]), @"
    --- stderr ---
    error: $REPO has uncommitted work on phase `a`'s branch
       M a.txt
    hint: commit it (`git planx checkpoint`) or stash it first: a reset keeps commits, not uncommitted work; nothing was changed
    [exit status: 3]
    ");
    assert_eq!(repo.git(&["rev-parse", "planx/a"]), tip);
    assert_eq!(repo.read("a.txt"), "more work\n");
    assert!(repo.git(&["for-each-ref", "refs/planx/backup"]).is_empty());
}

#[test]
fn only_a_failed_or_blocked_phase_is_reset() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["reset", "a"]), @"
    --- stderr ---
    error: phase `a` is ready, not failed or blocked
    hint: it has not started: `git planx start a` starts it
    [exit status: 3]
    ");
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    assert_snapshot!(repo.planx(&["reset", "a"]), @"
    --- stderr ---
    error: phase `a` is in-progress, not failed or blocked
    hint: it is in progress: to throw its branch away all the same (it is kept under refs/planx/backup/), pass --force
    [exit status: 3]
    ");
    let run = repo.planx(&["reset", "a", "--force", "-q"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run}");
    assert_snapshot!(repo.planx(&["reset", "nope"]), @"
    --- stderr ---
    error: the plan has no phase `nope`
    hint: the plan's phases are a, b
    [exit status: 2]
    ");
}
