//! Ctrl-C (SIGINT), SIGTERM and SIGHUP while a plan command runs: the command's whole process
//! group is stopped, and planx unwinds normally — removing its scratch worktrees, recording
//! what it must — before it dies of the same signal, as the shell expects.
//!
//! When no command is running, the signal ends planx at once, as it would without a handler.
//! Everything the handler touches is an atomic, and it calls only async-signal-safe functions.

use std::sync::atomic::{AtomicI32, Ordering};

const SLOTS: usize = 64;
static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static RUNNING: AtomicI32 = AtomicI32::new(0);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INTERACTIVE: AtomicI32 = AtomicI32::new(0);

extern "C" fn handler(signal: libc::c_int) {
    // A person at an interactive command uses Ctrl-C inside it; it is not for planx.
    if signal == libc::SIGINT && INTERACTIVE.load(Ordering::SeqCst) > 0 {
        return;
    }
    SIGNAL.store(signal, Ordering::SeqCst);
    if RUNNING.load(Ordering::SeqCst) == 0 {
        // SAFETY: signal(2) and raise(3) are async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe {
                libc::kill(-pgid, libc::SIGTERM);
            }
        }
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP. Call once, early.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installs a handler that only touches atomics and async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// A process group registered to be stopped on a signal; unregistered when dropped.
pub struct Registration {
    slot: Option<usize>,
}

/// Registers a running command's process group.
pub fn register(pgid: i32) -> Registration {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let slot = GROUPS.iter().position(|s| {
        s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    // A signal that arrived just before the registration still stops the command.
    if SIGNAL.load(Ordering::SeqCst) != 0 {
        // SAFETY: signals a process group this process created.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
    }
    Registration { slot }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            GROUPS[slot].store(0, Ordering::SeqCst);
        }
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// While the guard lives, a signal never ends planx on the spot: it is recorded (and stops
/// the registered commands) for the caller to notice with [`received`] and wind down.
pub struct Deferred(());

pub fn defer() -> Deferred {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    Deferred(())
}

impl Drop for Deferred {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// While the guard lives, Ctrl-C belongs to the interactive command in the foreground.
pub struct Interactive(());

pub fn interactive() -> Interactive {
    INTERACTIVE.fetch_add(1, Ordering::SeqCst);
    Interactive(())
}

impl Drop for Interactive {
    fn drop(&mut self) {
        INTERACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The signal received, if one was.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Dies of the signal received, if any, with its default action (after the caller cleaned up).
pub fn die_if_received() {
    if let Some(signal) = received() {
        // SAFETY: restores the default action and raises the signal on this process.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}
