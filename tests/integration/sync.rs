//! `git planx sync`: evidence that travels. Real bare remotes over `file://`, real clones,
//! the real binary; several clones append notes to the same commits and sync in every order,
//! syncs race each other, and nothing is lost or doubled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use git_planx::git::{Oid, Repo as GitRepo};
use insta::assert_snapshot;

use crate::common::{Repo, SMALL_PLAN};

/// A bare repository to serve as the team's remote.
fn bare() -> Repo {
    let remote = Repo::folder();
    remote.git(&["init", "-q", "--bare"]);
    remote
}

fn url(remote: &Repo) -> String {
    format!("file://{}", remote.root.display())
}

/// A clone of `remote` in a folder of its own, the plan's commands trusted.
fn clone(remote: &Repo) -> Repo {
    let c = Repo::folder();
    c.git(&["clone", "-q", &url(remote), "."]);
    let run = c.planx(&["trust", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    c
}

/// A remote whose `main` holds the small plan and `count` more commits, and the machine that
/// pushed it. The plan declares that machine's signing key, as a team declares its members'
/// (docs/verification.md): its records count in every clone.
fn team(count: usize) -> (Repo, Repo) {
    let remote = bare();
    let first = Repo::with_plan(&SMALL_PLAN);
    let key = first.planx(&["signers", "-q"]);
    assert_eq!(key.code, 0, "{key}");
    first.write_plan(&format!(
        "{}\n[evidence]\nsigners = {{ work = \"{}\" }}\n",
        *SMALL_PLAN,
        key.stdout.trim()
    ));
    first.commit_all("Declare the team's signers");
    assert_eq!(first.planx(&["trust", "-q"]).code, 0);
    for i in 0..count {
        first.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("commit {i}"),
        ]);
    }
    first.git(&["remote", "add", "origin", &url(&remote)]);
    first.git(&["push", "-q", "origin", "main"]);
    (remote, first)
}

/// The commits of `main`, newest first.
fn commits(repo: &Repo) -> Vec<Oid> {
    repo.git(&["rev-list", "main"])
        .lines()
        .map(|l| Oid::from_str(l).unwrap())
        .collect()
}

/// Appends `lines` to the note on `commit`, as planx appends an event.
fn append(repo: &Repo, commit: Oid, line: &str) {
    GitRepo::open(&repo.root)
        .unwrap()
        .append_note_line(commit, line)
        .unwrap();
}

/// Every note in `git_dir`'s `reference`, as git reads it: commit → lines.
fn notes(repo: &Repo, dir: &Path, reference: &str) -> BTreeMap<String, Vec<String>> {
    let listed = repo.run(
        repo.command("git", dir)
            .args(["notes", "--ref", reference, "list"]),
    );
    let mut out = BTreeMap::new();
    for line in listed.stdout.lines() {
        let commit = line.split_whitespace().nth(1).unwrap().to_owned();
        let shown = repo.run(
            repo.command("git", dir)
                .args(["notes", "--ref", reference, "show", &commit]),
        );
        out.insert(commit, shown.stdout.lines().map(str::to_owned).collect());
    }
    out
}

/// Fails unless every note holds each line at most once.
fn assert_no_duplicates(notes: &BTreeMap<String, Vec<String>>, whose: &str) {
    for (commit, lines) in notes {
        let set: BTreeSet<&String> = lines.iter().collect();
        assert_eq!(
            set.len(),
            lines.len(),
            "{whose}: a line twice on {commit}: {lines:#?}"
        );
    }
}

