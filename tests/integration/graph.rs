//! `git planx graph`: text, dot, mermaid and JSON; groups split by overlapping manifests.

use insta::assert_snapshot;

use crate::common::{PhaseBuilder, PlanBuilder, Repo, SMALL_PLAN};

#[test]
fn text_lists_groups_in_order() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN);
    assert_snapshot!(repo.planx(&["graph"]), @r"
    plan demo: Demo plan

    group 1 (level 1)
      a  First   implementation
    
    group 2 (level 2): 2 phases in parallel
      b  Second  implementation  after a
      c  Third   design          after a
    --- stderr ---
    [exit status: 0]
    ");
}

#[test]
fn dot_and_mermaid() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN);
    assert_snapshot!(repo.planx(&["graph", "--format", "dot"]), @r#"
    digraph "demo" {
      rankdir=LR;
      node [shape=box];
      subgraph cluster_1 {
        label="group 1 (level 1)";
        "a" [label="a\nFirst\n(implementation)"];
      }
      subgraph cluster_2 {
        label="group 2 (level 2)";
        "b" [label="b\nSecond\n(implementation)"];
        "c" [label="c\nThird\n(design)"];
      }
      "a" -> "b";
      "a" -> "c";
    }
    --- stderr ---
    [exit status: 0]
    "#);
    assert_snapshot!(repo.planx(&["graph", "--format", "mermaid"]), @r#"
    flowchart LR
      subgraph g1["group 1 (level 1)"]
        p1["a<br/>First<br/><i>implementation</i>"]
      end
      subgraph g2["group 2 (level 2)"]
        p2["b<br/>Second<br/><i>implementation</i>"]
        p3["c<br/>Third<br/><i>design</i>"]
      end
      p1 --> p2
      p1 --> p3
    --- stderr ---
    [exit status: 0]
    "#);
}

#[test]
fn overlapping_phases_are_not_grouped_together() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN.replace(r#"create = ["docs/c.md"]"#, r#"allow = ["src/*.txt"]"#));
    assert_snapshot!(repo.planx(&["graph"]), @r"
    plan demo: Demo plan

    group 1 (level 1)
      a  First   implementation

    group 2 (level 2, kept apart from the rest of its level: manifests overlap)
      b  Second  implementation  after a

    group 3 (level 2, kept apart from the rest of its level: manifests overlap)
      c  Third   design          after a
    --- stderr ---
    [exit status: 0]
    ");
    let doc = repo.planx(&["graph", "--json"]).json();
    assert_eq!(doc["schema"], "planx.graph/1");
    assert_eq!(doc["conflicts"][0]["phases"], serde_json::json!(["b", "c"]));
    assert_eq!(doc["groups"].as_array().unwrap().len(), 3);
}

#[test]
fn an_invalid_plan_is_refused_with_its_errors() {
    let repo = Repo::new();
    repo.write_plan(
        &SMALL_PLAN
            .replace(r#"depends_on = ["a"]"#, r#"depends_on = ["c"]"#)
            .replace(
                "kind = \"design\"\nowner = \"dev\"\ndepends_on = [\"c\"]",
                "kind = \"design\"\nowner = \"dev\"\ndepends_on = [\"b\"]",
            ),
    );
    assert_snapshot!(repo.planx(&["graph"]), @r#"
    --- stderr ---
    error: dependency cycle: b → c → b
      --> .planx/plan.toml:27:15
       |
    27 | depends_on = ["c"]
       |               ^^^
    hint: a phase cannot wait for itself; remove one of these dependencies

    error: .planx/plan.toml is not a valid plan (1 error)
    hint: fix the errors above; `git planx check` lists every problem
    [exit status: 2]
    "#);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let repo = Repo::new();
    // Enough phases that the output outgrows the pipe buffer after the reader has gone.
    let plan = (0..3000).fold(PlanBuilder::new("big", "Big"), |plan, i| {
        plan.phase(
            PhaseBuilder::new(
                &format!("phase-{i}"),
                &format!("Phase number {i} with a long title to fill the pipe"),
            )
            .kind("design")
            .owner("x")
            .check_manual("c"),
        )
    });
    repo.write_plan(&plan.toml());
    let script = format!("set -o pipefail; '{}' graph | head -1", crate::common::BIN);
    let run = repo.run(repo.command("bash", &repo.root).args(["-c", &script]));
    assert_eq!(run.stdout, "plan big: Big\n", "{run}");
    assert_eq!(run.stderr, "", "{run}");
    assert_eq!(run.code, 0, "{run}");
}
