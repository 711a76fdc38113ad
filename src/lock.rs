//! Local locks in `$GIT_COMMON_DIR/planx/locks/`: a file created exclusively, holding the pid
//! of its owner. A lock whose owner is no longer running (it crashed) is taken over; a live
//! one makes the caller give up at once with exit 3 ("lock held: retrying may help").

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

/// Someone else holds the lock.
#[derive(Debug)]
pub struct Held {
    pub path: PathBuf,
    pub pid: Option<u32>,
}

impl Lock {
    /// Takes the lock `name` under `dir`, or reports who holds it.
    pub fn acquire(dir: &Path, name: &str) -> std::io::Result<Result<Lock, Held>> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.lock", name.replace('/', "%2F")));
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id())?;
                    return Ok(Ok(Lock { path }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match pid {
                        Some(pid) if !alive(pid) => {
                            tracing::debug!(
                                pid,
                                "taking over a lock left by a process that is gone"
                            );
                            let _ = fs::remove_file(&path);
                        }
                        // An empty file: the owner is between creating and writing it.
                        _ => return Ok(Err(Held { path, pid })),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Err(Held { path, pid: None }))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 only checks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_dead_owners_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "start-a").unwrap().unwrap();
        let second = Lock::acquire(dir.path(), "start-a").unwrap();
        assert_eq!(second.unwrap_err().pid, Some(std::process::id()));
        drop(first);
        let again = Lock::acquire(dir.path(), "start-a").unwrap().unwrap();
        drop(again);
        // A lock left by a process that no longer exists.
        fs::write(dir.path().join("start-b.lock"), "999999999\n").unwrap();
        assert!(Lock::acquire(dir.path(), "start-b").unwrap().is_ok());
    }
}
