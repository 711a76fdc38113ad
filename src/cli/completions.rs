//! `git planx completions bash|zsh|fish`: the shell completion scripts, and the hidden
//! `git planx __complete-phases` they call to complete phase ids.
//!
//! Commands and options are completed by the scripts `clap_complete` generates from the
//! command line's own definition, so they never drift from it. Phase ids are not in that
//! definition: they are in the plan, found at completion time as the command itself would find
//! it (`--plan` if the line has one, else `.planx/plan.toml` of the repository). The static
//! generators cannot call a program for a value, and clap_complete's dynamic completion is
//! still behind its `unstable-dynamic` feature, so each script gets a few lines of its own
//! shell appended: a function that runs `git-planx [--plan P] __complete-phases` (which prints
//! the ids, one a line, and nothing at all when there is no readable plan), used for a
//! command's `phase` argument and for options named `--phase`. Which commands take a phase,
//! and which options take a value (to count positional arguments right), is read from the
//! command definition here and written into the script as data.
//!
//! git's bash completion completes `git planx …` by calling `_git_planx` when one is defined
//! (loading the completion file named `git-planx` on demand first), so the bash script defines
//! it: it hands the words after `planx` to the same completion as `git-planx …`, and adds the
//! trailing space git's `-o nospace` registration leaves to its callers. zsh's `_git` calls
//! `_git-planx`, the function the zsh script defines; fish completes `git planx` from the
//! `git-planx` completions.

use std::fmt::Write as _;

use clap::{ArgAction, Args, CommandFactory, ValueEnum};

use super::ui::Ui;
use super::{Cli, GlobalArgs, read_plan};
use crate::error::CliError;

/// Print the shell completion script for SHELL (commands, options and the plan's phase ids).
///
/// Install it once, for example:
///   bash: git planx completions bash > ~/.local/share/bash-completion/completions/git-planx
///   zsh:  git planx completions zsh > ~/.zfunc/_git-planx   (with ~/.zfunc on $fpath)
///   fish: git planx completions fish > ~/.config/fish/completions/git-planx.fish
/// Both `git planx <TAB>` and `git-planx <TAB>` complete then.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells a script is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Print the plan's phase ids, one a line (for the completion scripts; nothing on error).
#[derive(Debug, Args)]
pub struct CompletePhasesArgs {}

pub fn cmd_completions(ui: &Ui, args: &CompletionsArgs) -> Result<(), CliError> {
    ui.out(&script(args.shell))
}

/// The phase ids of the plan the options name, or nothing: a completion shows no errors.
pub fn cmd_complete_phases(ui: &Ui, global: &GlobalArgs) -> Result<(), CliError> {
    let Ok(loaded) = read_plan(global) else {
        return Ok(());
    };
    let mut out = String::new();
    for id in loaded.plan.phase_ids() {
        out.push_str(id);
        out.push('\n');
    }
    ui.out(&out)
}

/// The name the scripts complete, and the name of the program they call.
const BIN: &str = "git-planx";

/// The command definition the scripts are generated from.
fn command() -> clap::Command {
    let mut command = Cli::command().name(BIN).bin_name(BIN);
    command.build();
    command
}

/// The completion script for `shell`: clap_complete's, then the phase completion.
pub fn script(shell: Shell) -> String {
    let mut command = command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut command, BIN, &mut out)
        }
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut command, BIN, &mut out)
        }
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut command, BIN, &mut out)
        }
    }
    let generated = hide_phase_command(&String::from_utf8_lossy(&out));
    let slots = PhaseSlots::of(&command);
    match shell {
        // clap_complete (4.6) spells the case labels of a hyphenated name's subcommands
        // `git__subcmd__planx__…` but sets `git__planx__…` while reading the words, so no
        // subcommand's options would be offered: the labels are spelt as they are set.
        Shell::Bash => generated.replace("git__subcmd__planx", "git__planx") + &bash(&slots),
        Shell::Zsh => zsh(&generated, &slots),
        Shell::Fish => generated + &fish(&slots),
    }
}

