//! The performance suite: git-planx against the `git` command doing the equivalent work, on the
//! same generated repository in the same run, reported as ratios of medians (machines are
//! noisy; ratios hold). See docs/performance.md for what is measured and the latest results.
//!
//! ```text
//! cargo bench --bench perf                       # sizes S and M, writes docs/performance.md
//! cargo bench --bench perf -- --sizes S,M,L      # L: 500k files, 100k commits (long)
//! cargo test --bench perf -- --smoke             # CI: size S, one run each, no document
//! ```
//!
//! Fixtures are generated once per size and seed under `target/tmp/perf/` and reused; every
//! measurement runs in a fresh copy of the fixture so that the cached one stays as generated.

mod env;
mod fixture;
mod growth;
// The hermetic environment, one definition shared with the integration tests (which use a
// part of it the suite does not need).
#[path = "../../tests/integration/common/hermetic.rs"]
#[allow(dead_code)]
mod hermetic;
mod inproc;
mod measure;
mod notes;
mod report;
mod rng;
mod run;
mod work;

use std::path::{Path, PathBuf};

use clap::Parser;

use env::Env;
use fixture::{Fixture, Meta, Shapes, Size};
use measure::{Cmd, Op, Reps, Sample, compare, single};

/// Runs the performance suite.
#[derive(Debug, Parser)]
#[command(name = "perf")]
struct Args {
    /// Fixture sizes to measure (S, M, L)
    #[arg(long, value_delimiter = ',', default_value = "S,M")]
    sizes: Vec<String>,
    /// Seed of the fixture generator
    #[arg(long, default_value_t = 8)]
    seed: u64,
    /// Timed runs of each side of a pair [default: 11; smoke: 1]
    #[arg(long)]
    reps: Option<usize>,
    /// Untimed runs first [default: 2; smoke: 0]
    #[arg(long)]
    warmup: Option<usize>,
    /// Keep measuring a pair (up to 201 runs a side) until its timed runs took this long
    /// [default: 4; smoke: 0]
    #[arg(long)]
    seconds: Option<f64>,
    /// CI mode: size S, one run each, note writes cut short, results under target/ only
    #[arg(long)]
    smoke: bool,
    /// Where to write the report [default: docs/performance.md; smoke: target/tmp/perf/smoke.md]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the commit-graph / untracked-cache matrix
    #[arg(long)]
    no_toggles: bool,
    /// Build the fixtures again even when cached
    #[arg(long)]
    regenerate: bool,
    /// Build (or find) the fixtures, print where they are, measure nothing
    #[arg(long)]
    fixtures_only: bool,
    /// Measure only these pairs of the goals table (keys: hook, verify, status, checkpoint,
    /// …), print their ratios, write no report: for working on one goal
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Passed by `cargo bench`; ignored
    #[arg(long, hide = true)]
    bench: bool,
}

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_git-planx");

