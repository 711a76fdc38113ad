//! `git planx setup <agent> [--remove]`: the agent's hook file and a section of `AGENTS.md`,
//! merged into what the user has.
//!
//! Each file is changed by adding planx's own parts and nothing else: hook entries whose
//! command is `git planx hook agent-stop…` in the agent's JSON file (kept in its key order and
//! indentation), and a section between two marker lines in `AGENTS.md`. A second run finds
//! them there and writes nothing. `--remove` takes exactly those parts out. So that the user
//! gets back the very bytes they had — JSON written back by a program may differ in spacing —
//! the first change of a file keeps its bytes in local state (`$GIT_COMMON_DIR/planx/setup/`):
//! when the file without planx's parts is the same document as the bytes kept, those bytes are
//! written back; otherwise (the user changed their own parts since) the document without
//! planx's parts is.

use std::fs;
use std::path::{Path, PathBuf};

use super::json::Json;
use serde::Serialize;

use super::AgentsError;
use crate::git::Repo;

/// The agents `setup` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    Claude,
    Codex,
    Cursor,
}

impl Agent {
    pub const ALL: [Agent; 3] = [Agent::Claude, Agent::Codex, Agent::Cursor];

    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Cursor => "cursor",
        }
    }

    /// What the agent is called in its own documentation.
    pub fn product(self) -> &'static str {
        match self {
            Agent::Claude => "Claude Code",
            Agent::Codex => "Codex",
            Agent::Cursor => "Cursor",
        }
    }

    /// The agent's hook file, from the top of the work tree.
    pub fn hook_file(self) -> &'static str {
        match self {
            Agent::Claude => ".claude/settings.json",
            Agent::Codex => ".codex/hooks.json",
            Agent::Cursor => ".cursor/hooks.json",
        }
    }

    /// The stop gate's command line for this agent.
    pub fn command(self) -> &'static str {
        match self {
            Agent::Claude => "git planx hook agent-stop",
            Agent::Codex => "git planx hook agent-stop --agent codex",
            Agent::Cursor => "git planx hook agent-stop --agent cursor",
        }
    }

    /// The hook events planx adds, each with the entry it puts in the event's list.
    fn entries(self) -> Vec<(&'static str, Json)> {
        let command = || {
            (
                "command".to_owned(),
                Json::String(self.command().to_owned()),
            )
        };
        let group = |command: (String, Json)| {
            let handler = Json::Object(vec![
                ("type".to_owned(), Json::String("command".into())),
                command,
            ]);
            Json::Object(vec![("hooks".to_owned(), Json::Array(vec![handler]))])
        };
        match self {
            Agent::Claude => vec![
                ("Stop", group(command())),
                ("SubagentStop", group(command())),
                (
                    "SessionStart",
                    group(("command".to_owned(), Json::String(START_COMMAND.to_owned()))),
                ),
            ],
            Agent::Codex => ["Stop", "SubagentStop"]
                .into_iter()
                .map(|event| (event, group(command())))
                .collect(),
            Agent::Cursor => vec![("stop", Json::Object(vec![command()]))],
        }
    }
}

/// The SessionStart hook of Claude Code: the phase's brief as the session's context.
pub const START_COMMAND: &str = "git planx hook agent-start";

/// The marker lines of planx's section in `AGENTS.md`.
pub const BEGIN: &str =
    "<!-- planx:begin (written by `git planx setup`; edit outside these lines) -->";
pub const END: &str = "<!-- planx:end -->";
pub const AGENTS_MD: &str = "AGENTS.md";

