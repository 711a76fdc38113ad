//! `git planx brief`, `review` and `report` on a plan taken through several phases — one
//! complete (merged with `finish`), one failed, one in progress with an undeclared change, one
//! waiting — and the CI files (`ci/planx-verify.sh`, run by the GitHub action and the GitLab
//! template) run as a CI job runs them.

use std::path::{Path, PathBuf};

use insta::assert_snapshot;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::common::{BIN, Check, PhaseBuilder, PlanBuilder, Repo, Run, Step, verify_plan};

/// Four phases: `model` and `parser` first; `cli` after `model`; `docs` after both.
fn shop_plan() -> String {
    PlanBuilder::new("shop", "A small shop")
        .guidelines(
            "- Keep every change inside the phase's manifest.\n- Write the failing test first.",
        )
        .command(
            "test",
            "printf 'suite: 3 passed | ok\\n```\\n' && test ! -e broken",
        )
        .preflight(["test"])
        .phase(
            PhaseBuilder::new("model", "The data model")
                .owner("rust-developer")
                .goal("Define the shop's items and their prices.")
                .deliverables([
                    "src/model.txt with the items",
                    "README.md mentions the model",
                ])
                .blast_radius("test -f src/model.txt")
                .timeout("30m")
                .create(["src/model.txt"])
                .modify(["README.md"])
                .check(Check::file("the model lists items", "src/model.txt").contains("item"))
                .check_run("suite passes", "test")
                .step(Step::new("1", "Write the failing test"))
                .step(
                    Step::new("2", "Write the model")
                        .description("One item per line.")
                        .verify("test -s src/model.txt"),
                ),
        )
        .phase(
            PhaseBuilder::new("parser", "Parse orders")
                .owner("rust-developer")
                .goal("Read orders from text.")
                .blast_radius("test")
                .create(["src/parser.txt"])
                .check_file("the parser exists", "src/parser.txt"),
        )
        .phase(
            PhaseBuilder::new("cli", "The command line")
                .owner("cli-developer")
                .depends_on(["model"])
                .goal("Expose the model on the command line.")
                .deliverables(["src/cli.txt"])
                .blast_radius("test")
                .create(["src/cli.txt"])
                .allow(["notes/**"])
                .after_verify(["docs/cli.md"])
                .check(Check::file("the cli uses the model", "src/cli.txt").contains("model"))
                .check_run("suite passes", "test")
                .check_manual("usability reviewed"),
        )
        .phase(
            PhaseBuilder::new("docs", "Document it")
                .kind("design")
                .owner("writer")
                .depends_on(["cli", "parser"])
                .create(["docs/guide.md"])
                .check_file("the guide is written", "docs/guide.md"),
        )
        .toml()
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{run}");
    run
}

/// The shop plan taken through its phases: `model` complete, `parser` failed, `cli` in progress
/// with an undeclared change (its verify failed), `docs` waiting. This work tree is on
/// `planx/cli`.
pub(crate) fn shop() -> Repo {
    let repo = Repo::with_plan(&shop_plan());
    repo.write("README.md", "# shop\n");
    repo.commit_all("README says shop");

    ok(repo.planx(&["start", "model", "-q"]));
    ok(repo.planx(&["checkpoint", "--red", "-q"]));
    ok(repo.planx(&["checkpoint", "--step", "1", "-q"]));
    repo.write("src/model.txt", "item: apple 1\nitem: pear 2\n");
    repo.write("README.md", "# shop\n\nItems are in src/model.txt.\n");
    repo.git(&["add", "-A"]);
    ok(repo.planx(&["checkpoint", "--step", "2", "-q"]));
    ok(repo.planx(&["checkpoint", "--green", "-q"]));
    ok(repo.planx(&["verify", "-q"]));
    ok(repo.planx(&["finish", "model", "-q"]));

    ok(repo.planx(&["start", "parser", "-q"]));
    repo.write("src/parser.txt", "orders: ?\n");
    repo.git(&["add", "-A"]);
    ok(repo.planx(&[
        "checkpoint",
        "--failed",
        "the order format is not decided",
        "-q",
    ]));

    ok(repo.planx(&["start", "cli", "-q"]));
    repo.write("src/cli.txt", "shop list: prints the model\n");
    repo.write("notes/idea.md", "a | b\n");
    repo.write("stray.txt", "not in the manifest\n");
    repo.git(&["add", "-A"]);
    ok(repo.planx(&[
        "checkpoint",
        "-m",
        "The command line, and a stray file",
        "-q",
    ]));
    ok(repo.planx(&[
        "accept",
        "cli",
        "usability reviewed",
        "--evidence",
        "Tried `shop list` | it reads well",
        "-q",
    ]));
    assert_eq!(repo.planx(&["verify", "-q"]).code, 1);
    repo.write("scratch.txt", "uncommitted\n");
    repo
}

/// Durations of command runs depend on the machine: shown as `[t]`.
fn timeless(run: &Run) -> String {
    regex_replace(&run.to_string(), r"in [0-9]+\.[0-9]s", "in [t]")
}

fn regex_replace(text: &str, pattern: &str, with: &str) -> String {
    regex::Regex::new(pattern)
        .unwrap()
        .replace_all(text, with)
        .into_owned()
}

/// Counts the `|` that separate cells (not escaped with a backslash).
fn separators(line: &str) -> usize {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .count()
}

/// Parses `markdown` as CommonMark with GitHub's tables and returns each table's header cells.
/// Fails when a table row holds more or fewer cells than its header (a stray `|`), when a line
/// that looks like a row is not part of a table, or when a `<details>` block does not hold a
/// code block.
fn tables(markdown: &str) -> Vec<Vec<String>> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut tables: Vec<Vec<String>> = Vec::new();
    let (mut in_head, mut in_cell, mut in_paragraph, mut after_details) =
        (false, false, false, false);
    let mut cell = String::new();
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Table(_)) => {
                let source = &markdown[range];
                let lines: Vec<&str> = source.lines().filter(|l| !l.trim().is_empty()).collect();
                let expected = separators(lines[0]);
                for line in &lines {
                    assert_eq!(
                        separators(line),
                        expected,
                        "a row with a different number of cells than its header:\n{line}\nin:\n{source}"
                    );
                }
                tables.push(Vec::new());
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableCell) => {
                in_cell = true;
                cell.clear();
            }
            Event::End(TagEnd::TableCell) => {
                in_cell = false;
                if in_head {
                    tables.last_mut().unwrap().push(cell.clone());
                }
            }
            Event::Text(text) | Event::Code(text) if in_cell => cell.push_str(&text),
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) => in_paragraph = false,
            Event::Text(text) if in_paragraph => assert!(
                !text.trim_start().starts_with('|'),
                "a table row outside a table: {text}"
            ),
            Event::Html(html) if html.contains("<details>") => after_details = true,
            Event::Start(Tag::CodeBlock(_)) => after_details = false,
            Event::Html(html) if html.contains("</details>") => {
                assert!(!after_details, "a <details> without its code block")
            }
            _ => {}
        }
    }
    tables
}

