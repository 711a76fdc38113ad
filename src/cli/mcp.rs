//! `git planx mcp`: the Model Context Protocol server on stdio, for agents that prefer tools to
//! shell commands.
//!
//! Six tools, no more: `status`, `next`, `brief`, `checkpoint`, `verify`, `log` (an agent's
//! context is small, and every tool listed costs some of it). `accept` and `finish` are not
//! among them, on purpose: manual checks are for people, and merging is the gate's.
//!
//! A tool call is the command itself. Its arguments become the command's own arguments and are
//! parsed by the same clap definitions (so conflicts and values are refused with the CLI's
//! words); the result is the command's `--json` document, built by the same function that
//! `--json` prints (`document` in each command's file); an error is the `planx.error/1`
//! document with the CLI's kind, exit code and hints. Trust (SPEC §7) is what it is for the
//! CLI: nothing a tool call says can grant it, and `--trust-once` is refused for a server that
//! would apply it to every call.
//!
//! stdout is the protocol's: while the server runs, nothing else writes there (plan commands
//! and `git` run with their output captured, logs go to stderr).

use std::sync::{Arc, Mutex};

use clap::{Args, Parser};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

use super::ui::{Ui, error_document};
use super::{Cli, Command, Document, GlobalArgs};
use crate::error::CliError;

/// Serve git-planx's tools to a coding agent over the Model Context Protocol (stdio).
///
/// Tools: status, next, brief, checkpoint, verify and log, each answering with the `--json`
/// document of the command of that name (errors as `planx.error/1`). There is no tool to
/// accept a manual check or to finish a phase: those are for people and for the merge gate.
/// Register the server with the agent as the command `git planx mcp`, run in the repository
/// (docs/mcp.md). It serves until the client closes its standard input.
#[derive(Debug, Args)]
pub struct McpArgs {}

pub fn cmd_mcp(_ui: &Ui, global: &GlobalArgs, _args: &McpArgs) -> Result<(), CliError> {
    if global.trust_once {
        return Err(CliError::usage(
            "`--trust-once` cannot start the MCP server: the server would apply it to every call",
        )
        .hint(
            "review the plan's commands and run `git planx trust`, then start the server again",
        ));
    }
    let server = Server {
        plan: global.plan.clone(),
        one_at_a_time: Arc::new(Mutex::new(())),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = server
            .serve(rmcp::transport::io::stdio())
            .await
            .map_err(|e| {
                CliError::usage(format!("the MCP client did not start a session: {e}")).hint(
                    "`git planx mcp` is started by an MCP client (an agent), which speaks the protocol on its standard input",
                )
            })?;
        running.waiting().await.map_err(CliError::internal)?;
        Ok(())
    })
}

#[derive(Clone)]
struct Server {
    /// The server's own `--plan`, passed to every call.
    plan: Option<std::path::PathBuf>,
    /// Calls run one at a time, as commands typed one after another would: two checkpoints at
    /// once would race on the index.
    one_at_a_time: Arc<Mutex<()>>,
}

/// What a tool takes: its arguments, each the command-line option of the same name.
struct Spec {
    name: &'static str,
    description: &'static str,
    /// `(argument, JSON type, description)`; `phase` is the command's positional argument.
    arguments: &'static [(&'static str, &'static str, &'static str)],
    required: &'static [&'static str],
    /// Options the tool gives its command unless the call says otherwise.
    defaults: &'static [(&'static str, &'static str)],
    read_only: bool,
}

const PHASE: (&str, &str, &str) = (
    "phase",
    "string",
    "the phase id [default: the phase of the branch checked out]",
);

