//! git-planx beside real hook managers: the pre-commit framework and lefthook, through their
//! configuration and with planx chained behind them; uninstalling either side leaves the other.

use std::fs;
use std::path::Path;

use crate::common::tools::{lefthook_bin, pre_commit_bin};
use crate::common::{Repo, Run, VERIFY_PLAN};

/// Phase `p` of VERIFY_PLAN started, with `config` (a hook manager's file) committed on main
/// first, declared nowhere: it belongs to base.
fn repo_with(config_name: &str, config: &str) -> Repo {
    let repo = Repo::new();
    repo.write("existing.txt", "existing\n");
    repo.write("old.txt", "old\n");
    repo.write(config_name, config);
    repo.write_plan(&VERIFY_PLAN);
    repo.commit_all("Base");
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    assert_eq!(repo.planx(&["start", "p", "-q"]).code, 0);
    repo
}

fn with_tool(repo: &Repo, bin: &Path, program: &str, args: &[&str]) -> Run {
    let mut cmd = repo.command_with_path(program, &repo.root, &[bin]);
    cmd.args(args);
    repo.run(&mut cmd)
}

fn commit(repo: &Repo, bin: &Path, message: &str) -> Run {
    with_tool(repo, bin, "git", &["commit", "-q", "-m", message])
}

/// The pieces of a phase commit: one path the manifest refuses, then one it declares.
fn refused_then_declared(repo: &Repo, bin: &Path) {
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt"]);
    let run = commit(repo, bin, "Stray");
    assert_ne!(run.code, 0, "the stray file went in: {run}");
    assert!(
        format!("{run}").contains("stray.txt (added) is outside the manifest of phase `p`"),
        "{run}"
    );
    repo.git(&["restore", "--staged", "stray.txt"]);
    fs::remove_file(repo.path("stray.txt")).unwrap();
    repo.write("new.txt", "hello\n");
    repo.git(&["add", "new.txt"]);
    let run = commit(repo, bin, "Add new.txt");
    assert_eq!(run.code, 0, "{run}");
}

/// A repository holding this project's `.pre-commit-hooks.yaml`, as pre-commit clones it.
fn hooks_repository() -> (Repo, String) {
    let hooks = Repo::new();
    let file = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .unwrap();
    hooks.write(".pre-commit-hooks.yaml", file);
    hooks.commit_all("Hooks");
    let rev = hooks.git(&["rev-parse", "HEAD"]).trim().to_owned();
    (hooks, rev)
}