/// The protocol an agent reads in `AGENTS.md`.
pub fn agents_section() -> String {
    format!(
        "{BEGIN}
## Working on a planx phase

This repository runs its work as a plan of phases (`.planx/plan.toml`), with git as the record.
On a phase branch (`git planx status` says which phase is yours):

1. Read the phase's brief first: `git planx brief` (the goal, the steps, the files you may touch,
   the checks that must pass).
2. Work step by step; after each step, commit it as a checkpoint:
   `git add <files> && git planx checkpoint --step <id>`.
3. Before you say the phase is done, run `git planx verify` and fix every finding. You cannot
   end your turn while it fails: the stop hook runs the same verification and tells you why.
4. Never edit the plan file (`.planx/plan.toml`): the phase is judged by the plan on its base
   branch, and an edit of it is reported.
5. When a step cannot be done, say so instead of pretending:
   `git planx checkpoint --blocked \"REASON\"`, then stop.
{END}
"
    )
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Created,
    Updated,
    Unchanged,
    /// planx's parts were taken out.
    Removed,
    /// The bytes the user had before planx's first change are back.
    Restored,
    /// The file was planx's alone: deleted.
    Deleted,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
}

/// Sets up `agent` in the work tree `top` (or, with `remove`, takes planx's parts out).
pub fn setup(repo: &Repo, agent: Agent, remove: bool) -> Result<Vec<FileChange>, AgentsError> {
    let top = repo.require_workdir()?.to_path_buf();
    let state = repo.state_dir().join("setup");
    let hook = Kept::new(&top, &state, agent.hook_file());
    let agents_md = Kept::new(&top, &state, AGENTS_MD);
    let mut out = Vec::new();
    if remove {
        out.push(remove_hooks(&hook, agent)?);
        // The section stays while another agent set up here still wants it.
        let others = Agent::ALL
            .into_iter()
            .filter(|a| *a != agent)
            .any(|a| has_hooks(&Kept::new(&top, &state, a.hook_file()), a));
        if !others {
            out.push(remove_section(&agents_md)?);
        }
    } else {
        out.push(add_hooks(&hook, agent)?);
        out.push(add_section(&agents_md)?);
    }
    Ok(out)
}

/// A file of the work tree and the bytes kept of it before planx first changed it.
struct Kept {
    path: PathBuf,
    display: String,
    original: PathBuf,
    absent: PathBuf,
}

impl Kept {
    fn new(top: &Path, state: &Path, rel: &str) -> Kept {
        let name = rel.replace('/', "%2F");
        Kept {
            path: top.join(rel),
            display: rel.to_owned(),
            original: state.join(format!("{name}.orig")),
            absent: state.join(format!("{name}.absent")),
        }
    }

    fn read(&self) -> Result<Option<Vec<u8>>, AgentsError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AgentsError::Read {
                path: self.display.clone(),
                source: e,
            }),
        }
    }

    fn write_err(&self) -> impl Fn(std::io::Error) -> AgentsError + '_ {
        move |e| AgentsError::Write {
            path: self.display.clone(),
            source: e,
        }
    }

    /// Keeps what the user had (the bytes, or that there was no file), unless kept already.
    fn keep(&self, before: Option<&[u8]>) -> Result<(), AgentsError> {
        if self.original.exists() || self.absent.exists() {
            return Ok(());
        }
        let dir = self.original.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(self.write_err())?;
        match before {
            Some(bytes) => fs::write(&self.original, bytes),
            None => fs::write(&self.absent, b""),
        }
        .map_err(self.write_err())
    }

    fn forget(&self) {
        let _ = fs::remove_file(&self.original);
        let _ = fs::remove_file(&self.absent);
    }

    fn write(&self, bytes: &[u8]) -> Result<(), AgentsError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(self.write_err())?;
        // Whole or not at all, keeping the file's mode.
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(self.write_err())?;
        std::io::Write::write_all(&mut temp, bytes).map_err(self.write_err())?;
        if let Ok(meta) = fs::metadata(&self.path) {
            let _ = temp.as_file().set_permissions(meta.permissions());
        }
        temp.persist(&self.path)
            .map_err(|e| e.error)
            .map_err(self.write_err())?;
        Ok(())
    }

    /// Deletes the file, and its folder when planx's file was all it held.
    fn delete(&self) -> Result<(), AgentsError> {
        fs::remove_file(&self.path).map_err(self.write_err())?;
        if let Some(dir) = self.path.parent() {
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }
}

