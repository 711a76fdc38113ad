//! Commands run the way the integration tests run them: a cleared environment, a private
//! `HOME`, no system or global git configuration, the C locale, UTC, a fixed identity, and
//! dates that step by one second per command, so that nothing depends on the machine's setup
//! and every fixture gets the same commit ids.

use std::cell::Cell;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Env {
    home: PathBuf,
    /// The harness root: git's search for a repository stops here.
    ceiling: PathBuf,
    path: String,
    /// The `git-planx` binary under measurement.
    pub bin: PathBuf,
    tick: Cell<i64>,
}

/// 2026-01-01T00:00:00Z: dates of commands run by the harness start here.
const DATE0: i64 = 1_767_225_600;

impl Env {
    pub fn new(home: &Path, bin: &Path) -> Env {
        std::fs::create_dir_all(home).expect("create the harness home");
        let bin_dir = bin.parent().expect("the binary's folder");
        let ceiling = home
            .parent()
            .expect("the harness root")
            .canonicalize()
            .expect("a canonical harness root");
        Env {
            home: home.to_path_buf(),
            ceiling,
            path: format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
            bin: bin.to_path_buf(),
            tick: Cell::new(0),
        }
    }

    /// A command with the hermetic environment, run in `dir`.
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
            .env("NO_COLOR", "1")
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Lovelace")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command to its end, capturing its output.
    pub fn output(&self, cmd: &mut Command) -> Output {
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
    }

    /// Runs git in `dir` and returns its stdout; a failure stops the harness.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.output(self.command("git", dir).args(args));
        assert!(
            out.status.success(),
            "git {args:?} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `git-planx` in `dir`; returns its output whatever its exit code.
    pub fn planx(&self, dir: &Path, args: &[&str]) -> Output {
        self.output(self.command(&self.bin, dir).args(args))
    }
}