#[test]
fn brief_of_a_phase_in_progress() {
    let repo = shop();
    let run = ok(repo.planx(&["brief", "cli"]));
    assert_snapshot!(run, @r#"
    # Phase execution plan: `cli` — The command line

    Plan `shop` — A small shop; branch `planx/cli` from `main`; implementation phase; owner: cli-developer.

    Written by `git planx brief cli` from the plan `.planx/plan.toml` on `main` at the phase's fork point `810ea4b446`.

    ## Introduction

    Expose the model on the command line.

    Deliverables:

    - src/cli.txt

    It depends on `model` (complete).

    **If any step cannot be completed, stop.** Record why with `git planx checkpoint --blocked "REASON"` and tell whoever runs the plan. Do not report the phase complete: it is complete when `git planx verify cli` passes and the phase is merged with `git planx finish cli`.

    ## Previous attempt

    This is a retry: the latest verify of the phase, recorded on `0e78b0ebf5` at 2026-01-01T00:00:21Z, did not pass. Fix what it found first, then verify again (`git planx verify cli`):

    - error: stray.txt was added but the manifest does not declare it

    ## Pre-implementation steps

    1. Read the whole plan, as it was on `main` where the phase forked: `git show 810ea4b446:.planx/plan.toml`.
    2. Look at the phase's recorded status: `git planx status cli --format md`. It is in-progress. Its last checkpoint is `0e78b0ebf5` (step): The command line, and a stray file. `git planx resume cli` switches to it and names the next step: continue from there, and do not redo completed steps.
    3. Run the full test suite, ````printf 'suite: 3 passed | ok\n```\n' && test ! -e broken```` (`[commands] test`), and make sure it passes. If it does not, stop and tell whoever runs the plan.
    4. Review the code around what the manifest below names; the phase is to modify or delete no existing file.

    ## Guidelines

    - Keep every change inside the phase's manifest.
    - Write the failing test first.

    ## Implementation steps

    The phase's blast radius — the tests that guard what it touches — is ````printf 'suite: 3 passed | ok\n```\n' && test ! -e broken```` (`[commands] test`). Work test first: once the failing tests are written, `git planx checkpoint --red` records that it fails; once they pass, `git planx checkpoint --green` records that it passes.

    The plan lists no steps for this phase: deliver the goal within the manifest below, and record progress with `git planx checkpoint -m MESSAGE`.

    ## File manifest

    `git planx verify cli` compares every path the branch changes with this manifest. A change it does not declare is an error (the plan is strict).

    | List | Paths | Rule |
    | --- | --- | --- |
    | create | `src/cli.txt` | must be new since the fork point and not empty |
    | allow | `notes/**` | may change; need not |
    | after_verify | `docs/cli.md` | may be committed only after `git planx verify cli` passes |

    ## Acceptance checks

    `git planx verify cli` evaluates each one; every one must be VERIFIED.

    | Check | How it is verified |
    | --- | --- |
    | the cli uses the model | the file `src/cli.txt` matches the expression `model` |
    | suite passes | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` (`[commands] test`) exits 0 within 10m |
    | usability reviewed | manual: someone records the evidence with `git planx accept cli 'usability reviewed' --evidence "…"` |

    ## Post-implementation steps

    1. Run the full test suite again, ````printf 'suite: 3 passed | ok\n```\n' && test ! -e broken```` (`[commands] test`): it must pass.
    2. Commit what is left: `git add` it, then `git planx checkpoint -m MESSAGE`. Verification judges committed work; a verify of a work tree with uncommitted changes cannot finish the phase.
    3. Verify the phase: `git planx verify cli`. Fix whatever it reports and verify again until it says VERIFIED.
    4. Only now write `docs/cli.md`, commit it with `git planx checkpoint -m MESSAGE`, and verify again.
    5. The status document is derived from git: `git planx status cli --format md`. Do not write one by hand: a report is not evidence.
    --- stderr ---
    [exit status: 0]
    "#);
    assert_eq!(
        tables(&run.stdout),
        [
            vec!["List", "Paths", "Rule"],
            vec!["Check", "How it is verified"]
        ]
    );
}

#[test]
fn brief_of_a_phase_not_started() {
    let repo = shop();
    let run = ok(repo.planx(&["brief", "docs"]));
    assert_snapshot!(run, @r#"
    # Phase execution plan: `docs` — Document it

    Plan `shop` — A small shop; branch `planx/docs` from `main`; design phase; owner: writer.

    Written by `git planx brief docs` from the plan `.planx/plan.toml` on `main` at its tip `810ea4b446`.

    ## Introduction

    The plan states no goal for this phase beyond its title.

    It depends on `cli` (in-progress), `parser` (failed).

    **If any step cannot be completed, stop.** Record why with `git planx checkpoint --blocked "REASON"` and tell whoever runs the plan. Do not report the phase complete: it is complete when `git planx verify docs` passes and the phase is merged with `git planx finish docs`.

    ## Pre-implementation steps

    1. Read the whole plan: `git show main:.planx/plan.toml`.
    2. Look at the phase's recorded status: `git planx status docs --format md`. It has not started: `git planx start docs` runs the preflight and puts it on branch `planx/docs`.
    3. Run the full test suite, ````printf 'suite: 3 passed | ok\n```\n' && test ! -e broken```` (`[commands] test`), and make sure it passes. If it does not, stop and tell whoever runs the plan.
    4. Review the code around what the manifest below names; the phase is to modify or delete no existing file.

    ## Guidelines

    - Keep every change inside the phase's manifest.
    - Write the failing test first.

    ## Implementation steps

    The plan lists no steps for this phase: deliver the goal within the manifest below, and record progress with `git planx checkpoint -m MESSAGE`.

    ## File manifest

    `git planx verify docs` compares every path the branch changes with this manifest. A change it does not declare is an error (the plan is strict).

    | List | Paths | Rule |
    | --- | --- | --- |
    | create | `docs/guide.md` | must be new since the fork point and not empty |

    ## Acceptance checks

    `git planx verify docs` evaluates each one; every one must be VERIFIED.

    | Check | How it is verified |
    | --- | --- |
    | the guide is written | the file `docs/guide.md` exists |

    ## Post-implementation steps

    1. Run the full test suite again, ````printf 'suite: 3 passed | ok\n```\n' && test ! -e broken```` (`[commands] test`): it must pass.
    2. Commit what is left: `git add` it, then `git planx checkpoint -m MESSAGE`. Verification judges committed work; a verify of a work tree with uncommitted changes cannot finish the phase.
    3. Verify the phase: `git planx verify docs`. Fix whatever it reports and verify again until it says VERIFIED.
    4. The status document is derived from git: `git planx status docs --format md`. Do not write one by hand: a report is not evidence.
    --- stderr ---
    [exit status: 0]
    "#);
    let headers = tables(&run.stdout);
    assert_eq!(
        headers,
        [
            vec!["List", "Paths", "Rule"],
            vec!["Check", "How it is verified"]
        ]
    );
}

#[test]
fn review_of_a_phase_in_progress_with_an_undeclared_change() {
    let repo = shop();
    let run = ok(repo.planx(&["review"]));
    assert_snapshot!(timeless(&run), @r#"
    # cli: The command line

    **NOT VERIFIED**: the latest verify of the tree under review failed (recorded on `0e78b0ebf5` at 2026-01-01T00:00:21Z): 1 manifest error.

    Verified tree = head tree? **yes** (`74461382e6`).

    - Plan: `shop` — A small shop
    - Phase: `cli` — The command line (implementation phase, owner cli-developer)
    - Branch: `planx/cli` at `0e78b0ebf5`, forked from `main` at `810ea4b446`

    ## Needs attention

    - **Undeclared changes** (errors: the plan is strict): `stray.txt`.
    - **The pre-commit hook was bypassed** on 1 commit (`git commit --no-verify`, `PLANX_HOOKS=0`, or the hook not installed): it changed paths outside the manifest: `0e78b0ebf5` The command line, and a stray file (`stray.txt`).
    - Uncommitted changes in the work tree are not part of this review: `scratch.txt`.

    ## Goal

    Expose the model on the command line.

    ## Deliverables

    - [ ] src/cli.txt

    ## Acceptance checks

    | Check | What | Result | Evidence |
    | --- | --- | --- | --- |
    | the cli uses the model | file | VERIFIED | src/cli.txt matches `model` on line 1 |
    | suite passes | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` (`[commands] test`) | VERIFIED | `test` exit 0 in [t] |
    | usability reviewed | manual | VERIFIED | accepted by Ada Lovelace <ada@example.com> at 2026-01-01T00:00:20Z: Tried `shop list` \| it reads well |

    <details><summary>Output of the check "suite passes": exit 0 in [t] (last 50 lines)</summary>

    ````text
    suite: 3 passed | ok
    ```
    ````

    </details>

    ## Manifest coverage

    | Path | Declared as | Change | + | − |
    | --- | --- | --- | --- | --- |
    | `notes/idea.md` | allow `notes/**` | added | 1 | 0 |
    | `src/cli.txt` | create `src/cli.txt` | added | 1 | 0 |
    | `stray.txt` | **undeclared** | added | 1 | 0 |

    Findings:

    - error: stray.txt was added but the manifest does not declare it

    ## Checkpoints

    | Time | What | Commit | Detail |
    | --- | --- | --- | --- |
    | 2026-01-01T00:00:17Z | start | `237a42372d` | planx: start cli — The command line |
    | 2026-01-01T00:00:19Z | step | `0e78b0ebf5` | The command line, and a stray file |
    | 2026-01-01T00:00:20Z | accept | `0e78b0ebf5` | `usability reviewed` accepted by Ada Lovelace <ada@example.com>: Tried `shop list` \| it reads well |
    | 2026-01-01T00:00:21Z | verify | `0e78b0ebf5` | NOT VERIFIED (tree `74461382e6`) |

    ## Tests before and after

    Before — the preflight on `main` when the phase started, and the failing (red) runs of the blast radius:

    | Run | Command | Result | Status | Time |
    | --- | --- | --- | --- | --- |
    | preflight | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` | passed | exit 0 in [t] | 2026-01-01T00:00:17Z |

    After — the passing (green) runs of the blast radius, and the checks of the verify record of this tree:

    | Run | Command | Result | Status | Time |
    | --- | --- | --- | --- | --- |
    | check "suite passes" | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` | passed | exit 0 in [t] | 2026-01-01T00:00:21Z |

    ## Merging

    `git planx finish cli` merges the phase only with a passing verify of exactly the tree it merges. A pull request merged on the forge counts too. If you squash-merge it there, end the squash commit's message with these trailers, so that planx sees the phase complete:

    ```text
    Planx-Plan: shop
    Planx-Phase: cli
    Planx-Checkpoint: complete
    Planx-Status: complete
    ```

    Written by `git planx review cli` from git: the results above are read from the verify records in `refs/notes/planx`, not from anyone's report.
    --- stderr ---
    [exit status: 0]
    "#);
    let headers = tables(&run.stdout);
    assert_eq!(
        headers,
        [
            vec!["Check", "What", "Result", "Evidence"],
            vec!["Path", "Declared as", "Change", "+", "−"],
            vec!["Time", "What", "Commit", "Detail"],
            vec!["Run", "Command", "Result", "Status", "Time"],
            vec!["Run", "Command", "Result", "Status", "Time"],
        ]
    );
}

#[test]
fn review_of_a_complete_phase() {
    let repo = shop();
    let run = ok(repo.planx(&["review", "model"]));
    assert_snapshot!(timeless(&run), @r#"
    # model: The data model

    **VERIFIED**: the manifest holds and every acceptance check passed on exactly the tree under review (recorded on `77f619cbb3` at 2026-01-01T00:00:12Z).

    Verified tree = head tree? **yes** (`521f8f680f`).

    - Plan: `shop` — A small shop
    - Phase: `model` — The data model (implementation phase, owner rust-developer)
    - Branch: `planx/model` at `77f619cbb3`, forked from `main` at `7eb56ef4ed`

    ## Goal

    Define the shop's items and their prices.

    ## Deliverables

    - [ ] src/model.txt with the items
    - [ ] README.md mentions the model

    ## Acceptance checks

    | Check | What | Result | Evidence |
    | --- | --- | --- | --- |
    | the model lists items | file | VERIFIED | src/model.txt matches `item` on line 1 |
    | suite passes | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` (`[commands] test`) | VERIFIED | `test` exit 0 in [t] |

    <details><summary>Output of the check "suite passes": exit 0 in [t] (last 50 lines)</summary>

    ````text
    suite: 3 passed | ok
    ```
    ````

    </details>

    ## Manifest coverage

    | Path | Declared as | Change | + | − |
    | --- | --- | --- | --- | --- |
    | `README.md` | modify `README.md` | modified | 2 | 0 |
    | `src/model.txt` | create `src/model.txt` | added | 2 | 0 |

    ## Checkpoints

    | Time | What | Commit | Detail |
    | --- | --- | --- | --- |
    | 2026-01-01T00:00:06Z | start | `b6c5cd9624` | planx: start model — The data model |
    | 2026-01-01T00:00:07Z | red | `9dc8a20b00` | planx: model red: the blast radius fails |
    | 2026-01-01T00:00:08Z | step 1 | `0108ee4a93` | planx: model step 1 — Write the failing test |
    | 2026-01-01T00:00:10Z | step 2 | `e8ad71818f` | planx: model step 2 — Write the model; verify `test -s src/model.txt` passed |
    | 2026-01-01T00:00:11Z | green | `77f619cbb3` | planx: model green: the blast radius passes |
    | 2026-01-01T00:00:12Z | verify | `77f619cbb3` | VERIFIED (tree `521f8f680f`) |

    ## Tests before and after

    Before — the preflight on `main` when the phase started, and the failing (red) runs of the blast radius:

    | Run | Command | Result | Status | Time |
    | --- | --- | --- | --- | --- |
    | preflight | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` | passed | exit 0 in [t] | 2026-01-01T00:00:06Z |
    | red | `test -f src/model.txt` | failed | exit 1 in [t] | 2026-01-01T00:00:07Z |

    After — the passing (green) runs of the blast radius, and the checks of the verify record of this tree:

    | Run | Command | Result | Status | Time |
    | --- | --- | --- | --- | --- |
    | green | `test -f src/model.txt` | passed | exit 0 in [t] | 2026-01-01T00:00:11Z |
    | check "suite passes" | ````printf 'suite: 3 passed \| ok\n```\n' && test ! -e broken```` | passed | exit 0 in [t] | 2026-01-01T00:00:12Z |

    ## Merging

    The phase is merged into `main` by `810ea4b446`.

    Written by `git planx review model` from git: the results above are read from the verify records in `refs/notes/planx`, not from anyone's report.
    --- stderr ---
    [exit status: 0]
    "#);
    tables(&run.stdout);
}

#[test]
fn report_of_the_whole_plan() {
    let repo = shop();
    let run = ok(repo.planx(&["report"]));
    assert_snapshot!(timeless(&run), @"
    # Plan execution report: `shop` — A small shop

    **Status: FAILED** — 1 of 4 phases complete.

    - Base: `main` at `810ea4b446`
    - Recorded from 2026-01-01T00:00:06Z to 2026-01-01T00:00:21Z (15s)

    ## Phases

    | Phase | Title | Owner | State | Duration | Files | Runs |
    | --- | --- | --- | --- | --- | --- | --- |
    | `model` | The data model | rust-developer | complete | 7s | 1 created, 1 modified | 4 passed, 0 failed, 1 red |
    | `parser` | Parse orders | rust-developer | **failed** | 2s | 1 created | 1 passed, 0 failed |
    | `cli` | The command line | cli-developer | in-progress | 4s | 3 created | 2 passed, 0 failed |
    | `docs` | Document it | writer | waiting | - | - | 0 passed, 0 failed |

    ## Files changed

    | Phase | Path | Change | + | − |
    | --- | --- | --- | --- | --- |
    | `model` | `README.md` | modified | 2 | 0 |
    | `model` | `src/model.txt` | created | 2 | 0 |
    | `parser` | `src/parser.txt` | created | 1 | 0 |
    | `cli` | `notes/idea.md` | created | 1 | 0 |
    | `cli` | `src/cli.txt` | created | 1 | 0 |
    | `cli` | `stray.txt` | created | 1 | 0 |

    Read from `model`: merge `7eb56ef4ed`..`810ea4b446`; `parser`: branch `810ea4b446`..`f91a96724e`; `cli`: branch `810ea4b446`..`0e78b0ebf5`.

    ## Test results

    The command runs recorded in the notes: preflights, step verifications, red and green runs of the blast radius, and the checks of each verify. Red runs fail on purpose (tests written first) and are counted apart.

    | Phase | Runs | Passed | Failed | Red | Latest verify |
    | --- | --- | --- | --- | --- | --- |
    | `model` | 5 | 4 | 0 | 1 | VERIFIED, of the merged tree (`521f8f680f`, 2026-01-01T00:00:12Z) |
    | `parser` | 1 | 1 | 0 | 0 | none recorded |
    | `cli` | 2 | 2 | 0 | 0 | NOT VERIFIED, of the branch's tip (`74461382e6`, 2026-01-01T00:00:21Z) |
    | `docs` | 0 | 0 | 0 | 0 | none recorded |

    ## Open problems

    - `parser` (failed): the order format is not decided
    - `cli` (undeclared-change): stray.txt was added but the manifest does not declare it
    - `cli` (hook-bypassed): the pre-commit hook was bypassed (`--no-verify`, `PLANX_HOOKS=0`) or not installed on 1 commit: 0e78b0ebf5 The command line, and a stray file changed stray.txt

    ## Next step

    phase `cli` has no open step: verify it with `git planx verify cli`
    --- stderr ---
    [exit status: 0]
    ");
    let headers = tables(&run.stdout);
    assert_eq!(headers.len(), 3, "{run}");
}

#[test]
fn errors_say_what_to_do() {
    let repo = shop();
    assert_snapshot!(repo.planx(&["brief", "zz"]), @"
    --- stderr ---
    error: the plan has no phase `zz`
    hint: the plan's phases are model, parser, cli, docs
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["review", "docs"]), @"
    --- stderr ---
    error: phase `docs` has not been started
    hint: start it with `git planx start docs`
    [exit status: 3]
    ");
    repo.git(&["stash", "-u", "-q"]);
    repo.git(&["switch", "-q", "main"]);
    assert_snapshot!(repo.planx(&["review"]), @"
    --- stderr ---
    error: `main` is not a phase branch of plan `shop`
    hint: switch to the phase with `git planx resume PHASE`, or start one with `git planx start PHASE`
    hint: or name the phase: `git planx review PHASE`
    [exit status: 3]
    ");
    assert_eq!(repo.planx(&["report", "--format", "pdf"]).code, 2);
}

#[test]
fn a_merged_phase_is_reviewed_from_its_merge_once_its_branch_is_gone() {
    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    repo.do_phase_p();
    ok(repo.planx(&["verify", "-q"]));
    repo.git(&["switch", "-q", "main"]);
    ok(repo.planx(&["finish", "p", "--delete-branch", "-q"]));
    assert!(repo.git(&["branch", "--list", "planx/p"]).is_empty());
    let doc = ok(repo.planx(&["review", "p", "--json"])).json();
    assert_eq!(doc["head_from"], "merged");
    assert_eq!(doc["verification"]["verdict"], "verified");
    assert_eq!(doc["merged"]["verified"], true);

    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    repo.do_phase_p();
    ok(repo.planx(&["verify", "-q"]));
    repo.git(&["switch", "-q", "main"]);
    ok(repo.planx(&["finish", "p", "--squash", "--delete-branch", "-q"]));
    let run = repo.planx(&["review", "p"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("phase `p` has no branch to review: it was merged by"),
        "{run}"
    );
}

/// A folder on `PATH` holding `git` and the given stand-ins for forge tools, and nothing else,
/// so that what the machine has installed does not matter.
fn tools(repo: &Repo, fakes: &[&str]) -> String {
    let top = repo.root.parent().unwrap();
    let bin = top.join("tools");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = top.join("fake-tool");
    std::fs::write(&fake, FAKE_TOOL).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let git = repo
        .run(
            repo.command("sh", &repo.root)
                .args(["-c", "command -v git"]),
        )
        .stdout;
    let link = |target: &Path, name: &str| {
        let _ = std::fs::remove_file(bin.join(name));
        std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
    };
    link(Path::new(git.trim()), "git");
    for name in fakes {
        link(&fake, name);
    }
    let planx_dir = Path::new(BIN).parent().unwrap();
    format!("{}:{}", bin.display(), planx_dir.display())
}

/// A stand-in for `gh`, `glab` and `curl`: records each call in `$FAKE_LOG` and the body it was
/// asked to post in `$FAKE_POSTED`; `FAKE_MODE=logged-out` or `fail` make it refuse.
const FAKE_TOOL: &str = r#"#!/bin/sh
PATH="/usr/bin:/bin:$PATH"
tool="${0##*/}"
printf '%s %s\n' "$tool" "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "auth status" ]; then
  if [ "$FAKE_MODE" = logged-out ]; then
    echo "You are not logged into any hosts. Run $tool auth login." >&2
    exit 1
  fi
  exit 0
fi
if [ "$FAKE_MODE" = fail ]; then
  echo "GraphQL: Head sha can't be blank (createPullRequest)" >&2
  exit 1
fi
while [ $# -gt 0 ]; do
  case "$1" in
    --body-file) cp "$2" "$FAKE_POSTED" ;;
    --description) printf '%s' "$2" > "$FAKE_POSTED" ;;
    body@*) cp "${1#body@}" "$FAKE_POSTED" ;;
  esac
  shift