fn main() {
    // Before any thread: the records the fixtures write are signed as the commands' are.
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var(env::SIGNING_VARIABLE, env::SIGNING_KEY) };
    let raw: Vec<String> = std::env::args().collect();
    match raw.get(1).map(String::as_str) {
        Some(notes::CHILD_FLAG) => return notes::child(&raw[2..]),
        Some(inproc::CHILD_FLAG) => return inproc::child(&raw[2..]),
        _ => {}
    }
    let args = Args::parse();
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("perf");
    let env = Env::new(&root.join("home"), Path::new(BIN));
    let sizes: Vec<Size> = if args.smoke {
        vec![fixture::size("S").expect("size S")]
    } else {
        args.sizes
            .iter()
            .map(|s| fixture::size(s).unwrap_or_else(|| panic!("unknown size `{s}`: S, M or L")))
            .collect()
    };
    let reps = Reps {
        warmup: args.warmup.unwrap_or(if args.smoke { 0 } else { 2 }),
        reps: args.reps.unwrap_or(if args.smoke { 1 } else { 11 }),
        seconds: args.seconds.unwrap_or(if args.smoke { 0.0 } else { 4.0 }),
    };
    let toggle_reps = Reps {
        warmup: reps.warmup.min(1),
        reps: reps.reps.min(7),
        seconds: reps.seconds / 2.0,
    };
    let note_writes = if args.smoke { 200 } else { 1000 };
    let note_series_times = if args.smoke { 1 } else { 3 };

    let mut results = report::Results {
        machine: report::machine(&env, MANIFEST_DIR),
        seed: args.seed,
        reps,
        toggle_reps,
        note_writes,
        smoke: args.smoke,
        ..Default::default()
    };
    for &size in &sizes {
        // The fixture of the earlier runs (every phase by `finish`'s merge), for `status` only:
        // its numbers stay comparable with theirs.
        let earlier = fixture::fixture(
            &env,
            &root.join("fixtures"),
            size,
            Shapes::Finish,
            args.seed,
            args.regenerate,
        );
        let fixture = fixture::fixture(
            &env,
            &root.join("fixtures"),
            size,
            Shapes::Mixed,
            args.seed,
            args.regenerate,
        );
        if args.fixtures_only {
            for f in [&earlier, &fixture] {
                fixture::validate(&env, &f.repo, &f.meta);
                println!("{} ({}) {}", size.name, f.meta.shapes, f.repo.display());
            }
            continue;
        }
        let config = "default";
        {
            let work = Work::copy(&env, &root.join("work"), &earlier);
            fixture::validate(&env, &work.repo, &work.meta);
            results.work.push(work::count(
                &env,
                &work.repo,
                &format!("{} ({})", size.name, work.meta.shapes),
                &[],
                work.meta.phases,
                &work.meta.plan_commit,
            ));
            if args.only.is_empty() || args.only.iter().any(|k| k == "status-finish") {
                for pair in goal_pairs(&env, &work) {
                    if let Some(pair) = pair.for_earlier_fixture() {
                        results
                            .pairs
                            .push(run_pair(&env, &work, pair, reps, config));
                    }
                }
            }
            results.fixtures.push(earlier.meta.clone());
            work.remove();
        }
        let work = Work::copy(&env, &root.join("work"), &fixture);
        fixture::validate(&env, &work.repo, &work.meta);
        results.fixtures.push(fixture.meta.clone());
        for (n, path) in &work.meta.subset_plans {
            results.work.push(work::count(
                &env,
                &work.repo,
                &format!("{} ({}), {n} phases", size.name, work.meta.shapes),
                &["--plan", path],
                *n,
                &work.meta.plan_commit,
            ));
        }
        results.work.push(work::count(
            &env,
            &work.repo,
            &format!("{} ({})", size.name, work.meta.shapes),
            &[],
            work.meta.phases,
            &work.meta.plan_commit,
        ));

        if !args.only.is_empty() {
            for pair in goal_pairs(&env, &work) {
                if args.only.iter().any(|k| k == pair.key) {
                    run_pair(&env, &work, pair, reps, config);
                }
            }
            work.remove();
            continue;
        }
        for pair in goal_pairs(&env, &work) {
            results
                .pairs
                .push(run_pair(&env, &work, pair, reps, config));
        }
        results.floors.extend(floors(&env, &work, reps));
        results
            .phase_scaling
            .extend(phase_scaling(&env, &work, reps));
        // The matrix at M only: it is what the goals are measured on.
        if !args.no_toggles && !args.smoke && size.name == "M" {
            for (graph, untracked, label) in [
                (true, false, "commit-graph"),
                (true, true, "commit-graph + untracked cache"),
                (false, true, "untracked cache"),
            ] {
                work.toggle(&env, graph, untracked);
                for pair in goal_pairs(&env, &work) {
                    if !matches!(
                        pair.key,
                        "hook-shim" | "hook-cold" | "status-cold" | "status-uncached"
                    ) {
                        results
                            .toggles
                            .push(run_pair(&env, &work, pair, toggle_reps, label));
                    }
                }
            }
            work.toggle(&env, false, false);
        }
        results.note_series.push(notes::repeated(
            &env,
            &work,
            note_writes,
            &size_label(&work.meta),
            note_series_times,
            &|| work.reset_notes(&env),
        ));
        if size.name == "S" {
            // The same writes into a repository without notes yet: the fan-out split at 256.
            results.note_series.push(notes::repeated(
                &env,
                &work,
                note_writes,
                "no notes",
                note_series_times,
                &|| {
                    env.git(&work.repo, &["update-ref", "-d", "refs/notes/planx"]);
                },
            ));
        }
        work.remove();
    }
    if args.fixtures_only || (!args.only.is_empty() && !args.only.iter().any(|k| k == "growth")) {
        return;
    }
    // How status grows with the plan's history and its phases (in the smoke run: the work
    // counted on one point of the rebased shape).
    let points = if args.smoke {
        vec![growth::COMMIT_SERIES[2]]
    } else {
        growth::all_points()
    };
    let growth_reps = Reps {
        warmup: reps.warmup.min(1),
        reps: reps.reps.min(7),
        seconds: reps.seconds / 2.0,
    };
    results.growth = growth::measure(&env, &root.join("fixtures"), &points, growth_reps);
    if !args.only.is_empty() {
        return;
    }
    // The `run` pair, on a repository of its own (see run.rs).
    let phases = if args.smoke { 5 } else { 50 };
    let run_reps = Reps {
        warmup: 0,
        reps: if args.smoke { 1 } else { 5 },
        seconds: 0.0,
    };
    let run_fixture = run::fixture(&env, &root, phases);
    results.run = Some(run_fixture.measure(&env, run_reps, "run"));
    let out = args.out.clone().unwrap_or_else(|| {
        if args.smoke {
            root.join("smoke.md")
        } else {
            Path::new(MANIFEST_DIR).join("docs/performance.md")
        }
    });
    report::write(&results, &out);
    eprintln!("perf: wrote {}", out.display());
}

