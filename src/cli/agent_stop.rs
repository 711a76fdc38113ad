//! `git planx hook agent-stop`: the stop gate an agent's Stop hook calls. It reads the hook's
//! JSON on stdin and answers in the agent's own protocol:
//!
//! | agent | let it stop | hold it back |
//! | --- | --- | --- |
//! | Claude Code (default) | exit 0 | exit 2, the reason on stderr (the agent's next user message) |
//! | Codex (`--agent codex`) | exit 0 | `{"decision":"block","reason":…}` on stdout, exit 0 |
//! | Cursor (`--agent cursor`) | `{}` on stdout | `{"followup_message":…}` on stdout, exit 0 |
//!
//! It never fails open by accident: anything that keeps it from judging (a broken plan, an
//! untrusted command set, a git error, input that is not the hook's JSON) holds the agent back
//! with the message; the loop guard still counts it, so the agent is let go at the cap.

use std::io::Read;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::GlobalArgs;
use super::context::{Context, Need, trust_policy};
use super::ui::Ui;
use crate::agents::stop::{self, Guard, Verdict};
use crate::error::CliError;
use crate::lifecycle::{self, CheckpointOptions};
use crate::plan::EntryKind;
use crate::verify::manifest::Level;
use crate::verify::{Report, VerifyOptions};

/// The agents whose stop protocol the gate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Claude,
    Codex,
    Cursor,
}

impl Protocol {
    fn parse(args: &[String]) -> Result<Protocol, CliError> {
        let mut agent = None;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let value = match arg.strip_prefix("--agent=") {
                Some(v) => v.to_owned(),
                None if arg == "--agent" => it.next().cloned().unwrap_or_default(),
                None => {
                    return Err(CliError::usage(format!(
                        "`hook agent-stop` takes no argument `{arg}`"
                    ))
                    .hint("it reads the hook's JSON on stdin; --agent claude|codex|cursor names the protocol"));
                }
            };
            agent = Some(value);
        }
        match agent.as_deref() {
            None | Some("claude") => Ok(Protocol::Claude),
            Some("codex") => Ok(Protocol::Codex),
            Some("cursor") => Ok(Protocol::Cursor),
            Some(other) => Err(CliError::usage(format!(
                "`{other}` is not an agent the stop gate knows"
            ))
            .hint("--agent claude, codex or cursor")),
        }
    }
}

/// What the hook's input says.
struct Input {
    event: String,
    /// This stop follows a block (Claude Code, Codex); Cursor says `loop_count`.
    continued: bool,
    cwd: Option<PathBuf>,
}

fn parse_input(text: &str) -> Result<Input, CliError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        CliError::usage(format!("the stop hook's input is not JSON: {e}"))
            .hint("`git planx hook agent-stop` is run by the agent's Stop hook, which writes a JSON document on its stdin (`git planx setup claude` installs it)")
    })?;
    let Some(object) = value.as_object() else {
        return Err(CliError::usage(
            "the stop hook's input is not a JSON object",
        ));
    };
    let event = object
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or("Stop")
        .to_owned();
    let continued = object
        .get("stop_hook_active")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || object
            .get("loop_count")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0);
    let cwd = object
        .get("cwd")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .or_else(|| {
            object
                .get("workspace_roots")
                .and_then(Value::as_array)
                .and_then(|roots| roots.first())
                .and_then(Value::as_str)
                .map(PathBuf::from)
        });
    Ok(Input {
        event,
        continued,
        cwd,
    })
}

/// The gate's answer.
enum Answer {
    /// The agent may stop; a line for the person, if any.
    Allow(Option<String>),
    /// The agent must go on, for this reason.
    Block(String),
}

pub fn cmd_agent_stop(ui: &Ui, global: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    let protocol = Protocol::parse(args)?;
    let answer = if crate::hooks::decide::disabled() {
        Answer::Allow(None)
    } else {
        let mut text = String::new();
        match std::io::stdin().read_to_string(&mut text) {
            // A panic would end the process with 101, which Claude Code takes for "go ahead":
            // a bug in the gate holds the agent back like any other failure to judge.
            Ok(_) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gate(global, &text)))
                .unwrap_or_else(|_| {
                    Err(CliError::internal(
                        "the stop gate panicked (its message is above)",
                    ))
                })
                .unwrap_or_else(|e| Answer::Block(could_not_judge(&e))),
            Err(e) => Answer::Block(could_not_judge(&CliError::from(e))),
        }
    };
    speak(ui, protocol, answer)
}

/// Says the answer in the agent's protocol.
fn speak(ui: &Ui, protocol: Protocol, answer: Answer) -> Result<(), CliError> {
    match (protocol, answer) {
        (Protocol::Claude | Protocol::Codex, Answer::Allow(note)) => {
            if let Some(note) = note {
                ui.err(&format!("planx: {note}\n"));
            }
            Ok(())
        }
        (Protocol::Cursor, Answer::Allow(_)) => ui.out("{}\n"),
        (Protocol::Claude, Answer::Block(reason)) => {
            ui.err(&reason);
            Err(crate::error::agent_block())
        }
        (Protocol::Codex, Answer::Block(reason)) => ui.out(&format!(
            "{}\n",
            json!({"decision": "block", "reason": reason})
        )),
        (Protocol::Cursor, Answer::Block(reason)) => {
            ui.out(&format!("{}\n", json!({ "followup_message": reason })))
        }
    }
}

