//! Manifest patterns: repo-relative paths with `*`, `**`, `?` and character classes.
//!
//! One small automaton serves two questions: does a path match (verification), and could two
//! patterns ever match the same path (phases that must not run side by side). Sharing it keeps
//! the two answers consistent; an off-the-shelf glob crate answers only the first.
//!
//! Syntax: `*` is any run of characters within one folder name, `?` one such character,
//! `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`) one character of a class; `**` as a whole component
//! is any number of folders (`src/**` everything under `src`, `**/mod.rs` a `mod.rs` anywhere,
//! `a/**/b` `b` under `a` at any depth). No wildcard ever matches the `/` between components.

use std::collections::HashSet;
use std::fmt;

/// A parsed manifest pattern. A pattern read back from a kept, validated plan is parsed when
/// first used (a status of a thousand phases uses few of its five thousand patterns).
#[derive(Clone)]
pub struct Glob {
    text: String,
    parsed: std::sync::OnceLock<Parsed>,
}

#[derive(Debug, Clone)]
struct Parsed {
    tokens: Vec<Token>,
    prefix: String,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.text == other.text
    }
}

impl Eq for Glob {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(char),
    /// `?`: one character other than `/`.
    One,
    /// `[...]`: one character of the class, never `/`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**` at the end (after `/`) or alone: any run of characters.
    All,
    /// `**/` at the start or `/**/` inside: nothing, or folders ending with `/`.
    Dirs,
}

/// Why a pattern cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError(pub String);

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.text)
    }
}

/// A pattern is stored as written, and parsed again when read back.
impl serde::Serialize for Glob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Glob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Glob, D::Error> {
        Ok(Glob {
            text: String::deserialize(deserializer)?,
            parsed: std::sync::OnceLock::new(),
        })
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A position in a pattern: before token `index`; `inside` is set while a `Dirs` token has
/// consumed characters but not yet its closing `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct State {
    index: usize,
    inside: bool,
}

impl Glob {
    pub fn parse(text: &str) -> Result<Glob, GlobError> {
        let parsed = Parsed::of(text)?;
        Ok(Glob {
            text: text.to_owned(),
            parsed: std::sync::OnceLock::from(parsed),
        })
    }

    fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            // Only a pattern that was valid when its plan was validated is read back, so this
            // parses; a damaged copy is taken literally rather than panicking.
            Parsed::of(&self.text).unwrap_or_else(|_| Parsed {
                tokens: self.text.chars().map(Token::Lit).collect(),
                prefix: self.text.clone(),
            })
        })
    }
}

