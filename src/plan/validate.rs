//! Builds the [`Plan`] model from the raw file and applies every rule of SPEC §1 that concerns
//! one key or one phase. Rules about the relations between phases (cycles, manifests that may
//! overlap) live with the graph.
//!
//! The model is always built, with empty values where the file is wrong, so that one run reports
//! every problem; callers use it only when no error was found.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use super::diag::Diagnostics;
use super::raw::{
    RawCheck, RawDone, RawFile, RawFiles, RawPhase, RawPrerequisite, RawRisk, RawStep, Removed, S,
    StrList, closest,
};
use super::{
    Check, CheckKind, CommandRef, DEFAULT_CHECK_TIMEOUT, DEFAULT_PREFLIGHT_TIMEOUT, Dependency,
    DoneCommand, EvidenceSettings, FORMAT_VERSION, Glob, Likelihood, Manifest, ManifestEntry,
    PathFacts, Phase, PhaseKind, Plan, PlanStatus, Preflight, Prerequisite, Risk, RunSettings,
    Span, Step, duration, ids,
};

pub(crate) fn empty_plan() -> Plan {
    Plan {
        id: String::new(),
        title: String::new(),
        status: PlanStatus::Draft,
        base: String::new(),
        branch_prefix: "planx/".into(),
        strict: true,
        guidelines: None,
        commands: Vec::new(),
        preflight: Preflight {
            clean_worktree: true,
            run: Vec::new(),
            timeout: DEFAULT_PREFLIGHT_TIMEOUT,
        },
        run: RunSettings::default(),
        evidence: EvidenceSettings::default(),
        phases: Vec::new(),
        blob: None,
    }
}

/// A table of the file, for "missing key" reports.
struct Table<'a> {
    name: &'a str,
    span: Span,
    removed: &'a Removed,
}

impl Table<'_> {
    /// The value of a required key, reporting it when missing.
    fn required<T>(
        &self,
        value: Option<S<T>>,
        key: &str,
        example: &str,
        d: &mut Diagnostics<'_>,
    ) -> Option<S<T>> {
        if value.is_none() && !self.removed.contains(self.span.start, key) {
            d.error(
                self.span.clone(),
                "missing-key",
                format!("{} has no `{key}`", self.name),
                format!("add `{key} = {example}`"),
            );
        }
        value
    }
}

struct Commands {
    names: BTreeMap<String, String>,
}

impl Commands {
    /// Resolves a command as the plan wrote it. A single word must name a `[commands]` entry.
    fn resolve(&self, text: &S<String>, what: &str, d: &mut Diagnostics<'_>) -> Option<CommandRef> {
        let span = text.span();
        let raw = text.get_ref();
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            d.error(
                span,
                "empty-command",
                format!("{what} is empty"),
                "write a command name from [commands] or a shell command",
            );
            return None;
        }
        if is_command_name(trimmed) {
            return match self.names.get(trimmed) {
                Some(shell) => Some(CommandRef {
                    text: raw.clone(),
                    name: Some(trimmed.to_owned()),
                    shell: shell.clone(),
                    span,
                }),
                None => {
                    let known: Vec<String> = self.names.keys().cloned().collect();
                    let hint = match closest(trimmed, &known) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None if known.is_empty() => format!(
                            "a single word names a command of [commands]; add `{trimmed} = \"…\"` there"
                        ),
                        None => format!(
                            "known commands: {}; a single word names one of them, add `{trimmed} = \"…\"` to [commands] otherwise",
                            known.join(", ")
                        ),
                    };
                    d.error(
                        span,
                        "unknown-command",
                        format!(
                            "{what} names the command `{trimmed}`, which [commands] does not define"
                        ),
                        hint,
                    );
                    None
                }
            };
        }
        if raw.contains('\0') {
            d.error(
                span,
                "invalid-command",
                format!("{what} contains a NUL byte"),
                "remove it",
            );
            return None;
        }
        Some(CommandRef {
            text: raw.clone(),
            name: None,
            shell: raw.clone(),
            span,
        })
    }
}