const TOOLS: [Spec; 6] = [
    Spec {
        name: "status",
        description: "The state of every phase, derived from git (complete, failed, blocked, in-progress, ready, waiting), each phase's steps, and the one next action. The `planx.status/1` document.",
        arguments: &[("phase", "string", "only this phase")],
        required: &[],
        defaults: &[],
        read_only: true,
    },
    Spec {
        name: "next",
        description: "The phases that can start now, in the plan's order. The `planx.next/1` document.",
        arguments: &[],
        required: &[],
        defaults: &[],
        read_only: true,
    },
    Spec {
        name: "brief",
        description: "The phase execution plan: goal, prerequisites, steps with their verification, file manifest, acceptance checks, risks, what done looks like, and on a retry the findings that failed the last attempt. Read it before working on a phase. `format: \"md\"` gives the markdown; the default is the `planx.brief/1` document.",
        arguments: &[
            ("phase", "string", "the phase id"),
            ("format", "string", "`json` (default) or `md`"),
        ],
        required: &["phase"],
        defaults: &[("format", "json")],
        read_only: true,
    },
    Spec {
        name: "checkpoint",
        description: "Record progress on the phase branch checked out: commit what is staged (or an empty commit) with Planx trailers. With `step`, the step's verification runs and is recorded. With `blocked` or `failed`, record why the phase cannot go on. The `planx.checkpoint/1` document; `verified` is false when the step's verification failed.",
        arguments: &[
            ("message", "string", "the commit message's subject"),
            ("step", "string", "the step this checkpoint completes"),
            ("red", "boolean", "TDD evidence: the blast radius fails now"),
            (
                "green",
                "boolean",
                "TDD evidence: the blast radius passes now",
            ),
            (
                "blocked",
                "string",
                "the phase cannot go on without help: why",
            ),
            ("failed", "string", "the phase failed: why"),
        ],
        required: &[],
        defaults: &[],
        read_only: false,
    },
    Spec {
        name: "verify",
        description: "Verify a phase: its changes since the fork point against its file manifest, then its acceptance checks, judged by the plan on base. Records the result on HEAD. The `planx.verify/1` document: `passed` says whether it is VERIFIED, `findings` what to fix. Verify before saying a phase is done.",
        arguments: &[
            PHASE,
            (
                "no_run",
                "boolean",
                "judge the manifest and file checks only; run no command",
            ),
        ],
        required: &[],
        defaults: &[],
        read_only: false,
    },
    Spec {
        name: "log",
        description: "The timeline of checkpoints and the events their notes recorded (checks run, results, reasons). The `planx.log/1` document.",
        arguments: &[("phase", "string", "only this phase")],
        required: &[],
        defaults: &[],
        read_only: true,
    },
];

impl Spec {
    fn tool(&self) -> Tool {
        let mut properties = serde_json::Map::new();
        for (name, kind, description) in self.arguments {
            properties.insert(
                (*name).to_owned(),
                json!({"type": kind, "description": description}),
            );
        }
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": self.required,
            "additionalProperties": false,
        });
        let Value::Object(schema) = schema else {
            unreachable!("a JSON object literal")
        };
        Tool::new(self.name, self.description, schema).with_annotations(
            ToolAnnotations::new()
                .read_only(self.read_only)
                .destructive(false)
                .open_world(false),
        )
    }

    /// The command line a call stands for: `git planx <tool> --option=value … -- PHASE`.
    fn command_line(&self, arguments: &JsonObject) -> Result<Vec<String>, CliError> {
        let mut options = Vec::new();
        let mut phase = None;
        for (key, value) in arguments {
            let Some((_, kind, _)) = self.arguments.iter().find(|(name, ..)| name == key) else {
                let known: Vec<String> = self
                    .arguments
                    .iter()
                    .map(|(n, ..)| format!("`{n}`"))
                    .collect();
                return Err(CliError::usage(format!(
                    "the tool `{}` takes no argument `{key}`",
                    self.name
                ))
                .hint(if known.is_empty() {
                    "it takes no arguments".to_owned()
                } else {
                    format!("it takes {}", known.join(", "))
                }));
            };
            let wrong = || {
                CliError::usage(format!(
                    "the argument `{key}` of the tool `{}` must be a {kind}, not {value}",
                    self.name
                ))
            };
            let flag = format!("--{}", key.replace('_', "-"));
            match (*kind, value) {
                (_, Value::Null) => {}
                ("boolean", Value::Bool(true)) => options.push(flag),
                ("boolean", Value::Bool(false)) => {}
                ("string", Value::String(text)) if key == "phase" => phase = Some(text.clone()),
                ("string", Value::String(text)) => options.push(format!("{flag}={text}")),
                _ => return Err(wrong()),
            }
        }
        for required in self.required {
            if arguments.get(*required).is_none_or(Value::is_null) {
                return Err(CliError::usage(format!(
                    "the tool `{}` needs the argument `{required}`",
                    self.name
                )));
            }
        }
        let mut line = vec!["git-planx".to_owned(), self.name.to_owned()];
        for (key, value) in self.defaults {
            if arguments.get(*key).is_none_or(Value::is_null) {
                line.push(format!("--{key}={value}"));
            }
        }
        line.extend(options);
        if let Some(phase) = phase {
            line.push("--".to_owned());
            line.push(phase);
        }
        Ok(line)
    }
}

impl Server {
    /// Runs one tool call as its command: the document it answers with, or its error.
    fn call(&self, spec: &Spec, arguments: &JsonObject) -> Result<Document, CliError> {
        let mut line = spec.command_line(arguments)?;
        if let Some(plan) = &self.plan {
            line.insert(1, format!("--plan={}", plan.display()));
        }
        let cli = Cli::try_parse_from(&line).map_err(|e| {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            CliError::usage(first.strip_prefix("error: ").unwrap_or(first).to_owned()).hint(
                format!("`tools/list` gives the arguments of `{}`", spec.name),
            )
        })?;
        let global = &cli.global;
        match &cli.command {
            Command::Status(args) => super::status::document(global, args),
            Command::Next(args) => super::next::document(global, args),
            Command::Brief(args) => super::brief::document(global, args),
            Command::Checkpoint(args) => super::checkpoint::document(global, args),
            Command::Verify(args) => super::verify::document(global, args),
            Command::Log(args) => super::log::document(global, args),
            other => Err(CliError::internal(format!(
                "the tool `{}` parsed as {other:?}",
                spec.name
            ))),
        }
    }
}

