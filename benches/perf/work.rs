//! The work `status` does, counted rather than timed: how many commits it asks of its history
//! reader (`PLANX_WORK_COUNTS=1` makes git-planx print the counts on stderr) against how many
//! commits the plan's history holds. Counts do not move with the machine's load, so the suite
//! (and the smoke run in CI) fails on them: a status that walks base's line once per phase
//! reads the line many times over, whatever the time it takes.

use std::path::Path;

use crate::env::Env;

/// Commits asked of the history reader, at most, per commit of the plan's history...
pub const VISITS_PER_COMMIT: u64 = 8;
/// ...plus this many per phase of the plan.
pub const VISITS_PER_PHASE: u64 = 8;
/// Commits read from git, at most, beyond those of the plan's history, per phase.
pub const READS_PER_PHASE: u64 = 2;

#[derive(Debug, Clone)]
pub struct WorkCount {
    pub label: String,
    pub phases: usize,
    /// Commits on base's first-parent line since the plan was added.
    pub line: u64,
    /// Commits of the plan's history: on `main` and the phase branches since the plan.
    pub history: u64,
    /// What `status` asked of its history reader, and read from git.
    pub visits: u64,
    pub read: u64,
}

impl WorkCount {
    pub fn visit_bound(&self) -> u64 {
        VISITS_PER_COMMIT * self.history + VISITS_PER_PHASE * self.phases as u64
    }

    pub fn read_bound(&self) -> u64 {
        self.history + READS_PER_PHASE * self.phases as u64
    }

    pub fn within(&self) -> bool {
        self.visits <= self.visit_bound() && self.read <= self.read_bound()
    }
}

/// Counts the work of `git planx status` (with `plan_args` before it) in `repo`, whose plan was
/// added by `plan_commit`, and fails when it exceeds the bounds. The commits an earlier status
/// kept are removed first: with them, a status reads none from git, and its reads would say
/// nothing of its walk.
pub fn count(
    env: &Env,
    repo: &Path,
    label: &str,
    plan_args: &[&str],
    phases: usize,
    plan_commit: &str,
) -> WorkCount {
    forget_kept_commits(repo);
    let mut args = plan_args.to_vec();
    args.push("status");
    let out = env.output(
        env.command(&env.bin, repo)
            .args(&args)
            .env("PLANX_WORK_COUNTS", "1"),
    );
    assert!(
        out.status.success(),
        "`git planx status` fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("planx-work: "))
        .unwrap_or_else(|| panic!("no work counts from `git planx status`: {stderr}"));
    let value = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in `{line}`"))
    };
    let below = format!("^{plan_commit}^");
    let rev_count = |args: &[&str]| -> u64 { env.git(repo, args).trim().parse().expect("a count") };
    let count = WorkCount {
        label: label.to_owned(),
        phases,
        line: rev_count(&["rev-list", "--count", "--first-parent", "main", &below]),
        history: rev_count(&["rev-list", "--count", "main", "--branches=planx/*", &below]),
        visits: value("commit-visits"),
        read: value("commits-read"),
    };
    eprintln!(
        "perf: {label}: status asked for {} commits (bound {}), read {} (bound {}); the plan's history holds {}, its line {}",
        count.visits,
        count.visit_bound(),
        count.read,
        count.read_bound(),
        count.history,
        count.line
    );
    assert!(
        count.within(),
        "{label}: `git planx status` did more work than the plan's history and phases allow: \
         {count:?} (at most {VISITS_PER_COMMIT} visits per commit of the plan's history + \
         {VISITS_PER_PHASE} per phase, and the history's commits + {READS_PER_PHASE} per phase \
         read)"
    );
    count
}

/// Removes the commits kept by earlier statuses (`.git/planx/cache/commits-*`).
pub fn forget_kept_commits(repo: &Path) {
    forget_cache(repo, "commits-");
}

/// Removes the folders of `.git/planx/cache` whose names start with `kind`.
pub fn forget_cache(repo: &Path, kind: &str) {
    let cache = repo.join(".git/planx/cache");
    for entry in std::fs::read_dir(&cache).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(kind) {
            std::fs::remove_dir_all(entry.path()).expect("remove a kept folder");
        }
    }
}
