//! The phase graph: dependency order, cycles, levels and the parallel groups.
//!
//! Two phases are *independent* when neither depends on the other, directly or not: they may
//! run at the same time. When the manifests of two independent phases could touch the same path
//! they must not; `check` warns about such pairs and the groups keep them apart.

use std::collections::{BTreeSet, HashMap};

use super::diag::Diagnostics;
use super::{EntryKind, Plan};

/// The graph of a plan without cycles. Phases are referred to by their index in `plan.phases`.
#[derive(Debug, Clone)]
pub struct Graph {
    /// A topological order: dependencies first, ties broken by position in the file.
    pub order: Vec<usize>,
    /// The level of each phase: 0 without dependencies, else one more than its deepest one.
    pub levels: Vec<usize>,
    /// Parallel groups in execution order: each level split so that no group holds two phases
    /// whose manifests overlap.
    pub groups: Vec<Group>,
    /// Independent phases whose manifests could touch the same path.
    pub conflicts: Vec<Conflict>,
    /// `depends[i]` are the indices of the phases phase `i` depends on (directly).
    pub depends: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub level: usize,
    pub phases: Vec<usize>,
}

/// Two independent phases that may touch the same path, with one pair of entries that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub a: usize,
    pub b: usize,
    pub entry_a: (EntryKind, String),
    pub entry_b: (EntryKind, String),
}

/// A dependency cycle, as phase indices: `cycle[0]` depends on `cycle[1]` … depends on `cycle[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<usize>);

impl Graph {
    pub fn build(plan: &Plan) -> Result<Graph, Vec<Cycle>> {
        let depends = direct_dependencies(plan);
        let cycles = find_cycles(&depends);
        if !cycles.is_empty() {
            return Err(cycles);
        }
        let n = depends.len();
        let order = topological_order(&depends);
        let mut levels = vec![0; n];
        for &i in &order {
            levels[i] = depends[i].iter().map(|&d| levels[d] + 1).max().unwrap_or(0);
        }
        let ancestors = ancestor_sets(&depends, &order);
        let conflicts = find_conflicts(plan, &ancestors);
        let groups = split_groups(&levels, &conflicts);
        Ok(Graph {
            order,
            levels,
            groups,
            conflicts,
            depends,
        })
    }

    /// The topological order alone (the `order` of [`Graph::build`]), without the levels,
    /// groups and overlapping manifests that `build` also works out.
    pub fn order(plan: &Plan) -> Result<Vec<usize>, Vec<Cycle>> {
        let depends = direct_dependencies(plan);
        let cycles = find_cycles(&depends);
        if !cycles.is_empty() {
            return Err(cycles);
        }
        Ok(topological_order(&depends))
    }

    /// Do phases `a` and `b` conflict (may touch the same path while independent)?
    pub fn conflict(&self, a: usize, b: usize) -> Option<&Conflict> {
        self.conflicts
            .iter()
            .find(|c| (c.a, c.b) == (a, b) || (c.a, c.b) == (b, a))
    }
}

fn direct_dependencies(plan: &Plan) -> Vec<Vec<usize>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        index.entry(phase.id.as_str()).or_insert(i);
    }
    plan.phases
        .iter()
        .map(|phase| {
            phase
                .depends_on
                .iter()
                .filter_map(|dep| index.get(dep.id.as_str()).copied())
                .collect()
        })
        .collect()
}

/// Kahn's algorithm, always taking the earliest-declared ready phase.
fn topological_order(depends: &[Vec<usize>]) -> Vec<usize> {
    let n = depends.len();
    let mut waiting: Vec<usize> = depends.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, deps) in depends.iter().enumerate() {
        for &d in deps {
            dependents[d].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.insert(j);
            }
        }
    }
    order
}

/// One cycle per strongly connected component that has one, each starting at its
/// earliest-declared phase.
fn find_cycles(depends: &[Vec<usize>]) -> Vec<Cycle> {
    let components = strongly_connected(depends);
    let mut cycles: Vec<Cycle> = components
        .into_iter()
        .filter(|c| c.len() > 1)
        .filter_map(|component| {
            let start = *component.iter().min()?;
            shortest_path_back(depends, &component, start).map(Cycle)
        })
        .collect();
    cycles.sort_by_key(|c| c.0[0]);
    cycles
}

