//! What counts as evidence: only records planx signed with a trusted key, and only merges whose
//! merged side holds its manifest, recomputed from git. A record written by hand makes nothing
//! complete — not through `status`, `finish`, `review`, the pre-merge-commit hook or the
//! pre-push hook.

use crate::common::{Repo, VERIFY_PLAN};

/// A passing verify record of `HEAD`'s tree, written by hand with `git notes`.
fn forge_passing_record(repo: &Repo) {
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let forged = serde_json::json!({
        "v": 1,
        "ts": "2026-01-01T01:00:00Z",
        "plan": "v",
        "phase": "p",
        "event": "verify",
        "tree": tree.trim(),
        "passed": true,
        "clean": true,
        "no_run": false,
        "findings": [],
        "checks": [],
    });
    repo.git(&[
        "notes",
        "--ref",
        "planx",
        "append",
        "-m",
        &forged.to_string(),
        "HEAD",
    ]);
}

/// Phase `p` checkpointed twice without creating `new.txt`, the file its manifest says it
/// creates, and a passing record of its tree written by hand; the hooks installed.
fn forged_phase() -> Repo {
    let repo = Repo::verifying(&VERIFY_PLAN);
    assert_eq!(repo.planx(&["hooks", "install", "-q"]).code, 0);
    repo.write("existing.txt", "existing, changed\n");
    std::fs::remove_file(repo.path("old.txt")).unwrap();
    repo.git(&["add", "-A"]);
    assert_eq!(repo.planx(&["checkpoint", "-m", "Half", "-q"]).code, 0);
    repo.write("scratch/notes.txt", "more\n");
    repo.git(&["add", "-A"]);
    assert_eq!(repo.planx(&["checkpoint", "-m", "More", "-q"]).code, 0);
    forge_passing_record(&repo);
    repo
}

#[test]
fn a_record_written_by_hand_satisfies_nothing() {
    let repo = forged_phase();
    let main_before = repo.git(&["rev-parse", "main"]);

    // status: the tip is not verified.
    let doc = repo.planx(&["status", "--json"]).json();
    assert_eq!(doc["phases"][0]["state"], "in-progress", "{doc}");
    assert_ne!(doc["phases"][0]["verify"]["state"], "passed", "{doc}");
    assert_ne!(doc["next"]["action"], "finish", "{doc}");

    // finish refuses, and base does not move.
    let run = repo.planx(&["finish", "p"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(!run.stdout.contains("merged phase"), "{run}");
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);

    // review: not VERIFIED, and the record is named for what it is.
    let review = repo.planx(&["review", "p"]);
    assert!(!review.stdout.contains("**VERIFIED**"), "{review}");
    assert!(
        review
            .stdout
            .contains("**Records planx did not write** (not counted): a passing verify on `")
            && review.stdout.contains("(unsigned)"),
        "{review}"
    );
    let doc = repo.planx(&["review", "p", "--json"]).json();
    assert_eq!(
        doc["verification"]["uncounted"][0]["why"], "unsigned",
        "{doc}"
    );
    assert_eq!(doc["verification"]["uncounted"][0]["claims_passed"], true);

    // A merge by hand through the pre-merge-commit hook is refused.
    repo.git(&["switch", "-q", "main"]);
    let message = "Merge p\n\nPlanx-Plan: v\nPlanx-Phase: p\nPlanx-Status: complete";
    let merge = repo.run(
        repo.command("git", &repo.root)
            .args(["merge", "--no-ff", "-q", "-m", message, "planx/p"]),
    );
    assert_ne!(merge.code, 0, "{merge}");
    assert!(
        merge
            .stderr
            .contains("error: the planx pre-merge-commit hook refused this"),
        "{merge}"
    );
    repo.git(&["merge", "--abort"]);
    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);

    // Merged past the hook, the phase is not complete: what was merged lacks `new.txt`, and the
    // record does not count. Its dependent waits.
    repo.git(&[
        "merge",
        "--no-ff",
        "--no-verify",
        "-q",
        "-m",
        message,
        "planx/p",
    ]);
    let doc = repo.planx(&["status", "--json"]).json();
    assert_eq!(doc["phases"][0]["state"], "contradicted", "{doc}");
    assert_eq!(doc["phases"][1]["state"], "waiting", "{doc}");
    let findings = doc["phases"][0]["verify"]["contradicted"].to_string();
    assert!(findings.contains("new.txt"), "{doc}");
    assert!(
        doc["phases"][0]["verify"]["uncounted_record"]
            .as_str()
            .is_some_and(|w| w.starts_with("unsigned, on ")),
        "{doc}"
    );
    let status = repo.planx(&["status"]);
    assert!(
        status.stdout.contains("CONTRADICTED: p was merged by ")
            && status.stdout.contains("new.txt")
            && status.stdout.contains(
                "a record planx did not write claims its merged tree passed (unsigned, on "
            ),
        "{status}"
    );
    assert!(
        !status.stdout.contains("every phase is complete"),
        "{status}"
    );
    let report = repo.planx(&["report", "--json"]).json();
    assert!(report.to_string().contains("\"contradicted\""), "{report}");

    // The push of that base through the pre-push hook is refused.
    let remote = Repo::folder();
    remote.git(&["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", remote.root.to_str().unwrap()]);
    let push = repo.run(
        repo.command("git", &repo.root)
            .args(["push", "origin", "main"]),
    );
    assert_eq!(push.code, 1, "{push}");
    assert!(
        push.stderr
            .contains("`main` would carry the merge of phase `p`"),
        "{push}"
    );
    assert!(remote.git(&["for-each-ref"]).is_empty());
}

