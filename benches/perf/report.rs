//! The report: markdown tables of a run, with the machine it ran on, written between markers in
//! docs/performance.md (text outside the markers is kept), and an SVG plot of note writes.

use std::path::Path;
use std::process::Command;

use crate::env::Env;
use crate::fixture::Meta;
use crate::measure::{Reps, Sample};
use crate::notes::{Series, WINDOW};
use crate::{Floor, PairResult, PhaseScaling, group};

pub const BEGIN: &str =
    "<!-- perf:begin: written by `cargo bench --bench perf`; edit outside these markers -->";
pub const END: &str = "<!-- perf:end -->";
const PLOT: &str = "perf-note-writes.svg";
const GROWTH_PLOT: &str = "perf-growth.svg";

#[derive(Default)]
pub struct Results {
    pub machine: Vec<(String, String)>,
    pub seed: u64,
    pub reps: Reps,
    pub toggle_reps: Reps,
    pub note_writes: usize,
    pub smoke: bool,
    pub fixtures: Vec<Meta>,
    pub pairs: Vec<PairResult>,
    pub toggles: Vec<PairResult>,
    pub floors: Vec<Floor>,
    pub phase_scaling: Vec<PhaseScaling>,
    pub note_series: Vec<Series>,
    /// The `run` pair, per phase, on its own repository.
    pub run: Option<PairResult>,
    /// The work of `status`, counted.
    pub work: Vec<crate::work::WorkCount>,
    /// How `status` grows with the plan's history and phases.
    pub growth: Vec<crate::growth::Point>,
}

