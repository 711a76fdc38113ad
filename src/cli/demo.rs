//! `git planx demo`: a scratch repository with a small real project and a plan of five phases,
//! run end to end by a scripted executor — one phase of which claims success but leaves a
//! declared file out, so that verify catches it.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args;

use super::GlobalArgs;
use super::ui::{Style, Ui};
use crate::error::CliError;
use crate::git::Repo;
use crate::git::cli::git;
use crate::run::RunOptions;
use crate::state::judging::{Subject, plan_at};
use crate::trust::TrustPolicy;

/// Show git-planx at work on a small project, in a scratch repository, in seconds.
///
/// Creates a repository (in DIR, or a temporary folder it names) holding a tiny calculator in
/// shell and a plan of five phases, two of them in parallel, and runs the plan with a scripted
/// executor. One phase's executor claims success but leaves a declared file out: verify catches
/// it, the phase fails, the phase depending on it is skipped, the others complete. Then it
/// shows the report and how to look at everything with plain git.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the demo repository (must not exist, or be empty)
    pub dir: Option<PathBuf>,
    /// (The demo's scripted executor: run by `git planx run` inside the demo repository.)
    #[arg(long, hide = true)]
    pub act: bool,
}

const PLAN: &str = r#"# The demo plan: a tiny calculator in shell, built phase by phase.
version = 1

[plan]
id = "calc"
title = "A tiny calculator, built phase by phase"
status = "ready"
base = "main"
guidelines = """
- Every operation lives in lib/<name>.sh and has a test in tests/<name>_test.sh.
- Keep `sh tests/run.sh` passing."""

[commands]
test = "sh tests/run.sh"

[preflight]
run = ["test"]

[run]
jobs = 2

[[phase]]
id = "design"
title = "Design the operations"
kind = "design"
owner = "architect"
goal = "Decide which operations the calculator has and how they are laid out."
  [phase.files]
  create = ["docs/design.md"]
  [[phase.check]]
  name = "the design lists the operations"
  file = "docs/design.md"
  contains = "(?m)^## Operations"

[[phase]]
id = "add"
title = "Addition"
owner = "developer"
depends_on = ["design"]
goal = "calc.sh add A B prints A + B."
blast_radius = "sh tests/add_test.sh"
  [phase.files]
  create = ["lib/add.sh", "tests/add_test.sh"]
  [[phase.check]]
  name = "all tests pass"
  run = "test"

[[phase]]
id = "mul"
title = "Multiplication"
owner = "developer"
depends_on = ["design"]
goal = "calc.sh mul A B prints A * B."
blast_radius = "sh tests/mul_test.sh"
  [phase.files]
  create = ["lib/mul.sh", "tests/mul_test.sh"]
  [[phase.check]]
  name = "all tests pass"
  run = "test"

[[phase]]
id = "help"
title = "A --help listing the operations"
owner = "developer"
depends_on = ["add"]
goal = "calc.sh --help lists the operations found in lib/."
blast_radius = "sh tests/help_test.sh"
  [phase.files]
  modify = ["calc.sh"]
  create = ["tests/help_test.sh"]
  [[phase.check]]
  name = "all tests pass"
  run = "test"

[[phase]]
id = "docs"
title = "Document the operations"
owner = "writer"
depends_on = ["add", "mul"]
goal = "README.md shows how to use every operation."
blast_radius = "test"
  [phase.files]
  modify = ["README.md"]
  [[phase.check]]
  name = "the README shows multiplication"
  file = "README.md"
  contains = "calc.sh mul"
"#;

const FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# calc\n\nA tiny calculator in shell: `sh calc.sh OPERATION A B`.\n",
    ),
    (
        "calc.sh",
        "#!/bin/sh\n# calc: a tiny calculator. Usage: calc.sh OPERATION A B\nhere=$(dirname \"$0\")\nop=$1\n[ -n \"$op\" ] || { echo \"usage: calc.sh OPERATION A B\" >&2; exit 2; }\nshift\n[ -f \"$here/lib/$op.sh\" ] || { echo \"unknown operation: $op\" >&2; exit 2; }\n. \"$here/lib/$op.sh\"\n\"calc_$op\" \"$@\"\n",
    ),
    (
        "tests/run.sh",
        "#!/bin/sh\n# Runs every tests/*_test.sh; fails when one fails.\nstatus=0\nfor t in \"$(dirname \"$0\")\"/*_test.sh; do\n  [ -e \"$t\" ] || continue\n  sh \"$t\" || { echo \"FAILED: $t\"; status=1; }\ndone\nexit $status\n",
    ),
];

