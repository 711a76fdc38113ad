//! The events planx appends to notes: one JSON object a line, self-contained, only ever added.
//! Lines from several machines merge by union (`cat_sort_uniq`), so no event refers to the
//! position of another; each carries its own time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::git::notes::NotesSnapshot;
use crate::git::{GitError, Oid};
use crate::process::Outcome;
use crate::trust::signing::{self, Seal, SigningError};

/// The member of a line holding its signature.
const SIG: &str = "sig";
/// The member saying who signed it (`user@host`): a claim, shown beside the key.
const SIGNER: &str = "signer";
/// The event format version.
pub const EVENT_VERSION: u32 = 1;
/// Bytes of command output kept in a note: notes stay small, the full tail is in the run log.
pub const NOTE_TAIL_BYTES: usize = 4096;

/// One event as stored: the common fields, and the rest by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u32,
    pub ts: String,
    pub plan: String,
    pub phase: String,
    pub event: String,
    #[serde(flatten)]
    pub data: Map<String, Value>,
    /// What the line's signature says of it: only lines planx signed with a trusted key are
    /// evidence ([`Event::counts`]).
    #[serde(skip)]
    pub seal: Seal,
}

impl Event {
    pub fn new(ts: &str, plan: &str, phase: &str, event: &str) -> Event {
        Event {
            v: EVENT_VERSION,
            ts: ts.to_owned(),
            plan: plan.to_owned(),
            phase: phase.to_owned(),
            event: event.to_owned(),
            data: Map::new(),
            seal: Seal::Unsigned,
        }
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Event {
        self.data.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// The event as one line of JSON, signed by this machine, with who signed it (`by`, a claim
    /// shown beside the key). The only way planx writes an event.
    pub fn sealed_line(&self) -> Result<String, SigningError> {
        let mut event = self.clone();
        // Whoever signs says so, also when signing anew what another signed (a squash carrying
        // the phase's records, an adopted record).
        event
            .data
            .insert(SIGNER.to_owned(), Value::String(signing::signer_name()));
        event.data.remove(SIG);
        signing::seal(&serde_json::to_string(&event).unwrap_or_default())
    }

    /// The event as one line of JSON, unsigned: what a hand or another program writes.
    #[cfg(test)]
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads one note line: the event and its seal; `None` for a line that is not an event.
    pub fn parse(line: &str) -> Option<Event> {
        let (content, seal) = signing::unseal(line);
        let mut event: Event = serde_json::from_str(&content).ok()?;
        event.data.remove(SIG);
        event.seal = seal;
        Some(event)
    }

    /// Is this event evidence: a line planx signed, with a key trusted here?
    pub fn counts(&self) -> bool {
        self.seal.counts()
    }

    /// Who signed it, as the line says (a claim).
    pub fn signer(&self) -> Option<&str> {
        self.str(SIGNER)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// A recorded command run stored under `key`.
    pub fn run(&self, key: &str) -> Option<CommandRun> {
        self.data
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Recorded command runs stored as a list under `key`.
    pub fn runs(&self, key: &str) -> Vec<CommandRun> {
        self.data
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }
}

/// Is this event a passing verify record of a clean work tree, with commands run, for `tree`
/// (for any tree when `tree` is `None`)?
/// Only a record planx signed, with a key trusted here, is one.
pub fn is_passing_record(event: &Event, tree: Option<&str>) -> bool {
    event.counts() && claims_passing(event, tree)
}

/// Does this event read as a passing verify record for `tree`, whoever wrote it?
fn claims_passing(event: &Event, tree: Option<&str>) -> bool {
    let flag = |key: &str| event.data.get(key).and_then(Value::as_bool);
    event.event == "verify"
        && tree.is_none_or(|t| event.str("tree") == Some(t))
        && flag("passed") == Some(true)
        && flag("clean") == Some(true)
        && flag("no_run") == Some(false)
}

/// The first of `commits` whose note holds a passing record (see [`is_passing_record`]) of
/// `plan`'s `phase` for one of `trees`.
pub fn find_passing_record(
    notes: &NotesSnapshot<'_>,
    plan: &str,
    phase: &str,
    trees: &[Oid],
    commits: impl IntoIterator<Item = Oid>,
) -> Result<Option<Oid>, GitError> {
    let trees: Vec<String> = trees.iter().map(Oid::to_string).collect();
    let trust = signing::trust_fingerprint();
    for commit in commits {
        let blobs = notes.note_blobs(commit)?;
        if blobs.is_empty() {
            continue;
        }
        // What the note's blobs hold never changes, and which lines count changes only with
        // the keys that count: a commit judged once is known by a tag only this machine makes.
        let fact = |holds: bool| {
            let mut parts: Vec<&[u8]> = vec![
                if holds { b"holds" } else { b"lacks" },
                &trust,
                plan.as_bytes(),
                phase.as_bytes(),
                commit.as_bytes(),
            ];
            parts.extend(trees.iter().map(|t| t.as_bytes()));
            parts.push(b"blobs");
            parts.extend(blobs.iter().map(|b| b.as_bytes()));
            signing::fact_tag(PASSING_FACT, &parts)
        };
        let holds = fact(true);
        if holds.as_ref().is_some_and(signing::knows) {
            return Ok(Some(commit));
        }
        let lacks = fact(false);
        if lacks.as_ref().is_some_and(signing::knows) {
            continue;
        }
        let passing = notes.get(commit)?.is_some_and(|note| {
            note.lines()
                .any(|line| line_is_passing_record(line, plan, phase, &trees))
        });
        if let Some(tag) = if passing { holds } else { lacks } {
            signing::learn(tag);
        }
        if passing {
            return Ok(Some(commit));
        }
    }
    Ok(None)
}

/// The domain of the facts [`find_passing_record`] keeps.
const PASSING_FACT: &str = "passing record of a commit's note";

/// Why the first record among `commits` that would be a passing record of `plan`'s `phase` for
/// one of `trees` but for its signature does not count ("unsigned", "signed by …"); `None`
/// when there is none.
pub fn find_uncounted_passing_record(
    notes: &NotesSnapshot<'_>,
    plan: &str,
    phase: &str,
    trees: &[Oid],
    commits: impl IntoIterator<Item = Oid>,
) -> Result<Option<String>, GitError> {
    let trees: Vec<String> = trees.iter().map(Oid::to_string).collect();
    for commit in commits {
        let Some(note) = notes.get(commit)? else {
            continue;
        };
        for event in note.lines().filter_map(Event::parse) {
            if !event.counts()
                && event.plan == plan
                && event.phase == phase
                && trees.iter().any(|t| claims_passing(&event, Some(t)))
            {
                return Ok(Some(format!(
                    "{}, on {}",
                    event.seal.why_not(),
                    &commit.to_string()[..12]
                )));
            }
        }
    }
    Ok(None)
}

/// Is this note line a passing record of `plan`'s `phase` for one of `trees`, as
/// [`parse_note`] and [`is_passing_record`] judge it? Most lines are not, and are told so by a
/// quick read ([`Probe`]); a line the quick read finds passing, or cannot read, is read in full
/// and judged by the full event, so the answer is always the full read's.
fn line_is_passing_record(line: &str, plan: &str, phase: &str, trees: &[String]) -> bool {
    let full = || {
        Event::parse(line).is_some_and(|e| {
            e.plan == plan
                && e.phase == phase
                && trees.iter().any(|t| is_passing_record(&e, Some(t)))
        })
    };
    match serde_json::from_str::<Probe<'_>>(line) {
        Ok(probe) => {
            probe.plan == plan && probe.phase == phase && probe.is_passing_record(trees) && full()
        }
        Err(_) => full(),
    }
}

/// An event line read only as far as a passing record is judged: the common fields and the
/// four a record is judged by, taken as [`is_passing_record`] takes them; the rest of the line
/// (command output of several KiB) is skipped, not built into values. It can read a line the
/// full parse refuses (an unreadable number in a skipped field) and refuse one it reads (a
/// field given twice): [`line_is_passing_record`] settles those with the full read.
#[derive(Deserialize)]
struct Probe<'a> {
    #[allow(dead_code)]
    v: u32,
    #[allow(dead_code)]
    #[serde(borrow)]
    ts: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    plan: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    phase: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(default)]
    tree: Option<Value>,
    #[serde(default)]
    passed: Option<Value>,
    #[serde(default)]
    clean: Option<Value>,
    #[serde(default)]
    no_run: Option<Value>,
}

impl Probe<'_> {
    fn is_passing_record(&self, trees: &[String]) -> bool {
        let flag = |v: &Option<Value>| v.as_ref().and_then(Value::as_bool);
        self.event == "verify"
            && self
                .tree
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|t| trees.iter().any(|want| want == t))
            && flag(&self.passed) == Some(true)
            && flag(&self.clean) == Some(true)
            && flag(&self.no_run) == Some(false)
    }
}

