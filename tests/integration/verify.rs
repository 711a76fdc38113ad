//! `git planx verify` and `accept`: the manifest rules, every kind of change, the judging plan,
//! and checks that run for real.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use insta::assert_snapshot;

use crate::common::{Repo, VERIFY_PLAN, wait_ended, wait_for_pids};

#[test]
fn a_phase_that_did_its_work_is_verified() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_snapshot!(repo.planx(&["verify"]), @"
    verify phase `p` on planx/p at 3bcd327ff6 (tree e3e32e015d)
      judged by the plan on main at the fork point 65a1997442

    manifest
      PATH          CHANGE    DECLARED AS
      existing.txt  modified  modify existing.txt
      new.txt       added     create new.txt
      old.txt       deleted   delete old.txt

    checks
      VERIFIED      new.txt says hello: new.txt matches `hello` on line 1
      VERIFIED      tests: `test` exit 0 in 0.0s

    VERIFIED: manifest holds, 2 of 2 checks verified (recorded on 3bcd327ff6)
    --- stderr ---
    [exit status: 0]
    ");
    let note = repo.note("HEAD");
    assert!(note.contains(r#""event":"verify""#), "{note}");
    assert!(
        note.contains(r#""passed":true"#) && note.contains(r#""clean":true"#),
        "{note}"
    );
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    assert!(
        note.contains(&format!(r#""tree":"{}""#, tree.trim())),
        "{note}"
    );
}

#[test]
fn each_manifest_rule_fails_with_its_finding() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.write("new.txt", "");
    repo.write("stray.txt", "not declared\n");
    assert_snapshot!(repo.planx(&["verify", "--no-run"]), @"
    verify phase `p` on planx/p at 071cbed2ef (tree 89c42343df)
      judged by the plan on main at the fork point 65a1997442

    note: the work tree has uncommitted changes: they are verified, but this record cannot be used to finish

    manifest
      PATH       CHANGE  DECLARED AS
      new.txt    added   create new.txt
      stray.txt  added   undeclared

    findings
      error: new.txt exists but is empty [create new.txt]
      error: nothing changed in `existing.txt` [modify existing.txt]
      error: old.txt should be deleted but is still there [delete old.txt]
      error: stray.txt was added but the manifest does not declare it

    checks
      NOT VERIFIED  new.txt says hello: new.txt has no match for `hello`
      NOT RUN       tests: not run (--no-run): `test`

    NOT VERIFIED: 4 manifest errors, 0 of 2 checks verified, 1 not run (recorded on 071cbed2ef)
    --- stderr ---
    [exit status: 1]
    ");
    // `create` of a path that existed at the fork point.
    let plan = VERIFY_PLAN
        .replace(r#"create = ["new.txt"]"#, r#"create = ["existing.txt"]"#)
        .replace(r#"modify = ["existing.txt"]"#, "modify = []");
    let repo = Repo::verifying(&plan);
    repo.write("existing.txt", "changed\n");
    let doc = repo.planx(&["verify", "--no-run", "--json"]).json();
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"create-existed"), "{doc}");
}

#[test]
fn undeclared_changes_are_errors_when_strict_and_warnings_otherwise() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.write("extra.txt", "x\n");
    repo.git(&["add", "extra.txt"]);
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["findings"][0]["code"], "undeclared-change");
    assert_eq!(doc["findings"][0]["level"], "error");

    let repo = Repo::verifying(
        &VERIFY_PLAN.replace("status = \"ready\"", "status = \"ready\"\nstrict = false"),
    );
    repo.do_phase_p();
    repo.write("extra.txt", "x\n");
    repo.git(&["add", "extra.txt"]);
    repo.planx(&["checkpoint", "-q", "-m", "extra"]);
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["findings"][0]["level"], "warning");
    assert_eq!(doc["passed"], true, "{doc}");
}

#[test]
fn every_kind_of_change_is_seen() {
    let plan = VERIFY_PLAN.replace("status = \"ready\"", "status = \"ready\"\nstrict = false");
    let repo = Repo::new();
    repo.write("existing.txt", "existing\n");
    repo.write("old.txt", "old\n");
    repo.write("script.sh", "echo hi\n");
    repo.write("renamed-from.txt", "moving\n");
    repo.write("to-link.txt", "a file\n");
    repo.write_plan(&plan);
    let sub = Repo::with_commit();
    repo.commit_all("Base");
    repo.planx(&["trust", "-q"]);
    assert_eq!(repo.planx(&["start", "p", "-q"]).code, 0);

    repo.write("committed.txt", "c\n");
    repo.git(&["add", "committed.txt"]);
    repo.git(&["commit", "-q", "-m", "committed"]);
    repo.write("staged.txt", "s\n");
    repo.git(&["add", "staged.txt"]);
    repo.write("existing.txt", "unstaged edit\n");
    repo.write("untracked.txt", "u\n");
    repo.git(&["rm", "-q", "old.txt"]);
    repo.git(&["mv", "renamed-from.txt", "renamed-to.txt"]);
    fs::set_permissions(repo.path("script.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_file(repo.path("to-link.txt")).unwrap();
    symlink("existing.txt", repo.path("to-link.txt")).unwrap();
    repo.write("binary.bin", [0u8, 159, 146, 150, 0, 255]);
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"bad-\xff-name.txt");
        fs::write(repo.root.join(name), "bytes\n").unwrap();
    }
    repo.write("caf\u{e9}.txt", "nfc\n");
    repo.write("cafe\u{301}.txt", "nfd\n");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.root.to_str().unwrap(),
        "sub",
    ]);

    let doc = repo.planx(&["verify", "--no-run", "--json"]).json();
    let changes: Vec<String> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                c["path"].as_str().unwrap(),
                c["change"].as_str().unwrap(),
                if c["mode_only"] == true {
                    " (mode)"
                } else {
                    ""
                }
            )
        })
        .collect();
    assert_snapshot!(changes.join("\n"), @r#"
    .gitmodules added
    "bad-\377-name.txt" added
    binary.bin added
    "cafe\314\201.txt" added
    "caf\303\251.txt" added
    committed.txt added
    existing.txt modified
    old.txt deleted
    renamed-from.txt deleted
    renamed-to.txt added
    script.sh modified (mode)
    staged.txt added
    sub added
    to-link.txt type-changed
    untracked.txt added
    "#);
}