/// A single word of `[A-Za-z0-9_.-]`: a reference to a named command.
fn is_command_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub(crate) fn build(
    raw: RawFile,
    removed: &Removed,
    facts: &dyn PathFacts,
    d: &mut Diagnostics<'_>,
) -> Plan {
    let mut plan = empty_plan();
    let root = Table {
        name: "the plan file",
        span: 0..0,
        removed,
    };

    if let Some(version) = root.required(raw.version, "version", "1", d)
        && *version.get_ref() != FORMAT_VERSION
    {
        d.error(
            version.span(),
            "unsupported-version",
            format!("plan format version {} is not supported", version.get_ref()),
            format!("this git-planx reads version {FORMAT_VERSION}"),
        );
    }

    match raw.plan {
        None if !removed.contains(0, "plan") => d.error(
            0..0,
            "missing-key",
            "the plan file has no [plan] table",
            "add a [plan] table with `id`, `title` and `base`",
        ),
        None => {}
        Some(meta) => {
            let table = Table {
                name: "[plan]",
                span: meta.span(),
                removed,
            };
            let meta = meta.into_inner();
            if let Some(id) = table.required(meta.id, "id", "\"my-plan\"", d) {
                if let Some(problem) = ids::plan_id_problem(id.get_ref()) {
                    d.error(
                        id.span(),
                        "invalid-id",
                        format!("`{}` cannot be a plan id: {problem}", id.get_ref()),
                        "use lower-case letters, digits, `.`, `_` and `-`, like `refactor-providers`",
                    );
                }
                plan.id = id.into_inner();
            }
            if let Some(title) = table.required(meta.title, "title", "\"…\"", d) {
                plan.title = non_empty(title, "the plan's `title`", d);
            }
            match meta.status {
                Some(status) => {
                    let span = status.span();
                    plan.status = match status.get_ref().as_str() {
                        "draft" => PlanStatus::Draft,
                        "reviewed" => PlanStatus::Reviewed,
                        "ready" => PlanStatus::Ready,
                        other => {
                            d.error(
                                span.clone(),
                                "invalid-value",
                                format!("`{other}` is not a plan status"),
                                "use \"draft\", \"reviewed\" or \"ready\"",
                            );
                            PlanStatus::Ready
                        }
                    };
                    if plan.status != PlanStatus::Ready {
                        warn_not_ready(&plan, span, d);
                    }
                }
                None => warn_not_ready(&plan, table.span.clone(), d),
            }
            let mut base_span = table.span.clone();
            if let Some(base) = table.required(meta.base, "base", "\"main\"", d) {
                base_span = base.span();
                if let Some(problem) = ids::branch_name_problem(base.get_ref()) {
                    d.error(
                        base.span(),
                        "invalid-branch",
                        format!("`{}` cannot be the base branch: {problem}", base.get_ref()),
                        "name the branch phases fork from and merge into, e.g. \"main\"",
                    );
                }
                plan.base = base.into_inner();
            }
            if let Some(prefix) = meta.branch_prefix {
                if let Some(problem) = ids::branch_prefix_problem(prefix.get_ref()) {
                    d.error(
                        prefix.span(),
                        "invalid-branch",
                        format!(
                            "`{}` cannot start branch names: {problem}",
                            prefix.get_ref()
                        ),
                        "use something like \"planx/\"",
                    );
                }
                plan.branch_prefix = prefix.into_inner();
            }
            if !plan.branch_prefix.is_empty() && plan.base.starts_with(&plan.branch_prefix) {
                d.error(
                    base_span,
                    "invalid-branch",
                    format!(
                        "the base `{}` would be a phase branch (it starts with the branch prefix `{}`)",
                        plan.base, plan.branch_prefix
                    ),
                    "phases fork from and merge into the base: name an integration branch such as \"main\"",
                );
            }
            if let Some(strict) = meta.strict {
                plan.strict = strict.into_inner();
            }
            plan.guidelines = meta.guidelines.map(S::into_inner);
        }
    }

    let mut commands = Commands {
        names: BTreeMap::new(),
    };
    if let Some(table) = raw.commands {
        let mut entries: Vec<_> = table.into_inner().into_iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (name, shell) in entries {
            if !is_command_name(name.get_ref()) {
                d.error(
                    name.span(),
                    "invalid-command-name",
                    format!("`{}` cannot be a command name", name.get_ref()),
                    "use letters, digits, `_`, `-` and `.`, like `test` or `lint-docs`",
                );
            }
            if shell.get_ref().trim().is_empty() {
                d.error(
                    shell.span(),
                    "empty-command",
                    format!("the command `{}` is empty", name.get_ref()),
                    "write the shell command it runs",
                );
            }
            commands
                .names
                .insert(name.get_ref().clone(), shell.get_ref().clone());
            plan.commands.push((name.into_inner(), shell.into_inner()));
        }
    }

    if let Some(preflight) = raw.preflight {
        let preflight = preflight.into_inner();
        if let Some(clean) = preflight.clean_worktree {
            plan.preflight.clean_worktree = clean.into_inner();
        }
        for command in list(preflight.run) {
            if let Some(c) = commands.resolve(&command, "a preflight command", d) {
                plan.preflight.run.push(c);
            }
        }
        if let Some(t) = preflight.timeout.and_then(|t| parse_duration(&t, d)) {
            plan.preflight.timeout = t;
        }
    }

    if let Some(run) = raw.run {
        let run = run.into_inner();
        plan.run.executor = run
            .executor
            .and_then(|e| commands.resolve(&e, "the executor", d));
        if let Some(jobs) = run.jobs {
            match usize::try_from(*jobs.get_ref()) {
                Ok(n) if (1..=super::MAX_JOBS).contains(&n) => plan.run.jobs = Some(n),
                _ => d.error(
                    jobs.span(),
                    "invalid-value",
                    format!(
                        "`jobs = {}` is not a number of parallel phases",
                        jobs.get_ref()
                    ),
                    format!("use a number from 1 to {}", super::MAX_JOBS),
                ),
            }
        }
    }

    if let Some(evidence) = raw.evidence {
        let evidence = evidence.into_inner();
        for (name, key) in evidence.signers.map(|s| s.into_inner()).unwrap_or_default() {
            if !is_key(key.get_ref()) {
                d.error(
                    key.span(),
                    "invalid-value",
                    format!("signer `{}` has no ed25519 key", name.get_ref()),
                    "write the key `git planx signers` prints on the signer's machine: `ed25519:` and 64 hex digits",
                );
                continue;
            }
            plan.evidence
                .signers
                .push((name.into_inner(), key.into_inner()));
        }
        if let Some(unknown) = evidence.unknown_signers {
            match unknown.get_ref().as_str() {
                "ignore" => plan.evidence.count_unknown = false,
                "count" => plan.evidence.count_unknown = true,
                other => d.error(
                    unknown.span(),
                    "invalid-value",
                    format!("`unknown_signers = \"{other}\"` is neither \"ignore\" nor \"count\""),
                    "use \"ignore\" (the default: a key nobody declared proves nothing) or \"count\"",
                ),
            }
        }
    }

    // Each id once, in the plan's order, even where the plan repeats one (an error of its own).
    let mut known: Vec<String> = Vec::new();
    for id in raw
        .phase
        .iter()
        .filter_map(|p| p.get_ref().id.as_ref().map(|id| id.get_ref()))
    {
        if !known.contains(id) {
            known.push(id.clone());
        }
    }
    let known_ids: HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut seen: HashMap<String, (String, usize)> = HashMap::new();
    for phase in raw.phase {
        let span = phase.span();
        let built = build_phase(
            phase.into_inner(),
            span,
            removed,
            (&known, &known_ids),
            &commands,
            facts,
            d,
        );
        if let Some(phase) = built {
            let folded = phase.id.to_ascii_lowercase();
            if let Some((first, line)) = seen.get(&folded) {
                let (message, hint) = if *first == phase.id {
                    (
                        format!(
                            "phase id `{}` is used twice (first on line {line})",
                            phase.id
                        ),
                        "give every phase its own id",
                    )
                } else {
                    (
                        format!(
                            "phase id `{}` differs only in case from `{first}` (line {line})",
                            phase.id
                        ),
                        "branch names that differ only in case collide on macOS and Windows; rename one",
                    )
                };
                d.error(phase.span.clone(), "duplicate-id", message, hint);
            } else {
                let line = d.line_of(&phase.span);
                seen.insert(folded, (phase.id.clone(), line));
            }
            plan.phases.push(phase);
        }
    }
    check_nested_ids(&plan, d);
    if plan.phases.is_empty() && !d.has_errors() {
        d.warning(
            0..0,
            "no-phases",
            "the plan has no phases",
            "add a [[phase]] table for each phase of the work",
        );
    }
    plan
}

