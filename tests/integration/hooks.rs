//! Hooks fired by real `git commit`, `git merge` and `git push`.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use insta::assert_snapshot;

use crate::common::{Repo, VERIFY_PLAN};

fn commit(repo: &Repo, args: &[&str]) -> crate::common::Run {
    let mut all = vec!["commit", "-q"];
    all.extend_from_slice(args);
    repo.run(repo.command("git", &repo.root).args(&all))
}

/// What planx said in a git command's output (git's own lines name temporary folders), with the
/// exit status.
fn planx_lines(run: &crate::common::Run) -> String {
    let mut out: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("error: the planx")
                || l.starts_with("  ")
                || l.starts_with("hint: ")
                || l.starts_with("planx: ")
        })
        .collect();
    let status = format!("[exit status: {}]", run.code);
    out.push(&status);
    out.join("\n")
}

/// A repository with phase `p` started and the hooks installed.
fn hooked() -> Repo {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let run = repo.planx(&["hooks", "install", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    repo
}

#[test]
fn pre_commit_refuses_paths_outside_the_manifest() {
    let repo = hooked();
    repo.write("stray.txt", "x\n");
    repo.write("new.txt", "hello\n");
    let plan = repo.read(".planx/plan.toml");
    repo.write(".planx/plan.toml", format!("{plan}# edited\n"));
    repo.git(&["add", "stray.txt", "new.txt", ".planx/plan.toml"]);
    assert_snapshot!(commit(&repo, &["-m", "Stray"]), @r#"
    --- stderr ---
    error: the planx pre-commit hook refused this
      .planx/plan.toml (modified) is outside the manifest of phase `p`: `modify = [".planx/plan.toml"]` would admit it
      stray.txt (added) is outside the manifest of phase `p`: `create = ["stray.txt"]` would admit it
    hint: declare what the phase may touch in [phase.files] of the plan on `main` (phases are judged by it), or unstage: `git restore --staged <path>`
    hint: to bypass once: `git commit --no-verify` (verify and status will still show the commit)
    [exit status: 1]
    "#);
    repo.git(&["restore", "--staged", "stray.txt", ".planx/plan.toml"]);
    let run = commit(&repo, &["-m", "Only new.txt"]);
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn pre_commit_keeps_a_digest_of_the_plan_that_follows_its_content() {
    let repo = hooked();
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt"]);
    assert_eq!(commit(&repo, &["-m", "Stray"]).code, 1);
    // The plan's digest is kept in the local state, by the plan's content.
    let dir = fs::read_dir(repo.path(".git/planx/cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hook-plans-")
        })
        .expect("a folder of hook digests");
    let digests: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    // A damaged digest is made again from the plan.
    fs::write(&digests[0], "not a digest").unwrap();
    let run = commit(&repo, &["-m", "Stray"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("stray.txt (added) is outside the manifest"),
        "{run}"
    );
    // An edit of the plan in the work tree changes nothing: the hooks read the committed plan.
    let plan = repo.read(".planx/plan.toml");
    repo.write_plan(&plan.replace(
        "base = \"main\"",
        "base = \"main\"\nbranch_prefix = \"work/\"",
    ));
    let run = commit(&repo, &["-m", "Stray"]);
    assert_eq!(run.code, 1, "{run}");
    let kept = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .count();
    assert_eq!(kept, 1);
}

#[test]
fn pre_commit_holds_after_verify_paths_until_a_passing_verify() {
    let repo = hooked();
    repo.write("docs/status.md", "done\n");
    repo.git(&["add", "docs/status.md"]);
    assert_snapshot!(commit(&repo, &["-m", "Status"]), @"
    --- stderr ---
    error: the planx pre-commit hook refused this
      docs/status.md (added) is admitted by `after_verify` entry `docs/status.md` of phase `p`: only after a passing verify
    hint: run `git planx verify p` first for after_verify paths
    hint: to bypass once: `git commit --no-verify` (verify and status will still show the commit)
    [exit status: 1]
    ");
    repo.git(&["restore", "--staged", "docs/status.md"]);
    fs::remove_file(repo.path("docs/status.md")).unwrap();
    repo.do_phase_p();
    repo.write("docs/status.md", "done\n");
    let run = repo.planx(&["verify"]);
    assert_eq!(run.code, 0, "{run}");
    repo.git(&["add", "docs/status.md"]);
    assert_eq!(commit(&repo, &["-m", "Status"]).code, 0);
}

#[test]
fn a_partial_commit_reads_the_index_git_gives_the_hook() {
    let repo = hooked();
    repo.write("new.txt", "hello\n");
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt", "new.txt"]);
    // `git commit -- new.txt` commits from a temporary index holding only new.txt.
    let run = commit(&repo, &["-m", "Just new.txt", "--", "new.txt"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        repo.git(&["show", "--name-only", "--format=", "HEAD"]),
        "new.txt\n"
    );
}

#[test]
fn commits_from_a_temporary_index_are_judged_by_it() {
    let repo = hooked();
    // Changed in the work tree, not staged: only the temporary index of `git commit -- path`
    // or `git commit -a` holds it, so a hook reading the work tree's own index sees nothing.
    let plan = repo.read(".planx/plan.toml");
    repo.write(".planx/plan.toml", format!("{plan}# edited\n"));
    for args in [
        &["-m", "Only the plan", "--", ".planx/plan.toml"][..],
        &["-a", "-m", "Everything"][..],
    ] {
        let run = commit(&repo, args);
        assert_eq!(run.code, 1, "{args:?}: {run}");
        assert!(
            run.stderr
                .contains(".planx/plan.toml (modified) is outside the manifest of phase `p`"),
            "{args:?}: {run}"
        );
    }
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), "");
}

#[test]
fn bypass_is_explicit_and_visible_later() {
    let repo = hooked();
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt"]);
    assert_eq!(commit(&repo, &["--no-verify", "-m", "Bypassed"]).code, 0);
    repo.write("stray2.txt", "x\n");
    repo.git(&["add", "stray2.txt"]);
    let mut cmd = repo.command("git", &repo.root);
    cmd.args(["commit", "-q", "-m", "Bypassed again"])
        .env("PLANX_HOOKS", "0");
    assert_eq!(repo.run(&mut cmd).code, 0);
    let status = repo.planx(&["status"]);
    assert!(
        status
            .stdout
            .contains("p: 2 commits changed paths outside the manifest"),
        "{status}"
    );
    let doc = repo.planx(&["verify", "--no-run", "--json"]).json();
    let bypassed = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "hook-bypassed")
        .count();
    assert_eq!(bypassed, 2, "{doc}");
}

#[test]
fn commit_msg_adds_the_trailers_and_keeps_the_message() {
    let repo = hooked();
    repo.write("new.txt", "hello\n");
    repo.git(&["add", "new.txt"]);
    assert_eq!(
        commit(
            &repo,
            &[
                "-m",
                "Add new.txt",
                "-m",
                "Body text.",
                "--trailer",
                "Signed-off-by: Ada <ada@example.com>"
            ]
        )
        .code,
        0
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]),
        "Add new.txt\n\nBody text.\n\nSigned-off-by: Ada <ada@example.com>\nPlanx-Plan: v\nPlanx-Phase: p\n\n"
    );
    // fixup! commits are folded into others: left alone.
    repo.write("new.txt", "hello again\n");
    repo.git(&["add", "new.txt"]);
    assert_eq!(commit(&repo, &["-m", "fixup! Add new.txt"]).code, 0);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]),
        "fixup! Add new.txt\n\n"
    );
    // An editor session with comments and the --verbose diff below the scissors line.
    repo.write("existing.txt", "changed\n");
    repo.git(&["add", "existing.txt"]);
    let mut cmd = repo.command("git", &repo.root);
    cmd.args(["commit", "-q", "-v"]).env("GIT_EDITOR", "sh -c 'printf \"From the editor\\n\" | cat - \"$1\" > \"$1.new\" && mv \"$1.new\" \"$1\"' -");
    let run = repo.run(&mut cmd);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]),
        "From the editor\n\nPlanx-Plan: v\nPlanx-Phase: p\n\n"
    );
}