#[test]
fn a_file_staged_then_changed_back_is_not_a_change() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let changes = |repo: &Repo| -> Vec<String> {
        let doc = repo.planx(&["verify", "--no-run", "--json"]).json();
        assert_eq!(doc["clean"], false, "{doc}");
        doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["path"].as_str().unwrap(),
                    c["change"].as_str().unwrap()
                )
            })
            .collect()
    };
    // The index differs from the fork point, the work tree is back to it.
    repo.write("existing.txt", "staged edit\n");
    repo.git(&["add", "existing.txt"]);
    repo.write("existing.txt", "existing\n");
    assert_eq!(changes(&repo), Vec::<String>::new());
    // The work tree differs from both.
    repo.write("existing.txt", "another edit\n");
    assert_eq!(changes(&repo), vec!["existing.txt modified"]);
    // Staged back, the work tree edited again.
    repo.git(&["add", "existing.txt"]);
    repo.write("existing.txt", "existing\n");
    assert_eq!(changes(&repo), Vec::<String>::new());
}

#[test]
fn the_plan_edited_on_the_phase_branch_does_not_judge_it() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    // The work is not done; the branch rewrites its own checks to pass.
    repo.write_plan(
        &VERIFY_PLAN
            .replace(r#"test = "test -f new.txt""#, r#"test = "true""#)
            .replace(r#"contains = "hello""#, r#"contains = """#),
    );
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "Make the checks easy"]);
    assert_snapshot!(repo.planx(&["verify"]), @"
    verify phase `p` on planx/p at d593e8eede (tree 638b2f6ffa)
      judged by the plan on main at the fork point 65a1997442

    plan edited: the plan file .planx/plan.toml was edited on this branch (NOT declared); the plan on base at the fork point judges this phase, not the edited copy

    manifest
      PATH              CHANGE    DECLARED AS
      .planx/plan.toml  modified  undeclared

    findings
      error: the plan file .planx/plan.toml was edited on this branch but the manifest does not declare it
      error: .planx/plan.toml was modified but the manifest does not declare it
      error: nothing was created for `new.txt` [create new.txt]
      error: nothing changed in `existing.txt` [modify existing.txt]
      error: old.txt should be deleted but is still there [delete old.txt]
      warning: commit d593e8eede (Make the checks easy) changed .planx/plan.toml outside the manifest: the pre-commit hook was bypassed or not installed

    checks
      NOT VERIFIED  new.txt says hello: new.txt does not exist
      NOT VERIFIED  tests: `test` exit 1 in 0.0s, expected exit 0

    NOT VERIFIED: 5 manifest errors, 0 of 2 checks verified (recorded on d593e8eede)
    --- stderr ---
    [exit status: 1]
    ");
}

