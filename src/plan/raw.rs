//! The plan file as serde reads it: every key optional and spanned, unknown keys refused.
//!
//! Required keys are `Option` here on purpose: their absence is reported by validation with the
//! position of the table that lacks them, next to every other problem, instead of stopping
//! deserialization at the first one.
//!
//! [`read`] turns serde's stop-at-the-first-error behaviour into "report everything": when a
//! table fails to deserialize, the offending entry is recorded and removed from the parsed
//! document, and deserialization is tried again, until it succeeds.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::Diagnostics;

pub(crate) type S<T> = Spanned<T>;
pub(crate) type StrList = Option<S<Vec<S<String>>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub version: Option<S<i64>>,
    pub plan: Option<S<RawPlan>>,
    pub commands: Option<S<BTreeMap<S<String>, S<String>>>>,
    pub preflight: Option<S<RawPreflight>>,
    pub run: Option<S<RawRun>>,
    pub evidence: Option<S<RawEvidence>>,
    #[serde(default)]
    pub phase: Vec<S<RawPhase>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlan {
    pub id: Option<S<String>>,
    pub title: Option<S<String>>,
    pub status: Option<S<String>>,
    pub base: Option<S<String>>,
    pub branch_prefix: Option<S<String>>,
    pub strict: Option<S<bool>>,
    pub guidelines: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPreflight {
    pub clean_worktree: Option<S<bool>>,
    pub run: StrList,
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRun {
    pub executor: Option<S<String>>,
    pub jobs: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvidence {
    pub signers: Option<S<BTreeMap<S<String>, S<String>>>>,
    pub unknown_signers: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPhase {
    pub id: Option<S<String>>,
    pub title: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub owner: Option<S<String>>,
    pub depends_on: StrList,
    pub goal: Option<S<String>>,
    pub deliverables: StrList,
    pub blast_radius: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub files: Option<S<RawFiles>>,
    #[serde(default)]
    pub check: Vec<S<RawCheck>>,
    #[serde(default)]
    pub step: Vec<S<RawStep>>,
    #[serde(default)]
    pub prerequisite: Vec<S<RawPrerequisite>>,
    #[serde(default)]
    pub risk: Vec<S<RawRisk>>,
    #[serde(default)]
    pub done: Vec<S<RawDone>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFiles {
    pub create: StrList,
    pub modify: StrList,
    pub delete: StrList,
    pub allow: StrList,
    pub after_verify: StrList,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    pub name: Option<S<String>>,
    pub run: Option<S<String>>,
    pub expect_exit: Option<S<i64>>,
    pub timeout: Option<S<String>>,
    pub tdd: Option<S<bool>>,
    pub file: Option<S<String>>,
    pub contains: Option<S<String>>,
    pub manual: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub id: Option<S<String>>,
    pub title: Option<S<String>>,
    pub description: Option<S<String>>,
    pub verify: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrerequisite {
    pub title: Option<S<String>>,
    pub why: Option<S<String>>,
    pub verify: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRisk {
    pub risk: Option<S<String>>,
    pub likelihood: Option<S<String>>,
    pub mitigation: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDone {
    pub run: Option<S<String>>,
    pub expect: Option<S<String>>,
}

/// Entries removed from the document because their value was unusable; validation does not
/// report them a second time as missing.
#[derive(Debug, Default)]
pub(crate) struct Removed(Vec<(usize, String)>);

impl Removed {
    /// Was `key` of the table whose span starts at `table_start` removed?
    pub fn contains(&self, table_start: usize, key: &str) -> bool {
        self.0.iter().any(|(t, k)| *t == table_start && k == key)
    }
}

/// Deserializes the parsed document, reporting every entry serde refuses. `None` when an error
/// could not be tied to an entry (it is reported; nothing more can be checked).
pub(crate) fn read(
    mut root: Spanned<DeTable<'_>>,
    diags: &mut Diagnostics<'_>,
) -> Option<(RawFile, Removed)> {
    let mut removed = Removed::default();
    // Each round removes one entry, so this ends; the bound only guards against a serde error
    // whose span matches no entry.
    for _ in 0..1000 {
        match RawFile::deserialize(toml::de::Deserializer::from(root.clone())) {
            Ok(file) => return Some((file, removed)),
            Err(error) => {
                let span = error.span().unwrap_or(0..0);
                let root_span = root.span();
                match remove_entry(root.get_mut(), root_span.start, &span, "") {
                    Some(found) => {
                        report(diags, &error, &span, &found);
                        removed.0.push((found.table_start, found.key));
                    }
                    None => {
                        diags.error(
                            span,
                            "invalid-plan",
                            error.message().to_owned(),
                            "see docs/plan-format.md for the layout of a plan",
                        );
                        return None;
                    }
                }
            }
        }
    }
    None
}

struct Found {
    table_start: usize,
    /// `at the top level`, `in [plan]`, `in [[phase]]`, … for messages.
    table: String,
    key: String,
    key_span: Range<usize>,
}

/// Removes the innermost entry whose key or value holds `span`. Tables are searched whatever
/// their span: the span of a `[table]` is only its header, not the keys below it.
fn remove_entry(
    table: &mut DeTable<'_>,
    table_start: usize,
    span: &Range<usize>,
    path: &str,
) -> Option<Found> {
    let keys: Vec<_> = table.keys().cloned().collect();
    for key in keys {
        let name = key.get_ref().to_string();
        let child_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let value = table.get_mut(key.get_ref().as_ref())?;
        let value_span = value.span();
        let holds = covers(&key.span(), span);
        let deeper = match value.get_mut() {
            _ if holds => None,
            DeValue::Table(inner) => remove_entry(inner, value_span.start, span, &child_path),
            DeValue::Array(items) => items.iter_mut().find_map(|item| {
                let item_span = item.span();
                match item.get_mut() {
                    DeValue::Table(inner) => {
                        remove_entry(inner, item_span.start, span, &child_path)
                    }
                    _ => None,
                }
            }),
            _ => None,
        };
        if deeper.is_some() {
            return deeper;
        }
        if holds || covers(&value_span, span) {
            table.remove(key.get_ref().as_ref());
            return Some(Found {
                table_start,
                table: table_name(path),
                key: name,
                key_span: key.span(),
            });
        }
    }
    None
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && !(outer.is_empty() && inner != outer)
}

fn table_name(path: &str) -> String {
    match path {
        "" => "at the top level".into(),
        "phase" => "in [[phase]]".into(),
        "phase.check" => "in [[phase.check]]".into(),
        "phase.step" => "in [[phase.step]]".into(),
        "phase.prerequisite" => "in [[phase.prerequisite]]".into(),
        "phase.risk" => "in [[phase.risk]]".into(),
        "phase.done" => "in [[phase.done]]".into(),
        other => format!("in [{other}]"),
    }
}

fn report(
    diags: &mut Diagnostics<'_>,
    error: &toml::de::Error,
    span: &Range<usize>,
    found: &Found,
) {
    let message = error.message();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let expected = backticked(rest.split_once('`').map_or("", |(_, tail)| tail));
        let hint = match closest(&found.key, &expected) {
            Some(best) => format!("did you mean `{best}`?"),
            None if expected.is_empty() => "no keys are allowed here".to_owned(),
            None => format!("the keys allowed here are {}", list(&expected)),
        };
        diags.error(
            found.key_span.clone(),
            "unknown-key",
            format!("unknown key `{}` {}", found.key, found.table),
            hint,
        );
    } else {
        let detail = message
            .strip_prefix("invalid type: ")
            .and_then(|rest| rest.rsplit_once(", expected "))
            .map(|(found_type, expected)| {
                format!(
                    "expected {}, found {}",
                    type_name(expected),
                    type_name(found_type)
                )
            })
            .unwrap_or_else(|| message.to_owned());
        diags.error(
            span.clone(),
            "wrong-type",
            format!("`{}` {}: {detail}", found.key, found.table),
            "see docs/plan-format.md for the type of each key",
        );
    }
}

/// serde's names for TOML types, in TOML's words.
fn type_name(serde_name: &str) -> String {
    let mut name = serde_name.to_owned();
    for (from, to) in [
        ("a sequence", "an array"),
        ("sequence", "array"),
        ("a map", "a table"),
        ("map", "table"),
        ("i64", "an integer"),
        ("integer `", "the integer `"),
    ] {
        if let Some(rest) = name.strip_prefix(from) {
            name = format!("{to}{rest}");
            break;
        }
    }
    name
}

/// The names in backticks of a serde "expected one of `a`, `b`" message.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate nearest to `word` by edit distance, when it is near enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    let word_len = word.chars().count();
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| {
            let len = c.chars().count();
            let near = *d <= (len / 3).max(1) && *d < len && *d < word_len;
            near || (word_len >= 3 && (c.starts_with(word) || word.starts_with(c.as_str())))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        let keys: Vec<String> = ["id", "title", "depends_on", "goal"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest("depends", &keys), Some("depends_on"));
        assert_eq!(closest("dependson", &keys), Some("depends_on"));
        assert_eq!(closest("titel", &keys), Some("title"));
        assert_eq!(closest("colour", &keys), None);
        let phases: Vec<String> = ["a", "b", "phase-1"].map(String::from).to_vec();
        assert_eq!(closest("x", &phases), None);
        assert_eq!(closest("phase-2", &phases), Some("phase-1"));
    }
}