done
if [ -n "$FAKE_HOOK" ]; then sh -c "$FAKE_HOOK"; fi
if [ "$tool" != curl ]; then echo "https://forge.example.com/shop/pull/1"; fi
"#;

struct Fake {
    log: PathBuf,
    posted: PathBuf,
}

impl Fake {
    fn new(repo: &Repo) -> Fake {
        let top = repo.root.parent().unwrap();
        Fake {
            log: top.join("fake.log"),
            posted: top.join("posted.md"),
        }
    }

    fn env(&self, cmd: &mut std::process::Command, path: &str, mode: &str) {
        cmd.env("PATH", path)
            .env("FAKE_LOG", &self.log)
            .env("FAKE_POSTED", &self.posted)
            .env("FAKE_MODE", mode);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn posted(&self) -> String {
        std::fs::read_to_string(&self.posted).unwrap_or_default()
    }
}

fn review_open(repo: &Repo, fake: &Fake, path: &str, mode: &str) -> Run {
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.args(["review", "--open"]);
    fake.env(&mut cmd, path, mode);
    repo.run(&mut cmd)
}

#[test]
fn open_without_a_forge_tool_says_how_and_still_prints_the_body() {
    let repo = shop();
    let fake = Fake::new(&repo);
    let run = review_open(&repo, &fake, &tools(&repo, &[]), "ok");
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.starts_with("# cli: The command line\n"), "{run}");
    assert_snapshot!(run.stderr, @r#"
    note: cannot open the pull request here: gh is not installed; glab is not installed
      push the branch, then open it with the body printed above:
        git push -u origin planx/cli
        git planx review cli > "${TMPDIR:-/tmp}/planx-review-cli.md"
        gh pr create --base main --head planx/cli --title 'cli: The command line' --body-file "${TMPDIR:-/tmp}/planx-review-cli.md"
      or on GitLab:
        glab mr create --source-branch planx/cli --target-branch main --title 'cli: The command line' --description "$(cat "${TMPDIR:-/tmp}/planx-review-cli.md")" --yes
      or paste the body into the forge's page for a new pull request.
    "#);

    let run = review_open(&repo, &fake, &tools(&repo, &["gh"]), "logged-out");
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains(
            "gh is not logged in (`gh auth login`): You are not logged into any hosts. Run gh auth login.; glab is not installed"
        ),
        "{run}"
    );
    assert_eq!(fake.log(), "gh auth status\n");
}

