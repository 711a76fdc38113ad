//! `git planx check`: every rule of SPEC §1, the file-level refusals, and the JSON report.

use std::fs;

use insta::assert_snapshot;

use crate::common::{Repo, SMALL_PLAN};

/// Every plan in tests/corpus/bad: its full report (file snapshots under snapshots/).
#[test]
fn corpus_of_bad_plans() {
    insta::glob!("../corpus/bad", "*.toml", |path| {
        let repo = Repo::new();
        repo.write_plan(&fs::read_to_string(path).expect("corpus file"));
        let run = repo.planx(&["check"]);
        let name = path.file_stem().unwrap().to_string_lossy();
        let has_errors = run.stdout.contains("error: ");
        assert_eq!(run.code, if has_errors { 1 } else { 0 }, "{name}: {run}");
        assert_snapshot!(run.to_string());
    });
}

/// Every plan in tests/corpus/good passes without errors.
#[test]
fn corpus_of_good_plans() {
    insta::glob!("../corpus/good", "*.toml", |path| {
        let repo = Repo::new();
        repo.write_plan(&fs::read_to_string(path).expect("corpus file"));
        let run = repo.planx(&["check", "--json"]);
        assert_eq!(run.code, 0, "{}: {run}", path.display());
        assert_eq!(run.json()["errors"], 0);
    });
}

#[test]
fn a_valid_plan_passes() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN);
    assert_snapshot!(repo.planx(&["check"]), @r"
    ok .planx/plan.toml: plan `demo` is valid: 3 phases, 2 parallel groups (0 warnings)
    --- stderr ---
    [exit status: 0]
    ");
}

#[test]
fn json_report_has_a_schema_and_every_diagnostic() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN.replace(r#"depends_on = ["a"]"#, r#"depends_on = ["x"]"#));
    let run = repo.planx(&["check", "--json"]);
    assert_eq!(run.code, 1);
    let doc = run.json();
    assert_eq!(doc["schema"], "planx.check/1");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"], 2);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "unknown-dependency");
    assert_eq!(first["file"], ".planx/plan.toml");
    assert_eq!(first["line"], 27);
    assert_eq!(first["column"], 15);
    assert_eq!(first["hint"], "known phases are a, b, c");
}