/// What the scripted executor writes for each phase.
fn phase_files(phase: &str) -> &'static [(&'static str, &'static str)] {
    match phase {
        "design" => &[(
            "docs/design.md",
            "# Design\n\n## Operations\n\n- `add A B`: A + B (lib/add.sh)\n- `mul A B`: A * B (lib/mul.sh)\n\nEach operation is a function `calc_<name>` in lib/<name>.sh, with a test in tests/<name>_test.sh.\n",
        )],
        "add" => &[
            ("lib/add.sh", "calc_add() { echo $(($1 + $2)); }\n"),
            (
                "tests/add_test.sh",
                "#!/bin/sh\n[ \"$(sh \"$(dirname \"$0\")/../calc.sh\" add 2 3)\" = 5 ] || { echo 'add 2 3 is not 5'; exit 1; }\n",
            ),
        ],
        // The executor claims success but never writes tests/mul_test.sh.
        "mul" => &[("lib/mul.sh", "calc_mul() { echo $(($1 * $2)); }\n")],
        "help" => &[
            (
                "calc.sh",
                "#!/bin/sh\n# calc: a tiny calculator. Usage: calc.sh OPERATION A B\nhere=$(dirname \"$0\")\nop=$1\n[ -n \"$op\" ] || { echo \"usage: calc.sh OPERATION A B\" >&2; exit 2; }\nif [ \"$op\" = --help ]; then\n  echo \"operations:\"\n  for f in \"$here\"/lib/*.sh; do basename \"$f\" .sh; done\n  exit 0\nfi\nshift\n[ -f \"$here/lib/$op.sh\" ] || { echo \"unknown operation: $op\" >&2; exit 2; }\n. \"$here/lib/$op.sh\"\n\"calc_$op\" \"$@\"\n",
            ),
            (
                "tests/help_test.sh",
                "#!/bin/sh\nsh \"$(dirname \"$0\")/../calc.sh\" --help | grep -qx add || { echo '--help does not list add'; exit 1; }\n",
            ),
        ],
        "docs" => &[(
            "README.md",
            "# calc\n\nA tiny calculator in shell:\n\n    sh calc.sh add 2 3   # 5\n    sh calc.sh mul 2 3   # 6\n",
        )],
        _ => &[],
    }
}

