//! Sequential note writes: does a write cost more as notes accumulate? Each write adds a note
//! to a different commit of the project history, through the library's own writer
//! ([`git_planx::git::Repo::append_note_line`]), in a child process started with the suite's
//! hermetic environment, timing each write alone.

use std::path::Path;
use std::time::Instant;

use git_planx::git::{Oid, Repo};

use crate::Work;
use crate::env::Env;
use crate::measure::median;

/// The flag that makes the bench binary the child that writes notes.
pub const CHILD_FLAG: &str = "--note-writes-child";
/// Writes compared at each end of a series.
pub const WINDOW: usize = 100;

#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    /// Notes in refs/notes/planx before the first write.
    pub notes_before: usize,
    /// Milliseconds of each write, in order.
    pub ms: Vec<f64>,
    /// Last ÷ first of every time the series was written, sorted (this one's is the median).
    pub ratios: Vec<f64>,
}

impl Series {
    pub fn first(&self) -> f64 {
        median(&self.ms[..WINDOW.min(self.ms.len())])
    }

    pub fn last(&self) -> f64 {
        median(&self.ms[self.ms.len().saturating_sub(WINDOW)..])
    }

    pub fn ratio(&self) -> f64 {
        self.last() / self.first()
    }
}

/// Writes the series `times` times, `reset` putting the notes back where they started before
/// each, and keeps the one whose last ÷ first is the median: the first and the last 100 writes
/// are seconds apart, so one busy stretch of the machine moves a single series' ratio.
pub fn repeated(
    env: &Env,
    work: &Work,
    count: usize,
    label: &str,
    times: usize,
    reset: &dyn Fn(),
) -> Series {
    let mut all: Vec<Series> = (0..times.max(1))
        .map(|_| {
            reset();
            series(env, work, count, label)
        })
        .collect();
    all.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let ratios: Vec<f64> = all.iter().map(Series::ratio).collect();
    let mut kept = all.swap_remove(ratios.len() / 2);
    kept.ratios = ratios;
    kept
}

/// Writes `count` notes into the work copy and times each.
fn series(env: &Env, work: &Work, count: usize, label: &str) -> Series {
    // No notes ref yet (the series that starts from none): git says so and exits 1.
    let listed = env.output(
        env.command("git", &work.repo)
            .args(["notes", "--ref", "planx", "list"]),
    );
    let notes_before = match listed.status.success() {
        true => String::from_utf8_lossy(&listed.stdout).lines().count(),
        false => 0,
    };
    let exe = std::env::current_exe().expect("the bench binary");
    let targets = &work.meta.note_targets[..count.min(work.meta.note_targets.len())];
    let out = env.output(
        env.command(&exe, &work.repo)
            .arg(CHILD_FLAG)
            .arg(&work.repo)
            .args(targets),
    );
    assert!(
        out.status.success(),
        "the note writer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ms: Vec<f64> = serde_json::from_slice(&out.stdout).expect("the writer's timings");
    let series = Series {
        label: label.to_owned(),
        notes_before,
        ms,
        ratios: Vec::new(),
    };
    eprintln!(
        "perf: {label}: {} note writes, first {WINDOW} {:.3} ms, last {WINDOW} {:.3} ms, ratio {:.2}",
        series.ms.len(),
        series.first(),
        series.last(),
        series.ratio()
    );
    series
}

/// The child: `<repo> <commit>…`; prints the milliseconds of each write as a JSON array.
pub fn child(args: &[String]) {
    let (repo, targets) = args.split_first().expect("a repository and commits");
    let repo = Repo::open(Path::new(repo)).expect("open the work copy");
    let mut ms = Vec::with_capacity(targets.len());
    for (i, target) in targets.iter().enumerate() {
        let oid = Oid::from_str(target).expect("a commit id");
        let line = git_planx::state::events::Event::new(
            "2026-01-01T00:00:00Z",
            "notes",
            &format!("w{i:04}"),
            "accept",
        )
        .with("check", "reviewed")
        .with("evidence", "looked at it")
        .sealed_line()
        .expect("signed");
        let started = Instant::now();
        repo.append_note_line(oid, &line).expect("append a note");
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{}", serde_json::to_string(&ms).expect("timings as JSON"));
}
