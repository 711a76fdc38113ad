//! What most commands need before they can do anything: the repository, the plan's path inside
//! it, and the plan as committed on its base branch — the plan phases start from and are judged
//! by, not an uncommitted edit in this work tree.

use std::path::Path;

use super::GlobalArgs;
use crate::error::CliError;
use crate::git::{Oid, Repo};
use crate::plan::{self, Plan};
use crate::state::judging::{Subject, plan_at, refuse_symlink_paths};
use crate::trust::TrustPolicy;

/// Where the plan came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Committed on base, at this commit.
    Base(Oid),
    /// The work tree's file: base does not have the plan yet.
    WorkTree,
}

pub struct Context {
    pub repo: Repo,
    /// The plan's path from the top of the work tree, `/`-separated.
    pub plan_path: String,
    pub plan: Plan,
    pub origin: Origin,
    /// Base's plan at its tip does not validate; `plan` is its last valid version.
    pub base_plan_invalid: Option<InvalidBasePlan>,
}

/// How strictly the plan must come from base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The plan must be committed on base (commands that write).
    Base,
    /// Base's plan when there is one, else the work tree's (commands that only report).
    BaseOrWorkTree,
}

impl Context {
    /// The plan in this repository, as the domain functions take it.
    pub fn subject(&self) -> Subject<'_> {
        Subject::new(&self.repo, &self.plan, &self.plan_path)
    }

    pub fn open(global: &GlobalArgs, need: Need) -> Result<Context, CliError> {
        let repo = Repo::discover()?;
        let workdir = repo.require_workdir()?.to_path_buf();
        let plan_path = repo_relative_plan(global.plan.as_deref(), &workdir)?;
        let file = workdir.join(&plan_path);

        // The work tree's plan names the base; base's copy is the one that counts. The work
        // tree's copy is read as committed (without the index's facts about symlinks, which
        // cost a read of the whole index) unless it is the plan used. Both are known by their
        // blob id, the key of a validated copy kept in the cache.
        let (worktree_plan, worktree_blob) = match plan::read_file(&file, &plan_path) {
            Ok(bytes) => {
                match crate::cache::valid_plan_of_bytes(&repo, bytes, |bytes| {
                    plan::load_valid(&plan_path, bytes)
                }) {
                    Ok((plan, blob)) => (Some(Ok(plan)), blob),
                    Err(error) => (Some(Err(error)), None),
                }
            }
            Err(plan::PlanError::NotFound { .. }) => (None, None),
            Err(e) => return Err(e.into()),
        };
        let base_name = match &worktree_plan {
            Some(Ok(plan)) => plan.base.clone(),
            Some(Err(_)) | None => match find_base_from_branches(&repo, &plan_path)? {
                Some(base) => base,
                None => {
                    return Err(match worktree_plan {
                        Some(Err(error)) => error.into(),
                        _ => plan::PlanError::NotFound {
                            path: plan_path.clone(),
                        }
                        .into(),
                    });
                }
            },
        };
        let base_tip = repo.base_tip(&base_name)?;
        let worktree_exists = worktree_plan.is_some();
        let mut base_plan_invalid = None;
        let from_base = match base_tip {
            Some(tip) => {
                // Base holds the same bytes as the work tree (the usual case): that plan, as read.
                let blob = repo.entry_at(tip, &plan_path)?;
                let at_tip = match worktree_plan {
                    Some(Ok(plan)) if blob.is_some() && blob == worktree_blob => {
                        refuse_symlink_paths(&repo, tip, &plan_path, &plan_path, &plan)
                            .map(|()| Some(plan))
                    }
                    _ => plan_at(&repo, tip, &plan_path, &base_name),
                };
                match at_tip {
                    Ok(plan) => plan.map(|p| (p, tip)),
                    // A plan committed broken on base does not stop the phases forked before it,
                    // which their fork point's plan judges: they are listed by the last valid
                    // plan on base, and what is wrong is said. Starting a phase is refused.
                    Err(plan::PlanError::Invalid { path, diagnostics }) => {
                        match last_valid_plan(&repo, tip, &plan_path, &base_name) {
                            Some((plan, at)) => {
                                base_plan_invalid = Some(InvalidBasePlan {
                                    path,
                                    diagnostics,
                                    tip,
                                    at,
                                });
                                Some((plan, tip))
                            }
                            None => {
                                return Err(plan::PlanError::Invalid { path, diagnostics }.into());
                            }
                        }
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            None => None,
        };
        // The base is only the base when its own plan says so: an edit elsewhere (say, an
        // uncommitted `base = "planx/a"`) cannot promote another branch's plan to judge phases.
        if let Some((plan, _)) = &from_base
            && plan.base != base_name
        {
            return Err(CliError::repo_state(format!(
                "the plan in this work tree names `{base_name}` as the base, but the plan committed there names `{}`",
                plan.base
            ))
            .hint(format!("set `base = \"{}\"` again, or commit the change of base on the base branch itself", plan.base)));
        }
        let (plan, origin) = match (from_base, need) {
            (Some((plan, tip)), _) => (plan, Origin::Base(tip)),
            (None, Need::BaseOrWorkTree) => {
                if !worktree_exists {
                    return Err(plan::PlanError::NotFound { path: plan_path }.into());
                }
                let loaded = plan::load_file(&file, &plan_path, &repo.path_facts())?;
                let (plan, _) = loaded.into_valid()?;
                (plan, Origin::WorkTree)
            }
            (None, Need::Base) => {
                let error = match base_tip {
                    None => CliError::repo_state(format!("the base branch `{base_name}` does not exist"))
                        .hint("create it (phases fork from it), or set `base` in the plan's [plan] table"),
                    Some(_) => CliError::repo_state(format!("the plan is not committed on `{base_name}`"))
                        .hint(format!(
                            "commit {plan_path} on {base_name} first: phases start from, and are judged by, the plan on their base"
                        )),
                };
                return Err(error);
            }
        };
        // Records are evidence when signed by a key trusted here or declared by the plan on
        // base; a plan not yet on base declares nobody.
        // (Set every time: a process that serves several commands, `mcp`, must not keep the
        // signers of a plan it read before.)
        match origin {
            Origin::Base(_) => {
                crate::trust::signing::declare(&plan.evidence.signers, plan.evidence.count_unknown)
            }
            Origin::WorkTree => crate::trust::signing::declare(&[], false),
        }
        Ok(Context {
            repo,
            plan_path,
            plan,
            origin,
            base_plan_invalid,
        })
    }

    /// Says [`Context::warnings`] on stderr.
    pub fn say_warnings(&self, ui: &super::ui::Ui) {
        let p = ui.err_painter();
        for warning in self.warnings() {
            ui.err(&format!(
                "{} {warning}\n",
                p.paint(super::ui::Style::Warning, "warning:")
            ));
        }
    }

    /// For commands that start phases from base's tip: the plan there must be valid.
    pub fn require_valid_base_plan(&self) -> Result<(), CliError> {
        match &self.base_plan_invalid {
            Some(invalid) => Err(CliError::from(plan::PlanError::Invalid {
                path: invalid.path.clone(),
                diagnostics: invalid.diagnostics.clone(),
            })
            .hint(format!(
                "a phase starts from, and is judged by, the plan on `{}`: fix it there first",
                self.plan.base
            ))),
            None => Ok(()),
        }
    }

    /// What a command that reports should say first: the remote's notes were never fetched
    /// here ([`Context::notes_notice`]); base's plan is broken, and by which plan the phases
    /// are shown instead.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.notes_notice().into_iter().collect();
        out.extend(self.base_plan_warning());
        out.extend(signing_key_warning());
        out
    }

    /// In a clone where planx has not been yet: there are no notes here and the remote's were
    /// never fetched (git does not fetch `refs/notes/*` unless told to), so phases verified on
    /// other machines would show as unverified. Says so, with the one command that fixes it.
    pub fn notes_notice(&self) -> Option<String> {
        if self.repo.notes_tree().ok()?.is_some() {
            return None;
        }
        let remote = crate::remote::unfetched_notes(&self.repo).ok()??;
        Some(format!(
            "the notes of `{0}` (the evidence recorded on other machines) have not been fetched into this clone, so phases verified elsewhere show as unverified; run `git planx sync {0}` once — after it, a plain `git fetch` or `git pull` brings them too",
            remote.name
        ))
    }

    /// Says [`Context::notes_notice`] on stderr, if there is one.
    pub fn say_notes_notice(&self, ui: &super::ui::Ui) {
        if let Some(notice) = self.notes_notice() {
            let p = ui.err_painter();
            ui.err(&format!(
                "{} {notice}\n",
                p.paint(super::ui::Style::Warning, "warning:")
            ));
        }
    }

    fn base_plan_warning(&self) -> Vec<String> {
        let Some(invalid) = &self.base_plan_invalid else {
            return Vec::new();
        };
        let path = &invalid.path;
        let errors: Vec<_> = invalid
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .collect();
        let mut text = format!(
            "the plan on `{}` at {} is not valid ({}), so phases are listed by its last valid version, at {}; each phase is still judged by the plan at its fork point",
            self.plan.base,
            short(invalid.tip),
            match errors.len() {
                1 => "1 error".to_owned(),
                n => format!("{n} errors"),
            },
            short(invalid.at),
        );
        if let Some(first) = errors.first() {
            text.push_str(&format!(
                "\n  first: {path}:{}:{}: {}",
                first.location.line, first.location.column, first.message
            ));
        }
        text.push_str(&format!(
            "\n  fix it on `{}`: `git planx check` there lists every problem",
            self.plan.base
        ));
        vec![text]
    }
}

/// A plan committed on base that does not validate, and the commit whose plan stands in.
pub struct InvalidBasePlan {
    /// The plan as shown in its diagnostics (`main:.planx/plan.toml`).
    pub path: String,
    pub diagnostics: Vec<plan::Diagnostic>,
    pub tip: Oid,
    pub at: Oid,
}

fn short(id: Oid) -> String {
    id.to_string()[..10].to_owned()
}

/// The newest valid plan on base's first-parent line behind `tip` (within 1,000 commits), and
/// the commit holding it.
fn last_valid_plan(repo: &Repo, tip: Oid, plan_path: &str, label: &str) -> Option<(Plan, Oid)> {
    let mut commit = tip;
    for _ in 0..1000 {
        commit = *repo.commit_info(commit).ok()?.parents.first()?;
        if let Ok(Some(plan)) = plan_at(repo, commit, plan_path, label) {
            return Some((plan, commit));
        }
    }
    None
}

/// When the work tree has no usable plan (a phase branch that broke it, say), the base can
/// still be found: the plan on the default branch names it.
fn find_base_from_branches(repo: &Repo, plan_path: &str) -> Result<Option<String>, CliError> {
    for candidate in ["main", "master", "trunk"] {
        let Some(tip) = repo.branch_tip(candidate)? else {
            continue;
        };
        match plan_at(repo, tip, plan_path, candidate) {
            Ok(Some(plan)) => return Ok(Some(plan.base)),
            // Broken on that branch: its last valid plan still names the base.
            Err(plan::PlanError::Invalid { .. }) => {
                if let Some((plan, _)) = last_valid_plan(repo, tip, plan_path, candidate) {
                    return Ok(Some(plan.base));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// The plan's path relative to the top of the work tree: `--plan` (taken from the current
/// directory) must lie inside it.
fn repo_relative_plan(explicit: Option<&Path>, workdir: &Path) -> Result<String, CliError> {
    let Some(explicit) = explicit else {
        return Ok(plan::DEFAULT_PLAN_PATH.to_owned());
    };
    let cwd = std::env::current_dir()?;
    let absolute = cwd.join(explicit);
    let parent = absolute.parent().unwrap_or(&absolute);
    let parent = parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf());
    let file = absolute
        .file_name()
        .map(|n| parent.join(n))
        .unwrap_or(parent);
    let top = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_path_buf());
    match file.strip_prefix(&top) {
        Ok(rel) => Ok(rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")),
        Err(_) => Err(
            CliError::usage(format!("{} is outside the repository", explicit.display())).hint(
                "this command reads the plan as committed in the repository; name a file inside it",
            ),
        ),
    }
}

/// The trust policy from `--trust-once` and `PLANX_TRUST`.
pub fn trust_policy(once: bool) -> TrustPolicy {
    TrustPolicy {
        once,
        environment: std::env::var("PLANX_TRUST").is_ok_and(|v| v == "1"),
    }
}

/// This machine's signing key cannot be had (`PLANX_SIGNING_KEY` is not a key, the key file is
/// damaged): the records it signed do not count as its own and nothing is kept in the cache,
/// which a reading command would otherwise never say.
fn signing_key_warning() -> Option<String> {
    let error = crate::trust::signing::own_key_id().err()?;
    Some(format!(
        "{error}: records signed with this machine's key are not recognised here, and nothing is kept in .git/planx/cache; {}",
        crate::error::signing_hint(&error)
    ))
}