#[test]
fn pre_commit_framework_runs_planx_through_its_configuration() {
    let bin = pre_commit_bin();
    let (hooks, rev) = hooks_repository();
    let config = format!(
        "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: planx-pre-commit\n  - id: planx-commit-msg\n",
        hooks.root.display()
    );
    let repo = repo_with(".pre-commit-config.yaml", &config);
    let run = with_tool(
        &repo,
        &bin,
        "pre-commit",
        &[
            "install",
            "--hook-type",
            "pre-commit",
            "--hook-type",
            "commit-msg",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    refused_then_declared(&repo, &bin);
    assert_eq!(repo.trailers("HEAD"), "Planx-Plan: v\nPlanx-Phase: p\n\n");
}

const LOCAL_PRE_COMMIT: &str = "repos:\n- repo: local\n  hooks:\n  - id: say-hello\n    name: say hello\n    entry: sh -c 'echo FRAMEWORK-HOOK-RAN'\n    language: system\n    pass_filenames: false\n    always_run: true\n    verbose: true\n";

#[test]
fn planx_chained_behind_the_pre_commit_framework_and_uninstalled_either_way() {
    let bin = pre_commit_bin();
    let repo = repo_with(".pre-commit-config.yaml", LOCAL_PRE_COMMIT);
    assert_eq!(with_tool(&repo, &bin, "pre-commit", &["install"]).code, 0);
    let theirs = fs::read(repo.path(".git/hooks/pre-commit")).unwrap();
    assert_eq!(
        with_tool(&repo, &bin, "git-planx", &["hooks", "install", "-q"]).code,
        0
    );
    let status = repo.planx(&["hooks", "status", "--json"]).json();
    assert_eq!(status["hooks"][0]["state"], "chained");
    refused_then_declared(&repo, &bin);
    let run = {
        repo.write("new.txt", "hello again\n");
        repo.git(&["add", "new.txt"]);
        commit(&repo, &bin, "Again")
    };
    assert!(
        run.stdout.contains("FRAMEWORK-HOOK-RAN") || run.stderr.contains("FRAMEWORK-HOOK-RAN"),
        "{run}"
    );
    // planx leaves: the framework's hook is back, byte for byte, and still works.
    assert_eq!(repo.planx(&["hooks", "uninstall", "-q"]).code, 0);
    assert_eq!(
        fs::read(repo.path(".git/hooks/pre-commit")).unwrap(),
        theirs
    );
    assert_eq!(with_tool(&repo, &bin, "pre-commit", &["uninstall"]).code, 0);
    assert!(!repo.path(".git/hooks/pre-commit").exists());
}

#[test]
fn the_pre_commit_framework_installed_after_planx_keeps_running_it() {
    let bin = pre_commit_bin();
    let repo = repo_with(".pre-commit-config.yaml", LOCAL_PRE_COMMIT);
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    let ours = fs::read(repo.path(".git/hooks/pre-commit")).unwrap();
    // The framework moves the existing hook aside and runs it first ("migration mode").
    assert_eq!(with_tool(&repo, &bin, "pre-commit", &["install"]).code, 0);
    refused_then_declared(&repo, &bin);
    // The framework leaves: planx's shim is back and still enforces.
    assert_eq!(with_tool(&repo, &bin, "pre-commit", &["uninstall"]).code, 0);
    assert_eq!(fs::read(repo.path(".git/hooks/pre-commit")).unwrap(), ours);
    repo.write("stray.txt", "x\n");
    repo.git(&["add", "stray.txt"]);
    assert_eq!(commit(&repo, &bin, "Stray").code, 1);
}

#[test]
fn lefthook_runs_planx_through_its_configuration() {
    let bin = lefthook_bin();
    let snippet =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/lefthook.yml")).unwrap();
    let repo = repo_with("lefthook.yml", &snippet);
    let run = with_tool(&repo, &bin, "lefthook", &["install"]);
    assert_eq!(run.code, 0, "{run}");
    refused_then_declared(&repo, &bin);
    assert_eq!(repo.trailers("HEAD"), "Planx-Plan: v\nPlanx-Phase: p\n\n");
}

#[test]
fn planx_chained_behind_lefthook_and_uninstalled_either_way() {
    let bin = lefthook_bin();
    let config = "pre-commit:\n  commands:\n    hello:\n      run: echo LEFTHOOK-RAN\n";
    let repo = repo_with("lefthook.yml", config);
    assert_eq!(with_tool(&repo, &bin, "lefthook", &["install"]).code, 0);
    let theirs = fs::read(repo.path(".git/hooks/pre-commit")).unwrap();
    assert_eq!(
        with_tool(&repo, &bin, "git-planx", &["hooks", "install", "-q"]).code,
        0
    );
    refused_then_declared(&repo, &bin);
    // lefthook's own command still runs, chained in front of planx.
    repo.write("new.txt", "hello again\n");
    repo.git(&["add", "new.txt"]);
    let run = commit(&repo, &bin, "Change new.txt");
    assert_eq!(run.code, 0, "{run}");
    assert!(format!("{run}").contains("LEFTHOOK-RAN"), "{run}");
    assert_eq!(repo.planx(&["hooks", "uninstall", "-q"]).code, 0);
    assert_eq!(
        fs::read(repo.path(".git/hooks/pre-commit")).unwrap(),
        theirs
    );
    assert_eq!(with_tool(&repo, &bin, "lefthook", &["uninstall"]).code, 0);
    let left: Vec<String> = fs::read_dir(repo.path(".git/hooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".sample"))
        .collect();
    assert!(left.iter().all(|n| !n.contains("planx")), "{left:?}");
}

#[test]
fn lefthook_installed_after_planx_displaces_it_and_status_says_so() {
    let bin = lefthook_bin();
    let config = "pre-commit:\n  commands:\n    hello:\n      run: echo LEFTHOOK-RAN\n";
    let repo = repo_with("lefthook.yml", config);
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    assert_eq!(with_tool(&repo, &bin, "lefthook", &["install"]).code, 0);
    let status = repo.planx(&["hooks", "status"]);
    assert!(
        status
            .stdout
            .contains("moved planx's shim to pre-commit.old"),
        "{status}"
    );
    // lefthook leaves: it puts planx's shim back.
    assert_eq!(with_tool(&repo, &bin, "lefthook", &["uninstall"]).code, 0);
    assert_eq!(
        repo.planx(&["hooks", "status", "--json"]).json()["hooks"][0]["state"],
        "planx"
    );
}
