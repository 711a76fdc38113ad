//! `git planx run` watches its executors: what an executor may change (its own branch and
//! worktree) and what it may not (base, other phases' branches, `refs/notes/planx`), and an
//! executor never outlives the run that started it.

use std::fs;
use std::process::Stdio;

use crate::common::{AWAIT, BIN, PhaseBuilder, PlanBuilder, Repo, wait_ended, wait_for_pids};

/// Phases `a` and `b` (independent) and `c` (after `a`); each creates `<id>.txt`.
fn plan() -> PlanBuilder {
    let phase = |id: &str, deps: &[&str]| {
        let file = format!("{id}.txt");
        PhaseBuilder::new(id, &format!("Phase {id}"))
            .owner("bot")
            .depends_on(deps)
            .blast_radius(&format!("test -f {file}"))
            .create([&file])
            .check_file(&format!("{file} exists"), &file)
    };
    PlanBuilder::new("w", "Watched")
        .phase(phase("a", &[]))
        .phase(phase("b", &[]))
        .phase(phase("c", &["a"]))
}

/// An executor script: `$dir` is the folder beside the repository, `$root` the repository;
/// it does what `act` says, then writes `<phase>.txt`.
fn executor(repo: &Repo, act: &str) -> String {
    let dir = repo.root.parent().unwrap();
    let script = dir.join("executor.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ndir='{}'\nroot='{}'\n{AWAIT}\n{act}\necho \"$PLANX_PHASE\" > \"$PLANX_PHASE.txt\"\n",
            dir.display(),
            repo.root.display()
        ),
    )
    .unwrap();
    format!("sh {}", script.display())
}

/// `text` with each process group's id (which changes from run to run) shown as `N`.
fn hide_groups(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["group ", "kill -- -"]
        .iter()
        .filter_map(|w| rest.find(w).map(|i| i + w.len()))
        .min()
    {
        out.push_str(&rest[..at]);
        rest = rest[at..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

fn kill(pid: u32) {
    // SAFETY: signals a process this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

#[test]
fn an_executor_ends_with_a_killed_run() {
    let repo = Repo::with_plan(&plan().toml());
    let dir = repo.root.parent().unwrap().to_path_buf();
    // The executor and a child of its own, both asleep, their ids written down.
    let exec = executor(
        &repo,
        "sleep 300 & echo \"$$ $!\" > \"$dir/$PLANX_PHASE.pid\"; wait",
    );
    let mut run = repo
        .command(BIN, &repo.root)
        .args(["run", "--phase", "a", "--executor", &exec])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids = wait_for_pids(&dir.join("a.pid"));
    kill(run.id());
    run.wait().unwrap();
    wait_ended(&pids, "the executor and its child ended with the run");
}

#[test]
fn a_run_does_not_take_over_a_worktree_whose_executor_lives_on() {
    let repo = Repo::with_plan(&plan().toml());
    let dir = repo.root.parent().unwrap().to_path_buf();
    // The first time, the executor leaves a process in a session of its own, out of reach of
    // the stop of its group; it still holds what it inherited.
    let exec = executor(
        &repo,
        "if [ ! -e \"$dir/once\" ]; then touch \"$dir/once\"; setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > \"$dir/escaped.pid\"; sleep 300; fi",
    );
    let mut run = repo
        .command(BIN, &repo.root)
        .args(["run", "--phase", "a", "--executor", &exec])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let escaped = wait_for_pids(&dir.join("escaped.pid"));
    kill(run.id());
    run.wait().unwrap();

    let again = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    insta::assert_snapshot!(hide_groups(&again.to_string()), @r"
    --- stderr ---
    error: the executor of an earlier run of phase `a` still runs in its worktree (process group N)
    hint: its processes hold $REPO/.git/planx/run/w/a/executor.lock; wait for them to end, or stop it with `kill -- -N`, then run again
    [exit status: 3]
    ");
    // Nothing was started or recorded.
    assert!(!repo.note("planx/a").contains("failed"));

    // Once it has ended, the next run takes the worktree and completes the phase.
    kill(escaped[0] as u32);
    wait_ended(&escaped, "the escaped process was killed");
    let last = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(last.code, 0, "{last}");
    assert_eq!(repo.git(&["show", "main:a.txt"]), "a\n");
}
