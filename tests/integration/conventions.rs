//! The conventions a git user expects of every command: colour as git's configuration says,
//! `-q`, errors as JSON documents, paths as git shows them, help laid out as git's is.

use insta::assert_snapshot;

use crate::common::{Repo, VERIFY_PLAN, WALK_PLAN};

const ESC: char = '\x1b';

#[test]
fn colour_follows_color_ui_and_color_planx_like_git() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let coloured = |run: &crate::common::Run| run.stderr.contains(ESC);
    // Through a pipe, nothing is coloured by default.
    assert!(!coloured(&repo.planx(&["start", "nope"])));
    repo.git(&["config", "color.ui", "always"]);
    let run = repo.planx(&["start", "nope"]);
    assert!(run.stderr.starts_with("\x1b[1;31merror\x1b[0m: "), "{run}");
    // color.planx is to planx what color.diff is to `git diff`: it wins over color.ui.
    repo.git(&["config", "color.planx", "false"]);
    assert!(!coloured(&repo.planx(&["start", "nope"])));
    repo.git(&["config", "color.planx", "always"]);
    repo.git(&["config", "color.ui", "never"]);
    assert!(coloured(&repo.planx(&["start", "nope"])));
    // --color wins over both; NO_COLOR over everything.
    assert!(!coloured(
        &repo.planx(&["start", "nope", "--color", "never"])
    ));
    let mut cmd = repo.command(crate::common::BIN, &repo.root);
    cmd.env("NO_COLOR", "1").args(["start", "nope"]);
    assert!(!coloured(&repo.run(&mut cmd)));
}

#[test]
fn logs_carry_no_escape_codes_when_colour_is_off() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let run = repo.planx(&["verify", "-v", "--color", "never"]);
    assert!(run.stderr.contains("DEBUG"), "{run}");
    assert!(!run.stderr.contains(ESC), "{run}");
    repo.git(&["config", "color.ui", "never"]);
    let run = repo.planx(&["verify", "-v"]);
    assert!(
        run.stderr.contains("DEBUG") && !run.stderr.contains(ESC),
        "{run}"
    );
    let run = repo.planx(&["verify", "-v", "--color", "always"]);
    assert!(run.stderr.contains("\x1b[34mDEBUG"), "{run}");
}