fn warn_not_ready(plan: &Plan, span: Span, d: &mut Diagnostics<'_>) {
    d.warning(
        span,
        "plan-not-ready",
        format!("the plan is {}, not ready", plan.status.as_str()),
        "`start` and `run` refuse it until its review sets `status = \"ready\"` (or with --force)",
    );
}

/// Branch `planx/a` and branch `planx/a/b` cannot both exist: git stores refs as files.
/// Each id is looked up by its folders, so that a plan of many phases stays linear.
fn check_nested_ids(plan: &Plan, d: &mut Diagnostics<'_>) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        first.entry(phase.id.to_ascii_lowercase()).or_insert(i);
    }
    for phase in &plan.phases {
        let folded = phase.id.to_ascii_lowercase();
        // The first phase in plan order whose id is a folder of this one.
        let parent = folded
            .match_indices('/')
            .filter_map(|(at, _)| first.get(&folded[..at]).copied())
            .min()
            .map(|i| &plan.phases[i]);
        if let Some(parent) = parent {
            d.error(
                phase.span.clone(),
                "id-conflict",
                format!(
                    "phase `{}` cannot coexist with phase `{}`: branch `{}{}` would have to be both a branch and a folder of branches",
                    phase.id, parent.id, plan.branch_prefix, parent.id
                ),
                format!("rename one of them, e.g. `{}-{}`", parent.id, &phase.id[parent.id.len() + 1..].replace('/', "-")),
            );
        }
    }
}

