//! Output for people first and programs second: the only place that writes to stdout and
//! stderr. Colour as git decides it: `--color`, else `color.planx`, else `color.ui` (on a
//! terminal by default), never with `NO_COLOR`; a closed pipe ends the program quietly (see
//! [`crate::error::ErrorKind::BrokenPipe`]).

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    /// `--color`, when given.
    color: Option<ColorChoice>,
    /// What git's configuration says of output, read (with one `git config`) the first time an
    /// answer depends on it: a command that writes nothing (a hook that lets a commit through),
    /// or whose output it cannot change (`NO_COLOR` or `--color` set, no path quoted for its
    /// bytes), does not start git for it.
    config: OnceLock<crate::git::cli::OutputConfig>,
    out_painter: OnceLock<Painter>,
    err_painter: OnceLock<Painter>,
    /// stderr is a terminal that can redraw a line.
    live: bool,
}

impl Ui {
    /// `color` is `--color` when given; otherwise git's configuration decides.
    pub fn new(color: Option<ColorChoice>, json: bool, quiet: bool) -> Ui {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Ui {
            json,
            quiet,
            color,
            config: OnceLock::new(),
            out_painter: OnceLock::new(),
            err_painter: OnceLock::new(),
            live: io::stderr().is_terminal() && !dumb,
        }
    }

    fn config(&self) -> &crate::git::cli::OutputConfig {
        self.config.get_or_init(crate::git::cli::output_config)
    }

    /// How a stream (a terminal or not) is coloured: `NO_COLOR` turns colour off, else
    /// `--color`, else `color.planx`, else `color.ui`, else colour on a terminal (not a dumb
    /// one).
    fn painter(&self, terminal: bool) -> Painter {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Painter::plain();
        }
        let color = self
            .color
            .or_else(|| {
                let config = self.config();
                config
                    .color_planx
                    .as_deref()
                    .and_then(ColorChoice::from_git)
                    .or_else(|| config.color_ui.as_deref().and_then(ColorChoice::from_git))
            })
            .unwrap_or(ColorChoice::Auto);
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Painter {
            enabled: match color {
                ColorChoice::Never => false,
                ColorChoice::Always => true,
                ColorChoice::Auto => terminal && !dumb,
            },
        }
    }

    /// `text` with its paths shown as `core.quotePath` says; the setting is read only for a
    /// text holding a path git quoted for a byte above 0x7f, the only paths it changes.
    fn requoted(&self, text: &str) -> String {
        if !crate::git::path::depends_on_quote_path(text) {
            return text.to_owned();
        }
        requote(text, self.config().quote_path)
    }

    /// The same, never showing [`Ui::progress`] (stderr carries logs).
    pub fn without_progress(mut self) -> Ui {
        self.live = false;
        self
    }

    /// Shows each of the plan's commands as it runs, on a terminal: a one-line spinner on
    /// stderr with what the command is for and for how long it has run, cleared when it ends.
    /// Nothing in a pipe, with `--json`, `-q` or logs (`-v`, `PLANX_LOG`). The spinner lives as
    /// long as the guard.
    pub fn progress(&self) -> Option<crate::process::Watching> {
        if !self.live || self.json || self.quiet {
            return None;
        }
        Some(crate::process::watch(Arc::new(Spinner::new(
            self.err_painter(),
        ))))
    }

    /// Shows `text` as the one line of progress on a terminal (redrawn in place), or clears it
    /// when `None`. Nothing in a pipe, with `--json`, `-q` or logs.
    pub fn status_line(&self, text: Option<&str>) {
        if !self.live || self.json || self.quiet {
            return;
        }
        let line = match text {
            Some(text) => format!("{CLEAR_LINE}{text}"),
            None => CLEAR_LINE.to_owned(),
        };
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }

    /// The painter for stdout.
    pub fn out_painter(&self) -> Painter {
        *self.out_painter.get_or_init(|| match self.json {
            true => Painter::plain(),
            false => self.painter(io::stdout().is_terminal()),
        })
    }

    /// The painter for stderr.
    pub fn err_painter(&self) -> Painter {
        *self
            .err_painter
            .get_or_init(|| self.painter(io::stderr().is_terminal()))
    }

    /// Writes text to stdout, its paths shown as `core.quotePath` says.
    pub fn out(&self, text: &str) -> Result<(), CliError> {
        self.write_out(&self.requoted(text))
    }

    /// Writes text to stdout as it is (a document whose bytes are its own).
    pub fn out_raw(&self, text: &str) -> Result<(), CliError> {
        self.write_out(text)
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
        let text = self.requoted(text);
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }

    /// Shows an error on stderr (and, with `--json`, as a document on stdout).
    pub fn report_error(&self, error: &CliError) {
        if self.json {
            let _ = self.json(&error_document(error));
        }
        self.err(&render_error(error, self.err_painter()));
    }
}

