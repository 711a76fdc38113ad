//! Commands run the way the integration tests run them: in the hermetic environment of
//! `tests/integration/common/hermetic.rs` (one definition for both), with the colour of
//! git-planx's output off, since what the suite times is written to no terminal.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::hermetic::Hermetic;

/// The signing key of every command the suite runs, and of the records its fixtures write.
pub const SIGNING_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
pub const SIGNING_VARIABLE: &str = "PLANX_SIGNING_KEY";

pub struct Env {
    hermetic: Hermetic,
    /// The `git-planx` binary under measurement.
    pub bin: PathBuf,
}

impl Env {
    /// Commands get `home` as `HOME`; git's search for a repository stops at the harness root
    /// (the folder holding `home`).
    pub fn new(home: &Path, bin: &Path) -> Env {
        std::fs::create_dir_all(home).expect("create the harness home");
        let ceiling = home
            .parent()
            .expect("the harness root")
            .canonicalize()
            .expect("a canonical harness root");
        let bin_dir = bin.parent().expect("the binary's folder");
        Env {
            hermetic: Hermetic::new(home, &ceiling, bin_dir),
            bin: bin.to_path_buf(),
        }
    }

    /// A command with the hermetic environment, run in `dir`.
    pub fn command(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let mut cmd = self.hermetic.command(program, dir);
        cmd.env("NO_COLOR", "1");
        // The fixtures' records are signed in this process with the same key.
        cmd.env(SIGNING_VARIABLE, SIGNING_KEY);
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
