//! The hermetic environment: how every command of the integration tests and of the
//! performance suite (`benches/perf`, which includes this file) is run, so that nothing depends
//! on the machine's setup and a fixture gets the same commit ids wherever it is built.
//!
//! Hermetic means: the environment is cleared; `HOME` is a private folder; git ignores the
//! system and global configuration and never looks for a repository above the caller's own
//! folder; the locale is C and the time zone UTC; the identity is fixed; and each command gets
//! a date one second after the previous one, starting at 2026-01-01T00:00:00Z.
//!
//! It is one file with no dependency beyond `std` so that both targets can include it.

use std::cell::Cell;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// 2026-01-01T00:00:00Z: the date of the first command; each one after it is a second later.
const DATE0: i64 = 1_767_225_600;

/// The folders a hermetic command sees, and the clock that dates its commits.
pub struct Hermetic {
    home: PathBuf,
    ceiling: PathBuf,
    path: String,
    tick: Cell<i64>,
}

impl Hermetic {
    /// Commands get `home` as `HOME`, find programs in `bin_dir` first (then the system's
    /// folders), and git's search for a repository stops at `ceiling`.
    pub fn new(home: &Path, ceiling: &Path, bin_dir: &Path) -> Hermetic {
        Hermetic {
            home: home.to_path_buf(),
            ceiling: ceiling.to_path_buf(),
            path: format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
            tick: Cell::new(0),
        }
    }

    /// The `PATH` commands get.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `program` with the hermetic environment, run in `dir`, its stdin closed; each call is
    /// one second after the previous one for git's dates.
    pub fn command(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let tick = self.tick.get();
        self.tick.set(tick + 1);
        let date = format!("@{} +0000", DATE0 + tick);
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .current_dir(dir)
            .env("PATH", &self.path)
            .env("HOME", &self.home)
            .env("GIT_CEILING_DIRECTORIES", &self.ceiling)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "init.defaultBranch")
            .env("GIT_CONFIG_VALUE_0", "main")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Lovelace")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .stdin(Stdio::null());
        cmd
    }
}
