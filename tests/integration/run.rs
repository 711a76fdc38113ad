//! `git planx run`: the whole plan, phases in parallel worktrees, an executor per phase.

use std::fs;
use std::path::PathBuf;

use crate::common::{AWAIT, PlanBuilder, Repo, interrupt, wait_ended, wait_for_pids};

/// A diamond: `a`, then `b` and `c` in parallel, then `d`. Each phase creates `<id>.txt`.
fn diamond() -> PlanBuilder {
    let phase = crate::common::file_phase;
    PlanBuilder::new("dia", "Diamond")
        .phase(phase("a", &[]))
        .phase(phase("b", &["a"]))
        .phase(phase("c", &["a"]))
        .phase(phase("d", &["b", "c"]))
}

/// The executor: logs start and end of each phase to `events.log` beside the repository, then
/// does what `act` says for the phase (e.g. write `<phase>.txt`). `act` finds the folder
/// beside the repository in `$dir`, and can `await FILE` (see [`AWAIT`]).
fn executor(repo: &Repo, act: &str) -> String {
    let dir = repo.root.parent().unwrap();
    let script = dir.join("executor.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ndir='{}'\nlog=\"$dir/events.log\"\n{AWAIT}\necho \"start $PLANX_PHASE\" >> \"$log\"\ntest -f \"$PLANX_BRIEF\" || {{ echo 'no brief' >&2; exit 9; }}\n{act}\necho \"end $PLANX_PHASE\" >> \"$log\"\n",
            dir.display()
        ),
    )
    .unwrap();
    format!("sh {}", script.display())
}

/// For phases `b` and `c`: the other one's id in `$other` (empty for other phases).
const OTHER: &str = "case \"$PLANX_PHASE\" in b) other=c ;; c) other=b ;; *) other= ;; esac";

/// Commands that leave a process of their own behind (`sleep 300`, in the background) and
/// write its id to `$dir/<phase>.pid`, with nothing but the shell's builtins.
const LEAVE_A_CHILD: &str = "sleep 300 & echo $! > \"$dir/$PLANX_PHASE.pid\";";

