//! Running a plan's commands: `sh -c` at a given folder, stdin from /dev/null, in a process
//! group of their own, killed with all their children at the timeout, with stdout and stderr
//! captured together as a bounded tail — a command that prints gigabytes keeps only its last
//! bytes in memory.
//!
//! An executor of `run` runs under a supervisor ([`supervise`]) that ends its process group
//! when planx ends, and holds a lock ([`Spec::inherit`]) that lives as long as any of its
//! processes.

mod supervise;

use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::RawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::plan::CommandRef;
pub use supervise::{CANNOT_RUN, supervise};

/// Bytes of output kept by default: enough to see why a command failed.
pub const DEFAULT_TAIL_BYTES: usize = 16 * 1024;
/// How long a command gets to stop after SIGTERM before SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub shell: &'a str,
    pub cwd: &'a Path,
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
    pub tail_bytes: usize,
    /// A file that receives the whole output as well (a run log), created or truncated.
    pub log: Option<&'a Path>,
    /// Run the command under a supervisor, this program (git-planx itself, from
    /// [`this_program`]), which ends the command's process group when planx ends.
    pub supervisor: Option<&'a Path>,
    /// A descriptor of planx's that the command's processes inherit, so that the lock it holds
    /// lives as long as any of them (the executor's lock). It stays closed-on-exec in planx:
    /// the commands other threads start meanwhile do not get it.
    pub inherit: Option<RawFd>,
}

/// The program that re-executes this one, for a supervisor: on Linux `/proc/self/exe`, which
/// reaches the running binary even when its file was replaced (by a build) since it started.
pub fn this_program() -> std::io::Result<PathBuf> {
    let proc = Path::new("/proc/self/exe");
    if cfg!(target_os = "linux") && proc.exists() {
        return Ok(proc.to_path_buf());
    }
    std::env::current_exe()
}

/// The command line that runs `shell`: `sh -c`, or the supervisor of [`Spec::supervisor`].
fn command_of(spec: &Spec<'_>) -> Command {
    let Some(program) = spec.supervisor else {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(spec.shell);
        return cmd;
    };
    let mut cmd = Command::new(program);
    cmd.arg("__supervise")
        .arg("--parent")
        .arg(std::process::id().to_string());
    if let Some(fd) = spec.inherit {
        cmd.arg("--holder-fd").arg(fd.to_string());
    }
    cmd.arg("--").arg(spec.shell);
    cmd
}