#[test]
fn an_undeclared_edit_of_the_plan_is_an_error_even_when_not_strict() {
    let plan = VERIFY_PLAN.replace("status = \"ready\"", "status = \"ready\"\nstrict = false");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    repo.write("stray.txt", "x\n");
    repo.write_plan(&plan.replace("title = \"The phase\"", "title = \"Renamed\""));
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "Touch the plan"]);
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["passed"], false, "{doc}");
    let first = &doc["findings"][0];
    assert_eq!(first["code"], "plan-edit-undeclared", "{doc}");
    assert_eq!(first["level"], "error");
    assert_eq!(first["path"], ".planx/plan.toml");
    // The rule on undeclared paths still applies, a warning in a plan that is not strict.
    let codes: Vec<(&str, &str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap(),
                f["level"].as_str().unwrap(),
                f["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        codes[..3],
        [
            ("plan-edit-undeclared", "error", ".planx/plan.toml"),
            ("undeclared-change", "warning", ".planx/plan.toml"),
            ("undeclared-change", "warning", "stray.txt"),
        ],
        "{doc}"
    );

    // Declared, the edit is allowed and the phase verifies.
    let declared = plan.replace(
        r#"allow = ["scratch/**"]"#,
        r#"allow = ["scratch/**", ".planx/plan.toml"]"#,
    );
    let repo = Repo::verifying(&declared);
    repo.do_phase_p();
    repo.write_plan(&declared.replace("title = \"The phase\"", "title = \"Renamed\""));
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "Touch the plan"]);
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["passed"], true, "{doc}");
}

#[test]
fn a_check_that_hangs_is_killed_with_its_children() {
    let plan = VERIFY_PLAN.replace(
        "  run = \"test\"",
        "  run = \"sleep 300 & echo $! > ../child.pid; sleep 300\"\n  timeout = \"1s\"",
    );
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    let doc = repo.planx(&["verify", "--json"]).json();
    let tests = &doc["checks"][1];
    assert_eq!(tests["verified"], false);
    assert_eq!(tests["run"]["timed_out"], true, "{doc}");
    let child = wait_for_pids(&repo.root.parent().unwrap().join("child.pid"));
    wait_ended(&child, "the check's child was killed with it");
}

#[test]
fn a_check_printing_a_gigabyte_keeps_memory_bounded() {
    let plan = VERIFY_PLAN.replace(
        "  run = \"test\"",
        "  run = \"yes 0123456789abcdef | head -c 1000000000; echo done\"",
    );
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    // 300 MB of address space for planx and its check: far less than the output.
    let script = format!(
        "ulimit -v 300000; exec '{}' verify --json",
        crate::common::BIN
    );
    let run = repo.run(repo.command("sh", &repo.root).args(["-c", &script]));
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    let tests = &doc["checks"][1];
    assert_eq!(tests["verified"], true, "{doc}");
    assert!(tests["run"]["tail"].as_str().unwrap().ends_with("done\n"));
    assert!(tests["run"]["tail"].as_str().unwrap().len() <= 4096);
}

#[test]
fn a_check_that_changes_the_work_tree_fails() {
    let plan = VERIFY_PLAN.replace("  run = \"test\"", "  run = \"echo more >> existing.txt\"");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], false);
    assert_snapshot!(doc["checks"][1]["evidence"].as_str().unwrap(), @"`echo more >> existing.txt` changed the work tree (exit 0): existing.txt; a check may only read it");
}

