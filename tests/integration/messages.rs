//! What a person sees for each refusal no other area shows: one test per message, each driving
//! the real binary into the state the code checks for. States that happen in a race (a branch
//! created, base moved, a lock taken by another process) are built deterministically by a
//! command the plan runs at the right moment (a preflight, a check), never by timing.

use std::fs;
use std::path::Path;

use insta::assert_snapshot;

use crate::common::{BIN, Repo, VERIFY_PLAN, WALK_PLAN};

/// WALK_PLAN with its preflight replaced by `command` (a TOML basic string's contents).
fn walk_with_preflight(command: &str) -> String {
    WALK_PLAN.replace(r#"run = ["test"]"#, &format!(r#"run = ["{command}"]"#))
}

#[test]
fn starting_a_complete_phase() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
    assert_snapshot!(repo.planx(&["start", "p"]), @"
    --- stderr ---
    error: phase `p` is already complete
    hint: it was merged into base by 0903a11dac; `git planx status` shows every phase
    [exit status: 3]
    ");
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    --- stderr ---
    error: phase `p` is already complete
    hint: it was merged into base by 0903a11dac; `git planx status` shows every phase
    [exit status: 3]
    ");
}

#[test]
fn no_trust_store_without_a_home() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.env_remove("HOME").args(["start", "a"]);
    assert_snapshot!(repo.run(&mut cmd), @"
    --- stderr ---
    error: cannot use the trust store
    hint: set HOME (or XDG_DATA_HOME), or use --trust-once / PLANX_TRUST=1
    [exit status: 3]
    ");
}

#[test]
fn a_start_of_a_phase_being_started() {
    // The preflight of the first start runs a second one while the first holds the lock.
    let repo = Repo::with_plan(&walk_with_preflight(
        "git planx start a >../second.out 2>&1; echo exit status: $? >>../second.out",
    ));
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    let second = fs::read_to_string(repo.root.parent().unwrap().join("second.out")).unwrap();
    let pid = regex::Regex::new(r"process \d+ holds").unwrap();
    assert_snapshot!(pid.replace(&second, "process $$PID holds"), @"
    error: another `git planx start` of phase `a` is running
    hint: process $PID holds the lock; wait for it, then try again
    exit status: 3
    ");
}

#[test]
fn a_start_that_loses_the_race_for_its_branch() {
    // The branch appears while the preflight runs, as when another start creates it first.
    let repo = Repo::with_plan(&walk_with_preflight("git branch planx/a main"));
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: another `git planx start` created branch `planx/a` first
    hint: run `git planx start` again to switch to it
    [exit status: 3]
    ");
}

#[test]
fn a_start_whose_worktree_cannot_be_made() {
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.write("occupied/mine.txt", "mine\n");
    assert_snapshot!(repo.planx(&["start", "a", "--worktree", "occupied"]), @"
    --- stderr ---
    error: phase `a` started, but switching to `planx/a` failed
      | fatal: '$REPO/occupied' already exists
      caused by: `git worktree add --quiet $REPO/occupied planx/a` failed
    hint: the start is recorded; after fixing this, `git planx start a` switches to it
    [exit status: 3]
    ");
}

#[test]
fn a_checkpoint_on_a_detached_head() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.git(&["checkout", "-q", "--detach"]);
    assert_snapshot!(repo.planx(&["checkpoint", "-m", "Work"]), @"
    --- stderr ---
    error: HEAD is detached, not on a phase branch
    hint: switch to the phase with `git planx resume PHASE`, or start one with `git planx start PHASE`
    [exit status: 3]
    ");
}

#[test]
fn resuming_a_phase_not_started() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["resume", "a"]), @"
    --- stderr ---
    error: phase `a` is ready, not in progress
    hint: start it with `git planx start a`
    [exit status: 3]
    ");
}

#[test]
fn a_tdd_checkpoint_without_a_blast_radius() {
    let repo = Repo::with_plan(&WALK_PLAN.replace("blast_radius = \"test -f a.txt\"\n", ""));
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    assert_snapshot!(repo.planx(&["checkpoint", "--red", "-m", "The test"]), @"
    --- stderr ---
    error: phase `a` has no `blast_radius` to run for --red
    hint: give the phase a `blast_radius` in the plan: the tests that guard what it touches
    [exit status: 2]
    ");
}

#[test]
fn a_red_checkpoint_whose_tests_pass() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.write("a.txt", "a\n");
    repo.git(&["add", "a.txt"]);
    let before = repo.git(&["rev-parse", "HEAD"]);
    assert_snapshot!(repo.planx(&["checkpoint", "--red", "-m", "The test"]), @"
    --- stderr ---
    error: the blast radius passes, so this is not a red checkpoint
      `test -f a.txt` exit 0 in 0.0s
    hint: a red checkpoint records failing tests: write the failing test first; nothing was committed
    [exit status: 1]
    ");
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        before,
        "nothing committed"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_interrupted_by_a_signal() {
    // The preflight interrupts planx itself, as a Ctrl-C while it runs would: once planx has
    // registered it (the thread collecting its output exists), so that planx stops the command
    // and says so rather than dying at once.
    let repo = Repo::with_plan(&walk_with_preflight(
        "until [ $(ls /proc/$PPID/task | wc -l) -ge 2 ]; do :; done; kill -INT $PPID",
    ));
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: interrupted by signal 2
    hint: nothing more was done; run the command again
    [exit status: -1]
    ");
    assert!(repo.git(&["branch", "--list", "planx/*"]).is_empty());
}

#[test]
fn a_command_that_cannot_be_started() {
    // `git` is on PATH, `sh` is not: the blast radius cannot run.
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    let tools = repo.root.parent().unwrap().join("only-git");
    fs::create_dir_all(&tools).unwrap();
    let git = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("git");
    std::os::unix::fs::symlink(git, tools.join("git")).unwrap();
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.env("PATH", &tools)
        .args(["checkpoint", "--green", "-m", "Green"]);
    assert_snapshot!(repo.run(&mut cmd), @"
    --- stderr ---
    error: cannot run `test -f a.txt`
      caused by: No such file or directory (os error 2)
    [exit status: 3]
    ");
}

#[test]
fn planx_local_state_that_cannot_be_used() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let state = repo.path(".git/planx");
    let _ = fs::remove_dir_all(&state);
    fs::write(&state, "not a folder\n").unwrap();
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: cannot use planx's local state: Not a directory (os error 20)
    [exit status: 3]
    ");
}

/// Phase `p` of VERIFY_PLAN on a branch that forked from base before base had the plan.
fn forked_before_the_plan() -> Repo {
    let repo = Repo::with_commit();
    repo.git(&["branch", "planx/p"]);
    repo.write("existing.txt", "existing\n");
    repo.write("old.txt", "old\n");
    repo.write_plan(&VERIFY_PLAN);
    repo.commit_all("The plan");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    repo.git(&["switch", "-q", "planx/p"]);
    repo.write("new.txt", "hello\n");
    repo.commit_all("Work");
    repo
}

#[test]
fn verifying_a_branch_that_forked_before_the_plan() {
    let repo = forked_before_the_plan();
    assert_snapshot!(repo.planx(&["verify", "p"]), @"
    --- stderr ---
    error: the plan file did not exist on base at the fork point of `planx/p`
    hint: a phase is judged by the plan on base where it forked; rebase the branch onto a base that has the plan
    [exit status: 3]
    ");
    assert_snapshot!(repo.planx(&["review", "p"]), @"
    --- stderr ---
    error: the plan file did not exist on base at the fork point of `planx/p`
    hint: a phase is judged by the plan on base where it forked; rebase the branch onto a base that has the plan
    [exit status: 3]
    ");
}

#[test]
fn finishing_from_a_dirty_phase_work_tree() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.write("existing.txt", "more work\n");
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    --- stderr ---
    error: `planx/p` has uncommitted changes here, which the merge would leave out
       M existing.txt
    hint: commit or stash them first; nothing was changed
    [exit status: 3]
    ");
}

#[test]
fn finishing_into_a_dirty_base_work_tree() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    fs::write(repo.path(".git/info/exclude"), "/base-wt/\n").unwrap();
    repo.git(&["worktree", "add", "-q", "base-wt", "main"]);
    fs::write(repo.path("base-wt/existing.txt"), "work in progress\n").unwrap();
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    --- stderr ---
    error: `main` is checked out in $REPO/base-wt with uncommitted changes
       M existing.txt
    hint: commit or stash them first; nothing was changed
    [exit status: 3]
    ");
}

#[test]
fn finishing_while_base_moves() {
    // The phase's check moves base while finish verifies, as a finish elsewhere would.
    let plan = r#"version = 1

[plan]
id = "m"
title = "Base moves"
status = "ready"
base = "main"

[[phase]]
id = "p"
title = "The phase"
owner = "dev"
  [phase.files]
  create = ["new.txt"]
  [[phase.check]]
  name = "moves base"
  run = "git branch -f main HEAD"
"#;
    let repo = Repo::with_plan(plan);
    assert_eq!(repo.planx(&["start", "p", "-q"]).code, 0);
    repo.write("new.txt", "new\n");
    repo.git(&["add", "new.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "-q", "-m", "Work"]).code, 0);
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    --- stderr ---
    error: `main` moved while the phase was being merged
    hint: nothing was merged; run finish again
    [exit status: 3]
    ");
}

#[test]
fn running_without_an_executor() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["run"]), @r#"
    --- stderr ---
    error: no executor to run the phases with
    hint: pass --executor "COMMAND", set PLANX_EXECUTOR, or set `executor` in the plan's [run] table; it runs in each phase's worktree with $PLANX_BRIEF
    [exit status: 2]
    "#);
}

#[test]
fn a_hook_on_a_phase_branch_whose_base_is_gone() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["branch", "-D", "main"]);
    assert_snapshot!(repo.planx(&["hook", "pre-commit"]), @"
    --- stderr ---
    error: the planx pre-commit hook could not check this: the base branch `main` does not exist
    hint: create the branch, or set `base` in the plan's [plan] table
    hint: fix the cause, or bypass once with git's --no-verify (or PLANX_HOOKS=0); verify and status will still see it
    [exit status: 1]
    ");
}

#[test]
fn a_git_command_that_fails() {
    // The checkpoint's commit cannot be signed (a hook refusing it is a "no" of its own, see
    // conventions::a_checkpoint_refused_by_the_users_own_hook_says_so).
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.git(&["config", "commit.gpgSign", "true"]);
    repo.git(&["config", "gpg.program", "false"]);
    assert_snapshot!(repo.planx(&["checkpoint", "-m", "Work"]), @"
    --- stderr ---
    error: `git commit --quiet --allow-empty --cleanup=verbatim --file=-` failed
      | error: gpg failed to sign the data:
      | (no gpg output)
      | fatal: failed to write commit object
    [exit status: 3]
    ");
}

#[test]
fn git_that_cannot_be_run() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    let empty = repo.root.parent().unwrap().join("no-tools");
    fs::create_dir_all(&empty).unwrap();
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.env("PATH", &empty).args(["checkpoint", "-m", "Work"]);
    assert_snapshot!(repo.run(&mut cmd), @"
    --- stderr ---
    error: cannot run `git`
      caused by: No such file or directory (os error 2)
    [exit status: 3]
    ");
}

#[test]
fn the_worktree_list_lock_that_cannot_be_taken() {
    // Started away from base, the preflight runs in a scratch worktree at base's tip.
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.git(&["switch", "-q", "-c", "elsewhere"]);
    fs::create_dir_all(repo.path(".git/planx/locks/worktrees.lock")).unwrap();
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: phase `a` started, but switching to `planx/a` failed
      caused by: cannot take planx's lock on the worktree list
      caused by: Is a directory (os error 21)
    hint: the start is recorded; after fixing this, `git planx start a` switches to it
    [exit status: 3]
    ");
}

#[test]
fn finishing_a_phase_that_does_not_verify() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.write("new.txt", "hello\n");
    repo.git(&["add", "new.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "-q", "-m", "Half"]).code, 0);
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    verify phase `p` on planx/p at bceae74760 (tree c63c030733)
      judged by the plan on main at the fork point 65a1997442

    manifest
      PATH     CHANGE  DECLARED AS
      new.txt  added   create new.txt

    findings
      error: nothing changed in `existing.txt` [modify existing.txt]
      error: old.txt should be deleted but is still there [delete old.txt]

    checks
      VERIFIED      new.txt says hello: new.txt matches `hello` on line 1
      VERIFIED      tests: `test` exit 0 in 0.0s

    NOT VERIFIED: 2 manifest errors, 2 of 2 checks verified (recorded on bceae74760)
    --- stderr ---
    error: verification of phase `p` failed
      nothing changed in `existing.txt`
      old.txt should be deleted but is still there
    hint: nothing was merged; see `git planx verify p`
    [exit status: 1]
    ");
}

#[test]
fn a_branch_with_no_history_in_common_with_base() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["checkout", "-q", "--orphan", "elsewhere"]);
    repo.commit_all("Unrelated");
    repo.git(&["branch", "-f", "planx/p", "elsewhere"]);
    repo.git(&["switch", "-q", "planx/p"]);
    assert_snapshot!(repo.planx(&["verify", "p"]), @"
    --- stderr ---
    error: `planx/p` and base have no common history
    hint: the phase branch must fork from base; rebase it onto base
    [exit status: 3]
    ");
}

#[test]
fn a_branch_whose_fork_point_holds_a_broken_plan() {
    let repo = Repo::new();
    repo.write("existing.txt", "existing\n");
    repo.write("old.txt", "old\n");
    repo.write_plan(&VERIFY_PLAN.replace("version = 1", "version = 9"));
    repo.commit_all("A broken plan");
    repo.git(&["branch", "planx/p"]);
    repo.write_plan(&VERIFY_PLAN);
    repo.commit_all("The plan, fixed");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    repo.git(&["switch", "-q", "planx/p"]);
    repo.write("new.txt", "hello\n");
    repo.commit_all("Work");
    assert_snapshot!(repo.planx(&["verify", "p"]), @"
    --- stderr ---
    error: plan format version 9 is not supported
     --> main:.planx/plan.toml:1:11
      |
    1 | version = 9
      |           ^
    hint: this git-planx reads version 1

    error: main:.planx/plan.toml is not a valid plan (1 error)
    hint: this phase is judged by the plan at its fork point: the plan at the fork point of `planx/p` cannot be used
    hint: fix the errors above; `git planx check` lists every problem
    [exit status: 2]
    ");
}

#[test]
fn trusting_without_a_home() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.env_remove("HOME").args(["trust"]);
    assert_snapshot!(repo.run(&mut cmd), @"
    --- stderr ---
    error: cannot find a place for the trust store
    hint: set HOME (or XDG_DATA_HOME)
    [exit status: 3]
    ");
}

#[test]
fn accepting_with_empty_evidence() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    assert_snapshot!(repo.planx(&["accept", "p", "tests", "--evidence", " "]), @"
    --- stderr ---
    error: the evidence is empty
    hint: say what shows the check holds
    [exit status: 2]
    ");
}

#[test]
fn resuming_with_nothing_or_several_in_progress() {
    let plan = crate::common::SMALL_PLAN.replace("depends_on = [\"a\"]\n", "");
    let repo = Repo::with_plan(&plan);
    assert_snapshot!(repo.planx(&["resume"]), @"
    --- stderr ---
    error: no phase is in progress
    hint: `git planx next` lists the phases that can start
    [exit status: 3]
    ");
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    assert_eq!(repo.planx(&["start", "b", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    assert_snapshot!(repo.planx(&["resume"]), @"
    --- stderr ---
    error: several phases are in progress: a, b
    hint: name one: `git planx resume PHASE`
    [exit status: 2]
    ");
}

#[test]
fn the_hook_command_misused() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    assert_snapshot!(repo.planx(&["hook", "post-commit"]), @"
    --- stderr ---
    error: `post-commit` is not a planx hook
    hint: planx hooks are pre-commit, commit-msg, pre-merge-commit, pre-push, and agent-stop and agent-start for coding agents
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["hook", "commit-msg"]), @"
    --- stderr ---
    error: commit-msg needs the message file
    hint: git passes it
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["hook", "commit-msg", "no-such-file"]), @"
    --- stderr ---
    error: the planx commit-msg hook could not check this: cannot use the commit message file $REPO/no-such-file
      caused by: No such file or directory (os error 2)
    hint: fix the cause, or bypass once with git's --no-verify (or PLANX_HOOKS=0); verify and status will still see it
    [exit status: 1]
    ");
}

#[test]
fn installing_hooks_into_a_shared_folder() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let shared = repo.root.parent().unwrap().join("shared-hooks");
    fs::create_dir_all(&shared).unwrap();
    repo.git(&["config", "core.hooksPath", shared.to_str().unwrap()]);
    let run = repo.planx(&["hooks", "install"]);
    let shown = run
        .to_string()
        .replace(&shared.display().to_string(), "$SHARED");
    assert_snapshot!(shown, @"
    --- stderr ---
    error: the hooks folder $SHARED is shared: core.hooksPath (local configuration) points outside this repository
    hint: installing there makes the planx shims run for every repository using that folder (they do nothing outside a phase branch); pass --force to do it
    hint: or unset core.hooksPath for this repository and install here
    [exit status: 3]
    ");
}

#[test]
fn a_plan_outside_the_repository() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let outside = repo.root.parent().unwrap().join("plan.toml");
    fs::write(&outside, &*WALK_PLAN).unwrap();
    let run = repo.planx(&["status", "--plan", outside.to_str().unwrap()]);
    let shown = run
        .to_string()
        .replace(&outside.display().to_string(), "$OUTSIDE");
    assert_snapshot!(shown, @"
    --- stderr ---
    error: $OUTSIDE is outside the repository
    hint: this command reads the plan as committed in the repository; name a file inside it
    [exit status: 2]
    ");
}

#[test]
fn a_bare_repository_has_no_work_tree_for_a_plan() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let bare = repo.root.parent().unwrap().join("bare.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let run = repo.run(repo.command(BIN, &bare).arg("check"));
    assert_snapshot!(run, @"
    --- stderr ---
    error: this repository has no work tree to hold a plan
    hint: pass the plan file with --plan PATH
    [exit status: 3]
    ");
}

#[test]
fn the_demo_misused() {
    let repo = Repo::folder();
    repo.write("taken/file.txt", "mine\n");
    assert_snapshot!(repo.planx(&["demo", "--act"]), @"
    --- stderr ---
    error: PLANX_PHASE is not set
    hint: `git planx run` sets it
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["demo", "taken"]), @"
    --- stderr ---
    error: taken exists and is not empty
    hint: name a new folder, or leave DIR out for a temporary one
    [exit status: 3]
    ");
}

#[test]
fn an_interactive_run_without_a_terminal() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["run", "--interactive"]), @"
    --- stderr ---
    error: --interactive needs a terminal
    hint: run it from a terminal, or give an executor that needs no person
    [exit status: 2]
    ");
}

#[test]
fn files_planx_cannot_write() {
    let repo = Repo::with_plan(&WALK_PLAN);
    // A file where a folder is needed: the plan's folder, the manual's, the hooks', the
    // trust store's.
    repo.write(".git/a-file", "not a folder\n");
    assert_snapshot!(repo.planx(&["init", "--plan", ".git/a-file/plan.toml"]), @"
    --- stderr ---
    error: cannot create .git/a-file
      caused by: File exists (os error 17)
    hint: check that you may write the work tree, or name another file with --plan PATH
    [exit status: 3]
    ");
    assert_snapshot!(repo.planx(&["install-man", "--dir", ".git/a-file/man"]), @"
    --- stderr ---
    error: cannot create .git/a-file/man
      caused by: Not a directory (os error 20)
    hint: choose another folder with --dir DIR
    [exit status: 3]
    ");
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.env("XDG_DATA_HOME", repo.path(".git/a-file"))
        .arg("trust");
    assert_snapshot!(repo.run(&mut cmd), @"
    --- stderr ---
    error: cannot write $REPO/.git/a-file/git-planx/trust.json
      caused by: Not a directory (os error 20)
    hint: check that you may write that folder, or set XDG_DATA_HOME to one you may
    [exit status: 3]
    ");
    fs::remove_dir_all(repo.path(".git/hooks")).unwrap();
    repo.write(".git/hooks", "not a folder\n");
    assert_snapshot!(repo.planx(&["hooks", "install"]), @"
    --- stderr ---
    error: cannot change the hooks in $REPO/.git/hooks
      caused by: File exists (os error 17)
    hint: check that you may write that folder
    [exit status: 3]
    ");
}

#[test]
fn notes_locked_by_a_process_that_died() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    // What a `git notes` killed mid-write leaves behind: the ref's lock file.
    repo.write(".git/refs/notes/planx.lock", "");
    assert_snapshot!(repo.planx(&["verify", "-q"]), @"
    --- stderr ---
    error: refs/notes/planx is locked: $REPO/.git/refs/notes/planx.lock exists
    hint: another git process is updating it; if none is running, one died: remove $REPO/.git/refs/notes/planx.lock
    [exit status: 3]
    ");
    // Removing it, as the hint says, is all it takes.
    fs::remove_file(repo.path(".git/refs/notes/planx.lock")).unwrap();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
}

#[test]
fn notes_ref_that_is_not_a_commit() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    let blob = repo.git(&["hash-object", "-w", "--stdin"]);
    repo.git(&["update-ref", "refs/notes/planx", blob.trim()]);
    assert_snapshot!(repo.planx(&["status"]), @"
    --- stderr ---
    error: cannot read refs/notes/planx
      caused by: the requested type does not match the type in the ODB
    hint: `git fsck` checks the repository's objects and refs
    [exit status: 3]
    ");
}

#[test]
fn a_plan_path_through_a_file() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["status", "--plan", ".planx/plan.toml/plan.toml"]), @"
    --- stderr ---
    error: cannot read .planx/plan.toml/plan.toml
      caused by: Not a directory (os error 20)
    hint: a folder on the way to it is a file; name the plan file with --plan PATH
    [exit status: 2]
    ");
}

#[test]
fn output_that_cannot_be_written() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.arg("status")
        .stdout(fs::File::options().write(true).open("/dev/full").unwrap());
    assert_snapshot!(repo.run(&mut cmd), @"
    --- stderr ---
    error: input/output error
      caused by: No space left on device (os error 28)
    hint: check where the output goes: a full disk, a closed terminal or pipe
    [exit status: 3]
    ");
}

#[test]
fn base_locked_by_a_process_that_died() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // Finished from the phase branch, base is moved as a ref (no work tree has it).
    repo.write(".git/refs/heads/main.lock", "");
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    --- stderr ---
    error: refs/heads/main is locked: $REPO/.git/refs/heads/main.lock exists
    hint: another git process is updating it; if none is running, one died: remove $REPO/.git/refs/heads/main.lock
    [exit status: 3]
    ");
    // The merge that did not land is no completion, whatever its note says.
    let before = repo.states();
    assert_eq!(before[0], "in-progress");
    fs::remove_file(repo.path(".git/refs/heads/main.lock")).unwrap();
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
    assert_eq!(repo.states()[0], "complete");
    let completes = repo.note("main").matches("\"complete\"").count();
    assert_eq!(completes, 1, "{}", repo.note("main"));
}

#[test]
fn configuration_locked_by_a_process_that_died() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let _ = repo.run(repo.command("git", &repo.root).args([
        "config",
        "--unset-all",
        "notes.planx.mergeStrategy",
    ]));
    repo.write(".git/config.lock", "");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: the repository's configuration is locked: $REPO/.git/config.lock exists
    hint: another git process is updating it; if none is running, one died: remove $REPO/.git/config.lock
    [exit status: 3]
    ");
    fs::remove_file(repo.path(".git/config.lock")).unwrap();
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    assert_eq!(
        repo.git(&["config", "notes.planx.mergeStrategy"]),
        "cat_sort_uniq\n"
    );
}

#[test]
fn a_broken_plan_on_base_leaves_phases_forked_before_it_judged() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    let plan = repo.read(".planx/plan.toml");
    repo.write(
        ".planx/plan.toml",
        plan.replacen("[plan]\n", "[plan]\nowner = \"me\"\n", 1),
    );
    repo.commit_all("A plan with a typo");
    let tip = repo.git(&["rev-parse", "--short=10", "HEAD"]);
    let valid = repo.git(&["rev-parse", "--short=10", "HEAD^"]);
    let run = repo.planx(&["status"]);
    assert_eq!(run.code, 0, "{run}");
    assert_snapshot!(
        run.stderr.replace(tip.trim(), "$TIP").replace(valid.trim(), "$VALID"),
        @"
    warning: the plan on `main` at $TIP is not valid (1 error), so phases are listed by its last valid version, at $VALID; each phase is still judged by the plan at its fork point
      first: main:.planx/plan.toml:4:1: unknown key `owner` in [plan]
      fix it on `main`: `git planx check` there lists every problem
    "
    );
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["warnings"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The phase forked before is judged by its fork point's plan, as ever.
    repo.git(&["switch", "-q", "planx/p"]);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // A phase would start from the broken plan: refused.
    let run = repo.planx(&["start", "p"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("unknown key `owner`"), "{run}");
}
