//! The manifest rules of SPEC §4, applied to a change set. Each finding names the path and the
//! manifest entry concerned.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path};

use serde::Serialize;

use super::judging::Judged;
use crate::git::changes::{Change, ChangeKind, EntryType};
use crate::git::{GitError, Repo};
use crate::plan::{EntryKind, Glob, Manifest, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One thing verification found wrong (or worth a warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Stable name of the rule.
    pub code: &'static str,
    pub message: String,
    /// The path concerned, quoted as git quotes it.
    pub path: Option<String>,
    /// The manifest entry concerned: its list and pattern.
    pub entry: Option<(EntryKind, String)>,
}

/// A changed path and how the manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub path: String,
    pub change: ChangeKind,
    /// The first entry covering it, in the order create, modify, delete, allow, after_verify.
    pub declared: Option<(EntryKind, String)>,
    pub mode_only: bool,
    pub entry_type: Option<EntryType>,
}

/// Applies the rules. `exists_at_fork` answers whether a (UTF-8) path existed at the fork
/// point; `present_now` lists paths in the work tree for `delete` patterns.
pub fn judge(
    manifest: &Manifest,
    changes: &[Change],
    strict: bool,
    exists_at_fork: &dyn Fn(&str) -> bool,
    present_now: &dyn Fn(&Glob) -> Vec<String>,
) -> (Vec<Row>, Vec<Finding>) {
    let mut findings = Vec::new();
    let rows: Vec<Row> = changes
        .iter()
        .map(|c| Row {
            path: c.path_display(),
            change: c.kind,
            declared: manifest
                .all()
                .find(|(_, e)| e.pattern.matches(&c.path_lossy()))
                .map(|(k, e)| (k, e.pattern.to_string())),
            mode_only: c.mode_only(),
            entry_type: c.new.or(c.old),
        })
        .collect();

    for entry in &manifest.create {
        let matching: Vec<&Change> = changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Deleted && entry.pattern.matches(&c.path_lossy()))
            .collect();
        let good = matching
            .iter()
            .any(|c| c.kind == ChangeKind::Added && c.size.is_some_and(|s| s > 0));
        if good {
            continue;
        }
        let entry_ref = Some((EntryKind::Create, entry.pattern.to_string()));
        let (code, message, path) =
            if let Some(empty) = matching.iter().find(|c| c.kind == ChangeKind::Added) {
                (
                    "create-empty",
                    format!("{} exists but is empty", empty.path_display()),
                    Some(empty.path_display()),
                )
            } else if let Some(old) = matching.first() {
                (
                    "create-existed",
                    format!(
                        "{} existed before the fork point: it is modified, not created",
                        old.path_display()
                    ),
                    Some(old.path_display()),
                )
            } else if entry.pattern.is_literal() && exists_at_fork(entry.pattern.as_str()) {
                (
                    "create-existed",
                    format!(
                        "{} existed before the fork point and did not change",
                        entry.pattern
                    ),
                    Some(entry.pattern.to_string()),
                )
            } else {
                (
                    "create-missing",
                    format!("nothing was created for `{}`", entry.pattern),
                    None,
                )
            };
        findings.push(Finding {
            level: Level::Error,
            code,
            message,
            path,
            entry: entry_ref,
        });
    }

    for entry in &manifest.modify {
        let changed = changes
            .iter()
            .any(|c| c.kind != ChangeKind::Added && entry.pattern.matches(&c.path_lossy()));
        if !changed {
            let exists = !entry.pattern.is_literal() || exists_at_fork(entry.pattern.as_str());
            findings.push(Finding {
                level: Level::Error,
                code: "modify-unchanged",
                message: if exists {
                    format!("nothing changed in `{}`", entry.pattern)
                } else {
                    format!(
                        "`{}` did not exist at the fork point, so it cannot be modified",
                        entry.pattern
                    )
                },
                path: entry
                    .pattern
                    .is_literal()
                    .then(|| entry.pattern.to_string()),
                entry: Some((EntryKind::Modify, entry.pattern.to_string())),
            });
        }
    }

    for entry in &manifest.delete {
        for path in present_now(&entry.pattern) {
            findings.push(Finding {
                level: Level::Error,
                code: "delete-present",
                message: format!("{path} should be deleted but is still there"),
                path: Some(path),
                entry: Some((EntryKind::Delete, entry.pattern.to_string())),
            });
        }
    }

    for (change, row) in changes.iter().zip(&rows) {
        if row.declared.is_none() {
            findings.push(Finding {
                level: if strict { Level::Error } else { Level::Warning },
                code: "undeclared-change",
                message: format!(
                    "{} was {} but the manifest does not declare it",
                    row.path,
                    change.kind.as_str()
                ),
                path: Some(row.path.clone()),
                entry: None,
            });
        }
        if let Some(target) = &change.link_target
            && escapes(&change.path, target)
        {
            findings.push(Finding {
                level: Level::Error,
                code: "symlink-outside",
                message: format!(
                    "{} is a symlink to {}, outside the repository",
                    row.path,
                    target.display()
                ),
                path: Some(row.path.clone()),
                entry: row.declared.clone(),
            });
        }
    }
    (rows, findings)
}