#[test]
fn missing_plan_is_a_usage_error() {
    let repo = Repo::new();
    assert_snapshot!(repo.planx(&["check"]), @r"
    --- stderr ---
    error: no plan at .planx/plan.toml
    hint: create one with `git planx init`, or name another file with --plan PATH
    [exit status: 2]
    ");
}

#[test]
fn a_directory_is_not_a_plan() {
    let repo = Repo::new();
    fs::create_dir_all(repo.path(".planx/plan.toml")).unwrap();
    assert_snapshot!(repo.planx(&["check"]), @r"
    --- stderr ---
    error: .planx/plan.toml is a directory, not a plan file
    hint: pass the plan file itself with --plan PATH
    [exit status: 2]
    ");
}

#[test]
fn a_plan_over_one_mebibyte_is_refused_unread() {
    let repo = Repo::new();
    let mut text = SMALL_PLAN.to_string();
    text.push_str(&format!("# {}\n", "x".repeat(1024 * 1024)));
    repo.write_plan(&text);
    assert_snapshot!(repo.planx(&["check"]), @"
    --- stderr ---
    error: .planx/plan.toml is 1049223 bytes; a plan may be at most 1 MiB
    hint: a plan holds prose and lists; keep large data in files the plan names
    [exit status: 2]
    ");
}

#[test]
fn an_unreadable_plan_is_a_usage_error() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN);
    let path = repo.path(".planx/plan.toml");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&path).is_ok() {
        // Running as root: permissions do not apply. Point at something unreadable instead.
        let run = repo.planx(&["check", "--plan", "/proc/self/mem"]);
        assert_eq!(run.code, 2, "{run}");
        return;
    }
    let run = repo.planx(&["check"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("cannot read .planx/plan.toml"), "{run}");
}

#[test]
fn a_plan_that_is_not_utf8_is_an_error_with_its_position() {
    let repo = Repo::new();
    let mut bytes = SMALL_PLAN.as_bytes().to_vec();
    let at = SMALL_PLAN.find("Demo plan").unwrap();
    bytes[at] = 0xff;
    repo.write(".planx/plan.toml", bytes);
    assert_snapshot!(repo.planx(&["check"]), @r#"
    error: the plan is not valid UTF-8
     --> .planx/plan.toml:5:10
      |
    5 | title = "�emo plan"
      |          ^
    hint: save the file as UTF-8; TOML files must be UTF-8

    invalid .planx/plan.toml: 1 error, 0 warnings
    --- stderr ---
    [exit status: 1]
    "#);
}

#[test]
fn a_byte_order_mark_and_crlf_line_endings_just_work() {
    let repo = Repo::new();
    let text = format!("\u{feff}{}", SMALL_PLAN.replace('\n', "\r\n"));
    repo.write_plan(&text);
    let run = repo.planx(&["check"]);
    assert_eq!(run.code, 0, "{run}");
    // Positions stay right: a problem is reported on its line and column.
    repo.write_plan(&text.replace(r#"depends_on = ["a"]"#, r#"depends_on = ["x"]"#));
    assert_snapshot!(repo.planx(&["check", "-q"]), @r#"
    error: phase `b` depends on unknown phase `x`
      --> .planx/plan.toml:27:15
       |
    27 | depends_on = ["x"]
       |               ^^^
    hint: known phases are a, b, c

    error: phase `c` depends on unknown phase `x`
      --> .planx/plan.toml:40:15
       |
    40 | depends_on = ["x"]
       |               ^^^
    hint: known phases are a, b, c

    invalid .planx/plan.toml: 2 errors, 0 warnings
    --- stderr ---
    [exit status: 1]
    "#);
}

#[test]
fn manifest_paths_through_a_symlink_are_refused() {
    let repo = Repo::new();
    std::os::unix::fs::symlink("/tmp", repo.path("vendor")).unwrap();
    repo.git(&["add", "vendor"]);
    repo.write_plan(&SMALL_PLAN.replace(
        r#"create = ["src/a.txt"]"#,
        r#"create = ["vendor/lib/*.c"]"#,
    ));
    assert_snapshot!(repo.planx(&["check", "-q"]), @r#"
    error: manifest path `vendor/lib/*.c` goes through the symlink `vendor`, which may leave the repository
      --> .planx/plan.toml:18:13
       |
    18 |   create = ["vendor/lib/*.c"]
       |             ^^^^^^^^^^^^^^^^
    hint: name the files where they really are, or the symlink itself

    invalid .planx/plan.toml: 1 error, 0 warnings
    --- stderr ---
    [exit status: 1]
    "#);
}

#[test]
fn a_committed_plan_through_a_symlink_is_refused_by_every_command() {
    let repo = Repo::new();
    std::os::unix::fs::symlink("/tmp", repo.path("vendor")).unwrap();
    repo.write_plan(&SMALL_PLAN.replace(
        r#"create = ["src/a.txt"]"#,
        r#"create = ["vendor/lib/*.c"]"#,
    ));
    repo.commit_all("A plan whose manifest leaves the repository");
    for args in [
        &["status"][..],
        &["start", "a"],
        &["verify", "a"],
        &["next"],
    ] {
        let run = repo.planx(args);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(
            run.stderr.contains("goes through the symlink `vendor`"),
            "{args:?}: {run}"
        );
    }
    assert_snapshot!(repo.planx(&["status"]).stderr, @r#"
    error: manifest path `vendor/lib/*.c` goes through the symlink `vendor`, which may leave the repository
      --> .planx/plan.toml:18:13
       |
    18 |   create = ["vendor/lib/*.c"]
       |             ^^^^^^^^^^^^^^^^
    hint: name the files where they really are, or the symlink itself

    error: .planx/plan.toml is not a valid plan (1 error)
    hint: fix the errors above; `git planx check` lists every problem
    "#);
}

#[test]
fn a_symlink_committed_under_a_plan_already_judged_is_refused() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN.replace(
        r#"create = ["src/a.txt"]"#,
        r#"create = ["vendor/lib/*.c"]"#,
    ));
    repo.commit_all("A plan");
    // Judged (and what was judged of that tree kept), then the same bytes in another tree.
    assert_eq!(repo.planx(&["status"]).code, 0);
    assert_eq!(repo.planx(&["status"]).code, 0);
    std::os::unix::fs::symlink("/tmp", repo.path("vendor")).unwrap();
    repo.commit_all("A symlink where the manifest points");
    // Base's plan is now invalid: status says so (and lists the phases by the last valid one).
    let run = repo.planx(&["status"]);
    assert!(run.stderr.contains("is not valid (1 error)"), "{run}");
    assert!(
        run.stderr.contains("goes through the symlink `vendor`"),
        "{run}"
    );
}

#[test]
fn works_from_a_subdirectory_and_with_an_explicit_plan() {
    let repo = Repo::new();
    repo.write_plan(&SMALL_PLAN);
    fs::create_dir_all(repo.path("deep/down")).unwrap();
    let run = repo.planx_in(&repo.path("deep/down"), &["check", "-q"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run}");
    repo.write(
        "other.toml",
        SMALL_PLAN.replace("id = \"demo\"", "id = \"other\""),
    );
    let run = repo.planx_in(&repo.path("deep"), &["check", "--plan", "../other.toml"]);
    assert!(run.stdout.contains("plan `other` is valid"), "{run}");
}

#[test]
fn outside_a_repository_an_explicit_plan_still_checks() {
    let dir = Repo::folder();
    dir.write("plan.toml", SMALL_PLAN.as_str());
    let run = dir.planx(&["check", "--plan", "plan.toml"]);
    assert_eq!(run.code, 0, "{run}");
    assert_snapshot!(dir.planx(&["check"]), @r"
    --- stderr ---
    error: not a git repository (or any parent folder): $REPO
    hint: run git planx inside a git repository, or create one with `git init`
    [exit status: 2]
    ");
}