impl Parsed {
    fn of(text: &str) -> Result<Parsed, GlobError> {
        let components: Vec<&str> = text.split('/').collect();
        let last = components.len() - 1;
        let mut tokens = Vec::new();
        for (i, component) in components.iter().enumerate() {
            if *component == "**" {
                if i == last {
                    tokens.push(Token::All);
                } else {
                    tokens.push(Token::Dirs);
                }
                continue;
            }
            if component.contains("**") {
                return Err(GlobError(format!(
                    "`**` must be a whole path component, not part of `{component}`"
                )));
            }
            parse_component(component, &mut tokens)?;
            if i != last {
                tokens.push(Token::Lit('/'));
            }
        }
        let prefix = tokens
            .iter()
            .map_while(|t| match t {
                Token::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        Ok(Parsed { tokens, prefix })
    }
}

impl Glob {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the pattern has no wildcard: it names exactly one path.
    pub fn is_literal(&self) -> bool {
        self.parsed()
            .tokens
            .iter()
            .all(|t| matches!(t, Token::Lit(_)))
    }

    /// The characters before the first wildcard.
    pub fn literal_prefix(&self) -> &str {
        &self.parsed().prefix
    }

    /// The deepest folder holding every path the pattern can match: its literal beginning up
    /// to the last `/` there (`""` for the top).
    pub fn folder(&self) -> &str {
        let prefix = &self.parsed().prefix;
        prefix.rfind('/').map_or("", |at| &prefix[..at])
    }

    pub fn matches(&self, path: &str) -> bool {
        let mut current = self.closure([State::start()]);
        for c in path.chars() {
            let next: Vec<State> = current.iter().flat_map(|s| self.step(*s, c)).collect();
            if next.is_empty() {
                return false;
            }
            current = self.closure(next);
        }
        current
            .iter()
            .any(|s| s.index == self.parsed().tokens.len())
    }

    /// Could some path match both patterns?
    pub fn intersects(&self, other: &Glob) -> bool {
        let (a, b) = (self.literal_prefix(), other.literal_prefix());
        if !(a.starts_with(b) || b.starts_with(a)) {
            return false;
        }
        let mut seen = HashSet::new();
        let mut queue = Vec::new();
        for s in self.closure([State::start()]) {
            for t in other.closure([State::start()]) {
                queue.push((s, t));
            }
        }
        while let Some((s, t)) = queue.pop() {
            if !seen.insert((s, t)) {
                continue;
            }
            if s.index == self.parsed().tokens.len() && t.index == other.parsed().tokens.len() {
                return true;
            }
            for c in candidates(self.head(s), other.head(t)) {
                let left = self.closure(self.step(s, c));
                if left.is_empty() {
                    continue;
                }
                let right = other.closure(other.step(t, c));
                for s2 in &left {
                    for t2 in &right {
                        queue.push((*s2, *t2));
                    }
                }
            }
        }
        false
    }

    fn head(&self, s: State) -> Option<&Token> {
        self.parsed().tokens.get(s.index)
    }

    /// Adds the states reachable without consuming a character.
    fn closure(&self, states: impl IntoIterator<Item = State>) -> Vec<State> {
        let mut out: Vec<State> = Vec::new();
        let mut stack: Vec<State> = states.into_iter().collect();
        while let Some(s) = stack.pop() {
            if out.contains(&s) {
                continue;
            }
            out.push(s);
            match self.parsed().tokens.get(s.index) {
                Some(Token::Star | Token::All) => stack.push(State::at(s.index + 1)),
                Some(Token::Dirs) if !s.inside => stack.push(State::at(s.index + 1)),
                _ => {}
            }
        }
        out
    }

    fn step(&self, s: State, c: char) -> Vec<State> {
        match self.parsed().tokens.get(s.index) {
            None => vec![],
            Some(Token::Lit(l)) if *l == c => vec![State::at(s.index + 1)],
            Some(Token::Lit(_)) => vec![],
            Some(Token::One) if c != '/' => vec![State::at(s.index + 1)],
            Some(Token::Class { negated, ranges }) if c != '/' => {
                if class_contains(*negated, ranges, c) {
                    vec![State::at(s.index + 1)]
                } else {
                    vec![]
                }
            }
            Some(Token::One | Token::Class { .. }) => vec![],
            Some(Token::Star) if c != '/' => vec![s],
            Some(Token::Star) => vec![],
            Some(Token::All) => vec![s],
            Some(Token::Dirs) if c == '/' => vec![
                State::at(s.index + 1),
                State {
                    index: s.index,
                    inside: true,
                },
            ],
            Some(Token::Dirs) => vec![State {
                index: s.index,
                inside: true,
            }],
        }
    }
}

impl State {
    fn start() -> State {
        State::at(0)
    }
    fn at(index: usize) -> State {
        State {
            index,
            inside: false,
        }
    }
}

fn class_contains(negated: bool, ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != negated
}

/// Characters that together stand for every way two token heads can both accept a character:
/// every literal and range bound (and its neighbours), `/`, and characters no pattern names.
fn candidates(a: Option<&Token>, b: Option<&Token>) -> Vec<char> {
    let mut out = vec!['/', 'a', '\u{e000}'];
    for token in [a, b].into_iter().flatten() {
        match token {
            Token::Lit(c) => out.push(*c),
            Token::Class { ranges, .. } => {
                for (lo, hi) in ranges {
                    for c in [*lo, *hi] {
                        out.push(c);
                        out.extend(char::from_u32(c as u32 + 1));
                        out.extend((c as u32).checked_sub(1).and_then(char::from_u32));
                    }
                }
            }
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn parse_component(component: &str, tokens: &mut Vec<Token>) -> Result<(), GlobError> {
    let mut chars = component.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::One),
            '[' => {
                let negated = matches!(chars.peek(), Some('!' | '^'));
                if negated {
                    chars.next();
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(c) = chars.next() else {
                        return Err(GlobError(format!(
                            "`[` in `{component}` opens a character class that is never closed by `]`"
                        )));
                    };
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    if chars.peek() == Some(&'-') {
                        let mut lookahead = chars.clone();
                        lookahead.next();
                        match lookahead.peek() {
                            Some(&hi) if hi != ']' => {
                                chars.next();
                                chars.next();
                                if hi < c {
                                    return Err(GlobError(format!(
                                        "character range `{c}-{hi}` in `{component}` is reversed"
                                    )));
                                }
                                ranges.push((c, hi));
                                continue;
                            }
                            _ => {}
                        }
                    }
                    ranges.push((c, c));
                }
                tokens.push(Token::Class { negated, ranges });
            }
            ']' => {
                return Err(GlobError(format!(
                    "`]` in `{component}` closes a character class that was never opened"
                )));
            }
            c => tokens.push(Token::Lit(c)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Glob {
        Glob::parse(s).unwrap()
    }

    #[test]
    fn literal_paths_match_only_themselves() {
        assert!(g("src/lib.rs").matches("src/lib.rs"));
        assert!(!g("src/lib.rs").matches("src/lib.rsx"));
        assert!(!g("src/lib.rs").matches("src"));
        assert!(g("src/lib.rs").is_literal());
    }

    #[test]
    fn a_pattern_matches_only_under_its_folder() {
        assert_eq!(g("src/a/b.rs").folder(), "src/a");
        assert_eq!(g("src/**").folder(), "src");
        assert_eq!(g("src/a*/x.rs").folder(), "src");
        assert_eq!(g("a.txt").folder(), "");
        assert_eq!(g("**/mod.rs").folder(), "");
        assert_eq!(g("docs/[ab]/x.md").folder(), "docs");
    }

    #[test]
    fn star_stays_within_a_component() {
        assert!(g("src/*.rs").matches("src/a.rs"));
        assert!(g("src/*.rs").matches("src/.rs"));
        assert!(!g("src/*.rs").matches("src/a/b.rs"));
        assert!(g("*").matches("Cargo.toml"));
        assert!(!g("*").matches("src/x"));
    }

    #[test]
    fn question_mark_and_classes() {
        assert!(g("a?c").matches("abc"));
        assert!(!g("a?c").matches("a/c"));
        assert!(g("file[0-9].txt").matches("file7.txt"));
        assert!(!g("file[0-9].txt").matches("filex.txt"));
        assert!(g("file[!0-9].txt").matches("filex.txt"));
        assert!(g("file[^0-9].txt").matches("filex.txt"));
        assert!(!g("a[!x]b").matches("a/b"));
        assert!(g("[]]").matches("]"));
        assert!(g("[a-]").matches("-"));
    }

    #[test]
    fn double_star_forms() {
        assert!(g("src/**").matches("src/a"));
        assert!(g("src/**").matches("src/a/b/c.rs"));
        assert!(!g("src/**").matches("srcx/a"));
        assert!(g("**/mod.rs").matches("mod.rs"));
        assert!(g("**/mod.rs").matches("a/b/mod.rs"));
        assert!(!g("**/mod.rs").matches("a/bmod.rs"));
        assert!(g("a/**/b").matches("a/b"));
        assert!(g("a/**/b").matches("a/x/y/b"));
        assert!(!g("a/**/b").matches("a/xb"));
        assert!(g("**").matches("anything/at/all"));
        assert!(g("a/**/*.rs").matches("a/x.rs"));
        assert!(g("a/**/*.rs").matches("a/b/c/x.rs"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Glob::parse("src/[ab").is_err());
        assert!(Glob::parse("src/a]").is_err());
        assert!(Glob::parse("src/a**").is_err());
        assert!(Glob::parse("[z-a]").is_err());
    }

    #[test]
    fn intersection() {
        let yes = [
            ("src/*.rs", "src/lib.rs"),
            ("src/**", "src/a/b.rs"),
            ("src/**", "**/b.rs"),
            ("src/*.rs", "src/lib.*"),
            ("a/[a-c]x", "a/[b-z]x"),
            ("a/[!a]", "a/[!b]"),
            ("**", "x"),
            ("a/**/b", "a/c/**"),
            ("docs/*.md", "docs/?????.md"),
        ];
        for (a, b) in yes {
            assert!(g(a).intersects(&g(b)), "{a} ∩ {b}");
            assert!(g(b).intersects(&g(a)), "{b} ∩ {a}");
        }
        let no = [
            ("src/*.rs", "src/a/b.rs"),
            ("src/**", "tests/**"),
            ("a/[a-c]x", "a/[d-z]x"),
            ("a/[!a]", "a/a"),
            ("*.rs", "*.toml"),
            ("docs/*.md", "docs/??.txt"),
            ("a/*", "a/b/c"),
        ];
        for (a, b) in no {
            assert!(!g(a).intersects(&g(b)), "{a} ∩ {b}");
            assert!(!g(b).intersects(&g(a)), "{b} ∩ {a}");
        }
    }
}