fn list(value: StrList) -> Vec<S<String>> {
    value.map(S::into_inner).unwrap_or_default()
}

fn non_empty(value: S<String>, what: &str, d: &mut Diagnostics<'_>) -> String {
    if value.get_ref().trim().is_empty() {
        d.error(
            value.span(),
            "empty-value",
            format!("{what} is empty"),
            "write it out",
        );
    }
    value.into_inner()
}

fn parse_duration(text: &S<String>, d: &mut Diagnostics<'_>) -> Option<Duration> {
    match duration::parse(text.get_ref()) {
        Ok(t) => Some(t),
        Err(problem) => {
            d.error(
                text.span(),
                "invalid-duration",
                format!("invalid duration: {problem}"),
                "write a number and a unit, like \"90s\", \"10m\" or \"1h30m\"",
            );
            None
        }
    }
}

fn build_phase(
    raw: RawPhase,
    span: Span,
    removed: &Removed,
    (known, known_ids): (&[String], &HashSet<&str>),
    commands: &Commands,
    facts: &dyn PathFacts,
    d: &mut Diagnostics<'_>,
) -> Option<Phase> {
    let table = Table {
        name: "[[phase]]",
        span: span.clone(),
        removed,
    };
    let id = table.required(raw.id, "id", "\"phase-1\"", d)?;
    let id_span = id.span();
    let id = id.into_inner();
    if let Some(problem) = ids::ref_id_problem(&id) {
        d.error(
            id_span.clone(),
            "invalid-id",
            format!("`{id}` cannot be a phase id: {problem}"),
            "phase ids become branch names; use letters, digits, `.`, `_`, `-`, like `phase-2`",
        );
    }
    let title = table
        .required(raw.title, "title", "\"…\"", d)
        .map(|t| non_empty(t, &format!("the title of phase `{id}`"), d))
        .unwrap_or_default();
    let kind = match raw.kind {
        None => PhaseKind::Implementation,
        Some(kind) => match kind.get_ref().as_str() {
            "implementation" => PhaseKind::Implementation,
            "design" => PhaseKind::Design,
            other => {
                d.error(
                    kind.span(),
                    "invalid-value",
                    format!("`{other}` is not a phase kind"),
                    "use \"implementation\" or \"design\"",
                );
                PhaseKind::Implementation
            }
        },
    };
    let owner = raw
        .owner
        .map(S::into_inner)
        .filter(|o| !o.trim().is_empty());
    if owner.is_none() {
        d.warning(
            id_span.clone(),
            "no-owner",
            format!("phase `{id}` has no owner"),
            "add `owner = \"…\"`: the person or agent role that executes the phase",
        );
    }
    let mut depends_on: Vec<Dependency> = Vec::new();
    for dep in list(raw.depends_on) {
        let dep_span = dep.span();
        let dep = dep.into_inner();
        if dep == id {
            d.error(
                dep_span,
                "self-dependency",
                format!("phase `{id}` depends on itself"),
                "remove it from its own `depends_on`",
            );
        } else if !known_ids.contains(dep.as_str()) {
            let hint = match closest(&dep, known) {
                Some(best) => format!("did you mean `{best}`?"),
                None if known.len() <= 8 => format!("known phases are {}", known.join(", ")),
                None => format!("none of the plan's {} phases is near that id", known.len()),
            };
            d.error(
                dep_span,
                "unknown-dependency",
                format!("phase `{id}` depends on unknown phase `{dep}`"),
                hint,
            );
        } else if depends_on.iter().any(|x| x.id == dep) {
            d.warning(
                dep_span,
                "duplicate-dependency",
                format!("phase `{id}` lists `{dep}` twice in `depends_on`"),
                "remove the repetition",
            );
        } else {
            depends_on.push(Dependency {
                id: dep,
                span: dep_span,
            });
        }
    }
    let blast_radius = raw
        .blast_radius
        .and_then(|b| commands.resolve(&b, &format!("the blast radius of phase `{id}`"), d));
    if kind == PhaseKind::Implementation && blast_radius.is_none() {
        d.warning(
            id_span.clone(),
            "no-blast-radius",
            format!("implementation phase `{id}` has no `blast_radius`"),
            "add the scoped test command that guards what this phase touches, e.g. `blast_radius = \"cargo test plan::\"`",
        );
    }
    let timeout = raw.timeout.and_then(|t| parse_duration(&t, d));
    let files = raw
        .files
        .map(|f| build_manifest(f.into_inner(), &id, facts, d))
        .unwrap_or_default();
    let checks = build_checks(raw.check, &id, removed, commands, facts, d);
    if checks.is_empty() {
        d.warning(
            id_span.clone(),
            "no-checks",
            format!("phase `{id}` has no checks"),
            "add a [[phase.check]]: verification has nothing to run without acceptance checks",
        );
    }
    let steps = build_steps(raw.step, &id, removed, commands, d);
    let prerequisites = build_prerequisites(raw.prerequisite, &id, removed, commands, d);
    let risks = build_risks(raw.risk, removed, d);
    let done = build_done(raw.done, &id, removed, commands, d);
    Some(Phase {
        id,
        title,
        kind,
        owner,
        depends_on,
        goal: raw.goal.map(S::into_inner),
        deliverables: list(raw.deliverables)
            .into_iter()
            .map(S::into_inner)
            .collect(),
        blast_radius,
        timeout,
        files,
        checks,
        steps,
        prerequisites,
        risks,
        done,
        span: id_span,
    })
}