/// Judges the stop: off a phase branch at once, else by verify, with the loop guard.
fn gate(global: &GlobalArgs, text: &str) -> Result<Answer, CliError> {
    let input = parse_input(text)?;
    if let Some(cwd) = &input.cwd {
        std::env::set_current_dir(cwd).map_err(|e| {
            CliError::repo_state(format!("cannot go to the agent's folder {}", cwd.display()))
                .hint(e.to_string())
        })?;
    }
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // Off a phase branch (or outside a repository with a plan) there is nothing to judge.
    if crate::hooks::decide::phase_by_git(&here).is_none() {
        return Ok(Answer::Allow(None));
    }
    let ctx = Context::open(global, Need::Base)?;
    let phase = super::verify::phase_arg(&ctx, None)?;
    let subject = ctx.subject();
    let guard = Guard::new(&ctx.repo, &ctx.plan.id, &phase, &input.event);
    let cap = stop::cap(&ctx.repo)?;
    let before = if input.continued { guard.blocks() } else { 0 };
    let opts = VerifyOptions {
        no_run: false,
        trust: trust_policy(global.trust_once),
    };
    let verdict = match &cap {
        Ok(_) => stop::judge(subject, &phase, &opts).map_err(CliError::from),
        Err(value) => Err(CliError::usage(format!(
            "`{}` is `{value}`, not a number of blocks",
            stop::CAP_KEY
        ))
        .hint(format!(
            "set it to a whole number of at least 1 (`git config {} {}`), or unset it for the default",
            stop::CAP_KEY,
            stop::DEFAULT_CAP
        ))),
    };
    let reason = match verdict {
        Ok(Verdict::Passed { reused, manual }) => {
            guard.clear();
            let mut note = format!(
                "phase `{phase}` verifies{}",
                if reused {
                    " (the same work under the same plan passed before; nothing ran)"
                } else {
                    ""
                }
            );
            if !manual.is_empty() {
                note.push_str(&format!(
                    "; manual checks wait for a person: {}",
                    manual.join(", ")
                ));
            }
            return Ok(Answer::Allow(Some(note)));
        }
        Ok(Verdict::Failing(report)) => Findings::Report(report),
        Err(error) => Findings::Error(error),
    };
    let cap = cap.unwrap_or(stop::DEFAULT_CAP);
    if before >= cap {
        guard.clear();
        let why = match &reason {
            Findings::Report(report) => problems(report).join("\n"),
            Findings::Error(error) => could_not_judge(error),
        };
        let opts = CheckpointOptions {
            blocked: Some(format!(
                "the agent stopped after {before} blocks of the planx stop gate; the work does not verify\n{why}"
            )),
            trust: trust_policy(global.trust_once),
            no_verify: true,
            extra: vec![
                ("by".into(), Value::String("agent-stop".into())),
                ("blocks".into(), Value::from(before)),
            ],
            ..CheckpointOptions::default()
        };
        // At the cap the agent stops either way (its own limit is near): a checkpoint that
        // cannot be made is said, not a reason to hold it back for ever.
        let note = match lifecycle::checkpoint(subject, &opts) {
            Ok(done) => format!(
                "phase `{phase}` does not verify; after {before} blocks in a row the agent may stop, and the phase is recorded blocked ({})",
                &done.commit.to_string()[..10]
            ),
            Err(error) => format!(
                "phase `{phase}` does not verify; after {before} blocks in a row the agent may stop, but the blocked checkpoint could not be recorded: {}",
                CliError::from(error).message
            ),
        };
        return Ok(Answer::Allow(Some(note)));
    }
    guard.set(before + 1)?;
    let mut text = match &reason {
        Findings::Report(report) => block_reason(report),
        Findings::Error(error) => could_not_judge(error),
    };
    text.push_str(&format!(
        "\n(planx held this stop back {} of {cap} times in a row; at {cap} it lets you stop and records the phase as blocked.)\n",
        before + 1
    ));
    Ok(Answer::Block(text))
}

enum Findings {
    Report(Box<Report>),
    Error(CliError),
}

