//! Real hook managers for the coexistence tests: the pre-commit framework (from PyPI, in a
//! virtualenv) and lefthook (from npm), installed once under the target folder and reused.

use std::fs::{self, File};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hook-managers")
}

/// Runs `f` holding a lock on the tools folder, so parallel tests install once.
fn locked<T>(f: impl FnOnce(&Path) -> T) -> T {
    let dir = tools_dir();
    fs::create_dir_all(&dir).expect("tools folder");
    let lock = File::create(dir.join(".lock")).expect("lock file");
    // SAFETY: flock(2) on a descriptor this process owns.
    unsafe {
        libc::flock(lock.as_raw_fd(), libc::LOCK_EX);
    }
    f(&dir)
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed (the coexistence tests install it from its registry):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The folder holding the `pre-commit` executable.
pub fn pre_commit_bin() -> PathBuf {
    locked(|dir| {
        let venv = dir.join("venv");
        let bin = venv.join("bin");
        if !bin.join("pre-commit").exists() {
            run(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "python3 -m venv",
            );
            run(
                Command::new(bin.join("pip")).args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "pre-commit>=3,<5",
                ]),
                "pip install pre-commit",
            );
        }
        bin
    })
}

/// The folder holding the `lefthook` executable.
pub fn lefthook_bin() -> PathBuf {
    locked(|dir| {
        let prefix = dir.join("npm");
        let bin = prefix.join("node_modules/.bin");
        if !bin.join("lefthook").exists() {
            let before = project_hooks();
            // lefthook's package runs `lefthook install` after installing, in the git
            // repository around the folder (this project's own checkout): hooks and a
            // lefthook.yml nobody asked for. No install scripts; the binary needs none.
            fs::create_dir_all(&prefix).expect("npm prefix");
            run(
                Command::new("npm")
                    .current_dir(&prefix)
                    .env("LEFTHOOK", "0")
                    .args([
                        "install",
                        "--silent",
                        "--no-audit",
                        "--no-fund",
                        "--ignore-scripts",
                        "--prefix",
                    ])
                    .arg(&prefix)
                    .arg("lefthook@2"),
                "npm install lefthook",
            );
            assert_eq!(
                project_hooks(),
                before,
                "installing lefthook changed this project's own git hooks"
            );
        }
        bin
    })
}

/// The hooks of the repository this project is checked out in (names and contents), to
/// prove that installing a tool for the tests leaves them alone.
fn project_hooks() -> Vec<(String, Vec<u8>)> {
    let out = Command::new("git")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])
        .output();
    let Ok(out) = out else { return Vec::new() };
    if !out.status.success() {
        return Vec::new(); // not a git checkout: nothing to protect
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut hooks: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    hooks.sort();
    hooks
}