fn build_prerequisites(
    raw: Vec<S<RawPrerequisite>>,
    phase: &str,
    removed: &Removed,
    commands: &Commands,
    d: &mut Diagnostics<'_>,
) -> Vec<Prerequisite> {
    let mut out = Vec::new();
    for item in raw {
        let table = Table {
            name: "[[phase.prerequisite]]",
            span: item.span(),
            removed,
        };
        let span = item.span();
        let item = item.into_inner();
        let Some(title) = table.required(item.title, "title", "\"…\"", d) else {
            continue;
        };
        let title = non_empty(
            title,
            &format!("the title of a prerequisite of phase `{phase}`"),
            d,
        );
        let verify = item.verify.and_then(|v| {
            commands.resolve(
                &v,
                &format!("the verify command of the prerequisite `{title}`"),
                d,
            )
        });
        out.push(Prerequisite {
            title,
            why: item.why.map(S::into_inner),
            verify,
            span,
        });
    }
    out
}

fn build_risks(raw: Vec<S<RawRisk>>, removed: &Removed, d: &mut Diagnostics<'_>) -> Vec<Risk> {
    let mut out = Vec::new();
    for item in raw {
        let table = Table {
            name: "[[phase.risk]]",
            span: item.span(),
            removed,
        };
        let span = item.span();
        let item = item.into_inner();
        let risk = table.required(item.risk, "risk", "\"…\"", d);
        let mitigation = table.required(item.mitigation, "mitigation", "\"…\"", d);
        let likelihood = item.likelihood.and_then(|l| {
            let found = Likelihood::ALL
                .into_iter()
                .find(|k| k.as_str() == l.get_ref());
            if found.is_none() {
                d.error(
                    l.span(),
                    "invalid-value",
                    format!("`{}` is not a likelihood", l.get_ref()),
                    "a risk's likelihood is \"high\", \"medium\" or \"low\"",
                );
            }
            found
        });
        let (Some(risk), Some(mitigation)) = (risk, mitigation) else {
            continue;
        };
        out.push(Risk {
            risk: non_empty(risk, "a risk", d),
            likelihood,
            mitigation: non_empty(mitigation, "the mitigation of a risk", d),
            span,
        });
    }
    out
}