/// The machine, the tools and the code measured.
pub fn machine(env: &Env, manifest_dir: &str) -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .map_or("unknown".into(), |kb| format!("{} GiB", kb / 1024 / 1024));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let git = env
        .git(Path::new(manifest_dir), &["--version"])
        .trim()
        .to_owned();
    let planx = String::from_utf8_lossy(&env.planx(Path::new(manifest_dir), &["--version"]).stdout)
        .trim()
        .to_owned();
    let tool = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    let commit = tool("git", &["rev-parse", "--short=10", "HEAD"]);
    // --no-optional-locks: reading this project's status must not rewrite its index.
    let dirty = tool(
        "git",
        &[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--",
            ".",
            ":!docs/performance.md",
            ":!docs/perf-note-writes.svg",
        ],
    );
    let code = if dirty.is_empty() {
        commit
    } else {
        format!("{commit} with uncommitted changes")
    };
    vec![
        ("CPU".into(), model),
        ("cores".into(), cores.to_string()),
        ("memory".into(), memory),
        ("kernel".into(), kernel),
        ("git".into(), git),
        (
            "git-planx".into(),
            format!(
                "{planx} ({} build), commit {code}",
                if cfg!(debug_assertions) {
                    "debug"
                } else {
                    "release"
                }
            ),
        ),
        ("rustc".into(), tool("rustc", &["--version"])),
        (
            "date".into(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
    ]
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn spread(s: &Sample) -> String {
    format!("{} ({}–{})", ms(s.median()), ms(s.min()), ms(s.max()))
}

/// Median CPU times of both sides and their ratio.
fn cpu_cell(p: &PairResult) -> String {
    match (p.planx.cpu_median(), p.git.cpu_median(), p.cpu_ratio()) {
        (Some(a), Some(b), Some(r)) => format!("{} / {}, {r:.2}×", ms(a), ms(b)),
        _ => "—".into(),
    }
}

fn verdict(ratio: f64, goal: Option<f64>) -> &'static str {
    match goal {
        Some(g) if ratio <= g => "met",
        Some(_) => "**missed**",
        None => "",
    }
}

/// The size the goals table is about: M when measured, else the largest measured.
fn goal_size(results: &Results) -> String {
    let sizes: Vec<&str> = results.fixtures.iter().map(|m| m.size.as_str()).collect();
    if sizes.contains(&"M") {
        "M".into()
    } else {
        sizes.last().map_or("S".into(), |s| s.to_string())
    }
}

pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let size = goal_size(results);
    out.push_str("## Results\n\n");
    if results.smoke {
        out.push_str("**Smoke run** (one run per side, no warm-up): these numbers only show that the suite works.\n\n");
    }
    out.push_str(&format!(
        "Each side of a pair ran {} untimed warm-up runs, then at least {} timed runs and more \
         (up to 201) until the pair had taken {} s, alternating which side goes first; the tables \
         give medians (min–max) and the ratio of the medians, git-planx ÷ git. Fixtures from seed {}.\n\n",
        results.reps.warmup, results.reps.reps, results.reps.seconds, results.seed
    ));
    out.push_str("| machine | |\n| --- | --- |\n");
    for (k, v) in &results.machine {
        out.push_str(&format!("| {k} | {v} |\n"));
    }

    out.push_str("\n### Fixtures\n\n");
    out.push_str("| size | complete phases reached main by | tracked files | folders | commits (all refs) | project history | phases | notes | objects on disk | generated in |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for m in &results.fixtures {
        let states: Vec<String> = m.states.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let shapes: Vec<String> = m
            .completions
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} MiB | {:.0} s |\n",
            m.size,
            shapes.join(", "),
            group(m.tracked_files),
            group(m.folders),
            group(m.commits),
            group(m.history_commits),
            group(m.phases),
            states.join(", "),
            group(m.notes),
            m.object_bytes / (1024 * 1024),
            m.seconds,
        ));
    }

    out.push_str(&format!("\n### The goals ({size})\n\n"));
    out.push_str("| operation | git-planx | compared with | git-planx | git | ratio | goal | | CPU time (user + system), git-planx / git |\n");
    out.push_str("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n");
    for p in results.pairs.iter().filter(|p| p.size == size) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | **{:.2}×** | {} | {} | {} |\n",
            p.operation,
            p.planx_op,
            p.git_op,
            ms(p.planx.median()),
            ms(p.git.median()),
            p.ratio(),
            p.goal.map_or("—".into(), |g| format!("≤ {g}×")),
            verdict(p.ratio(), p.goal),
            cpu_cell(p),
        ));
    }
    for s in &results.note_series {
        if s.label.starts_with(&size) {
            out.push_str(&format!(
                "| {} sequential note writes, {} notes before | `Repo::append_note_line` | its own first {WINDOW} writes | last {WINDOW}: {} | first {WINDOW}: {} | **{:.2}×** | ≤ 1.2× | {} | — |\n",
                group(s.ms.len()),
                group(s.notes_before),
                ms(s.last()),
                ms(s.first()),
                s.ratio(),
                verdict(s.ratio(), Some(1.2)),
            ));
        }
    }
    if let Some(p) = &results.run {
        out.push_str(&format!(
            "| {} | {} | {} | {} / phase | {} / phase | **{:.2}×** | {} | {} | {} |\n",
            p.operation,
            p.planx_op,
            p.git_op,
            ms(p.planx.median()),
            ms(p.git.median()),
            p.ratio(),
            p.goal.map_or("—".into(), |g| format!("≤ {g}×")),
            verdict(p.ratio(), p.goal),
            cpu_cell(p),
        ));
    }

    if !results.floors.is_empty() {
        out.push_str("\n### What bounds them\n\n");
        out.push_str(
            "Parts of what the git-planx side does, measured alone on the same repository in the \
             same run, against the git side of the pair: a part at or above the goal's ratio \
             means the goal cannot be met while git-planx does that part.\n\n",
        );
        out.push_str("| size | part | median | ÷ git side of |\n| --- | --- | ---: | --- |\n");
        for f in &results.floors {
            let against: Vec<String> = f
                .pairs
                .iter()
                .filter_map(|key| {
                    results
                        .pairs
                        .iter()
                        .find(|p| p.size == f.size && p.key == *key)
                        .map(|p| format!("{key}: {:.2}×", f.sample.median() / p.git.median()))
                })
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                f.size,
                f.what,
                spread(&f.sample),
                against.join(", ")
            ));
        }
    }

    if !results.work.is_empty() {
        out.push_str("\n### The work of `status`, counted\n\n");
        out.push_str(&format!(
            "Commits `git planx status` asked of its history reader and read from git \
             (`PLANX_WORK_COUNTS=1`), against the commits of the plan's history (`main` and the \
             phase branches since the plan was added; base's first-parent line among them). \
             The suite, and its smoke run in CI, fails when a status asks for more than {} per \
             commit of that history plus {} per phase, or reads more than that history plus {} \
             per phase. Counts, unlike times, do not move with the machine's load.\n\n",
            crate::work::VISITS_PER_COMMIT,
            crate::work::VISITS_PER_PHASE,
            crate::work::READS_PER_PHASE
        ));
        out.push_str("| fixture | phases | base's line | the plan's history | asked for | per commit of the history | read from git | bound on reads |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for w in &results.work {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.2} | {} | {} |\n",
                w.label,
                group(w.phases),
                group(w.line as usize),
                group(w.history as usize),
                group(w.visits as usize),
                w.visits as f64 / w.history.max(1) as f64,
                group(w.read as usize),
                group(w.read_bound() as usize),
            ));
        }
    }

    out.push_str("\n### Every pair at every size\n\n");
    out.push_str(
        "| operation | size | runs a side | git-planx | git | ratio | CPU time, git-planx / git | goal |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for p in &results.pairs {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2}× | {} | {} |\n",
            p.operation,
            p.size,
            p.planx.runs.len(),
            spread(&p.planx),
            spread(&p.git),
            p.ratio(),
            cpu_cell(p),
            p.goal.map_or(String::new(), |g| format!(
                "≤ {g}×: {}",
                verdict(p.ratio(), p.goal)
            )),
        ));
    }

    if !results.phase_scaling.is_empty() {
        // Two fixtures a size, one after the other: one column each size.
        let mut sizes: Vec<String> = results.fixtures.iter().map(|m| m.size.clone()).collect();
        sizes.dedup();
        out.push_str("\n### `status` and the number of phases\n\n");
        out.push_str(
            "Plans of the first 10 and 100 phases of the same plan, over the same history (the \
             fixture of every shape).\n\n",
        );
        out.push_str(&format!("| phases | {} |\n", sizes.join(" | ")));
        out.push_str(&format!("| ---: |{}\n", " ---: |".repeat(sizes.len())));
        let mut counts: Vec<usize> = results.phase_scaling.iter().map(|p| p.phases).collect();
        counts.sort();
        counts.dedup();
        for n in counts {
            let cells: Vec<String> = sizes
                .iter()
                .map(|s| {
                    results
                        .phase_scaling
                        .iter()
                        .find(|p| &p.size == s && p.phases == n)
                        .map_or("—".into(), |p| spread(&p.sample))
                })
                .collect();
            out.push_str(&format!("| {} | {} |\n", group(n), cells.join(" | ")));
        }
    }

    if !results.growth.is_empty() {
        out.push_str(&growth_section(results));
    }

    if !results.toggles.is_empty() {
        let configs = [
            "commit-graph",
            "commit-graph + untracked cache",
            "untracked cache",
        ];
        out.push_str(&format!(
            "\n### git's commit-graph and untracked cache ({size})\n\n\
             The same pairs with `git commit-graph write --reachable` and/or `core.untrackedCache=true` \
             (at least {} runs each after {} warm-up, {} s a pair). Each cell: git-planx / git, ratio.\n\n",
            results.toggle_reps.reps, results.toggle_reps.warmup, results.toggle_reps.seconds
        ));
        out.push_str("| operation | neither (above) |");
        for c in configs {
            out.push_str(&format!(" {c} |"));
        }
        out.push_str("\n| --- | --- |");
        out.push_str(&" --- |".repeat(configs.len()));
        out.push('\n');
        for p in results.pairs.iter().filter(|p| {
            p.size == size
                && !matches!(
                    p.key,
                    "hook-shim"
                        | "hook-cold"
                        | "status-finish"
                        | "status-cold-finish"
                        | "status-uncached"
                )
        }) {
            let cell = |r: &PairResult| {
                format!(
                    "{} / {}, {:.2}×",
                    ms(r.planx.median()),
                    ms(r.git.median()),
                    r.ratio()
                )
            };
            out.push_str(&format!("| {} | {} |", p.operation, cell(p)));
            for c in configs {
                let t = results
                    .toggles
                    .iter()
                    .find(|t| t.key == p.key && t.config == c && t.size == size);
                out.push_str(&format!(" {} |", t.map_or("—".into(), cell)));
            }
            out.push('\n');
        }
    }

    if !results.note_series.is_empty() {
        out.push_str("\n### Note writes\n\n");
        out.push_str(&format!(
            "Each series writes {} notes one after the other, each on a different commit, through \
             the library's writer in one process; the time of each write alone. {}\n\n",
            group(results.note_writes),
            match results.note_series.first().map_or(1, |s| s.ratios.len()) {
                1 => "Each series is written once.".to_owned(),
                n => format!(
                    "Each is written {n} times from the same starting notes, and the table and \
                     the plot show the one whose last ÷ first is the median (every ratio in the \
                     last column)."
                ),
            }
        ));
        out.push_str(&format!(
            "| series | notes before | median of all | first {WINDOW} | last {WINDOW} | last ÷ first | slowest write | every series |\n"
        ));
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for s in &results.note_series {
            let every: Vec<String> = s.ratios.iter().map(|r| format!("{r:.2}×")).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.2}× | {} | {} |\n",
                s.label,
                group(s.notes_before),
                ms(crate::measure::median(&s.ms)),
                ms(s.first()),
                ms(s.last()),
                s.ratio(),
                ms(s.ms.iter().copied().fold(0.0, f64::max)),
                every.join(", "),
            ));
        }
        out.push_str(&format!(
            "\n![Time per note write against the number of writes]({PLOT})\n\n\
             *Time per note write (median of each 25 consecutive writes) against the number of notes \
             written so far, one line per starting number of notes.*\n"
        ));
    }
    out
}

