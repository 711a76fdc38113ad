//! The plan: its model, loading it from `.planx/plan.toml` with positions for every problem,
//! validation (SPEC §1) and the phase graph.
//!
//! Loading never stops at the first problem: syntax errors are collected by the TOML parser's
//! recovering mode, type and unknown-key errors by [`raw::read`], and every rule of §1 by
//! [`validate`]; a [`LoadedPlan`] carries the model (possibly partial) and all diagnostics.

pub mod diag;
pub mod duration;
pub mod glob;
pub mod graph;
pub mod ids;
mod raw;

pub use raw::closest;
pub mod source;
mod validate;

use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use diag::{Diagnostic, Severity};
pub use glob::Glob;
pub use source::{Location, Source};

/// Default location of the plan, relative to the top of the work tree.
pub const DEFAULT_PLAN_PATH: &str = ".planx/plan.toml";
/// Plans larger than this are refused unread: a plan is prose and lists, not data.
pub const MAX_PLAN_BYTES: u64 = 1024 * 1024;
/// The plan format this build reads.
pub const FORMAT_VERSION: i64 = 1;
/// Check timeout when the plan names none.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(600);
/// Preflight timeout when the plan names none.
/// The time a phase's executor gets under `run` when the phase has no `timeout`: a run never
/// waits without end on an executor that hangs.
pub const DEFAULT_PHASE_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
pub const DEFAULT_PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(600);

/// A byte range in the plan file.
pub type Span = Range<usize>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    Draft,
    Reviewed,
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    Implementation,
    Design,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Reviewed => "reviewed",
            PlanStatus::Ready => "ready",
        }
    }
}

impl PhaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Implementation => "implementation",
            PhaseKind::Design => "design",
        }
    }
}

/// A validated plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    pub title: String,
    pub status: PlanStatus,
    pub base: String,
    pub branch_prefix: String,
    pub strict: bool,
    pub guidelines: Option<String>,
    /// Named commands, in file order.
    pub commands: Vec<(String, String)>,
    pub preflight: Preflight,
    pub run: RunSettings,
    pub evidence: EvidenceSettings,
    pub phases: Vec<Phase>,
    /// The blob id of the bytes the plan was read from, when it was read from git (or found
    /// equal to a blob there): two plans with the same id are the same plan.
    pub blob: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preflight {
    pub clean_worktree: bool,
    pub run: Vec<CommandRef>,
    pub timeout: Duration,
}

/// The most phases `run` takes at once (`[run] jobs`, `--jobs`): more worktrees and executors
/// than this would only wait on each other.
pub const MAX_JOBS: usize = 256;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunSettings {
    pub executor: Option<CommandRef>,
    pub jobs: Option<usize>,
}

/// `[evidence]`: who, beside each machine's own key, signs records that count (docs/verification.md).
/// Only the plan on base's tip is read for it: a phase branch cannot add a signer for itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EvidenceSettings {
    /// Declared signers, name and key (`ed25519:` and 64 hex digits), by name.
    pub signers: Vec<(String, String)>,
    /// `unknown_signers = "count"`: records signed by a key nobody declared count too.
    pub count_unknown: bool,
}

/// A command as the plan wrote it, resolved: a single word names an entry of `[commands]`,
/// anything else is a shell command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRef {
    /// What the plan says.
    pub text: String,
    /// The `[commands]` name, when `text` is one.
    pub name: Option<String>,
    /// What runs (with `sh -c`).
    pub shell: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub kind: PhaseKind,
    pub owner: Option<String>,
    pub depends_on: Vec<Dependency>,
    pub goal: Option<String>,
    pub deliverables: Vec<String>,
    pub blast_radius: Option<CommandRef>,
    pub timeout: Option<Duration>,
    pub files: Manifest,
    pub checks: Vec<Check>,
    pub steps: Vec<Step>,
    /// What must hold before the steps start, each with its own verification.
    pub prerequisites: Vec<Prerequisite>,
    pub risks: Vec<Risk>,
    /// What done looks like: commands that show the phase's result, and what they show.
    pub done: Vec<DoneCommand>,
    /// Where the phase's `id` is written.
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dependency {
    pub id: String,
    pub span: Span,
}

