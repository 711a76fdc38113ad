//! `git planx hook agent-stop`, the stop gate of coding agents: fed the JSON an agent's Stop
//! hook writes, it lets the agent stop off a phase branch and once the phase verifies, holds it
//! back with the findings while it does not, and lets it go at the loop guard's cap with a
//! `blocked` checkpoint.

use insta::assert_snapshot;

use crate::common::{BIN, Repo, Run, VERIFY_PLAN};

/// Runs `git planx hook agent-stop ARGS` in the repository with `input` on stdin.
pub fn stop_with(repo: &Repo, input: &str, args: &[&str]) -> Run {
    let mut cmd = repo.command(BIN, &repo.root);
    cmd.args(["hook", "agent-stop"]).args(args);
    repo.run_with_input(&mut cmd, input.as_bytes())
}

/// Claude Code's Stop hook input, as it writes it (the fields planx reads).
fn claude_input(repo: &Repo, continued: bool) -> String {
    serde_json::json!({
        "session_id": "s",
        "cwd": repo.root,
        "hook_event_name": "Stop",
        "stop_hook_active": continued,
        "last_assistant_message": "Done.",
    })
    .to_string()
}

fn stop(repo: &Repo, continued: bool) -> Run {
    stop_with(repo, &claude_input(repo, continued), &[])
}

#[test]
fn off_a_phase_branch_the_agent_stops_at_once() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["switch", "-q", "main"]);
    assert_snapshot!(stop(&repo, false), @"
    --- stderr ---
    [exit status: 0]
    ");
    // Outside any repository too.
    let folder = Repo::folder();
    assert_eq!(stop(&folder, false).code, 0);
}

#[test]
fn unfinished_work_holds_the_agent_back_with_what_to_do() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.write("stray.txt", "x\n");
    assert_snapshot!(stop(&repo, false), @r#"
    --- stderr ---
    planx: phase `p` does not verify yet, so you may not stop: 4 manifest errors, 0 of 2 checks verified.
    Fix each of these, then stop again:
    - nothing was created for `new.txt` [manifest: create `new.txt`]: create it, with real content, in the work tree
    - nothing changed in `existing.txt` [manifest: modify `existing.txt`]: make the change the phase asks of it
    - old.txt should be deleted but is still there [manifest: delete `old.txt`]: delete it (`git rm`)
    - stray.txt was added but the manifest does not declare it: undo the change (`git restore`, or remove the file): the manifest of the plan on base does not admit it, and you may not edit the plan
    - check `new.txt says hello` NOT VERIFIED: new.txt does not exist: make it hold
    - check `tests` NOT VERIFIED: `test` exit 1 in 0.0s, expected exit 0: make `test` pass
    The phase is judged by the plan committed on `main` (`git planx brief p` shows it); do not edit the plan. Run `git planx verify` to see the whole report. If something cannot be done, say why with `git planx checkpoint --blocked "REASON"` and stop.

    (planx held this stop back 1 of 5 times in a row; at 5 it lets you stop and records the phase as blocked.)
    [exit status: 2]
    "#);
}

#[test]
fn uncommitted_work_that_verifies_lets_the_agent_stop_and_is_not_judged_twice() {
    let plan = crate::common::verify_plan()
        .command("test", "test -f new.txt && echo ran >> ../ran")
        .toml();
    let repo = Repo::verifying(&plan);
    repo.write("new.txt", "hello\n");
    repo.write("existing.txt", "existing, changed\n");
    std::fs::remove_file(repo.path("old.txt")).unwrap();
    let first = stop(&repo, false);
    assert_eq!(first.code, 0, "{first}");
    assert_snapshot!(first, @"
    --- stderr ---
    planx: phase `p` verifies
    [exit status: 0]
    ");
    let ran = || std::fs::read_to_string(repo.root.join("../ran")).unwrap_or_default();
    assert_eq!(ran().lines().count(), 1);
    let again = stop(&repo, true);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(ran().lines().count(), 1, "the same work was checked again");
    assert!(again.stderr.contains("nothing ran"), "{again}");
    // Another change is judged anew.
    repo.write("scratch/notes.txt", "n\n");
    assert_eq!(stop(&repo, false).code, 0);
    assert_eq!(ran().lines().count(), 2);
}

#[test]
fn the_loop_guard_lets_the_agent_go_at_the_cap_and_records_the_phase_blocked() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["config", "planx.agentStopCap", "2"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(stop(&repo, false).code, 2);
    assert_eq!(stop(&repo, true).code, 2);
    let third = stop(&repo, true);
    assert_eq!(third.code, 0, "{third}");
    assert!(
        third
            .stderr
            .contains("after 2 blocks in a row the agent may stop"),
        "{third}"
    );
    assert_ne!(repo.git(&["rev-parse", "HEAD"]), head, "no checkpoint");
    assert_snapshot!(repo.trailers("HEAD"), @"
    Planx-Plan: v
    Planx-Phase: p
    Planx-Checkpoint: blocked
    Planx-Status: blocked
    ");
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        message.contains("nothing was created for `new.txt`"),
        "{message}"
    );
    assert!(repo.planx(&["status", "p"]).stdout.contains("blocked"));
    // A new stop after the person's next prompt starts counting again.
    assert_eq!(stop(&repo, false).code, 2);
}

#[test]
fn a_stop_after_a_new_prompt_counts_from_one() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.git(&["config", "planx.agentStopCap", "2"]);
    for _ in 0..4 {
        let run = stop(&repo, false);
        assert_eq!(run.code, 2, "{run}");
        assert!(run.stderr.contains("back 1 of 2 times"), "{run}");
    }
}

