//! `git planx finish`: the merge gate.

use std::fs;

use insta::assert_snapshot;

use crate::common::{Repo, VERIFY_PLAN};

/// Everything `finish` must leave as it was when it refuses: refs, index, work tree.
fn snapshot_state(repo: &Repo) -> String {
    let refs = repo.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads",
        "refs/notes",
    ]);
    let index = fs::read(repo.path(".git/index")).unwrap();
    let status = repo.git(&["status", "--porcelain=v1", "--untracked-files=all"]);
    let head = repo.git(&["symbolic-ref", "HEAD"]);
    let mut files = String::new();
    for name in ["existing.txt", "new.txt", "README.md"] {
        files.push_str(&format!("{name}: {:?}\n", fs::read(repo.path(name)).ok()));
    }
    format!(
        "{refs}{head}{status}{}\n{files}",
        git_planx::git::fingerprint(&index)
    )
}

#[test]
fn finish_merges_a_verified_phase_and_its_dependents_become_ready() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    assert_snapshot!(repo.planx(&["finish", "p", "--delete-branch"]), @"
    merged phase `p` into main: merge commit 0903a11dac (verified tree e3e32e015d, record on 3bcd327ff6)
      kept planx/p: it is checked out in $REPO
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%P", "main"])
            .split(' ')
            .count(),
        2,
        "a --no-ff merge"
    );
    // The merge says which tree was verified: the one it merged.
    assert_snapshot!(repo.trailers("main"), @"
    Planx-Plan: v
    Planx-Phase: p
    Planx-Checkpoint: complete
    Planx-Status: complete
    Planx-Verified-Tree: e3e32e015d2e97263f62fe7eea5d89b241db4791
    ");
    assert_eq!(
        repo.git(&["rev-parse", "main^{tree}"]).trim(),
        "e3e32e015d2e97263f62fe7eea5d89b241db4791"
    );
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete");
    assert_eq!(status["phases"][1]["state"], "ready");
    assert!(repo.note("main").contains(r#""event":"complete""#));
}

#[test]
fn finish_runs_verify_when_there_is_no_record_and_refuses_on_failure() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // A newer tree than the verified one: an undeclared file.
    repo.write("sneaky.txt", "x\n");
    repo.git(&["add", "sneaky.txt"]);
    repo.planx(&["checkpoint", "-q", "-m", "Sneak a file in"]);
    let before = repo.git(&["rev-parse", "main"]);
    let run = repo.planx(&["finish", "p"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("sneaky.txt was added but the manifest does not declare it"),
        "{run}"
    );
    assert_eq!(repo.git(&["rev-parse", "main"]), before, "nothing merged");
}

#[test]
fn finish_verifies_a_phase_never_verified_before() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    let run = repo.planx(&["finish", "p"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("VERIFIED"), "{run}");
    assert_eq!(
        repo.read("new.txt"),
        "hello\n",
        "main's work tree moved with it"
    );
}

#[test]
fn a_conflict_leaves_everything_exactly_as_it_was() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // Base changes the same line meanwhile.
    repo.git(&["switch", "-q", "main"]);
    repo.write("existing.txt", "existing, changed on main\n");
    repo.commit_all("Conflicting change on main");
    repo.git(&["switch", "-q", "planx/p"]);
    let before = snapshot_state(&repo);
    assert_snapshot!(repo.planx(&["finish", "p"]), @"
    --- stderr ---
    error: merging `planx/p` into `main` conflicts
      conflict: existing.txt
    hint: nothing was changed; bring the phase up to date: `git switch planx/p && git rebase main`, resolve, verify, then finish again
    [exit status: 3]
    ");
    assert_eq!(snapshot_state(&repo), before);
    // Also when base is the branch checked out here.
    repo.git(&["switch", "-q", "main"]);
    let before = snapshot_state(&repo);
    assert_eq!(repo.planx(&["finish", "p"]).code, 3);
    assert_eq!(snapshot_state(&repo), before);
}

#[test]
fn a_dirty_base_work_tree_is_refused_where_the_merge_goes() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // Base checked out in another worktree, with uncommitted work there.
    repo.git(&["worktree", "add", "-q", "../base-wt", "main"]);
    let other = repo.root.parent().unwrap().join("base-wt");
    fs::write(other.join("existing.txt"), "work in progress\n").unwrap();
    // An untracked file there is no obstacle: the fast-forward leaves it alone.
    fs::write(other.join("notes.txt"), "mine\n").unwrap();
    let before = repo.git(&["rev-parse", "main"]);
    let run = repo.planx(&["finish", "p"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("with uncommitted changes"), "{run}");
    assert_eq!(repo.git(&["rev-parse", "main"]), before);
    assert_eq!(
        fs::read_to_string(other.join("existing.txt")).unwrap(),
        "work in progress\n"
    );
    // Clean where the merge goes: the other worktree is fast-forwarded with base, its
    // untracked file kept, and so is a change to a tracked file the merge does not touch, as
    // `git merge` keeps it.
    repo.git(&[
        "-C",
        other.to_str().unwrap(),
        "checkout",
        "--",
        "existing.txt",
    ]);
    let plan = other.join(".planx/plan.toml");
    let edited = format!("{}# a note of mine\n", fs::read_to_string(&plan).unwrap());
    fs::write(&plan, &edited).unwrap();
    let run = repo.planx(&["finish", "p", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(fs::read_to_string(&plan).unwrap(), edited);
    assert_eq!(
        fs::read_to_string(other.join("new.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        fs::read_to_string(other.join("notes.txt")).unwrap(),
        "mine\n"
    );
}

#[test]
fn uncommitted_work_on_the_phase_branch_is_refused() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.write("new.txt", "hello, not committed\n");
    let run = repo.planx(&["finish", "p"]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn a_squash_keeps_trailers_and_notes_reachable() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    assert_eq!(
        repo.planx(&["finish", "p", "--squash", "--delete-branch", "-q"])
            .code,
        0
    );
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["branch", "-D", "planx/p"]);
    let trailers = repo.trailers("main");
    let tree = repo.git(&["rev-parse", "main^{tree}"]);
    assert!(
        trailers.contains("Planx-Phase: p")
            && trailers.contains("Planx-Status: complete")
            && trailers.contains(&format!("Planx-Verified-Tree: {}", tree.trim())),
        "{trailers}"
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%P", "main"])
            .split(' ')
            .count(),
        1
    );
    let note = repo.note("main");
    assert!(
        note.contains(r#""event":"verify""#) && note.contains(r#""event":"start""#),
        "{note}"
    );
    // With the branch gone and its commits unreachable, the phase is still complete.
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete", "{status}");
}

#[test]
fn base_never_moves_without_the_completion_record() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    let notes_before = repo.git(&["rev-list", "--count", "refs/notes/planx"]);
    let main_before = repo.git(&["rev-parse", "main"]);
    // Another writer holds the notes ref for longer than finish keeps trying.
    let lock = repo.path(".git/refs/notes/planx.lock");
    fs::write(&lock, "").unwrap();
    let run = repo.planx(&["finish", "p", "--squash", "-q"]);
    assert_ne!(run.code, 0, "{run}");
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before, "{run}");
    fs::remove_file(&lock).unwrap();

    // Free again: the squash commit lands with every note in one notes commit.
    let run = repo.planx(&["finish", "p", "--squash", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    let notes_after = repo.git(&["rev-list", "--count", "refs/notes/planx"]);
    assert_eq!(
        notes_after.trim().parse::<u32>().unwrap(),
        notes_before.trim().parse::<u32>().unwrap() + 1
    );
    let note = repo.note("main");
    assert!(
        note.contains(r#""event":"verify""#) && note.contains(r#""event":"complete""#),
        "{note}"
    );
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete", "{status}");
}

#[test]
fn finish_refusals() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    assert_eq!(repo.planx(&["finish", "q"]).code, 3, "not started");
    assert_eq!(repo.planx(&["finish", "zz"]).code, 2, "unknown");
    repo.do_phase_p();
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
    let run = repo.planx(&["finish", "p"]);
    assert_eq!(run.code, 3, "already complete: {run}");
}

#[test]
fn a_dirty_detached_tip_is_not_what_finish_merges() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.write("new.txt", "nope\n");
    repo.write("existing.txt", "changed\n");
    std::fs::remove_file(repo.path("old.txt")).unwrap();
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "new.txt says nope"]);
    repo.git(&["checkout", "-q", "--detach", "planx/p"]);
    // The work tree says hello; the commit says nope.
    repo.write("new.txt", "hello\n");
    let run = repo.planx(&["finish", "p"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(
        repo.run(
            repo.command("git", &repo.root)
                .args(["show", "main:new.txt"])
        )
        .code
            != 0
    );
}

#[test]
fn when_base_moved_the_merged_tree_itself_is_verified() {
    // Two phases verified from the same base: the second to finish lands on a base that has the
    // first, so the tree that lands is one nobody verified yet: finish verifies it.
    let plan = VERIFY_PLAN.replace("depends_on = [\"p\"]\n", "");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    assert_eq!(repo.planx(&["start", "q", "-q"]).code, 0);
    repo.write("q.txt", "q\n");
    repo.git(&["add", "q.txt"]);
    repo.planx(&["checkpoint", "-q", "-m", "q"]);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
    let run = repo.planx(&["finish", "q"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("VERIFIED"),
        "the merged tree was verified: {run}"
    );
    let merged_tree = repo.git(&["rev-parse", "main^{tree}"]);
    let note = repo.note("main");
    assert!(
        note.contains(&format!(r#""tree":"{}""#, merged_tree.trim())),
        "{note}"
    );
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][1]["state"], "complete", "{status}");
}

#[test]
fn a_pull_that_brings_a_finished_phase_credits_the_finish_merge() {
    // Another machine finished `p`; this one had a commit of its own on main and pulls with a
    // plain merge. The phase is completed by the `finish` merge the pull brought (what report
    // and review read its files and duration from), not by the pull's merge.
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    let finished = repo.git(&["rev-parse", "main"]).trim().to_owned();
    repo.git(&["reset", "-q", "--hard", "main^1"]);
    repo.write("local.txt", "mine\n");
    repo.git(&["add", "local.txt"]);
    repo.git(&["commit", "-q", "-m", "A commit of this machine"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge remote-tracking branch",
        &finished,
    ]);
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete", "{status}");
    assert_eq!(
        status["phases"][0]["completed_by"].as_str().unwrap(),
        finished,
        "{status}"
    );
}
