//! The command line as a whole: help, usage errors, colour, JSON errors.

use crate::common::{Repo, VERIFY_PLAN, small_plan, steady_durations};

#[test]
fn help_lists_the_commands() {
    let repo = Repo::new();
    let run = repo.planx(&["--help"]);
    assert_eq!(run.code, 0);
    for command in ["init", "check", "graph"] {
        assert!(run.stdout.contains(command), "{run}");
    }
    assert!(run.stdout.contains("Usage: git planx"), "{run}");
}

#[test]
fn git_runs_it_as_a_subcommand() {
    let repo = Repo::new();
    let run = repo.run(repo.command("git", &repo.root).args(["planx", "check"]));
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("no plan at .planx/plan.toml"), "{run}");
}

#[test]
fn usage_errors_exit_2() {
    let repo = Repo::new();
    let run = repo.planx(&["frobnicate"]);
    assert_eq!(run.code, 2, "{run}");
    let run = repo.planx(&["graph", "--format", "png"]);
    assert_eq!(run.code, 2, "{run}");
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let repo = Repo::new();
    repo.write_plan(&small_plan().status("draft").toml());
    let plain = repo.planx(&["check"]);
    assert!(!plain.stdout.contains('\x1b'), "{plain}");
    let coloured = repo.planx(&["check", "--color", "always"]);
    assert!(
        coloured.stdout.contains("\x1b[1;33mwarning\x1b[0m"),
        "{coloured}"
    );
    let mut cmd = repo.command(crate::common::BIN, &repo.root);
    cmd.args(["check", "--color", "always"])
        .env("NO_COLOR", "1");
    let run = repo.run(&mut cmd);
    assert!(!run.stdout.contains('\x1b'), "{run}");
}

#[test]
fn errors_as_json() {
    let repo = Repo::new();
    let run = repo.planx(&["graph", "--json"]);
    assert_eq!(run.code, 2);
    let doc = run.json();
    assert_eq!(doc["schema"], "planx.error/1");
    assert_eq!(doc["kind"], "usage");
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["message"], "no plan at .planx/plan.toml");
}