fn size_label(meta: &Meta) -> String {
    format!("{} ({} notes)", meta.size, group(meta.notes))
}

/// `50000` → `50,000`.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A copy of a fixture to measure in: operations that write (checkpoints, verify records,
/// note writes) never touch the cached fixture.
pub struct Work {
    pub repo: PathBuf,
    pub meta: Meta,
    /// Base's tip as generated, to move base from and put it back to.
    pub main: String,
    /// The work branch's tip and the notes ref as generated, to reset to.
    pub tip: String,
    pub notes: String,
}

impl Work {
    fn copy(env: &Env, dir: &Path, fixture: &Fixture) -> Work {
        let target = dir.join(&fixture.meta.size);
        if target.exists() {
            std::fs::remove_dir_all(&target).expect("remove an old work copy");
        }
        std::fs::create_dir_all(&target).expect("create the work folder");
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(&fixture.repo)
            .arg(&target)
            .status()
            .expect("run cp");
        assert!(status.success(), "cannot copy the fixture");
        let repo = target.join("repo");
        // A copy has new inodes and change times: refresh the index once so that no measured
        // command pays for hashing every file again.
        fixture::settle(env, &repo);
        let tip = env.git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
        let main = env.git(&repo, &["rev-parse", "main"]).trim().to_owned();
        let notes = env
            .git(&repo, &["rev-parse", "refs/notes/planx"])
            .trim()
            .to_owned();
        Work {
            repo,
            meta: fixture.meta.clone(),
            main,
            tip,
            notes,
        }
    }

    /// Puts the work branch, the index's staged work and the notes back as generated.
    fn reset(&self, env: &Env) {
        env.git(&self.repo, &["reset", "-q", "--soft", &self.tip]);
        self.reset_notes(env);
    }

    /// Moves base one commit on from where it was generated: a project commit changing one
    /// file (`docs/base-moved.md`, whose content is new each time, so that each tip is new).
    fn move_base(&self, env: &Env) {
        static MOVES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MOVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let index = self.repo.join(".git/planx-bench-base-index");
        let git = |args: &[&str], input: Option<&str>| -> String {
            let mut cmd = env.command("git", &self.repo);
            cmd.env("GIT_INDEX_FILE", &index).args(args);
            let out = match input {
                None => env.output(&mut cmd),
                Some(text) => {
                    use std::io::Write;
                    cmd.stdin(std::process::Stdio::piped())
                        .stdout(std::process::Stdio::piped());
                    let mut child = cmd.spawn().expect("run git");
                    child
                        .stdin
                        .take()
                        .expect("stdin")
                        .write_all(text.as_bytes())
                        .expect("write to git");
                    child.wait_with_output().expect("wait for git")
                }
            };
            assert!(out.status.success(), "git {args:?} fails");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&["read-tree", &self.main], None);
        let blob = git(
            &["hash-object", "-w", "--stdin"],
            Some(&format!("base moved {n}\n")),
        );
        let entry = format!("100644,{blob},docs/base-moved.md");
        git(&["update-index", "--add", "--cacheinfo", &entry], None);
        let tree = git(&["write-tree"], None);
        let message = format!("Base moved {n}");
        let commit = git(
            &["commit-tree", &tree, "-p", &self.main, "-m", &message],
            None,
        );
        git(&["update-ref", "refs/heads/main", &commit], None);
    }