/// An object's members, in the file's order.
type Pairs = Vec<(String, Json)>;

fn parse(kept: &Kept, agent: Agent, bytes: &[u8]) -> Result<Pairs, AgentsError> {
    let not_json = |message: String| AgentsError::NotJson {
        path: kept.display.clone(),
        agent: agent.product(),
        message,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(pairs)) => Ok(pairs),
        Ok(_) => Err(not_json("it is not a JSON object".into())),
        Err(e) => Err(not_json(e.to_string())),
    }
}

/// How a JSON file is laid out: its indentation and whether it ends with a newline.
struct Layout {
    indent: Vec<u8>,
    newline: bool,
}

impl Layout {
    fn of(bytes: Option<&[u8]>) -> Layout {
        let Some(bytes) = bytes.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) else {
            return Layout {
                indent: b"  ".to_vec(),
                newline: true,
            };
        };
        let indent = bytes
            .split(|b| *b == b'\n')
            .skip(1)
            .map(|line| {
                line.iter()
                    .take_while(|b| **b == b' ' || **b == b'\t')
                    .copied()
                    .collect::<Vec<u8>>()
            })
            .find(|i| !i.is_empty())
            .unwrap_or_else(|| b"  ".to_vec());
        Layout {
            indent,
            newline: bytes.ends_with(b"\n"),
        }
    }

    fn write(&self, doc: &Pairs) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(&self.indent);
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        // A map of JSON values always serializes.
        let _ = serde::Serialize::serialize(&Json::Object(doc.clone()), &mut ser);
        if self.newline {
            out.push(b'\n');
        }
        out
    }
}

fn is_ours(handler: &Json) -> bool {
    handler
        .get("command")
        .and_then(Json::as_str)
        .map(str::trim_start)
        .is_some_and(|c| c.starts_with("git planx hook agent-stop") || c.starts_with(START_COMMAND))
}

/// Does the entry of an event's list hold planx's handler (itself, or in its `hooks`)?
fn holds_ours(entry: &Json) -> bool {
    is_ours(entry)
        || entry
            .get("hooks")
            .and_then(Json::as_array)
            .is_some_and(|hs| hs.iter().any(is_ours))
}

fn has_hooks(kept: &Kept, agent: Agent) -> bool {
    let Ok(Some(bytes)) = kept.read() else {
        return false;
    };
    let Ok(doc) = parse(kept, agent, &bytes) else {
        return false;
    };
    match Json::Object(doc).get("hooks") {
        Some(Json::Object(events)) => events.iter().any(|(_, list)| {
            list.as_array()
                .is_some_and(|list| list.iter().any(holds_ours))
        }),
        _ => false,
    }
}

fn add_hooks(kept: &Kept, agent: Agent) -> Result<FileChange, AgentsError> {
    let before = kept.read()?;
    let mut doc = match &before {
        Some(bytes) => parse(kept, agent, bytes)?,
        None => Vec::new(),
    };
    let not_json = |message: String| AgentsError::NotJson {
        path: kept.display.clone(),
        agent: agent.product(),
        message,
    };
    if agent == Agent::Cursor && before.is_none() {
        doc.insert(0, ("version".into(), Json::Number(1.into())));
    }
    let hooks = Json::entry(&mut doc, "hooks", || Json::Object(Vec::new()));
    let Some(hooks) = hooks.as_object_mut() else {
        return Err(not_json("its `hooks` is not an object".into()));
    };
    let mut changed = false;
    for (event, entry) in agent.entries() {
        let list = Json::entry(hooks, event, || Json::Array(Vec::new()));
        let Some(list) = list.as_array_mut() else {
            return Err(not_json(format!("its `hooks.{event}` is not a list")));
        };
        if !list.iter().any(holds_ours) {
            list.push(entry);
            changed = true;
        }
    }
    let change = match (&before, changed) {
        (_, false) => Change::Unchanged,
        (None, true) => Change::Created,
        (Some(_), true) => Change::Updated,
    };
    if changed {
        kept.keep(before.as_deref())?;
        kept.write(&Layout::of(before.as_deref()).write(&doc))?;
    }
    Ok(FileChange {
        path: kept.display.clone(),
        change,
    })
}