fn events(repo: &Repo) -> Vec<String> {
    fs::read_to_string(repo.root.parent().unwrap().join("events.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Did phases `x` and `y` run at the same time (by the order of their start and end lines)?
fn overlapped(events: &[String], x: &str, y: &str) -> bool {
    let at = |what: &str| events.iter().position(|e| e == what).unwrap_or(usize::MAX);
    let (xs, xe, ys, ye) = (
        at(&format!("start {x}")),
        at(&format!("end {x}")),
        at(&format!("start {y}")),
        at(&format!("end {y}")),
    );
    xs < ye && ys < xe
}

const WRITE: &str = "echo \"$PLANX_PHASE\" > \"$PLANX_PHASE.txt\"";

#[test]
fn a_diamond_runs_in_parallel_and_merges_in_order() {
    let repo = Repo::with_plan(&diamond().toml());
    // A rendezvous: b and c each say they are here, then wait for the other to be.
    let exec = executor(
        &repo,
        &format!(
            "{OTHER}\nif [ -n \"$other\" ]; then touch \"$dir/here-$PLANX_PHASE\"; await \"$dir/here-$other\" || {{ echo \"$other never ran beside $PLANX_PHASE\" >&2; exit 7; }}; fi\n{WRITE}"
        ),
    );
    let run = repo.planx(&["run", "--jobs", "2", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let ev = events(&repo);
    assert!(overlapped(&ev, "b", "c"), "b and c ran in parallel: {ev:?}");
    assert!(
        !overlapped(&ev, "a", "b") && !overlapped(&ev, "c", "d"),
        "{ev:?}"
    );
    let merged: Vec<String> = repo
        .git(&[
            "log",
            "--first-parent",
            "--reverse",
            "--format=%(trailers:key=Planx-Phase,valueonly)",
            "main",
        ])
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(merged.first().map(String::as_str), Some("a"));
    assert_eq!(merged.last().map(String::as_str), Some("d"));
    assert_eq!(merged.len(), 4, "{merged:?}");
    for id in ["a", "b", "c", "d"] {
        assert_eq!(
            repo.git(&["show", &format!("main:{id}.txt")]),
            format!("{id}\n")
        );
    }
    let states = repo.states();
    assert!(states.iter().all(|s| s == "complete"), "{states:?}");
    // The run's worktrees of merged phases are gone; the log of each executor is kept.
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 1);
    assert!(repo.path(".git/planx/run/dia/b/executor.log").exists());
}

#[test]
fn phases_that_may_touch_the_same_path_never_run_at_once() {
    // b and c both allow shared.txt: independent, but they must not run side by side.
    let plan = diamond()
        .with_phase("b", |p| p.allow(["shared.txt"]))
        .with_phase("c", |p| p.allow(["shared.txt"]))
        .toml();
    let repo = Repo::with_plan(&plan);
    // Whichever of b and c runs first stays a second, watching for the other to start beside
    // it (a run that starts both does so at once); the second finds the first gone.
    let exec = executor(
        &repo,
        &format!(
            "{OTHER}\nif [ -n \"$other\" ]; then\n  beside() {{ [ ! -e \"$dir/here-$other\" ] || {{ echo \"$other runs beside $PLANX_PHASE\" >&2; exit 7; }}; }}\n  beside; touch \"$dir/here-$PLANX_PHASE\"\n  if [ ! -e \"$dir/done-$other\" ]; then n=0; while [ $n -lt 20 ]; do beside; sleep 0.05; n=$((n+1)); done; fi\n  rm \"$dir/here-$PLANX_PHASE\"; touch \"$dir/done-$PLANX_PHASE\"\nfi\n{WRITE}"
        ),
    );
    let run = repo.planx(&["run", "--jobs", "2", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let ev = events(&repo);
    assert!(!overlapped(&ev, "b", "c"), "{ev:?}");
}

#[test]
fn a_failing_executor_fails_its_phase_and_skips_only_its_dependents() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(
        &repo,
        &format!(
            "if [ \"$PLANX_PHASE\" = c ]; then echo 'c: cannot do this' >&2; exit 3; fi; {WRITE}"
        ),
    );
    // Going on after a failure is the default: no --keep-going here.
    let run = repo.planx(&["run", "--jobs", "2", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    let status = repo.planx(&["status", "--json"]).json();
    let state = |i: usize| status["phases"][i]["state"].as_str().unwrap().to_owned();
    assert_eq!(
        [state(0), state(1), state(2), state(3)],
        ["complete", "complete", "failed", "waiting"].map(String::from)
    );
    assert!(
        status["phases"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("the executor exit 3"),
        "{status}"
    );
    let note = repo.note("planx/c");
    assert!(
        note.contains("c: cannot do this"),
        "the output's tail is recorded: {note}"
    );
    assert!(
        run.stdout
            .contains("skipped      d: `c` did not complete\n"),
        "{run}"
    );
    // A second run does not retry the failed phase unless asked.
    let again = repo.planx(&["run", "--executor", &exec]);
    assert_eq!(again.code, 1, "{again}");
    assert_eq!(events(&repo).iter().filter(|e| *e == "start c").count(), 1);
}

#[test]
fn an_executor_that_cannot_be_started_fails_its_phase() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(&repo, WRITE);
    // The executor's log cannot be created (a folder is in its place): it is never started.
    fs::create_dir_all(repo.path(".git/planx/run/dia/a/executor.log")).unwrap();
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][0]["state"], "failed", "{status}");
    let reason = status["phases"][0]["reason"].as_str().unwrap();
    assert!(reason.contains(&exec), "{status}");
    // Recorded as failed: the next run leaves it alone unless asked.
    fs::remove_dir(repo.path(".git/planx/run/dia/a/executor.log")).unwrap();
    let again = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(again.code, 1, "{again}");
    assert!(events(&repo).is_empty(), "{:?}", events(&repo));
    let retried = repo.planx(&["run", "--phase", "a", "--retry-failed", "--executor", &exec]);
    assert_eq!(retried.code, 0, "{retried}");
}

#[test]
fn fail_fast_starts_no_new_phase_after_a_failure() {
    // One job: a, then b (fails), then c would come — --fail-fast leaves it for next time.
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(
        &repo,
        &format!("if [ \"$PLANX_PHASE\" = b ]; then exit 3; fi; {WRITE}"),
    );
    let run = repo.planx(&["run", "--keep-going", "--fail-fast", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout
            .contains("a phase failed and --fail-fast stops the run"),
        "{run}"
    );
    let status = repo.planx(&["status", "--json"]).json();
    let state = |i: usize| status["phases"][i]["state"].as_str().unwrap().to_owned();
    assert_eq!(
        [state(0), state(1), state(2), state(3)],
        ["complete", "failed", "ready", "waiting"].map(String::from)
    );
    assert!(!events(&repo).iter().any(|e| e == "start c"));
    // The last of --fail-fast and --keep-going wins: this run goes on with c.
    let again = repo.planx(&["run", "--fail-fast", "-k", "--executor", &exec]);
    assert_eq!(again.code, 1, "{again}");
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][2]["state"], "complete", "{status}");
}

#[test]
fn fail_fast_goes_on_past_a_phase_checked_out_elsewhere() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(&repo, WRITE);
    // b is someone's work in progress in another worktree: run leaves it alone, no failure.
    let elsewhere = repo.root.parent().unwrap().join("elsewhere");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "planx/b",
        elsewhere.to_str().unwrap(),
    ]);
    let run = repo.planx(&["run", "--fail-fast", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout
            .contains("not run      b: planx/b is checked out in"),
        "{run}"
    );
    let ev = events(&repo);
    assert!(
        ev.contains(&"end c".to_owned()),
        "c ran after b was left alone: {ev:?}"
    );
}

#[test]
fn a_merge_that_loses_the_race_for_base_is_merged_again() {
    // b's check moves base as another writer would: once while b is verified in its worktree
    // (so the merge is of a moved base), and once more while finish verifies that merge (so
    // finish finds base moved again when it lands).
    let plan = diamond()
        .with_phase("b", |p| {
            p.check_run(
                "another writer",
                r#"sh "$(git rev-parse --path-format=absolute --git-common-dir)/../../mover.sh""#,
            )
        })
        .toml();
    let repo = Repo::with_plan(&plan);
    let dir = repo.root.parent().unwrap().to_path_buf();
    let mover = dir.join("mover.sh");
    fs::write(
        &mover,
        format!(
            "set -e\nroot='{root}'\nn=$(cat '{d}/count' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{d}/count'\n\
             if [ $n -le 2 ]; then\n\
             export GIT_INDEX_FILE='{d}/index'\n\
             git -C \"$root\" read-tree main\n\
             blob=$(echo $n | git -C \"$root\" hash-object -w --stdin)\n\
             git -C \"$root\" update-index --add --cacheinfo 100644,$blob,moved$n.txt\n\
             c=$(git -C \"$root\" commit-tree -p main -m \"moved $n\" $(git -C \"$root\" write-tree))\n\
             git -C \"$root\" update-ref refs/heads/main $c\n\
             fi\n",
            root = repo.root.display(),
            d = dir.display()
        ),
    )
    .unwrap();
    assert_eq!(repo.planx(&["trust", "-q"]).code, 0);
    // Base is not checked out here: finish moves the branch itself.
    repo.git(&["checkout", "-q", "--detach"]);
    let exec = executor(&repo, WRITE);
    let run = repo.planx(&["run", "--phase", "a", "--phase", "b", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(fs::read_to_string(dir.join("count")).unwrap().trim(), "3");
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][1]["state"], "complete", "{status}");
    assert_eq!(repo.git(&["show", "main:moved2.txt"]), "2\n");
}

#[test]
fn a_hanging_executor_is_killed_at_the_phase_timeout() {
    let plan = diamond().with_phase("c", |p| p.timeout("1s")).toml();
    let repo = Repo::with_plan(&plan);
    let exec = executor(
        &repo,
        &format!("if [ \"$PLANX_PHASE\" = c ]; then {LEAVE_A_CHILD} sleep 300; fi; {WRITE}"),
    );
    let run = repo.planx(&["run", "--jobs", "2", "--keep-going", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][2]["state"], "failed");
    assert!(
        status["phases"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{status}"
    );
    let child = wait_for_pids(&repo.root.parent().unwrap().join("c.pid"));
    wait_ended(&child, "the executor's children were killed too");
}

#[test]
fn an_executor_writing_outside_the_manifest_fails_verify_and_nothing_is_lost() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(
        &repo,
        &format!("{WRITE}; if [ \"$PLANX_PHASE\" = b ]; then echo oops > outside.txt; fi"),
    );
    let run = repo.planx(&["run", "--keep-going", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    let status = repo.planx(&["status", "--json"]).json();
    assert_eq!(status["phases"][1]["state"], "failed");
    assert!(
        status["phases"][1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("verify:"),
        "{status}"
    );
    // The stray file was committed on b's branch, not lost.
    assert_eq!(repo.git(&["show", "planx/b:outside.txt"]), "oops\n");
}

#[test]
fn an_executor_that_commits_on_its_own() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(
        &repo,
        &format!("{WRITE}; git add -A && git commit -q -m \"$PLANX_PHASE by the agent\""),
    );
    let run = repo.planx(&["run", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let subjects = repo.git(&["log", "--format=%s", "main"]);
    assert!(subjects.contains("a by the agent"), "{subjects}");
    assert!(
        !subjects.contains("what the executor left"),
        "nothing was left to commit: {subjects}"
    );
}

#[test]
fn interrupting_a_run_then_running_again_redoes_nothing() {
    let repo = Repo::with_plan(&diamond().toml());
    let dir = repo.root.parent().unwrap();
    let gate = dir.join("slow");
    fs::write(&gate, "").unwrap();
    // b and c hang, each with a child of its own.
    let exec = executor(
        &repo,
        &format!(
            "if [ \"$PLANX_PHASE\" != a ] && [ -e '{}' ]; then {LEAVE_A_CHILD} sleep 300; fi; {WRITE}",
            gate.display(),
        ),
    );
    let child = repo
        .command(crate::common::BIN, &repo.root)
        .args(["run", "--jobs", "2", "--executor", &exec])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for b and c to be running (a merged first), their children started.
    let children = [
        wait_for_pids(&dir.join("b.pid")),
        wait_for_pids(&dir.join("c.pid")),
    ]
    .concat();
    let ev = events(&repo);
    assert!(
        ev.contains(&"start b".to_owned()) && ev.contains(&"start c".to_owned()),
        "b and c started: {ev:?}"
    );
    interrupt(child);
    // The executors were stopped, their children with them.
    wait_ended(&children, "the executors' children were stopped");
    // Interrupted phases keep their worktrees for inspection, and say so in their notes.
    let wt: PathBuf = repo.path(".git/planx/worktrees/dia/b");
    assert!(wt.exists());
    assert!(repo.note("planx/b").contains(r#""event":"interrupted""#));
    // Run again, now fast: b, c and d complete; a is not redone.
    fs::remove_file(&gate).unwrap();
    let run = repo.planx(&["run", "--jobs", "2", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let ev = events(&repo);
    assert_eq!(ev.iter().filter(|e| *e == "start a").count(), 1, "{ev:?}");
    assert_eq!(ev.iter().filter(|e| *e == "end d").count(), 1, "{ev:?}");
}

#[test]
fn dry_run_prints_the_waves_and_runs_nothing() {
    let repo = Repo::with_plan(&diamond().toml());
    let run = repo.planx(&[
        "run",
        "--dry-run",
        "--jobs",
        "2",
        "--executor",
        "my-agent --brief \"$PLANX_BRIEF\"",
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("wave 1:\n  a "), "{run}");
    assert!(run.stdout.contains("wave 2:\n  b"), "{run}");
    assert!(run.stdout.contains("wave 3:\n  d"), "{run}");
    assert!(
        repo.git(&["branch", "--list", "planx/*"]).is_empty(),
        "nothing started"
    );
    let doc = repo
        .planx(&["run", "--dry-run", "--jobs", "1", "--json"])
        .json();
    assert_eq!(doc["waves"].as_array().unwrap().len(), 4);
}

#[test]
fn run_refusals() {
    let repo = Repo::with_plan(&diamond().toml());
    let run = repo.planx(&["run"]);
    assert_eq!(run.code, 2, "no executor: {run}");
    assert_eq!(
        repo.planx(&["run", "--phase", "zz", "--executor", "true x"])
            .code,
        2
    );
    let repo = Repo::with_plan(&diamond().status("draft").toml());
    assert_eq!(repo.planx(&["run", "--executor", "true x"]).code, 3);
}

#[test]
fn json_streams_events() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(&repo, WRITE);
    let run = repo.planx(&["run", "--json", "--phase", "a", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["schema"] == "planx.run-event/1"
        && l["event"] == "merged"
        && l["phase"] == "a"));
    assert_eq!(lines.last().unwrap()["schema"], "planx.run/1");
}

#[test]
fn a_closed_stdout_does_not_stop_the_run() {
    use std::io::{BufRead, BufReader};
    let repo = Repo::with_plan(&diamond().toml());
    // The executors wait for the test to have closed the pipe.
    let closed = repo.root.parent().unwrap().join("closed");
    let exec = executor(
        &repo,
        &format!("await '{}' || exit 7; {WRITE}", closed.display()),
    );
    let mut child = repo
        .command(crate::common::BIN, &repo.root)
        .args(["run", "--json", "--executor", &exec])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one event, then close the pipe while the phases still run (`| head -1`).
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("planx.run-event/1"), "{first}");
    fs::write(&closed, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let states = repo.states();
    assert!(
        states.iter().all(|s| s == "complete"),
        "the run went on to its end: {states:?}"
    );
}

#[test]
fn the_demo_runs_to_its_end() {
    let dir = Repo::folder();
    let target = dir.root.join("demo");
    let run = dir.planx(&["demo", target.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    let status = dir.run(
        dir.command(crate::common::BIN, &target)
            .args(["status", "--json"]),
    );
    let doc = status.json();
    let states: Vec<(String, String)> = doc["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let state = |id: &str| {
        states
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, s)| s.as_str())
            .unwrap()
    };
    assert_eq!(state("design"), "complete");
    assert_eq!(state("add"), "complete");
    assert_eq!(state("help"), "complete");
    assert_eq!(state("mul"), "failed", "verify caught the missing test");
    assert_eq!(state("docs"), "waiting", "docs depends on mul");
    assert!(
        run.stdout.contains("git notes --ref planx show planx/mul"),
        "{run}"
    );
    // Outcomes in the words `run` uses.
    assert!(run.stdout.contains("  design   complete   "), "{run}");
    assert!(run.stdout.contains("  docs     skipped    "), "{run}");
    // A second demo into the same folder is refused: it is not empty.
    assert_eq!(dir.planx(&["demo", target.to_str().unwrap()]).code, 3);
}

#[test]
fn a_git_dir_in_the_environment_does_not_send_commits_to_base() {
    let repo = Repo::with_plan(&diamond().toml());
    let exec = executor(&repo, WRITE);
    let mut cmd = repo.command(crate::common::BIN, &repo.root);
    cmd.args(["run", "--phase", "a", "--executor", &exec])
        .env("GIT_DIR", repo.path(".git"))
        .env("GIT_WORK_TREE", &repo.root);
    let run = repo.run(&mut cmd);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the main work tree is untouched"
    );
    let subjects = repo.git(&["log", "--first-parent", "--format=%s", "main"]);
    assert!(
        subjects.starts_with("planx: complete phase a"),
        "{subjects}"
    );
}

#[test]
fn a_phase_checked_out_elsewhere_is_left_alone() {
    let repo = Repo::with_plan(&diamond().toml());
    assert_eq!(
        repo.planx(&["start", "a", "--worktree", "../mine", "-q"])
            .code,
        0
    );
    let mine = repo.root.parent().unwrap().join("mine");
    fs::write(mine.join("dev.secret"), "key\n").unwrap();
    let exec = executor(&repo, WRITE);
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("is checked out in"), "{run}");
    assert_eq!(
        fs::read_to_string(mine.join("dev.secret")).unwrap(),
        "key\n"
    );
    assert!(events(&repo).is_empty(), "no executor ran");
}

#[test]
fn a_verified_phase_that_could_not_merge_is_merged_next_time_without_running_again() {
    let repo = Repo::with_plan(&diamond().toml());
    // Base is checked out here with a change staged where the merge puts a file: the merge
    // must wait (a change to a file the merge does not touch would not stop it, as with git).
    repo.write("a.txt", "mine\n");
    repo.git(&["add", "a.txt"]);
    let exec = executor(&repo, WRITE);
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["phases"][0]["state"],
        "blocked"
    );
    // Once the obstacle is gone, the next run merges it: its tree is verified already.
    repo.git(&["rm", "-q", "--cached", "a.txt"]);
    fs::remove_file(repo.path("a.txt")).unwrap();
    let run = repo.planx(&["run", "--phase", "a", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        events(&repo).iter().filter(|e| *e == "start a").count(),
        1,
        "the executor ran once"
    );
}

#[test]
fn a_person_as_the_executor() {
    let repo = Repo::with_plan(&diamond().toml());
    // `script` gives the run a terminal; the "person" types into the shell it opens.
    let mut cmd = repo.command("script", &repo.root);
    cmd.args([
        "-qec",
        &format!(
            "'{}' run --phase a --interactive --executor sh",
            crate::common::BIN
        ),
        "/dev/null",
    ])
    .env("TERM", "dumb")
    .stdin(std::process::Stdio::piped());
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo a > a.txt\nexit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(repo.git(&["show", "main:a.txt"]), "a\n");
    let run = repo.planx(&["run", "--interactive", "--executor", "sh"]);
    assert_eq!(run.code, 2, "no terminal: {run}");
}

#[test]
fn what_an_executor_says_it_cost_is_in_the_report_and_the_review() {
    let repo = Repo::with_plan(&diamond().toml());
    // Phase `a` writes Claude Code's result document, `b` planx's own, `c` nothing, `d` one
    // that cannot be read.
    let exec = executor(
        &repo,
        &format!(
            "{WRITE}\ncase \"$PLANX_PHASE\" in\n a) echo '{{\"type\":\"result\",\"total_cost_usd\":0.25,\"num_turns\":3,\"usage\":{{\"input_tokens\":300,\"cache_read_input_tokens\":20,\"output_tokens\":60}},\"modelUsage\":{{\"claude-x\":{{}}}}}}' > \"$PLANX_USAGE\" ;;\n b) echo '{{\"cost_usd\":0.5,\"input_tokens\":10,\"output_tokens\":5,\"turns\":1,\"model\":\"m\"}}' > \"$PLANX_USAGE\" ;;\n d) echo 'not json' > \"$PLANX_USAGE\" ;;\nesac"
        ),
    );
    let run = repo.planx(&["run", "-q", "--executor", &exec]);
    assert_eq!(run.code, 0, "{run}");
    let report = repo.planx(&["report", "--json"]).json();
    let usage = |i: usize| &report["phases"][i]["usage"];
    assert_eq!(usage(0)["cost_usd"], 0.25);
    assert_eq!(usage(0)["input_tokens"], 320);
    assert_eq!(usage(0)["turns"], 3);
    assert_eq!(usage(0)["model"], "claude-x");
    assert_eq!(usage(1)["cost_usd"], 0.5);
    assert!(usage(2)["cost_usd"].is_null() && usage(2)["duration_ms"].is_u64());
    assert!(usage(3)["duration_ms"].is_u64());
    assert_eq!(report["usage"]["cost_usd"], 0.75);
    assert_eq!(report["usage"]["input_tokens"], 330);
    assert_eq!(report["usage"]["model"], "claude-x, m");
    let text = repo.planx(&["report"]).stdout;
    let section = text
        .split("## Cost and effort")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("{text}"));
    let rows: Vec<String> = section
        .lines()
        .filter(|l| l.starts_with("| `") || l.starts_with("| **"))
        .map(|l| {
            // The executor's time depends on the machine.
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            [cells[1], cells[3], cells[4], cells[5], cells[6], cells[7]].join(" | ")
        })
        .collect();
    insta::assert_snapshot!(rows.join("\n"), @"
    `a` | $0.2500 | 320 | 60 | 3 | claude-x
    `b` | $0.5000 | 10 | 5 | 1 | m
    `c` | - | - | - | - | -
    `d` | - | - | - | - | -
    **Total** | $0.7500 | 330 | 65 | 4 | claude-x, m
    ");
    let note = repo.note("planx/d");
    assert!(note.contains("usage_error"), "{note}");
    let review = repo.planx(&["review", "a"]).stdout;
    assert!(
        review.contains("cost $0.2500, 320 input and 60 output tokens, 3 turns, model claude-x"),
        "{review}"
    );
}
