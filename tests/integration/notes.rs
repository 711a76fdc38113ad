//! Notes written by planx: fanned out as git does, read back by git as its own, merged by
//! union across machines.

use std::collections::HashSet;

use git_planx::git::{Oid, Repo as GitRepo};

use crate::common::Repo;

/// `count` empty commits on branch `many`, made quickly with `git fast-import`.
fn many_commits(repo: &Repo, count: usize) -> Vec<String> {
    let mut script = String::new();
    for i in 1..=count {
        script.push_str(&format!(
            "commit refs/heads/many\nmark :{i}\ncommitter A <a@x> {} +0000\ndata 0\n\n",
            1_700_000_000 + i
        ));
    }
    let mut cmd = repo.command("git", &repo.root);
    cmd.args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    repo.git(&["rev-list", "many"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn notes_fan_out_like_gits_and_git_reads_every_one() {
    let repo = Repo::new();
    let commits = many_commits(&repo, 700);
    let lib = GitRepo::open(&repo.root).unwrap();
    for (i, c) in commits.iter().enumerate() {
        lib.append_note_line(Oid::from_str(c).unwrap(), &format!(r#"{{"n":{i}}}"#))
            .unwrap();
    }
    // A second event on some commits appends a line.
    lib.append_note_line(Oid::from_str(&commits[0]).unwrap(), r#"{"n":"again"}"#)
        .unwrap();
    let listed: HashSet<String> = repo
        .git(&["notes", "--ref", "planx", "list"])
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 700);
    assert_eq!(repo.note(&commits[0]), "{\"n\":0}\n{\"n\":\"again\"}\n");
    assert_eq!(repo.note(&commits[350]), "{\"n\":350}\n");
    // The top of the notes tree is fanned out into two-character folders.
    let top = repo.git(&["ls-tree", "refs/notes/planx"]);
    assert!(top.lines().count() <= 256, "{top}");
    assert!(
        top.lines()
            .all(|l| l.contains(" tree ") && l.ends_with(|c: char| c.is_ascii_hexdigit()))
    );
    assert!(
        top.lines()
            .all(|l| l.rsplit('\t').next().unwrap().len() == 2),
        "{top}"
    );
    // And planx reads the notes git writes (also flat ones).
    repo.git(&[
        "notes",
        "--ref",
        "planx",
        "add",
        "-f",
        "-m",
        r#"{"by":"git"}"#,
        &commits[1],
    ]);
    let snapshot = lib.notes().unwrap();
    assert_eq!(
        snapshot
            .get(Oid::from_str(&commits[1]).unwrap())
            .unwrap()
            .as_deref(),
        Some("{\"by\":\"git\"}\n")
    );
    // Every note reads back the same through folders read ahead on another thread.
    let tree = lib.notes_tree().unwrap().unwrap();
    let git_dir = lib.git_dir().to_path_buf();
    let folders =
        std::thread::spawn(move || git_planx::git::notes::read_folders(&git_dir, tree).unwrap())
            .join()
            .unwrap();
    assert!(!folders.is_empty());
    let ahead = lib.notes().unwrap().with_folders(folders);
    for c in commits.iter().step_by(7).chain([&commits[1]]) {
        let id = Oid::from_str(c).unwrap();
        let expected = repo.note(c);
        assert_eq!(
            snapshot.get(id).unwrap().as_deref(),
            Some(expected.as_str())
        );
        assert_eq!(ahead.get(id).unwrap().as_deref(), Some(expected.as_str()));
    }
    let unnoted = Oid::from_str("00000000000000000000000000000000000000aa").unwrap();
    assert_eq!(ahead.get(unnoted).unwrap(), None);
}

#[test]
fn notes_from_two_machines_merge_by_union_of_lines() {
    let origin = Repo::with_commit();
    origin.planx(&["init", "-q"]);
    let head = origin.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let lib = GitRepo::open(&origin.root).unwrap();
    lib.append_note_line(
        Oid::from_str(&head).unwrap(),
        r#"{"ts":"1","who":"origin"}"#,
    )
    .unwrap();
    // A clone adds its own event to the same commit.
    let clone = Repo::folder();
    clone.git(&["clone", "-q", origin.root.to_str().unwrap(), "."]);
    clone.git(&["fetch", "-q", "origin", "refs/notes/planx:refs/notes/planx"]);
    let lib2 = GitRepo::open(&clone.root).unwrap();
    lib2.append_note_line(Oid::from_str(&head).unwrap(), r#"{"ts":"2","who":"clone"}"#)
        .unwrap();
    lib.append_note_line(
        Oid::from_str(&head).unwrap(),
        r#"{"ts":"3","who":"origin again"}"#,
    )
    .unwrap();
    // Merge the origin's notes into the clone's with the strategy `init` configures.
    clone.git(&[
        "fetch",
        "-q",
        "origin",
        "refs/notes/planx:refs/notes/origin-planx",
    ]);
    clone.git(&[
        "notes",
        "--ref",
        "planx",
        "merge",
        "-s",
        "cat_sort_uniq",
        "refs/notes/origin-planx",
    ]);
    let merged = clone.note(&head);
    for who in ["origin", "clone", "origin again"] {
        assert!(merged.contains(&format!("\"who\":\"{who}\"")), "{merged}");
    }
    assert_eq!(merged.lines().count(), 3, "{merged}");
}
