//! The `run` pair: `git planx run` of a plan of independent phases with an executor that does
//! nothing, against a shell script doing per phase the same steps with git commands — a branch
//! and a worktree, a start commit with trailers and its note, the executor, a look at what it
//! left, the manifest's diff and untracked files, the verify note, a `--no-ff` merge into base
//! with trailers and its note, the worktree removed. The ratio of the totals is the ratio per
//! phase: run's overhead against git's own cost of the same steps.
//!
//! The repository is a small one of its own (files in folders, one folder per phase): `git
//! worktree add` checks out every file once per phase on both sides alike, so a larger tree
//! adds the same time to both and hides the overhead; the checkout's own cost per repository
//! size is git's (see the floors of the other pairs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::measure::{Cmd, Op, Reps, compare};
use crate::{PairResult, group};

/// Files in the repository, spread over one folder per phase.
const FILES_PER_PHASE: usize = 20;

/// The repository and the script of the pair, built once per call.
pub struct RunFixture {
    template: PathBuf,
    work: PathBuf,
    script: PathBuf,
    pub phases: usize,
    pub files: usize,
}

/// Builds the repository (a plan of `phases` independent phases, each allowed its own folder)
/// and the git script under `root`.
pub fn fixture(env: &Env, root: &Path, phases: usize) -> RunFixture {
    let template = root.join("run-template");
    if template.exists() {
        std::fs::remove_dir_all(&template).expect("remove an old run template");
    }
    std::fs::create_dir_all(template.join(".planx")).expect("create the run template");
    env.git(&template, &["init", "-q", "-b", "main"]);
    let mut plan = String::from(
        "version = 1\n\n[plan]\nid = \"bench-run\"\ntitle = \"Phases that change nothing\"\n\
         status = \"ready\"\nbase = \"main\"\n",
    );
    for i in 1..=phases {
        let dir = template.join(format!("src/p{i}"));
        std::fs::create_dir_all(&dir).expect("create a phase folder");
        for f in 0..FILES_PER_PHASE {
            std::fs::write(
                dir.join(format!("f{f}.txt")),
                format!("phase {i}, file {f}\n"),
            )
            .expect("write a file");
        }
        let _ = write!(
            plan,
            "\n[[phase]]\nid = \"p{i}\"\ntitle = \"Phase {i}\"\nkind = \"design\"\nowner = \"bench\"\n\
             goal = \"Nothing: the executor is a no-op.\"\n\n[phase.files]\nallow = [\"src/p{i}/**\"]\n"
        );
    }
    std::fs::write(template.join(".planx/plan.toml"), plan).expect("write the plan");
    env.git(&template, &["add", "-A"]);
    env.git(
        &template,
        &["commit", "-q", "-m", "The project and its plan"],
    );

    let script = root.join("run-steps.sh");
    std::fs::write(&script, steps(phases)).expect("write the git script");
    RunFixture {
        work: root.join("run-work"),
        template,
        script,
        phases,
        files: phases * FILES_PER_PHASE + 1,
    }
}

/// The shell script of git commands doing what `run` does, phase after phase.
fn steps(phases: usize) -> String {
    format!(
        r#"#!/bin/sh
# Per phase, what `git planx run` does, as git commands.
set -e
i=1
while [ "$i" -le {phases} ]; do
  p=p$i
  wt=.git/wt/$p
  git branch "planx/$p" main
  git worktree add --quiet "$wt" "planx/$p"
  git -C "$wt" commit --quiet --allow-empty -m "Start $p" \
    --trailer "Planx-Plan: bench-run" --trailer "Planx-Phase: $p" --trailer "Planx-Checkpoint: start"
  git -C "$wt" notes --ref planx add -m "{{\"event\":\"start\",\"phase\":\"$p\"}}" HEAD
  sh -c true
  git -C "$wt" status --porcelain >/dev/null
  git -C "$wt" diff --name-status main... >/dev/null
  git -C "$wt" ls-files -o --exclude-standard >/dev/null
  git -C "$wt" notes --ref planx append -m "{{\"event\":\"verify\",\"phase\":\"$p\"}}" HEAD
  git merge --quiet --no-ff -m "Complete $p" \
    -m "Planx-Plan: bench-run
Planx-Phase: $p
Planx-Status: complete" "planx/$p"
  git notes --ref planx add -m "{{\"event\":\"complete\",\"phase\":\"$p\"}}" HEAD
  git worktree remove "$wt"
  i=$((i + 1))
done
"#
    )
}

impl RunFixture {
    /// A fresh copy of the template to run in.
    fn reset(&self) {
        if self.work.exists() {
            std::fs::remove_dir_all(&self.work).expect("remove the last run's copy");
        }
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(&self.template)
            .arg(&self.work)
            .status()
            .expect("run cp");
        assert!(status.success(), "cannot copy the run template");
    }

    /// Measures the pair, and checks that both sides merged every phase.
    pub fn measure(&self, env: &Env, reps: Reps, size: &str) -> PairResult {
        let jobs = "1";
        let planx = Op::of(vec![Cmd::new(
            &env.bin,
            &self.work,
            &["run", "--executor", "true", "--jobs", jobs],
        )]);
        let git = Op::of(vec![Cmd::new(
            "sh",
            &self.work,
            &[&self.script.to_string_lossy()],
        )]);
        // Both sides do the work: every phase merged into base.
        for op in [&planx, &git] {
            self.reset();
            op.time(env);
            let merges = env.git(&self.work, &["rev-list", "--merges", "--count", "main"]);
            assert_eq!(
                merges.trim(),
                self.phases.to_string(),
                "`{}` merged every phase",
                op.display()
            );
        }
        let (planx_sample, git_sample) = compare(env, &planx, &git, reps, &|| self.reset());
        let _ = std::fs::remove_dir_all(&self.work);
        let result = PairResult {
            key: "run",
            size: size.to_owned(),
            config: "default".into(),
            operation: format!(
                "`run` overhead per phase, no-op executor, {} phases (a repository of {} files)",
                self.phases,
                group(self.files)
            ),
            planx_op: format!("`git planx run --executor true --jobs {jobs}`"),
            git_op: "the same steps as a shell script of git commands (`benches/perf/run.rs`)"
                .into(),
            planx: per_phase(&planx_sample, self.phases),
            git: per_phase(&git_sample, self.phases),
            goal: Some(1.2),
        };
        eprintln!(
            "perf: run of {} phases: planx {:.1} ms, git {:.1} ms per phase, ratio {:.2}",
            self.phases,
            result.planx.median(),
            result.git.median(),
            result.ratio()
        );
        result
    }
}

/// A sample of whole runs as times per phase.
fn per_phase(sample: &crate::measure::Sample, phases: usize) -> crate::measure::Sample {
    crate::measure::Sample {
        runs: sample.runs.iter().map(|ms| ms / phases as f64).collect(),
        cpu: sample.cpu.iter().map(|ms| ms / phases as f64).collect(),
    }
}
