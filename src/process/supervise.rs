//! The supervisor of an executor: a small process between planx and the executor's shell,
//! so that an executor never outlives the `git planx run` that started it, however planx ends.
//!
//! planx starts it as `git-planx __supervise --parent PID [--holder-fd N] -- COMMAND` in a
//! process group of its own (the supervisor leads it; the executor and everything it starts
//! belong to it). The supervisor runs `sh -c COMMAND` in that group and waits for it, relaying
//! how it ended (its exit code, or the signal that ended it). When planx is gone, it stops the
//! whole group: SIGTERM, a grace, then SIGKILL.
//!
//! How it learns that planx is gone: on Linux the kernel tells it at once
//! (`PR_SET_PDEATHSIG`). That signal comes when the *thread* that started the supervisor
//! ends, not the process — and `run` starts executors from its phases' threads — so the
//! signal alone proves nothing: the supervisor stops the group only when its parent process
//! has changed (`getppid`), and checks that too every tenth of a second, which is also how it
//! notices planx's end where there is no `PR_SET_PDEATHSIG` (macOS and the BSDs: within that
//! tenth of a second). A SIGTERM while planx lives is planx stopping the group itself (a
//! timeout, Ctrl-C): the group got it already, so the supervisor only goes on waiting.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use super::GRACE;

/// How often the supervisor looks at its command and its parent, at the most.
const TICK: Duration = Duration::from_millis(100);

/// A signal only wakes the supervisor (it ends a pause early), which then looks.
extern "C" fn woken(_: libc::c_int) {}

/// Exit code of a supervisor that ran nothing, planx being gone before it could start.
const ORPHANED: i32 = 125;

/// Exit code of a supervisor that could not start `sh`, as the shell's own for a command it
/// cannot run.
pub const CANNOT_RUN: u8 = 127;

/// Runs `sh -c shell` as the supervisor of planx's process `parent`, and ends this process
/// the way the command ended. `holder` is a descriptor of the executor's lock, inherited
/// from planx: the supervisor writes its process id there, which is the id of the group.
/// Returns only when `sh` cannot be started, with why (the caller says so and exits with
/// [`CANNOT_RUN`]).
pub fn supervise(parent: u32, holder: Option<i32>, shell: &str) -> std::io::Error {
    // SIGCHLD too: the command's end wakes the supervisor at once.
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGCHLD] {
        // SAFETY: installs a handler that does nothing; without SA_RESTART a signal ends a
        // pause.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = woken as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(2) with PR_SET_PDEATHSIG changes only this process's attributes.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    // planx may have ended before the line above: then nothing is started.
    if !parent_lives(parent) {
        std::process::exit(ORPHANED);
    }
    if let Some(fd) = holder {
        write_holder(fd);
    }
    let mut child = match Command::new("sh").arg("-c").arg(shell).spawn() {
        Ok(child) => child,
        Err(e) => return e,
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => relay(status),
            Ok(None) => {}
            Err(_) => std::process::exit(70),
        }
        if !parent_lives(parent) {
            stop_group(&mut child);
        }
        pause(TICK);
    }
}

/// Sleeps for `time`, or until a signal comes.
fn pause(time: Duration) {
    let spec = libc::timespec {
        tv_sec: time.as_secs() as libc::time_t,
        tv_nsec: time.subsec_nanos() as libc::c_long,
    };
    // SAFETY: nanosleep(2) reads the timespec given; the remainder is not asked for.
    unsafe {
        libc::nanosleep(&spec, std::ptr::null_mut());
    }
}

/// Is planx's process `parent` still this process's parent?
fn parent_lives(parent: u32) -> bool {
    // SAFETY: getppid(2) has no side effects.
    let now = unsafe { libc::getppid() };
    u32::try_from(now).is_ok_and(|now| now == parent)
}

/// planx is gone: the group (this process among it) is stopped, the executor given a grace
/// to end on SIGTERM.
fn stop_group(child: &mut std::process::Child) -> ! {
    // SAFETY: getpgrp(2) and kill(2) on this process's own group.
    let group = unsafe { libc::getpgrp() };
    unsafe {
        libc::kill(-group, libc::SIGTERM);
    }
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above; this ends the supervisor too, whose parent is gone.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
    std::process::exit(ORPHANED)
}

/// Ends this process the way the command ended: its exit code, or its signal.
fn relay(status: std::process::ExitStatus) -> ! {
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    if let Some(signal) = status.signal() {
        // SAFETY: restores the default action and raises the signal on this process.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        std::process::exit(128 + signal);
    }
    std::process::exit(70)
}

/// Writes this process's id (the group's) into the executor's lock file, so that a run that
/// finds the lock held can say which group holds it.
fn write_holder(fd: i32) {
    let text = format!("{}\n", std::process::id());
    // SAFETY: ftruncate(2) and pwrite(2) on a descriptor planx handed down; the buffer is
    // valid for its length. A holder that cannot be written only makes the message vaguer.
    unsafe {
        if libc::ftruncate(fd, 0) == 0 {
            libc::pwrite(fd, text.as_ptr().cast(), text.len(), 0);
        }
    }
}
