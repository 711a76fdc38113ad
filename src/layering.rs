//! The layers of the crate, and the test that holds them (docs/architecture.md).
//!
//! [`LAYERS`] is the one statement of the order: a module imports only modules on lower lines,
//! and modules on one line never import each other. Inside a module, its files import each
//! other without a cycle; a folder's `mod.rs` is the module's front — it declares and
//! re-exports its files and holds what they share — so imports between it and its own files
//! do not count as a cycle.
//!
//! The test reads `src/` as text: every `use` tree and every `crate::` / `super::` / `self::`
//! path outside comments and literals (test code included), resolved to the file it names. It
//! knows Rust's module paths and nothing else, which keeps it small: a path through a
//! re-export is seen as an import of the file that re-exports, not of the item's own file.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

/// The layers, top first.
///
/// - `claim` sits above `remote`, whose fetch and push with a lease make a claim.
/// - `interrupt` sits below `process`, which registers each command's process group with it.
/// - `cache` sits above `trust`: each kept file is sealed with this machine's signing key.
/// - `git` sits above `lock` (the worktree list is changed under a lock) and `plan` (the work
///   tree's facts for a plan's path rules).
pub const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["error"],
    &["run", "agents"],
    &["lifecycle", "report", "hooks"],
    &["verify"],
    &["state", "claim"],
    &["cache"],
    &["trust", "process", "remote"],
    &["interrupt"],
    &["git"],
    &["lock"],
    &["plan"],
    &["clock"],
];

/// Imports that break the order today, each with the reason it is let stand. An entry no
/// import needs any more fails the test, so the list only shrinks.
const KNOWN: &[(&str, &str, &str)] = &[];

/// One file of `src/`: its path below `src/` (`verify/mod.rs`) and its text.
pub struct Source {
    pub path: String,
    pub text: String,
}

/// An import the layering does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The importing file, below `src/`.
    pub file: String,
    pub line: usize,
    /// The path as written, `use` trees expanded: `crate::hooks::decide::bypassed`.
    pub import: String,
    pub why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "src/{}:{}: `{}`: {}",
            self.file, self.line, self.import, self.why
        )
    }
}

/// An import from one file to another.
#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    line: usize,
    import: String,
}

/// Checks `sources` against `layers` (top first), allowing the `known` exceptions.
pub fn check(sources: &[Source], layers: &[&[&str]], known: &[(&str, &str, &str)]) -> Vec<Problem> {
    let files: Vec<Vec<String>> = sources.iter().map(|s| module_of(&s.path)).collect();
    let modules: HashSet<Vec<String>> = files.iter().cloned().collect();
    let layer_of = |top: &str| layers.iter().position(|line| line.contains(&top));

    let mut edges = Vec::new();
    for (from, source) in sources.iter().enumerate() {
        for (line, path) in paths_in(&source.text, &files[from], &modules) {
            let Some(to) = file_of(&path.absolute, &files) else {
                continue;
            };
            if to != from {
                edges.push(Edge {
                    from,
                    to,
                    line,
                    import: path.written,
                });
            }
        }
    }

    let mut problems = Vec::new();
    let mut used_known = BTreeSet::new();
    let mut unlayered = BTreeSet::new();
    for edge in &edges {
        let (from, to) = (&files[edge.from], &files[edge.to]);
        let (Some(a), Some(b)) = (from.first(), to.first()) else {
            continue;
        };
        if a == b {
            continue;
        }
        let problem = |why: String| Problem {
            file: sources[edge.from].path.clone(),
            line: edge.line,
            import: edge.import.clone(),
            why,
        };
        match (layer_of(a), layer_of(b)) {
            (None, _) | (_, None) => {
                let missing = if layer_of(a).is_none() { a } else { b };
                if unlayered.insert(missing.clone()) {
                    problems.push(problem(format!(
                        "module `{missing}` has no layer in LAYERS"
                    )));
                }
            }
            (Some(la), Some(lb)) if la >= lb => {
                if let Some(k) = known.iter().position(|(x, y, _)| x == a && y == b) {
                    used_known.insert(k);
                    continue;
                }
                let why = if la == lb {
                    format!("`{a}` may not import `{b}`: they are on one layer")
                } else {
                    format!("`{a}` may not import `{b}`, which is above it")
                };
                problems.push(problem(why));
            }
            _ => {}
        }
    }
    for (k, (a, b, _)) in known.iter().enumerate() {
        if !used_known.contains(&k) {
            problems.push(Problem {
                file: "layering.rs".into(),
                line: 0,
                import: format!("{a} -> {b}"),
                why: "a known exception no import needs any more: remove it from KNOWN".into(),
            });
        }
    }
    problems.extend(cycles(sources, &files, &edges));
    problems
}