/// Breadth-first search inside a component for the shortest cycle through `start`.
fn shortest_path_back(
    depends: &[Vec<usize>],
    component: &[usize],
    start: usize,
) -> Option<Vec<usize>> {
    let mut previous = vec![usize::MAX; depends.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        let mut next: Vec<usize> = depends[i]
            .iter()
            .copied()
            .filter(|d| component.contains(d))
            .collect();
        next.sort_unstable();
        for d in next {
            if d == start {
                let mut path = vec![i];
                let mut at = i;
                while at != start {
                    at = previous[at];
                    path.push(at);
                }
                path.reverse();
                return Some(path);
            }
            if previous[d] == usize::MAX {
                previous[d] = i;
                queue.push_back(d);
            }
        }
    }
    None
}

/// Tarjan's algorithm, iterative so that a long chain of phases cannot overflow the stack.
fn strongly_connected(depends: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = depends.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some((v, child)) = work.pop() {
            if child == 0 {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = depends[v].get(child) {
                work.push((v, child + 1));
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
        }
    }
    components
}

/// `result[i]` holds every phase that phase `i` depends on, directly or not.
fn ancestor_sets(depends: &[Vec<usize>], order: &[usize]) -> Vec<Vec<bool>> {
    let n = depends.len();
    let mut ancestors = vec![vec![false; n]; n];
    for &i in order {
        for &d in &depends[i] {
            let inherited = ancestors[d].clone();
            let mine = &mut ancestors[i];
            mine[d] = true;
            for (m, a) in mine.iter_mut().zip(inherited) {
                *m |= a;
            }
        }
    }
    ancestors
}

fn find_conflicts(plan: &Plan, ancestors: &[Vec<bool>]) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    let phases = &plan.phases;
    for (a, b) in candidate_pairs(plan) {
        if ancestors[a][b] || ancestors[b][a] {
            continue;
        }
        let overlap = phases[a].files.all().find_map(|(ka, ea)| {
            phases[b]
                .files
                .all()
                .find(|(_, eb)| ea.pattern.intersects(&eb.pattern))
                .map(|(kb, eb)| ((ka, ea.pattern.to_string()), (kb, eb.pattern.to_string())))
        });
        if let Some((entry_a, entry_b)) = overlap {
            conflicts.push(Conflict {
                a,
                b,
                entry_a,
                entry_b,
            });
        }
    }
    conflicts
}