#[test]
fn a_check_that_writes_build_output_names_it() {
    let plan = VERIFY_PLAN.replace(
        "  run = \"test\"",
        "  run = \"mkdir -p __pycache__ && for i in 1 2 3 4 5 6 7; do : > __pycache__/m$i.pyc; done\"",
    );
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], false);
    assert_snapshot!(doc["checks"][1]["evidence"].as_str().unwrap(), @"`mkdir -p __pycache__ && for i in 1 2 3 4 5 6 7; do : > __pycache__/m$i.pyc; done` changed the work tree (exit 0): __pycache__/m1.pyc, __pycache__/m2.pyc, __pycache__/m3.pyc, __pycache__/m4.pyc, __pycache__/m5.pyc and 2 more; a check may only read it (files a build writes belong in .gitignore)");
    // Ignored, the output is no change: the check passes.
    repo.write(".gitignore", "__pycache__/\n");
    repo.git(&["add", ".gitignore"]);
    assert_eq!(
        repo.planx(&["checkpoint", "-q", "-m", "Ignore the cache"])
            .code,
        0
    );
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], true, "{doc}");
}

#[test]
fn untrusted_commands_are_refused_before_anything_runs() {
    let plan = VERIFY_PLAN.replace("  run = \"test\"", "  run = \"touch ../check-ran\"");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["untrust", "-q"]).code, 0);
    let run = repo.planx(&["verify"]);
    assert_eq!(run.code, 4, "{run}");
    assert!(!repo.root.parent().unwrap().join("check-ran").exists());
    // --no-run runs nothing, so it needs no trust.
    assert_eq!(repo.planx(&["verify", "--no-run", "-q"]).code, 0);
}

#[test]
fn tdd_checks_need_a_failing_run_first() {
    let plan = VERIFY_PLAN.replace("  run = \"test\"", "  run = \"test\"\n  tdd = true");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], false);
    assert!(
        doc["checks"][1]["evidence"]
            .as_str()
            .unwrap()
            .contains("red first"),
        "{doc}"
    );

    let repo = Repo::verifying(&plan);
    assert_eq!(repo.planx(&["checkpoint", "--red", "-q"]).code, 0);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
}

#[test]
fn manual_checks_need_accepted_evidence() {
    let plan = VERIFY_PLAN.replace("  run = \"test\"", "  manual = true");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 1);
    assert_snapshot!(repo.planx(&["accept", "p", "tests", "--evidence", "Reviewed in the design meeting"]), @"
    accepted `tests` of phase `p` for tree a92053ec9f (recorded on 980df98843 by Ada Lovelace <ada@example.com>)
    --- stderr ---
    [exit status: 0]
    ");
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], true);
    assert!(
        doc["checks"][1]["evidence"]
            .as_str()
            .unwrap()
            .contains("Reviewed in the design meeting")
    );
    assert_snapshot!(repo.planx(&["accept", "p", "nope", "--evidence", "x"]), @r#"
    --- stderr ---
    error: phase `p` has no check `nope`
    hint: its checks are "new.txt says hello", "tests"
    [exit status: 2]
    "#);
    assert_snapshot!(repo.planx(&["accept", "p", "new.txt says hello", "--evidence", "x"]), @"
    --- stderr ---
    error: check `new.txt says hello` of phase `p` is not a manual check
    hint: only `manual = true` checks take evidence; the others are verified by running them
    [exit status: 2]
    ");
    assert_eq!(repo.planx(&["accept", "q", "q", "--evidence", "x"]).code, 3);
}

#[test]
fn a_symlink_out_of_the_repository_is_an_error() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    fs::create_dir_all(repo.path("scratch")).unwrap();
    symlink("/etc/passwd", repo.path("scratch/link")).unwrap();
    symlink("../../outside", repo.path("scratch/up")).unwrap();
    symlink("../new.txt", repo.path("scratch/fine")).unwrap();
    let doc = repo.planx(&["verify", "--no-run", "--json"]).json();
    let outside: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "symlink-outside")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(outside, ["scratch/link", "scratch/up"]);
}

#[test]
fn after_verify_paths_only_after_a_passing_verify() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.write("docs/status.md", "done\n");
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "Status too early"]);
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["findings"][0]["code"], "after-verify-early", "{doc}");

    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.write("docs/status.md", "done\n");
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "Status after verify"]);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);

    // A passing verify of another phase, or of another plan, on the same commit does not count.
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    for (plan, phase) in [("v", "q"), ("other", "p")] {
        let line = format!(
            r#"{{"v":1,"ts":"2026-01-01T00:00:00Z","plan":"{plan}","phase":"{phase}","event":"verify","passed":true,"clean":true,"no_run":false}}"#
        );
        repo.git(&["notes", "--ref", "planx", "append", "-m", &line, "HEAD"]);
    }
    repo.write("docs/status.md", "done\n");
    repo.git(&["add", "-A"]);
    repo.planx(&["checkpoint", "-q", "-m", "Status too early"]);
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["findings"][0]["code"], "after-verify-early", "{doc}");
}

