//! `git planx init`: the example plan, the notes configuration, and its refusals.

use insta::assert_snapshot;

use crate::common::Repo;

#[test]
fn init_in_a_repository_without_commits_writes_a_plan_that_checks() {
    let repo = Repo::new();
    assert_snapshot!(repo.planx(&["init"]), @r#"
    created .planx/plan.toml: plan `repo`, base `main`
    configured notes.rewriteRef = refs/notes/planx
    configured notes.planx.mergeStrategy = cat_sort_uniq

    Next:
      edit .planx/plan.toml: the phases, their files and checks
      git planx check        validate it
      git planx graph        see the phases and what runs in parallel
      git add .planx/plan.toml && git commit -m "Add the plan"
    --- stderr ---
    [exit status: 0]
    "#);
    let check = repo.planx(&["check", "--json"]);
    assert_eq!(check.code, 0, "{check}");
    let doc = check.json();
    assert_eq!(doc["errors"], 0);
    // The only warning: a new plan is a draft until someone reviews it.
    assert_eq!(doc["warnings"], 1);
    assert_eq!(doc["diagnostics"][0]["code"], "plan-not-ready");
    assert_eq!(
        repo.git(&["config", "--get-all", "notes.rewriteRef"]),
        "refs/notes/planx\n"
    );
    assert_eq!(
        repo.git(&["config", "notes.planx.mergeStrategy"]),
        "cat_sort_uniq\n"
    );
}

#[test]
fn the_example_plan_shows_every_feature_of_the_format() {
    let repo = Repo::new();
    repo.planx(&["init"]);
    let plan = repo.read(".planx/plan.toml");
    for key in [
        "version",
        "[plan]",
        "id",
        "title",
        "status",
        "base",
        "branch_prefix",
        "strict",
        "guidelines",
        "[commands]",
        "[preflight]",
        "clean_worktree",
        "run =",
        "timeout",
        "[run]",
        "executor",
        "jobs",
        "[[phase]]",
        "kind = \"design\"",
        "owner",
        "depends_on",
        "goal",
        "deliverables",
        "blast_radius",
        "[phase.files]",
        "create",
        "modify",
        "delete",
        "allow",
        "after_verify",
        "[[phase.check]]",
        "file =",
        "contains",
        "manual = true",
        "tdd = true",
        "expect_exit",
        "[[phase.step]]",
        "verify",
        "description",
    ] {
        assert!(plan.contains(key), "the example plan does not show `{key}`");
    }
}

#[test]
fn init_takes_the_base_from_the_current_branch() {
    let repo = Repo::with_commit();
    repo.git(&["switch", "-q", "-c", "develop"]);
    repo.planx(&["init", "-q"]);
    assert!(repo.read(".planx/plan.toml").contains("base = \"develop\""));
}

#[test]
fn init_refuses_to_overwrite_a_plan() {
    let repo = Repo::new();
    repo.write_plan("my own plan\n");
    assert_snapshot!(repo.planx(&["init"]), @r"
    --- stderr ---
    error: a plan already exists at .planx/plan.toml
    hint: check it with `git planx check`, or pass --force to replace it (the old file is kept under .git/planx/backup/)
    [exit status: 3]
    ");
    assert_eq!(repo.read(".planx/plan.toml"), "my own plan\n");
}

#[test]
fn init_force_replaces_the_plan_and_keeps_the_old_one() {
    let repo = Repo::new();
    repo.write_plan("my own plan\n");
    let run = repo.planx(&["init", "--force"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.to_string()
            .contains("the previous plan is kept as $REPO/.git/planx/backup/plan.toml.1"),
        "{run}"
    );
    assert_eq!(repo.read(".git/planx/backup/plan.toml.1"), "my own plan\n");
    assert!(repo.read(".planx/plan.toml").contains("[[phase]]"));
    // A second --force keeps both earlier plans, and `git add -A` picks up neither.
    repo.write_plan("my second plan\n");
    assert_eq!(repo.planx(&["init", "--force", "-q"]).code, 0);
    assert_eq!(repo.read(".git/planx/backup/plan.toml.1"), "my own plan\n");
    assert_eq!(
        repo.read(".git/planx/backup/plan.toml.2"),
        "my second plan\n"
    );
    repo.git(&["add", "-A"]);
    assert_eq!(
        repo.git(&["diff", "--cached", "--name-only"]),
        ".planx/plan.toml\n"
    );
}

#[test]
fn init_keeps_other_notes_rewrite_refs_and_runs_twice_without_change() {
    let repo = Repo::new();
    repo.git(&["config", "--add", "notes.rewriteRef", "refs/notes/commits"]);
    repo.planx(&["init", "-q"]);
    let run = repo.planx(&["init", "--force"]);
    assert!(run.stdout.contains("already set notes.rewriteRef"), "{run}");
    assert_eq!(
        repo.git(&["config", "--get-all", "notes.rewriteRef"]),
        "refs/notes/commits\nrefs/notes/planx\n"
    );
}

#[test]
fn init_outside_a_repository_says_so() {
    let dir = Repo::folder();
    assert_snapshot!(dir.planx(&["init"]), @r"
    --- stderr ---
    error: not a git repository (or any parent folder): $REPO
    hint: run git planx inside a git repository, or create one with `git init`
    [exit status: 2]
    ");
}

#[test]
fn init_in_a_bare_repository_is_refused() {
    let dir = Repo::folder();
    dir.git(&["init", "-q", "--bare"]);
    let run = dir.planx(&["init"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("is a bare repository"), "{run}");
}

#[test]
fn init_json() {
    let repo = Repo::new();
    let doc = repo.planx(&["init", "--json", "--id", "my-plan"]).json();
    assert_eq!(doc["schema"], "planx.init/1");
    assert_eq!(doc["id"], "my-plan");
    assert_eq!(doc["base"], "main");
    assert_eq!(doc["config"][0]["changed"], true);
}

#[test]
fn init_refuses_a_bad_id() {
    let repo = Repo::new();
    let run = repo.planx(&["init", "--id", "Bad Id"]);
    assert_eq!(run.code, 2, "{run}");
}