fn build_done(
    raw: Vec<S<RawDone>>,
    phase: &str,
    removed: &Removed,
    commands: &Commands,
    d: &mut Diagnostics<'_>,
) -> Vec<DoneCommand> {
    let mut out = Vec::new();
    for item in raw {
        let table = Table {
            name: "[[phase.done]]",
            span: item.span(),
            removed,
        };
        let span = item.span();
        let item = item.into_inner();
        let Some(run) = table.required(item.run, "run", "\"git planx status\"", d) else {
            continue;
        };
        let Some(run) = commands.resolve(&run, &format!("a done command of phase `{phase}`"), d)
        else {
            continue;
        };
        out.push(DoneCommand {
            run,
            expect: item.expect.map(S::into_inner),
            span,
        });
    }
    out
}

fn build_manifest(
    raw: RawFiles,
    phase: &str,
    facts: &dyn PathFacts,
    d: &mut Diagnostics<'_>,
) -> Manifest {
    let mut manifest = Manifest::default();
    let lists = [
        (raw.create, &mut manifest.create),
        (raw.modify, &mut manifest.modify),
        (raw.delete, &mut manifest.delete),
        (raw.allow, &mut manifest.allow),
        (raw.after_verify, &mut manifest.after_verify),
    ];
    for (raw_list, entries) in lists {
        for path in list(raw_list) {
            if let Some(pattern) = manifest_pattern(&path, facts, d) {
                entries.push(ManifestEntry {
                    pattern,
                    span: path.span(),
                });
            }
        }
    }
    for (a, b, code, why) in [
        (
            &manifest.create,
            &manifest.delete,
            "create-and-delete",
            "a path cannot be both created and deleted",
        ),
        (
            &manifest.create,
            &manifest.modify,
            "create-and-modify",
            "a created path is new, a modified one existed before",
        ),
        (
            &manifest.modify,
            &manifest.delete,
            "modify-and-delete",
            "a deleted path is gone, a modified one is still there",
        ),
    ] {
        for entry in b {
            if let Some(first) = a.iter().find(|e| e.pattern == entry.pattern) {
                let line = d.line_of(&first.span);
                d.error(
                    entry.span.clone(),
                    code,
                    format!(
                        "phase `{phase}` declares `{}` both as {} (line {line}) and as {}",
                        entry.pattern,
                        kind_name(code, true),
                        kind_name(code, false),
                    ),
                    format!("{why}; keep one of the two"),
                );
            }
        }
    }
    manifest
}

fn kind_name(code: &str, first: bool) -> &'static str {
    match (code, first) {
        ("create-and-delete" | "create-and-modify", true) => "`create`",
        ("modify-and-delete", true) | ("create-and-modify", false) => "`modify`",
        _ => "`delete`",
    }
}

/// Checks one manifest path or pattern; `None` when it is unusable (after reporting why).
fn manifest_pattern(
    path: &S<String>,
    facts: &dyn PathFacts,
    d: &mut Diagnostics<'_>,
) -> Option<Glob> {
    let text = path.get_ref();
    if let Some((code, problem, hint)) = path_problem(text) {
        d.error(
            path.span(),
            code,
            format!("manifest path `{text}` {problem}"),
            hint,
        );
        return None;
    }
    let pattern = match Glob::parse(text) {
        Ok(p) => p,
        Err(e) => {
            d.error(
                path.span(),
                "invalid-glob",
                format!("invalid pattern `{text}`: {e}"),
                "see docs/plan-format.md for the pattern syntax",
            );
            return None;
        }
    };
    let literal = pattern.literal_prefix();
    let dirs = match literal.rfind('/') {
        Some(i) => &literal[..i],
        None => "",
    };
    if !dirs.is_empty()
        && let Some(link) = facts.symlink_prefix(dirs)
    {
        d.error(
            path.span(),
            "symlink-path",
            format!("manifest path `{text}` goes through the symlink `{link}`, which may leave the repository"),
            "name the files where they really are, or the symlink itself",
        );
        return None;
    }
    Some(pattern)
}