/// Imports between files of one module that go round: each import inside a cycle is a
/// problem. Imports between a folder's `mod.rs` and the files below it are left out.
fn cycles(sources: &[Source], files: &[Vec<String>], edges: &[Edge]) -> Vec<Problem> {
    let inner: Vec<&Edge> = edges
        .iter()
        .filter(|e| {
            let (a, b) = (&files[e.from], &files[e.to]);
            a.first() == b.first() && !a.starts_with(b) && !b.starts_with(a)
        })
        .collect();
    let mut next: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for e in &inner {
        next.entry(e.from).or_default().insert(e.to);
    }
    let reaches = |start: usize, goal: usize| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            if n == goal {
                return true;
            }
            if seen.insert(n) {
                stack.extend(next.get(&n).into_iter().flatten().copied());
            }
        }
        false
    };
    let mut problems = Vec::new();
    let mut reported = BTreeSet::new();
    for e in inner {
        if reaches(e.to, e.from) && reported.insert((e.from, e.to)) {
            let module = files[e.from][0].clone();
            problems.push(Problem {
                file: sources[e.from].path.clone(),
                line: e.line,
                import: e.import.clone(),
                why: format!(
                    "files of `{module}` import each other: {} and {} are in a cycle",
                    sources[e.from].path, sources[e.to].path
                ),
            });
        }
    }
    problems
}

