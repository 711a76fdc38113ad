//! `report --format html`: the execution report as one page to look at — self-contained (the
//! styles, the script and the drawing are inline; nothing is fetched), with the phase graph
//! drawn here as SVG and each phase's evidence below it.
//!
//! The page is polyglot XHTML: it is read the same by a browser's HTML parser and by an XML
//! parser (every element closed, no named entity but XML's five, `<tbody>` written out, script
//! and styles in CDATA sections), so a test can hold it to well-formedness. Every text that
//! comes from a plan, git or a command's output goes through [`text`] or [`attr`], which escape
//! it and replace what XML cannot carry (control characters, colour sequences of a tail).
//!
//! Large plans stay usable: groups fold (folded from the start beyond [`OPEN_UP_TO`] phases,
//! but for groups holding a phase that needs attention), and a filter by state works without
//! the script (CSS `:has()`); the small script adds folding all, a search by id or title,
//! opening the phase a node of the graph links to, and marks the page ready (`data-ready`) or
//! writes its errors into the page, for the test that loads it in a browser.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::context::Origin;
use super::short;
use crate::clock;
use crate::git::changes::ChangeKind;
use crate::git::path::unquote_path;
use crate::plan::Plan;
use crate::plan::graph::Graph;
use crate::report::execution::{ExecutionReport, PhaseReport};
use crate::report::review::{CheckReview, CheckVerdict};
use crate::state::State;

/// Plans up to this many phases show every group unfolded.
const OPEN_UP_TO: usize = 60;

/// Columns taller than this draw each phase as a slim node: its id, coloured by its state.
const SLIM_ABOVE: usize = 40;

const NODE_W: usize = 200;
const NODE_H: usize = 38;
const SLIM_H: usize = 20;
const GAP_X: usize = 64;
const GAP_Y: usize = 10;
const MARGIN: usize = 16;
const HEADER: usize = 34;

/// The states in the order the filter lists them.
const STATES: [State; 8] = [
    State::Contradicted,
    State::Failed,
    State::Blocked,
    State::Unverified,
    State::InProgress,
    State::Ready,
    State::Waiting,
    State::Complete,
];