#[test]
fn hooks_return_at_once_off_a_phase_branch() {
    let repo = hooked();
    repo.git(&["switch", "-q", "main"]);
    repo.write("anything.txt", "x\n");
    repo.git(&["add", "anything.txt"]);
    assert_eq!(commit(&repo, &["-m", "On main"]).code, 0);
    assert_eq!(repo.git(&["log", "-1", "--format=%B"]), "On main\n\n");
}

#[test]
fn pre_merge_commit_needs_a_verified_tree() {
    let repo = hooked();
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "so that the merge is not a fast-forward\n");
    repo.commit_all("Meanwhile");
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["merge", "--no-ff", "-q", "-m", "Merge p", "planx/p"]),
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("merging phase `p` into `main` needs a passing verify"),
        "{run}"
    );
    repo.git(&["merge", "--abort"]);
    assert_eq!(repo.planx(&["verify", "p", "-q"]).code, 0);
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["merge", "--no-ff", "-q", "-m", "Merge p", "planx/p"]),
    );
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn pre_push_refuses_base_with_unverified_phase_merges() {
    let repo = hooked();
    let remote = Repo::folder();
    remote.git(&["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.root.to_str().unwrap()]);
    repo.git(&["push", "-q", "--no-verify", "origin", "main"]);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    repo.git(&[
        "merge",
        "--no-ff",
        "--no-verify",
        "-q",
        "-m",
        "Merge p\n\nPlanx-Plan: v\nPlanx-Phase: p\nPlanx-Status: complete",
        "planx/p",
    ]);
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["push", "origin", "main"]),
    );
    assert_snapshot!(planx_lines(&run), @"
    error: the planx pre-push hook refused this
      `main` would carry the merge of phase `p` (6822ac988e) without a passing verify of its tree
    hint: verify those phases' branches (`git planx verify PHASE`), then push again and share the evidence: `git planx sync`
    [exit status: 1]
    ");
    assert_ne!(
        remote.git(&["rev-parse", "main"]),
        repo.git(&["rev-parse", "main"])
    );
    // Verified: the push goes through.
    assert_eq!(repo.planx(&["verify", "p", "-q"]).code, 0);
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["push", "-q", "origin", "main"]),
    );
    assert_eq!(run.code, 0, "{run}");
    // The hint names a command that exists, and it does what the hint says.
    assert!(
        run.stderr
            .contains("share the evidence too: `git planx sync`"),
        "{run}"
    );
    let run = repo.planx(&["sync", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["notes"]["pushed"], true, "{run}");
}