#[test]
fn verify_from_elsewhere_and_in_a_ci_checkout() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    // From main, the phase is verified in a scratch worktree at its branch's tip.
    let run = repo.planx(&["verify", "p", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        repo.git(&["worktree", "list"]).lines().count(),
        1,
        "the scratch worktree is gone"
    );
    // A CI job checks the pull request out detached and names the branch in the environment.
    let tip = repo.git(&["rev-parse", "planx/p"]);
    repo.git(&["switch", "-q", "--detach", tip.trim()]);
    let mut cmd = repo.command(crate::common::BIN, &repo.root);
    cmd.args(["verify", "--json"])
        .env("GITHUB_HEAD_REF", "planx/p")
        .env("PLANX_TRUST", "1");
    let run = repo.run(&mut cmd);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["phase"], "p");
}

#[test]
fn verify_off_a_phase_branch_needs_a_phase() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["switch", "-q", "main"]);
    let run = repo.planx(&["verify"]);
    assert_eq!(run.code, 3, "{run}");
    let run = repo.planx(&["verify", "zz"]);
    assert_eq!(run.code, 2, "{run}");
    let run = repo.planx(&["verify", "q"]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn a_shallow_clone_without_the_fork_point_says_so() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    repo.write("later.txt", "base moved on\n");
    repo.commit_all("Later on main");
    let clone = repo.shallow_clone(1);
    clone.git(&["branch", "planx/p", "origin/planx/p"]);
    let run = clone.run(
        clone
            .command(crate::common::BIN, &clone.root)
            .args(["verify", "p"])
            .env("PLANX_TRUST", "1"),
    );
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("shallow clone"), "{run}");
    assert!(run.stderr.contains("git fetch --unshallow"), "{run}");
}

#[test]
fn an_acceptance_is_about_the_tree_it_accepted() {
    let plan = VERIFY_PLAN.replace("  run = \"test\"", "  manual = true");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    assert_eq!(
        repo.planx(&["accept", "p", "tests", "--evidence", "Tried it"])
            .code,
        0
    );
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // The files change after the acceptance: it is about an older tree now.
    repo.write("new.txt", "hello, changed\n");
    repo.git(&["add", "-A"]);
    assert_eq!(
        repo.planx(&["checkpoint", "-m", "Change after the review", "-q"])
            .code,
        0
    );
    assert_snapshot!(repo.planx(&["verify"]), @r#"
    verify phase `p` on planx/p at ca5f1dc9de (tree 9c5d932ff6)
      judged by the plan on main at the fork point 87675ca64b

    manifest
      PATH          CHANGE    DECLARED AS
      existing.txt  modified  modify existing.txt
      new.txt       added     create new.txt
      old.txt       deleted   delete old.txt

    checks
      VERIFIED      new.txt says hello: new.txt matches `hello` on line 1
      NOT VERIFIED  tests: accepted for an older tree a92053ec9f by Ada Lovelace <ada@example.com> at 2026-01-01T00:00:07Z: Tried it; accept it again for this tree: `git planx accept p "tests" --evidence …`

    NOT VERIFIED: manifest holds, 1 of 2 checks verified (recorded on ca5f1dc9de)
    --- stderr ---
    [exit status: 1]
    "#);
    let review = repo.planx(&["review", "--format", "md"]).stdout;
    let rows: Vec<&str> = review
        .lines()
        .filter(|l| l.starts_with("| tests |") || l.starts_with("**"))
        .collect();
    assert_snapshot!(rows.join("\n"), @r#"
    **NOT VERIFIED**: the latest verify of the tree under review failed (recorded on `ca5f1dc9de` at 2026-01-01T00:00:11Z): 1 check not verified.
    | tests | manual | NOT VERIFIED | accepted for an older tree a92053ec9f by Ada Lovelace <ada@example.com> at 2026-01-01T00:00:07Z: Tried it; accept it again for this tree: `git planx accept p "tests" --evidence …` |
    "#);
    let report = repo.planx(&["report", "--format", "md"]).stdout;
    assert!(
        report.contains("accepted for an older tree a92053ec9f"),
        "{report}"
    );
    let status = repo.planx(&["status", "--format", "md"]).stdout;
    assert!(
        status.contains("accepted for an older tree a92053ec9f"),
        "{status}"
    );
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 1);
    // Accepted again, for this tree: verified.
    assert_eq!(
        repo.planx(&["accept", "p", "tests", "--evidence", "Tried it again"])
            .code,
        0
    );
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], true, "{doc}");
}

