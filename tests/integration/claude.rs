//! The real Claude Code CLI as the executor of `run`, offline: a scripted model
//! ([`Model`]) answers its requests, while its tools, its hooks and planx's stop gate really
//! run. Claude Code is installed from npm under the target folder the first time
//! ([`claude_bin`]).

use std::path::{Path, PathBuf};

use crate::common::model::{Model, Turn};
use crate::common::tools::claude_bin;
use crate::common::{BIN, Repo, Run, agent_plan};

/// The recipe of docs/run.md: the brief as the prompt, Claude's result document as the usage
/// document.
const EXECUTOR: &str = "claude -p \"$(cat \"$PLANX_BRIEF\")\" --output-format json --dangerously-skip-permissions > \"$PLANX_USAGE\"";

fn plan() -> String {
    agent_plan("claude")
}

/// The user's own `.claude/settings.json`: a Stop hook of theirs that notes each stop in
/// `log`, two spaces, keys in their order.
fn user_settings(log: &Path) -> String {
    format!(
        "{{\n  \"model\": \"opus\",\n  \"hooks\": {{\n    \"Stop\": [\n      {{\n        \"hooks\": [\n          {{\n            \"type\": \"command\",\n            \"command\": \"echo stop >> {}\"\n          }}\n        ]\n      }}\n    ]\n  }}\n}}\n",
        log.display()
    )
}

struct Setup {
    repo: Repo,
    settings: String,
    log: PathBuf,
}

/// The plan on main with the user's settings, trusted, and `git planx setup claude` committed.
fn set_up() -> Setup {
    let repo = Repo::new();
    let log = repo.root.parent().unwrap().join("user-stop.log");
    let settings = user_settings(&log);
    repo.write("README.md", "# hello\n");
    repo.write(".claude/settings.json", &settings);
    repo.write_plan(&plan());
    repo.commit_all("Base");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    let run = repo.planx(&["setup", "claude", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    repo.commit_all("Work with Claude Code the planx way");
    Setup {
        repo,
        settings,
        log,
    }
}

/// `git planx run` with Claude Code as the executor, against `model`.
fn run_with_claude(repo: &Repo, model: &Model) -> Run {
    let claude = claude_bin();
    let mut cmd = repo.command_with_path(BIN, &repo.root, &[&claude]);
    cmd.args(["run", "--executor", EXECUTOR])
        .env("ANTHROPIC_BASE_URL", model.base_url())
        .env("ANTHROPIC_API_KEY", "scripted")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("IS_SANDBOX", "1");
    repo.run(&mut cmd)
}

fn worktree(repo: &Repo, phase: &str) -> PathBuf {
    repo.root.join(".git/planx/worktrees/agents").join(phase)
}

#[test]
fn claude_says_done_too_early_is_held_back_writes_the_file_and_the_phase_merges() {
    let Setup {
        repo,
        settings,
        log,
    } = set_up();
    let file = worktree(&repo, "p").join("hello.txt");
    let q_file = worktree(&repo, "q").join("q.txt");
    let model = Model::serve(vec![
        // p: done, without the file; held back, it writes it; then done again.
        Turn::Say("Done: the phase is complete.".into()),
        Turn::Call {
            text: "I will write the file.".into(),
            tool: "Write".into(),
            input: serde_json::json!({"file_path": file, "content": "hello\n"}),
        },
        Turn::Say("Done.".into()),
        // q, right away.
        Turn::Call {
            text: "Writing q.txt.".into(),
            tool: "Write".into(),
            input: serde_json::json!({"file_path": q_file, "content": "q\n"}),
        },
        Turn::Say("Done.".into()),
    ]);
    let run = run_with_claude(&repo, &model);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(repo.state_of("p"), "complete");
    assert_eq!(repo.state_of("q"), "complete");
    let told = model.last_user_texts();
    assert_eq!(told.len(), 5, "{told:#?}");
    assert!(
        told[1].contains("nothing was created for `hello.txt` [manifest: create `hello.txt`]"),
        "the model was not told the finding: {told:#?}"
    );
    assert!(!told[3].contains("does not verify"), "{told:#?}");
    // The SessionStart hook gave the session the phase's brief.
    let first = model.requests()[0].to_string();
    assert!(
        first.contains("this session works on phase `p` of plan `agents`"),
        "no brief at the start of the session"
    );
    // The user's own Stop hook ran beside planx's.
    let stops = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(stops.lines().count() >= 2, "{stops}");
    // What Claude Code said it cost, in the report.
    let report = repo.planx(&["report", "--json"]).json();
    let usage = &report["phases"][0]["usage"];
    assert!(usage["cost_usd"].as_f64().unwrap() > 0.0, "{usage}");
    assert_eq!(usage["turns"], 3, "{usage}");
    assert!(usage["input_tokens"].as_u64().unwrap() >= 300, "{usage}");
    assert!(report["usage"]["cost_usd"].as_f64().unwrap() > usage["cost_usd"].as_f64().unwrap());
    assert!(
        repo.planx(&["report"])
            .stdout
            .contains("## Cost and effort")
    );
    // And planx's part of the settings comes out again, leaving the user's bytes.
    assert_eq!(repo.planx(&["setup", "claude", "--remove", "-q"]).code, 0);
    assert_eq!(repo.read(".claude/settings.json"), settings);
}

#[test]
fn claude_that_never_does_the_work_stops_at_the_cap_and_the_phase_is_blocked() {
    let Setup { repo, .. } = set_up();
    repo.git(&["config", "planx.agentStopCap", "2"]);
    let model = Model::serve(vec![Turn::Say("Done: everything works.".into())]);
    let run = run_with_claude(&repo, &model);
    assert_ne!(run.code, 0, "{run}");
    // Held back twice, then let go: three answers of the model.
    let told = model.last_user_texts();
    assert_eq!(told.len(), 3, "{told:#?}");
    assert!(told[1].contains("back 1 of 2 times"), "{told:#?}");
    assert!(told[2].contains("back 2 of 2 times"), "{told:#?}");
    assert_eq!(repo.state_of("p"), "blocked");
    let message = repo.git(&["log", "-1", "--format=%B", "planx/p"]);
    assert!(
        message.contains("the agent stopped after 2 blocks of the stop gate"),
        "{message}"
    );
    assert!(
        message.contains("nothing was created for `hello.txt`"),
        "{message}"
    );
    // The gate's own checkpoint is there too, with the findings it had.
    let gate = repo.git(&["log", "-1", "--format=%B", "planx/p~1"]);
    assert!(gate.contains("Planx-Checkpoint: blocked"), "{gate}");
    assert!(
        run.stdout.contains("q") && run.stdout.contains("skipped"),
        "{run}"
    );
    assert!(repo.git(&["branch", "--list", "planx/q"]).is_empty());
}
