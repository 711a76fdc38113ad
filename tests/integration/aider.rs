//! The real Aider as the executor of `run`, offline: the Aider recipe of docs/run.md, against a
//! scripted model behind OpenAI's Chat Completions API ([`Model::serve_chat`]), which Aider
//! speaks through litellm. The model answers in Aider's whole-file edit format; Aider really
//! writes the file. Aider is installed from PyPI into a virtualenv under the target folder the
//! first time ([`aider_bin`]).

use crate::common::model::{Model, Turn};
use crate::common::tools::aider_bin;
use crate::common::{BIN, Repo, Run, agent_plan};

/// The recipe of docs/run.md, word for word: the model and the settings of this machine come
/// from Aider's own configuration (here its `AIDER_*` variables).
const RECIPE: &str = "aider --yes-always --message-file \"$PLANX_BRIEF\"";

/// The recipe of docs/run.md with verify as Aider's test command, run after each edit.
const RECIPE_VERIFY: &str = "aider --yes-always --test-cmd \"git planx verify\" --auto-test \
                             --message-file \"$PLANX_BRIEF\"";

/// A repository with the plan, committed; `ignore` is the `.gitignore` it has, if any.
fn repo_with(ignore: Option<&str>) -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "# hello\n");
    if let Some(ignore) = ignore {
        repo.write(".gitignore", ignore);
    }
    repo.write_plan(&agent_plan("aider"));
    repo.commit_all("Base");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    repo
}

/// `git planx run` with the recipe, Aider talking to `model`.
fn run_with_aider(repo: &Repo, model: &Model) -> Run {
    run_with_executor(repo, model, RECIPE)
}

/// `git planx run` with `executor`, Aider talking to `model`.
fn run_with_executor(repo: &Repo, model: &Model, executor: &str) -> Run {
    let aider = aider_bin();
    let mut cmd = repo.command_with_path(BIN, &repo.root, &[&aider]);
    cmd.args(["run", "--executor", executor])
        // The scripted model, as an OpenAI-compatible endpoint.
        .env("AIDER_MODEL", "openai/scripted")
        .env("AIDER_OPENAI_API_BASE", format!("{}/v1", model.base_url()))
        .env("AIDER_OPENAI_API_KEY", "scripted")
        .env("AIDER_EDIT_FORMAT", "whole")
        // Offline and quiet: no look for a new version, no analytics, no release notes, no
        // warning about a model it does not know.
        .env("AIDER_CHECK_UPDATE", "false")
        .env("AIDER_SHOW_RELEASE_NOTES", "false")
        .env("AIDER_ANALYTICS", "false")
        .env("AIDER_SHOW_MODEL_WARNINGS", "false")
        // Aider sums up a long chat in a request of its own, in the background, which would
        // take a turn of the script at a moment nobody can tell; the chat here is never that
        // long.
        .env("AIDER_MAX_CHAT_HISTORY_TOKENS", "100000");
    repo.run(&mut cmd)
}

/// The script of a model that does each phase's work at once.
fn model_that_writes_hello() -> Model {
    Model::serve_chat(vec![
        // p's edit, in Aider's whole-file format: the path, then the file in a fence.
        Turn::Say("I will write the file.\n\nhello.txt\n```\nhello\n```\n".into()),
        // Aider's message for the commit of its edit.
        Turn::Say("Add hello.txt".into()),
        // q's edit, and its commit.
        Turn::Say("q.txt\n```\nq\n```\n".into()),
        Turn::Say("Add q.txt".into()),
    ])
}

#[test]
fn aider_writes_the_declared_file_in_its_edit_format_and_the_phase_merges() {
    // Aider keeps its chat history and its repository map's cache at the top of the work
    // tree; the recipe asks for them to be ignored once, as Aider itself suggests.
    let repo = repo_with(Some(".aider*\n"));
    let model = model_that_writes_hello();
    let run = run_with_aider(&repo, &model);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(repo.state_of("p"), "complete");
    assert_eq!(repo.state_of("q"), "complete");
    assert_eq!(repo.read("hello.txt"), "hello\n");
    // Aider committed its edit itself, with the message the model gave it.
    assert!(repo.git(&["log", "--format=%s"]).contains("Add hello.txt"));
    // Aider was given the phase's brief as its message.
    let requests = model.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert!(
        requests[0]["messages"].to_string().contains("hello.txt"),
        "the brief did not reach the model"
    );
}

#[test]
fn aider_adding_its_files_to_gitignore_in_a_phase_fails_it_with_the_finding() {
    // Without `.aider*` ignored, Aider adds it to `.gitignore` in the phase: an undeclared
    // change, which verify names, and the phase is not merged.
    let repo = repo_with(None);
    let model = model_that_writes_hello();
    let run = run_with_aider(&repo, &model);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(repo.state_of("p"), "failed");
    // q depends on p: it waits, skipped by this run.
    assert_eq!(repo.state_of("q"), "waiting");
    assert!(run.stdout.contains("skipped"), "{run}");
    assert!(
        run.stderr
            .contains(".gitignore was added but the manifest does not declare it"),
        "{run}"
    );
    assert!(!repo.root.join("hello.txt").exists());
}

#[test]
fn aider_told_by_verify_as_its_test_command_fixes_its_edit_and_the_phase_merges() {
    let repo = repo_with(Some(".aider*\n"));
    let model = Model::serve_chat(vec![
        // A first edit that does not say hello, and its commit.
        Turn::Say("hello.txt\n```\ngoodbye\n```\n".into()),
        Turn::Say("Add hello.txt".into()),
        // Told verify's findings, the fix, and its commit.
        Turn::Say("hello.txt\n```\nhello\n```\n".into()),
        Turn::Say("Say hello in hello.txt".into()),
        // q, right away.
        Turn::Say("q.txt\n```\nq\n```\n".into()),
        Turn::Say("Add q.txt".into()),
    ]);
    let run = run_with_executor(&repo, &model, RECIPE_VERIFY);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(repo.state_of("p"), "complete");
    assert_eq!(repo.state_of("q"), "complete");
    assert_eq!(repo.read("hello.txt"), "hello\n");
    let requests = model.requests();
    assert_eq!(requests.len(), 6, "{requests:#?}");
    let told = requests[2]["messages"].to_string();
    assert!(
        told.contains("hello.txt says hello"),
        "the model was not told the finding: {told}"
    );
}