/// Is `copy` a signed, adopted copy of `original` (`signers adopt`): the same record but for
/// who signed it and when it was adopted?
pub fn is_adopted_copy(copy: &Event, original: &Event) -> bool {
    let strip = |e: &Event| {
        let mut data = e.data.clone();
        data.remove(SIGNER);
        data.remove("adopted");
        (
            e.v,
            e.ts.clone(),
            e.plan.clone(),
            e.phase.clone(),
            e.event.clone(),
            data,
        )
    };
    copy.data.get("adopted").is_some_and(Value::is_string) && strip(copy) == strip(original)
}

/// Is this event a verify that passed with its commands run (clean work tree or not)? What
/// `after_verify` paths wait for.
pub fn is_passing_verify(event: &Event) -> bool {
    let flag = |key: &str| event.data.get(key).and_then(Value::as_bool);
    event.event == "verify"
        && event.counts()
        && flag("passed") == Some(true)
        && flag("no_run") == Some(false)
}

/// The events of a note that are evidence ([`Event::counts`]), oldest first; lines that are not
/// events (written by hand, or by a newer version in a shape this one does not know) and events
/// planx did not write are skipped. Every judgement reads notes through this.
pub fn parse_note(note: &str) -> Vec<Event> {
    let mut events = parse_note_all(note);
    events.retain(Event::counts);
    events
}

