//! Problems found in a plan: each one an error or a warning with a stable code, a message that
//! says what is wrong, the place in the file, and a one-line hint saying how to fix it.

use std::ops::Range;

use serde::Serialize;

use super::source::{Location, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case name of the rule (documented in docs/plan-format.md).
    pub code: &'static str,
    pub message: String,
    #[serde(flatten)]
    pub location: Location,
    pub hint: Option<String>,
    #[serde(skip)]
    offset: usize,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Collects diagnostics against one source.
pub(crate) struct Diagnostics<'s> {
    source: &'s Source,
    list: Vec<Diagnostic>,
}

impl<'s> Diagnostics<'s> {
    pub fn new(source: &'s Source) -> Self {
        Diagnostics {
            source,
            list: Vec::new(),
        }
    }

    pub fn error(
        &mut self,
        span: Range<usize>,
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Error, span, code, message.into(), hint.into());
    }

    pub fn warning(
        &mut self,
        span: Range<usize>,
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Warning, span, code, message.into(), hint.into());
    }

    fn push(
        &mut self,
        severity: Severity,
        span: Range<usize>,
        code: &'static str,
        message: String,
        hint: String,
    ) {
        self.list.push(Diagnostic {
            severity,
            code,
            message,
            location: self.source.location(span.clone()),
            hint: (!hint.is_empty()).then_some(hint),
            offset: span.start,
        });
    }

    /// The 1-based line a span starts on (for "first on line N" messages).
    pub fn line_of(&self, span: &Range<usize>) -> usize {
        self.source.location(span.clone()).line
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(Diagnostic::is_error)
    }

    /// All diagnostics, sorted by their position in the file.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.list.sort_by_key(|d| d.offset);
        self.list
    }
}