/// What is wrong with a repo-relative path as a plan may write it.
fn path_problem(text: &str) -> Option<(&'static str, String, String)> {
    if text.is_empty() {
        return Some((
            "invalid-path",
            "is empty".into(),
            "write a path relative to the top of the repository".into(),
        ));
    }
    if text.starts_with('/') {
        return Some((
            "absolute-path",
            "is absolute".into(),
            format!(
                "write it relative to the top of the repository: `{}`",
                text.trim_start_matches('/')
            ),
        ));
    }
    if text.contains('\\') {
        return Some((
            "backslash-path",
            "contains a backslash".into(),
            format!("separate folders with `/`: `{}`", text.replace('\\', "/")),
        ));
    }
    if text.chars().any(char::is_control) {
        return Some((
            "invalid-path",
            "contains a control character".into(),
            "remove it".into(),
        ));
    }
    for component in text.split('/') {
        match component {
            "" => {
                let hint = if text.ends_with('/') {
                    format!("to name everything in a folder write `{text}**`")
                } else {
                    "remove the empty component (`//`)".into()
                };
                return Some(("invalid-path", "has an empty component".into(), hint));
            }
            "." => {
                return Some((
                    "invalid-path",
                    "contains a `.` component".into(),
                    "drop the `./`".into(),
                ));
            }
            ".." => {
                return Some((
                    "parent-path",
                    "contains `..`".into(),
                    "manifest paths stay inside the repository; write the path from its top".into(),
                ));
            }
            c if c.eq_ignore_ascii_case(".git") => {
                return Some((
                    "git-path",
                    "is inside `.git`".into(),
                    "git's own files are not part of any phase; remove the entry".into(),
                ));
            }
            _ => {}
        }
    }
    None
}

fn build_checks(
    raw: Vec<S<RawCheck>>,
    phase: &str,
    removed: &Removed,
    commands: &Commands,
    facts: &dyn PathFacts,
    d: &mut Diagnostics<'_>,
) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for check in raw {
        let span = check.span();
        let table = Table {
            name: "[[phase.check]]",
            span: span.clone(),
            removed,
        };
        let check = check.into_inner();
        let Some(name) = table.required(check.name, "name", "\"…\"", d) else {
            continue;
        };
        let name_span = name.span();
        let name = non_empty(name, &format!("a check name of phase `{phase}`"), d);
        if name.contains(['\n', '\r']) {
            d.error(
                name_span.clone(),
                "invalid-value",
                "a check name is one line",
                "shorten it to one line",
            );
        }
        if let Some(first) = checks.iter().find(|c| c.name == name) {
            let line = d.line_of(&first.span);
            d.error(
                name_span.clone(),
                "duplicate-check",
                format!("phase `{phase}` has two checks named `{name}` (first on line {line})"),
                "`accept` and reports find checks by name; give each its own",
            );
        }
        let manual = check.manual.as_ref().is_some_and(|m| *m.get_ref());
        let mut kinds = Vec::new();
        if check.run.is_some() {
            kinds.push("`run`");
        }
        if check.file.is_some() {
            kinds.push("`file`");
        }
        if manual {
            kinds.push("`manual = true`");
        }
        if kinds.len() > 1 {
            d.error(
                name_span.clone(),
                "check-kind",
                format!("check `{name}` has both {}", kinds.join(" and ")),
                "a check is one of: a command (`run`), a file (`file`), or `manual = true`; split it",
            );
            continue;
        }
        let only = |key: &str, value_span: Option<Span>, needs: &str, d: &mut Diagnostics<'_>| {
            if let Some(s) = value_span {
                d.error(
                    s,
                    "check-option",
                    format!("`{key}` in check `{name}` needs {needs}"),
                    format!("remove `{key}`, or make the check {needs}"),
                );
            }
        };
        if check.run.is_none() {
            only(
                "expect_exit",
                check.expect_exit.as_ref().map(S::span),
                "a `run` command",
                d,
            );
            only(
                "timeout",
                check.timeout.as_ref().map(S::span),
                "a `run` command",
                d,
            );
            only("tdd", check.tdd.as_ref().map(S::span), "a `run` command", d);
        }
        if check.file.is_none() {
            only(
                "contains",
                check.contains.as_ref().map(S::span),
                "a `file`",
                d,
            );
        }
        let kind = if let Some(run) = &check.run {
            let command = commands.resolve(run, &format!("check `{name}`"), d);
            let expect_exit = match &check.expect_exit {
                None => 0,
                Some(code) => match i32::try_from(*code.get_ref()) {
                    Ok(c) if (0..=255).contains(&c) => c,
                    _ => {
                        d.error(
                            code.span(),
                            "invalid-value",
                            format!("`expect_exit = {}` is not an exit status", code.get_ref()),
                            "exit statuses run from 0 to 255",
                        );
                        0
                    }
                },
            };
            let timeout = check
                .timeout
                .as_ref()
                .and_then(|t| parse_duration(t, d))
                .unwrap_or(DEFAULT_CHECK_TIMEOUT);
            let tdd = check.tdd.is_some_and(S::into_inner);
            command.map(|command| CheckKind::Run {
                command,
                expect_exit,
                timeout,
                tdd,
            })
        } else if let Some(file) = &check.file {
            let literal = file.get_ref();
            let path_ok = match path_problem(literal) {
                Some((code, problem, hint)) => {
                    d.error(
                        file.span(),
                        code,
                        format!("check file `{literal}` {problem}"),
                        hint,
                    );
                    false
                }
                None if literal.contains(['*', '?', '[']) => {
                    d.error(
                        file.span(),
                        "invalid-path",
                        format!("check file `{literal}` is a pattern"),
                        "a file check names one file; list patterns in [phase.files]",
                    );
                    false
                }
                None => {
                    let dirs = literal.rfind('/').map_or("", |i| &literal[..i]);
                    match (!dirs.is_empty())
                        .then(|| facts.symlink_prefix(dirs))
                        .flatten()
                    {
                        Some(link) => {
                            d.error(
                                file.span(),
                                "symlink-path",
                                format!("check file `{literal}` goes through the symlink `{link}`"),
                                "name the file where it really is",
                            );
                            false
                        }
                        None => true,
                    }
                }
            };
            let contains = check.contains.as_ref().and_then(|c| {
                super::Contains::new(c.get_ref())
                    .map_err(|e| {
                        let detail = e.to_string();
                        let last = detail.lines().last().unwrap_or("").trim().to_owned();
                        d.error(
                            c.span(),
                            "invalid-regex",
                            format!("`contains` of check `{name}` is not a valid regular expression: {last}"),
                            "see https://docs.rs/regex for the syntax; escape special characters with `\\\\`",
                        );
                    })
                    .ok()
            });
            path_ok.then(|| CheckKind::File {
                path: literal.clone(),
                contains,
            })
        } else if manual {
            Some(CheckKind::Manual)
        } else {
            d.error(
                name_span.clone(),
                "check-kind",
                format!("check `{name}` has nothing to check"),
                "give it a `run` command, a `file`, or `manual = true`",
            );
            None
        };
        if let Some(kind) = kind {
            checks.push(Check {
                name,
                kind,
                span: name_span,
            });
        }
    }
    checks
}