/// Every event of a note, evidence or not, oldest first, each with its seal: for showing the
/// records planx did not write.
pub fn parse_note_all(note: &str) -> Vec<Event> {
    let mut events: Vec<Event> = note.lines().filter_map(Event::parse).collect();
    events.sort_by(|a, b| a.ts.cmp(&b.ts));
    events
}

/// A command that ran, as recorded in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRun {
    /// What the plan wrote (a `[commands]` name or a shell command).
    pub command: String,
    /// What ran.
    pub shell: String,
    pub passed: bool,
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// The last bytes of its output.
    pub tail: String,
}

impl CommandRun {
    pub fn new(command: &str, shell: &str, outcome: &Outcome, passed: bool) -> CommandRun {
        let tail = &outcome.tail;
        let mut cut = tail.len().saturating_sub(NOTE_TAIL_BYTES);
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        CommandRun {
            command: command.to_owned(),
            shell: shell.to_owned(),
            passed,
            exit: outcome.exit,
            signal: outcome.signal,
            timed_out: outcome.timed_out,
            duration_ms: outcome.duration_ms,
            tail: tail[cut..].to_owned(),
        }
    }

    /// `exit 0 in 1.2s`, `timed out after 10m`.
    pub fn describe(&self) -> String {
        let what = if self.timed_out {
            "timed out".to_owned()
        } else {
            match (self.exit, self.signal) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(sig)) => format!("signal {sig}"),
                (None, None) => "no status".to_owned(),
            }
        };
        format!("{what} in {:.1}s", self.duration_ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line is judged a passing record exactly where reading the whole event judges it so,
    /// lines the quick read reads differently included.
    #[test]
    fn every_line_is_judged_as_the_full_read_judges_it() {
        let tree = "0123456789012345678901234567890123456789";
        let trees = vec![tree.to_owned()];
        let lines = [
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false,"tail":"x"}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"ver\u0069fy","tree":"{tree}","passed":true,"clean":true,"no_run":false}}"#),
            format!(r#"{{"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false}}"#),
            format!(r#"{{"v":1,"ts":5,"plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":"true","clean":true,"no_run":false}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"no_run":false}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":null}}"#),
            r#"{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":5,"passed":true,"clean":true,"no_run":false}"#.to_owned(),
            r#"{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"ffff","passed":true,"clean":true,"no_run":false}"#.to_owned(),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"accept","tree":"{tree}","passed":true,"clean":true,"no_run":false}}"#),
            format!(r#"{{"v":-1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false,"x":1e400}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false,"tail":"\ud800"}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"p","phase":"a","event":"verify","tree":"{tree}","passed":false,"clean":true,"no_run":false,"passed":true}}"#),
            format!(r#"{{"v":1,"ts":"t","plan":"q","phase":"a","event":"verify","tree":"{tree}","passed":true,"clean":true,"no_run":false}}"#),
            "not json".to_owned(),
        ];
        // As planx writes them: signed (an unsigned line is never a record, tested apart).
        let lines: Vec<String> = lines
            .iter()
            .map(|l| match l.ends_with('}') {
                true => signing::seal(l).unwrap(),
                false => l.clone(),
            })
            .collect();
        let mut passing = 0;
        for line in &lines {
            let full = parse_note(line)
                .iter()
                .any(|e| e.plan == "p" && e.phase == "a" && is_passing_record(e, Some(tree)));
            assert_eq!(
                line_is_passing_record(line, "p", "a", &trees),
                full,
                "{line}"
            );
            passing += usize::from(full);
            let unsigned = signing::unseal(line).0;
            assert!(!line_is_passing_record(&unsigned, "p", "a", &trees));
        }
        assert!(passing >= 2, "some lines are passing records");
        assert!(
            serde_json::from_str::<Probe<'_>>(&lines[1])
                .unwrap()
                .is_passing_record(&trees),
            "escapes are read as JSON reads them"
        );
    }
}

/// A recorded `verify` event as the reports read it back: whether it passed, what it found and
/// how each check came out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyRecord {
    pub ts: String,
    pub passed: bool,
    /// Checks were not run (`verify --no-run`).
    pub no_run: bool,
    pub findings: Vec<RecordedFinding>,
    pub checks: Vec<RecordedCheck>,
}

/// A finding of a recorded verify: `error` or `warning`, what, and the manifest entry concerned
/// (`create new.txt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedFinding {
    pub level: String,
    pub message: String,
    #[serde(default)]
    pub entry: Option<(String, String)>,
}

/// A check of a recorded verify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCheck {
    pub name: String,
    pub verified: bool,
    #[serde(default)]
    pub skipped: bool,
    #[serde(default)]
    pub evidence: String,
}

impl VerifyRecord {
    /// The record of a `verify` event; `None` for any other event.
    pub fn of(event: &Event) -> Option<VerifyRecord> {
        if event.event != "verify" {
            return None;
        }
        let list = |key: &str| event.data.get(key).cloned().unwrap_or(Value::Null);
        Some(VerifyRecord {
            ts: event.ts.clone(),
            passed: event.data.get("passed").and_then(Value::as_bool) == Some(true),
            no_run: event.data.get("no_run").and_then(Value::as_bool) == Some(true),
            findings: serde_json::from_value(list("findings")).unwrap_or_default(),
            checks: serde_json::from_value(list("checks")).unwrap_or_default(),
        })
    }
}