/// The file manifest of a phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub create: Vec<ManifestEntry>,
    pub modify: Vec<ManifestEntry>,
    pub delete: Vec<ManifestEntry>,
    pub allow: Vec<ManifestEntry>,
    pub after_verify: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Create,
    Modify,
    Delete,
    Allow,
    AfterVerify,
}

impl EntryKind {
    pub const ALL: [EntryKind; 5] = [
        EntryKind::Create,
        EntryKind::Modify,
        EntryKind::Delete,
        EntryKind::Allow,
        EntryKind::AfterVerify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Create => "create",
            EntryKind::Modify => "modify",
            EntryKind::Delete => "delete",
            EntryKind::Allow => "allow",
            EntryKind::AfterVerify => "after_verify",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub pattern: Glob,
    pub span: Span,
}

impl Manifest {
    pub fn entries(&self, kind: EntryKind) -> &[ManifestEntry] {
        match kind {
            EntryKind::Create => &self.create,
            EntryKind::Modify => &self.modify,
            EntryKind::Delete => &self.delete,
            EntryKind::Allow => &self.allow,
            EntryKind::AfterVerify => &self.after_verify,
        }
    }

    /// Every entry with its kind, in the order create, modify, delete, allow, after_verify.
    pub fn all(&self) -> impl Iterator<Item = (EntryKind, &ManifestEntry)> {
        EntryKind::ALL
            .into_iter()
            .flat_map(move |kind| self.entries(kind).iter().map(move |e| (kind, e)))
    }

    pub fn is_empty(&self) -> bool {
        self.all().next().is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub kind: CheckKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CheckKind {
    /// Passes when the command exits with `expect_exit`; `tdd` also needs an earlier failing run.
    Run {
        command: CommandRef,
        expect_exit: i32,
        timeout: Duration,
        tdd: bool,
    },
    /// Passes when the file exists (and, with `contains`, has a match of the expression).
    File {
        path: String,
        contains: Option<Contains>,
    },
    /// Passes with an `accept` event.
    Manual,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub verify: Option<CommandRef>,
    pub span: Span,
}

/// Something that must hold before a phase's steps start (a tool installed, a service up, the
/// affected tests passing), with the command that shows it does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prerequisite {
    pub title: String,
    /// Why the phase needs it.
    pub why: Option<String>,
    pub verify: Option<CommandRef>,
    pub span: Span,
}

/// How likely a risk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    High,
    Medium,
    Low,
}

impl Likelihood {
    pub const ALL: [Likelihood; 3] = [Likelihood::High, Likelihood::Medium, Likelihood::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Likelihood::High => "high",
            Likelihood::Medium => "medium",
            Likelihood::Low => "low",
        }
    }
}

/// A risk of the phase and what is done about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Risk {
    pub risk: String,
    pub likelihood: Option<Likelihood>,
    pub mitigation: String,
    pub span: Span,
}

/// A command that shows what done looks like, and what it shows then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneCommand {
    pub run: CommandRef,
    pub expect: Option<String>,
    pub span: Span,
}

/// The `contains` expression of a file check: checked when the plan is validated, compiled
/// again only when a check uses it (a plan kept in the cache is not compiled a thousand times
/// to show a status).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct Contains {
    text: String,
    #[serde(skip)]
    compiled: std::sync::OnceLock<Result<regex::Regex, String>>,
}