#[test]
fn verbose_logging_goes_to_stderr_only() {
    // `verify` logs each plan command it runs and each git command it spawns at debug level.
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    let quiet = repo.planx(&["verify"]);
    assert_eq!(quiet.code, 0, "{quiet}");
    assert_eq!(
        quiet.stderr, "",
        "no log below a warning by default: {quiet}"
    );
    let mut with_env = repo.command(crate::common::BIN, &repo.root);
    with_env.args(["verify"]).env("PLANX_LOG", "debug");
    for loud in [repo.planx(&["verify", "-v"]), repo.run(&mut with_env)] {
        assert_eq!(loud.code, 0, "{loud}");
        let log = without_ansi(&loud.stderr);
        assert!(
            log.lines()
                .any(|l| l.starts_with("DEBUG running") && l.contains("command=test -f new.txt")),
            "the check's command is logged: {log}"
        );
        assert!(
            log.lines()
                .any(|l| l.starts_with("DEBUG git") && l.contains(r#""status""#)),
            "git's commands are logged: {log}"
        );
        // What verify prints is the same, but for how long the check took (the machine's load).
        assert_eq!(
            steady_durations(&quiet.stdout),
            steady_durations(&loud.stdout),
            "{loud}"
        );
        assert!(!loud.stdout.contains("DEBUG"), "{loud}");
    }
}

/// `text` without its terminal colour codes.
fn without_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn install_man_writes_the_page() {
    let repo = Repo::folder();
    let run = repo.planx(&["install-man", "--dir", "man/man1", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    let page = repo.read("man/man1/git-planx.1");
    assert!(page.starts_with(".ie"), "{page}");
    assert!(page.contains("COMMAND: CHECK"));
    // A page per command, as git's own commands have, each with the sections clap cannot know.
    let mut names: Vec<String> = std::fs::read_dir(repo.path("man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 30, "{names:?}");
    for command in [
        "init",
        "start",
        "checkpoint",
        "status",
        "verify",
        "finish",
        "run",
        "claim",
        "completions",
        "install-man",
        "mcp",
    ] {
        assert!(
            names.contains(&format!("git-planx-{command}.1")),
            "{command}: {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("__") || n == "git-planx-help.1"),
        "{names:?}"
    );
    for name in &names {
        let page = repo.read(&format!("man/man1/{name}"));
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.contains(section), "{name} has no {section}");
        }
        for variable in [
            "PLANX_TRUST",
            "PLANX_HOOKS",
            "PLANX_EXECUTOR",
            "PLANX_LOG",
            "NO_COLOR",
            "trust.json",
            "$GIT_COMMON_DIR/planx/",
        ] {
            assert!(page.contains(variable), "{name} does not say {variable}");
        }
    }
    let start = repo.read("man/man1/git-planx-start.1");
    assert!(start.contains(".TH git-planx-start 1"), "{start}");
    assert!(start.contains(".BR git\\-planx (1)"), "{start}");
    // `man -l` renders a page, where man is installed.
    if repo
        .run(
            repo.command("sh", &repo.root)
                .args(["-c", "command -v man"]),
        )
        .code
        == 0
    {
        let mut cmd = repo.command("man", &repo.root);
        cmd.args(["-l", "man/man1/git-planx-start.1"])
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat");
        let run = repo.run(&mut cmd);
        assert_eq!(run.code, 0, "{run}");
        let text: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .collect();
        insta::assert_snapshot!(text.join("\n"), @"
        git-planx-start(1)                   General Commands Manual                   git-planx-start(1)
        NAME
        SYNOPSIS
        DESCRIPTION
        OPTIONS
        GLOBAL OPTIONS
        EXIT STATUS
        ENVIRONMENT
        FILES
        SEE ALSO
        ");
    }
}

#[test]
fn git_planx_help_opens_the_installed_manual() {
    let repo = Repo::new();
    // `man` finds pages in ../share/man beside a folder on PATH, as for ~/.cargo/bin.
    let bin = repo.root.join("prefix/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(crate::common::BIN, bin.join("git-planx")).unwrap();
    if repo
        .run(
            repo.command("sh", &repo.root)
                .args(["-c", "command -v man"]),
        )
        .code
        != 0
    {
        eprintln!("man is not installed: skipping the manual part");
        return;
    }
    let run = repo.planx(&["install-man", "--dir", "prefix/share/man/man1", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    let mut cmd = repo.command("git", &repo.root);
    cmd.args(["planx", "--help"])
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .env("MANPAGER", "cat")
        .env("PAGER", "cat");
    let run = repo.run(&mut cmd);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("git-planx"), "{run}");
}

#[test]
fn colour_on_a_real_terminal_unless_no_color() {
    let repo = Repo::new();
    repo.write_plan(&small_plan().status("draft").toml());
    // `script` runs the command on a pseudo-terminal, as a person would.
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = repo.command("script", &repo.root);
        cmd.args([
            "-qec",
            &format!("'{}' check", crate::common::BIN),
            "/dev/null",
        ])
        .env("TERM", "xterm");
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        repo.run(&mut cmd)
    };
    let probe = repo.run(
        repo.command("sh", &repo.root)
            .args(["-c", "command -v script"]),
    );
    assert_eq!(
        probe.code, 0,
        "the `script` command (util-linux) is needed: {probe}"
    );
    let coloured = on_tty(None);
    assert!(coloured.stdout.contains("\x1b[1;33mwarning"), "{coloured}");
    let plain = on_tty(Some("1"));
    assert!(
        plain.stdout.contains("warning: the plan is draft"),
        "{plain}"
    );
    assert!(!plain.stdout.contains('\x1b'), "{plain}");
}
