//! Real tools the tests drive planx with: the hook managers of the coexistence tests (the
//! pre-commit framework from PyPI, in a virtualenv, and lefthook from npm), the Python MCP
//! client and the coding agents (Claude Code, Codex, Aider), installed once under the target
//! folder and reused.

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

/// A command that installs a tool into `dir`, run there. It keeps this machine's registry
/// settings (a mirror, a proxy) but nothing that points at a repository, and keeps the
/// installers' caches and logs in the tools folder rather than in the user's home.
fn installer(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let tools = tools_dir();
    let mut cmd = Command::new(program);
    cmd.current_dir(dir)
        .env("GIT_CEILING_DIRECTORIES", &tools)
        .env("PIP_CACHE_DIR", tools.join("pip-cache"))
        .env("npm_config_cache", tools.join("npm-cache"))
        .env("npm_config_logs_dir", tools.join("npm-logs"))
        .env("npm_config_update_notifier", "false");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_PREFIX",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Installs a tool and checks that it left this project's own repository alone.
fn install(cmd: &mut Command, what: &str) {
    let before = project_git_state();
    run(cmd, what);
    assert!(
        project_git_state() == before,
        "{what} changed this project's own repository (its hooks, .git/info, local config or a \
         lefthook.yml at its root)"
    );
}

/// The folder holding the `pre-commit` executable.
pub fn pre_commit_bin() -> PathBuf {
    locked(|dir| {
        let venv = dir.join("venv");
        let bin = venv.join("bin");
        if !bin.join("pre-commit").exists() {
            install(
                installer("python3", dir).args(["-m", "venv"]).arg(&venv),
                "python3 -m venv",
            );
            install(
                installer(bin.join("pip"), dir).args([
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

/// The Python of a virtualenv holding the `mcp` package (the Model Context Protocol SDK), the
/// real client the MCP server's tests drive it with.
pub fn mcp_python() -> PathBuf {
    locked(|dir| {
        let venv = dir.join("mcp-venv");
        let python = venv.join("bin/python");
        let marker = venv.join(".mcp-installed");
        pip_install(dir, &venv, &marker, "mcp>=1.20,<3");
        python
    })
}

/// The folder holding the `lefthook` executable.
pub fn lefthook_bin() -> PathBuf {
    locked(|dir| {
        let prefix = dir.join("npm");
        let bin = prefix.join("node_modules/.bin");
        if !bin.join("lefthook").exists() {
            // lefthook's package runs `lefthook install` after installing, in the git
            // repository around the folder (this project's own checkout): hooks and a
            // lefthook.yml nobody asked for. No install scripts; the binary needs none.
            npm_install(&prefix, "lefthook@2", &[("LEFTHOOK", "0")]);
        }
        bin
    })
}

/// Makes the virtualenv `venv` holding `requirement`, unless `marker` says it is there.
fn pip_install(dir: &Path, venv: &Path, marker: &Path, requirement: &str) {
    if marker.exists() {
        return;
    }
    install(
        installer("python3", dir).args(["-m", "venv"]).arg(venv),
        "python3 -m venv",
    );
    install(
        installer(venv.join("bin/pip"), dir).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ]),
        &format!("pip install {requirement}"),
    );
    fs::write(marker, "").expect("marker");
}

/// `npm install`s `package` under `prefix`, without install scripts (none of the tools the tests
/// use needs one, and lefthook's would install hooks in this project's own checkout).
fn npm_install(prefix: &Path, package: &str, env: &[(&str, &str)]) {
    fs::create_dir_all(prefix).expect("npm prefix");
    let mut cmd = installer("npm", prefix);
    cmd.envs(env.iter().copied())
        .args([
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
        ])
        .arg(prefix)
        .arg(package);
    install(&mut cmd, &format!("npm install {package}"));
}

/// What a tool's installer could change in the repository this project is checked out in:
/// the files of its hooks folder and of `.git/info` (names and contents), its local
/// configuration, and whether a `lefthook.yml` sits at its root.
fn project_git_state() -> Vec<(String, Vec<u8>)> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(manifest)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| o.stdout)
    };
    let Some(hooks) = git(&["rev-parse", "--path-format=absolute", "--git-path", "hooks"]) else {
        return Vec::new(); // not a git checkout: nothing to protect
    };
    let info = git(&["rev-parse", "--path-format=absolute", "--git-path", "info"]);
    let mut state = Vec::new();
    for dir in [Some(hooks), info].into_iter().flatten() {
        let dir = PathBuf::from(String::from_utf8_lossy(&dir).trim());
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.path().display().to_string();
            state.push((name, fs::read(entry.path()).unwrap_or_default()));
        }
    }
    state.push((
        "config --local".into(),
        git(&["config", "--local", "--list"]).unwrap_or_default(),
    ));
    state.push((
        "lefthook.yml".into(),
        fs::read(manifest.join("lefthook.yml")).unwrap_or_default(),
    ));
    state.sort();
    state
}

/// The version of Claude Code the agent tests drive (the measurements were made with
/// it); a new version is a change of this line and a run of `cargo test --test integration
/// claude`.
pub const CLAUDE_CODE_VERSION: &str = "2.1.328";

/// The folder holding the real `claude` executable (Claude Code's native build for this
/// machine, from npm). Installed without its install script, which only links the binary.
pub fn claude_bin() -> PathBuf {
    let platform = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-x64",
        ("macos", "aarch64") => "darwin-arm64",
        (os, arch) => panic!("the Claude Code tests have no build of Claude Code for {os} {arch}"),
    };
    locked(|dir| {
        let prefix = dir.join(format!("claude-code-{CLAUDE_CODE_VERSION}"));
        let bin = prefix.join(format!("node_modules/@anthropic-ai/claude-code-{platform}"));
        if !bin.join("claude").exists() {
            npm_install(
                &prefix,
                &format!("@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"),
                &[],
            );
        }
        bin
    })
}

/// The version of the Codex CLI the Codex recipe's test drives; a new version is a change of
/// this line and a run of `cargo test --test integration codex`.
pub const CODEX_VERSION: &str = "0.169.0";

/// The folder holding the real `codex` executable (the Codex CLI's native build for this
/// machine, from npm, installed without install scripts: the binary needs none).
pub fn codex_bin() -> PathBuf {
    let (package, triple) = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => ("linux-x64", "x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => ("linux-arm64", "aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => ("darwin-x64", "x86_64-apple-darwin"),
        ("macos", "aarch64") => ("darwin-arm64", "aarch64-apple-darwin"),
        (os, arch) => panic!("the Codex test has no build of the Codex CLI for {os} {arch}"),
    };
    locked(|dir| {
        let prefix = dir.join(format!("codex-{CODEX_VERSION}"));
        let bin = prefix.join(format!(
            "node_modules/@openai/codex-{package}/vendor/{triple}/bin"
        ));
        if !bin.join("codex").exists() {
            npm_install(&prefix, &format!("@openai/codex@{CODEX_VERSION}"), &[]);
        }
        bin
    })
}

/// The version of Aider the Aider recipe's test drives; a new version is a change of this line
/// and a run of `cargo test --test integration aider`.
pub const AIDER_VERSION: &str = "0.86.2";

/// The folder holding the real `aider` executable (the `aider-chat` package from PyPI, in a
/// virtualenv of its own).
pub fn aider_bin() -> PathBuf {
    locked(|dir| {
        let venv = dir.join("aider-venv");
        let bin = venv.join("bin");
        let marker = venv.join(format!(".aider-{AIDER_VERSION}"));
        pip_install(dir, &venv, &marker, &format!("aider-chat=={AIDER_VERSION}"));
        bin
    })
}