/// The growth tables: status and `git log` by commits on base's line, and by phases.
fn growth_section(results: &Results) -> String {
    use crate::growth::{COMMIT_SERIES, PHASE_SERIES};
    let mut out = String::new();
    out.push_str("\n### How `status` grows with the plan's history and its phases\n\n");
    out.push_str(&format!(
        "Repositories of 5,000 files whose base carries, since the plan was added, the \
         checkpoints of half the plan's phases **rebased onto main** (a step and a status \
         checkpoint each on base itself, the empty start checkpoint dropped, a verify record on \
         the rebased tip) among project commits (`benches/perf/growth.rs`); `git planx status` \
         beside `git log --format=%(trailers) main ^<plan>^` + `git notes --ref planx list` on the \
         same repository ({} runs a side after {} warm-up, {} s a pair). Before this change \
         `status` walked base back from every such phase: 0.56 s at 1,000 commits and 7.0 s at \
         8,000 (56× and 88× `git log`, issue 17's measurement).\n\n",
        results.growth.first().map_or(0, |p| p.status.runs.len()),
        results.reps.warmup.min(1),
        results.reps.seconds / 2.0
    ));
    let table = |out: &mut String, first: &str, series: &[(usize, usize)], by_line: bool| {
        out.push_str(&format!(
            "| {first} | complete | `git planx status` | `git log` + `git notes list` | ratio | commits asked for | read from git |\n\
             | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        ));
        for &(phases, line) in series {
            if let Some(p) = results
                .growth
                .iter()
                .find(|p| p.phases == phases && p.line == line)
            {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {:.2}× | {} | {} |\n",
                    group(if by_line { line } else { phases }),
                    group(p.complete),
                    spread(&p.status),
                    spread(&p.git),
                    p.ratio(),
                    group(p.work.visits as usize),
                    group(p.work.read as usize),
                ));
            }
        }
    };
    out.push_str("Commits on base's line since the plan, a plan of 1,000 phases:\n\n");
    table(&mut out, "commits on the line", &COMMIT_SERIES, true);
    out.push_str("\nPhases in the plan, 8,000 commits on the line:\n\n");
    table(&mut out, "phases", &PHASE_SERIES, false);
    out.push_str(&format!(
        "\n![status and git log against the commits on base's line and the phases of the plan]({GROWTH_PLOT})\n\n\
         *Median time of `git planx status` and of `git log` + `git notes list` against the \
         commits on base's line (left, 1,000 phases) and the phases of the plan (right, 8,000 \
         commits), both axes logarithmic.*\n"
    ));
    out
}