/// The pairs of phases `(a, b)`, `a < b`, with entries that could match the same path, in
/// order. Two patterns can only both match a path when the literal prefix of one (the text
/// before its first wildcard) starts with the other's: with the entries sorted by prefix, the
/// entries that extend a prefix follow it, so a plan of many phases is not compared pair by
/// pair.
fn candidate_pairs(plan: &Plan) -> BTreeSet<(usize, usize)> {
    let mut entries: Vec<(&str, usize)> = plan
        .phases
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.files
                .all()
                .map(move |(_, e)| (e.pattern.literal_prefix(), i))
        })
        .collect();
    entries.sort_unstable();
    let mut pairs = BTreeSet::new();
    for (k, &(prefix, a)) in entries.iter().enumerate() {
        for &(other, b) in &entries[k + 1..] {
            if !other.starts_with(prefix) {
                break;
            }
            if a != b {
                pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    pairs
}

/// Each level becomes one group, split where two of its phases conflict (first fit, in file
/// order).
fn split_groups(levels: &[usize], conflicts: &[Conflict]) -> Vec<Group> {
    let conflicting =
        |a: usize, b: usize| conflicts.iter().any(|c| (c.a, c.b) == (a.min(b), a.max(b)));
    let depth = levels.iter().max().map_or(0, |m| m + 1);
    let mut groups = Vec::new();
    for level in 0..depth {
        let mut here: Vec<Group> = Vec::new();
        for i in (0..levels.len()).filter(|&i| levels[i] == level) {
            match here
                .iter_mut()
                .find(|g| g.phases.iter().all(|&j| !conflicting(i, j)))
            {
                Some(group) => group.phases.push(i),
                None => here.push(Group {
                    level,
                    phases: vec![i],
                }),
            }
        }
        groups.extend(here);
    }
    groups
}

/// Reports cycles (errors) and, with `overlaps`, phases that may run together on the same
/// paths (warnings).
pub(crate) fn diagnose(plan: &Plan, d: &mut Diagnostics<'_>, overlaps: bool) {
    let conflicts = if overlaps {
        Graph::build(plan).map(|graph| graph.conflicts)
    } else {
        Graph::order(plan).map(|_| Vec::new())
    };
    match conflicts {
        Err(cycles) => {
            for Cycle(cycle) in cycles {
                let first = &plan.phases[cycle[0]];
                let second = &plan.phases[cycle[1 % cycle.len()]];
                let span = first
                    .depends_on
                    .iter()
                    .find(|dep| dep.id == second.id)
                    .map_or(first.span.clone(), |dep| dep.span.clone());
                let mut names: Vec<&str> =
                    cycle.iter().map(|&i| plan.phases[i].id.as_str()).collect();
                names.push(&first.id);
                d.error(
                    span,
                    "dependency-cycle",
                    format!("dependency cycle: {}", names.join(" → ")),
                    "a phase cannot wait for itself; remove one of these dependencies",
                );
            }
        }
        Ok(conflicts) => {
            for conflict in &conflicts {
                let (a, b) = (&plan.phases[conflict.a], &plan.phases[conflict.b]);
                let (ka, pa) = &conflict.entry_a;
                let (kb, pb) = &conflict.entry_b;
                let what = if pa == pb {
                    format!("both list `{pa}`")
                } else {
                    format!(
                        "`{pa}` ({} of `{}`) and `{pb}` ({} of `{}`) can name the same path",
                        ka.as_str(),
                        a.id,
                        kb.as_str(),
                        b.id
                    )
                };
                let span = b
                    .files
                    .all()
                    .find(|(k, e)| k == kb && e.pattern.as_str() == pb)
                    .map_or(b.span.clone(), |(_, e)| e.span.clone());
                d.warning(
                    span,
                    "overlapping-manifests",
                    format!("phases `{}` and `{}` may run at the same time, but {what}", a.id, b.id),
                    "make one depend on the other, or narrow the manifests; until then they are never run side by side",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Glob;

    /// Independent phases (no dependencies), one manifest pattern each.
    fn plan_of(patterns: &[&str]) -> Plan {
        let mut text = String::from(
            "version = 1\n[plan]\nid = \"g\"\ntitle = \"G\"\nstatus = \"ready\"\nbase = \"main\"\n",
        );
        for (i, pattern) in patterns.iter().enumerate() {
            text.push_str(&format!(
                "[[phase]]\nid = \"p{i}\"\ntitle = \"P\"\nkind = \"design\"\nowner = \"x\"\n\
                 [phase.files]\nallow = [\"{pattern}\"]\n[[phase.check]]\nname = \"c\"\nmanual = true\n"
            ));
        }
        let (plan, _) =
            crate::plan::load_bytes("plan.toml", text.into_bytes(), &crate::plan::NoPathFacts)
                .into_valid()
                .expect("a valid plan");
        plan
    }

    #[test]
    fn conflicts_are_those_of_comparing_every_pair() {
        let patterns = [
            "src/**",
            "src/a/b.rs",
            "src/a/*.rs",
            "src/ab.rs",
            "**/*.md",
            "docs/x.md",
            "docs/x.mdx",
            "lib/[ab]*.rs",
            "lib/b1.rs",
            "lib/c.rs",
            "?/x",
            "a/x",
            "tests/**/mod.rs",
            "tests/unit/mod.rs",
            "tests/unit/lib.rs",
        ];
        let plan = plan_of(&patterns);
        let graph = Graph::build(&plan).expect("no cycle");
        let found: Vec<(usize, usize)> = graph.conflicts.iter().map(|c| (c.a, c.b)).collect();
        let mut expected = Vec::new();
        for a in 0..patterns.len() {
            for b in a + 1..patterns.len() {
                let (pa, pb) = (
                    Glob::parse(patterns[a]).unwrap(),
                    Glob::parse(patterns[b]).unwrap(),
                );
                if pa.intersects(&pb) {
                    expected.push((a, b));
                }
            }
        }
        assert!(expected.len() > 5, "the patterns should overlap somewhere");
        assert_eq!(found, expected);
    }
}
