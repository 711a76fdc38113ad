//! How `status` grows with the plan's history and with the number of phases, beside
//! `git log --format=%(trailers)` on the same repository: small repositories (5,000 files)
//! whose base carries the checkpoints of phases **rebased onto main** as `git rebase
//! --no-keep-empty` or a forge's "rebase and merge" leaves them (a step checkpoint and a status
//! checkpoint of each phase on base itself, the empty start checkpoint dropped, a verify record
//! on the rebased tip), between project commits: the shape of issue 17, whose `status` walked
//! base back from every such phase.
//!
//! Two series: base's line since the plan at 1k, 2k, 4k, 8k and 16k commits under a plan of
//! 1,000 phases (half of them complete, as many as the line holds); and plans of 10, 100,
//! 1,000 and 5,000 phases (half complete) on a line of 8k commits.

use std::path::{Path, PathBuf};
use std::time::Instant;

use git_planx::git::trailers;
use git_planx::state::events::Event;

use crate::env::Env;
use crate::fixture::{Change, Importer, message, settle, source_text, ts};
use crate::measure::{Cmd, Op, Reps, Sample, compare};
use crate::work::{self, WorkCount};

const PLAN_ID: &str = "growth";
const FILES: usize = 5_000;
const FOLDERS: usize = 100;
/// Bump when the generator changes what it builds.
const VERSION: u32 = 2;

/// The points measured: (phases, commits on base's line since the plan).
pub const COMMIT_SERIES: [(usize, usize); 5] = [
    (1_000, 1_000),
    (1_000, 2_000),
    (1_000, 4_000),
    (1_000, 8_000),
    (1_000, 16_000),
];
pub const PHASE_SERIES: [(usize, usize); 4] =
    [(10, 8_000), (100, 8_000), (1_000, 8_000), (5_000, 8_000)];

#[derive(Debug, Clone)]
pub struct Point {
    pub phases: usize,
    pub line: usize,
    pub complete: usize,
    pub status: Sample,
    pub git: Sample,
    pub work: WorkCount,
}

impl Point {
    pub fn ratio(&self) -> f64 {
        self.status.median() / self.git.median()
    }
}

fn phase_id(i: usize) -> String {
    format!("g{i:04}")
}

fn file(n: usize) -> String {
    format!("src/m{:03}/f{:03}.rs", n % FOLDERS, n / FOLDERS)
}

fn plan_text(phases: usize) -> String {
    let mut text = format!(
        "# A plan of {phases} phases, for how status grows.\nversion = 1\n\n\
         [plan]\nid = \"{PLAN_ID}\"\ntitle = \"Growth\"\nstatus = \"ready\"\nbase = \"main\"\n\
         branch_prefix = \"planx/\"\n\n[commands]\ntest = \"true\"\n"
    );
    for i in 1..=phases {
        let id = phase_id(i);
        let deps = if i > 1 {
            format!("\"{}\"", phase_id(i - 1))
        } else {
            String::new()
        };
        // Short: 5,000 phases must fit in a plan's 1 MiB.
        text.push_str(&format!(
            "\n[[phase]]\nid = \"{id}\"\ntitle = \"P{i}\"\nowner = \"d\"\ndepends_on = [{deps}]\n\
             [phase.files]\ncreate = [\"src/phases/{id}.rs\"]\n\
             [[phase.check]]\nname = \"module\"\nfile = \"src/phases/{id}.rs\"\ncontains = \"fn {id}\"\n"
        ));
    }
    text
}