#[test]
fn an_existing_hook_still_runs_its_failure_blocks_and_uninstall_restores_it() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let hook = repo.path(".git/hooks/pre-commit");
    let original = b"#!/bin/sh\n# my own hook\nif [ -e .block ]; then echo 'my hook says no' >&2; exit 7; fi\necho 'my hook ran' >&2\n";
    fs::write(&hook, original).unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o700)).unwrap();
    assert_snapshot!(repo.planx(&["hooks", "install"]), @"
    hooks in $REPO/.git/hooks
      pre-commit        chained: the hook that was there runs first (pre-commit.planx-chained)  (chained)
      commit-msg        planx                                                                   (installed)
      pre-merge-commit  planx                                                                   (installed)
      pre-push          planx                                                                   (installed)
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    assert_snapshot!(repo.planx(&["hooks", "status"]), @"
    hooks in $REPO/.git/hooks
      pre-commit        chained: the hook that was there runs first (pre-commit.planx-chained)
      commit-msg        planx
      pre-merge-commit  planx
      pre-push          planx
    --- stderr ---
    [exit status: 0]
    ");
    repo.write("new.txt", "hello\n");
    repo.git(&["add", "new.txt"]);
    repo.write(".block", "");
    let run = commit(&repo, &["-m", "Blocked by my hook"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("my hook says no"), "{run}");
    fs::remove_file(repo.path(".block")).unwrap();
    let run = commit(&repo, &["-m", "Fine"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("my hook ran"), "{run}");
    assert_snapshot!(repo.planx(&["hooks", "uninstall"]), @"
    hooks in $REPO/.git/hooks
      pre-commit        foreign: not planx's  (restored)
      commit-msg        none                  (removed)
      pre-merge-commit  none                  (removed)
      pre-push          none                  (removed)
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(fs::read(&hook).unwrap(), original);
    assert_eq!(
        fs::metadata(&hook).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn core_hooks_path_is_honoured_and_a_shared_folder_needs_force() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    assert!(repo.path(".githooks/pre-commit").exists());
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt"]);
    assert_eq!(commit(&repo, &["-m", "Stray"]).code, 1);

    let repo = Repo::verifying(&VERIFY_PLAN);
    let shared = repo.root.parent().unwrap().join("global-hooks");
    repo.git(&["config", "core.hooksPath", shared.to_str().unwrap()]);
    let run = repo.planx(&["hooks", "install"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("is shared"), "{run}");
    assert!(!shared.join("pre-commit").exists());
    assert_eq!(repo.planx(&["hooks", "install", "--force", "-q"]).code, 0);
    assert!(shared.join("pre-commit").exists());
}

#[test]
fn hooks_work_in_a_linked_worktree() {
    let repo = Repo::with_plan(&VERIFY_PLAN);
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    assert_eq!(
        repo.planx(&["start", "p", "--worktree", "../wt-p", "-q"])
            .code,
        0
    );
    let wt = repo.root.parent().unwrap().join("wt-p");
    fs::write(wt.join("stray.txt"), "x\n").unwrap();
    let run = repo.run(repo.command("git", &wt).args(["add", "stray.txt"]));
    assert_eq!(run.code, 0);
    let run = repo.run(
        repo.command("git", &wt)
            .args(["commit", "-q", "-m", "Stray"]),
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("outside the manifest of phase `p`"),
        "{run}"
    );
}

#[test]
fn an_unknown_hook_is_a_usage_error() {
    let repo = Repo::new();
    assert_eq!(repo.planx(&["hook", "post-checkout"]).code, 2);
}

#[test]
fn pre_push_judges_what_is_pushed_not_the_local_branch() {
    let repo = hooked();
    let remote = Repo::folder();
    remote.git(&["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.root.to_str().unwrap()]);
    repo.git(&["push", "-q", "--no-verify", "origin", "main"]);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "-c", "tmp", "main"]);
    repo.git(&[
        "merge",
        "--no-ff",
        "--no-verify",
        "-q",
        "-m",
        "Merge p\n\nPlanx-Plan: v\nPlanx-Phase: p\nPlanx-Status: complete",
        "planx/p",
    ]);
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["push", "origin", "tmp:main"]),
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("error: the planx pre-push hook refused this")
            && run
                .stderr
                .contains("`main` would carry the merge of phase `p`"),
        "{run}"
    );
}

#[test]
fn pulling_base_with_a_finished_phase_is_not_refused() {
    let repo = hooked();
    let remote = Repo::folder();
    remote.git(&["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.root.to_str().unwrap()]);
    repo.git(&["push", "-q", "--no-verify", "origin", "main"]);
    // Another clone: a commit of its own on main.
    let other = Repo::folder();
    other.git(&["clone", "-q", remote.root.to_str().unwrap(), "."]);
    other.write("theirs.txt", "x\n");
    other.commit_all("Their own commit");
    // Here: finish p and push it, with its notes.
    repo.do_phase_p();
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["push", "-q", "origin", "main", "refs/notes/planx"]);
    // There: the hooks are installed, and a pull merges base's history, finish merge included.
    assert_eq!(other.planx(&["hooks", "install", "-q"]).code, 0);
    other.git(&["fetch", "-q", "origin", "refs/notes/planx:refs/notes/planx"]);
    let run = other.run(other.command("git", &other.root).args([
        "pull",
        "-q",
        "--no-rebase",
        "--no-edit",
        "origin",
        "main",
    ]));
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn a_broken_plan_in_the_work_tree_does_not_switch_the_hooks_off() {
    let repo = hooked();
    let plan = repo.read(".planx/plan.toml");
    repo.write(".planx/plan.toml", format!("{plan}\ngarbage = [\n"));
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt"]);
    let run = commit(&repo, &["-m", "Stray"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("stray.txt (added) is outside the manifest"),
        "{run}"
    );
}

#[test]
fn merging_base_into_a_phase_is_not_refused_nor_counted_as_a_bypass() {
    let repo = hooked();
    repo.do_phase_p();
    // Meanwhile on main: a path of its own, and a change that conflicts with the phase's.
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "main's own\n");
    repo.write("existing.txt", "existing, changed on main\n");
    repo.commit_all("Meanwhile");
    repo.git(&["switch", "-q", "planx/p"]);
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["merge", "-q", "--no-edit", "main"]),
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("CONFLICT"), "{run}");
    // Resolved and committed through the installed hooks: other.txt comes from main.
    repo.write("existing.txt", "existing, changed on both\n");
    repo.git(&["add", "existing.txt"]);
    let run = commit(&repo, &["--no-edit"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        repo.git(&["rev-parse", "-q", "--verify", "HEAD^2"]).len(),
        41
    );
    let status = repo.planx(&["status"]);
    assert!(!status.stdout.contains("outside the manifest"), "{status}");
    let doc = repo.planx(&["verify", "--no-run", "--json"]).json();
    let bypassed = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "hook-bypassed")
        .count();
    assert_eq!(bypassed, 0, "{doc}");
    // What the merge itself adds outside the manifest is still the phase's work.
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "main's own, again\n");
    repo.commit_all("Meanwhile again");
    repo.git(&["switch", "-q", "planx/p"]);
    let run =
        repo.run(
            repo.command("git", &repo.root)
                .args(["merge", "-q", "--no-commit", "main"]),
        );
    assert_eq!(run.code, 0, "{run}");
    repo.write("other.txt", "changed in the merge\n");
    repo.git(&["add", "other.txt"]);
    let run = commit(&repo, &["--no-edit"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("other.txt (modified) is outside the manifest"),
        "{run}"
    );
    assert_eq!(commit(&repo, &["--no-edit", "--no-verify"]).code, 0);
    let status = repo.planx(&["status"]);
    assert!(
        status
            .stdout
            .contains("p: 1 commit changed paths outside the manifest"),
        "{status}"
    );
}

#[test]
fn a_hook_that_cannot_find_the_fork_point_refuses() {
    let repo = hooked();
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "x\n");
    repo.commit_all("Meanwhile");
    // A shallow clone: neither the phase's tip nor base's reaches their common commit.
    let clone = repo.shallow_clone(1);
    clone.git(&["switch", "-q", "planx/p"]);
    assert_eq!(clone.planx(&["hooks", "install", "-q"]).code, 0);
    clone.write("new.txt", "hello\n");
    clone.git(&["add", "new.txt"]);
    let run = clone.run(
        clone
            .command("git", &clone.root)
            .args(["commit", "-q", "-m", "New"]),
    );
    assert_snapshot!(run, @"
    --- stderr ---
    error: the planx pre-commit hook could not check this: `planx/p` and base have no common history in this shallow clone
    hint: fetch more history: `git fetch --unshallow` (in CI: fetch-depth: 0)
    hint: fix the cause, or bypass once with git's --no-verify (or PLANX_HOOKS=0); verify and status will still see it
    [exit status: 1]
    ");
    // Off a phase branch the hooks still return at once.
    clone.git(&["switch", "-q", "main"]);
    clone.write("anything.txt", "x\n");
    clone.git(&["add", "anything.txt"]);
    let run = clone.run(
        clone
            .command("git", &clone.root)
            .args(["commit", "-q", "-m", "On main"]),
    );
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn in_a_repository_planx_cannot_read_a_hook_refuses_on_a_phase_branch_only() {
    let repo = Repo::folder();
    repo.git(&["init", "-q", "--ref-format=reftable"]);
    repo.write("existing.txt", "existing\n");
    repo.write_plan(&VERIFY_PLAN);
    repo.commit_all("Base");
    assert_eq!(repo.planx(&["hook", "pre-commit"]).code, 0);
    repo.git(&["switch", "-q", "-c", "planx/p"]);
    assert_snapshot!(repo.planx(&["hook", "pre-commit"]), @"
    --- stderr ---
    error: the planx pre-commit hook cannot check phase `p`: this repository stores its refs in the reftable format, which git-planx cannot read yet
    hint: use a clone with the files ref format: `git clone --ref-format=files …` (or `git refs migrate --ref-format=files`)
    hint: fix the cause, or bypass once with git's --no-verify (or PLANX_HOOKS=0); verify and status will still see it
    [exit status: 1]
    ");
    repo.git(&["switch", "-q", "-c", "topic"]);
    assert_eq!(repo.planx(&["hook", "pre-commit"]).code, 0);
}

#[test]
fn pre_merge_commit_knows_a_phase_by_its_commits() {
    let repo = hooked();
    repo.do_phase_p();
    // Plain commits on the phase branch (the commit-msg hook adds Planx-Plan and Planx-Phase,
    // no checkpoint), the first one also known as the remote's copy of the branch.
    repo.write("scratch/a.txt", "a\n");
    repo.commit_all("Scratch a");
    repo.git(&["update-ref", "refs/remotes/origin/planx/p", "HEAD"]);
    repo.write("scratch/b.txt", "b\n");
    repo.commit_all("Scratch b");
    repo.git(&["switch", "-q", "main"]);
    repo.write("other.txt", "so that the merge is not a fast-forward\n");
    repo.commit_all("Meanwhile");
    let merge = |what: &str| {
        repo.run(
            repo.command("git", &repo.root)
                .args(["merge", "--no-ff", "-q", "-m", "Merge", what]),
        )
    };
    assert_snapshot!(merge("origin/planx/p"), @"
    --- stderr ---
    error: the planx pre-merge-commit hook refused this
      merging phase `p` into `main` needs a passing verify of its tree 7d0dafb940
    hint: `git merge --abort`, then `git planx verify p` (or `git planx finish p`, which verifies and merges)
    Not committing merge; use 'git commit' to complete the merge.
    [exit status: 1]
    ");
    repo.git(&["merge", "--abort"]);
    assert_eq!(merge("planx/p~1").code, 1);
    repo.git(&["merge", "--abort"]);
    // Verified, the branch merges.
    assert_eq!(repo.planx(&["verify", "p", "-q"]).code, 0);
    let run = merge("planx/p");
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn pre_commit_on_base_refuses_a_plan_that_does_not_pass_check() {
    let repo = hooked();
    repo.git(&["switch", "-q", "main"]);
    let plan = repo.read(".planx/plan.toml");
    repo.write(
        ".planx/plan.toml",
        plan.replacen("[plan]\n", "[plan]\nowner = \"me\"\n", 1),
    );
    repo.git(&["add", ".planx/plan.toml"]);
    let run = commit(&repo, &["-m", "A plan with a typo"]);
    assert_eq!(run.code, 1, "{run}");
    assert_snapshot!(run.stderr, @r#"
    error: unknown key `owner` in [plan]
     --> .planx/plan.toml:4:1
      |
    4 | owner = "me"
      | ^^^^^
    hint: the keys allowed here are `id`, `title`, `status`, `base`, `branch_prefix`, `strict`, `guidelines`

    error: the planx pre-commit hook refused this
      .planx/plan.toml as staged is not a valid plan (1 error): phases forked from `main` would be judged by it
    hint: fix the errors above (`git planx check` lists them), stage the plan again and commit; `git commit --no-verify` commits it as it is
    "#);
    // Off base (a branch for drafting), and with --no-verify, git goes on.
    repo.git(&["switch", "-q", "-c", "draft"]);
    assert_eq!(commit(&repo, &["-m", "Draft"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    repo.git(&["checkout", "-q", "draft", "--", ".planx/plan.toml"]);
    assert_eq!(commit(&repo, &["--no-verify", "-m", "Forced"]).code, 0);
    // A commit on base that leaves the plan alone is not the hook's business.
    repo.write("notes.txt", "n\n");
    repo.git(&["add", "notes.txt"]);
    assert_eq!(commit(&repo, &["-m", "Notes"]).code, 0);
}
