//! What the next commit changes, read in-process from the index (`git::index`), against what
//! `git diff --cached` says of the same repository, in every shape of index git writes; and
//! the indexes only git reads, left to it.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::Repo;

/// `<status> <path> <staged id or ->` per staged path, from git.
fn by_git(repo: &Repo) -> String {
    let raw = repo.git(&["diff", "--cached", "--raw", "--no-abbrev", "--no-renames"]);
    raw.lines()
        .map(|line| {
            let (meta, path) = line.split_once('\t').expect("a raw diff line");
            let fields: Vec<&str> = meta.split(' ').collect();
            let id = fields[3].trim_start_matches('0');
            let id = if id.is_empty() { "-" } else { fields[3] };
            format!("{} {path} {id}\n", fields[4])
        })
        .collect()
}

fn lines(staged: &[git_planx::git::cli::StagedPath]) -> String {
    staged
        .iter()
        .map(|s| {
            let id = s.blob.map_or("-".to_owned(), |b| b.to_string());
            format!("{} {} {id}\n", s.status, String::from_utf8_lossy(&s.path))
        })
        .collect()
}

/// The in-process answer, `None` when the index is left to git.
fn in_process(repo: &Repo) -> Option<String> {
    let opened = git_planx::git::Repo::open(&repo.root).expect("open");
    opened
        .staged_in_process(&repo.root)
        .expect("read the index")
        .map(|staged| lines(&staged))
}

/// What the hook reads, whichever way it reads it.
fn staged(repo: &Repo) -> String {
    let opened = git_planx::git::Repo::open(&repo.root).expect("open");
    lines(&opened.staged(&repo.root).expect("staged"))
}

/// The in-process answer is git's, and it was answered in-process.
fn agrees(repo: &Repo, what: &str) -> String {
    let git = by_git(repo);
    assert_eq!(in_process(repo).as_deref(), Some(git.as_str()), "{what}");
    git
}

/// A history of nested folders, committed.
fn project() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "# demo\n");
    repo.write("a.txt", "a\n");
    repo.write("src/lib.rs", "lib\n");
    repo.write("src/deep/er/mod.rs", "mod\n");
    repo.write("src/deep/er/other.rs", "other\n");
    repo.write("src.rs", "sorts between src and src/\n");
    repo.write("tools/run.sh", "#!/bin/sh\n");
    repo.write("swap/inner.txt", "was a folder\n");
    repo.write("link-me.txt", "a file, then a link\n");
    for i in 0..30 {
        repo.write(&format!("many/f{i:02}.txt"), format!("{i}\n"));
    }
    repo.commit_all("Project");
    repo
}