/// Text for an element's content.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// Text for a double-quoted attribute value.
pub fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes `s` for XML and HTML alike. Colour sequences (`ESC [ … letter`) are dropped; other
/// control characters are shown as their Unicode pictures (`␛`), since XML 1.0 cannot carry
/// them even as references; a carriage return before a line feed is dropped.
fn escape(s: &str, in_attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attr => out.push_str("&quot;"),
            '\'' if in_attr => out.push_str("&#39;"),
            '\n' | '\t' if in_attr => out.push_str(if c == '\n' { "&#10;" } else { "&#9;" }),
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            '\0'..='\x1f' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
            '\x7f' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Text in which `code spans`, as the domain's messages write them for markdown, become
/// `<code>` (when the backticks pair up; else the text is shown as it is).
pub fn inline(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len() < 3 || parts.len().is_multiple_of(2) {
        return text(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", text(part));
        } else {
            out.push_str(&text(part));
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `s` cut to `n` characters, with an ellipsis when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn duration(secs: Option<i64>) -> String {
    secs.map_or("-".to_owned(), clock::human_duration)
}

fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        clock::human_duration((ms / 1000) as i64)
    }
}

/// A phase needs a person's attention.
fn needs_attention(p: &PhaseReport) -> bool {
    matches!(
        p.state,
        State::Contradicted
            | State::Failed
            | State::Blocked
            | State::Unverified
            | State::InProgress
    ) || !p.problems.is_empty()
}

/// The groups of the graph as lists of phase ids, in execution order; one group of every
/// phase when the dependencies cannot be drawn (a cycle: the plan is invalid).
fn columns<'a>(plan: &'a Plan, graph: Option<&Graph>) -> Vec<(String, Vec<&'a str>)> {
    match graph {
        Some(graph) => graph
            .groups
            .iter()
            .enumerate()
            .map(|(n, g)| {
                (
                    format!("group {} · level {}", n + 1, g.level + 1),
                    g.phases
                        .iter()
                        .map(|&i| plan.phases[i].id.as_str())
                        .collect(),
                )
            })
            .collect(),
        None => vec![(
            "phases (the dependencies form a cycle)".to_owned(),
            plan.phases.iter().map(|p| p.id.as_str()).collect(),
        )],
    }
}

/// The page.
pub fn page(report: &ExecutionReport, plan: &Plan, origin: &Origin, next: &str) -> String {
    let graph = Graph::build(plan).ok();
    let columns = columns(plan, graph.as_ref());
    let by_id: HashMap<&str, &PhaseReport> =
        report.phases.iter().map(|p| (p.id.as_str(), p)).collect();
    let open_all = report.phases.len() <= OPEN_UP_TO;

    let mut out = String::with_capacity(4096 + report.phases.len() * 1500);
    out.push_str("<!DOCTYPE html>\n");
    out.push_str(
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n",
    );
    out.push_str("<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    let _ = writeln!(
        out,
        "<title>{}</title>",
        text(&format!("Plan {} — {}", report.plan, report.plan_title))
    );
    out.push_str("<style>/*<![CDATA[*/\n");
    out.push_str(STYLE);
    for state in STATES {
        let s = state.as_str();
        let _ = writeln!(
            out,
            "body:has(#show-{s}:not(:checked)) .phase[data-state=\"{s}\"] {{ display: none; }}\n\
             body:has(#show-{s}:not(:checked)) .node[data-state=\"{s}\"] {{ opacity: 0.15; }}"
        );
    }
    out.push_str("/*]]>*/</style>\n</head>\n<body>\n");

    header(&mut out, report, origin);
    filter(&mut out, report);
    out.push_str("<section id=\"graph\">\n<h2>Phase graph</h2>\n");
    out.push_str("<p class=\"note\">Groups run in order from left to right; the phases of a group can run side by side. An arrow goes from a phase to one that depends on it.</p>\n");
    out.push_str("<div class=\"scroll\">\n");
    svg(&mut out, plan, &columns, &by_id);
    out.push_str("</div>\n</section>\n");

    out.push_str("<section id=\"phases\">\n<h2>Phases and their evidence</h2>\n");
    out.push_str("<p class=\"js-only\" hidden=\"hidden\"><button type=\"button\" id=\"unfold\">Unfold all</button> <button type=\"button\" id=\"fold\">Fold all</button> <input type=\"search\" id=\"search\" placeholder=\"Find a phase by id or title\"/></p>\n");
    for (heading, ids) in &columns {
        let phases: Vec<&PhaseReport> =
            ids.iter().filter_map(|id| by_id.get(id)).copied().collect();
        let open = open_all || phases.iter().any(|p| needs_attention(p));
        let complete = phases.iter().filter(|p| p.state == State::Complete).count();
        let _ = writeln!(
            out,
            "<details class=\"group\"{}>\n<summary><span class=\"group-name\">{}</span> <span class=\"counts\">{}, {complete} complete</span></summary>",
            if open { " open=\"open\"" } else { "" },
            text(heading),
            plural(phases.len(), "phase", "phases"),
        );
        for p in phases {
            phase(&mut out, p, plan, open_all && needs_attention(p));
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");

    let _ = writeln!(
        out,
        "<section id=\"next\">\n<h2>Next step</h2>\n<p>{}</p>\n</section>",
        inline(next)
    );
    out.push_str("<footer><p>Written by <code>git planx report --format html</code> from git alone: every result above is read from the repository's commits and the notes in <code>refs/notes/planx</code>, not from anyone's report.</p></footer>\n");
    out.push_str("<pre id=\"errors\" hidden=\"hidden\"></pre>\n");
    out.push_str("<script>//<![CDATA[\n");
    out.push_str(SCRIPT);
    out.push_str("//]]></script>\n</body>\n</html>\n");
    out
}

fn header(out: &mut String, r: &ExecutionReport, origin: &Origin) {
    let _ = writeln!(
        out,
        "<header>\n<h1>Plan <code>{}</code> — {}</h1>",
        text(&r.plan),
        text(&r.plan_title)
    );
    let overall = r.overall.as_str();
    let _ = writeln!(
        out,
        "<p class=\"summary\"><span class=\"badge o-{overall}\">{}</span> {} of {} phases complete.</p>",
        text(&overall.replace('-', " ").to_uppercase()),
        r.phases_complete,
        r.phases_total
    );
    out.push_str("<ul class=\"facts\">\n");
    let _ = match origin {
        Origin::Base(tip) => writeln!(
            out,
            "<li>Base: <code>{}</code> at <code>{}</code></li>",
            text(&r.base),
            short(tip)
        ),
        Origin::WorkTree => writeln!(
            out,
            "<li>Base: <code>{}</code> (the plan is not committed there yet)</li>",
            text(&r.base)
        ),
    };
    let _ = match (&r.first, &r.last) {
        (Some(first), Some(last)) => writeln!(
            out,
            "<li>Recorded from <time>{}</time> to <time>{}</time> ({})</li>",
            text(first),
            text(last),
            duration(r.duration_seconds)
        ),
        _ => writeln!(out, "<li>Nothing recorded yet</li>"),
    };
    let command_ms: u64 = r.phases.iter().map(|p| p.command_ms).sum();
    let executor_ms: Option<u64> = r
        .phases
        .iter()
        .filter_map(|p| p.executor_ms)
        .reduce(|a, b| a + b);
    let runs: usize = r.phases.iter().map(|p| p.runs.recorded).sum();
    let mut cost = if runs == 0 {
        "no command run recorded".to_owned()
    } else {
        format!("{} in {} recorded command runs", millis(command_ms), runs)
    };
    if let Some(ms) = executor_ms {
        let _ = write!(cost, ", {} in executors", millis(ms));
    }
    let _ = writeln!(out, "<li>Cost: {}</li>", text(&cost));
    out.push_str("</ul>\n</header>\n");
}

fn filter(out: &mut String, r: &ExecutionReport) {
    out.push_str("<form id=\"filter\" class=\"filter\" action=\"#\">\n<fieldset>\n<legend>Show phases that are</legend>\n");
    for state in STATES {
        let s = state.as_str();
        let n = r.phases.iter().filter(|p| p.state == state).count();
        let _ = writeln!(
            out,
            "<label class=\"s-{s}\"><input type=\"checkbox\" id=\"show-{s}\" checked=\"checked\"/> <span class=\"dot\"></span>{s} <span class=\"n\">{n}</span></label>"
        );
    }
    out.push_str("</fieldset>\n</form>\n");
}

fn svg(
    out: &mut String,
    plan: &Plan,
    columns: &[(String, Vec<&str>)],
    by_id: &HashMap<&str, &PhaseReport>,
) {
    let tallest = columns.iter().map(|(_, ids)| ids.len()).max().unwrap_or(0);
    let slim = tallest > SLIM_ABOVE;
    let (node_h, gap_y) = if slim { (SLIM_H, 4) } else { (NODE_H, GAP_Y) };
    let width = MARGIN * 2 + columns.len() * NODE_W + columns.len().saturating_sub(1) * GAP_X;
    let height = MARGIN * 2 + HEADER + tallest * (node_h + gap_y);
    let mut place: HashMap<&str, (usize, usize)> = HashMap::new();
    for (c, (_, ids)) in columns.iter().enumerate() {
        for (k, id) in ids.iter().enumerate() {
            let x = MARGIN + c * (NODE_W + GAP_X);
            let y = MARGIN + HEADER + k * (node_h + gap_y);
            place.insert(id, (x, y));
        }
    }
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"graph-drawing\" class=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        if slim { "slim" } else { "full" },
        attr(&format!(
            "The phase graph of plan {}: {} phases in {} groups",
            plan.id,
            plan.phases.len(),
            columns.len()
        ))
    );
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" class=\"head\"/></marker></defs>\n");
    for (c, (heading, _)) in columns.iter().enumerate() {
        let x = MARGIN + c * (NODE_W + GAP_X);
        let _ = writeln!(
            out,
            "<text class=\"col\" x=\"{x}\" y=\"{}\">{}</text>",
            MARGIN + 14,
            text(heading)
        );
    }
    out.push_str("<g class=\"edges\">\n");
    for phase in &plan.phases {
        let Some(&(tx, ty)) = place.get(phase.id.as_str()) else {
            continue;
        };
        for dep in &phase.depends_on {
            let Some(&(fx, fy)) = place.get(dep.id.as_str()) else {
                continue;
            };
            let (x1, y1) = (fx + NODE_W, fy + node_h / 2);
            let (x2, y2) = (tx, ty + node_h / 2);
            let bend = (x2.saturating_sub(x1)) / 2;
            let _ = writeln!(
                out,
                "<path class=\"edge\" data-from=\"{}\" data-to=\"{}\" d=\"M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}\" marker-end=\"url(#arrow)\"/>",
                attr(&dep.id),
                attr(&phase.id),
                x1 + bend,
                x2 - bend,
            );
        }
    }
    out.push_str("</g>\n");
    for (_, ids) in columns {
        for id in ids {
            let (Some(&(x, y)), Some(p)) = (place.get(id), by_id.get(id)) else {
                continue;
            };
            let state = p.state.as_str();
            let mut sub = state.to_owned();
            if !p.stale.is_empty() {
                sub.push_str(" (stale)");
            }
            if p.duration_seconds.is_some() {
                sub.push_str(" · ");
                sub.push_str(&duration(p.duration_seconds));
            }
            let label = if slim {
                format!(
                    "<text x=\"{}\" y=\"{}\" class=\"id\">{}</text>",
                    x + 8,
                    y + 14,
                    text(&cut(id, 26))
                )
            } else {
                format!(
                    "<text x=\"{tx}\" y=\"{}\" class=\"id\">{}</text><text x=\"{tx}\" y=\"{}\" class=\"sub\">{}</text>",
                    y + 16,
                    text(&cut(id, 26)),
                    y + 31,
                    text(&sub),
                    tx = x + 10,
                )
            };
            let _ = writeln!(
                out,
                "<a href=\"#phase-{id_attr}\"><g class=\"node s-{state}\" data-phase=\"{id_attr}\" data-state=\"{state}\"><title>{tip}</title><rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{node_h}\" rx=\"{rx}\"/>{label}</g></a>",
                id_attr = attr(id),
                tip = text(&format!("{id}: {} ({sub})", p.title)),
                rx = if slim { 3 } else { 6 },
            );
        }
    }
    out.push_str("</svg>\n");
}

fn verdict_badge(v: CheckVerdict) -> &'static str {
    match v {
        CheckVerdict::Verified => "<span class=\"badge v-ok\">VERIFIED</span>",
        CheckVerdict::NotVerified => "<span class=\"badge v-no\">NOT VERIFIED</span>",
        CheckVerdict::NotRun => "<span class=\"badge v-skip\">NOT RUN</span>",
    }
}