/// The generated script without the hidden `__complete-phases` among the commands offered
/// (clap_complete offers hidden commands too): bash's word lists, zsh's and fish's entries.
fn hide_phase_command(generated: &str) -> String {
    let mut out = String::new();
    for line in generated.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("opts=") {
            out.push_str(&line.replace(" __complete-phases", ""));
        } else if !(trimmed.starts_with("'__complete-phases:")
            || trimmed.starts_with("complete -c git-planx")
                && line.contains("-a \"__complete-phases\""))
        {
            out.push_str(line);
        } else {
            continue;
        }
        out.push('\n');
    }
    out
}

/// Where a phase id goes on a command line.
struct PhaseSlots {
    /// Commands whose first positional argument is a phase, each with the options it takes
    /// that take a value (global ones included), so the scripts can skip those values.
    positional: Vec<(String, Vec<String>)>,
    /// Commands with options whose value is a phase: (command, long option).
    options: Vec<(String, String)>,
    /// The global options that take a value.
    global_values: Vec<String>,
}

impl PhaseSlots {
    fn of(command: &clap::Command) -> PhaseSlots {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name().to_owned();
            if sub
                .get_positionals()
                .next()
                .is_some_and(|arg| arg.get_id() == "phase")
            {
                positional.push((name.clone(), value_options(sub)));
            }
            for arg in sub.get_opts() {
                if arg.get_long() == Some("phase") {
                    options.push((name.clone(), "phase".to_owned()));
                }
            }
        }
        PhaseSlots {
            positional,
            options,
            global_values: value_options(command),
        }
    }
}

/// The spellings (`--long`, `-s`) of the options of `command` that take a value.
fn value_options(command: &clap::Command) -> Vec<String> {
    let mut names = Vec::new();
    for arg in command.get_opts() {
        if matches!(arg.get_action(), ArgAction::Set | ArgAction::Append) {
            names.extend(arg.get_long().map(|l| format!("--{l}")));
            names.extend(arg.get_short().map(|s| format!("-{s}")));
        }
    }
    names
}

/// The bash lines: the phase function, the completion of `git-planx …` and git's `_git_planx`.
fn bash(slots: &PhaseSlots) -> String {
    let mut cases = String::new();
    for (name, values) in &slots.positional {
        let _ = writeln!(cases, "        {name}) values=\"{}\" ;;", values.join(" "));
    }
    let mut option_cases = String::new();
    for (name, long) in &slots.options {
        let _ = writeln!(option_cases, "        {name},--{long}) phases=1 ;;");
    }
    format!(
        r#"
# Phase ids of the plan the line names with --plan, else of the repository's plan.
__git_planx_phases() {{
    local i plan=
    for ((i = 1; i < ${{#COMP_WORDS[@]}}; i++)); do
        case ${{COMP_WORDS[i]}} in
        --plan) plan=${{COMP_WORDS[i+1]}} ;;
        --plan=*) plan=${{COMP_WORDS[i]#--plan=}} ;;
        esac
    done
    if [[ -n $plan ]]; then
        git-planx --plan "${{plan/#\~/$HOME}}" __complete-phases 2>/dev/null
    else
        git-planx __complete-phases 2>/dev/null
    fi
}}

# `git-planx …`: commands and options as clap_complete completes them, phase ids where a
# command takes one (its first argument, or an option named --phase).
__git_planx_complete() {{
    _git__planx "$@"
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
    local i word sub= values="{global}" skip=0 positionals=0 phases=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        if ((skip)); then skip=0; continue; fi
        case $word in
        --*=*) ;;
        -*) [[ " $values " == *" $word "* ]] && skip=1 ;;
        *)
            if [[ -z $sub ]]; then
                sub=$word
                case $sub in
{cases}                esac
            else
                positionals=$((positionals + 1))
            fi
            ;;
        esac
    done
    case $sub,$prev in
{option_cases}    esac
    if ((!phases)) && ((!skip)) && ((positionals == 0)) && [[ $cur != -* ]]; then
        case $sub in
{names}) phases=1 ;;
        esac
    fi
    if ((phases)); then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(__git_planx_phases)" -- "$cur"))
    fi
    return 0
}}
complete -F __git_planx_complete -o bashdefault -o default git-planx

# `git planx …` through git's own completion, which calls _git_planx with words and cword
# set and registers itself with -o nospace: each complete word gets its space here.
_git_planx() {{
    local i at=0
    for ((i = 1; i < cword; i++)); do
        if [[ ${{words[i]}} == planx ]]; then at=$i; break; fi
    done
    ((at)) || return 0
    local COMP_WORDS=(git-planx "${{words[@]:at+1}}") COMP_CWORD=$((cword - at))
    __git_planx_complete git-planx "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    for i in "${{!COMPREPLY[@]}}"; do
        [[ -d ${{COMPREPLY[i]}} ]] || COMPREPLY[i]+=" "
    done
}}
"#,
        global = slots.global_values.join(" "),
        names = positional_names(slots, "|"),
    )
}

