//! `git planx completions`: the scripts for each shell (bash and fish driven for real, zsh
//! parsed and loaded), the phase ids they complete, and
//! `git planx <TAB>` through git's own bash completion, driven in a real `bash`.

use std::path::Path;

use crate::common::plan::PhaseBuilder;
use crate::common::{BIN, Repo, small_plan};

/// Where git's bash completion script lives: Debian's and Fedora's git ship the first, other
/// systems one of the others.
const GIT_COMPLETION: &[&str] = &[
    "/usr/share/bash-completion/completions/git",
    "/usr/share/git/completion/git-completion.bash",
    "/usr/share/git-core/contrib/completion/git-completion.bash",
    "/etc/bash_completion.d/git",
];

fn script(repo: &Repo, shell: &str) -> String {
    let run = repo.planx(&["completions", shell]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.is_empty(), "{run}");
    run.stdout
}

fn head(text: &str, lines: usize) -> String {
    text.lines().take(lines).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_script_for_each_shell() {
    let repo = Repo::folder();
    let bash = script(&repo, "bash");
    insta::assert_snapshot!(head(&bash, 4), @r#"
    _git__planx() {
        local i cur prev opts cmd
        COMPREPLY=()
        if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
    "#);
    let zsh = script(&repo, "zsh");
    insta::assert_snapshot!(head(&zsh, 1), @"#compdef git-planx");
    let fish = script(&repo, "fish");
    insta::assert_snapshot!(head(&fish, 1), @"# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.");
    for text in [&bash, &zsh, &fish] {
        for command in [
            "start",
            "status",
            "checkpoint",
            "install-man",
            "completions",
        ] {
            assert!(text.contains(command), "{command} missing");
        }
        // The phase ids come from the binary, and its hidden command is not offered.
        assert!(text.contains("git-planx __complete-phases 2>/dev/null"));
    }
    let offered = bash
        .lines()
        .find(|l| l.trim_start().starts_with("opts=") && l.contains(" init check "))
        .expect("the top-level words");
    assert!(!offered.contains("__complete"), "{offered}");
    assert!(
        bash.contains("\n_git_planx() {"),
        "git's completion needs _git_planx"
    );
    assert!(zsh.contains(":phase -- The phase to start:_git-planx_phases'"));
    assert!(zsh.contains("--phase=[") && zsh.contains(":PHASE:_git-planx_phases'"));
    assert!(fish.contains(
        "complete -c git-planx -n \"__fish_git_planx_using_subcommand start\" -f -a \"(__fish_git_planx_phases)\""
    ));
    let run = repo.planx(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{run}");
}

#[test]
fn the_hidden_command_prints_the_phase_ids_or_nothing() {
    let repo = Repo::with_plan(&small_plan().toml());
    let run = repo.planx(&["__complete-phases"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "a\nb\nc\n"), "{run}");
    repo.write(
        "other.toml",
        small_plan().phase(PhaseBuilder::new("d", "Fourth")).toml(),
    );
    let run = repo.planx(&["--plan", "other.toml", "__complete-phases"]);
    assert_eq!(run.stdout, "a\nb\nc\nd\n", "{run}");
    // No plan, no repository: nothing at all, and no error for the shell to show.
    let run = repo.planx(&["--plan", "missing.toml", "__complete-phases"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run}"
    );
    let outside = Repo::folder();
    let run = outside.planx(&["__complete-phases"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run}"
    );
    // Hidden from the help.
    assert!(!repo.planx(&["--help"]).stdout.contains("__complete"));
}

/// Completes each line in a real bash, through git's completion for `git …` lines and the
/// script's own for `git-planx …` lines, and prints each answer as `line => words`.
fn complete_in_bash(repo: &Repo, lines: &[&str]) -> String {
    let git_completion = GIT_COMPLETION
        .iter()
        .find(|path| Path::new(path).exists())
        .expect("git's bash completion script (.ci/run installs it: bash-completion)");
    repo.write(".git/planx.bash", script(repo, "bash"));
    let mut driver = format!(
        r#"source {git_completion}
source .git/planx.bash
drive() {{
    COMP_LINE=$1 COMP_POINT=${{#1}}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
    COMPREPLY=()
    if [[ ${{COMP_WORDS[0]}} == git ]]; then
        __git_wrap__git_main
    else
        __git_planx_complete git-planx "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    fi
    printf '%s =>' "$COMP_LINE"
    printf ' [%s]' "${{COMPREPLY[@]}}"
    echo
}}
"#
    );
    for line in lines {
        driver.push_str(&format!("drive '{line}'\n"));
    }
    let run =
        repo.run(
            repo.command("bash", &repo.root)
                .args(["--norc", "--noprofile", "-c", &driver]),
        );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.is_empty(), "{run}");
    assert!(Path::new(BIN).exists());
    run.stdout
}

#[test]
fn git_planx_tab_completes_through_gits_bash_completion() {
    let repo = Repo::with_plan(&small_plan().toml());
    repo.write(
        "other.toml",
        small_plan().phase(PhaseBuilder::new("d", "Fourth")).toml(),
    );
    let out = complete_in_bash(
        &repo,
        &[
            "git planx sta",
            "git planx start ",
            "git planx start a ",
            "git planx verify ",
            "git planx --plan other.toml finish ",
            "git planx run --phase ",
            "git planx start --wor",
            "git planx checkpoint --st",
            "git -C . planx sta",
            "git-planx sta",
            "git-planx status ",
        ],
    );
    insta::assert_snapshot!(out, @r"
    git planx sta => [start ] [status ]
    git planx start  => [a ] [b ] [c ]
    git planx start a  => [-v ] [-q ] [-h ] [--worktree ] [--force ] [--plan ] [--json ] [--verbose ] [--quiet ] [--trust-once ] [--color ] [--help ]
    git planx verify  => [a ] [b ] [c ]
    git planx --plan other.toml finish  => [a ] [b ] [c ] [d ]
    git planx run --phase  => [a ] [b ] [c ]
    git planx start --wor => [--worktree ]
    git planx checkpoint --st => [--step ]
    git -C . planx sta => [start ] [status ]
    git-planx sta => [start] [status]
    git-planx status  => [a] [b] [c]
    ");
}

/// A shell's path, which `.ci/run` installs (Debian's zsh and fish).
fn shell(name: &str) -> &'static str {
    ["/usr/bin/", "/bin/", "/usr/local/bin/"]
        .iter()
        .map(|dir| Box::leak(format!("{dir}{name}").into_boxed_str()) as &'static str)
        .find(|path| Path::new(path).exists())
        .unwrap_or_else(|| panic!("{name} is needed for this test (.ci/run installs it)"))
}

#[test]
fn the_zsh_script_parses_and_defines_its_functions() {
    let repo = Repo::with_plan(&small_plan().toml());
    repo.write(".git/_git-planx", script(&repo, "zsh"));
    let zsh = shell("zsh");
    let run = repo.run(
        repo.command(zsh, &repo.root)
            .args(["-n", ".git/_git-planx"]),
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run}");
    // Loaded the way compinit loads a file of fpath: zsh's `git` completion calls
    // `_git-planx` for `git planx …`, and phase ids come from `_git-planx_phases`.
    let run = repo.run(repo.command(zsh, &repo.root).args([
        "-f",
        "-c",
        "autoload -Uz compinit && compinit -u -d .git/zcompdump && source .git/_git-planx \
         && whence -w _git-planx _git-planx_phases",
    ]));
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!(run.stdout, @"
    _git-planx: function
    _git-planx_phases: function
    ");
}

#[test]
fn fish_completes_commands_options_and_phase_ids() {
    let repo = Repo::with_plan(&small_plan().toml());
    repo.write(".git/git-planx.fish", script(&repo, "fish"));
    let fish = shell("fish");
    let run = repo.run(
        repo.command(fish, &repo.root)
            .args(["-n", ".git/git-planx.fish"]),
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run}");
    let mut driver = String::from("source .git/git-planx.fish\n");
    for line in [
        "git-planx sta",
        "git-planx start ",
        "git-planx start --wor",
        "git-planx run --phase ",
    ] {
        driver.push_str(&format!(
            "echo '{line} =>'; complete -C '{line}' | string replace -r '\\t.*' ''\n"
        ));
    }
    // `string replace` fails when a line had nothing to replace.
    driver.push_str("true\n");
    let run = repo.run(
        repo.command(fish, &repo.root)
            .args(["--no-config", "-c", &driver]),
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run}");
    insta::assert_snapshot!(run.stdout, @"
    git-planx sta =>
    start
    status
    git-planx start  =>
    a
    b
    c
    git-planx start --wor =>
    --worktree
    git-planx run --phase  =>
    a
    b
    c
    ");
}