/// A verify record a real planx signed with a key nobody here trusts: shown with its signer,
/// counted once the plan on base declares the key (or counts unknown signers), never by a
/// phase branch declaring it for itself.
/// Phase `p` done and verified by a signer nobody here knows (another machine's key).
fn verified_by_an_unknown_signer() -> Repo {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    let other = "11".repeat(32);
    let run = repo.run(
        repo.command(crate::common::BIN, &repo.root)
            .args(["verify", "-q"])
            .env("PLANX_SIGNING_KEY", &other),
    );
    assert_eq!(run.code, 0, "{run}");
    repo
}

/// What status says of the verify of phase `p`'s tip.
fn verify_state(repo: &Repo) -> Option<String> {
    repo.planx(&["status", "--json"]).json()["phases"][0]["verify"]["state"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn a_record_by_an_unknown_signer_counts_only_as_the_plan_on_base_says() {
    let repo = verified_by_an_unknown_signer();
    assert_eq!(verify_state(&repo), None, "the record is no verify here");
    let signers = repo.planx(&["signers", "--json"]).json();
    let signed = &signers["records"]["signed"];
    let unknown: Vec<_> = signed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["standing"] == "unknown")
        .collect();
    assert_eq!(unknown.len(), 1, "{signers}");
    assert_eq!(unknown[0]["counted"], false);
    assert_eq!(unknown[0]["records"], 1);
    let key = unknown[0]["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ed25519:"));
    let text = repo.planx(&["signers"]);
    assert!(text.stdout.contains("unknown: not counted"), "{text}");
    let review = repo.planx(&["review", "p"]);
    assert!(
        review.stdout.contains(&format!("signed by {}", &key[..20]))
            && review.stdout.contains(", which says it is someone@"),
        "{review}"
    );

    // The phase branch declares the key for itself: nothing changes.
    let declared = format!("\n[evidence]\nsigners = {{ ci = \"{key}\" }}\n");
    let plan = repo.read(".planx/plan.toml");
    repo.write(".planx/plan.toml", format!("{plan}{declared}"));
    repo.git(&["commit", "-qam", "Trust my own key", "--no-verify"]);
    assert_eq!(verify_state(&repo), None);
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    assert_eq!(verify_state(&repo), None);

    // The plan on base declares it: the record counts.
    repo.git(&["switch", "-q", "main"]);
    repo.write(".planx/plan.toml", format!("{plan}{declared}"));
    repo.git(&["commit", "-qam", "Declare the CI's key"]);
    repo.git(&["switch", "-q", "planx/p"]);
    assert_eq!(verify_state(&repo), Some("passed".to_owned()));
    let signers = repo.planx(&["signers", "--json"]).json();
    assert_eq!(signers["declared"][0]["name"], "ci", "{signers}");

    // Or counts unknown signers.
    repo.git(&["switch", "-q", "main"]);
    repo.write(
        ".planx/plan.toml",
        format!("{plan}\n[evidence]\nunknown_signers = \"count\"\n"),
    );
    repo.git(&["commit", "-qam", "Count every signer"]);
    repo.git(&["switch", "-q", "planx/p"]);
    assert_eq!(verify_state(&repo), Some("passed".to_owned()));
}

/// A teammate's records count on this machine once their key is trusted here.
#[test]
fn a_teammates_key_trusted_here_makes_their_records_count() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    repo.do_phase_p();
    let teammate = Repo::with_commit();
    let key = teammate.signing_key();
    let secret = std::fs::read_to_string(
        teammate
            .root
            .parent()
            .unwrap()
            .join("home/.local/share/git-planx/signing-key"),
    )
    .unwrap();
    let secret = secret.lines().nth(1).unwrap().to_owned();
    let run = repo.run(
        repo.command(crate::common::BIN, &repo.root)
            .args(["verify", "-q"])
            .env("PLANX_SIGNING_KEY", &secret),
    );
    assert_eq!(run.code, 0, "{run}");
    let state = |repo: &Repo| {
        repo.planx(&["status", "--json"]).json()["phases"][0]["verify"]["state"].clone()
    };
    assert!(state(&repo).is_null());
    repo.trusts(&teammate, "ada");
    assert_eq!(state(&repo), "passed");
    let text = repo.planx(&["signers"]);
    assert!(text.stdout.contains("trusted here as ada"), "{text}");
    let run = repo.planx(&["signers", "untrust", &key]);
    assert_eq!(run.code, 0, "{run}");
    assert!(state(&repo).is_null());
}

