//! `git planx run` watches its executors: what an executor may change (its own branch and
//! worktree) and what it may not (base, other phases' branches, `refs/notes/planx`), and an
//! executor never outlives the run that started it.

use std::fs;
use std::process::{Command, Stdio};

use crate::common::{AWAIT, BIN, PlanBuilder, Repo, wait_ended, wait_for_pids, wait_until};

/// Phases `a` and `b` (independent) and `c` (after `a`); each creates `<id>.txt`.
fn plan() -> PlanBuilder {
    let phase = crate::common::file_phase;
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

    // A process left holding the lock of a phase merged already (a build server, say) is no
    // business of a run: the other phases run.
    let mut holder = repo
        .command("flock", &repo.root)
        .args([".git/planx/run/w/a/executor.lock", "sleep", "300"])
        .spawn()
        .unwrap();
    let lock = repo.path(".git/planx/run/w/a/executor.lock");
    wait_until("flock holds a's executor lock", || {
        !Command::new("flock")
            .args(["-n", &lock.display().to_string(), "true"])
            .status()
            .unwrap()
            .success()
    });
    let others = repo.planx(&["run", "--executor", &exec]);
    assert_eq!(others.code, 0, "{others}");
    assert!(repo.states().iter().all(|s| s == "complete"));
    kill(holder.id());
    holder.wait().unwrap();
}

/// What `git planx run` printed and the note of the phase's `failed` checkpoint, for a phase
/// that was failed by the watch.
fn failed_by_the_watch(repo: &Repo, run: &crate::common::Run, phase: &str) -> String {
    assert_eq!(run.code, 1, "{run}");
    let shown = run.to_string();
    assert!(
        shown.contains(&format!("failed       {phase}: "))
            && shown.contains("changed while the executor ran, by someone other than planx"),
        "{shown}"
    );
    let note = repo.note(&format!("planx/{phase}"));
    assert!(note.contains(r#""touched":[{"#), "{note}");
    shown
}

#[test]
fn an_executor_that_forges_its_completion_fails_its_phase() {
    let repo = Repo::with_plan(&plan().toml());
    // The executor commits something other than a.txt, merges its unfinished branch into base
    // as planx would (with the trailers), and appends a passing verify record for the merge.
    let forge = r#"echo wip > wip.txt && git add wip.txt && git commit -q -m wip
git -C "$root" merge -q --no-ff planx/a -m "Complete phase a" -m "Planx-Plan: w
Planx-Phase: a
Planx-Status: complete"
m=$(git -C "$root" rev-parse main); t=$(git -C "$root" rev-parse "main^{tree}")
git -C "$root" notes --ref planx append -m "{\"v\":1,\"ts\":\"2024-01-01T00:00:00Z\",\"plan\":\"w\",\"phase\":\"a\",\"event\":\"verify\",\"passed\":true,\"clean\":true,\"no_run\":false,\"tree\":\"$t\",\"head\":\"$m\"}" "$m"
exit 0"#;
    let exec = executor(&repo, forge);
    let before = repo.git(&["rev-parse", "main"]);
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    let shown = failed_by_the_watch(&repo, &run, "a");
    let forged = repo.git(&["rev-parse", "main"]);
    let (old, new) = (&before.trim()[..10], &forged.trim()[..10]);
    assert!(
        shown.contains(&format!("refs/heads/main ({old} → {new})")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("refs/notes/planx (notes on {new})")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "`git update-ref refs/heads/main {} {}` sets it back, if that is not wanted",
            before.trim(),
            forged.trim()
        )),
        "{shown}"
    );
    // Nothing was merged by planx, and base is left as the executor left it, for the user.
    let subjects = repo.git(&["log", "--first-parent", "--format=%s", "main"]);
    assert_eq!(
        subjects.lines().next(),
        Some("Complete phase a"),
        "{subjects}"
    );
    assert!(!subjects.contains("planx: finish"), "{subjects}");
    // And what the executor left is no evidence: the record is not planx's, and what it merged
    // lacks a.txt. The phase is not complete; the one after it waits.
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "contradicted", "{status}");
    assert_eq!(status["phases"][2]["state"], "waiting", "{status}");
    let why = status["phases"][0]["verify"]["uncounted_record"]
        .as_str()
        .unwrap_or("");
    assert!(why.starts_with("unsigned, on "), "{status}");
}