/// Two panels of log–log lines: status and git against the line's commits, and against phases.
pub fn growth_svg(points: &[crate::growth::Point]) -> String {
    use crate::growth::{COMMIT_SERIES, PHASE_SERIES};
    let (w, h) = (760.0, 340.0);
    let panel_w = 300.0;
    let (top, bottom) = (30.0, 50.0);
    let lefts = [64.0, 64.0 + panel_w + 90.0];
    let all: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.status.median(), p.git.median()])
        .filter(|v| *v > 0.0)
        .collect();
    let lo = all.iter().copied().fold(f64::MAX, f64::min).max(0.1);
    let hi = all.iter().copied().fold(0.0_f64, f64::max).max(lo * 2.0);
    // Decades (1, 2, 5 ×10^k) that cover the times.
    let (ylo, yhi) = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()),
    );
    let y = |v: f64| {
        top + (h - top - bottom) * (1.0 - (v.log10() - ylo.log10()) / (yhi.log10() - ylo.log10()))
    };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    type Panel<'a> = (&'a [(usize, usize)], bool, &'a str);
    let panels: [Panel<'_>; 2] = [
        (
            &COMMIT_SERIES,
            true,
            "commits on base's line (1,000 phases)",
        ),
        (&PHASE_SERIES, false, "phases in the plan (8,000 commits)"),
    ];
    for (k, (series, by_line, label)) in panels.iter().enumerate() {
        let left = lefts[k];
        let xs: Vec<f64> = series
            .iter()
            .map(|&(p, l)| if *by_line { l as f64 } else { p as f64 })
            .collect();
        let (xlo, xhi) = (xs[0], xs[xs.len() - 1]);
        let x = |v: f64| left + panel_w * (v.log10() - xlo.log10()) / (xhi.log10() - xlo.log10());
        // Grid and labels.
        let mut tick = ylo;
        while tick <= yhi * 1.0001 {
            for m in [1.0, 2.0, 5.0] {
                let v = tick * m;
                if v > yhi * 1.0001 {
                    break;
                }
                out.push_str(&format!(
                    "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n\
                     <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                    y(v),
                    left + panel_w,
                    y(v),
                    left - 6.0,
                    y(v) + 4.0,
                    if v >= 1.0 {
                        format!("{v:.0}")
                    } else {
                        format!("{v}")
                    }
                ));
            }
            tick *= 10.0;
        }
        for &v in &xs {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                x(v),
                h - bottom + 16.0,
                group(v as usize)
            ));
        }
        out.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{:.1}\" stroke=\"#333\"/>\n\
             <line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 {:.1} {:.1})\">ms</text>\n",
            h - bottom,
            h - bottom,
            left + panel_w,
            h - bottom,
            left + panel_w / 2.0,
            h - 12.0,
            left - 44.0,
            top + (h - top - bottom) / 2.0,
            left - 44.0,
            top + (h - top - bottom) / 2.0,
        ));
        for (name, colour, pick) in [
            ("git planx status", "#1b6ac9", 0),
            ("git log + git notes list", "#d1495b", 1),
        ] {
            let line: Vec<String> = series
                .iter()
                .filter_map(|&(phases, l)| {
                    points.iter().find(|p| p.phases == phases && p.line == l)
                })
                .map(|p| {
                    let v = if pick == 0 {
                        p.status.median()
                    } else {
                        p.git.median()
                    };
                    let at = if *by_line { p.line } else { p.phases } as f64;
                    format!("{:.1},{:.1}", x(at), y(v))
                })
                .collect();
            out.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
                line.join(" ")
            ));
            if k == 0 {
                let ly = top - 14.0 + 0.0;
                let lx = left + 10.0 + 170.0 * pick as f64;
                out.push_str(&format!(
                    "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{colour}\"/>\n\
                     <text x=\"{:.1}\" y=\"{:.1}\">{name}</text>\n",
                    ly - 4.0,
                    lx + 16.0,
                    ly,
                ));
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// A line per series: rolling medians of 25 writes.
pub fn svg(series: &[Series]) -> String {
    let (w, h) = (720.0, 360.0);
    let (left, right, top, bottom) = (64.0, 170.0, 20.0, 44.0);
    let colours = ["#1b6ac9", "#d1495b", "#2e933c", "#8a4fff"];
    let lines: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            s.ms.chunks(25)
                .map(crate::measure::median)
                .collect::<Vec<_>>()
        })
        .collect();
    let n = series.iter().map(|s| s.ms.len()).max().unwrap_or(1).max(1) as f64;
    let top_value = lines
        .iter()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-6)
        * 1.15;
    let x = |i: f64| left + (w - left - right) * i / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / top_value);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    // Axes and grid.
    for k in 0..=4 {
        let v = top_value * k as f64 / 4.0;
        out.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v:.2}</text>\n",
            y(v),
            w - right,
            y(v),
            left - 6.0,
            y(v) + 4.0
        ));
    }
    for k in 0..=4 {
        let i = n * k as f64 / 4.0;
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x(i),
            h - bottom + 16.0,
            i as usize
        ));
    }
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{:.1}\" stroke=\"#333\"/>\n\
         <line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">notes written in the series</text>\n\
         <text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">ms per write</text>\n",
        h - bottom,
        h - bottom,
        w - right,
        h - bottom,
        left + (w - left - right) / 2.0,
        h - 8.0,
        top + (h - top - bottom) / 2.0,
        top + (h - top - bottom) / 2.0,
    ));
    for (k, (s, line)) in series.iter().zip(&lines).enumerate() {
        let colour = colours[k % colours.len()];
        let points: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i as f64 * 25.0 + 12.5), y(*v)))
            .collect();
        out.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{colour}\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            points.join(" "),
            w - right + 12.0,
            top + 14.0 + 18.0 * k as f64,
            w - right + 28.0,
            top + 18.0 + 18.0 * k as f64,
            s.label,
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// Writes the results between the markers of `path` (creating it when needed) and the plot
/// beside it.
pub fn write(results: &Results, path: &Path) {
    let generated = render(results);
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let text = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{BEGIN}\n\n{generated}\n{END}{}",
            &old[..b],
            &old[e + END.len()..]
        ),
        _ => format!("# Performance\n\n{BEGIN}\n\n{generated}\n{END}\n"),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the report's folder");
    }
    std::fs::write(path, text).expect("write the report");
    if !results.note_series.is_empty() {
        let plot = path.with_file_name(PLOT);
        std::fs::write(plot, svg(&results.note_series)).expect("write the plot");
    }
    if !results.growth.is_empty() {
        let plot = path.with_file_name(GROWTH_PLOT);
        std::fs::write(plot, growth_svg(&results.growth)).expect("write the growth plot");
    }
}
