//! `git planx graph`: the phase graph as text, Graphviz dot or Mermaid, with parallel groups.

use clap::{Args, ValueEnum};
use serde_json::json;

use super::ui::{Style, Ui, table};
use super::{GlobalArgs, read_valid_plan};
use crate::error::CliError;
use crate::plan::Plan;
use crate::plan::graph::Graph;

/// Show the phases, their dependencies and the groups that can run in parallel.
///
/// Phases at the same level can run side by side, except those whose manifests could touch
/// the same path: they are put in separate groups.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Groups in execution order, one phase a line
    Text,
    /// Graphviz (`dot -Tsvg`)
    Dot,
    /// A Mermaid flowchart (renders on GitHub and GitLab)
    Mermaid,
}

pub fn cmd_graph(ui: &Ui, global: &GlobalArgs, args: &GraphArgs) -> Result<(), CliError> {
    let plan = read_valid_plan(global)?;
    // A valid plan has no dependency cycle: one here is a bug.
    let graph = Graph::build(&plan)
        .map_err(|_| CliError::internal("a valid plan's dependencies form a cycle"))?;
    if ui.json {
        ui.json(&graph_json(&plan, &graph))?;
        return Ok(());
    }
    let text = match args.format {
        GraphFormat::Text => text(&plan, &graph, ui),
        GraphFormat::Dot => dot(&plan, &graph),
        GraphFormat::Mermaid => mermaid(&plan, &graph),
    };
    ui.out(&text)?;
    Ok(())
}

fn graph_json(plan: &Plan, graph: &Graph) -> serde_json::Value {
    let group_of = group_index(graph, plan.phases.len());
    json!({
        "schema": "planx.graph/1",
        "plan": {"id": plan.id, "title": plan.title, "base": plan.base},
        "phases": graph.order.iter().map(|&i| {
            let phase = &plan.phases[i];
            json!({
                "id": phase.id,
                "title": phase.title,
                "kind": phase.kind,
                "branch": plan.branch(phase),
                "depends_on": phase.depends_on.iter().map(|d| &d.id).collect::<Vec<_>>(),
                "level": graph.levels[i] + 1,
                "group": group_of[i] + 1,
            })
        }).collect::<Vec<_>>(),
        "groups": graph.groups.iter().enumerate().map(|(n, g)| json!({
            "group": n + 1,
            "level": g.level + 1,
            "phases": g.phases.iter().map(|&i| &plan.phases[i].id).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "conflicts": graph.conflicts.iter().map(|c| json!({
            "phases": [&plan.phases[c.a].id, &plan.phases[c.b].id],
            "entries": [
                {"phase": &plan.phases[c.a].id, "kind": c.entry_a.0, "path": c.entry_a.1},
                {"phase": &plan.phases[c.b].id, "kind": c.entry_b.0, "path": c.entry_b.1},
            ],
        })).collect::<Vec<_>>(),
    })
}

fn group_index(graph: &Graph, n: usize) -> Vec<usize> {
    let mut group_of = vec![0; n];
    for (g, group) in graph.groups.iter().enumerate() {
        for &i in &group.phases {
            group_of[i] = g;
        }
    }
    group_of
}

fn text(plan: &Plan, graph: &Graph, ui: &Ui) -> String {
    let p = ui.out_painter();
    let mut rows: Vec<Vec<String>> = vec![vec![format!(
        "{} {}",
        p.paint(Style::Bold, &format!("plan {}:", plan.id)),
        plan.title
    )]];
    for (n, group) in graph.groups.iter().enumerate() {
        let level_groups = graph
            .groups
            .iter()
            .filter(|g| g.level == group.level)
            .count();
        let mut heading = format!("group {} (level {}", n + 1, group.level + 1);
        if level_groups > 1 {
            heading.push_str(", kept apart from the rest of its level: manifests overlap");
        }
        heading.push(')');
        if group.phases.len() > 1 {
            heading.push_str(&format!(": {} phases in parallel", group.phases.len()));
        }
        rows.push(vec![String::new()]);
        rows.push(vec![p.paint(Style::Bold, &heading)]);
        for &i in &group.phases {
            let phase = &plan.phases[i];
            let after = if phase.depends_on.is_empty() {
                String::new()
            } else {
                let deps: Vec<&str> = phase.depends_on.iter().map(|d| d.id.as_str()).collect();
                p.paint(Style::Dim, &format!("after {}", deps.join(", ")))
            };
            rows.push(vec![
                format!("  {}", phase.id),
                phase.title.clone(),
                phase.kind.as_str().to_owned(),
                after,
            ]);
        }
    }
    table(&rows)
}

fn dot(plan: &Plan, graph: &Graph) -> String {
    let mut out = format!("digraph {} {{\n", quote(&plan.id));
    out.push_str("  rankdir=LR;\n  node [shape=box];\n");
    for (n, group) in graph.groups.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_{} {{\n    label={};\n",
            n + 1,
            quote(&format!("group {} (level {})", n + 1, group.level + 1))
        ));
        for &i in &group.phases {
            let phase = &plan.phases[i];
            out.push_str(&format!(
                "    {} [label={}];\n",
                quote(&phase.id),
                quote(&format!(
                    "{}\\n{}\\n({})",
                    phase.id,
                    phase.title,
                    phase.kind.as_str()
                ))
            ));
        }
        out.push_str("  }\n");
    }
    for &i in &graph.order {
        for dep in &plan.phases[i].depends_on {
            out.push_str(&format!(
                "  {} -> {};\n",
                quote(&dep.id),
                quote(&plan.phases[i].id)
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// A double-quoted dot ID; backslash sequences the caller wrote (`\n`) are kept.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\\\""))
}

fn mermaid(plan: &Plan, graph: &Graph) -> String {
    let node = |i: usize| format!("p{}", i + 1);
    let mut out = String::from("flowchart LR\n");
    for (n, group) in graph.groups.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph g{}[\"group {} (level {})\"]\n",
            n + 1,
            n + 1,
            group.level + 1
        ));
        for &i in &group.phases {
            let phase = &plan.phases[i];
            out.push_str(&format!(
                "    {}[\"{}<br/>{}<br/><i>{}</i>\"]\n",
                node(i),
                mermaid_text(&phase.id),
                mermaid_text(&phase.title),
                phase.kind.as_str()
            ));
        }
        out.push_str("  end\n");
    }
    for &i in &graph.order {
        for dep in &plan.phases[i].depends_on {
            if let Some(d) = plan.phases.iter().position(|p| p.id == dep.id) {
                out.push_str(&format!("  {} --> {}\n", node(d), node(i)));
            }
        }
    }
    out
}

/// Text safe inside a quoted Mermaid label.
fn mermaid_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
