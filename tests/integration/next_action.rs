//! What planx says to do next matches the repository, in every command that says it: `status`
//! (table, status document, JSON), `resume`, `next` and `report`.

use insta::assert_snapshot;

use crate::common::{Repo, VERIFY_PLAN, WALK_PLAN, small_plan};

/// The `next` of `status --json`, and the verify state of phase `p`.
fn next_and_verify(repo: &Repo) -> (serde_json::Value, serde_json::Value) {
    let doc = repo.planx(&["status", "--json"]).json();
    (doc["next"].clone(), doc["phases"][0]["verify"].clone())
}

/// What each command says next, one after the other.
fn every_next(repo: &Repo) -> String {
    let mut out = String::new();
    for args in [
        &["status"][..],
        &["status", "--format", "md"],
        &["resume"],
        &["next"],
        &["next", "--json"],
    ] {
        out.push_str(&format!(
            "$ git planx {}\n{}\n",
            args.join(" "),
            repo.planx(args)
        ));
    }
    let report = repo.planx(&["report"]);
    let next = report
        .stdout
        .split("## Next step")
        .nth(1)
        .unwrap_or("(none)");
    out.push_str(&format!(
        "$ git planx report (its next step)\n{}\n",
        next.trim()
    ));
    out
}

#[test]
fn after_a_passing_verify_every_command_says_finish() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    let (next, verify) = next_and_verify(&repo);
    assert_eq!(next["action"], "finish");
    assert_eq!(next["phase"], "p");
    assert_eq!(verify["state"], "passed");
    assert_eq!(verify["of"], "tip");
    assert_eq!(verify["commit"], repo.git(&["rev-parse", "HEAD"]).trim());
    let resume = repo.planx(&["resume", "--json"]).json();
    assert_eq!(resume["verify"]["state"], "passed");
    assert_eq!(resume["next"], "git planx finish p");
    assert_snapshot!("after_a_passing_verify", every_next(&repo));
    // And it is right: finish merges what was verified.
    assert_eq!(repo.planx(&["finish", "p", "-q"]).code, 0);
}

#[test]
fn a_verify_of_an_older_tree_or_a_failed_one_does_not_say_finish() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    repo.write("new.txt", "hello again\n");
    repo.git(&["add", "new.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "-m", "More", "-q"]).code, 0);
    let (next, verify) = next_and_verify(&repo);
    assert_eq!(verify["state"], "outdated");
    assert_eq!(next["action"], "continue");
    assert_snapshot!("resume_after_a_change", repo.planx(&["resume"]));
    repo.write("new.txt", "bye\n");
    repo.git(&["add", "new.txt"]);
    assert_eq!(repo.planx(&["checkpoint", "-m", "Broken", "-q"]).code, 0);
    assert_eq!(repo.planx(&["verify", "-q"]).code, 1);
    let (next, verify) = next_and_verify(&repo);
    assert_eq!(verify["state"], "failed");
    assert_eq!(next["action"], "continue");
}

#[test]
fn a_status_document_committed_after_verify_says_what_is_true_after_that_commit() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    assert_eq!(repo.planx(&["verify", "-q"]).code, 0);
    let document = repo.planx(&["status", "--format", "md"]).stdout;
    repo.write("docs/status.md", &document);
    repo.git(&["add", "docs/status.md"]);
    let run = repo.planx(&["checkpoint", "-m", "The status document", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    // Committed, it is still what git says.
    assert_eq!(repo.planx(&["status", "--format", "md"]).stdout, document);
    assert!(document.contains("`git planx finish p`"), "{document}");
    let (next, verify) = next_and_verify(&repo);
    assert_eq!(next["action"], "finish");
    assert_eq!(verify["state"], "passed");
    // And finish does it, verifying the tree with the document itself.
    let run = repo.planx(&["finish", "p", "-q"]);
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn a_plan_that_is_not_ready_says_so_not_start() {
    for status in ["draft", "reviewed"] {
        let repo = Repo::with_plan(&small_plan().status(status).toml());
        let (next, _) = next_and_verify(&repo);
        assert_eq!(next["action"], "review-plan", "{status}");
        assert_snapshot!(format!("a_{status}_plan"), every_next(&repo));
    }
}

#[test]
fn a_plan_not_committed_on_base_says_so_not_start() {
    let repo = Repo::with_commit();
    repo.write_plan(&WALK_PLAN);
    let (next, _) = next_and_verify(&repo);
    assert_eq!(next["action"], "commit-plan");
    assert_snapshot!("a_plan_not_committed", every_next(&repo));
}

#[test]
fn a_stale_phase_is_not_every_phase_complete() {
    let repo = Repo::with_plan(&WALK_PLAN);
    for (phase, file) in [("a", "a.txt"), ("b", "b.txt")] {
        assert_eq!(repo.planx(&["start", phase, "-q"]).code, 0);
        repo.write(file, "x\n");
        repo.git(&["add", file]);
        assert_eq!(repo.planx(&["checkpoint", "-m", "Work", "-q"]).code, 0);
        let run = repo.planx(&["finish", phase, "--squash", "-q"]);
        assert_eq!(run.code, 0, "{run}");
        repo.git(&["switch", "-q", "main"]);
    }
    assert_eq!(
        repo.planx(&["status", "--json"]).json()["next"]["action"],
        "done"
    );
    repo.git(&["rm", "-q", "a.txt"]);
    repo.commit_all("Remove a.txt");
    let (next, _) = next_and_verify(&repo);
    assert_eq!(next["action"], "restore");
    assert_snapshot!("a_stale_phase", every_next(&repo));
}