/// A tool's answer: the document (a text block holding it, and the same as structured
/// content), markdown as text, or the error document flagged as an error.
fn result(outcome: Result<Document, CliError>) -> CallToolResult {
    match outcome {
        Ok(Document {
            value: Value::String(markdown),
            ..
        }) => CallToolResult::success(vec![ContentBlock::text(markdown)]),
        Ok(document) => CallToolResult::structured(document.value),
        Err(error) => CallToolResult::structured_error(error_document(&error)),
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("git-planx", env!("CARGO_PKG_VERSION"))
                    .with_title("git planx"),
            )
            .with_instructions(
                "git-planx runs a plan's phases with git as the record. Read a phase's `brief` before working on it; record each step with `checkpoint`; a phase is done only when `verify` says `passed: true` — say so only then. Never edit the plan file. When a step cannot be done, `checkpoint` with `blocked` and the reason. Accepting manual checks and finishing (merging) a phase are for people: there are no tools for them.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            TOOLS.iter().map(Spec::tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(spec) = TOOLS.iter().find(|t| t.name == request.name) else {
            let error =
                CliError::usage(format!("there is no tool `{}`", request.name)).hint(format!(
                    "the tools are {}",
                    TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                ));
            return Ok(CallToolResult::structured_error(error_document(&error)).into());
        };
        let server = self.clone();
        let arguments = request.arguments.unwrap_or_default();
        let outcome = tokio::task::spawn_blocking(move || {
            let _turn = server
                .one_at_a_time
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let outcome = server.call(spec, &arguments);
            // A signal stopped the command a call ran: the call has unwound; end as it asked.
            crate::interrupt::die_if_received();
            outcome
        })
        .await
        .unwrap_or_else(|panic| Err(CliError::internal(format!("a tool call panicked: {panic}"))));
        Ok(result(outcome).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static Spec {
        TOOLS.iter().find(|t| t.name == name).unwrap()
    }

    fn line(tool: &str, arguments: Value) -> Result<Vec<String>, CliError> {
        let Value::Object(arguments) = arguments else {
            panic!("arguments are an object")
        };
        spec(tool).command_line(&arguments)
    }

    #[test]
    fn calls_become_the_commands_own_arguments() {
        assert_eq!(
            line("verify", json!({"phase": "-p", "no_run": true})).unwrap(),
            ["git-planx", "verify", "--no-run", "--", "-p"]
        );
        assert_eq!(
            line(
                "checkpoint",
                json!({"step": "2", "message": "--amend", "red": false})
            )
            .unwrap(),
            ["git-planx", "checkpoint", "--message=--amend", "--step=2"]
        );
        assert_eq!(
            line("brief", json!({"phase": "p"})).unwrap(),
            ["git-planx", "brief", "--format=json", "--", "p"]
        );
        assert_eq!(
            line("brief", json!({"phase": "p", "format": "md"})).unwrap(),
            ["git-planx", "brief", "--format=md", "--", "p"]
        );
        assert_eq!(line("next", json!({})).unwrap(), ["git-planx", "next"]);
    }

    #[test]
    fn arguments_a_tool_does_not_take_are_refused() {
        let error = line("status", json!({"trust_once": true})).unwrap_err();
        assert_eq!(error.kind, crate::error::ErrorKind::Usage);
        assert_eq!(
            error.message,
            "the tool `status` takes no argument `trust_once`"
        );
        let error = line("next", json!({"plan": "x.toml"})).unwrap_err();
        assert_eq!(error.hints, ["it takes no arguments"]);
        let error = line("verify", json!({"no_run": "yes"})).unwrap_err();
        assert_eq!(
            error.message,
            "the argument `no_run` of the tool `verify` must be a boolean, not \"yes\""
        );
        let error = line("brief", json!({})).unwrap_err();
        assert_eq!(error.message, "the tool `brief` needs the argument `phase`");
    }

    #[test]
    fn at_most_seven_tools_and_none_that_accepts_or_finishes() {
        assert!(TOOLS.len() <= 7);
        assert!(
            TOOLS
                .iter()
                .all(|t| !matches!(t.name, "accept" | "finish" | "trust"))
        );
        for t in &TOOLS {
            let schema = t.tool().schema_as_json_value();
            assert_eq!(schema["additionalProperties"], false, "{}", t.name);
        }
    }
}