impl Contains {
    /// The expression `text`, or why it is not one.
    pub fn new(text: &str) -> Result<Contains, regex::Error> {
        let regex = regex::Regex::new(text)?;
        Ok(Contains {
            text: text.to_owned(),
            compiled: std::sync::OnceLock::from(Ok(regex)),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compiled expression (an error only if a kept plan was damaged).
    pub fn regex(&self) -> Result<&regex::Regex, &str> {
        self.compiled
            .get_or_init(|| regex::Regex::new(&self.text).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

impl From<String> for Contains {
    fn from(text: String) -> Contains {
        Contains {
            text,
            compiled: std::sync::OnceLock::new(),
        }
    }
}

impl From<Contains> for String {
    fn from(contains: Contains) -> String {
        contains.text
    }
}

impl Plan {
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// The branch a phase runs on.
    pub fn branch(&self, phase: &Phase) -> String {
        format!("{}{}", self.branch_prefix, phase.id)
    }

    pub fn phase_ids(&self) -> Vec<&str> {
        self.phases.iter().map(|p| p.id.as_str()).collect()
    }
}

/// Repository facts that validation needs but the plan cannot know: which paths are symlinks.
/// The git layer implements it from the index, so validation stays free of git.
pub trait PathFacts {
    /// The longest leading part of `path` (whole components) that is a symlink, if any.
    fn symlink_prefix(&self, path: &str) -> Option<String>;
}

impl Plan {
    /// Whether a manifest path or a check file goes through a symlink that `facts` know of: the
    /// one question validation without facts ([`load_valid`]) leaves open. Each folder is asked
    /// once.
    pub fn goes_through_a_symlink(&self, facts: &dyn PathFacts) -> bool {
        let folder = |path: &str| path.rfind('/').map(|i| path[..i].to_owned());
        let mut folders = std::collections::BTreeSet::new();
        for phase in &self.phases {
            let m = &phase.files;
            for entry in [&m.create, &m.modify, &m.delete, &m.allow, &m.after_verify]
                .into_iter()
                .flatten()
            {
                folders.extend(folder(entry.pattern.literal_prefix()));
            }
            for check in &phase.checks {
                if let CheckKind::File { path, .. } = &check.kind {
                    folders.extend(folder(path));
                }
            }
        }
        folders.iter().any(|f| facts.symlink_prefix(f).is_some())
    }
}

/// No repository: nothing is a symlink.
pub struct NoPathFacts;

impl PathFacts for NoPathFacts {
    fn symlink_prefix(&self, _path: &str) -> Option<String> {
        None
    }
}

/// A plan read from a file: its source, the model and every diagnostic.
#[derive(Debug)]
pub struct LoadedPlan {
    pub source: Source,
    pub plan: Plan,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedPlan {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// The plan, or the errors that make it unusable.
    pub fn into_valid(self) -> Result<(Plan, Vec<Diagnostic>), PlanError> {
        if self.has_errors() {
            Err(PlanError::Invalid {
                path: self.source.display().to_owned(),
                diagnostics: self.diagnostics,
            })
        } else {
            Ok((self.plan, self.diagnostics))
        }
    }
}

/// Why a plan could not be used.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("no plan at {path}")]
    NotFound { path: String },
    #[error("{path} is a directory, not a plan file")]
    IsDirectory { path: String },
    #[error("{path} is {size} bytes; a plan may be at most 1 MiB")]
    TooLarge { path: String, size: u64 },
    #[error("cannot read {path}")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid plan ({})", count_errors(diagnostics))]
    Invalid {
        path: String,
        diagnostics: Vec<Diagnostic>,
    },
}

fn count_errors(diagnostics: &[Diagnostic]) -> String {
    match diagnostics.iter().filter(|d| d.is_error()).count() {
        1 => "1 error".into(),
        n => format!("{n} errors"),
    }
}

/// Reads and validates the plan at `path`, shown to the user as `display`.
pub fn load_file(
    path: &Path,
    display: &str,
    facts: &dyn PathFacts,
) -> Result<LoadedPlan, PlanError> {
    let text = read_file(path, display)?;
    Ok(load_bytes(display, text, facts))
}

/// The bytes of the plan file at `path` (at most [`MAX_PLAN_BYTES`]).
pub fn read_file(path: &Path, display: &str) -> Result<Vec<u8>, PlanError> {
    let unreadable = |source: io::Error| PlanError::Unreadable {
        path: display.to_owned(),
        source,
    };
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(PlanError::NotFound {
                path: display.to_owned(),
            });
        }
        Err(e) => return Err(unreadable(e)),
    };
    if meta.is_dir() {
        return Err(PlanError::IsDirectory {
            path: display.to_owned(),
        });
    }
    if meta.len() > MAX_PLAN_BYTES {
        return Err(PlanError::TooLarge {
            path: display.to_owned(),
            size: meta.len(),
        });
    }
    use std::io::Read;
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    fs::File::open(path)
        .and_then(|f| f.take(MAX_PLAN_BYTES + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(PlanError::TooLarge {
            path: display.to_owned(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// The plan in `bytes` when it is valid, validated as committed (without [`PathFacts`] of a work
/// tree); warnings are dropped, so the search for overlapping manifests, which only yields
/// warnings, is skipped.
pub fn load_valid(display: &str, bytes: Vec<u8>) -> Result<Plan, PlanError> {
    let loaded = match String::from_utf8(bytes) {
        Ok(text) => load_str(display, text, &NoPathFacts, false),
        Err(e) => load_bytes(display, e.into_bytes(), &NoPathFacts),
    };
    Ok(loaded.into_valid()?.0)
}

/// Validates plan text (for example a plan read from a git object). Never fails: every problem
/// becomes a diagnostic.
pub fn load_bytes(display: &str, bytes: Vec<u8>, facts: &dyn PathFacts) -> LoadedPlan {
    match String::from_utf8(bytes) {
        Ok(text) => load_str(display, text, facts, true),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            let source = Source::new(display, String::from_utf8_lossy(e.as_bytes()).into_owned());
            let mut diags = diag::Diagnostics::new(&source);
            let offset = valid_up_to.saturating_sub(source_bom_len(e.as_bytes()));
            diags.error(
                offset..offset + 1,
                "not-utf8",
                "the plan is not valid UTF-8",
                "save the file as UTF-8; TOML files must be UTF-8",
            );
            let diagnostics = diags.into_sorted();
            LoadedPlan {
                plan: validate::empty_plan(),
                source,
                diagnostics,
            }
        }
    }
}

fn source_bom_len(bytes: &[u8]) -> usize {
    if bytes.starts_with("\u{feff}".as_bytes()) {
        3
    } else {
        0
    }
}

/// `overlaps`: also warn about phases whose manifests may overlap (a search over all pairs of
/// phases that only `check` and `graph` show).
fn load_str(display: &str, text: String, facts: &dyn PathFacts, overlaps: bool) -> LoadedPlan {
    let source = Source::new(display, text);
    let mut diags = diag::Diagnostics::new(&source);
    let (root, syntax_errors) = toml::de::DeTable::parse_recoverable(source.text());
    if !syntax_errors.is_empty() {
        let mut seen_lines = Vec::new();
        let mut errors: Vec<_> = syntax_errors.into_iter().collect();
        errors.sort_by_key(|e| e.span().map_or(0, |s| s.start));
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            let line = source.location(span.clone()).line;
            if seen_lines.contains(&line) {
                continue;
            }
            seen_lines.push(line);
            diags.error(
                span,
                "toml-syntax",
                format!("invalid TOML: {}", error.message()),
                "fix the TOML syntax; see docs/plan-format.md for an example plan",
            );
        }
        let diagnostics = diags.into_sorted();
        return LoadedPlan {
            plan: validate::empty_plan(),
            source,
            diagnostics,
        };
    }
    let plan = match raw::read(root, &mut diags) {
        Some((raw, removed)) => {
            let plan = validate::build(raw, &removed, facts, &mut diags);
            graph::diagnose(&plan, &mut diags, overlaps);
            plan
        }
        None => validate::empty_plan(),
    };
    let diagnostics = diags.into_sorted();
    LoadedPlan {
        source,
        plan,
        diagnostics,
    }
}

/// The path of the plan file and the name it is shown under: `--plan` as given (relative to the
/// current directory), or the default path at the top of the work tree.
pub fn locate(explicit: Option<&Path>, workdir: Option<&Path>) -> Option<(PathBuf, String)> {
    match (explicit, workdir) {
        (Some(path), _) => Some((path.to_path_buf(), path.display().to_string())),
        (None, Some(top)) => Some((top.join(DEFAULT_PLAN_PATH), DEFAULT_PLAN_PATH.to_owned())),
        (None, None) => None,
    }
}