#[test]
fn open_with_no_place_for_the_body_file() {
    let repo = shop();
    let fake = Fake::new(&repo);
    let not_a_folder = repo.root.parent().unwrap().join("tmp-is-a-file");
    std::fs::write(&not_a_folder, "").unwrap();
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.args(["review", "--open"]).env("TMPDIR", &not_a_folder);
    fake.env(&mut cmd, &tools(&repo, &["gh"]), "ok");
    let run = repo.run(&mut cmd);
    let temp = regex::Regex::new(r"planx-review-\w+\.md").unwrap();
    assert_snapshot!(temp.replace(&run.stderr, "planx-review-XXXXXX.md").replace(&not_a_folder.display().to_string(), "$TMPDIR"), @r#"
    error: cannot write the pull request's body to a temporary file
      caused by: Not a directory (os error 20) at path "$TMPDIR/planx-review-XXXXXX.md"
    hint: nothing was created; set TMPDIR to a folder you may write, then run `git planx review --open` again
    "#);
    assert_eq!(run.code, 3, "{run}");
    assert_eq!(fake.log(), "gh auth status\n", "nothing was created");
}

#[test]
fn open_creates_the_pull_request_with_gh_or_glab() {
    let repo = shop();
    let fake = Fake::new(&repo);
    let run = review_open(&repo, &fake, &tools(&repo, &["gh", "glab"]), "ok");
    assert_eq!(run.code, 0, "{run}");
    assert_snapshot!(run.stderr, @"opened the pull request on GitHub with gh: https://forge.example.com/shop/pull/1");
    let log = fake.log();
    let create = log.lines().nth(1).unwrap();
    assert!(
        create.starts_with(
            "gh pr create --base main --head planx/cli --title cli: The command line --body-file "
        ),
        "{log}"
    );
    let posted = fake.posted();
    assert!(posted.starts_with("**NOT VERIFIED**"), "{posted}");
    assert!(
        run.stdout.ends_with(&posted),
        "the body printed is the body posted"
    );

    // A GitLab remote: glab first.
    repo.git(&[
        "remote",
        "add",
        "origin",
        "git@gitlab.example.com:shop/shop.git",
    ]);
    std::fs::remove_file(&fake.log).unwrap();
    let run = review_open(&repo, &fake, &tools(&repo, &["gh", "glab"]), "ok");
    assert_eq!(run.code, 0, "{run}");
    let log = fake.log();
    assert!(
        log.starts_with(
            "glab auth status\nglab mr create --source-branch planx/cli --target-branch main --title cli: The command line --description **NOT VERIFIED**"
        ),
        "{log}"
    );
    assert!(log.trim_end().ends_with("--yes"), "{log}");
    assert_eq!(fake.posted(), posted);
}

#[test]
fn open_reports_a_forge_tool_that_fails() {
    let repo = shop();
    let fake = Fake::new(&repo);
    let run = review_open(&repo, &fake, &tools(&repo, &["gh"]), "fail");
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stdout.starts_with("# cli: The command line\n"), "{run}");
    assert_snapshot!(run.stderr, @"
    error: `gh pr create` failed
      caused by: GraphQL: Head sha can't be blank (createPullRequest)
    hint: nothing was created; the body is printed above. If gh cannot find the branch, push it first (`git push -u origin planx/cli`), then run `git planx review --open` again
    ");
}

/// The first lines of a review: the verdict, and whether the verified tree is the head tree.
fn verdict(repo: &Repo) -> String {
    let run = ok(repo.planx(&["review", "p"]));
    run.stdout
        .lines()
        .skip(2)
        .take(3)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_verdict_says_which_tree_was_verified() {
    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    repo.do_phase_p();
    assert_snapshot!(verdict(&repo), @"
    **NOT VERIFIED**: no verify is recorded for this phase. Run `git planx verify p`.

    Verified tree = head tree? **no**: nothing verified; head `e3e32e015d`.
    ");
    ok(repo.planx(&["verify", "--no-run", "-q"]));
    assert_snapshot!(verdict(&repo), @"
    **NOT VERIFIED**: the verify of the tree under review found nothing wrong (recorded on `3bcd327ff6` at 2026-01-01T00:00:08Z), but it ran no command (`--no-run`), so it does not count.

    Verified tree = head tree? **yes** (`e3e32e015d`).
    ");
    ok(repo.planx(&["verify", "-q"]));
    assert_snapshot!(verdict(&repo), @"
    **VERIFIED**: the manifest holds and every acceptance check passed on exactly the tree under review (recorded on `3bcd327ff6` at 2026-01-01T00:00:10Z).

    Verified tree = head tree? **yes** (`e3e32e015d`).
    ");
    repo.write("scratch/more.txt", "more\n");
    repo.git(&["add", "-A"]);
    ok(repo.planx(&["checkpoint", "-q", "-m", "More"]));
    assert_snapshot!(verdict(&repo), @"
    **NOT VERIFIED**: the latest verify was of another tree (recorded on `3bcd327ff6` at 2026-01-01T00:00:10Z); the branch changed since. Run `git planx verify p`.

    Verified tree = head tree? **no**: verified `e3e32e015d`, head `927c964712`.
    ");
}

#[test]
fn a_hand_written_note_with_a_tree_that_is_not_an_id_is_passed_over() {
    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    repo.do_phase_p();
    // The note is text anyone can write: here, a verify event whose tree is no object id.
    let first: serde_json::Value =
        serde_json::from_str(repo.note("HEAD").lines().next().unwrap()).unwrap();
    let forged = serde_json::json!({
        "v": 1,
        "ts": "2026-01-01T01:00:00Z",
        "plan": first["plan"],
        "phase": "p",
        "event": "verify",
        "tree": "a".to_owned() + &"é".repeat(20),
        "passed": true,
        "clean": true,
        "no_run": false,
    });
    repo.git(&[
        "notes",
        "--ref",
        "planx",
        "append",
        "-m",
        &forged.to_string(),
        "HEAD",
    ]);
    for args in [
        &["review", "p"][..],
        &["review", "p", "--json"],
        &["report"],
        &["report", "--json"],
    ] {
        let run = repo.planx(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run}");
        assert_eq!(run.code, 0, "{args:?}: {run}");
    }
    assert!(
        repo.planx(&["review", "p"])
            .stdout
            .contains("no verify is recorded for this phase"),
        "the forged event is no verify record"
    );
}

#[test]
fn an_edit_of_the_plan_on_the_branch_is_called_out_first() {
    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    repo.do_phase_p();
    repo.write_plan(&verify_plan().command("test", "true").toml());
    repo.git(&["add", "-A"]);
    ok(repo.planx(&["checkpoint", "-q", "-m", "Make the tests easy"]));
    let run = ok(repo.planx(&["review"]));
    let attention = run
        .stdout
        .split("## Needs attention\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("no attention section:\n{run}"));
    assert_snapshot!(attention, @"
    - **The plan file `.planx/plan.toml` is edited on this branch** (not declared). The plan on `main` at the fork point judges this phase, not the edited copy.
    - **Undeclared changes** (errors: the plan is strict): `.planx/plan.toml`.
    - **The pre-commit hook was bypassed** on 1 commit (`git commit --no-verify`, `PLANX_HOOKS=0`, or the hook not installed): it changed paths outside the manifest: `f30ec43542` Make the tests easy (`.planx/plan.toml`).
    ");
    let doc = ok(repo.planx(&["review", "--json"])).json();
    assert_eq!(doc["plan_edit"]["path"], ".planx/plan.toml");
    assert_eq!(doc["plan_edit"]["declared"], serde_json::Value::Null);
}

/// The top-level fields docs/commands.md documents for `schema`: the first column of the first
/// table after the line that names the schema.
fn documented_fields(schema: &str) -> Vec<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md")).unwrap();
    let at = doc
        .find(&format!("JSON (`{schema}`)"))
        .unwrap_or_else(|| panic!("docs/commands.md does not document {schema}"));
    let mut fields: Vec<String> = doc[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .flat_map(|l| {
            let names = l.split('|').nth(1).unwrap();
            names
                .split(',')
                .map(|n| n.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    fields.sort();
    fields
}

fn fields(doc: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn json_documents_follow_their_documented_schemas() {
    let repo = shop();

    let brief = ok(repo.planx(&["brief", "model", "--format", "json"])).json();
    assert_eq!(brief["schema"], "planx.brief/1");
    assert_eq!(fields(&brief), documented_fields("planx.brief/1"));
    assert_eq!(brief["judged_at"], "fork-point");
    assert_eq!(brief["state"], "complete");
    assert_eq!(brief["full_suite_from"], "preflight");
    assert_eq!(brief["full_suite"][0]["name"], "test");
    assert_eq!(
        brief["steps"][1]["verify"]["shell"],
        "test -s src/model.txt"
    );
    assert_eq!(brief["steps"][1]["state"], "COMPLETED");
    assert_eq!(brief["to_review"][0]["path"], "README.md");
    assert_eq!(brief["checks"][0]["contains"], "item");
    assert_eq!(brief["timeout_seconds"], 1800);

    let review = ok(repo.planx(&["review", "cli", "--json"])).json();
    assert_eq!(review["schema"], "planx.review/1");
    assert_eq!(fields(&review), documented_fields("planx.review/1"));
    assert_eq!(review["verification"]["verdict"], "failed");
    assert_eq!(review["verification"]["tree_matches"], true);
    assert_eq!(review["head_from"], "checked-out");
    assert_eq!(review["undeclared"], serde_json::json!(["stray.txt"]));
    assert_eq!(review["uncommitted"], serde_json::json!(["scratch.txt"]));
    assert_eq!(review["files"][1]["path"], "src/cli.txt");
    assert_eq!(review["files"][1]["added"], 1);
    assert_eq!(review["checks"][2]["verdict"], "verified");
    assert_eq!(review["opened"], serde_json::Value::Null);
    let body = review["body"].as_str().unwrap();
    assert!(body.starts_with("**NOT VERIFIED**"), "{body}");
    assert_eq!(tables(body).len(), 5);

    let report = ok(repo.planx(&["report", "--json"])).json();
    assert_eq!(report["schema"], "planx.report/1");
    assert_eq!(fields(&report), documented_fields("planx.report/1"));
    assert_eq!(report["overall"], "failed");
    let phases: Vec<(&str, &str)> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [
            ("model", "complete"),
            ("parser", "failed"),
            ("cli", "in-progress"),
            ("docs", "waiting")
        ]
    );
    assert_eq!(report["phases"][0]["runs"]["red"], 1);
    assert_eq!(report["phases"][0]["files_from"]["what"], "merge");
    assert_eq!(
        report["phases"][2]["problems"][0]["code"],
        "undeclared-change"
    );
    assert_eq!(report["next"]["action"], "continue");
}

/// The script the CI files run (`.github/actions/planx-verify`, `ci/planx.gitlab-ci.yml`).
const CI_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/planx-verify.sh");

/// The text of a file of the repository.
fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn the_ci_files_run_the_script() {
    let workflow = repo_file(".github/workflows/planx.yml");
    assert!(
        workflow.contains("uses: ./.github/actions/planx-verify"),
        "{workflow}"
    );
    assert!(workflow.contains("fetch-depth: 0"), "{workflow}");
    assert!(workflow.contains("statuses: write"), "{workflow}");
    let action = repo_file(".github/actions/planx-verify/action.yml");
    assert!(
        action.contains(r#"run: sh "$GITHUB_ACTION_PATH/../../../ci/planx-verify.sh""#),
        "{action}"
    );
    let gitlab = repo_file("ci/planx.gitlab-ci.yml");
    assert!(
        gitlab.contains("- sh /tmp/git-planx/ci/planx-verify.sh"),
        "{gitlab}"
    );
}

/// A bare repository standing for the forge, holding what a developer pushed: main, the phase
/// branch and the notes.
fn forge(dev: &Repo) -> String {
    let remote = dev.root.parent().unwrap().join("remote.git");
    if !remote.exists() {
        dev.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    }
    let url = format!("file://{}", remote.display());
    dev.git(&[
        "push",
        "-q",
        "--force",
        &url,
        "main",
        "planx/p",
        "refs/notes/planx",
    ]);
    url
}

/// A CI checkout: a fresh repository fetching from the forge, HEAD detached at `commit`.
fn ci_checkout(dev: &Repo, name: &str, url: &str, refspec: &str, commit: &str) -> PathBuf {
    let dir = dev.root.parent().unwrap().join(name);
    let dir_s = dir.to_str().unwrap();
    dev.git(&["init", "-q", dir_s]);
    dev.git(&["-C", dir_s, "remote", "add", "origin", url]);
    dev.git(&["-C", dir_s, "fetch", "-q", "origin", refspec]);
    dev.git(&["-C", dir_s, "checkout", "-q", "--detach", commit]);
    dir
}

#[test]
fn the_github_action_verifies_comments_publishes_a_status_and_pushes_the_notes() {
    // No forge is reachable from the tests: `gh` is a stand-in that records its arguments.
    let dev = Repo::verifying(&crate::common::VERIFY_PLAN);
    dev.do_phase_p();
    let url = forge(&dev);
    let tip = dev.git(&["rev-parse", "planx/p"]).trim().to_owned();
    let fake = Fake::new(&dev);
    let path = tools(&dev, &["gh"]);
    let run_job = |dir: &Path, hook: &str| {
        let temp = dir.parent().unwrap().join("runner-temp");
        std::fs::create_dir_all(&temp).unwrap();
        let summary = temp.join("summary.md");
        let _ = std::fs::remove_file(&fake.log);
        let mut cmd = dev.command("sh", dir);
        cmd.arg(CI_SCRIPT)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_HEAD_REF", "planx/p")
            .env("GITHUB_BASE_REF", "main")
            .env("GITHUB_REPOSITORY", "shop/shop")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "99")
            .env("PLANX_PR", "7")
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("PLANX_PUSH", "true")
            .env("FAKE_HOOK", hook);
        fake.env(&mut cmd, &format!("{path}:/usr/bin:/bin"), "ok");
        (
            dev.run(&mut cmd),
            std::fs::read_to_string(summary).unwrap_or_default(),
        )
    };

    let ci = ci_checkout(
        &dev,
        "ci",
        &url,
        "+refs/heads/*:refs/remotes/origin/*",
        &tip,
    );
    let (run, summary) = run_job(&ci, "");
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("VERIFIED: manifest holds"), "{run}");
    let temp = ci.parent().unwrap().join("runner-temp");
    assert_eq!(
        fake.log(),
        format!(
            "gh pr comment 7 --body-file {}/planx-review.md\n\
             gh api --method POST repos/shop/shop/statuses/{tip} -f state=success -f context=planx/p \
             -f description=verified: the manifest holds and every check passed on this tree \
             -f target_url=https://github.com/shop/shop/actions/runs/99\n",
            temp.display()
        )
    );
    let posted = fake.posted();
    assert!(
        posted.starts_with("# p: The phase\n\n**VERIFIED**"),
        "{posted}"
    );
    assert!(
        posted.contains("Verified tree = head tree? **yes**"),
        "{posted}"
    );
    assert_eq!(summary, posted);
    // The record went back to the forge with the notes.
    let remote = url.trim_start_matches("file://");
    let note = dev.git(&["--git-dir", remote, "notes", "--ref", "planx", "show", &tip]);
    assert!(
        note.contains(r#""event":"verify""#) && note.contains(r#""passed":true"#),
        "{note}"
    );

    // A newer tip with an undeclared file: the job fails, and says why in the comment.
    dev.git(&["fetch", "-q", &url, "+refs/notes/planx:refs/notes/planx"]);
    dev.write("sneaky.txt", "x\n");
    dev.git(&["add", "sneaky.txt"]);
    ok(dev.planx(&["checkpoint", "-q", "-m", "Sneak a file in"]));
    forge(&dev);
    let tip = dev.git(&["rev-parse", "planx/p"]).trim().to_owned();
    let ci = ci_checkout(
        &dev,
        "ci2",
        &url,
        "+refs/heads/*:refs/remotes/origin/*",
        &tip,
    );
    // While the job runs, someone else pushes notes: the job merges them line by line.
    let meanwhile = format!(
        "git -C '{dir}' notes --ref planx append -m '{{\"v\":1,\"meanwhile\":true}}' main && git -C '{dir}' push -q '{url}' refs/notes/planx",
        dir = dev.root.display()
    );
    let (run, _) = run_job(&ci, &meanwhile);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        fake.log().contains(&format!(
            "statuses/{tip} -f state=failure -f context=planx/p -f description=not verified: git planx verify exit 1 (see the review)"
        )),
        "{}",
        fake.log()
    );
    let posted = fake.posted();
    assert!(posted.contains("**NOT VERIFIED**"), "{posted}");
    assert!(posted.contains("**Undeclared changes**"), "{posted}");
    let main_note = dev.git(&[
        "--git-dir",
        remote,
        "notes",
        "--ref",
        "planx",
        "show",
        "main",
    ]);
    assert!(main_note.contains("\"meanwhile\":true"), "{main_note}");
    let note = dev.git(&["--git-dir", remote, "notes", "--ref", "planx", "show", &tip]);
    assert!(note.contains(r#""passed":false"#), "{note}");
}

#[test]
fn the_gitlab_template_verifies_comments_publishes_a_status_and_pushes_the_notes() {
    // No forge is reachable from the tests: `curl` is a stand-in that records its arguments.
    let dev = Repo::verifying(&crate::common::VERIFY_PLAN);
    dev.do_phase_p();
    let url = forge(&dev);
    let tip = dev.git(&["rev-parse", "planx/p"]).trim().to_owned();
    // GitLab fetches the merge request's commits; the job's sync fetches base and the notes.
    let ci = ci_checkout(&dev, "ci", &url, "planx/p", "FETCH_HEAD");
    let out = ci.join("planx");
    let fake = Fake::new(&dev);
    let path = tools(&dev, &["curl"]);
    let mut cmd = dev.command("sh", &ci);
    cmd.arg(CI_SCRIPT)
        .env("GITLAB_CI", "true")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "planx/p")
        .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
        .env("CI_API_V4_URL", "https://gitlab.example.com/api/v4")
        .env("CI_PROJECT_ID", "42")
        .env("CI_MERGE_REQUEST_IID", "7")
        .env("CI_JOB_URL", "https://gitlab.example.com/shop/-/jobs/5")
        .env("PLANX_GITLAB_TOKEN", "secret")
        .env("PLANX_NOTES_REMOTE", &url)
        .env("PLANX_OUT", &out);
    fake.env(&mut cmd, &format!("{path}:/usr/bin:/bin"), "ok");
    let run = dev.run(&mut cmd);
    assert_eq!(run.code, 0, "{run}");
    let log = fake.log();
    assert_eq!(
        log,
        format!(
            "curl --fail --silent --show-error --output /dev/null --request POST --header PRIVATE-TOKEN: secret \
             --data-urlencode body@{out}/planx-review.md https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes\n\
             curl --fail --silent --show-error --output /dev/null --request POST --header PRIVATE-TOKEN: secret \
             --data-urlencode state=success --data-urlencode name=planx/p \
             --data-urlencode description=verified: the manifest holds and every check passed on this tree \
             --data-urlencode target_url=https://gitlab.example.com/shop/-/jobs/5 \
             https://gitlab.example.com/api/v4/projects/42/statuses/{tip}\n",
            out = out.display()
        )
    );
    assert!(fake.posted().contains("**VERIFIED**"), "{}", fake.posted());
    let remote = url.trim_start_matches("file://");
    let note = dev.git(&["--git-dir", remote, "notes", "--ref", "planx", "show", &tip]);
    assert!(note.contains(r#""passed":true"#), "{note}");
}

#[test]
fn brief_names_the_code_to_review_and_what_cannot_be_modified() {
    let plan = crate::common::VERIFY_PLAN.replace(
        r#"modify = ["existing.txt"]"#,
        r#"modify = ["existing.txt", "missing.txt"]"#,
    );
    let repo = Repo::verifying(&plan);
    let run = ok(repo.planx(&["brief", "p"]));
    let step = run
        .stdout
        .split("4. Review")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("{run}"));
    assert_snapshot!(step, @"
    the code the manifest names before changing it:
      - `existing.txt` (modify `existing.txt`)
      - `old.txt` (delete `old.txt`)
      - `missing.txt` (modify) matches no file at `fe0f09efde`: it cannot be modified, and `verify` will fail on it. Ask whoever runs the plan before going on.
    ");
}

#[test]
fn a_merge_on_the_forge_without_a_verify_is_an_open_problem() {
    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    repo.do_phase_p();
    repo.git(&["switch", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "planx/p",
        "-m",
        "Merge pull request #1",
    ]);
    let doc = ok(repo.planx(&["report", "--json"])).json();
    assert_eq!(doc["phases"][0]["state"], "unverified");
    assert_eq!(doc["phases"][0]["files_from"]["what"], "merge");
    assert_eq!(doc["phases"][0]["problems"][0]["code"], "unverified");
    let run = ok(repo.planx(&["report"]));
    assert!(
        run.stdout
            .contains("| `p` | The phase | dev | **UNVERIFIED** |"),
        "{run}"
    );
    let run = ok(repo.planx(&["review", "p"]));
    assert!(
        run.stdout
            .contains("**without a passing verify of its tree**: it does not count as complete"),
        "{run}"
    );
}

#[test]
fn bypassed_pre_commit_hooks_show_in_review_and_report() {
    let repo = Repo::verifying(&crate::common::VERIFY_PLAN);
    ok(repo.planx(&["hooks", "install", "-q"]));
    repo.do_phase_p();
    repo.write("stray.txt", "not in the manifest\n");
    repo.git(&["add", "stray.txt"]);
    // The hook refuses the commit; --no-verify skips it.
    let refused =
        repo.run(
            repo.command("git", &repo.root)
                .args(["commit", "-q", "-m", "Stray file"]),
        );
    assert_eq!(refused.code, 1, "{refused}");
    repo.git(&["commit", "-q", "--no-verify", "-m", "Stray file"]);
    let stray = repo
        .git(&["rev-parse", "--short=10", "HEAD"])
        .trim()
        .to_owned();

    let run = ok(repo.planx(&["review", "p"]));
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("pre-commit hook was bypassed"))
        .unwrap_or_else(|| panic!("{run}"))
        .replace(&stray, "$STRAY");
    assert_snapshot!(line, @"- **The pre-commit hook was bypassed** on 1 commit (`git commit --no-verify`, `PLANX_HOOKS=0`, or the hook not installed): it changed paths outside the manifest: `$STRAY` Stray file (`stray.txt`).");
    let review = ok(repo.planx(&["review", "p", "--format", "json"])).json();
    assert_eq!(
        review["bypassed"][0]["paths"],
        serde_json::json!(["stray.txt"])
    );

    let report = ok(repo.planx(&["report", "--format", "json"])).json();
    let p = &report["phases"][0];
    assert_eq!(p["bypassed"][0]["summary"], "Stray file", "{p}");
    assert!(
        p["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "hook-bypassed"),
        "{p}"
    );
    let text = ok(repo.planx(&["report"]));
    assert!(
        text.stdout.contains(&format!(
            "- `p` (hook-bypassed): the pre-commit hook was bypassed (`--no-verify`, `PLANX_HOOKS=0`) or not installed on 1 commit: {stray} Stray file changed stray.txt"
        )),
        "{text}"
    );
}