/// Makes the child inherit `fd`: its copy loses close-on-exec, between fork and exec, in the
/// child alone.
fn inherit(cmd: &mut Command, fd: RawFd) {
    // SAFETY: fcntl(2) is async-signal-safe, and it changes only the child's descriptor table.
    unsafe {
        cmd.pre_exec(move || {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The exit status, when the command exited on its own.
    pub exit: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// The last bytes of stdout and stderr together (lossily decoded).
    pub tail: String,
    /// Total bytes of output; more than the tail when it was cut.
    pub output_bytes: u64,
}

impl Outcome {
    /// Did it exit with `expected` within its time?
    pub fn exited_with(&self, expected: i32) -> bool {
        !self.timed_out && self.exit == Some(expected)
    }

    /// One short phrase: `exit 0`, `exit 101`, `killed by signal 9`, `timed out after 10m`.
    pub fn describe(&self) -> String {
        if self.timed_out {
            return format!(
                "timed out after {}",
                crate::clock::human_duration((self.duration_ms / 1000) as i64)
            );
        }
        match (self.exit, self.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "ended without a status".into(),
        }
    }
}

/// The last `n` lines of `text` (a command's output, most often).
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a command to its end (or its timeout). Errors only when it cannot be started.
pub fn run(spec: &Spec<'_>) -> std::io::Result<Outcome> {
    let (mut reader, writer) = std::io::pipe()?;
    let mut cmd = command_of(spec);
    if let Some(fd) = spec.inherit {
        inherit(&mut cmd, fd);
    }
    cmd.current_dir(spec.cwd)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    // The command belongs to the folder it runs in, not to a repository git pointed us at.
    for var in crate::git::cli::LOCATION_VARIABLES {
        cmd.env_remove(var);
    }
    for (key, value) in &spec.env {
        cmd.env(key, value);
    }
    let mut log = match spec.log {
        Some(path) => Some(std::fs::File::create(path)?),
        None => None,
    };
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    // The parent's copies of the pipe's write end live in `cmd`; drop them so that the reader
    // sees the end of the output when the command's side closes.
    drop(cmd);
    let pgid = child.id() as i32;
    let _registration = crate::interrupt::register(pgid);

    let limit = spec.tail_bytes.max(1);
    let collector = thread::spawn(move || {
        let mut tail: VecDeque<u8> = VecDeque::with_capacity(limit.min(64 * 1024));
        let mut total: u64 = 0;
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    total += n as u64;
                    if let Some(file) = log.as_mut() {
                        use std::io::Write;
                        // A log that cannot be written does not stop the command.
                        if file.write_all(&buf[..n]).is_err() {
                            log = None;
                        }
                    }
                    tail.extend(&buf[..n]);
                    let excess = tail.len().saturating_sub(limit);
                    tail.drain(..excess);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        (tail.into_iter().collect::<Vec<u8>>(), total)
    });

    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        status
    });
    let mut timed_out = false;
    if rx.recv_timeout(spec.timeout).is_err() {
        timed_out = true;
        kill_group(pgid, libc::SIGTERM);
        if rx.recv_timeout(GRACE).is_err() {
            kill_group(pgid, libc::SIGKILL);
        }
    }
    let status = waiter
        .join()
        .map_err(|_| std::io::Error::other("the waiting thread panicked"))??;
    let duration = started.elapsed();
    // Whatever the command left running in its group goes with it, so the output ends.
    kill_group(pgid, libc::SIGKILL);
    let (tail, output_bytes) = collector
        .join()
        .map_err(|_| std::io::Error::other("the output thread panicked"))?;
    Ok(Outcome {
        exit: status.code(),
        signal: status.signal(),
        timed_out,
        duration_ms: duration.as_millis() as u64,
        tail: String::from_utf8_lossy(&tail).into_owned(),
        output_bytes,
    })
}

/// Runs a command for a person at the terminal: it inherits stdin, stdout and stderr and stays
/// in planx's process group (so the terminal is its), with no timeout and no capture.
/// `inherit` as [`Spec::inherit`]. There is no supervisor: the command belongs to the terminal,
/// and when planx is killed it stays there, for the person at it.
pub fn run_interactive(
    shell: &str,
    cwd: &Path,
    env: &[(String, String)],
    inherit_fd: Option<RawFd>,
) -> std::io::Result<Outcome> {
    let _guard = crate::interrupt::interactive();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(shell).current_dir(cwd);
    if let Some(fd) = inherit_fd {
        inherit(&mut cmd, fd);
    }
    for var in crate::git::cli::LOCATION_VARIABLES {
        cmd.env_remove(var);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let started = Instant::now();
    let status = cmd.status()?;
    Ok(Outcome {
        exit: status.code(),
        signal: status.signal(),
        timed_out: false,
        duration_ms: started.elapsed().as_millis() as u64,
        tail: String::from("(interactive: the output went to the terminal)"),
        output_bytes: 0,
    })
}

fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Why one of the plan's commands did not run to its end.
#[derive(Debug, Error)]
pub enum CommandError {
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted by signal {signal}")]
    Interrupted { signal: i32 },
}

/// Someone told when one of the plan's commands starts and ends: a person at a terminal,
/// through `cli`, which shows it as it runs. Nothing here prints.
pub trait Watch: Send + Sync {
    /// `what` the command is for (`check \`tests pass\``, `preflight`, `step 2 verify`) and
    /// the command as the plan wrote it.
    fn started(&self, what: &str, command: &str);
    /// The command started last has ended.
    fn finished(&self);
}

/// The one watcher of this process, if any. A process-wide registration, like
/// [`crate::interrupt`]'s, rather than an argument threaded through every domain call that may
/// run a command: what is shown is the business of the command line alone, and `run`, whose
/// phases run commands on several threads at once, registers none.
static WATCHER: RwLock<Option<Arc<dyn Watch>>> = RwLock::new(None);

/// While it lives, `watcher` is told of every command [`run_command`] runs.
#[must_use = "the watcher is told of commands only while the guard lives"]
pub struct Watching(());

/// Registers `watcher` until the guard is dropped.
pub fn watch(watcher: Arc<dyn Watch>) -> Watching {
    *WATCHER.write().unwrap_or_else(|p| p.into_inner()) = Some(watcher);
    Watching(())
}

impl Drop for Watching {
    fn drop(&mut self) {
        *WATCHER.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn watcher() -> Option<Arc<dyn Watch>> {
    WATCHER.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Runs one of the plan's commands (trust already checked) in `cwd`, capturing the default
/// tail; a signal received meanwhile ends planx's work too. `what` says what it runs for, to
/// whoever [`watch`]es.
pub fn run_command(
    what: &str,
    command: &CommandRef,
    cwd: &Path,
    timeout: Duration,
    env: &[(&str, &str)],
) -> Result<Outcome, CommandError> {
    let spec = Spec {
        shell: &command.shell,
        cwd,
        timeout,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        tail_bytes: DEFAULT_TAIL_BYTES,
        log: None,
        supervisor: None,
        inherit: None,
    };
    tracing::debug!(command = %command.shell, cwd = %cwd.display(), "running");
    let watcher = watcher();
    if let Some(w) = &watcher {
        w.started(what, &command.text);
    }
    let outcome = run(&spec);
    if let Some(w) = &watcher {
        w.finished();
    }
    let outcome = outcome.map_err(|source| CommandError::Spawn {
        command: command.text.clone(),
        source,
    })?;
    match crate::interrupt::received() {
        Some(signal) => Err(CommandError::Interrupted { signal }),
        None => Ok(outcome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(shell: &str, timeout: Duration) -> Spec<'_> {
        Spec {
            shell,
            cwd: Path::new("/"),
            timeout,
            env: Vec::new(),
            tail_bytes: 64,
            log: None,
            supervisor: None,
            inherit: None,
        }
    }

    #[test]
    fn exit_status_and_output() {
        let out = run(&spec(
            "echo out; echo err >&2; exit 3",
            Duration::from_secs(10),
        ))
        .unwrap();
        assert_eq!(out.exit, Some(3));
        assert_eq!(out.tail, "out\nerr\n");
        assert!(!out.timed_out);
        assert_eq!(out.describe(), "exit 3");
    }

    #[test]
    fn the_tail_is_bounded() {
        let out = run(&spec(
            "yes 0123456789 | head -c 1000000",
            Duration::from_secs(30),
        ))
        .unwrap();
        assert_eq!(out.output_bytes, 1_000_000);
        assert_eq!(out.tail.len(), 64);
    }

    #[test]
    fn the_log_gets_everything() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.log");
        let mut s = spec("seq 1 1000", Duration::from_secs(10));
        s.log = Some(&log);
        let out = run(&s).unwrap();
        assert_eq!(out.tail.len(), 64);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("1\n2\n") && text.ends_with("999\n1000\n"));
    }

    #[test]
    fn stdin_is_empty() {
        let out = run(&spec("cat; echo done", Duration::from_secs(10))).unwrap();
        assert_eq!(out.tail, "done\n");
    }

    #[test]
    fn a_hang_is_killed_with_its_children() {
        let out = run(&spec(
            "sleep 300 & sleep 300; echo never",
            Duration::from_millis(300),
        ))
        .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.signal, Some(libc::SIGTERM));
        assert!(!out.exited_with(0));
    }
}
