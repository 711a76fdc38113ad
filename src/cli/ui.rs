//! Output for people first and programs second: the only place that writes to stdout and
//! stderr. Colour as git decides it: `--color`, else `color.planx`, else `color.ui` (on a
//! terminal by default), never with `NO_COLOR`; a closed pipe ends the program quietly (see
//! [`crate::error::ErrorKind::BrokenPipe`]).

use std::io::{self, IsTerminal, Write};

use crate::error::CliError;
use crate::git::path::requote;
use crate::plan::{Diagnostic, Severity};

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set or TERM is dumb.
    Auto,
    /// Colour even through a pipe (NO_COLOR still wins).
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// A git colour setting (`color.ui`, `color.planx`) as git reads it: `always`, `never`,
    /// `auto`, or a boolean, true meaning `auto`. `None` for a value git would refuse.
    pub fn from_git(value: &str) -> Option<ColorChoice> {
        let v = value.to_ascii_lowercase();
        match v.as_str() {
            "always" => Some(ColorChoice::Always),
            "never" | "false" | "no" | "off" | "0" => Some(ColorChoice::Never),
            "auto" | "true" | "yes" | "on" | "1" | "" => Some(ColorChoice::Auto),
            _ => None,
        }
    }
}

/// A style of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Error,
    Warning,
    Hint,
    Ok,
    Bold,
    Dim,
    Gutter,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Error => "1;31",
            Style::Warning => "1;33",
            Style::Hint => "1;36",
            Style::Ok => "1;32",
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Gutter => "1;34",
        }
    }
}

/// Applies styles, or not.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    enabled: bool,
}

impl Painter {
    pub fn plain() -> Painter {
        Painter { enabled: false }
    }

    /// Whether it colours at all (logs follow it).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("\x1b[{}m{text}\x1b[0m", style.code())
        } else {
            text.to_owned()
        }
    }
}

/// Where output goes, and how.
pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    /// `core.quotePath`: paths in text output are quoted when they hold bytes above 0x7f.
    pub quote_path: bool,
    out: Painter,
    err: Painter,
}

impl Ui {
    /// `color` is `--color` when given; otherwise git's configuration decides.
    pub fn new(color: Option<ColorChoice>, json: bool, quiet: bool) -> Ui {
        let config = crate::git::cli::output_config();
        let color = color
            .or_else(|| {
                config
                    .color_planx
                    .as_deref()
                    .and_then(ColorChoice::from_git)
            })
            .or_else(|| config.color_ui.as_deref().and_then(ColorChoice::from_git))
            .unwrap_or(ColorChoice::Auto);
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let decide = |terminal: bool| match color {
            _ if no_color => false,
            ColorChoice::Never => false,
            ColorChoice::Always => true,
            ColorChoice::Auto => terminal && !dumb,
        };
        Ui {
            json,
            quiet,
            quote_path: config.quote_path,
            out: Painter {
                enabled: !json && decide(io::stdout().is_terminal()),
            },
            err: Painter {
                enabled: decide(io::stderr().is_terminal()),
            },
        }
    }

    /// The painter for stdout.
    pub fn out_painter(&self) -> Painter {
        self.out
    }

    /// The painter for stderr.
    pub fn err_painter(&self) -> Painter {
        self.err
    }

    /// Writes text to stdout, its paths shown as `core.quotePath` says.
    pub fn out(&self, text: &str) -> Result<(), CliError> {
        self.write_out(&requote(text, self.quote_path))
    }

    fn write_out(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// Writes a JSON document (one line) to stdout.
    pub fn json(&self, value: &serde_json::Value) -> Result<(), CliError> {
        // A `Value` always serializes: a failure here is a bug.
        let mut text = serde_json::to_string(value).map_err(CliError::internal)?;
        text.push('\n');
        self.write_out(&text)
    }

    /// Writes to stderr, paths shown as `core.quotePath` says. A closed stderr is ignored:
    /// there is nobody left to tell.
    pub fn err(&self, text: &str) {
        let text = requote(text, self.quote_path);
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }

    /// Shows an error on stderr (and, with `--json`, as a document on stdout).
    pub fn report_error(&self, error: &CliError) {
        if self.json {
            let doc = serde_json::json!({
                "schema": "planx.error/1",
                "kind": error.kind.as_str(),
                "exit_code": error.exit_code(),
                "message": error.message,
                "causes": error.causes,
                "details": error.details,
                "hints": error.hints,
                "diagnostics": error.diagnostics,
            });
            let _ = self.json(&doc);
        }
        self.err(&render_error(error, self.err));
    }
}

/// An error as text: its plan diagnostics, the message, causes and hints.
pub fn render_error(error: &CliError, p: Painter) -> String {
    let mut out = String::new();
    for d in &error.diagnostics {
        out.push_str(&render_diagnostic(d, p));
        out.push('\n');
    }
    out.push_str(&format!(
        "{}: {}\n",
        p.paint(Style::Error, "error"),
        error.message
    ));
    for line in &error.details {
        out.push_str(&format!("  {line}\n"));
    }
    for cause in &error.causes {
        out.push_str(&format!(
            "  {} {cause}\n",
            p.paint(Style::Dim, "caused by:")
        ));
    }
    for hint in &error.hints {
        out.push_str(&format!("{}: {hint}\n", p.paint(Style::Hint, "hint")));
    }
    out
}

/// A plan diagnostic with the offending line and a caret under the place:
///
/// ```text
/// error: phase `phase-3` depends on unknown phase `phase-9`
///   --> .planx/plan.toml:41:15
///    |
/// 41 | depends_on = ["phase-9"]
///    |               ^^^^^^^^^
/// hint: known phases are phase-1, phase-2, phase-3
/// ```
pub fn render_diagnostic(d: &Diagnostic, p: Painter) -> String {
    let (label, style) = match d.severity {
        Severity::Error => ("error", Style::Error),
        Severity::Warning => ("warning", Style::Warning),
    };
    let loc = &d.location;
    let number = loc.line.to_string();
    let pad = " ".repeat(number.len());
    let bar = p.paint(Style::Gutter, "|");
    let caret_pad: String = loc
        .line_text
        .chars()
        .take(loc.column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let mut out = format!(
        "{}: {}\n{pad}{} {}:{}:{}\n{pad} {bar}\n{} {bar} {}\n{pad} {bar} {caret_pad}{}\n",
        p.paint(style, label),
        p.paint(Style::Bold, &d.message),
        p.paint(Style::Gutter, "-->"),
        loc.file,
        loc.line,
        loc.column,
        p.paint(Style::Gutter, &number),
        loc.line_text,
        p.paint(style, &"^".repeat(loc.width)),
    );
    if let Some(hint) = &d.hint {
        out.push_str(&format!("{}: {hint}\n", p.paint(Style::Hint, "hint")));
    }
    out
}

/// Aligns rows of cells into columns separated by two spaces; the last column is not padded.
/// A row of one cell (a heading) is printed as it is and does not widen the first column.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows.iter().filter(|r| r.len() > 1) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(visible_width(cell));
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - visible_width(cell) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Width on screen: characters, not counting ANSI colour sequences.
pub fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_visible_width() {
        let p = Painter { enabled: true };
        let rows = vec![
            vec![p.paint(Style::Bold, "a"), "x".into()],
            vec!["long".into(), "y".into()],
        ];
        let text = table(&rows);
        let plain: Vec<String> = text
            .lines()
            .map(|l| l.replace("\x1b[1m", "").replace("\x1b[0m", ""))
            .collect();
        assert_eq!(plain, ["a     x", "long  y"]);
    }
}