#[test]
fn bad_signer_input_is_refused_with_a_hint() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let run = repo.planx(&["signers", "trust", "ed25519:xyz", "--name", "ci"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("error: `ed25519:xyz` is not a signer's key"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: a key reads `ed25519:` and 64 hex digits"),
        "{run}"
    );
    // A key in the plan that is not one is a plan error.
    let plan = repo.read(".planx/plan.toml");
    repo.write(
        ".planx/plan.toml",
        format!("{plan}\n[evidence]\nsigners = {{ ci = \"ssh-ed25519 AAAA\" }}\nunknown_signers = \"maybe\"\n"),
    );
    let check = repo.planx(&["check"]);
    assert_eq!(check.code, 1, "{check}");
    assert!(
        check.stdout.contains("signer `ci` has no ed25519 key")
            || check.stderr.contains("signer `ci` has no ed25519 key"),
        "{check}"
    );
    assert!(
        check.stdout.contains("is neither \"ignore\" nor \"count\"")
            || check.stderr.contains("is neither \"ignore\" nor \"count\""),
        "{check}"
    );
    // A signing key that cannot be read stops a write before anything is committed.
    repo.write(".planx/plan.toml", &plan);
    repo.write("new.txt", "hello\n");
    repo.git(&["add", "new.txt"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let run = repo.run(
        repo.command(crate::common::BIN, &repo.root)
            .args(["checkpoint", "-m", "Work"])
            .env("PLANX_SIGNING_KEY", "not a key"),
    );
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("error: cannot sign the record: PLANX_SIGNING_KEY is not a signing key"),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint: set PLANX_SIGNING_KEY to"),
        "{run}"
    );
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        head,
        "no commit without its record"
    );
}

/// The cache is no way in: a kept plan rewritten by hand to declare a key (under the digest and
/// blob id of base's plan, as an agent with write access to `.git` could) is not read, so the
/// records of that key still do not count.
#[test]
fn a_kept_plan_written_by_hand_declares_nobody() {
    let repo = verified_by_an_unknown_signer();
    assert_eq!(verify_state(&repo), None);
    let signers = repo.planx(&["signers", "--json"]).json();
    let key = signers["records"]["signed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["standing"] == "unknown")
        .expect("the unknown signer")["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // The work tree's plan declaring the key is validated and kept under its digest...
    let plan = repo.read(".planx/plan.toml");
    let declaring = format!("{plan}\n[evidence]\nsigners = {{ ci = \"{key}\" }}\n");
    repo.write(".planx/plan.toml", &declaring);
    let run = repo.planx(&["status", "-q"]);
    assert_eq!(run.code, 0, "{run}");
    let digest = |path: &str| {
        let out = std::process::Command::new("sha256sum")
            .arg(path)
            .output()
            .expect("run sha256sum");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let declaring_digest = digest(&repo.path(".planx/plan.toml").to_string_lossy());
    let declaring_blob = repo.git(&["hash-object", ".planx/plan.toml"]);
    repo.git(&["checkout", "--", ".planx/plan.toml"]);
    let base_digest = digest(&repo.path(".planx/plan.toml").to_string_lossy());
    let base_blob = repo.git(&["rev-parse", "main:.planx/plan.toml"]);
    let folder = std::fs::read_dir(repo.path(".git/planx/cache"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("plans-"))
        .expect("the plans folder")
        .path();
    let kept = std::fs::read(folder.join(format!("{declaring_digest}.bin"))).unwrap();

    // ...then rewritten as if it were base's plan: its key and blob id replaced, byte for byte.
    let replace = |bytes: &[u8], from: &str, to: &str| -> Vec<u8> {
        let at = bytes
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .expect("the text in the kept file");
        [&bytes[..at], to.as_bytes(), &bytes[at + from.len()..]].concat()
    };
    let forged = replace(&kept, &declaring_digest, &base_digest);
    let forged = replace(&forged, declaring_blob.trim(), base_blob.trim());
    std::fs::write(folder.join(format!("{base_digest}.bin")), forged).unwrap();
    assert_eq!(verify_state(&repo), None, "the forged plan is not read");
    let signers = repo.planx(&["signers", "--json"]).json();
    assert_eq!(signers["declared"], serde_json::json!([]), "{signers}");
}

/// A signing key that cannot be read is said by the commands that only read: without it, the
/// records this machine signed are not its own, and nothing is kept.
#[test]
fn status_says_when_this_machines_signing_key_cannot_be_read() {
    let repo = Repo::verifying(&VERIFY_PLAN);
    let status = |args: &[&str]| {
        repo.run(
            repo.command(crate::common::BIN, &repo.root)
                .args(args)
                .env("PLANX_SIGNING_KEY", "not a key"),
        )
    };
    let run = status(&["status"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains(
            "warning: PLANX_SIGNING_KEY is not a signing key (64 hex digits): records signed with this machine's key are not recognised here"
        ),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("set PLANX_SIGNING_KEY to 64 hex digits"),
        "{run}"
    );
    let json = status(&["status", "--json"]).json();
    assert!(
        json["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("PLANX_SIGNING_KEY is not a signing key")),
        "{json}"
    );
    assert!(!repo.planx(&["status"]).stderr.contains("signing key"));
}
