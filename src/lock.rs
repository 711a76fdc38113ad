//! Local locks in `$GIT_COMMON_DIR/planx/locks/`: `flock(2)` on a file per lock. The kernel
//! releases a lock when its holder exits, however it exits, so a crash never leaves a lock
//! behind and there is no stale lock to take over. A held lock makes the caller give up at
//! once with exit 3 ("lock held: retrying may help"); the file names the holder's pid.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::Path;

use thiserror::Error;

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Someone else holds the lock.
#[derive(Debug)]
pub struct Held {
    pub pid: Option<u32>,
}

impl Lock {
    /// Takes the lock `name` under `dir`, or reports who holds it.
    pub fn acquire(dir: &Path, name: &str) -> std::io::Result<Result<Lock, Held>> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.lock", name.replace('/', "%2F")));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        // SAFETY: flock(2) on a file descriptor this process owns; no memory is involved.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !taken {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Ok(Err(Held {
                pid: text.trim().parse().ok(),
            }));
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        Ok(Ok(Lock { _file: file }))
    }

    /// Takes the lock `name` under `dir`, waiting for its holder to let go: for short critical
    /// sections that must not run side by side, where waiting is the right answer.
    pub fn wait(dir: &Path, name: &str) -> std::io::Result<Lock> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.lock", name.replace('/', "%2F")));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        loop {
            // SAFETY: flock(2) on a file descriptor this process owns; no memory is involved.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock { _file: file });
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    /// The lock's open file: a process that inherits it holds the lock too, for as long as it
    /// keeps it open (`flock(2)` locks belong to the open file, not to a process).
    pub fn as_raw_fd(&self) -> RawFd {
        self._file.as_raw_fd()
    }

    /// Is the lock `name` under `dir` free right now?
    pub fn is_free(dir: &Path, name: &str) -> std::io::Result<bool> {
        Ok(Lock::acquire(dir, name)?.is_ok())
    }
}

/// Why a lock for a phase's command was not taken.
#[derive(Debug, Error)]
pub enum LockError {
    #[error("another `git planx {what}` of phase `{phase}` is running")]
    Held {
        what: &'static str,
        phase: String,
        pid: Option<u32>,
    },
    #[error("cannot use planx's local state")]
    Io(#[from] std::io::Error),
}

/// Takes the lock `name` in the folder of locks `dir` for the command `what` of `phase`, or
/// says who holds it.
pub fn take(dir: &Path, name: &str, what: &'static str, phase: &str) -> Result<Lock, LockError> {
    match Lock::acquire(dir, name)? {
        Ok(lock) => Ok(lock),
        Err(held) => Err(LockError::Held {
            what,
            phase: phase.to_owned(),
            pid: held.pid,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "start-a").unwrap().unwrap();
        let second = Lock::acquire(dir.path(), "start-a").unwrap();
        assert_eq!(second.unwrap_err().pid, Some(std::process::id()));
        drop(first);
        assert!(Lock::is_free(dir.path(), "start-a").unwrap());
    }

    #[test]
    fn waiting_takes_the_lock_once_its_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::wait(dir.path(), "worktrees").unwrap();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || Lock::wait(&path, "worktrees").map(|_| ()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished());
        drop(first);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn a_lock_file_left_by_a_dead_process_is_free() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("start-b.lock"), "999999999\n").unwrap();
        assert!(Lock::acquire(dir.path(), "start-b").unwrap().is_ok());
        fs::write(dir.path().join("start-c.lock"), "").unwrap();
        assert!(Lock::acquire(dir.path(), "start-c").unwrap().is_ok());
    }
}