/// `doc` without planx's entries; whether there were any.
fn without_ours(doc: &mut Pairs) -> bool {
    let Some(at) = doc.iter().position(|(k, _)| k == "hooks") else {
        return false;
    };
    let Some(hooks) = doc[at].1.as_object_mut() else {
        return false;
    };
    let mut removed = false;
    let mut emptied = Vec::new();
    for (event, list) in hooks.iter_mut() {
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        let before = list.len();
        for entry in list.iter_mut() {
            if let Some(handlers) = entry.get_mut("hooks").and_then(Json::as_array_mut) {
                let n = handlers.len();
                handlers.retain(|h| !is_ours(h));
                removed |= handlers.len() != n;
            }
        }
        list.retain(|entry| {
            let empty_group = entry
                .get("hooks")
                .and_then(Json::as_array)
                .is_some_and(Vec::is_empty);
            !(is_ours(entry) || empty_group)
        });
        removed |= list.len() != before;
        if list.is_empty() && list.len() != before {
            emptied.push(event.clone());
        }
    }
    hooks.retain(|(event, _)| !emptied.contains(event));
    if removed && hooks.is_empty() {
        doc.remove(at);
    }
    removed
}

fn remove_hooks(kept: &Kept, agent: Agent) -> Result<FileChange, AgentsError> {
    let unchanged = || FileChange {
        path: kept.display.clone(),
        change: Change::Unchanged,
    };
    let Some(bytes) = kept.read()? else {
        kept.forget();
        return Ok(unchanged());
    };
    let mut doc = parse(kept, agent, &bytes)?;
    if !without_ours(&mut doc) {
        return Ok(unchanged());
    }
    let change = restore(kept, |original| match original {
        // planx created the file: only planx's parts (and Cursor's version) were in it.
        None => doc.iter().all(|(k, _)| k == "version"),
        Some(original) => parse(kept, agent, original).is_ok_and(|o| o == doc),
    })?;
    let change = match change {
        Some(change) => change,
        None => {
            kept.write(&Layout::of(Some(&bytes)).write(&doc))?;
            Change::Removed
        }
    };
    kept.forget();
    Ok(FileChange {
        path: kept.display.clone(),
        change,
    })
}

/// Puts back what the user had when `same` says the file without planx's parts is it:
/// `Some(change)` when done, `None` when the caller must write the file itself.
fn restore(
    kept: &Kept,
    same: impl FnOnce(Option<&[u8]>) -> bool,
) -> Result<Option<Change>, AgentsError> {
    if kept.absent.exists() {
        if same(None) {
            kept.delete()?;
            return Ok(Some(Change::Deleted));
        }
        return Ok(None);
    }
    if let Ok(original) = fs::read(&kept.original)
        && same(Some(&original))
    {
        kept.write(&original)?;
        return Ok(Some(Change::Restored));
    }
    Ok(None)
}

fn add_section(kept: &Kept) -> Result<FileChange, AgentsError> {
    let before = kept.read()?;
    let section = agents_section();
    let text = before
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let (change, after) = match (find_section(kept, &text)?, &before) {
        (Some((start, end)), _) => {
            if text[start..end] == section {
                (Change::Unchanged, None)
            } else {
                let mut after = text.to_string();
                after.replace_range(start..end, &section);
                (Change::Updated, Some(after))
            }
        }
        (None, None) => (Change::Created, Some(section)),
        (None, Some(_)) => {
            let mut after = text.to_string();
            if !after.is_empty() {
                if !after.ends_with('\n') {
                    after.push('\n');
                }
                after.push('\n');
            }
            after.push_str(&section);
            (Change::Updated, Some(after))
        }
    };
    if let Some(after) = after {
        kept.keep(before.as_deref())?;
        kept.write(after.as_bytes())?;
    }
    Ok(FileChange {
        path: kept.display.clone(),
        change,
    })
}