/// The module a file below `src/` defines: `verify/mod.rs` → `verify`, `git/cli.rs` →
/// `git::cli`, `lib.rs` → the crate root.
fn module_of(path: &str) -> Vec<String> {
    let path = path.strip_suffix(".rs").unwrap_or(path);
    let mut parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    let root = parts.len() == 1 && matches!(parts[0].as_str(), "lib" | "main");
    if root || parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of `absolute` (a module path from the crate
/// root); `None` for the crate root itself.
fn file_of(absolute: &[String], files: &[Vec<String>]) -> Option<usize> {
    (1..=absolute.len())
        .rev()
        .find_map(|n| files.iter().position(|f| f.as_slice() == &absolute[..n]))
}

/// A path found in a file: as written, and from the crate root.
struct FoundPath {
    written: String,
    absolute: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Every crate-internal path in `text`, a file of module `module`, with its line.
fn paths_in(
    text: &str,
    module: &[String],
    modules: &HashSet<Vec<String>>,
) -> Vec<(usize, FoundPath)> {
    let tokens = tokens(&strip(text));
    let mut out = Vec::new();
    // The inline modules (`mod tests { … }`) the cursor is in, with the brace depth each
    // opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let current: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(m, _)| m.clone()))
            .collect();
        let (line, token) = &tokens[i];
        match token {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some((_, Token::Ident(name))), Some((_, Token::Punct('{')))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Token::Ident(word)
                if word == "use" && tokens.get(i + 1).map(|t| &t.1) != Some(&Token::Punct('<')) =>
            {
                let mut j = i + 1;
                let mut found = Vec::new();
                use_tree(&tokens, &mut j, &[], &mut found);
                for segs in found {
                    push_resolved(&mut out, *line, &current, &segs, modules);
                }
                i = j;
                continue;
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && tokens.get(i + 1).map(|t| &t.1) == Some(&Token::PathSep)
                    && !matches!(
                        i.checked_sub(1).map(|p| &tokens[p].1),
                        Some(Token::PathSep | Token::Punct('$'))
                    ) =>
            {
                let mut segs = vec![word.clone()];
                let mut j = i + 1;
                while let (Some((_, Token::PathSep)), Some((_, Token::Ident(next)))) =
                    (tokens.get(j), tokens.get(j + 1))
                {
                    segs.push(next.clone());
                    j += 2;
                }
                push_resolved(&mut out, *line, &current, &segs, modules);
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Expands the `use` tree starting at `tokens[*i]` into its paths, each prefixed by `prefix`;
/// leaves `*i` after the tree.
fn use_tree(
    tokens: &[(usize, Token)],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) {
    let mut path: Vec<String> = prefix.to_vec();
    let mut named = false;
    while let Some((_, token)) = tokens.get(*i) {
        match token {
            Token::Ident(word) if word == "as" => *i += 2,
            Token::Ident(word) if word == "self" && !prefix.is_empty() && !named => {
                named = true;
                *i += 1;
            }
            Token::Ident(word) => {
                path.push(word.clone());
                named = true;
                *i += 1;
            }
            Token::PathSep => *i += 1,
            Token::Punct('*') => {
                named = true;
                *i += 1;
            }
            Token::Punct('{') => {
                *i += 1;
                loop {
                    use_tree(tokens, i, &path, out);
                    match tokens.get(*i) {
                        Some((_, Token::Punct(','))) => *i += 1,
                        Some((_, Token::Punct('}'))) => {
                            *i += 1;
                            break;
                        }
                        _ => break,
                    }
                    if let Some((_, Token::Punct('}'))) = tokens.get(*i) {
                        *i += 1;
                        break;
                    }
                }
                return;
            }
            _ => break,
        }
    }
    if named && !path.is_empty() {
        out.push(path);
    }
    if let Some((_, Token::Punct(';'))) = tokens.get(*i) {
        *i += 1;
    }
}

/// Adds `segs`, found on `line`, to `out` when it names a module of the crate.
fn push_resolved(
    out: &mut Vec<(usize, FoundPath)>,
    line: usize,
    current: &[String],
    segs: &[String],
    modules: &HashSet<Vec<String>>,
) {
    if let Some(absolute) = resolve(current, segs, modules) {
        out.push((
            line,
            FoundPath {
                written: segs.join("::"),
                absolute,
            },
        ));
    }
}

/// `segs` as a path from the crate root, seen from module `current`; `None` for a path that
/// leaves the crate (`std::…`, a dependency) or names a local item.
fn resolve(
    current: &[String],
    segs: &[String],
    modules: &HashSet<Vec<String>>,
) -> Option<Vec<String>> {
    let (mut base, mut rest): (Vec<String>, &[String]) = match segs.first()?.as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" => (current.to_vec(), &segs[1..]),
        "super" => (current.to_vec(), segs),
        first => {
            let mut child = current.to_vec();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
            (current.to_vec(), segs)
        }
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// `text` with comments, string and character literals blanked out (lines kept).
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, from: &[char]| {
        out.extend(from.iter().filter(|c| **c == '\n'));
        out.push(' ');
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = out.chars().last().is_some_and(ident);
        let start = i;
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            blank(&mut out, &chars[start..i]);
            continue;
        }
        if !after_ident && (c == 'r' || (c == 'b' && next == Some('r'))) {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                while j < chars.len() {
                    if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                blank(&mut out, &chars[start..j.min(chars.len())]);
                i = j;
                continue;
            }
        }
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            blank(&mut out, &chars[start..i.min(chars.len())]);
            continue;
        }
        if c == '\'' {
            if next == Some('\\') {
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(' ');
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The identifiers, `::` and punctuation of stripped text, with their line numbers.
fn tokens(text: &str) -> Vec<(usize, Token)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((line, Token::Ident(chars[start..i].iter().collect())));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((line, Token::PathSep));
            i += 2;
        } else if c.is_whitespace() || c.is_ascii_digit() {
            i += 1;
        } else {
            out.push((line, Token::Punct(c)));
            i += 1;
        }
    }
    out
}

/// Every `.rs` file below `src/`, but this one.
fn read_src() -> Vec<Source> {
    fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<Source>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel != "layering.rs" && rel != "main.rs" {
                    let text = std::fs::read_to_string(&path).unwrap();
                    out.push(Source { path: rel, text });
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, &str)]) -> Vec<Source> {
        files
            .iter()
            .map(|(path, text)| Source {
                path: (*path).to_owned(),
                text: (*text).to_owned(),
            })
            .collect()
    }

    const SMALL: &[&[&str]] = &[&["hooks"], &["verify"], &["git"]];

    #[test]
    fn the_crate_follows_its_layers() {
        let sources = read_src();
        let problems = check(&sources, LAYERS, KNOWN);
        let shown: Vec<String> = problems.iter().map(Problem::to_string).collect();
        assert!(
            shown.is_empty(),
            "imports against the layering:\n{}",
            shown.join("\n")
        );
        // Every layered module exists, and every module has a layer.
        let tops: BTreeSet<String> = sources
            .iter()
            .filter_map(|s| module_of(&s.path).first().cloned())
            .collect();
        let layered: BTreeSet<String> = LAYERS
            .iter()
            .flat_map(|l| l.iter())
            .map(|m| m.to_string())
            .collect();
        assert_eq!(tops, layered);
    }

    #[test]
    fn an_import_upward_names_its_file_and_path() {
        let problems = check(
            &sources(&[
                ("hooks/mod.rs", "pub mod decide;\n"),
                ("hooks/decide.rs", "pub fn bypassed() {}\n"),
                (
                    "verify/mod.rs",
                    "//! Verify.\n\nuse crate::git::Repo;\nuse crate::hooks::decide::bypassed;\n",
                ),
                ("git/mod.rs", "pub struct Repo;\n"),
            ]),
            SMALL,
            &[],
        );
        assert_eq!(
            problems,
            vec![Problem {
                file: "verify/mod.rs".into(),
                line: 4,
                import: "crate::hooks::decide::bypassed".into(),
                why: "`verify` may not import `hooks`, which is above it".into(),
            }]
        );
        assert_eq!(
            problems[0].to_string(),
            "src/verify/mod.rs:4: `crate::hooks::decide::bypassed`: `verify` may not import `hooks`, which is above it"
        );
    }

    #[test]
    fn every_way_of_writing_an_import_is_seen() {
        let problems = check(
            &sources(&[
                ("hooks/mod.rs", "pub fn decide() {}\n"),
                ("hooks/more.rs", "pub fn x() {}\n"),
                (
                    "verify/mod.rs",
                    "mod checks;\nuse crate::{git::Repo, hooks::{self, more::x as y}};\nfn f() { crate::hooks::decide(); }\n",
                ),
                ("verify/checks.rs", "use super::super::hooks::*;\n"),
                ("git/mod.rs", "pub struct Repo;\n"),
            ]),
            SMALL,
            &[],
        );
        let found: Vec<(&str, usize, &str)> = problems
            .iter()
            .map(|p| (p.file.as_str(), p.line, p.import.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("verify/mod.rs", 2, "crate::hooks"),
                ("verify/mod.rs", 2, "crate::hooks::more::x"),
                ("verify/mod.rs", 3, "crate::hooks::decide"),
                ("verify/checks.rs", 1, "super::super::hooks"),
            ]
        );
    }

    #[test]
    fn comments_literals_and_dependencies_are_not_imports() {
        let problems = check(
            &sources(&[
                ("hooks/mod.rs", "pub fn decide() {}\n"),
                (
                    "verify/mod.rs",
                    concat!(
                        "// use crate::hooks;\n/* crate::hooks::decide */\n",
                        "/// [`crate::hooks::decide`]\n",
                        "const A: &str = \"use crate::hooks;\";\nconst B: &str = r#\"crate::hooks::decide\"#;\n",
                        "const C: char = '\"'; fn f<'a>(x: &'a str) {}\n",
                        "use std::collections::HashMap;\nuse serde::Serialize;\n",
                        "macro_rules! m { () => { $crate::hooks::decide() } }\n",
                    ),
                ),
            ]),
            SMALL,
            &[],
        );
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn files_of_a_module_that_import_each_other_are_a_cycle() {
        let problems = check(
            &sources(&[
                (
                    "git/mod.rs",
                    "pub mod changes;\npub mod cli;\npub use cli::git;\n",
                ),
                (
                    "git/changes.rs",
                    "use super::Repo;\nfn f() { super::cli::git(); }\n",
                ),
                (
                    "git/cli.rs",
                    "use super::changes::bytes_path;\npub fn git() {}\n",
                ),
                // The module's front and its files may see each other; an inline test module
                // sees its own file through `super`.
                (
                    "git/path.rs",
                    "use super::Repo;\nmod tests { use super::*; }\n",
                ),
            ]),
            SMALL,
            &[],
        );
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.file.as_str(), p.import.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("git/changes.rs", "super::cli::git"),
                ("git/cli.rs", "super::changes::bytes_path"),
            ]
        );
        assert_eq!(
            problems[0].why,
            "files of `git` import each other: git/changes.rs and git/cli.rs are in a cycle"
        );
    }

    #[test]
    fn modules_on_one_layer_and_unlisted_modules_are_refused() {
        let problems = check(
            &sources(&[
                ("report/mod.rs", "use crate::lifecycle::LifecycleError;\n"),
                (
                    "lifecycle/mod.rs",
                    "pub enum LifecycleError {}\nuse crate::extra::X;\n",
                ),
                ("extra.rs", "pub struct X;\n"),
            ]),
            &[&["report", "lifecycle"]],
            &[],
        );
        let why: Vec<&str> = problems.iter().map(|p| p.why.as_str()).collect();
        assert_eq!(
            why,
            vec![
                "`report` may not import `lifecycle`: they are on one layer",
                "module `extra` has no layer in LAYERS",
            ]
        );
    }

    #[test]
    fn a_known_exception_is_allowed_until_nothing_needs_it() {
        let files = [
            ("verify/mod.rs", "use crate::hooks::decide;\n"),
            ("hooks/mod.rs", "pub fn decide() {}\n"),
        ];
        let known = &[("verify", "hooks", "for now")];
        assert_eq!(check(&sources(&files), SMALL, known), vec![]);
        let stale = check(&sources(&files[1..]), SMALL, known);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].import, "verify -> hooks");
    }
}
