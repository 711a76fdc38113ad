//! Markdown that renders the same on GitHub, GitLab and any CommonMark reader with tables:
//! table cells that cannot break their row, code spans and fences that cannot be closed by what
//! they quote, and collapsible `<details>` for long output. Paths are shown as UTF-8 (a
//! document is read in a browser, not a terminal): git's quoting of bytes above 0x7f is undone.

use crate::git::path::requote;

/// The formats of the documents `brief`, `review` and `report` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown (CommonMark with GitHub's tables), for GitHub, GitLab and people.
    Md,
    /// One JSON document.
    Json,
}

/// `value` as a JSON document carrying its schema (`planx.<command>/1`).
pub fn document(schema: &str, value: &impl serde::Serialize) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("schema".into(), schema.into());
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(value) {
        doc.extend(fields);
    }
    serde_json::Value::Object(doc)
}

/// Text for a table cell: one line, `|` escaped (GFM tables split rows on it, even inside code
/// spans).
pub fn cell(text: &str) -> String {
    requote(text, false)
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A code span holding `text` literally (for a table cell, pass it through [`cell`] after).
pub fn code(text: &str) -> String {
    let text = requote(text, false).replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A code span for a table cell.
pub fn code_cell(text: &str) -> String {
    cell(&code(text))
}

/// A fenced code block holding `text` literally.
pub fn fence(text: &str, info: &str) -> String {
    let ticks = "`".repeat(longest_run(text, '`').max(2) + 1);
    let mut body = text.trim_end_matches('\n').to_owned();
    body.push('\n');
    format!("{ticks}{info}\n{body}{ticks}\n")
}

/// Text inside an HTML element (`<summary>`).
pub fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// Text for a heading: one line.
pub fn line(text: &str) -> String {
    requote(text, false)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table with a header row; every cell already made with [`cell`] or [`code_cell`].
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    out.push_str(&format!(
        "|{}\n",
        header.iter().map(|_| " --- |").collect::<String>()
    ));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// Output collapsed under a summary line, as GitHub and GitLab render `<details>`.
pub fn details(summary: &str, text: &str) -> String {
    format!(
        "<details><summary>{}</summary>\n\n{}\n</details>\n",
        html(summary),
        fence(text, "text")
    )
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        if ch == c {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_on_their_row() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(code_cell("test -f a || true"), "`test -f a \\|\\| true`");
    }

    #[test]
    fn code_cannot_be_closed_by_what_it_quotes() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("echo `date`"), "`` echo `date` ``");
        assert_eq!(fence("```\nx", ""), "````\n```\nx\n````\n");
        assert_eq!(fence("x\n", "text"), "```text\nx\n```\n");
    }

    #[test]
    fn tables_have_a_delimiter_row() {
        assert_eq!(
            table(&["a", "b"], &[vec!["1".into(), "2".into()]]),
            "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
        );
    }
}