#[test]
fn an_acceptance_without_a_tree_is_about_the_commit_it_is_noted_on() {
    let plan = VERIFY_PLAN.replace("  run = \"test\"", "  manual = true");
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    // As an earlier planx wrote it: no `tree`.
    let line = r#"{"v":1,"ts":"2026-01-01T00:00:30Z","plan":"v","phase":"p","event":"accept","check":"tests","evidence":"Tried it","who":"Ada Lovelace <ada@example.com>"}"#;
    repo.git(&["notes", "--ref", "planx", "append", "-m", line, "HEAD"]);
    // Unsigned, it is a record planx did not write, until the history is adopted.
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], false, "{doc}");
    let dry = repo
        .planx(&["signers", "adopt", "--dry-run", "--json"])
        .json();
    assert_eq!(dry["written"], false);
    assert_eq!(dry["records"].as_array().unwrap().len(), 1, "{dry}");
    assert_eq!(dry["records"][0]["event"], "accept");
    assert_eq!(
        repo.planx(&["verify", "--json"]).json()["checks"][1]["verified"],
        false
    );
    let adopted = repo.planx(&["signers", "adopt"]);
    assert_eq!(adopted.code, 0, "{adopted}");
    assert!(
        adopted.stdout.starts_with("adopted 1 unsigned record"),
        "{adopted}"
    );
    let again = repo.planx(&["signers", "adopt"]);
    assert_eq!(again.stdout, "no unsigned records: nothing to adopt\n");
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], true, "{doc}");
    repo.write("new.txt", "hello, changed\n");
    repo.git(&["add", "-A"]);
    assert_eq!(
        repo.planx(&["checkpoint", "-m", "Change after the review", "-q"])
            .code,
        0
    );
    let doc = repo.planx(&["verify", "--json"]).json();
    assert_eq!(doc["checks"][1]["verified"], false, "{doc}");
    let evidence = doc["checks"][1]["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("accepted for an older tree"),
        "{evidence}"
    );
}

#[test]
fn two_records_of_one_tree_that_disagree_are_both_shown() {
    let plan = VERIFY_PLAN.replace(
        "\"test -f new.txt\"",
        "\"test -f new.txt && test ! -e ../broken\"",
    );
    assert_ne!(plan, *VERIFY_PLAN);
    let repo = Repo::verifying(&plan);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    // Something outside the tree breaks the check: the same tree now fails.
    fs::write(repo.root.parent().unwrap().join("broken"), "").unwrap();
    let run = repo.planx(&["verify"]);
    assert_eq!(run.code, 1, "{run}");
    let last: Vec<&str> = run.stdout.lines().rev().take(2).collect();
    assert_snapshot!(last.join("\n"), @"
    note: an earlier verify of this same tree passed (recorded on 26e2c0433a at 2026-01-01T00:00:07Z) and still counts, so `finish` can merge this tree: a check here does not always hold (flaky, or it depends on something outside the tree)
    NOT VERIFIED: manifest holds, 1 of 2 checks verified (recorded on 26e2c0433a)
    ");
    let review = repo.planx(&["review", "--format", "md"]).stdout;
    let lines: Vec<&str> = review.lines().filter(|l| l.starts_with("**")).collect();
    assert_snapshot!(lines.join("\n"), @"
    **VERIFIED**: the manifest holds and every acceptance check passed on exactly the tree under review (recorded on `26e2c0433a` at 2026-01-01T00:00:07Z).
    **Records of this tree disagree**: it also failed on `26e2c0433a` at 2026-01-01T00:00:08Z. A passing record of a clean work tree with commands run counts; a failing one beside it says a check does not always hold here (flaky, or it depends on something outside the tree).
    ");
    // The passing record counts: finish merges the tree it verified.
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
}