fn positional_names(slots: &PhaseSlots, sep: &str) -> String {
    let names: Vec<&str> = slots.positional.iter().map(|(n, _)| n.as_str()).collect();
    names.join(sep)
}

/// The zsh script: clap_complete's, with the phase arguments and `--phase` values completed
/// by `_git-planx_phases` instead of as files.
fn zsh(generated: &str, slots: &PhaseSlots) -> String {
    let mut out = String::new();
    for line in generated.lines() {
        let trimmed = line.trim_start();
        // A phase argument reads `':phase -- …:_default' \` (or `'::phase -- …'` when optional),
        // a --phase option `'*--phase=[…]:PHASE:_default' \`.
        let phase_arg = trimmed.starts_with("':phase")
            || trimmed.starts_with("'::phase")
            || (trimmed.contains("--phase=[") && trimmed.contains(":PHASE:"));
        if phase_arg && line.contains(":_default'") {
            out.push_str(&line.replace(":_default'", ":_git-planx_phases'"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(
        r#"
# Phase ids of the plan the line names with --plan, else of the repository's plan.
(( $+functions[_git-planx_phases] )) ||
_git-planx_phases() {
    local plan i
    i=${words[(I)--plan]}
    (( i )) && plan=${words[i+1]}
    local -a ids
    if [[ -n $plan ]]; then
        ids=(${(f)"$(git-planx --plan ${~plan} __complete-phases 2>/dev/null)"})
    else
        ids=(${(f)"$(git-planx __complete-phases 2>/dev/null)"})
    fi
    compadd -a ids
}
"#,
    );
    let _ = slots;
    out
}

/// The fish lines: phase ids for each phase argument and `--phase` option.
fn fish(slots: &PhaseSlots) -> String {
    let mut out = String::from(
        r#"
# Phase ids of the plan the line names with --plan, else of the repository's plan.
function __fish_git_planx_phases
    set -l words (commandline -opc)
    set -l at (contains -i -- --plan $words)
    if test -n "$at"
        git-planx --plan $words[(math $at + 1)] __complete-phases 2>/dev/null
    else
        git-planx __complete-phases 2>/dev/null
    end
end
"#,
    );
    for (name, _) in &slots.positional {
        let _ = writeln!(
            out,
            "complete -c git-planx -n \"__fish_git_planx_using_subcommand {name}\" -f -a \"(__fish_git_planx_phases)\""
        );
    }
    for (name, long) in &slots.options {
        let _ = writeln!(
            out,
            "complete -c git-planx -n \"__fish_git_planx_using_subcommand {name}\" -l {long} -x -a \"(__fish_git_planx_phases)\""
        );
    }
    out
}