/// The lines of what holds the agent back, each with its manifest entry or check and what to
/// do about it.
fn problems(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for f in report.findings.iter().filter(|f| f.level == Level::Error) {
        let entry = f
            .entry
            .as_ref()
            .map(|(kind, pattern)| format!(" [manifest: {} `{pattern}`]", kind.as_str()))
            .unwrap_or_default();
        let todo = match (f.code, &f.entry) {
            ("create-missing" | "create-empty", _) => {
                "create it, with real content, in the work tree".to_owned()
            }
            ("create-existed", _) => {
                "this entry asks for a new file: create the file the phase is meant to add"
                    .to_owned()
            }
            ("modify-unchanged", _) => "make the change the phase asks of it".to_owned(),
            ("delete-present", _) => "delete it (`git rm`)".to_owned(),
            ("undeclared-change", _) => {
                "undo the change (`git restore`, or remove the file): the manifest of the plan on base does not admit it, and you may not edit the plan".to_owned()
            }
            ("plan-edit-undeclared", _) => {
                "undo the edit of the plan (`git restore --source=HEAD -- <plan>` or from base): the phase is judged by the plan on base".to_owned()
            }
            ("after-verify-early", Some((EntryKind::AfterVerify, _))) => {
                "this file may be committed only after a passing verify".to_owned()
            }
            _ => "fix it".to_owned(),
        };
        lines.push(format!("- {}{entry}: {todo}", f.message));
    }
    for c in report
        .checks
        .iter()
        .filter(|c| !c.verified && c.kind != "manual")
    {
        let todo = match (&c.run, c.tdd) {
            (Some(run), _) => format!("make `{}` pass", run.command),
            (None, true) => {
                "record a failing run first (`git planx checkpoint --red`), then make it pass"
                    .to_owned()
            }
            (None, false) => "make it hold".to_owned(),
        };
        lines.push(format!(
            "- check `{}` NOT VERIFIED: {}: {todo}",
            c.name, c.evidence
        ));
        if let Some(run) = &c.run {
            for line in crate::process::last_lines(&run.tail, 6).lines() {
                lines.push(format!("    | {line}"));
            }
        }
    }
    lines
}

/// The reason an agent reads when it is held back.
fn block_reason(report: &Report) -> String {
    let mut out = format!(
        "planx: phase `{}` does not verify yet, so you may not stop: {}.\nFix each of these, then stop again:\n",
        report.phase,
        crate::error::verify_summary(report)
    );
    for line in problems(report) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!(
        "The phase is judged by the plan committed on `{}` (`git planx brief {}` shows it); do not edit the plan. Run `git planx verify` to see the whole report. If something cannot be done, say why with `git planx checkpoint --blocked \"REASON\"` and stop.\n",
        report.base, report.phase
    ));
    out
}

/// The reason an agent reads when the gate could not judge: it holds back all the same.
fn could_not_judge(error: &CliError) -> String {
    let mut out = format!(
        "planx: the stop gate could not judge this phase, so it holds the stop back: {}\n",
        error.message
    );
    for line in error.causes.iter().chain(&error.details) {
        out.push_str(&format!("  {line}\n"));
    }
    for hint in &error.hints {
        out.push_str(&format!("hint: {hint}\n"));
    }
    out
}

/// `git planx hook agent-start`: a SessionStart hook. On a phase branch it prints the phase's
/// brief, which the agent reads as context for the session; elsewhere nothing. It never stops
/// a session from starting: what keeps it from writing the brief is a line on stderr.
pub fn cmd_agent_start(ui: &Ui, global: &GlobalArgs) -> Result<(), CliError> {
    if crate::hooks::decide::disabled() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = std::io::stdin().read_to_string(&mut text);
    match session_brief(global, &text) {
        Ok(Some(brief)) => ui.out(&brief),
        Ok(None) => Ok(()),
        Err(error) => {
            ui.err(&format!(
                "planx: no brief for this session: {}\n",
                error.message
            ));
            Ok(())
        }
    }
}

fn session_brief(global: &GlobalArgs, text: &str) -> Result<Option<String>, CliError> {
    let input = parse_input(text)?;
    if let Some(cwd) = &input.cwd {
        std::env::set_current_dir(cwd)?;
    }
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if crate::hooks::decide::phase_by_git(&here).is_none() {
        return Ok(None);
    }
    let ctx = Context::open(global, Need::Base)?;
    let phase = super::verify::phase_arg(&ctx, None)?;
    let brief = super::brief::markdown(ctx.subject(), &phase)?;
    Ok(Some(format!(
        "planx: this session works on phase `{phase}` of plan `{}`. Its brief follows; `git planx verify` must pass before you stop.\n\n{brief}",
        ctx.plan.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_says_whether_a_stop_follows_a_block() {
        let claude =
            parse_input(r#"{"hook_event_name":"Stop","stop_hook_active":true,"cwd":"/r"}"#)
                .unwrap();
        assert!(claude.continued);
        assert_eq!(claude.event, "Stop");
        assert_eq!(claude.cwd.as_deref(), Some(std::path::Path::new("/r")));
        let cursor =
            parse_input(r#"{"hook_event_name":"stop","loop_count":0,"workspace_roots":["/w"]}"#)
                .unwrap();
        assert!(!cursor.continued);
        assert_eq!(cursor.cwd.as_deref(), Some(std::path::Path::new("/w")));
        assert!(parse_input("not json").is_err());
        assert!(parse_input("[1]").is_err());
    }

    #[test]
    fn the_protocol_is_named_by_agent() {
        let p = |a: &[&str]| Protocol::parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&[]).unwrap(), Protocol::Claude);
        assert_eq!(p(&["--agent", "codex"]).unwrap(), Protocol::Codex);
        assert_eq!(p(&["--agent=cursor"]).unwrap(), Protocol::Cursor);
        assert!(p(&["--agent", "vim"]).is_err());
        assert!(p(&["extra"]).is_err());
    }
}