#[test]
fn an_executor_that_touches_another_phases_branch_fails_its_phase() {
    let repo = Repo::with_plan(&plan().toml());
    // b is started (its branch exists); a's executor moves it.
    assert_eq!(repo.planx(&["start", "b", "-q"]).code, 0);
    repo.git(&["switch", "-q", "main"]);
    let exec = executor(
        &repo,
        "if [ \"$PLANX_PHASE\" = a ]; then git update-ref refs/heads/planx/b HEAD; fi",
    );
    let b = repo.git(&["rev-parse", "planx/b"]);
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    let shown = failed_by_the_watch(&repo, &run, "a");
    assert!(
        shown.contains(&format!("refs/heads/planx/b ({} → ", &b.trim()[..10])),
        "{shown}"
    );
    assert!(!shown.contains("refs/heads/main"), "{shown}");
}

#[test]
fn an_executor_that_writes_notes_outside_its_branch_fails_its_phase() {
    let repo = Repo::with_plan(&plan().toml());
    // a writes a note on its own commit (as `git planx` run by an agent would): its own. b
    // writes one on base's tip: not its own.
    let exec = executor(
        &repo,
        r#"case "$PLANX_PHASE" in
a) git notes --ref planx append -m '{"v":1,"note":"mine"}' HEAD ;;
b) git -C "$root" notes --ref planx append -m '{"v":1,"note":"not mine"}' main ;;
esac"#,
    );
    let run = repo.planx(&["run", "--phase", "a", "--phase", "b", "--executor", &exec]);
    let shown = failed_by_the_watch(&repo, &run, "b");
    // Base's tip when b ran: a's merge.
    let main = repo.git(&["rev-parse", "main"]);
    assert!(
        shown.contains(&format!(
            "refs/notes/planx (notes on {})",
            &main.trim()[..10]
        )),
        "{shown}"
    );
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "complete", "{status}");
    assert_eq!(status["phases"][1]["state"], "failed", "{status}");
}

#[test]
fn planx_own_writes_during_an_executors_run_do_not_trip_the_watch() {
    let repo = Repo::with_plan(&plan().toml());
    // a and b run side by side; b's executor waits until a is merged into base (planx moves
    // base and writes notes while b's executor runs), c (after a) may run beside b too. Each
    // executor commits on its own and records a checkpoint with `git planx` itself.
    let exec = executor(
        &repo,
        r#"if [ "$PLANX_PHASE" = b ]; then
  n=0; until git -C "$root" cat-file -e main:a.txt 2>/dev/null; do n=$((n+1)); [ $n -le 1200 ] || exit 7; sleep 0.05; done
fi
echo "$PLANX_PHASE" > "$PLANX_PHASE.txt"; git add -A && git commit -q -m "$PLANX_PHASE by the agent"
git planx checkpoint -q -m "$PLANX_PHASE: checkpoint by the agent" || exit 8"#,
    );
    let run = repo.planx(&["run", "--jobs", "2", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let states = repo.states();
    assert!(states.iter().all(|s| s == "complete"), "{states:?}");
}

#[test]
fn a_record_the_executor_wrote_on_its_own_branch_never_merges_its_phase() {
    let repo = Repo::with_plan(&plan().toml());
    // The executor's work does not verify (a file outside the manifest), and it appends a
    // passing verify record of that work's tree on its own commit: its own branch, so the
    // watch lets it be; the run's own verify fails the phase.
    let forge = r#"echo a > a.txt; echo oops > outside.txt; git add -A && git commit -q -m work
t=$(git rev-parse "HEAD^{tree}")
git notes --ref planx append -m "{\"v\":1,\"ts\":\"2024-01-01T00:00:00Z\",\"plan\":\"w\",\"phase\":\"a\",\"event\":\"verify\",\"passed\":true,\"clean\":true,\"no_run\":false,\"tree\":\"$t\"}" HEAD
exit 0"#;
    let exec = executor(&repo, forge);
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("failed       a: verify:"), "{run}");
    // Run again: the branch's tip has that tree and that record. The run merges only on a
    // verify of its own, which fails again.
    let again = repo.planx(&["run", "--retry-failed", "--phase", "a", "--executor", &exec]);
    assert_eq!(again.code, 1, "{again}");
    assert!(again.stdout.contains("failed       a: verify:"), "{again}");
    let subjects = repo.git(&["log", "--first-parent", "--format=%s", "main"]);
    assert!(!subjects.contains("complete phase a"), "{subjects}");
}
