//! The plan template of the seeds: prerequisites with their own verification, risks with
//! mitigations and "what done looks like" commands in the plan, validated like every key and
//! shown by `brief`; `brief` on a retry; the status document in the seeds' words.

use insta::assert_snapshot;

use crate::common::{PhaseBuilder, PlanBuilder, Repo, verify_plan};

/// The text between the heading `from` and the next second-level heading.
fn section(text: &str, from: &str) -> String {
    let start = text
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?} in:\n{text}"));
    let rest = &text[start..];
    let end = rest[from.len()..]
        .find("\n## ")
        .map_or(rest.len(), |i| i + from.len() + 1);
    rest[..end].to_owned()
}

fn seeded_plan() -> String {
    verify_plan()
        .with_phase("p", |p| {
            p.prerequisite(
                "Affected tests pass",
                "run only these while working",
                "test",
            )
            .table(
                "[[phase.prerequisite]]",
                &[("title", "A person approved the design")],
            )
            .risk(
                "existing.txt is read by another tool",
                "medium",
                "keep its first line",
            )
            .table(
                "[[phase.risk]]",
                &[("risk", "the | pipe"), ("mitigation", "escape it")],
            )
            .done("cat new.txt", "hello")
            .table("[[phase.done]]", &[("run", "test")])
        })
        .toml()
}