#[test]
fn what_keeps_the_gate_from_judging_holds_the_agent_back() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    assert_snapshot!(stop_with(&repo, "not json", &[]), @"
    --- stderr ---
    planx: the stop gate could not judge this phase, so it holds the stop back: the stop hook's input is not JSON: expected ident at line 1 column 2
    hint: `git planx hook agent-stop` is run by the agent's Stop hook, which writes a JSON document on its stdin (`git planx setup claude` installs it)
    [exit status: 2]
    ");
    repo.git(&["config", "planx.agentStopCap", "many"]);
    assert_snapshot!(stop(&repo, false), @"
    --- stderr ---
    planx: the stop gate could not judge this phase, so it holds the stop back: `planx.agentStopCap` is `many`, not a number of blocks
    hint: set it to a whole number of at least 1 (`git config planx.agentStopCap 5`), or unset it for the default

    (planx held this stop back 1 of 5 times in a row; at 5 it lets you stop and records the phase as blocked.)
    [exit status: 2]
    ");
    repo.git(&["config", "--unset", "planx.agentStopCap"]);
    repo.planx(&["untrust", "-q"]);
    let run = stop(&repo, false);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("not trusted"), "{run}");
}

#[test]
fn codex_and_cursor_hear_the_answer_in_their_own_protocol() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let codex = stop_with(&repo, &claude_input(&repo, false), &["--agent", "codex"]);
    assert_eq!(codex.code, 0, "{codex}");
    let doc = codex.json();
    assert_eq!(doc["decision"], "block");
    assert!(doc["reason"].as_str().unwrap().contains("new.txt"), "{doc}");
    let input = serde_json::json!({
        "hook_event_name": "stop", "status": "completed", "loop_count": 0,
        "workspace_roots": [repo.root],
    })
    .to_string();
    let cursor = stop_with(&repo, &input, &["--agent", "cursor"]);
    assert_eq!(cursor.code, 0, "{cursor}");
    assert!(
        cursor.json()["followup_message"]
            .as_str()
            .unwrap()
            .contains("new.txt")
    );
    repo.git(&["switch", "-q", "main"]);
    let allowed = stop_with(&repo, &input, &["--agent", "cursor"]);
    assert_eq!(allowed.stdout, "{}\n");
}

/// A `.claude/settings.json` as a user may have it: their own hooks (a Stop hook among them),
/// four spaces, keys in their order, no newline at the end, a character beyond ASCII.
const USER_SETTINGS: &str = "{\n    \"permissions\": {\n        \"allow\": [\"Bash(npm test)\"]\n    },\n    \"hooks\": {\n        \"PostToolUse\": [\n            {\n                \"matcher\": \"Write\",\n                \"hooks\": [{\"type\": \"command\", \"command\": \"prettier --write\"}]\n            }\n        ],\n        \"Stop\": [\n            {\n                \"hooks\": [{\"type\": \"command\", \"command\": \"say 'fertig — done'\"}]\n            }\n        ]\n    },\n    \"model\": \"opus\"\n}";

const USER_AGENTS_MD: &str = "# Agents\n\nUse tabs.\n";