/// The repository for `phases` and `line`, generated unless cached under `cache`; and how many
/// phases are complete in it.
fn repository(env: &Env, cache: &Path, phases: usize, line: usize) -> (PathBuf, usize) {
    let dir = cache.join(format!("growth-{phases}-{line}-v{VERSION}"));
    let repo = dir.join("repo");
    let complete = (phases / 2).min((line - 1) / 2);
    if dir.join("done").exists() && repo.join(".git").is_dir() {
        return (repo, complete);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove an incomplete growth fixture");
    }
    std::fs::create_dir_all(&repo).expect("create the growth fixture");
    let started = Instant::now();
    env.git(&repo, &["init", "-q", "-b", "main"]);
    env.git(&repo, &["config", "gc.auto", "0"]);
    let mut imp = Importer::start(env, &repo);
    let changes = (0..FILES)
        .map(|n| Change::Inline(file(n), source_text(1, &file(n), 1)))
        .collect();
    let (mut main, _) = imp.commit("refs/heads/main", "Initial commit\n", None, None, changes);
    let (plan, _) = imp.commit(
        "refs/heads/main",
        "Add the plan\n",
        Some(main),
        None,
        vec![Change::Inline(
            ".planx/plan.toml".into(),
            plan_text(phases).into_bytes(),
        )],
    );
    main = plan;
    // The line after the plan: `complete` phases of two commits each, spread evenly among
    // project commits.
    let project = line - 1 - 2 * complete;
    let mut notes: Vec<(u64, String)> = Vec::new();
    let mut revision = 1;
    let mut next_phase = 1;
    for k in 0..complete + project {
        // Phases fall every (complete + project) / complete slots.
        let is_phase =
            next_phase <= complete && k * complete >= (next_phase - 1) * (complete + project);
        if !is_phase {
            revision += 1;
            let path = file(k % FILES);
            let (commit, _) = imp.commit(
                "refs/heads/main",
                &format!("Tidy {path}\n"),
                Some(main),
                None,
                vec![Change::Inline(
                    path.clone(),
                    source_text(1, &path, revision),
                )],
            );
            main = commit;
            continue;
        }
        let id = phase_id(next_phase);
        next_phase += 1;
        let step = message(
            &format!("planx: {id} step — the module"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, "step"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        let (commit, _) = imp.commit(
            "refs/heads/main",
            &step,
            Some(main),
            None,
            vec![Change::Inline(
                format!("src/phases/{id}.rs"),
                format!("pub fn {id}() {{}}\n").into_bytes(),
            )],
        );
        main = commit;
        let status = message(
            &format!("planx: {id} checkpoint"),
            &[
                (trailers::PLAN, PLAN_ID),
                (trailers::PHASE, &id),
                (trailers::CHECKPOINT, "step"),
                (trailers::STATUS, "in-progress"),
            ],
        );
        let (commit, time) = imp.commit(
            "refs/heads/main",
            &status,
            Some(main),
            None,
            vec![Change::Inline(
                format!("docs/status/{id}.md"),
                b"COMPLETED\n".to_vec(),
            )],
        );
        main = commit;
        let tree = imp.entry(commit, "");
        let record = Event::new(&ts(time + 30), PLAN_ID, &id, "verify")
            .with("tree", tree)
            .with("passed", true)
            .with("clean", true)
            .with("no_run", false);
        notes.push((commit, record.sealed_line().expect("signed")));
    }
    let time = imp.clock() + 600;
    imp.write(
        format!("commit refs/notes/planx\ncommitter Ada Lovelace <ada@example.com> {time} +0000\n")
            .as_bytes(),
    );
    imp.data(b"Notes added by 'git planx'\n");
    for (commit, line) in &notes {
        imp.write(format!("N inline :{commit}\n").as_bytes());
        imp.data(format!("{line}\n").as_bytes());
    }
    imp.write(b"\n");
    imp.finish();
    env.git(&repo, &["repack", "-a", "-d", "-f", "-q"]);
    env.git(&repo, &["pack-refs", "--all"]);
    env.git(&repo, &["checkout", "-q", "-f", "main"]);
    settle(env, &repo);
    std::fs::write(dir.join("done"), "").expect("mark the growth fixture done");
    eprintln!(
        "perf: growth fixture of {phases} phases, {line} commits on the line: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    (repo, complete)
}

/// Every point of both series (the one they share once).
pub fn all_points() -> Vec<(usize, usize)> {
    let mut points: Vec<(usize, usize)> = COMMIT_SERIES.to_vec();
    for p in PHASE_SERIES {
        if !points.contains(&p) {
            points.push(p);
        }
    }
    points
}

/// Measures `points` (phases, commits on the line).
pub fn measure(env: &Env, cache: &Path, points: &[(usize, usize)], reps: Reps) -> Vec<Point> {
    points
        .iter()
        .map(|&(phases, line)| {
            let (repo, complete) = repository(env, cache, phases, line);
            let plan_commit = env
                .git(
                    &repo,
                    &[
                        "log",
                        "--format=%H",
                        "--diff-filter=A",
                        "main",
                        "--",
                        ".planx/plan.toml",
                    ],
                )
                .trim()
                .to_owned();
            // What the states must be: the complete phases, then one ready.
            let out = env.planx(&repo, &["status", "--json"]);
            assert!(out.status.success(), "status fails on a growth fixture");
            let json: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("status --json is JSON");
            let done = json["phases"]
                .as_array()
                .expect("phases")
                .iter()
                .filter(|p| p["state"] == "complete")
                .count();
            assert_eq!(
                done, complete,
                "status does not see the {complete} phases rebased onto main"
            );
            let label = format!("growth: {phases} phases, {line} commits");
            let work = work::count(env, &repo, &label, &[], phases, &plan_commit);
            let below = format!("^{plan_commit}^");
            let status = Op::of(vec![Cmd::new(&env.bin, &repo, &["status"])]);
            let git = Op::of(vec![
                Cmd::new(
                    "git",
                    &repo,
                    &["log", "--format=%(trailers)", "main", &below],
                ),
                Cmd::new("git", &repo, &["notes", "--ref", "planx", "list"]),
            ]);
            let (status, git) = compare(env, &status, &git, reps, &|| {});
            eprintln!(
                "perf: {label}: status {:.1} ms, git log {:.1} ms",
                status.median(),
                git.median()
            );
            Point {
                phases,
                line,
                complete,
                status,
                git,
                work,
            }
        })
        .collect()
}