fn build_steps(
    raw: Vec<S<RawStep>>,
    phase: &str,
    removed: &Removed,
    commands: &Commands,
    d: &mut Diagnostics<'_>,
) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for step in raw {
        let table = Table {
            name: "[[phase.step]]",
            span: step.span(),
            removed,
        };
        let step = step.into_inner();
        let title = table.required(step.title, "title", "\"…\"", d);
        let Some(id) = table.required(step.id, "id", "\"1\"", d) else {
            continue;
        };
        let span = id.span();
        let id = id.into_inner();
        if let Some(problem) = ids::ref_id_problem(&id) {
            d.error(
                span.clone(),
                "invalid-id",
                format!("`{id}` cannot be a step id: {problem}"),
                "step ids go into commit trailers; use letters, digits, `.`, `_`, `-`, like \"1\" or \"2.3\"",
            );
        }
        if let Some(first) = steps.iter().find(|s| s.id == id) {
            let line = d.line_of(&first.span);
            d.error(
                span.clone(),
                "duplicate-id",
                format!("phase `{phase}` has two steps with id `{id}` (first on line {line})"),
                "checkpoints name steps by id; give each its own",
            );
        }
        let verify = step
            .verify
            .and_then(|v| commands.resolve(&v, &format!("the verify command of step `{id}`"), d));
        steps.push(Step {
            title: title
                .map(|t| non_empty(t, &format!("the title of step `{id}`"), d))
                .unwrap_or_default(),
            id,
            description: step.description.map(S::into_inner),
            verify,
            span,
        });
    }
    steps
}

/// `ed25519:` and 64 hex digits: a signer's public key as `git planx signers` prints it.
fn is_key(text: &str) -> bool {
    text.strip_prefix("ed25519:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