#[test]
fn setup_claude_merges_into_the_users_files_and_remove_gives_back_their_bytes() {
    let repo = Repo::with_commit();
    repo.write(".claude/settings.json", USER_SETTINGS);
    repo.write("AGENTS.md", USER_AGENTS_MD);
    assert_snapshot!(repo.planx(&["setup", "claude"]), @"
    Claude Code set up to work the planx way
      .claude/settings.json  updated
      AGENTS.md              updated
    note: the Stop and SubagentStop hooks run `git planx hook agent-stop`: on a phase branch the agent cannot end its turn while verify fails
    commit these files to share them; `git planx setup claude --remove` takes planx's parts out again
    --- stderr ---
    [exit status: 0]
    ");
    let settings = repo.read(".claude/settings.json");
    assert_snapshot!(settings, @r#"
    {
        "permissions": {
            "allow": [
                "Bash(npm test)"
            ]
        },
        "hooks": {
            "PostToolUse": [
                {
                    "matcher": "Write",
                    "hooks": [
                        {
                            "type": "command",
                            "command": "prettier --write"
                        }
                    ]
                }
            ],
            "Stop": [
                {
                    "hooks": [
                        {
                            "type": "command",
                            "command": "say 'fertig — done'"
                        }
                    ]
                },
                {
                    "hooks": [
                        {
                            "type": "command",
                            "command": "git planx hook agent-stop"
                        }
                    ]
                }
            ],
            "SubagentStop": [
                {
                    "hooks": [
                        {
                            "type": "command",
                            "command": "git planx hook agent-stop"
                        }
                    ]
                }
            ],
            "SessionStart": [
                {
                    "hooks": [
                        {
                            "type": "command",
                            "command": "git planx hook agent-start"
                        }
                    ]
                }
            ]
        },
        "model": "opus"
    }
    "#);
    let after_first = (settings.clone(), repo.read("AGENTS.md"));
    assert!(
        after_first.1.starts_with(USER_AGENTS_MD),
        "{}",
        after_first.1
    );
    // A second run changes nothing.
    let again = repo.planx(&["setup", "claude"]);
    assert!(again.stdout.matches("unchanged").count() == 2, "{again}");
    assert_eq!(
        (repo.read(".claude/settings.json"), repo.read("AGENTS.md")),
        after_first
    );
    assert_snapshot!(repo.planx(&["setup", "claude", "--remove"]), @"
    Claude Code taken out of this repository
      .claude/settings.json  restored as it was
      AGENTS.md              restored as it was
    --- stderr ---
    [exit status: 0]
    ");
    assert_eq!(repo.read(".claude/settings.json"), USER_SETTINGS);
    assert_eq!(repo.read("AGENTS.md"), USER_AGENTS_MD);
    // Removing again changes nothing either.
    assert_eq!(repo.planx(&["setup", "claude", "--remove", "-q"]).code, 0);
    assert_eq!(repo.read(".claude/settings.json"), USER_SETTINGS);
}

#[test]
fn setup_where_there_was_nothing_and_remove_leaves_nothing() {
    let repo = Repo::with_commit();
    assert_eq!(repo.planx(&["setup", "claude", "-q"]).code, 0);
    assert_snapshot!(repo.read(".claude/settings.json"), @r#"
    {
      "hooks": {
        "Stop": [
          {
            "hooks": [
              {
                "type": "command",
                "command": "git planx hook agent-stop"
              }
            ]
          }
        ],
        "SubagentStop": [
          {
            "hooks": [
              {
                "type": "command",
                "command": "git planx hook agent-stop"
              }
            ]
          }
        ],
        "SessionStart": [
          {
            "hooks": [
              {
                "type": "command",
                "command": "git planx hook agent-start"
              }
            ]
          }
        ]
      }
    }
    "#);
    assert!(repo.read("AGENTS.md").contains("git planx brief"));
    let removed = repo.planx(&["setup", "claude", "--remove"]);
    assert!(removed.stdout.contains("deleted"), "{removed}");
    assert!(!repo.path(".claude").exists());
    assert!(!repo.path("AGENTS.md").exists());
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_user_edit_after_setup_is_kept_when_planx_takes_its_parts_out() {
    let repo = Repo::with_commit();
    repo.write(".claude/settings.json", "{\"model\": \"opus\"}");
    assert_eq!(repo.planx(&["setup", "claude", "-q"]).code, 0);
    let text = repo.read(".claude/settings.json").replace("opus", "sonnet");
    repo.write(".claude/settings.json", text);
    let mut agents = repo.read("AGENTS.md");
    agents.insert_str(0, "Mine first.\n\n");
    repo.write("AGENTS.md", &agents);
    assert_eq!(repo.planx(&["setup", "claude", "--remove", "-q"]).code, 0);
    assert_eq!(
        repo.read(".claude/settings.json"),
        "{\n  \"model\": \"sonnet\"\n}"
    );
    assert_eq!(repo.read("AGENTS.md"), "Mine first.\n");
}

#[test]
fn the_agents_md_section_stays_while_another_agent_is_set_up() {
    let repo = Repo::with_commit();
    repo.write("AGENTS.md", USER_AGENTS_MD);
    assert_eq!(repo.planx(&["setup", "claude", "-q"]).code, 0);
    assert_eq!(repo.planx(&["setup", "codex", "-q"]).code, 0);
    assert_snapshot!(repo.read(".codex/hooks.json"), @r#"
    {
      "hooks": {
        "Stop": [
          {
            "hooks": [
              {
                "type": "command",
                "command": "git planx hook agent-stop --agent codex"
              }
            ]
          }
        ],
        "SubagentStop": [
          {
            "hooks": [
              {
                "type": "command",
                "command": "git planx hook agent-stop --agent codex"
              }
            ]
          }
        ]
      }
    }
    "#);
    assert_eq!(repo.planx(&["setup", "claude", "--remove", "-q"]).code, 0);
    assert!(repo.read("AGENTS.md").contains("planx:begin"));
    assert!(!repo.path(".claude").exists());
    assert_eq!(repo.planx(&["setup", "codex", "--remove", "-q"]).code, 0);
    assert_eq!(repo.read("AGENTS.md"), USER_AGENTS_MD);
    assert!(!repo.path(".codex").exists());
}

#[test]
fn setup_cursor_writes_its_versioned_hooks_file() {
    let repo = Repo::with_commit();
    let run = repo.planx(&["setup", "cursor", "--json"]);
    assert_eq!(run.json()["schema"], "planx.setup/1");
    assert_snapshot!(repo.read(".cursor/hooks.json"), @r#"
    {
      "version": 1,
      "hooks": {
        "stop": [
          {
            "command": "git planx hook agent-stop --agent cursor"
          }
        ]
      }
    }
    "#);
}

#[test]
fn a_settings_file_that_is_not_json_is_left_alone() {
    let repo = Repo::with_commit();
    repo.write(".claude/settings.json", "{ \"hooks\": [,] }");
    assert_snapshot!(repo.planx(&["setup", "claude"]), @"
    --- stderr ---
    error: .claude/settings.json is not the JSON document Claude Code reads: expected value at line 1 column 13
    hint: fix the file (or move it away) and run setup again: planx merges its hooks into a JSON object and changes nothing else
    [exit status: 2]
    ");
    assert_eq!(repo.read(".claude/settings.json"), "{ \"hooks\": [,] }");
    assert!(!repo.path("AGENTS.md").exists());
}

#[test]
fn a_session_on_a_phase_branch_starts_with_the_brief() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let input = serde_json::json!({"hook_event_name": "SessionStart", "source": "startup", "cwd": repo.root}).to_string();
    let start = |repo: &Repo, input: &str| {
        let mut cmd = repo.command(BIN, &repo.root);
        cmd.args(["hook", "agent-start"]);
        repo.run_with_input(&mut cmd, input.as_bytes())
    };
    let run = start(&repo, &input);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .starts_with("planx: this session works on phase `p` of plan `v`."),
        "{run}"
    );
    assert!(run.stdout.contains("new.txt"), "{run}");
    // Never in the way of a session: off a phase branch nothing, a bad input a line on stderr.
    let bad = start(&repo, "nonsense");
    assert_eq!((bad.code, bad.stdout.as_str()), (0, ""), "{bad}");
    assert!(
        bad.stderr.starts_with("planx: no brief for this session"),
        "{bad}"
    );
    repo.git(&["switch", "-q", "main"]);
    let off = start(&repo, &input);
    assert_eq!(
        (off.code, off.stdout.as_str(), off.stderr.as_str()),
        (0, "", "")
    );
}