/// Does a symlink at `link` (repo-relative) pointing at `target` leave the repository?
pub fn escapes(link: &[u8], target: &Path) -> bool {
    if target.is_absolute() {
        return true;
    }
    let depth = crate::git::path::bytes_path(link)
        .components()
        .count()
        .saturating_sub(1);
    let mut level = depth as isize;
    for component in target.components() {
        match component {
            Component::ParentDir => level -= 1,
            Component::Normal(_) => level += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if level < 0 {
            return true;
        }
    }
    false
}

/// An edit of the plan file on the phase branch: shown first in every report.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEdit {
    pub path: String,
    pub declared: Option<(EntryKind, String)>,
}

/// What the manifest says about a change set.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub rows: Vec<Row>,
    /// An edit of the plan file comes first.
    pub findings: Vec<Finding>,
    pub plan_edit: Option<PlanEdit>,
}

/// Judges `changes` (every path that differs from the fork point of `judged`) by `phase`'s
/// manifest in the judging plan; `phase` is `judged`'s, as the caller looked it up. An edit of
/// the plan file is read from `changes`, so that `verify` sees the work tree's too. The rule on
/// the branch's history, [`after_verify_findings`], is apart.
pub fn judge_changes(
    repo: &Repo,
    judged: &Judged<'_>,
    phase: &Phase,
    changes: &[Change],
) -> Result<Judgement, GitError> {
    judge_changes_at(
        repo,
        &judged.plan,
        judged.plan_path,
        judged.fork,
        phase,
        changes,
    )
}

/// [`judge_changes`] for a change set from `fork`, judged by `judging` (whose phase `phase` is).
pub fn judge_changes_at(
    repo: &Repo,
    judging: &crate::plan::Plan,
    plan_path: &str,
    fork: crate::git::Oid,
    phase: &Phase,
    changes: &[Change],
) -> Result<Judgement, GitError> {
    // What the rules ask of the fork point's tree, looked up for the entries that ask: whether
    // a literal `create` or `modify` path existed, and which paths a `delete` pattern matched
    // (listed under the folder the pattern names, not the whole tree).
    let mut existed: HashSet<&str> = HashSet::new();
    for entry in phase.files.create.iter().chain(&phase.files.modify) {
        if entry.pattern.is_literal() && repo.file_exists_at(fork, entry.pattern.as_str())? {
            existed.insert(entry.pattern.as_str());
        }
    }
    let mut fork_paths: HashMap<&str, Vec<String>> = HashMap::new();
    for entry in &phase.files.delete {
        let folder = entry.pattern.folder();
        if !fork_paths.contains_key(folder) {
            fork_paths.insert(folder, repo.tree_paths_under(fork, folder)?);
        }
    }
    let changed: HashMap<String, ChangeKind> =
        changes.iter().map(|c| (c.path_lossy(), c.kind)).collect();
    let exists_at_fork = |path: &str| existed.contains(path);
    let present_now = |pattern: &crate::plan::Glob| -> Vec<String> {
        let mut present: Vec<String> = fork_paths
            .get(pattern.folder())
            .into_iter()
            .flatten()
            .filter(|p| changed.get(*p) != Some(&ChangeKind::Deleted) && pattern.matches(p))
            .cloned()
            .collect();
        present.extend(
            changed
                .iter()
                .filter(|(p, k)| **k == ChangeKind::Added && pattern.matches(p))
                .map(|(p, _)| p.clone()),
        );
        present.sort();
        present
    };
    let (rows, mut findings) = judge(
        &phase.files,
        changes,
        judging.strict,
        &exists_at_fork,
        &present_now,
    );

    let plan_edit = changes
        .iter()
        .find(|c| c.path == plan_path.as_bytes())
        .map(|c| PlanEdit {
            path: c.path_display(),
            declared: rows
                .iter()
                .find(|r| r.path == c.path_display())
                .and_then(|r| r.declared.clone()),
        });

    // An undeclared edit of the plan file is an error whatever `strict` says (SPEC §4), on top
    // of the rule every undeclared path is judged by.
    if let Some(edit) = plan_edit.as_ref().filter(|e| e.declared.is_none()) {
        let message = format!(
            "the plan file {} was edited on this branch but the manifest does not declare it",
            edit.path
        );
        let finding = Finding {
            level: Level::Error,
            code: "plan-edit-undeclared",
            message,
            path: Some(edit.path.clone()),
            entry: None,
        };
        findings.insert(0, finding);
    }
    // An edit of the plan file is shown first.
    if let Some(edit) = &plan_edit {
        findings.sort_by_key(|f| f.path.as_ref() != Some(&edit.path));
    }
    Ok(Judgement {
        rows,
        findings,
        plan_edit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_that_leave_the_repository() {
        assert!(escapes(b"a/link", Path::new("/etc/passwd")));
        assert!(escapes(b"link", Path::new("../outside")));
        assert!(escapes(b"a/b/link", Path::new("../../../x")));
        assert!(!escapes(b"a/b/link", Path::new("../../x")));
        assert!(!escapes(b"a/link", Path::new("sibling")));
        assert!(escapes(b"a/link", Path::new("x/../../..")));
    }
}