#[test]
fn brief_shows_prerequisites_risks_and_what_done_looks_like() {
    let repo = Repo::verifying(&seeded_plan());
    assert_eq!(repo.planx(&["check", "-q"]).code, 0);
    let brief = repo.planx(&["brief", "p"]);
    assert_eq!(brief.code, 0, "{brief}");
    assert_snapshot!(section(&brief.stdout, "## Prerequisites"), @r#"
    ## Prerequisites

    Complete these before the implementation steps. If one does not hold and you cannot make it hold, stop and record why with `git planx checkpoint --blocked "REASON"`.

    1. **Affected tests pass** — run only these while working
       Verification: `test -f new.txt` (`[commands] test`) must pass.
    2. **A person approved the design**
       Verification: the plan gives no command; check it by hand.
    "#);
    assert_snapshot!(section(&brief.stdout, "## Risks and mitigations"), @r#"
    ## Risks and mitigations

    | Risk | Likelihood | Mitigation |
    | --- | --- | --- |
    | existing.txt is read by another tool | medium | keep its first line |
    | the \| pipe | - | escape it |
    "#);
    assert_snapshot!(section(&brief.stdout, "## What done looks like"), @r#"
    ## What done looks like

    Once the phase verifies, these show its result:

    1. `cat new.txt` — expected: hello
    2. `test -f new.txt` (`[commands] test`)
    "#);
    let json = repo.planx(&["brief", "p", "--json"]).json();
    assert_eq!(
        json["prerequisites"][0]["verify"]["shell"],
        "test -f new.txt"
    );
    assert_eq!(json["risks"][0]["likelihood"], "medium");
    assert_eq!(json["risks"][1]["likelihood"], serde_json::Value::Null);
    assert_eq!(json["done"][0]["run"]["shell"], "cat new.txt");
    assert_eq!(json["previous_attempt"], serde_json::Value::Null);
}

#[test]
fn the_new_tables_are_validated_like_every_key() {
    let repo = Repo::new();
    let plan = PlanBuilder::new("v", "Template")
        .phase(
            PhaseBuilder::new("p", "The phase")
                .blast_radius("test -d .")
                .check_run("ok", "test -d .")
                .table(
                    "[[phase.risk]]",
                    &[("risk", "late"), ("mitigaton", "start early")],
                )
                .table(
                    "[[phase.risk]]",
                    &[("risk", "x"), ("likelihood", "often"), ("mitigation", "y")],
                )
                .table("[[phase.prerequisite]]", &[("why", "no title")])
                .table("[[phase.done]]", &[("expect", "no command")]),
        )
        .toml()
        .replace("why = \"no title\"", "why = \"no title\"\n  verify = 3");
    repo.write_plan(&plan);
    assert_snapshot!(repo.planx(&["check"]), @r#"
    error: [[phase.risk]] has no `mitigation`
      --> .planx/plan.toml:17:3
       |
    17 |   [[phase.risk]]
       |   ^^^^^^^^^^^^^^
    hint: add `mitigation = "…"`

    error: unknown key `mitigaton` in [[phase.risk]]
      --> .planx/plan.toml:19:3
       |
    19 |   mitigaton = "start early"
       |   ^^^^^^^^^
    hint: did you mean `mitigation`?

    error: `often` is not a likelihood
      --> .planx/plan.toml:22:16
       |
    22 |   likelihood = "often"
       |                ^^^^^^^
    hint: a risk's likelihood is "high", "medium" or "low"

    error: [[phase.prerequisite]] has no `title`
      --> .planx/plan.toml:24:3
       |
    24 |   [[phase.prerequisite]]
       |   ^^^^^^^^^^^^^^^^^^^^^^
    hint: add `title = "…"`

    error: `verify` in [[phase.prerequisite]]: expected a string, found the integer `3`
      --> .planx/plan.toml:26:12
       |
    26 |   verify = 3
       |            ^
    hint: see docs/plan-format.md for the type of each key

    error: [[phase.done]] has no `run`
      --> .planx/plan.toml:27:3
       |
    27 |   [[phase.done]]
       |   ^^^^^^^^^^^^^^
    hint: add `run = "git planx status"`

    invalid .planx/plan.toml: 6 errors, 0 warnings
    --- stderr ---
    [exit status: 1]
    "#);
}

#[test]
fn brief_on_a_retry_lists_what_failed_the_previous_attempt() {
    let repo = Repo::verifying(&seeded_plan());
    // The first attempt: verified before the work was done.
    assert_eq!(repo.planx(&["verify", "p", "-q"]).code, 1);
    let brief = repo.planx(&["brief", "p"]);
    assert_snapshot!(section(&brief.stdout, "## Previous attempt"), @r#"
    ## Previous attempt

    This is a retry: the latest verify of the phase, recorded on `2f7f1f0422` at 2026-01-01T00:00:05Z, did not pass. Fix what it found first, then verify again (`git planx verify p`):

    - error: nothing was created for `new.txt` (manifest: create `new.txt`)
    - error: nothing changed in `existing.txt` (manifest: modify `existing.txt`)
    - error: old.txt should be deleted but is still there (manifest: delete `old.txt`)
    - check `new.txt says hello` NOT VERIFIED: new.txt does not exist
    - check `tests` NOT VERIFIED: `test` exit 1 in 0.0s, expected exit 0
    "#);
    let json = repo.planx(&["brief", "p", "--json"]).json();
    assert_eq!(json["previous_attempt"]["verify"]["passed"], false);

    // Done and verified: no longer a retry.
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "p", "-q"]).code, 0);
    let brief = repo.planx(&["brief", "p"]);
    assert!(!brief.stdout.contains("## Previous attempt"), "{brief}");
}

#[test]
fn the_status_document_speaks_the_seeds_words_and_shows_the_latest_checks() {
    let repo = Repo::verifying(&verify_plan().toml());
    assert_eq!(repo.planx(&["verify", "p", "-q"]).code, 1);
    assert_snapshot!(repo.planx(&["status", "--format", "md"]), @r#"
    # Status: v — Verification

    Derived from git by `git planx status --format md` (base `main` at `65a1997442`).

    | Phase | State | Steps |
    | --- | --- | --- |
    | `p` The phase | IN PROGRESS | 0/0 |
    | `q` After p | NOT STARTED (waiting) | 0/0 |

    ## Phase `p` — The phase: IN PROGRESS

    Latest verify (2026-01-01T00:00:05Z, on `071cbed2ef`): NOT VERIFIED.

    | Check | Result | Evidence |
    | --- | --- | --- |
    | new.txt says hello | NOT VERIFIED | new.txt does not exist |
    | tests | NOT VERIFIED | `test` exit 1 in 0.0s, expected exit 0 |

    Findings:

    - nothing was created for `new.txt`
    - nothing changed in `existing.txt`
    - old.txt should be deleted but is still there

    ## Phase `q` — After p: NOT STARTED (waiting)

    **Next step:** phase `p` has no open step: verify it with `git planx verify p`
    --- stderr ---
    [exit status: 0]
    "#);
    assert_eq!(
        repo.planx(&["checkpoint", "--blocked", "new.txt needs a name"])
            .code,
        0
    );
    let md = repo.planx(&["status", "p", "--format", "md"]).stdout;
    assert!(
        md.contains("## Phase `p` — The phase: NEEDS CLARIFICATION (blocked)"),
        "{md}"
    );
}
