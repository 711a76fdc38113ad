//! Plans for tests, built rather than copied: a test says what its plan holds (`a` creates
//! `a.txt` and checks it exists; `b` depends on `a`) and [`PlanBuilder::toml`] writes the
//! text, always in the same layout — the layout of `docs/plan-format.md`'s examples, sub-tables
//! of a phase indented by two spaces. The layout is part of the plan's bytes, so of the commit
//! ids snapshots show: it changes only with them.
//!
//! Tests about the plan's syntax (errors and their positions) keep their TOML literal: there
//! the text itself is the subject.

/// A whole plan: `[plan]`, `[commands]`, `[preflight]` and the phases, in that order.
#[derive(Debug, Clone)]
pub struct PlanBuilder {
    id: String,
    title: String,
    status: String,
    guidelines: Option<String>,
    commands: Vec<(String, String)>,
    preflight: Vec<String>,
    phases: Vec<PhaseBuilder>,
}

/// One `[[phase]]`, with its files, checks and steps.
#[derive(Debug, Clone)]
pub struct PhaseBuilder {
    id: String,
    /// Keys of the phase itself, in the order they are written.
    keys: Vec<(&'static str, String)>,
    /// `[phase.files]`: create, modify, delete, allow, after_verify (in that order).
    files: [(&'static str, Vec<String>); 5],
    checks: Vec<Check>,
    steps: Vec<Step>,
    /// More array tables of the phase (`[[phase.prerequisite]]`, …), after the steps.
    tables: Vec<(&'static str, Vec<(&'static str, String)>)>,
}

/// One `[[phase.check]]`.
#[derive(Debug, Clone)]
pub struct Check {
    keys: Vec<(&'static str, String)>,
}

/// One `[[phase.step]]`.
#[derive(Debug, Clone)]
pub struct Step {
    keys: Vec<(&'static str, String)>,
}

/// `text` as a TOML basic string.
fn string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `items` as a TOML array of strings.
fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| string(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

fn owned<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl PlanBuilder {
    /// A plan `id` titled `title`, ready, on base `main`.
    pub fn new(id: &str, title: &str) -> PlanBuilder {
        PlanBuilder {
            id: id.to_owned(),
            title: title.to_owned(),
            status: "ready".to_owned(),
            guidelines: None,
            commands: Vec::new(),
            preflight: Vec::new(),
            phases: Vec::new(),
        }
    }

    pub fn status(mut self, status: &str) -> PlanBuilder {
        self.status = status.to_owned();
        self
    }

    /// The plan's guidelines, written as a multi-line string.
    pub fn guidelines(mut self, text: &str) -> PlanBuilder {
        self.guidelines = Some(text.to_owned());
        self
    }

    /// A named command of `[commands]` (in place of the one of that name, if any).
    pub fn command(mut self, name: &str, shell: &str) -> PlanBuilder {
        match self.commands.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => *old = shell.to_owned(),
            None => self.commands.push((name.to_owned(), shell.to_owned())),
        }
        self
    }

    /// The commands `[preflight]` runs.
    pub fn preflight<S: AsRef<str>>(mut self, run: impl IntoIterator<Item = S>) -> PlanBuilder {
        self.preflight = owned(run);
        self
    }

    pub fn phase(mut self, phase: PhaseBuilder) -> PlanBuilder {
        self.phases.push(phase);
        self
    }

    /// The plan with phase `id` changed by `change`.
    pub fn with_phase(
        mut self,
        id: &str,
        change: impl FnOnce(PhaseBuilder) -> PhaseBuilder,
    ) -> PlanBuilder {
        let at = self
            .phases
            .iter()
            .position(|p| p.id == id)
            .unwrap_or_else(|| panic!("the plan has no phase `{id}`"));
        let phase = self.phases.remove(at);
        self.phases.insert(at, change(phase));
        self
    }

    /// The plan's text.
    pub fn toml(&self) -> String {
        let mut out = format!(
            "version = 1\n\n[plan]\nid = {}\ntitle = {}\nstatus = {}\nbase = \"main\"\n",
            string(&self.id),
            string(&self.title),
            string(&self.status)
        );
        if let Some(text) = &self.guidelines {
            out.push_str(&format!("guidelines = \"\"\"\n{text}\"\"\"\n"));
        }
        if !self.commands.is_empty() {
            out.push_str("\n[commands]\n");
            for (name, shell) in &self.commands {
                out.push_str(&format!("{name} = {}\n", string(shell)));
            }
        }
        if !self.preflight.is_empty() {
            out.push_str(&format!(
                "\n[preflight]\nrun = {}\n",
                strings(&self.preflight)
            ));
        }
        for phase in &self.phases {
            out.push('\n');
            phase.write(&mut out);
        }
        out
    }
}

impl PhaseBuilder {
    /// A phase `id` titled `title`, owned by `dev`.
    pub fn new(id: &str, title: &str) -> PhaseBuilder {
        PhaseBuilder {
            id: id.to_owned(),
            keys: vec![("title", string(title)), ("owner", string("dev"))],
            files: [
                ("create", Vec::new()),
                ("modify", Vec::new()),
                ("delete", Vec::new()),
                ("allow", Vec::new()),
                ("after_verify", Vec::new()),
            ],
            checks: Vec::new(),
            steps: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// Sets `key` to the TOML value `value`, keeping the order of the phase's keys: title,
    /// kind, owner, depends_on, goal, deliverables, blast_radius, timeout.
    fn set(mut self, key: &'static str, value: String) -> PhaseBuilder {
        const ORDER: [&str; 8] = [
            "title",
            "kind",
            "owner",
            "depends_on",
            "goal",
            "deliverables",
            "blast_radius",
            "timeout",
        ];
        let rank = |k: &str| ORDER.iter().position(|o| *o == k).expect("a phase key");
        self.keys.retain(|(k, _)| *k != key);
        let at = self
            .keys
            .iter()
            .position(|(k, _)| rank(k) > rank(key))
            .unwrap_or(self.keys.len());
        self.keys.insert(at, (key, value));
        self
    }

    pub fn kind(self, kind: &str) -> PhaseBuilder {
        self.set("kind", string(kind))
    }

    pub fn owner(self, owner: &str) -> PhaseBuilder {
        self.set("owner", string(owner))
    }

    pub fn depends_on<S: AsRef<str>>(self, ids: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.set("depends_on", strings(owned(ids)))
    }

    pub fn goal(self, goal: &str) -> PhaseBuilder {
        self.set("goal", string(goal))
    }

    pub fn deliverables<S: AsRef<str>>(self, items: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.set("deliverables", strings(owned(items)))
    }

    pub fn blast_radius(self, command: &str) -> PhaseBuilder {
        self.set("blast_radius", string(command))
    }

    /// The executor's time under `git planx run` (`"30m"`).
    pub fn timeout(self, duration: &str) -> PhaseBuilder {
        self.set("timeout", string(duration))
    }

    fn files<S: AsRef<str>>(
        mut self,
        list: usize,
        paths: impl IntoIterator<Item = S>,
    ) -> PhaseBuilder {
        self.files[list].1.extend(owned(paths));
        self
    }

    pub fn create<S: AsRef<str>>(self, paths: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.files(0, paths)
    }

    pub fn modify<S: AsRef<str>>(self, paths: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.files(1, paths)
    }

    pub fn delete<S: AsRef<str>>(self, paths: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.files(2, paths)
    }

    pub fn allow<S: AsRef<str>>(self, globs: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.files(3, globs)
    }

    pub fn after_verify<S: AsRef<str>>(self, paths: impl IntoIterator<Item = S>) -> PhaseBuilder {
        self.files(4, paths)
    }

    pub fn check(mut self, check: Check) -> PhaseBuilder {
        self.checks.push(check);
        self
    }

    /// A check that `path` exists.
    pub fn check_file(self, name: &str, path: &str) -> PhaseBuilder {
        self.check(Check::file(name, path))
    }

    /// A check that runs `command` (a name of `[commands]` or a shell command).
    pub fn check_run(self, name: &str, command: &str) -> PhaseBuilder {
        self.check(Check::run(name, command))
    }

    /// A check a person ticks.
    pub fn check_manual(self, name: &str) -> PhaseBuilder {
        self.check(Check::manual(name))
    }

    pub fn step(mut self, step: Step) -> PhaseBuilder {
        self.steps.push(step);
        self
    }

    /// An array table of the phase, `[[phase.<name>]]`, its keys string values.
    pub fn table(mut self, header: &'static str, keys: &[(&'static str, &str)]) -> PhaseBuilder {
        let keys = keys.iter().map(|(k, v)| (*k, string(v))).collect();
        self.tables.push((header, keys));
        self
    }

    /// A `[[phase.prerequisite]]` verified by `verify`.
    pub fn prerequisite(self, title: &str, why: &str, verify: &str) -> PhaseBuilder {
        self.table(
            "[[phase.prerequisite]]",
            &[("title", title), ("why", why), ("verify", verify)],
        )
    }

    /// A `[[phase.risk]]`.
    pub fn risk(self, risk: &str, likelihood: &str, mitigation: &str) -> PhaseBuilder {
        self.table(
            "[[phase.risk]]",
            &[
                ("risk", risk),
                ("likelihood", likelihood),
                ("mitigation", mitigation),
            ],
        )
    }

    /// A `[[phase.done]]`: a command that shows what done looks like.
    pub fn done(self, run: &str, expect: &str) -> PhaseBuilder {
        self.table("[[phase.done]]", &[("run", run), ("expect", expect)])
    }

    fn write(&self, out: &mut String) {
        out.push_str(&format!("[[phase]]\nid = {}\n", string(&self.id)));
        for (key, value) in &self.keys {
            out.push_str(&format!("{key} = {value}\n"));
        }
        if self.files.iter().any(|(_, paths)| !paths.is_empty()) {
            out.push_str("  [phase.files]\n");
            for (key, paths) in self.files.iter().filter(|(_, p)| !p.is_empty()) {
                out.push_str(&format!("  {key} = {}\n", strings(paths)));
            }
        }
        let tables = self.checks.iter().map(|c| ("[[phase.check]]", &c.keys));
        let steps = self.steps.iter().map(|s| ("[[phase.step]]", &s.keys));
        let more = self.tables.iter().map(|(h, keys)| (*h, keys));
        for (header, keys) in tables.chain(steps).chain(more) {
            out.push_str(&format!("  {header}\n"));
            for (key, value) in keys {
                out.push_str(&format!("  {key} = {value}\n"));
            }
        }
    }
}

impl Check {
    /// A check that `path` exists.
    pub fn file(name: &str, path: &str) -> Check {
        Check {
            keys: vec![("name", string(name)), ("file", string(path))],
        }
    }

    /// A check that runs `command`.
    pub fn run(name: &str, command: &str) -> Check {
        Check {
            keys: vec![("name", string(name)), ("run", string(command))],
        }
    }

    /// A check a person ticks.
    pub fn manual(name: &str) -> Check {
        Check {
            keys: vec![("name", string(name)), ("manual", "true".to_owned())],
        }
    }

    /// A file check: the file also matches the regular expression `pattern`.
    pub fn contains(mut self, pattern: &str) -> Check {
        self.keys.push(("contains", string(pattern)));
        self
    }

    /// A command check: the time it is allowed.
    pub fn timeout(mut self, duration: &str) -> Check {
        self.keys.push(("timeout", string(duration)));
        self
    }
}

impl Step {
    pub fn new(id: &str, title: &str) -> Step {
        Step {
            keys: vec![("id", string(id)), ("title", string(title))],
        }
    }

    pub fn description(mut self, text: &str) -> Step {
        self.keys.push(("description", string(text)));
        self
    }

    /// The command `checkpoint --step` runs for this step.
    pub fn verify(mut self, command: &str) -> Step {
        self.keys.push(("verify", string(command)));
        self
    }
}