#[test]
fn verify_and_report_are_quiet_with_q() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.write("new.txt", "bye\n");
    repo.write("stray.txt", "stray\n");
    assert_snapshot!(repo.planx(&["verify", "-q"]), @"
    error: nothing changed in `existing.txt` [modify existing.txt]
    error: old.txt should be deleted but is still there [delete old.txt]
    error: stray.txt was added but the manifest does not declare it
    NOT VERIFIED  new.txt says hello: new.txt has no match for `hello`
    NOT VERIFIED: 3 manifest errors, 1 of 2 checks verified (recorded on 071cbed2ef)
    --- stderr ---
    [exit status: 1]
    ");
    std::fs::remove_file(repo.path("stray.txt")).unwrap();
    repo.do_phase_p();
    assert_snapshot!(repo.planx(&["verify", "-q"]), @"
    VERIFIED: manifest holds, 2 of 2 checks verified (recorded on e9e4c72b0e)
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(repo.planx(&["report", "-q"]), @"
    **Status: IN PROGRESS** — 0 of 2 phases complete.
    --- stderr ---
    [exit status: 0]
    ");
}

#[test]
fn argument_errors_are_error_documents_under_json() {
    let repo = Repo::with_plan(&WALK_PLAN);
    let run = repo.planx(&["start", "--bogus", "--json"]);
    assert_eq!(run.code, 2, "{run}");
    assert_snapshot!(serde_json::to_string_pretty(&run.json()).unwrap(), @r#"
    {
      "causes": [],
      "details": [],
      "diagnostics": [],
      "exit_code": 2,
      "hints": [
        "to pass '--bogus' as a value, use '-- --bogus'",
        "usage: git planx start [OPTIONS] <PHASE>"
      ],
      "kind": "usage",
      "message": "unexpected argument '--bogus' found",
      "schema": "planx.error/1"
    }
    "#);
    assert_snapshot!(run.stderr, @"
    error: unexpected argument '--bogus' found
    hint: to pass '--bogus' as a value, use '-- --bogus'
    hint: usage: git planx start [OPTIONS] <PHASE>
    ");
    let run = repo.planx(&["--json", "start"]);
    assert_eq!(run.json()["schema"], "planx.error/1", "{run}");
    assert_eq!(
        run.json()["message"],
        "the following required arguments were not provided: <PHASE>",
        "{run}"
    );
    // Without --json, clap's own message; help is not an error.
    let run = repo.planx(&["start", "--bogus"]);
    assert!(
        run.stdout.is_empty() && run.stderr.starts_with("error: unexpected argument"),
        "{run}"
    );
    assert_eq!(repo.planx(&["start", "--help", "--json"]).code, 0);
}

#[test]
fn jobs_zero_is_refused_and_large_values_capped() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_snapshot!(repo.planx(&["run", "--jobs", "0", "--dry-run"]), @"
    --- stderr ---
    error: invalid value '0' for '--jobs <JOBS>': 0 phases at a time would run nothing; give 1 or more

    For more information, try '--help'.
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["run", "--jobs", "x", "--dry-run"]), @"
    --- stderr ---
    error: invalid value 'x' for '--jobs <JOBS>': `x` is not a number of phases

    For more information, try '--help'.
    [exit status: 2]
    ");
    let run = repo.planx(&["run", "--jobs", "100000", "--dry-run", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["jobs"], 256, "{run}");
    assert_snapshot!(run.stderr, @"
    warning: --jobs 100000 is more than a run takes; running 256 phases at a time at most
    ");
}

#[test]
fn an_unknown_phase_gets_did_you_mean() {
    let repo = Repo::with_plan(
        &WALK_PLAN
            .replace("\"a\"", "\"alpha\"")
            .replace("\"b\"", "\"beta\""),
    );
    assert_snapshot!(repo.planx(&["start", "alhpa"]), @"
    --- stderr ---
    error: the plan has no phase `alhpa`
    hint: did you mean `alpha`?
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["start", "zzz"]), @"
    --- stderr ---
    error: the plan has no phase `zzz`
    hint: the plan's phases are alpha, beta
    [exit status: 2]
    ");
    let mut many = crate::common::PlanBuilder::new("many", "Many phases").command("test", "true");
    for n in 1..=12 {
        many = many.phase(
            crate::common::PhaseBuilder::new(&format!("phase-{n}"), "A phase")
                .create([format!("f{n}.txt")])
                .check_file("exists", &format!("f{n}.txt")),
        );
    }
    let repo = Repo::with_plan(&many.toml());
    assert_snapshot!(repo.planx(&["start", "phase-13"]), @"
    --- stderr ---
    error: the plan has no phase `phase-13`
    hint: did you mean `phase-1`?
    [exit status: 2]
    ");
    assert_snapshot!(repo.planx(&["start", "zzz"]), @"
    --- stderr ---
    error: the plan has no phase `zzz`
    hint: the plan has 12 phases; `git planx status` lists them
    [exit status: 2]
    ");
}

#[test]
fn a_repeated_phase_id_is_named_once_in_hints() {
    let plan = crate::common::small_plan()
        .phase(
            crate::common::PhaseBuilder::new("a", "Again")
                .create(["x.txt"])
                .check_file("x", "x.txt"),
        )
        .phase(
            crate::common::PhaseBuilder::new("d", "Fourth")
                .depends_on(["zzz"])
                .create(["d.txt"])
                .check_file("d", "d.txt"),
        );
    let repo = Repo::folder();
    repo.write("plan.toml", plan.toml());
    let run = repo.planx(&["check", "--plan", "plan.toml"]);
    assert!(
        run.stdout.contains("hint: known phases are a, b, c, d\n"),
        "{run}"
    );
}

#[test]
fn a_commands_help_shows_its_own_options_first() {
    let repo = Repo::folder();
    assert_snapshot!(repo.planx(&["start", "-h"]), @r#"
    Start a phase: check the preflight, create its branch from base, record the start

    Usage: git planx start [OPTIONS] <PHASE>

    Arguments:
      <PHASE>  The phase to start

    Options:
          --worktree <PATH>  Check the phase out in a new linked worktree at PATH (for phases in
                             parallel)
          --force            Start even though the plan's status is not `ready`
      -h, --help             Print help (see more with '--help')

    Global options:
          --plan <PATH>   The plan file [default: .planx/plan.toml at the top of the work tree]
          --json          Print one JSON document (schema "planx.<command>/1") instead of text
      -v, --verbose...    Say more about what happens (-v debug, -vv trace; PLANX_LOG overrides)
      -q, --quiet         Print only errors and the answer itself
          --trust-once    Run the plan's commands this once without them being trusted here (see
                          `trust`)
          --color <WHEN>  When to colour the output [default: color.planx, else color.ui, else auto]
                          [possible values: auto, always, never]
    --- stderr ---
    [exit status: 0]
    "#);
}

#[test]
fn run_gives_a_phase_without_a_timeout_the_default() {
    let plan = WALK_PLAN.replace("id = \"b\"\n", "id = \"b\"\ntimeout = \"30m\"\n");
    let repo = Repo::with_plan(&plan);
    let run = repo.planx(&["run", "--dry-run", "--executor", "agent"]);
    assert_snapshot!(run, @"
    would run plan `walk` with 1 job; executor: agent

    wave 1:
      a                in $REPO/.git/planx/worktrees/walk/a, at most 2h (the default)

    wave 2:
      b                in $REPO/.git/planx/worktrees/walk/b, at most 30m

    for each phase: brief → executor → commit what it left → verify → merge into base (one at a time)
    --- stderr ---
    [exit status: 0]
    ");
    let run = repo.planx(&["run", "--dry-run", "--executor", "agent", "--json"]);
    assert_snapshot!(run.json()["timeouts"], @r#"{"a":7200,"b":1800}"#);
}

#[test]
fn a_checkpoint_refused_by_the_users_own_hook_says_so() {
    let repo = Repo::with_plan(&WALK_PLAN);
    assert_eq!(repo.planx(&["start", "a", "-q"]).code, 0);
    repo.write(
        ".git/hooks/pre-commit",
        "#!/bin/sh\necho 'lint: a.txt has trailing whitespace' >&2\nexit 1\n",
    );
    let hook = repo.path(".git/hooks/pre-commit");
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();
    repo.write("a.txt", "a \n");
    repo.git(&["add", "a.txt"]);
    let before = repo.git(&["rev-parse", "HEAD"]);
    assert_snapshot!(repo.planx(&["checkpoint", "-m", "Work"]), @"
    --- stderr ---
    error: a hook refused the commit
      | lint: a.txt has trailing whitespace
    hint: nothing was committed and what was staged is still staged; fix what the hook says, then run the command again
    [exit status: 1]
    ");
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        before,
        "nothing committed"
    );
    // The staged work is still staged.
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), "a.txt\n");
}

#[test]
fn paths_are_utf8_in_documents_and_follow_core_quote_path_in_text() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    repo.write("données/café.txt", "du café\n");
    repo.git(&["add", "-A"]);
    assert_eq!(repo.planx(&["checkpoint", "-q", "-m", "Café"]).code, 0);
    let review = repo.planx(&["review", "p"]).stdout;
    let lines: Vec<&str> = review.lines().filter(|l| l.contains("caf")).collect();
    assert_snapshot!(lines.join("\n"), @"
    - **Undeclared changes** (errors: the plan is strict): `données/café.txt`.
    - **The pre-commit hook was bypassed** on 1 commit (`git commit --no-verify`, `PLANX_HOOKS=0`, or the hook not installed): it changed paths outside the manifest: `3cba94ccd6` Café (`données/café.txt`).
    | `données/café.txt` | **undeclared** | added | 1 | 0 |
    - error: données/café.txt was added but the manifest does not declare it
    ");
    let report = repo.planx(&["report"]).stdout;
    assert!(report.contains("`données/café.txt`"), "{report}");
    assert!(!report.contains("\\303"), "{report}");
    // Text follows core.quotePath, as `git status` does: quoted by default.
    let text = |repo: &Repo| {
        let run = repo.planx(&["verify"]);
        run.stdout
            .lines()
            .filter(|l| l.contains("caf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_snapshot!(text(&repo), @r#"
    "donn\303\251es/caf\303\251.txt"  added     undeclared
    error: "donn\303\251es/caf\303\251.txt" was added but the manifest does not declare it
    warning: commit 3cba94ccd6 (Café) changed données/café.txt outside the manifest: the pre-commit hook was bypassed or not installed
    "#);
    repo.git(&["config", "core.quotePath", "false"]);
    assert_snapshot!(text(&repo), @"
    données/café.txt  added     undeclared
    error: données/café.txt was added but the manifest does not declare it
    warning: commit 3cba94ccd6 (Café) changed données/café.txt outside the manifest: the pre-commit hook was bypassed or not installed
    ");
    // JSON keeps git's own bytes, whatever the setting.
    let json = repo.planx(&["verify", "--json"]).json();
    assert!(json["changes"].to_string().contains("\\\\303"), "{json}");
}

#[test]
fn log_labels_accept_evidence() {
    let plan = crate::common::small_plan()
        .toml()
        .replace("depends_on = [\"a\"]\n", "");
    let repo = Repo::with_plan(&plan);
    assert_eq!(repo.planx(&["start", "c", "-q"]).code, 0);
    let run = repo.planx(&[
        "accept",
        "c",
        "reviewed",
        "--evidence",
        "read by Grace",
        "-q",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let log = repo.planx(&["log", "c"]).stdout;
    let line = log
        .lines()
        .find(|l| l.contains("accepted"))
        .unwrap_or_default();
    assert_snapshot!(line.trim(), @"accepted                `reviewed`: read by Grace (by Ada Lovelace <ada@example.com>)");
}

#[test]
fn report_shows_every_attempt_of_a_phase_and_its_log() {
    // Phase a, with a second of executor time: the first run's executor fails, the retry's
    // runs out of time (it waits for a file nobody writes).
    let plan = WALK_PLAN.replace("id = \"a\"\n", "id = \"a\"\ntimeout = \"1s\"\n");
    let repo = Repo::with_plan(&plan);
    let run = repo.planx(&["run", "--phase", "a", "--executor", "echo no >&2; exit 1"]);
    assert_eq!(run.code, 1, "{run}");
    let wait = "while [ ! -e never ]; do :; done";
    let run = repo.planx(&["run", "--phase", "a", "--retry-failed", "--executor", wait]);
    assert_eq!(run.code, 1, "{run}");
    let report = repo.planx(&["report"]).stdout;
    let section: String = report
        .split("## Executor runs")
        .nth(1)
        .and_then(|s| s.split("## Open problems").next())
        .unwrap_or_default()
        .into();
    let duration = regex::Regex::new(r"\| \d+s \| (exit 1|timed out) in \d+\.\ds").unwrap();
    assert_snapshot!(duration.replace_all(section.trim(), "| $$TIME | $1 in $$TIME"), @"
    Each run of a phase's executor by `git planx run`: TIMEOUT when it ran out of the phase's time, INTERRUPTED when the run was stopped, a later attempt a retry. The log holds the latest attempt's output.

    | Phase | Attempt | Result | Duration | Exit | Executor log |
    | --- | --- | --- | --- | --- | --- |
    | `a` | 1 | **FAILED** | $TIME | exit 1 in $TIME | `.git/planx/run/walk/a/executor.log` |
    | `a` | 2 (retry) | **TIMEOUT** | $TIME | timed out in $TIME | `.git/planx/run/walk/a/executor.log` |
    ");
    let doc = repo.planx(&["report", "--json"]).json();
    let results: Vec<&str> = doc["phases"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["failed", "timeout"]);
}