/// Every kind of change a commit can carry, staged.
fn stage_every_kind(repo: &Repo) {
    repo.write("src/deep/er/mod.rs", "changed\n");
    repo.write("src/deep/new/added.rs", "added\n");
    repo.write("src.rs", "changed too\n");
    repo.git(&["rm", "-q", "a.txt"]);
    fs::set_permissions(repo.path("tools/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    // A folder becomes a file, a file becomes a link.
    repo.git(&["rm", "-q", "-r", "swap"]);
    repo.write("swap", "now a file\n");
    fs::remove_file(repo.path("link-me.txt")).unwrap();
    std::os::unix::fs::symlink("README.md", repo.path("link-me.txt")).unwrap();
    repo.git(&["add", "-A"]);
}

#[test]
fn every_kind_of_change_reads_as_git_reads_it() {
    let repo = project();
    assert_eq!(agrees(&repo, "nothing staged"), "");
    stage_every_kind(&repo);
    let git = agrees(&repo, "every kind");
    let statuses: Vec<&str> = git.lines().map(|l| &l[..l.find(' ').unwrap()]).collect();
    for status in ["A", "D", "M", "T"] {
        assert!(statuses.contains(&status), "{status} in\n{git}");
    }
    assert!(git.contains("M tools/run.sh "), "a mode change:\n{git}");
    assert!(git.contains("T link-me.txt "), "a type change:\n{git}");
    assert!(git.contains("D swap/inner.txt -"), "{git}");
    assert!(git.contains("A swap "), "{git}");
}

#[test]
fn an_unborn_branch_stages_every_file_as_added() {
    let repo = Repo::new();
    repo.write("README.md", "# demo\n");
    repo.write("src/main.rs", "fn main() {}\n");
    repo.git(&["add", "-A"]);
    let git = agrees(&repo, "unborn");
    assert_eq!(git.lines().count(), 2, "{git}");
    assert!(git.lines().all(|l| l.starts_with("A ")), "{git}");
}

#[test]
fn version_4_and_a_forgotten_cache_tree_read_the_same() {
    let repo = project();
    stage_every_kind(&repo);
    let expected = by_git(&repo);
    repo.git(&["update-index", "--index-version", "4"]);
    assert_eq!(agrees(&repo, "version 4"), expected);
    repo.git(&["update-index", "--index-version", "3"]);
    assert_eq!(agrees(&repo, "version 3"), expected);
    repo.git(&["update-index", "--index-version", "2"]);
    // Every path removed and added again: git forgets every folder's tree id, and the
    // comparison reads the whole tree.
    repo.git(&["rm", "-q", "-r", "--cached", "."]);
    repo.git(&["add", "-A"]);
    assert_eq!(agrees(&repo, "no cache tree"), expected);
    // Committed, then nothing staged: the cache tree is whole again.
    repo.git(&["commit", "-q", "-m", "Everything"]);
    assert_eq!(agrees(&repo, "committed"), "");
}

#[test]
fn an_unresolved_conflict_is_unmerged() {
    let repo = project();
    repo.git(&["switch", "-q", "-c", "side"]);
    repo.write("src/lib.rs", "side\n");
    repo.commit_all("Side");
    repo.git(&["switch", "-q", "main"]);
    repo.write("src/lib.rs", "main\n");
    repo.write("many/f03.txt", "main too\n");
    repo.commit_all("Main");
    let run = repo.run(
        repo.command("git", &repo.root)
            .args(["merge", "-q", "side"]),
    );
    assert_ne!(run.code, 0, "a conflict: {run}");
    let git = agrees(&repo, "conflict");
    assert_eq!(git, "U src/lib.rs -\n");
}

#[test]
fn indexes_only_git_reads_are_left_to_it() {
    // `git add -N`: an entry that is not content yet.
    let repo = project();
    repo.write("later.txt", "intent\n");
    repo.git(&["add", "-N", "later.txt"]);
    repo.write("src/lib.rs", "changed\n");
    repo.git(&["add", "src/lib.rs"]);
    assert_eq!(in_process(&repo), None, "intent to add");
    assert_eq!(staged(&repo), by_git(&repo));

    // A split index: the entries live in a shared file.
    let repo = project();
    stage_every_kind(&repo);
    repo.git(&["update-index", "--split-index"]);
    repo.write("many/f01.txt", "after the split\n");
    repo.git(&["add", "many/f01.txt"]);
    assert_eq!(in_process(&repo), None, "split index");
    assert_eq!(staged(&repo), by_git(&repo));
    assert!(staged(&repo).contains("M many/f01.txt "));

    // A sparse index: a folder outside the cone is one entry.
    let repo = project();
    repo.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "src"]);
    repo.write("src/lib.rs", "sparse\n");
    repo.git(&["add", "src/lib.rs"]);
    assert_eq!(in_process(&repo), None, "sparse index");
    assert_eq!(staged(&repo), by_git(&repo));

    // A submodule moved to another commit: git's submodule settings decide.
    let repo = project();
    let sub = Repo::with_commit();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &sub.root.to_string_lossy(),
        "sub",
    ]);
    repo.git(&["commit", "-q", "-m", "Submodule"]);
    sub.write("more.txt", "more\n");
    sub.commit_all("More");
    let inner = repo.path("sub");
    let run = repo.run(repo.command("git", &inner).args(["pull", "-q"]));
    assert_eq!(run.code, 0, "{run}");
    repo.git(&["add", "sub"]);
    assert_eq!(in_process(&repo), None, "submodule");
    assert_eq!(staged(&repo), by_git(&repo));
    assert!(staged(&repo).starts_with("M sub "));

    // A file that is not an index.
    let repo = project();
    fs::write(repo.path(".git/index"), "not an index").unwrap();
    assert_eq!(in_process(&repo), None, "garbage");
}