fn phase(out: &mut String, p: &PhaseReport, plan: &Plan, open: bool) {
    let state = p.state.as_str();
    let id = attr(&p.id);
    let _ = writeln!(
        out,
        "<details class=\"phase\" id=\"phase-{id}\" data-phase=\"{id}\" data-state=\"{state}\" data-title=\"{}\"{}>",
        attr(&p.title.to_lowercase()),
        if open { " open=\"open\"" } else { "" }
    );
    let mut stale = String::new();
    if !p.stale.is_empty() {
        stale.push_str(" <span class=\"badge s-unverified\">stale</span>");
    }
    let _ = writeln!(
        out,
        "<summary><span class=\"badge s-{state}\">{state}</span>{stale} <code class=\"pid\">{}</code> {} <span class=\"meta\">{}</span></summary>",
        text(&p.id),
        text(&p.title),
        text(&duration(p.duration_seconds)),
    );
    out.push_str("<div class=\"body\">\n<dl class=\"facts\">\n");
    let mut fact = |name: &str, value: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", text(name));
    };
    fact("kind", text(p.kind.as_str()));
    fact("owner", text(p.owner.as_deref().unwrap_or("-")));
    let deps: Vec<String> = plan
        .phases
        .iter()
        .find(|ph| ph.id == p.id)
        .map(|ph| {
            ph.depends_on
                .iter()
                .map(|d| {
                    format!(
                        "<a href=\"#phase-{}\"><code>{}</code></a>",
                        attr(&d.id),
                        text(&d.id)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    fact(
        "after",
        if deps.is_empty() {
            "-".to_owned()
        } else {
            deps.join(", ")
        },
    );
    fact(
        "branch",
        format!(
            "<code>{}</code>{}",
            text(&p.branch),
            if p.branch_exists { "" } else { " (none)" }
        ),
    );
    if let Some(by) = &p.completed_by {
        fact("merged by", format!("<code>{}</code>", short(by)));
    }
    fact(
        "recorded",
        match (&p.first, &p.last) {
            (Some(a), Some(b)) => format!(
                "<time>{}</time> to <time>{}</time> ({})",
                text(a),
                text(b),
                text(&duration(p.duration_seconds))
            ),
            _ => "nothing yet".to_owned(),
        },
    );
    let mut cost = format!(
        "{} in {} recorded command runs ({} passed, {} failed, {} red)",
        millis(p.command_ms),
        p.runs.recorded,
        p.runs.passed,
        p.runs.failed,
        p.runs.red
    );
    if let Some(ms) = p.executor_ms {
        let _ = write!(cost, "; {} in the executor", millis(ms));
    }
    fact("cost", text(&cost));
    out.push_str("</dl>\n");

    if !p.problems.is_empty() {
        out.push_str("<h4>Open problems</h4>\n<ul class=\"problems\">\n");
        for x in &p.problems {
            let _ = writeln!(
                out,
                "<li><code>{}</code> {}</li>",
                text(&x.code),
                inline(&x.message)
            );
        }
        out.push_str("</ul>\n");
    }

    checks(out, p);
    coverage(out, p);
    timeline(out, p);
    out.push_str("</div>\n</details>\n");
}

fn checks(out: &mut String, p: &PhaseReport) {
    if p.checks.is_empty() {
        return;
    }
    let verify = match &p.latest_verify {
        None => "No verify is recorded.".to_owned(),
        Some(r) if p.latest_verify_of_tip => {
            format!("From the verify of tree {} ({}).", short(&r.tree), r.ts)
        }
        Some(r) => format!(
            "The latest verify ({}, of tree {}) is of an older tree: nothing is verified for the latest.",
            r.ts,
            short(&r.tree)
        ),
    };
    let _ = writeln!(
        out,
        "<h4>Checks</h4>\n<p class=\"note\">{}</p>\n<table class=\"checks\">\n<thead><tr><th>Check</th><th>Kind</th><th>Result</th><th>Evidence</th></tr></thead>\n<tbody>",
        text(&verify)
    );
    let started = p.branch_exists || p.completed_by.is_some();
    for c in &p.checks {
        check_row(out, c, started);
    }
    out.push_str("</tbody>\n</table>\n");
}

fn check_row(out: &mut String, c: &CheckReview, started: bool) {
    let mut kind = c.kind.to_owned();
    if c.tdd {
        kind.push_str(", tdd");
    }
    let evidence = if started {
        c.evidence.as_str()
    } else {
        "the phase has not started"
    };
    let mut cell = inline(evidence);
    if let Some(command) = &c.command {
        let _ = write!(cell, "<br/><code>{}</code>", text(&command.shell));
    }
    if let Some(run) = &c.run {
        let _ = write!(
            cell,
            "<br/><span class=\"meta\">{} in {}</span>",
            text(&run_result(run)),
            millis(run.duration_ms)
        );
        if !run.tail.trim().is_empty() {
            let _ = write!(
                cell,
                "<details class=\"tail\"><summary>output tail</summary><pre>{}</pre></details>",
                text(run.tail.trim_start_matches(['\n', '\r']))
            );
        }
    }
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{cell}</td></tr>",
        text(&c.name),
        text(&kind),
        verdict_badge(c.verdict),
    );
}

fn run_result(run: &crate::state::events::CommandRun) -> String {
    let how = if run.timed_out {
        "timed out".to_owned()
    } else {
        match (run.exit, run.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no status".to_owned(),
        }
    };
    format!("{}, {how}", if run.passed { "passed" } else { "failed" })
}

fn coverage(out: &mut String, p: &PhaseReport) {
    out.push_str("<h4>Manifest coverage</h4>\n");
    let Some(from) = &p.files_from else {
        out.push_str("<p class=\"note\">No change to read yet.</p>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p class=\"note\">Read from {} <code>{}</code>..<code>{}</code>.</p>",
        text(from.what),
        short(&from.from),
        short(&from.to)
    );
    if p.files.is_empty() {
        out.push_str("<p class=\"note\">No file changed.</p>\n");
        return;
    }
    out.push_str("<table class=\"files\">\n<thead><tr><th>Path</th><th>Declared as</th><th>Change</th><th class=\"num\">+</th><th class=\"num\">−</th></tr></thead>\n<tbody>\n");
    for f in &p.files {
        let declared = match &f.declared {
            Some((kind, pattern)) => {
                format!("{} <code>{}</code>", text(kind.as_str()), text(pattern))
            }
            None => "<span class=\"badge v-no\">undeclared</span>".to_owned(),
        };
        let change = match f.change {
            ChangeKind::Added => "created",
            kind => kind.as_str(),
        };
        let (plus, minus) = if f.binary {
            ("binary".to_owned(), "binary".to_owned())
        } else {
            (f.added.to_string(), f.removed.to_string())
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{declared}</td><td>{change}</td><td class=\"num\">{plus}</td><td class=\"num\">{minus}</td></tr>",
            text(&unquote_path(&f.path)),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn timeline(out: &mut String, p: &PhaseReport) {
    if p.timeline.is_empty() && p.recorded_runs.is_empty() {
        return;
    }
    out.push_str("<h4>Timeline</h4>\n<table class=\"timeline\">\n<thead><tr><th>Time</th><th>Event</th><th>Commit</th><th>Detail</th></tr></thead>\n<tbody>\n");
    for e in &p.timeline {
        let mut what = e.what.clone();
        if let Some(step) = &e.step {
            let _ = write!(what, " {step}");
        }
        let _ = writeln!(
            out,
            "<tr><td><time>{}</time></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            text(&e.time),
            text(&what),
            short(&e.commit),
            inline(&e.detail)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !p.recorded_runs.is_empty() {
        out.push_str("<h4>Command runs</h4>\n<table class=\"runs\">\n<thead><tr><th>Time</th><th>For</th><th>Command</th><th>Result</th><th class=\"num\">Took</th></tr></thead>\n<tbody>\n");
        for r in &p.recorded_runs {
            let mut what = r.when.to_owned();
            if let Some(label) = &r.label {
                let _ = write!(what, " {label}");
            }
            let _ = writeln!(
                out,
                "<tr class=\"{}\"><td><time>{}</time></td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td></tr>",
                if r.run.passed { "passed" } else { "failed" },
                text(&r.ts),
                text(&what),
                text(&r.run.command),
                text(&run_result(&r.run)),
                millis(r.run.duration_ms)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

const STYLE: &str = r#":root {
  --bg: #fbfbfa; --fg: #1d2327; --muted: #5d6b75; --line: #d8dde1; --card: #ffffff;
  --complete: #2e8540; --unverified: #8e44ad; --failed: #c0392b; --blocked: #d35400;
  --in-progress: #1f6fb2; --ready: #138d90; --waiting: #8a959e;
}
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 24px; margin: 0 0 8px; }
h1 code { font-size: inherit; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h4 { font-size: 14px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f1f3f4; border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 24em; white-space: pre-wrap; }
a { color: inherit; }
.note, .meta { color: var(--muted); }
.meta { font-size: 13px; }
ul.facts { list-style: none; padding: 0; margin: 4px 0; color: var(--muted); }
.summary { font-size: 17px; margin: 4px 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  color: #fff; background: var(--waiting); vertical-align: 1px; }
.o-complete { background: var(--complete); } .o-failed { background: var(--failed); }
.o-blocked { background: var(--blocked); } .o-in-progress { background: var(--in-progress); }
.o-not-started { background: var(--waiting); }
.v-ok { background: var(--complete); } .v-no { background: var(--failed); } .v-skip { background: var(--waiting); }
.badge.s-complete, .s-complete .dot { background: var(--complete); }
.badge.s-unverified, .s-unverified .dot { background: var(--unverified); }
.badge.s-failed, .s-failed .dot { background: var(--failed); }
.badge.s-blocked, .s-blocked .dot { background: var(--blocked); }
.badge.s-in-progress, .s-in-progress .dot { background: var(--in-progress); }
.badge.s-ready, .s-ready .dot { background: var(--ready); }
.badge.s-waiting, .s-waiting .dot { background: var(--waiting); }
.filter fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; margin: 16px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.filter legend { color: var(--muted); font-size: 13px; padding: 0 4px; }
.filter label { cursor: pointer; white-space: nowrap; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin: 0 4px 0 2px; }
.filter .n { color: var(--muted); font-size: 13px; }
.scroll { overflow: auto; max-height: 70vh; border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg text.col { font-weight: 600; fill: var(--muted); }
svg text.id { font: 600 12.5px ui-monospace, Menlo, monospace; fill: #fff; }
svg text.sub { font-size: 11px; fill: #fff; opacity: .92; }
.node rect { fill: var(--waiting); stroke: rgba(0,0,0,.15); }
.node.s-complete rect { fill: var(--complete); } .node.s-unverified rect { fill: var(--unverified); }
.node.s-failed rect { fill: var(--failed); } .node.s-blocked rect { fill: var(--blocked); }
.node.s-in-progress rect { fill: var(--in-progress); } .node.s-ready rect { fill: var(--ready); }
.node.s-waiting rect { fill: var(--waiting); }
.node:hover rect { stroke: var(--fg); stroke-width: 2; }
.edge { fill: none; stroke: #9aa5ad; stroke-width: 1.3; }
svg.slim .edge { stroke-opacity: .35; stroke-width: 1; }
.head { fill: #9aa5ad; }
details.group { margin: 10px 0; border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
details.group > summary { padding: 8px 12px; cursor: pointer; font-weight: 600; }
details.group > summary .counts { font-weight: normal; color: var(--muted); font-size: 13px; margin-left: 8px; }
details.phase { border-top: 1px solid var(--line); }
details.phase > summary { padding: 6px 12px 6px 24px; cursor: pointer; }
details.phase > summary .pid { font-weight: 600; margin: 0 6px; }
details.phase:target > summary { background: #fff6d6; }
.body { padding: 4px 24px 16px 40px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.failed td { color: var(--failed); }
details.tail > summary { cursor: pointer; color: var(--muted); font-size: 13px; }
ul.problems li code { color: var(--failed); }
footer { margin-top: 32px; color: var(--muted); font-size: 13px; }
#errors { color: var(--failed); }
.hidden-by-search { display: none; }
"#;

const SCRIPT: &str = r#"(function () {
  "use strict";
  var root = document.documentElement;
  var errors = document.getElementById("errors");
  function fail(message) {
    errors.hidden = false;
    errors.textContent += message + "\n";
    root.setAttribute("data-errors", "true");
  }
  window.onerror = function (message, source, line) {
    fail(String(message) + " (line " + line + ")");
  };
  try {
    var phases = Array.prototype.slice.call(document.querySelectorAll("details.phase"));
    var groups = Array.prototype.slice.call(document.querySelectorAll("details.group"));
    Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (e) {
      e.hidden = false;
    });
    function setAll(open) {
      groups.concat(phases).forEach(function (d) { d.open = open; });
    }
    document.getElementById("unfold").addEventListener("click", function () { setAll(true); });
    document.getElementById("fold").addEventListener("click", function () { setAll(false); });
    document.getElementById("search").addEventListener("input", function (event) {
      var word = event.target.value.trim().toLowerCase();
      phases.forEach(function (d) {
        var hit = word === "" || d.getAttribute("data-phase").indexOf(word) !== -1 ||
          d.getAttribute("data-title").indexOf(word) !== -1;
        d.classList.toggle("hidden-by-search", !hit);
      });
    });
    function reveal() {
      var id = decodeURIComponent(window.location.hash.slice(1));
      var target = id ? document.getElementById(id) : null;
      if (!target || !target.classList.contains("phase")) { return; }
      target.open = true;
      if (target.parentElement) { target.parentElement.open = true; }
      target.scrollIntoView();
    }
    window.addEventListener("hashchange", reveal);
    reveal();
    root.setAttribute("data-phases", String(phases.length));
    root.setAttribute("data-ready", "true");
  } catch (e) {
    fail(String(e));
  }
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml_and_html() {
        assert_eq!(text("a < b & c > d"), "a &lt; b &amp; c &gt; d");
        assert_eq!(attr("\"it's\"\nx"), "&quot;it&#39;s&quot;&#10;x");
        assert_eq!(text("\x1b[1;31mred\x1b[0m ok"), "red ok");
        assert_eq!(
            text("bell\x07 nul\0 del\x7f"),
            "bell\u{2407} nul\u{2400} del\u{2421}"
        );
        assert_eq!(text("line\r\nnext\rover"), "line\nnext\u{240d}over");
        assert_eq!(text("c1\u{85} \u{fffe}"), "c1\u{fffd} \u{fffd}");
        assert_eq!(text("café ☕"), "café ☕");
    }

    #[test]
    fn long_ids_are_cut_with_an_ellipsis() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdef", 4), "abc…");
    }

    #[test]
    fn code_spans_of_messages_become_code() {
        assert_eq!(inline("run `a < b` now"), "run <code>a &lt; b</code> now");
        assert_eq!(inline("one ` tick"), "one ` tick");
        assert_eq!(inline("plain"), "plain");
    }
}
