//! The project's own plan (.planx/plan.toml) describes real work on git-planx and must pass
//! `git planx check` without errors or warnings.

use crate::common::Repo;

#[test]
fn the_projects_own_plan_checks_clean() {
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/.planx/plan.toml");
    let repo = Repo::new();
    let run = repo.planx(&["check", "--plan", plan, "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["errors"], 0, "{run}");
    assert_eq!(doc["warnings"], 0, "{run}");
}
