//! The real Codex CLI as the executor of `run`, offline: the Codex recipe of docs/run.md,
//! against a scripted model behind OpenAI's Responses API ([`Model::serve_responses`]),
//! configured as a model provider in Codex's own `config.toml`. Its shell tool really runs.
//! Codex is installed from npm under the target folder the first time ([`codex_bin`]).

use std::path::{Path, PathBuf};

use crate::common::model::{Model, Turn};
use crate::common::tools::codex_bin;
use crate::common::{BIN, Repo, Run, agent_plan};

/// The recipe of docs/run.md: the brief as the prompt, Codex's JSON Lines events as the usage
/// document.
const EXECUTOR: &str =
    "codex exec --sandbox workspace-write --json \"$(cat \"$PLANX_BRIEF\")\" > \"$PLANX_USAGE\"";

fn plan() -> String {
    agent_plan("codex")
}

/// Codex's home: a model provider that is the scripted model, speaking the Responses API;
/// the phase worktrees trusted (the project Codex sees under `run`), so that it reads their
/// `.codex` folder.
fn codex_home(repo: &Repo, model: &Model) -> PathBuf {
    let mut projects = String::new();
    for folder in [worktree(repo, "p"), worktree(repo, "q")] {
        projects += &format!(
            "\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
            folder.display()
        );
    }
    let home = repo.root.parent().unwrap().join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model = \"gpt-5.1-codex\"\nmodel_provider = \"scripted\"\n\n\
             [model_providers.scripted]\nname = \"scripted\"\nbase_url = \"{}/v1\"\n\
             wire_api = \"responses\"\nenv_key = \"OPENAI_API_KEY\"\n\
             request_max_retries = 0\nstream_max_retries = 0\n{projects}",
            model.base_url()
        ),
    )
    .unwrap();
    home
}

fn worktree(repo: &Repo, phase: &str) -> PathBuf {
    repo.root.join(".git/planx/worktrees/agents").join(phase)
}

/// `git planx run` with `executor`, its Codex home in `home`.
fn run_with_codex(repo: &Repo, home: &Path, executor: &str) -> Run {
    let codex = codex_bin();
    let mut cmd = repo.command_with_path(BIN, &repo.root, &[&codex]);
    cmd.args(["run", "--executor", executor])
        .env("CODEX_HOME", home)
        .env("OPENAI_API_KEY", "scripted");
    repo.run(&mut cmd)
}

/// A shell command through Codex's `exec_command` tool, in the turn's folder (the phase's
/// worktree).
fn shell(text: &str, cmd: &str) -> Turn {
    Turn::Call {
        text: text.into(),
        tool: "exec_command".into(),
        input: serde_json::json!({"cmd": cmd}),
    }
}

#[test]
fn codex_writes_the_declared_file_through_its_shell_and_the_phase_merges() {
    let repo = Repo::new();
    repo.write("README.md", "# hello\n");
    repo.write_plan(&plan());
    repo.commit_all("Base");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    let model = Model::serve_responses(vec![
        shell("I will write the file.", "printf 'hello\\n' > hello.txt"),
        Turn::Say("Done.".into()),
        shell("Writing q.txt.", "printf 'q\\n' > q.txt"),
        Turn::Say("Done.".into()),
    ]);
    let home = codex_home(&repo, &model);
    let run = run_with_codex(&repo, &home, EXECUTOR);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(repo.state_of("p"), "complete");
    assert_eq!(repo.state_of("q"), "complete");
    assert_eq!(repo.read("hello.txt"), "hello\n");
    // Codex was given the phase's brief as its prompt, and its command ran.
    let requests = model.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert!(
        requests[0]["input"].to_string().contains("hello.txt"),
        "the brief did not reach the model"
    );
    let output = requests[1]["input"].to_string();
    assert!(output.contains("function_call_output"), "{output}");
    // What Codex said it used, in the report: one turn of two requests per phase.
    let report = repo.planx(&["report", "--json"]).json();
    let usage = &report["phases"][0]["usage"];
    assert_eq!(usage["turns"], 1, "{usage}");
    assert_eq!(usage["input_tokens"], 200, "{usage}");
    assert_eq!(usage["output_tokens"], 40, "{usage}");
    assert_eq!(report["usage"]["input_tokens"], 400, "{report}");
    assert!(
        repo.planx(&["report"])
            .stdout
            .contains("## Cost and effort")
    );
}

#[test]
fn codex_says_done_too_early_is_held_back_by_its_stop_hook_and_the_phase_merges() {
    let repo = Repo::new();
    repo.write("README.md", "# hello\n");
    repo.write_plan(&plan());
    repo.commit_all("Base");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    let setup = repo.planx(&["setup", "codex", "-q"]);
    assert_eq!(setup.code, 0, "{setup}");
    repo.commit_all("Work with Codex the planx way");
    let model = Model::serve_responses(vec![
        // p: done, without the file; held back, it writes it; then done again.
        Turn::Say("Done: the phase is complete.".into()),
        shell("I will write the file.", "printf 'hello\\n' > hello.txt"),
        Turn::Say("Done.".into()),
        // q, right away.
        shell("Writing q.txt.", "printf 'q\\n' > q.txt"),
        Turn::Say("Done.".into()),
    ]);
    let home = codex_home(&repo, &model);
    // Codex runs a project's hooks once they are reviewed and trusted; unattended, this flag
    // trusts them for the one invocation.
    let executor = EXECUTOR.replace("--json", "--json --dangerously-bypass-hook-trust");
    let run = run_with_codex(&repo, &home, &executor);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(repo.state_of("p"), "complete");
    assert_eq!(repo.state_of("q"), "complete");
    let requests = model.requests();
    assert_eq!(requests.len(), 5, "{requests:#?}");
    let told = requests[1]["input"].to_string();
    assert!(
        told.contains("nothing was created for `hello.txt` [manifest: create `hello.txt`]"),
        "the model was not told the finding: {told}"
    );
    assert!(!requests[3]["input"].to_string().contains("does not verify"));
}