    fn reset_notes(&self, env: &Env) {
        env.git(&self.repo, &["update-ref", "refs/notes/planx", &self.notes]);
    }

    /// Switches git's commit-graph file and untracked cache on or off.
    fn toggle(&self, env: &Env, graph: bool, untracked: bool) {
        let info = self.repo.join(".git/objects/info");
        if graph {
            env.git(&self.repo, &["commit-graph", "write", "--reachable"]);
        } else {
            let _ = std::fs::remove_file(info.join("commit-graph"));
            let _ = std::fs::remove_dir_all(info.join("commit-graphs"));
        }
        let (value, flag) = if untracked {
            ("true", "--untracked-cache")
        } else {
            ("false", "--no-untracked-cache")
        };
        env.git(&self.repo, &["config", "core.untrackedCache", value]);
        env.git(&self.repo, &["update-index", flag]);
        fixture::settle(env, &self.repo);
    }

    fn remove(self) {
        if let Some(parent) = self.repo.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

/// One measured pair of the goals table.
pub struct Pair {
    pub key: &'static str,
    pub operation: String,
    pub planx: Op,
    pub git: Op,
    pub goal: Option<f64>,
    /// Put the repository back before every run.
    pub reset: Reset,
}

impl Pair {
    /// This pair as measured on the fixture of the earlier runs (`status` only), under a key
    /// and name of its own.
    fn for_earlier_fixture(self) -> Option<Pair> {
        let key = match self.key {
            "status" => "status-finish",
            "status-cold" => "status-cold-finish",
            _ => return None,
        };
        Some(Pair {
            key,
            operation: format!("{}, fixture of finish merges only", self.operation),
            goal: None,
            ..self
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Nothing,
    Notes,
    BranchAndNotes,
    /// Forget the plan digests the hooks keep (docs/hooks.md).
    HookDigests,
    /// Forget what status keeps of base's tips, and the commits it read before.
    BaseFacts,
    /// Move base on by one project commit before each run (and back after the pair).
    BaseMoved,
}

/// A measured pair.
#[derive(Debug, Clone)]
pub struct PairResult {
    pub key: &'static str,
    pub size: String,
    pub config: String,
    pub operation: String,
    pub planx_op: String,
    pub git_op: String,
    pub planx: Sample,
    pub git: Sample,
    pub goal: Option<f64>,
}

impl PairResult {
    pub fn ratio(&self) -> f64 {
        self.planx.median() / self.git.median()
    }

    /// The ratio of the median CPU times (user + system), where measured.
    pub fn cpu_ratio(&self) -> Option<f64> {
        Some(self.planx.cpu_median()? / self.git.cpu_median()?)
    }
}

fn run_pair(env: &Env, work: &Work, pair: Pair, reps: Reps, config: &str) -> PairResult {
    let reset = || match pair.reset {
        Reset::Nothing => {}
        Reset::Notes => work.reset_notes(env),
        Reset::BranchAndNotes => work.reset(env),
        Reset::BaseMoved => work.move_base(env),
        Reset::HookDigests => {
            let _ = std::fs::remove_dir_all(work.repo.join(".git/planx/cache"));
        }
        Reset::BaseFacts => {
            work::forget_cache(&work.repo, "base-facts-");
            work::forget_kept_commits(&work.repo);
        }
    };
    let (planx, git) = compare(env, &pair.planx, &pair.git, reps, &reset);
    reset();
    if pair.reset == Reset::BaseMoved {
        env.git(&work.repo, &["update-ref", "refs/heads/main", &work.main]);
    }
    let result = PairResult {
        key: pair.key,
        size: work.meta.size.clone(),
        config: config.to_owned(),
        operation: pair.operation,
        planx_op: pair.planx.display(),
        git_op: pair.git.display(),
        planx,
        git,
        goal: pair.goal,
    };
    eprintln!(
        "perf: {} [{}] {}: planx {:.1} ms, git {:.1} ms, ratio {:.2}",
        result.size,
        result.config,
        result.key,
        result.planx.median(),
        result.git.median(),
        result.ratio()
    );
    result
}

/// The pairs of the goals table (issue 8), on the work copy's phase in progress.
fn goal_pairs(env: &Env, work: &Work) -> Vec<Pair> {
    let repo = work.repo.as_path();
    let meta = &work.meta;
    let planx = |args: &[&str]| Cmd::new(&env.bin, repo, args);
    let git = |args: &[&str]| Cmd::new("git", repo, args);
    let shim = repo.join(".git/planx-bench-pre-commit");
    std::fs::write(&shim, git_planx::hooks::shim("pre-commit")).expect("write the hook shim");
    let plan_history = format!("^{}^", meta.plan_commit);
    // What status is compared with: the trailers of the plan's history and the notes' names.
    let status_git = || {
        Op::of(vec![
            git(&[
                "log",
                "--format=%(trailers)",
                "main",
                "--branches=planx/*",
                &plan_history,
            ]),
            git(&["notes", "--ref", "planx", "list"]),
        ])
    };
    let message = "bench checkpoint";
    let event = git_planx::state::events::Event::new(
        "2026-01-01T00:00:00Z",
        fixture::PLAN_ID,
        &meta.work_phase,
        "checkpoint",
    )
    .with("checkpoint", "step")
    .with("status", "in-progress")
    .sealed_line()
    .expect("signed");
    vec![
        Pair {
            key: "hook",
            operation: "pre-commit hook, 3 files staged".into(),
            planx: Op::of(vec![planx(&["hook", "pre-commit"])]),
            git: Op::of(vec![git(&["diff", "--cached", "--name-status"])]),
            goal: Some(1.2),
            reset: Reset::Nothing,
        },
        Pair {
            key: "hook-name-only",
            operation: "pre-commit hook, 3 files staged (issue 5's comparison)".into(),
            planx: Op::of(vec![planx(&["hook", "pre-commit"])]),
            git: Op::of(vec![git(&["diff", "--cached", "--name-only"])]),
            goal: Some(1.2),
            reset: Reset::Nothing,
        },
        Pair {
            key: "hook-cold",
            operation: "pre-commit hook, first commit after the plan changed (no digest kept yet)"
                .into(),
            planx: Op::of(vec![planx(&["hook", "pre-commit"])]),
            git: Op::of(vec![git(&["diff", "--cached", "--name-status"])]),
            goal: None,
            reset: Reset::HookDigests,
        },
        Pair {
            key: "hook-shim",
            operation: "the installed hook: shell shim, then `git-planx hook pre-commit`".into(),
            planx: Op::of(vec![Cmd::new("sh", repo, &[&shim.to_string_lossy()])]),
            git: Op::of(vec![git(&["diff", "--cached", "--name-status"])]),
            goal: None,
            reset: Reset::Nothing,
        },
        Pair {
            key: "verify",
            operation: "`verify --no-run` (manifest part)".into(),
            planx: Op::of(vec![planx(&["verify", "--no-run"])]),
            git: Op::of(vec![
                git(&["diff", "--name-status", &meta.fork]),
                git(&["ls-files", "-o", "--exclude-standard"]),
            ]),
            goal: Some(1.1),
            reset: Reset::Notes,
        },
        Pair {
            key: "status",
            operation: format!("`status` of {} phases", group(meta.phases)),
            planx: Op::of(vec![planx(&["status"])]),
            git: status_git(),
            goal: Some(1.0),
            reset: Reset::Nothing,
        },
        Pair {
            key: "status-cold",
            operation: format!(
                "`status` of {} phases, first after base moved on by a project commit",
                group(meta.phases)
            ),
            planx: Op::of(vec![planx(&["status"])]),
            git: status_git(),
            goal: Some(1.2),
            reset: Reset::BaseMoved,
        },
        Pair {
            key: "status-uncached",
            operation: format!(
                "`status` of {} phases, nothing kept of any tip of base nor of the commits read before",
                group(meta.phases)
            ),
            planx: Op::of(vec![planx(&["status"])]),
            git: status_git(),
            goal: None,
            reset: Reset::BaseFacts,
        },
        Pair {
            key: "checkpoint",
            operation: "one checkpoint (commit + note), 3 files staged".into(),
            planx: Op::of(vec![planx(&["checkpoint", "-q", "-m", message])]),
            git: Op::of(vec![
                git(&[
                    "commit",
                    "-q",
                    "-m",
                    message,
                    "--trailer",
                    &format!("Planx-Plan: {}", fixture::PLAN_ID),
                    "--trailer",
                    &format!("Planx-Phase: {}", meta.work_phase),
                    "--trailer",
                    "Planx-Checkpoint: step",
                    "--trailer",
                    "Planx-Status: in-progress",
                ]),
                git(&["notes", "--ref", "planx", "add", "-m", &event, "HEAD"]),
            ]),
            goal: Some(0.5),
            reset: Reset::BranchAndNotes,
        },
    ]
}

/// What a git-planx command cannot go below: the git commands it runs itself, measured alone.
#[derive(Debug, Clone)]
pub struct Floor {
    pub size: String,
    /// The pairs whose git-planx side does this part.
    pub pairs: &'static [&'static str],
    pub what: String,
    pub sample: Sample,
}

fn floors(env: &Env, work: &Work, reps: Reps) -> Vec<Floor> {
    let repo = work.repo.as_path();
    let message = repo.join(".git/planx-bench-message");
    std::fs::write(
        &message,
        format!(
            "bench checkpoint\n\nPlanx-Plan: {}\nPlanx-Phase: {}\nPlanx-Checkpoint: step\nPlanx-Status: in-progress\n",
            fixture::PLAN_ID,
            work.meta.work_phase
        ),
    )
    .expect("write a commit message");
    let message = message.to_string_lossy().into_owned();
    // The very commands git-planx runs (git::cli), so that the parts time what it does.
    use git_planx::git::cli::{COMMIT_ARGS, WORK_TREE_ARGS};
    let commit: Vec<&str> = COMMIT_ARGS
        .iter()
        .copied()
        .chain(["--file", &message])
        .collect();
    // (The hook reads what is staged in-process: it runs no git command.)
    let items: [(&'static [&'static str], Cmd, Reset); 2] = [
        (
            &["checkpoint"],
            Cmd::new("git", repo, &commit),
            Reset::BranchAndNotes,
        ),
        (
            &["verify"],
            Cmd::new("git", repo, &WORK_TREE_ARGS),
            Reset::Nothing,
        ),
    ];
    let mut out = Vec::new();
    for (pairs, part, what) in [
        (
            &["status", "verify", "checkpoint"][..],
            inproc::Part::Plan,
            "validating the plan of 1,000 phases (`plan::load_valid`, timed inside one process)",
        ),
        (
            &["status"][..],
            inproc::Part::Derive,
            "deriving every phase's state (`state::derive`, timed inside one process)",
        ),
    ] {
        let sample = inproc::sample(env, work, part, reps);
        eprintln!(
            "perf: {} part: {what}: {:.1} ms",
            work.meta.size,
            sample.median()
        );
        out.push(Floor {
            size: work.meta.size.clone(),
            pairs,
            what: what.to_owned(),
            sample,
        });
    }
    for (pairs, cmd, reset_kind) in items {
        let what = format!("`{}`, which it runs itself", cmd.display());
        let reset = || {
            if reset_kind == Reset::BranchAndNotes {
                work.reset(env);
            }
        };
        let sample = single(env, &Op::of(vec![cmd]), reps, &reset);
        reset();
        eprintln!(
            "perf: {} part: {what}: {:.1} ms",
            work.meta.size,
            sample.median()
        );
        out.push(Floor {
            size: work.meta.size.clone(),
            pairs,
            what,
            sample,
        });
    }
    out
}

/// `status` of plans of 10, 100 and 1,000 phases over the same history.
#[derive(Debug, Clone)]
pub struct PhaseScaling {
    pub size: String,
    pub phases: usize,
    pub sample: Sample,
}

fn phase_scaling(env: &Env, work: &Work, reps: Reps) -> Vec<PhaseScaling> {
    let mut plans: Vec<(usize, Option<String>)> = work
        .meta
        .subset_plans
        .iter()
        .map(|(n, path)| (*n, Some(path.clone())))
        .collect();
    plans.push((work.meta.phases, None));
    plans
        .into_iter()
        .map(|(phases, path)| {
            let mut args = Vec::new();
            if let Some(path) = &path {
                args.extend(["--plan", path.as_str()]);
            }
            args.push("status");
            let op = Op::of(vec![Cmd::new(&env.bin, &work.repo, &args)]);
            let sample = single(env, &op, reps, &|| {});
            eprintln!(
                "perf: {} status of {phases} phases: {:.1} ms",
                work.meta.size,
                sample.median()
            );
            PhaseScaling {
                size: work.meta.size.clone(),
                phases,
                sample,
            }
        })
        .collect()
}