fn sync(repo: &Repo) -> serde_json::Value {
    let run = repo.planx(&["sync", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    run.json()
}

#[test]
fn three_clones_appending_to_the_same_commits_sync_in_every_order_and_all_hold_every_line() {
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let (remote, _first) = team(3);
        let clones = [clone(&remote), clone(&remote), clone(&remote)];
        let targets = commits(&clones[0]);
        // Each clone appends to the same commits, before any of them syncs: on one commit an
        // event everyone recorded the same way, to be kept once.
        let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (n, c) in clones.iter().enumerate() {
            for (i, commit) in targets.iter().enumerate() {
                let line = format!(
                    r#"{{"v":1,"ts":"2026-01-0{}T00:00:0{n}Z","clone":{n}}}"#,
                    i + 1
                );
                append(c, *commit, &line);
                expected.entry(commit.to_string()).or_default().insert(line);
            }
            let same = r#"{"v":1,"ts":"2026-01-01T00:00:00Z","everyone":true}"#;
            append(c, targets[0], same);
            expected
                .get_mut(&targets[0].to_string())
                .unwrap()
                .insert(same.to_owned());
        }
        for &i in &order {
            sync(&clones[i]);
        }
        // One more round brings what the later ones pushed to the earlier ones.
        for &i in &order {
            let doc = sync(&clones[i]);
            assert_eq!(doc["notes"]["lines_out"], 0, "{order:?}: {doc}");
        }
        let on_remote = notes(&remote, &remote.root, "planx");
        assert_no_duplicates(&on_remote, "the remote");
        let as_sets: BTreeMap<String, BTreeSet<String>> = on_remote
            .iter()
            .map(|(c, l)| (c.clone(), l.iter().cloned().collect()))
            .collect();
        assert_eq!(
            as_sets, expected,
            "order {order:?}: a line lost on the remote"
        );
        for (n, c) in clones.iter().enumerate() {
            let here = notes(c, &c.root, "planx");
            assert_eq!(
                here, on_remote,
                "order {order:?}: clone {n} differs from the remote"
            );
        }
    }
}

#[test]
fn a_sync_that_loses_the_race_to_another_fetches_merges_again_and_loses_nothing() {
    let (remote, _first) = team(1);
    let (a, b) = (clone(&remote), clone(&remote));
    let target = commits(&a)[0];
    append(
        &a,
        target,
        r#"{"v":1,"ts":"2026-01-01T00:00:01Z","from":"a"}"#,
    );
    append(
        &b,
        target,
        r#"{"v":1,"ts":"2026-01-01T00:00:02Z","from":"b"}"#,
    );
    // While `a`'s sync is about to push its notes, `b` syncs: a's lease on the remote's notes
    // is stale by the time its push arrives. (The first time only: then it pushes for real.)
    let marker = a.root.parent().unwrap().join("raced");
    let hook = format!(
        "#!/bin/sh\nwhile read local sha remote_ref remote_sha; do\n  \
         if [ \"$remote_ref\" = refs/notes/planx ] && [ ! -e '{marker}' ]; then\n    \
         touch '{marker}'\n    \
         (unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE; cd '{b}' && git planx sync -q) || exit 1\n  \
         fi\ndone\nexit 0\n",
        marker = marker.display(),
        b = b.root.display()
    );
    a.write(".git/hooks/pre-push", hook);
    a.git(&["update-index", "--refresh"]);
    std::fs::set_permissions(
        a.path(".git/hooks/pre-push"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let doc = sync(&a);
    assert!(marker.exists(), "the race was not run");
    assert_eq!(doc["notes"]["attempts"], 2, "{doc}");
    assert_eq!(doc["notes"]["pushed"], true, "{doc}");
    assert_eq!(doc["notes"]["lines_in"], 1, "{doc}");
    let on_remote = notes(&remote, &remote.root, "planx");
    let lines = &on_remote[&target.to_string()];
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains(r#""from":"a""#)),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""from":"b""#)),
        "{lines:#?}"
    );
    assert_eq!(notes(&a, &a.root, "planx"), on_remote);
}

#[test]
fn syncs_started_at_once_in_three_clones_all_succeed_and_lose_nothing() {
    let (remote, _first) = team(2);
    let clones = [clone(&remote), clone(&remote), clone(&remote)];
    let targets = commits(&clones[0]);
    let mut expected = BTreeSet::new();
    for (n, c) in clones.iter().enumerate() {
        for k in 0..5 {
            let line = format!(r#"{{"v":1,"ts":"2026-01-01T00:00:0{k}Z","clone":{n}}}"#);
            append(c, targets[k % targets.len()], &line);
            expected.insert(line);
        }
    }
    let children: Vec<_> = clones
        .iter()
        .map(|c| {
            c.command(crate::common::BIN, &c.root)
                .args(["sync", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let on_remote = notes(&remote, &remote.root, "planx");
    assert_no_duplicates(&on_remote, "the remote");
    let all: BTreeSet<String> = on_remote.values().flatten().cloned().collect();
    assert_eq!(all, expected);
}

#[test]
fn sync_pushes_phase_branches_that_are_ahead_and_never_forces_one_moved_elsewhere() {
    let (remote, _first) = team(0);
    let (a, b) = (clone(&remote), clone(&remote));
    let run = a.planx(&["start", "a", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = sync(&a);
    assert_eq!(doc["branches"][0]["outcome"], "created", "{doc}");
    // b takes the branch further and pushes it; a commits on its own copy meanwhile.
    b.git(&["fetch", "-q", "origin"]);
    b.git(&["switch", "-q", "planx/a"]);
    b.git(&["commit", "-q", "--allow-empty", "-m", "b's work"]);
    b.git(&["push", "-q", "origin", "planx/a"]);
    a.git(&["commit", "-q", "--allow-empty", "-m", "a's work"]);
    let before = remote.git(&["rev-parse", "planx/a"]);
    let run = a.planx(&["sync"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        remote.git(&["rev-parse", "planx/a"]),
        before,
        "a branch was forced"
    );
    assert!(
        run.stdout
            .contains("not pushed: origin has commits this branch lacks (someone else moved it)"),
        "{run}"
    );
    assert!(
        run.stdout.contains("hint: planx/a was moved on origin"),
        "{run}"
    );
    // b is ahead of nothing now: up to date.
    let doc = sync(&b);
    assert_eq!(doc["branches"][0]["outcome"], "up-to-date", "{doc}");
}

#[test]
fn sync_shows_what_it_did_and_configures_the_remote_once() {
    let (remote, first) = team(0);
    let run = first.planx(&["start", "a", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    first.write("src/a.txt", "a\n");
    first.git(&["add", "-A"]);
    assert_eq!(first.planx(&["checkpoint", "-q", "-m", "a"]).code, 0);
    // Commit ids depend on the signing key the plan declares, made afresh for each test.
    let tip = first.git(&["rev-parse", "--short=10", "planx/a"]);
    let shown = |run: crate::common::Run| {
        run.to_string()
            .replace(&remote.root.display().to_string(), "$REMOTE")
            .replace(tip.trim(), "$TIP")
    };
    let run = first.planx(&["sync"]);
    assert_snapshot!(shown(run), @"
    synced with origin (file://$REMOTE)
      notes   2 note lines pushed
      claims  none on the remote
      branches
        planx/a  pushed (new on origin) $TIP
    configured origin: a plain `git fetch` or `git pull` now brings its notes and claims too
    --- stderr ---
    [exit status: 0]
    ");
    assert_snapshot!(
        first.git(&["config", "--get-all", "remote.origin.fetch"]),
        @"
        +refs/heads/*:refs/remotes/origin/*
        +refs/notes/planx*:refs/notes/remotes/origin/planx*
        +refs/planx/claims/*:refs/planx/remotes/origin/claims/*
        "
    );
    let run = first.planx(&["sync"]);
    assert_snapshot!(shown(run), @"
    synced with origin (file://$REMOTE)
      notes   up to date
      claims  none on the remote
      branches
        planx/a  up to date
    --- stderr ---
    [exit status: 0]
    ");
}

#[test]
fn an_unreachable_remote_is_exit_3_with_a_hint_and_an_unknown_one_exit_2() {
    let repo = Repo::with_plan(&SMALL_PLAN);
    let run = repo.planx(&["sync"]);
    assert_snapshot!(run, @"
    --- stderr ---
    error: this repository has no remote
    hint: add the team's remote first: `git remote add origin URL`
    [exit status: 3]
    ");
    repo.git(&["remote", "add", "origin", "file:///nonexistent/remote.git"]);
    let run = repo.planx(&["sync"]);
    assert_snapshot!(run, @"
    --- stderr ---
    error: cannot reach the remote `origin` (file:///nonexistent/remote.git)
      | fatal: '/nonexistent/remote.git' does not appear to be a git repository
      | fatal: Could not read from remote repository.
      | Please make sure you have the correct access rights
      | and the repository exists.
    hint: nothing here was changed; check the remote's URL (`git remote -v`), the network and your credentials (`git fetch origin` says what git says), then run it again
    [exit status: 3]
    ");
    let run = repo.planx(&["sync", "upstream"]);
    assert_snapshot!(run, @"
    --- stderr ---
    error: there is no remote `upstream`
    hint: the remotes here are origin; name one: `git planx sync origin`
    [exit status: 2]
    ");
    let run = repo.planx(&["sync", "--json"]);
    assert_eq!(run.json()["kind"], "repository-state", "{run}");
    assert_eq!(run.json()["exit_code"], 3, "{run}");
}

#[test]
fn the_merge_of_two_notes_commits_is_the_same_tree_whichever_side_merges() {
    let (remote, _first) = team(300);
    let (a, b) = (clone(&remote), clone(&remote));
    let targets = commits(&a);
    // Enough notes on one side for its tree to be fanned out, a few on the other.
    for (i, t) in targets.iter().enumerate() {
        append(
            &a,
            *t,
            &format!(r#"{{"v":1,"ts":"2026-01-01T00:00:00Z","a":{i}}}"#),
        );
    }
    for t in targets.iter().take(5) {
        append(&b, *t, r#"{"v":1,"ts":"2026-01-01T00:00:01Z","b":true}"#);
    }
    b.git(&["push", "-q", "origin", "refs/notes/planx:refs/notes/b"]);
    a.git(&["fetch", "-q", "origin", "refs/notes/b:refs/notes/b"]);
    let lib = GitRepo::open(&a.root).unwrap();
    let ours = lib.ref_target("refs/notes/planx").unwrap();
    let theirs = lib.ref_target("refs/notes/b").unwrap();
    let one = git_planx::remote::notes::merge(&lib, ours, theirs).unwrap();
    let other = git_planx::remote::notes::merge(&lib, theirs, ours).unwrap();
    assert_eq!(one.tree, other.tree);
    assert_eq!((one.lines_in, one.lines_out), (5, 302));
    assert_eq!((other.lines_in, other.lines_out), (302, 5));
    // git reads the merged tree's notes as its own.
    let commit = lib.write_notes_commit(one.tree, &[], "merged\n").unwrap();
    a.git(&["update-ref", "refs/notes/merged", &commit.to_string()]);
    assert_eq!(notes(&a, &a.root, "merged").len(), 302);
    let first = notes(&a, &a.root, "merged")[&targets[0].to_string()].clone();
    assert_eq!(first.len(), 2, "{first:#?}");
}

/// Does phase `id` of the small plan on `repo` from start to finish: its file, a checkpoint,
/// a passing verify, the merge into main.
fn finish_phase(repo: &Repo, id: &str, file: &str) {
    let run = repo.planx(&["start", id, "-q"]);
    assert_eq!(run.code, 0, "{run}");
    repo.write(file, format!("{id}\n"));
    repo.git(&["add", "-A"]);
    for args in [
        vec!["checkpoint", "-q", "-m", "the work"],
        vec!["verify", "-q"],
        vec!["finish", id, "-q"],
    ] {
        let run = repo.planx(&args);
        assert_eq!(run.code, 0, "{args:?}: {run}");
    }
}

#[test]
fn a_fresh_clone_says_the_notes_are_missing_then_sync_shows_the_true_states_and_git_pull_keeps_them()
 {
    let (remote, work) = team(0);
    finish_phase(&work, "a", "src/a.txt");
    work.git(&["push", "-q", "origin", "main"]);
    sync(&work);
    let working = work.states();
    assert_eq!(working, ["complete", "ready", "ready"]);

    let fresh = clone(&remote);
    let run = fresh.planx(&["status"]);
    // Commit ids depend on the signing key the plan declares, made afresh for each test.
    let main = fresh.git(&["rev-parse", "--short=10", "main"]);
    assert_snapshot!(run.to_string().replace(main.trim(), "$MAIN"), @"
    plan demo: Demo plan (base main at $MAIN)

    PHASE  STATE       BRANCH  LAST CHECKPOINT    STEP  AGE
    a      UNVERIFIED  -       merged $MAIN  -     0s
    b      waiting     -       -                  -     -
    c      waiting     -       -                  -     -

    UNVERIFIED: a was merged by $MAIN without a passing verify of its tree: it does not count as complete
    next: phase `a` was merged without a passing verify of its tree, so its dependents wait: verify its branch (`git planx verify a`) and share the notes
    --- stderr ---
    warning: the notes of `origin` (the evidence recorded on other machines) have not been fetched into this clone, so phases verified elsewhere show as unverified; run `git planx sync origin` once — after it, a plain `git fetch` or `git pull` brings them too
    [exit status: 0]
    ");
    assert!(
        run.stderr.starts_with(
            "warning: the notes of `origin` (the evidence recorded on other machines) have not been fetched into this clone"
        ),
        "{run}"
    );
    assert!(
        run.stderr.contains("run `git planx sync origin` once"),
        "{run}"
    );
    assert_eq!(fresh.state_of("a"), "unverified");
    for command in [vec!["report"], vec!["review", "a"]] {
        let run = fresh.planx(&command);
        assert!(
            run.stderr.contains("run `git planx sync origin` once"),
            "{command:?}: {run}"
        );
    }
    let doc = sync(&fresh);
    assert!(doc["notes"]["lines_in"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(fresh.states(), working);
    let run = fresh.planx(&["status"]);
    assert!(!run.stderr.contains("have not been fetched"), "{run}");
    // The local notes are untouched by a plain fetch: the remote's land beside them.
    assert_eq!(
        fresh.git(&["rev-parse", "refs/notes/planx"]),
        fresh.git(&["rev-parse", "refs/notes/remotes/origin/planx"])
    );

    // One more phase finished on the working machine; a plain `git pull` brings it here.
    finish_phase(&work, "b", "src/b.txt");
    work.git(&["push", "-q", "origin", "main"]);
    sync(&work);
    let before = fresh.git(&["rev-parse", "refs/notes/planx"]);
    fresh.git(&["pull", "-q", "--ff-only"]);
    assert_eq!(
        fresh.git(&["rev-parse", "refs/notes/planx"]),
        before,
        "a fetch wrote onto the local notes"
    );
    assert_eq!(fresh.states(), ["complete", "complete", "ready"]);
    assert_eq!(fresh.states(), work.states());
}

/// A checkout the way CI makes one: a new repository fetching the remote's branches into
/// `refs/remotes/origin/`, HEAD detached at the pull request's branch, no local branch.
fn ci_checkout(remote: &Repo, branch: &str) -> Repo {
    let ci = Repo::folder();
    ci.git(&["init", "-q"]);
    ci.git(&["remote", "add", "origin", &url(remote)]);
    ci.git(&[
        "fetch",
        "-q",
        "--no-tags",
        "origin",
        "+refs/heads/*:refs/remotes/origin/*",
    ]);
    ci.git(&["checkout", "-q", "--detach", &format!("origin/{branch}")]);
    ci
}

/// `git planx ARGS` in `repo` as a GitHub Actions job for the pull request of `branch` runs it.
fn in_ci(repo: &Repo, branch: &str, args: &[&str]) -> crate::common::Run {
    repo.run(
        repo.command(crate::common::BIN, &repo.root)
            .env("GITHUB_HEAD_REF", branch)
            .env("PLANX_TRUST", "1")
            .args(args),
    )
}

#[test]
fn a_detached_ci_checkout_with_only_remote_tracking_branches_sees_the_states() {
    let (remote, work) = team(0);
    finish_phase(&work, "a", "src/a.txt");
    work.git(&["push", "-q", "origin", "main"]);
    // Phase b is verified on its branch, not merged yet: its pull request is what CI checks.
    assert_eq!(work.planx(&["start", "b", "-q"]).code, 0);
    work.write("src/b.txt", "b\n");
    work.git(&["add", "-A"]);
    assert_eq!(work.planx(&["checkpoint", "-q", "-m", "b"]).code, 0);
    assert_eq!(work.planx(&["verify", "-q"]).code, 0);
    let doc = sync(&work);
    assert_eq!(doc["branches"][1]["outcome"], "created", "{doc}");
    let working = work.states();

    let ci = ci_checkout(&remote, "planx/b");
    assert_eq!(
        ci.git(&["branch", "--list"]),
        "* (HEAD detached at origin/planx/b)\n"
    );
    let run = in_ci(&ci, "planx/b", &["sync", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["branches"], serde_json::json!([]), "{run}");
    let run = in_ci(&ci, "planx/b", &["status", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let states: Vec<String> = run.json()["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, working);
    assert_eq!(states, ["complete", "in-progress", "ready"]);
    let run = in_ci(&ci, "planx/b", &["review", "--format", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let review = run.json();
    assert_eq!(review["verification"]["verdict"], "verified", "{review}");
    assert_eq!(review["head_from"], "detached", "{review}");
    let run = in_ci(&ci, "planx/b", &["report", "--format", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let report = run.json();
    let complete: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "complete")
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(complete, ["a"], "{report}");
    let run = in_ci(&ci, "planx/b", &["next"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stdout.contains("git planx start b"), "{run}");
}

#[test]
fn claims_on_the_remote_are_fetched_and_a_released_one_is_gone_after_the_next_sync() {
    let (remote, first) = team(0);
    let main = first.git(&["rev-parse", "main"]).trim().to_owned();
    first.git(&[
        "push",
        "-q",
        "origin",
        &format!("{main}:refs/planx/claims/demo/a"),
    ]);
    let c = clone(&remote);
    let doc = sync(&c);
    assert_eq!(
        doc["claims"],
        serde_json::json!(["refs/planx/remotes/origin/claims/demo/a"])
    );
    // A plain fetch brings claims too, now that the remote is configured.
    first.git(&[
        "push",
        "-q",
        "origin",
        &format!("{main}:refs/planx/claims/demo/b"),
    ]);
    c.git(&["fetch", "-q", "origin"]);
    assert_eq!(
        c.git(&["for-each-ref", "--format=%(refname)", "refs/planx/"]),
        "refs/planx/remotes/origin/claims/demo/a\nrefs/planx/remotes/origin/claims/demo/b\n"
    );
    first.git(&["push", "-q", "origin", ":refs/planx/claims/demo/a"]);
    let doc = sync(&c);
    assert_eq!(
        doc["claims"],
        serde_json::json!(["refs/planx/remotes/origin/claims/demo/b"])
    );
}

/// Makes `hook` (a shell script) the hook `name` of the repository whose git folder is `dir`.
fn hook(dir: &Path, name: &str, script: &str) {
    let path = dir.join("hooks").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

#[test]
fn a_remote_that_refuses_the_notes_or_a_branch_says_so_and_nothing_here_is_lost() {
    let (remote, _first) = team(0);
    let c = clone(&remote);
    assert_eq!(c.planx(&["start", "a", "-q"]).code, 0);
    let target = commits(&c)[0];
    append(
        &c,
        target,
        r#"{"v":1,"ts":"2026-01-01T00:00:00Z","mine":true}"#,
    );
    hook(
        &remote.root,
        "pre-receive",
        "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/notes/*) echo 'notes are read-only here' >&2; exit 1;; esac\ndone\n",
    );
    let run = c.planx(&["sync"]);
    assert_snapshot!(run, @"
    --- stderr ---
    error: `origin` refused refs/notes/planx: [remote rejected] (pre-receive hook declined)
      | remote: notes are read-only here
    hint: the remote's own rules (a hook, a protected ref, permissions) refuse it; the local notes keep every line
    [exit status: 3]
    ");
    assert!(c.note(&target.to_string()).contains(r#""mine":true"#));
    // The notes go through, a branch does not: it is reported, the rest done.
    hook(
        &remote.root,
        "update",
        "#!/bin/sh\ncase \"$1\" in refs/heads/planx/*) echo 'phase branches are pushed by CI only' >&2; exit 1;; esac\n",
    );
    std::fs::remove_file(remote.root.join("hooks/pre-receive")).unwrap();
    let doc = sync(&c);
    assert_eq!(doc["notes"]["pushed"], true, "{doc}");
    assert_eq!(doc["branches"][0]["outcome"], "refused", "{doc}");
    assert!(
        doc["branches"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("[remote rejected] (hook declined); the remote said: phase branches are pushed by CI only;"),
        "{doc}"
    );
}

#[test]
fn a_sync_that_keeps_losing_the_race_gives_up_with_exit_3_and_keeps_its_lines() {
    let (remote, _first) = team(0);
    let (a, b) = (clone(&remote), clone(&remote));
    let target = commits(&a)[0];
    append(
        &a,
        target,
        r#"{"v":1,"ts":"2026-01-01T00:00:00Z","from":"a"}"#,
    );
    // Each time `a` is about to push its notes, `b` appends a line and pushes first.
    let script = format!(
        "#!/bin/sh\nwhile read local sha remote_ref remote_sha; do\n  \
         if [ \"$remote_ref\" = refs/notes/planx ]; then\n    \
         (unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE; cd '{b}' && \
         n=$(cat ../n 2>/dev/null || echo 0) && echo $((n+1)) > ../n && \
         git notes --ref planx append -m \"{{\\\"b\\\":$n}}\" HEAD && git planx sync -q) || exit 1\n  \
         fi\ndone\nexit 0\n",
        b = b.root.display()
    );
    hook(&a.root.join(".git"), "pre-push", &script);
    let run = a.planx(&["sync"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.starts_with(
            "error: `origin`'s notes kept changing: 30 attempts to push the merged notes lost the race"
        ),
        "{run}"
    );
    assert!(
        run.stderr.contains("nothing was lost — run it again"),
        "{run}"
    );
    let here = notes(&a, &a.root, "planx");
    assert!(
        here[&target.to_string()]
            .iter()
            .any(|l| l.contains(r#""from":"a""#))
    );
    // Once the others stop, the next sync goes through with every line of both.
    std::fs::remove_file(a.path(".git/hooks/pre-push")).unwrap();
    sync(&a);
    let on_remote = notes(&remote, &remote.root, "planx");
    let lines = &on_remote[&target.to_string()];
    assert!(
        lines.iter().any(|l| l.contains(r#""from":"a""#)),
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains(r#""b":"#)).count(),
        30,
        "{lines:#?}"
    );
}

/// A `git daemon` serving `root` on 127.0.0.1, pushes allowed; stopped when dropped.
struct Daemon {
    child: std::process::Child,
    port: u16,
}

impl Daemon {
    fn serve(repo: &Repo, root: &Path) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // git-daemon itself, not `git daemon`: the `git` wrapper would run it as a child of its
        // own, which stopping the wrapper would leave behind.
        let exec_path = repo.git(&["--exec-path"]);
        let child = repo
            .command(Path::new(exec_path.trim()).join("git-daemon"), root)
            .args([
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", root.display()),
                &root.display().to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("git daemon");
        crate::common::wait_until("git daemon listens", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Daemon { child, port }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sync_works_over_the_git_protocol_and_an_unreachable_daemon_is_exit_3() {
    let (remote, work) = team(0);
    finish_phase(&work, "a", "src/a.txt");
    work.git(&["push", "-q", "origin", "main"]);
    sync(&work);
    let served = remote.root.parent().unwrap().to_path_buf();
    let daemon = Daemon::serve(&remote, &served);
    let url = format!(
        "git://127.0.0.1:{}/{}",
        daemon.port,
        remote.root.file_name().unwrap().to_string_lossy()
    );
    let c = Repo::folder();
    c.git(&["clone", "-q", &url, "."]);
    assert_eq!(c.state_of("a"), "unverified");
    sync(&c);
    assert_eq!(c.states(), work.states());
    // Lines from this machine travel back over the same transport.
    let target = commits(&c)[0];
    append(
        &c,
        target,
        r#"{"v":1,"ts":"2026-01-01T00:00:00Z","over":"git"}"#,
    );
    let doc = sync(&c);
    assert_eq!(doc["notes"]["lines_out"], 1, "{doc}");
    assert!(
        notes(&remote, &remote.root, "planx")[&target.to_string()]
            .iter()
            .any(|l| l.contains(r#""over":"git""#))
    );
    drop(daemon);
    let run = c.planx(&["sync"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .starts_with("error: cannot reach the remote `origin` (git://127.0.0.1:"),
        "{run}"
    );
}

#[test]
fn a_phase_started_and_synced_elsewhere_is_in_progress_here_and_can_be_reviewed() {
    let (remote, work) = team(0);
    assert_eq!(work.planx(&["start", "a", "-q"]).code, 0);
    work.write("src/a.txt", "a\n");
    work.git(&["add", "-A"]);
    assert_eq!(work.planx(&["checkpoint", "-q", "-m", "a"]).code, 0);
    sync(&work);
    let here = clone(&remote);
    sync(&here);
    assert_eq!(here.branch(), "main");
    assert_eq!(here.state_of("a"), "in-progress");
    let run = here.planx(&["status"]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("a ") && l.contains(" origin/planx/a ")),
        "{run}"
    );
    let run = here.planx(&["next"]);
    assert!(!run.stdout.contains("git planx start a"), "{run}");
    let run = here.planx(&["review", "a", "--format", "json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.json()["head"],
        work.git(&["rev-parse", "planx/a"]).trim(),
        "{run}"
    );
}

#[test]
fn init_configures_every_remote_to_fetch_the_notes_beside_the_local_ones() {
    let repo = Repo::with_commit();
    let remote = bare();
    repo.git(&["remote", "add", "origin", &url(&remote)]);
    let run = repo.planx(&["init", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let config = run.json()["config"].clone();
    let fetch: Vec<&str> = config
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["key"] == "remote.origin.fetch")
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        fetch,
        [
            "+refs/notes/planx*:refs/notes/remotes/origin/planx*",
            "+refs/planx/claims/*:refs/planx/remotes/origin/claims/*"
        ]
    );
    // A plain fetch from a remote without notes or claims still works.
    repo.git(&["fetch", "-q", "origin"]);
    assert_snapshot!(repo.git(&["config", "--get-all", "remote.origin.fetch"]), @"
    +refs/heads/*:refs/remotes/origin/*
    +refs/notes/planx*:refs/notes/remotes/origin/planx*
    +refs/planx/claims/*:refs/planx/remotes/origin/claims/*
    ");
}

#[test]
fn records_synced_from_an_undeclared_machine_travel_but_count_only_once_its_key_is_trusted() {
    let (remote, _work) = team(0);
    // A machine whose key the plan does not declare finishes phase a and syncs.
    let stranger = clone(&remote);
    finish_phase(&stranger, "a", "src/a.txt");
    stranger.git(&["push", "-q", "origin", "main"]);
    sync(&stranger);
    assert_eq!(stranger.state_of("a"), "complete");
    let here = clone(&remote);
    let doc = sync(&here);
    assert!(doc["notes"]["lines_in"].as_u64().unwrap() > 0, "{doc}");
    // Every line arrived; the records are not counted here.
    assert_eq!(
        notes(&here, &here.root, "planx"),
        notes(&stranger, &stranger.root, "planx")
    );
    assert_eq!(here.state_of("a"), "unverified");
    let key = stranger.planx(&["signers", "-q"]).stdout.trim().to_owned();
    let run = here.planx(&["signers", "trust", &key, "--name", "stranger", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(here.state_of("a"), "complete");
}