/// An error as a `planx.error/1` document: what `--json` prints and what the MCP tools answer.
pub fn error_document(error: &CliError) -> serde_json::Value {
    serde_json::json!({
        "schema": "planx.error/1",
        "kind": error.kind.as_str(),
        "exit_code": error.exit_code(),
        "message": error.message,
        "causes": error.causes,
        "details": error.details,
        "hints": error.hints,
        "diagnostics": error.diagnostics,
    })
}

/// The frames of the spinner, and how often it turns.
const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
const TURN: Duration = Duration::from_millis(100);
/// Clears the line the cursor is on and goes back to its start.
pub const CLEAR_LINE: &str = "\r\x1b[2K";

/// The line [`Ui::progress`] draws: `| check `tests pass`: cargo test  3s`.
struct Spinner {
    painter: Painter,
    shared: Arc<(Mutex<Turning>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Turning {
    /// Bumped at each start and end, so that a turning thread knows its command has ended.
    run: u64,
}

impl Spinner {
    fn new(painter: Painter) -> Spinner {
        Spinner {
            painter,
            shared: Arc::new((Mutex::new(Turning::default()), Condvar::new())),
            thread: Mutex::new(None),
        }
    }
}

/// Columns of the terminal on stderr (80 when it does not say).
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills the `winsize` it is given; nothing else is touched.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

/// One frame of the spinner's line, cut to fit the terminal so that it never wraps (a wrapped
/// line could not be cleared).
fn spinner_frame(frame: usize, line: &str, elapsed: Duration, width: usize, p: Painter) -> String {
    let secs = elapsed.as_secs();
    let time = match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs / 60 % 60),
    };
    let room = width.saturating_sub(time.len() + 5).max(8);
    let mut text: String = line.chars().take(room).collect();
    if line.chars().count() > room {
        text.pop();
        text.push('…');
    }
    format!(
        "{CLEAR_LINE}{} {text}  {}",
        FRAMES[frame % FRAMES.len()],
        p.paint(Style::Dim, &time)
    )
}

impl crate::process::Watch for Spinner {
    fn started(&self, what: &str, command: &str) {
        let line = format!("{what}: {}", command.replace(['\n', '\r'], " "));
        let run = {
            let (lock, _) = &*self.shared;
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            state.run += 1;
            state.run
        };
        // The first frame is drawn at once, so that every command is seen, however short.
        let width = terminal_width();
        let started = Instant::now();
        let first = spinner_frame(0, &line, Duration::ZERO, width, self.painter);
        let _ = io::stderr().lock().write_all(first.as_bytes());
        let shared = Arc::clone(&self.shared);
        let painter = self.painter;
        let handle = std::thread::spawn(move || {
            let (lock, turned) = &*shared;
            let mut frame = 1;
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            while state.run == run {
                state = turned
                    .wait_timeout(state, TURN)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                if state.run != run {
                    break;
                }
                let text = spinner_frame(frame, &line, started.elapsed(), width, painter);
                let _ = io::stderr().lock().write_all(text.as_bytes());
                frame += 1;
            }
        });
        *self.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    }

    fn finished(&self) {
        {
            let (lock, turned) = &*self.shared;
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            state.run += 1;
            turned.notify_all();
        }
        if let Some(handle) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        let _ = io::stderr().lock().write_all(CLEAR_LINE.as_bytes());
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
    fn a_spinner_frame_fits_its_line() {
        let p = Painter::plain();
        let frame = spinner_frame(1, "check `a`: cargo test", Duration::from_secs(3), 80, p);
        assert_eq!(frame, "\r\x1b[2K/ check `a`: cargo test  3s");
        let long = "x".repeat(200);
        let frame = spinner_frame(0, &long, Duration::from_secs(75), 40, p);
        let shown = frame.strip_prefix(CLEAR_LINE).unwrap();
        assert!(shown.chars().count() < 40, "{shown}");
        assert!(shown.ends_with("x…  1m 15s"), "{shown}");
    }

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
