//! `git planx mcp` driven by a real MCP client: the Python `mcp` package, installed under the
//! target folder the first time. The client initializes, lists the tools and calls them; the
//! answers are the commands' `--json` documents.

use serde_json::{Value, json};

use crate::common::tools::mcp_python;
use crate::common::{Repo, VERIFY_PLAN};

/// Runs the client against `git planx mcp` in `repo`: its output, one JSON value a line.
fn session(repo: &Repo, calls: Value, server_args: &[&str]) -> Vec<Value> {
    let python = mcp_python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client.py");
    let mut cmd = repo.command(&python, &repo.root);
    cmd.arg(script)
        .arg(&repo.root)
        .arg(calls.to_string())
        .args(server_args);
    let run = repo.run(&mut cmd);
    assert_eq!(run.code, 0, "the MCP client failed:\n{run}");
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}\n{run}")))
        .collect()
}

#[test]
fn a_real_client_lists_six_tools_verifies_a_failing_phase_checkpoints_and_verifies_it_passing() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let out = session(
        &repo,
        json!([["verify", {}], ["status", {"phase": "p"}], ["next", {}]]),
        &[],
    );
    assert_eq!(out[0]["server"], "git-planx");
    assert_eq!(
        out[1]["tools"],
        json!(["status", "next", "brief", "checkpoint", "verify", "log"])
    );
    let failing = &out[2];
    assert_eq!(failing["isError"], false, "{failing}");
    let doc = &failing["structured"];
    assert_eq!(doc["schema"], "planx.verify/1");
    assert_eq!(doc["phase"], "p");
    assert_eq!(doc["passed"], false);
    let findings: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        findings.iter().any(|m| m.contains("new.txt")),
        "{findings:?}"
    );
    // The text block is the same document, for clients that read text only.
    let text: Value = serde_json::from_str(failing["text"][0].as_str().unwrap()).unwrap();
    assert_eq!(&text, doc);
    assert_eq!(out[3]["structured"]["schema"], "planx.status/1");
    assert_eq!(out[3]["structured"]["phases"][0]["state"], "in-progress");
    assert_eq!(out[4]["structured"]["schema"], "planx.next/1");

    // The same document as the command line's.
    let cli = repo.planx(&["verify", "--json"]).json();
    assert_eq!(cli["findings"], doc["findings"]);

    // The work, staged, and recorded through the tool, with planx's hooks in the commit: the
    // protocol's stdout carries nothing of theirs.
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    repo.write("new.txt", "hello\n");
    repo.write("existing.txt", "existing, changed\n");
    std::fs::remove_file(repo.path("old.txt")).unwrap();
    repo.git(&["add", "-A"]);
    let out = session(
        &repo,
        json!([
            ["checkpoint", {"message": "The work of p"}],
            ["verify", {"phase": "p"}],
            ["log", {"phase": "p"}]
        ]),
        &[],
    );
    let checkpoint = &out[2]["structured"];
    assert_eq!(checkpoint["schema"], "planx.checkpoint/1", "{checkpoint}");
    assert_eq!(
        checkpoint["commit"],
        repo.git(&["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]).trim(),
        "The work of p"
    );
    let passing = &out[3]["structured"];
    assert_eq!(passing["passed"], true, "{passing}");
    assert_eq!(passing["findings"], json!([]));
    assert_eq!(passing["head"], repo.git(&["rev-parse", "HEAD"]).trim());
    let log = &out[4]["structured"];
    assert_eq!(log["schema"], "planx.log/1");
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["summary"] == "The work of p"),
        "{log}"
    );
    // The verification the tool ran is recorded: `finish` accepts it.
    let run = repo.planx(&["finish", "p", "-q"]);
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn errors_carry_the_cli_kinds_and_hints_and_the_gates_have_no_tool() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let out = session(
        &repo,
        json!([
            ["brief", {"phase": "nope"}],
            ["verify", {"phase": "p", "force": true}],
            ["checkpoint", {"red": true, "green": true}],
            ["finish", {"phase": "p"}],
            ["accept", {"phase": "p"}],
            ["brief", {"phase": "p", "format": "md"}],
            ["brief", {"phase": "p"}],
        ]),
        &[],
    );
    let error = |i: usize| {
        let call = &out[i];
        assert_eq!(call["isError"], true, "{call}");
        let doc = &call["structured"];
        assert_eq!(doc["schema"], "planx.error/1", "{doc}");
        doc.clone()
    };
    let unknown = error(2);
    let cli = repo.planx(&["brief", "nope", "--json"]).json();
    assert_eq!(
        unknown, cli,
        "the CLI's error document, kind, exit code and hints"
    );
    assert_eq!(unknown["kind"], "usage");
    assert_eq!(unknown["exit_code"], 2);
    let extra = error(3);
    assert_eq!(
        extra["message"],
        "the tool `verify` takes no argument `force`"
    );
    assert_eq!(extra["hints"], json!(["it takes `phase`, `no_run`"]));
    let conflict = error(4);
    assert_eq!(conflict["kind"], "usage");
    assert!(
        conflict["message"].as_str().unwrap().contains("--green"),
        "{conflict}"
    );
    for i in [5, 6] {
        let none = error(i);
        assert_eq!(
            none["hints"],
            json!(["the tools are status, next, brief, checkpoint, verify, log"])
        );
    }
    let md = &out[7];
    assert_eq!(md["isError"], false);
    assert!(
        md["text"][0]
            .as_str()
            .unwrap()
            .starts_with("# Phase execution plan: `p` — The phase"),
        "{md}"
    );
    assert_eq!(out[8]["structured"]["schema"], "planx.brief/1");
    // Nothing was merged, accepted or recorded by the refused calls.
    assert_eq!(
        repo.planx(&["status", "p", "--json"]).json()["phases"][0]["state"],
        "in-progress"
    );
}

#[test]
fn trust_rules_apply_to_the_tools_unchanged() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    assert_eq!(repo.planx(&["untrust", "-q"]).code, 0);
    let out = session(&repo, json!([["verify", {"phase": "p"}]]), &[]);
    let doc = &out[2]["structured"];
    assert_eq!(out[2]["isError"], true, "{doc}");
    let cli = repo.planx(&["verify", "p", "--json"]).json();
    assert_eq!(doc["kind"], cli["kind"]);
    assert_eq!(doc["exit_code"], cli["exit_code"]);
    assert_eq!(doc["hints"], cli["hints"]);
    // The server cannot be started trusting everything for every call.
    let run = repo.planx(&["mcp", "--trust-once"]);
    insta::assert_snapshot!(run, @r"
    --- stderr ---
    error: `--trust-once` cannot start the MCP server: the server would apply it to every call
    hint: review the plan's commands and run `git planx trust`, then start the server again
    [exit status: 2]
    ");
}