/// Where planx's section is in `text`: from its begin line to after its end line.
fn find_section(kept: &Kept, text: &str) -> Result<Option<(usize, usize)>, AgentsError> {
    let begin = text.find(BEGIN);
    let end = text.find(END);
    match (begin, end) {
        (None, None) => Ok(None),
        (Some(b), Some(e)) if e > b => {
            let mut stop = e + END.len();
            if text[stop..].starts_with('\n') {
                stop += 1;
            }
            Ok(Some((b, stop)))
        }
        (Some(_), _) => Err(AgentsError::Markers {
            path: kept.display.clone(),
            what: "its begin line has no end line after it".into(),
        }),
        (None, Some(_)) => Err(AgentsError::Markers {
            path: kept.display.clone(),
            what: "its end line has no begin line".into(),
        }),
    }
}

fn remove_section(kept: &Kept) -> Result<FileChange, AgentsError> {
    let unchanged = || FileChange {
        path: kept.display.clone(),
        change: Change::Unchanged,
    };
    let Some(bytes) = kept.read()? else {
        kept.forget();
        return Ok(unchanged());
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let Some((start, end)) = find_section(kept, &text)? else {
        kept.forget();
        return Ok(unchanged());
    };
    let mut after = text.clone();
    after.replace_range(start..end, "");
    // The blank line setup put before the section goes with it.
    if start == after.len() && after.ends_with("\n\n") {
        after.pop();
    }
    let change = restore(kept, |original| match original {
        None => after.trim().is_empty(),
        Some(original) => {
            original == after.as_bytes()
                || (original.last() != Some(&b'\n')
                    && after.strip_suffix('\n').map(str::as_bytes) == Some(original))
        }
    })?;
    let change = match change {
        Some(change) => change,
        None => {
            kept.write(after.as_bytes())?;
            Change::Removed
        }
    };
    kept.forget();
    Ok(FileChange {
        path: kept.display.clone(),
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_is_read_from_the_file() {
        let l = Layout::of(Some(b"{\n    \"a\": 1\n}"));
        assert_eq!(l.indent, b"    ");
        assert!(!l.newline);
        let l = Layout::of(Some(b"{\n\t\"a\": 1\n}\n"));
        assert_eq!(l.indent, b"\t");
        assert!(l.newline);
        let doc: Pairs = vec![
            ("z".into(), Json::Number(1.into())),
            ("a".into(), Json::Array(vec![Json::Number(1.into())])),
        ];
        assert_eq!(
            Layout::of(None).write(&doc),
            b"{\n  \"z\": 1,\n  \"a\": [\n    1\n  ]\n}\n"
        );
    }

    #[test]
    fn planx_entries_come_out_and_the_users_stay() {
        let parse = |text: &str| match serde_json::from_str::<Json>(text).unwrap() {
            Json::Object(pairs) => pairs,
            _ => unreachable!(),
        };
        let mut doc = parse(
            r#"{"hooks": {"Stop": [
                {"hooks": [{"type": "command", "command": "mine"}, {"type": "command", "command": "git planx hook agent-stop"}]},
                {"hooks": [{"type": "command", "command": "git planx hook agent-stop"}]}
            ], "SubagentStop": [{"hooks": [{"type": "command", "command": "git planx hook agent-stop"}]}]}}"#,
        );
        assert!(without_ours(&mut doc));
        assert_eq!(
            doc,
            parse(r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "mine"}]}]}}"#)
        );
        assert!(!without_ours(&mut doc));
    }
}
