//! Parts of a command timed inside one process, through the library: how long validating the
//! plan and deriving the state of its phases take on their own, to say what bounds a command
//! that does both. Each sample is a fresh child process (started with the suite's hermetic
//! environment) that prints the milliseconds of the part it timed.

use std::path::Path;
use std::time::Instant;

use git_planx::git::Repo;

use crate::Work;
use crate::env::Env;
use crate::measure::{Reps, Sample, repeat};

/// The flag that makes the bench binary the child that times one part.
pub const CHILD_FLAG: &str = "--time-part-child";

/// A part of a command.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// `plan::load_valid` of the plan file, as every command's first read of it.
    Plan,
    /// `state::derive` of every phase, as `status` does after reading the plan.
    Derive,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Plan => "plan",
            Part::Derive => "derive",
        }
    }
}

/// Samples a part in the work copy.
pub fn sample(env: &Env, work: &Work, part: Part, reps: Reps) -> Sample {
    let exe = std::env::current_exe().expect("the bench binary");
    let once = || -> f64 {
        let out = env.output(
            env.command(&exe, &work.repo)
                .arg(CHILD_FLAG)
                .arg(part.name())
                .arg(&work.repo),
        );
        assert!(
            out.status.success(),
            "timing the {} part failed: {}",
            part.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("milliseconds")
    };
    repeat(reps, once)
}

/// The child: `<part> <repo>`; prints the milliseconds the part took.
pub fn child(args: &[String]) {
    let [part, repo] = args else {
        panic!("expected a part and a repository");
    };
    let repo = Repo::open(Path::new(repo)).expect("open the work copy");
    let path = git_planx::plan::DEFAULT_PLAN_PATH;
    let file = repo.workdir().expect("a work tree").join(path);
    let bytes = git_planx::plan::read_file(&file, path).expect("read the plan");
    let started = Instant::now();
    let plan = git_planx::plan::load_valid(path, bytes).expect("a valid plan");
    let mut ms = started.elapsed().as_secs_f64() * 1000.0;
    if part == "derive" {
        let started = Instant::now();
        let subject = git_planx::state::judging::Subject::new(&repo, &plan, path);
        let statuses =
            git_planx::state::derive(subject, git_planx::state::Notes::Open).expect("derive");
        ms = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(statuses.len(), plan.phases.len());
    }
    println!("{ms}");
}
