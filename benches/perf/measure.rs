//! Timing: an operation is one or more commands run one after the other (a git-planx command,
//! or the git commands doing the equivalent work); a pair is measured by warm-up runs, then
//! repetitions that alternate which side goes first, and compared by medians.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use crate::env::Env;

/// One command of an operation.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub dir: PathBuf,
    /// The exit code it must end with: anything else stops the suite.
    pub expect: i32,
}

impl Cmd {
    pub fn new(program: impl Into<PathBuf>, dir: &Path, args: &[&str]) -> Cmd {
        Cmd {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            dir: dir.to_path_buf(),
            expect: 0,
        }
    }

    /// How the command reads in a report: `git diff --cached --name-status`.
    pub fn display(&self) -> String {
        let program = self
            .program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let program = match program.strip_prefix("git-") {
            Some(sub) => format!("git {sub}"),
            None => program,
        };
        let mut text = program;
        let dir = format!("{}/", self.dir.display());
        for arg in &self.args {
            let arg = arg.strip_prefix(&dir).unwrap_or(arg);
            let mut shown = shorten_ids(arg);
            if shown.chars().count() > 48 {
                shown = format!("{}…", shown.chars().take(40).collect::<String>());
            }
            text.push(' ');
            if shown.contains([' ', '(', ')', '*', '"', '{', '}', '$', '\'', '…']) {
                text.push_str(&format!("'{shown}'"));
            } else {
                text.push_str(&shown);
            }
        }
        text
    }

    /// Runs the command; returns the milliseconds from spawn to exit and the CPU time (user
    /// and system, of the command and every process it waited for) in milliseconds. Output
    /// goes to /dev/null, as it would to a reader that does not slow the writer down.
    fn time(&self, env: &Env) -> (f64, f64) {
        let mut cmd = env.command(&self.program, &self.dir);
        cmd.args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let cpu_before = children_cpu_ms();
        let started = Instant::now();
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.display()));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let cpu = children_cpu_ms() - cpu_before;
        let code = out.status.code().unwrap_or(-1);
        assert_eq!(
            code,
            self.expect,
            "`{}` in {} exited with {code}, not {}: {}",
            self.display(),
            self.dir.display(),
            self.expect,
            String::from_utf8_lossy(&out.stderr)
        );
        (ms, cpu)
    }
}

/// User and system time of the children this process has waited for (and theirs), in ms:
/// what a command costs the machine, which a busy machine moves less than the time it takes.
fn children_cpu_ms() -> f64 {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// `text` with each commit id cut to its first ten digits.
fn shorten_ids(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() == 40 {
            run.truncate(10);
        }
        out.push_str(&run);
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Commands run one after the other, timed together.
#[derive(Debug, Clone)]
pub struct Op {
    pub cmds: Vec<Cmd>,
}

impl Op {
    pub fn of(cmds: Vec<Cmd>) -> Op {
        Op { cmds }
    }

    pub fn display(&self) -> String {
        self.cmds
            .iter()
            .map(|c| format!("`{}`", c.display()))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn time(&self, env: &Env) -> f64 {
        self.time_and_cpu(env).0
    }

    /// The time from the first spawn to the last exit, and the CPU time, in ms.
    pub fn time_and_cpu(&self, env: &Env) -> (f64, f64) {
        self.cmds.iter().fold((0.0, 0.0), |(t, c), cmd| {
            let (dt, dc) = cmd.time(env);
            (t + dt, c + dc)
        })
    }
}

/// Timings of one operation, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub runs: Vec<f64>,
    /// The CPU time (user + system) of each run, where measured.
    pub cpu: Vec<f64>,
}

impl Sample {
    fn push(&mut self, (ms, cpu): (f64, f64)) {
        self.runs.push(ms);
        self.cpu.push(cpu);
    }

    /// The median CPU time, if it was measured.
    pub fn cpu_median(&self) -> Option<f64> {
        (!self.cpu.is_empty()).then(|| median(&self.cpu))
    }

    pub fn median(&self) -> f64 {
        median(&self.runs)
    }

    pub fn min(&self) -> f64 {
        self.runs.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.runs.iter().copied().fold(0.0, f64::max)
    }
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// How many runs: `warmup` untimed, then at least `reps` timed, and more (up to `MAX_REPS`)
/// until the timed runs of a pair have taken `seconds`: cheap operations get more samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reps {
    pub warmup: usize,
    pub reps: usize,
    pub seconds: f64,
}

const MAX_REPS: usize = 201;

impl Reps {
    fn more(&self, done: usize, started: Instant) -> bool {
        done < self.reps || (done < MAX_REPS && started.elapsed().as_secs_f64() < self.seconds)
    }
}

/// Measures `a` against `b`. `reset` runs (untimed) before every run of either side, to put
/// the repository back where it was when an operation writes.
pub fn compare(env: &Env, a: &Op, b: &Op, reps: Reps, reset: &dyn Fn()) -> (Sample, Sample) {
    let (mut sa, mut sb) = (Sample::default(), Sample::default());
    for _ in 0..reps.warmup {
        reset();
        a.time(env);
        reset();
        b.time(env);
    }
    let started = Instant::now();
    let mut r = 0;
    while reps.more(r, started) {
        r += 1;
        if r % 2 == 1 {
            reset();
            sa.push(a.time_and_cpu(env));
            reset();
            sb.push(b.time_and_cpu(env));
        } else {
            reset();
            sb.push(b.time_and_cpu(env));
            reset();
            sa.push(a.time_and_cpu(env));
        }
    }
    (sa, sb)
}

/// Measures one operation alone.
pub fn single(env: &Env, a: &Op, reps: Reps, reset: &dyn Fn()) -> Sample {
    repeat(reps, || {
        reset();
        a.time(env)
    })
}

/// Runs `once` (which returns milliseconds) for the warm-up, then as many timed runs as
/// `reps` asks.
pub fn repeat(reps: Reps, mut once: impl FnMut() -> f64) -> Sample {
    let mut s = Sample::default();
    for _ in 0..reps.warmup {
        once();
    }
    let started = Instant::now();
    while reps.more(s.runs.len(), started) {
        s.runs.push(once());
    }
    s
}