pub fn cmd_demo(ui: &Ui, _global: &GlobalArgs, args: &DemoArgs) -> Result<(), CliError> {
    if args.act {
        return act();
    }
    let dir = prepare_dir(args.dir.as_deref())?;
    let p = ui.out_painter();
    create_project(&dir)?;
    let repo = Repo::open(&dir)?;
    let tip = repo
        .branch_tip("main")?
        .ok_or_else(|| CliError::internal("the demo repository it made has no main branch"))?;
    let plan = plan_at(&repo, tip, crate::plan::DEFAULT_PLAN_PATH, "main")?
        .ok_or_else(|| CliError::internal("the demo plan it wrote was not committed"))?;
    if !ui.quiet {
        ui.out(&format!(
            "{} a scratch repository at {}\n  a tiny calculator in shell, and a plan of {} phases: design, then add and mul in parallel, then help (after add) and docs (after add and mul)\n  the executor is scripted; for `mul` it claims success but leaves tests/mul_test.sh out\n\n",
            p.paint(Style::Bold, "demo:"),
            dir.display(),
            plan.phases.len()
        ))?;
    }
    let exe = std::env::current_exe().map_err(|e| {
        CliError::repo_state("cannot tell where this binary is, to run it as the demo's executor")
            .because(e)
    })?;
    let opts = RunOptions {
        jobs: 2,
        executor: Some(format!(
            "{} demo --act",
            crate::report::forge::shell_quote(&exe.display().to_string())
        )),
        phases: Vec::new(),
        keep_going: true,
        retry_failed: false,
        force: false,
        interactive: false,
        // The demo wrote this plan itself, in its own scratch repository: its commands run once.
        trust: TrustPolicy {
            once: true,
            environment: false,
        },
        remote: None,
    };
    let subject = Subject::new(&repo, &plan, crate::plan::DEFAULT_PLAN_PATH);
    let summary = super::run::execute(ui, subject, &opts)?;
    if ui.json {
        ui.json(&serde_json::json!({
            "schema": "planx.demo/1",
            "dir": dir,
            "phases": summary.outcomes.iter().map(|(id, o, why)| serde_json::json!({"phase": id, "outcome": o, "why": why})).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    let mut out = String::from("\n");
    for (id, o, why) in &summary.outcomes {
        out.push_str(&format!("  {id:<8} {:<10} {why}\n", o.as_str()));
    }
    // What mul's executor claimed, against what verify found.
    let log = crate::run::phase_dir(&repo, &plan, "mul").join("executor.log");
    if let Some(claim) = fs::read_to_string(&log)
        .ok()
        .and_then(|t| t.lines().last().map(str::to_owned))
    {
        out.push_str(&format!(
            "\n{} mul's executor said: \"{claim}\"\n  verify said: nothing was created for `tests/mul_test.sh`. The repository is the source of truth.\n",
            p.paint(Style::Bold, "note:")
        ));
    }
    out.push_str(&format!(
        "\n{}\n",
        p.paint(Style::Bold, "the report (`git planx report`):")
    ));
    ui.out(&out)?;
    let now = repo.branch_tip("main")?.unwrap_or(tip);
    super::report::print_report_for(ui, subject, &super::context::Origin::Base(now))?;
    let commands = [
        (
            "git log --graph --oneline --all",
            "phase branches, checkpoints, merges",
        ),
        (
            "git log --format='%h %s%n%(trailers)' planx/mul",
            "the trailers of mul's checkpoints",
        ),
        (
            "git notes --ref planx show planx/mul",
            "the evidence: why mul failed",
        ),
        ("git planx status", "every phase's state, derived from git"),
        (
            "git planx verify mul",
            "verify catches the missing file again",
        ),
    ];
    let width = commands.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    let mut look = format!(
        "\n{}\n  cd {}\n",
        p.paint(Style::Bold, "look at it with plain git (and planx):"),
        dir.display()
    );
    for (command, what) in commands {
        look.push_str(&format!("  {command:<width$}   # {what}\n"));
    }
    ui.out(&look)?;
    Ok(())
}

/// The demo folder: DIR (new or empty) or a new temporary folder, kept.
fn prepare_dir(dir: Option<&Path>) -> Result<PathBuf, CliError> {
    match dir {
        Some(dir) => {
            if dir.exists()
                && fs::read_dir(dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
                return Err(CliError::repo_state(format!(
                    "{} exists and is not empty",
                    dir.display()
                ))
                .hint("name a new folder, or leave DIR out for a temporary one"));
            }
            fs::create_dir_all(dir)?;
            Ok(dir.canonicalize()?)
        }
        None => {
            let tmp = tempfile::Builder::new().prefix("planx-demo-").tempdir()?;
            Ok(tmp.keep().canonicalize()?)
        }
    }
}

fn create_project(dir: &Path) -> Result<(), CliError> {
    for (path, text) in FILES
        .iter()
        .chain([&(crate::plan::DEFAULT_PLAN_PATH, PLAN)])
    {
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap_or(dir))?;
        fs::write(full, text)?;
    }
    git(dir, &["init", "--quiet", "--initial-branch=main"], None)?;
    // A scratch repository of its own: an identity here, whatever the machine's configuration.
    git(dir, &["config", "user.name", "planx demo"], None)?;
    git(dir, &["config", "user.email", "demo@planx.invalid"], None)?;
    git(dir, &["add", "-A"], None)?;
    git(
        dir,
        &[
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "The calc project and its plan",
        ],
        None,
    )?;
    Repo::open(dir)?.configure_notes()?;
    Ok(())
}

/// The scripted executor: writes the phase's files in the worktree it is run in.
fn act() -> Result<(), CliError> {
    let phase = std::env::var("PLANX_PHASE")
        .map_err(|_| CliError::usage("PLANX_PHASE is not set").hint("`git planx run` sets it"))?;
    let dir = std::env::current_dir()?;
    println!(
        "{phase}: reading the brief ({})",
        std::env::var("PLANX_BRIEF").unwrap_or_default()
    );
    for (path, text) in phase_files(&phase) {
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap_or(&dir))?;
        fs::write(&full, text)?;
        println!("{phase}: wrote {path}");
    }
    println!("{phase}: done. All tests pass, the phase is complete!");
    Ok(())
}
