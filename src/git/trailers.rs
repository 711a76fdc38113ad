//! Commit trailers (`Key: value` lines in the last paragraph of a message), the one parser and
//! writer used everywhere: checkpoints, merges, the commit-msg hook, state derivation.
//!
//! Values are single-line: anything holding CR, LF or NUL is refused when a trailer is made, so
//! nobody can smuggle a second trailer (or a forged `Planx-Status: complete`) into a message.

use std::fmt;

pub const PLAN: &str = "Planx-Plan";
pub const PHASE: &str = "Planx-Phase";
pub const CHECKPOINT: &str = "Planx-Checkpoint";
pub const STEP: &str = "Planx-Step";
pub const STATUS: &str = "Planx-Status";
pub const VERIFIED_TREE: &str = "Planx-Verified-Tree";

/// One trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub key: String,
    pub value: String,
}

/// A value that cannot be a trailer value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailerError {
    pub key: String,
    pub reason: &'static str,
}

impl fmt::Display for TrailerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the value of trailer `{}` {}", self.key, self.reason)
    }
}

impl std::error::Error for TrailerError {}

impl Trailer {
    /// A trailer, refusing keys and values that could break the trailer block.
    pub fn new(key: &str, value: &str) -> Result<Trailer, TrailerError> {
        let bad = |reason| TrailerError {
            key: key.to_owned(),
            reason,
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("has a key that is not letters, digits and `-`"));
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(bad("contains a line break or a NUL byte"));
        }
        if value.trim().is_empty() {
            return Err(bad("is empty"));
        }
        Ok(Trailer {
            key: key.to_owned(),
            value: value.trim().to_owned(),
        })
    }
}

/// Is this line `Key: value` (a trailer), in git's sense?
fn parse_line(line: &str) -> Option<Trailer> {
    let (key, value) = line.split_once(':')?;
    if key.is_empty()
        || !key.chars().next()?.is_ascii_alphanumeric()
        || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return None;
    }
    Some(Trailer {
        key: key.to_owned(),
        value: value.trim().to_owned(),
    })
}

/// Where the trailer block of a message starts (a byte offset), or `None` when the message has
/// none. The block is the last paragraph when every line in it is a trailer or a continuation
/// (a line starting with whitespace), or when at least a quarter are trailers and one of them is
/// planx's or a `Signed-off-by` (git's own rule for blocks mixed with other lines).
/// Lines starting with `#` are comments and ignored, as are trailing blank lines.
pub fn block_start(message: &str) -> Option<usize> {
    // Most messages are one line (the subject) or hold no `:`: no block, said without listing
    // their lines (a derivation asks of thousands of commits).
    let body = message.trim_end();
    if !body.contains('\n') || !body.contains(':') {
        return None;
    }
    let lines: Vec<(usize, &str)> = line_offsets(message);
    let mut end = lines.len();
    while end > 0 && {
        let l = lines[end - 1].1.trim_end();
        l.is_empty() || l.starts_with('#')
    } {
        end -= 1;
    }
    if end == 0 {
        return None;
    }
    let mut start = end;
    while start > 0 && !lines[start - 1].1.trim().is_empty() {
        start -= 1;
    }
    // The subject is never a trailer block.
    if start == 0 {
        return None;
    }
    let paragraph = &lines[start..end];
    let mut trailers = 0;
    let mut others = 0;
    let mut known = false;
    for (i, (_, line)) in paragraph.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if i > 0 && line.starts_with([' ', '\t']) {
            continue;
        }
        match parse_line(line) {
            Some(t) => {
                trailers += 1;
                known |= t.key.starts_with("Planx-") || t.key.eq_ignore_ascii_case("Signed-off-by");
            }
            None => others += 1,
        }
    }
    let is_block = trailers > 0 && (others == 0 || (known && trailers * 3 >= others));
    is_block.then_some(paragraph[0].0)
}

fn line_offsets(message: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in message.split_inclusive('\n') {
        out.push((offset, line.trim_end_matches(['\n', '\r'])));
        offset += line.len();
    }
    out
}

/// The trailers of a message, in order; continuation lines are joined to their trailer.
pub fn parse(message: &str) -> Vec<Trailer> {
    let Some(start) = block_start(message) else {
        return Vec::new();
    };
    let mut out: Vec<Trailer> = Vec::new();
    for line in message[start..].lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.value.push(' ');
                last.value.push_str(line.trim());
            }
            continue;
        }
        if let Some(t) = parse_line(line) {
            out.push(t);
        }
    }
    out
}

/// The value of the last trailer with `key` (keys compare without case, as git does).
pub fn value<'a>(trailers: &'a [Trailer], key: &str) -> Option<&'a str> {
    trailers
        .iter()
        .rev()
        .find(|t| t.key.eq_ignore_ascii_case(key))
        .map(|t| t.value.as_str())
}

/// `message` with `trailers` appended: to the existing trailer block when there is one, else
/// as a new paragraph. The rest of the message is kept byte for byte.
pub fn append(message: &str, trailers: &[Trailer]) -> String {
    let mut out = message.trim_end_matches(['\n', '\r', ' ', '\t']).to_owned();
    let has_block = block_start(message).is_some();
    out.push_str(if has_block || out.is_empty() {
        "\n"
    } else {
        "\n\n"
    });
    if out == "\n" {
        out.clear();
    }
    for t in trailers {
        out.push_str(&format!("{}: {}\n", t.key, t.value));
    }
    out
}

/// A commit message: `body` (a subject, and maybe more paragraphs) followed by the trailers
/// `pairs` (key, value), each checked by [`Trailer::new`].
pub fn message(body: &str, pairs: &[(&str, &str)]) -> Result<String, TrailerError> {
    let trailers = pairs
        .iter()
        .map(|(k, v)| Trailer::new(k, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(append(body, &trailers))
}

/// The line git puts before the diff in `git commit --verbose`; it and everything after it are
/// dropped from the message.
pub const SCISSORS: &str = "# ------------------------ >8 ------------------------";

/// A commit message as the commit-msg hook receives it, with the trailers in `wanted` added
/// when the message has no trailer of that key yet. Comment lines at the end and the
/// `--verbose` scissors section stay where they are, after the trailers; everything else is
/// kept byte for byte. `None` when nothing is to be added: the message is empty (the commit
/// will be aborted) or it is a `fixup!` / `squash!` / `amend!` commit that will be folded into
/// another.
pub fn add_missing(message: &str, wanted: &[Trailer], comment: char) -> Option<String> {
    let scissors = SCISSORS.replacen('#', &comment.to_string(), 1);
    let (body, tail) = match message.find(&format!("\n{scissors}")) {
        Some(i) => message.split_at(i + 1),
        None if message.starts_with(&scissors) => ("", message),
        None => (message, ""),
    };
    // The message's own line ending, kept for the lines added.
    let eol = if body.contains("\r\n") { "\r\n" } else { "\n" };
    // Comment and blank lines at the end of the body stay after the trailers.
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    let mut keep = lines.len();
    while keep > 0 && {
        let l = lines[keep - 1].trim_end();
        l.is_empty() || l.starts_with(comment)
    } {
        keep -= 1;
    }
    let content: String = lines[..keep].concat();
    let trailing: String = lines[keep..].concat();
    let subject = content
        .lines()
        .find(|l| !l.starts_with(comment) && !l.trim().is_empty())?;
    if ["fixup! ", "squash! ", "amend! "]
        .iter()
        .any(|p| subject.starts_with(p))
    {
        return None;
    }
    let present = parse(&content);
    let missing: Vec<Trailer> = wanted
        .iter()
        .filter(|t| value(&present, &t.key).is_none())
        .cloned()
        .collect();
    if missing.is_empty() {
        return None;
    }
    // Only line endings at the very end of the content give way to the trailers.
    let kept = content.trim_end_matches(['\n', '\r']);
    let mut out = kept.to_owned();
    out.push_str(eol);
    if block_start(&content).is_none() {
        out.push_str(eol);
    }
    for t in &missing {
        out.push_str(&format!("{}: {}{eol}", t.key, t.value));
    }
    if !trailing.is_empty() && !trailing.starts_with(['\n', '\r']) {
        out.push_str(eol);
    }
    out.push_str(&trailing);
    out.push_str(tail);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str) -> Trailer {
        Trailer::new(k, v).unwrap()
    }

    #[test]
    fn a_message_is_its_body_and_checked_trailers() {
        assert_eq!(
            message("planx: p checkpoint", &[(PLAN, "v"), (PHASE, "p")]).unwrap(),
            "planx: p checkpoint\n\nPlanx-Plan: v\nPlanx-Phase: p\n"
        );
        let err = message("subject", &[(STEP, "a\nPlanx-Status: complete")]).unwrap_err();
        assert_eq!(err.key, STEP);
    }

    #[test]
    fn a_subject_alone_has_no_trailers_whatever_it_holds() {
        for subject in [
            "Fix src/a.rs: the parser",
            "Planx-Status: complete\n\n",
            "plain\n",
        ] {
            assert_eq!(parse(subject), vec![], "{subject:?}");
        }
        assert_eq!(
            parse("Fix: it\r\n\r\nPlanx-Phase: a\r\n  and more\r\n\r\n"),
            vec![t(PHASE, "a and more")]
        );
    }

    #[test]
    fn values_that_could_inject_are_refused() {
        assert!(Trailer::new("Planx-Phase", "a\nPlanx-Status: complete").is_err());
        assert!(Trailer::new("Planx-Phase", "a\rb").is_err());
        assert!(Trailer::new("Planx-Phase", "a\0b").is_err());
        assert!(Trailer::new("Planx-Phase", " ").is_err());
        assert!(Trailer::new("Bad Key", "x").is_err());
        assert!(Trailer::new("Planx-Phase", "phase-1").is_ok());
    }

    #[test]
    fn parses_the_last_paragraph_only() {
        let msg = "Subject: not a trailer\n\nBody with Key: inside.\n\nPlanx-Phase: a\nPlanx-Status: in-progress\n";
        assert_eq!(
            parse(msg),
            vec![t("Planx-Phase", "a"), t("Planx-Status", "in-progress")]
        );
        assert_eq!(parse("Only: a subject\n"), vec![]);
        assert_eq!(parse("Subject\n\nJust a body.\n"), vec![]);
    }

    #[test]
    fn mixed_blocks_follow_gits_rule() {
        let msg = "Subject\n\nSigned-off-by: A <a@x>\n(cherry picked from commit abc)\n";
        assert_eq!(parse(msg).len(), 1);
        let prose = "Subject\n\nSee: the docs\nand some more prose here\nand more\nand more\n";
        assert_eq!(parse(prose), vec![]);
    }

    #[test]
    fn continuation_lines_and_comments() {
        let msg = "S\n\nPlanx-Phase: a\n  continued\n# a comment\n";
        assert_eq!(parse(msg), vec![t("Planx-Phase", "a continued")]);
    }

    fn add_missing_test(message: &str, wanted: &[Trailer]) -> Option<String> {
        add_missing(message, wanted, '#')
    }

    #[test]
    fn line_endings_and_the_comment_character_are_kept() {
        let want = [t("Planx-Plan", "p")];
        assert_eq!(
            add_missing("Subj\r\n\r\nbody\r\n", &want, '#').unwrap(),
            "Subj\r\n\r\nbody\r\n\r\nPlanx-Plan: p\r\n"
        );
        assert_eq!(
            add_missing("Subj\n\n; a comment\n", &want, ';').unwrap(),
            "Subj\n\nPlanx-Plan: p\n\n; a comment\n"
        );
    }

    #[test]
    fn the_commit_msg_hook_adds_what_is_missing() {
        let want = [t("Planx-Plan", "p"), t("Planx-Phase", "a")];
        assert_eq!(
            add_missing_test("Fix it\n", &want).unwrap(),
            "Fix it\n\nPlanx-Plan: p\nPlanx-Phase: a\n"
        );
        assert_eq!(
            add_missing_test("Fix it\n\nSigned-off-by: A <a@x>\n", &want).unwrap(),
            "Fix it\n\nSigned-off-by: A <a@x>\nPlanx-Plan: p\nPlanx-Phase: a\n"
        );
        assert_eq!(
            add_missing_test("Fix it\n\nPlanx-Plan: p\nPlanx-Phase: a\n", &want),
            None
        );
        assert_eq!(
            add_missing_test("Fix it\n\nPlanx-Phase: a\n", &want).unwrap(),
            "Fix it\n\nPlanx-Phase: a\nPlanx-Plan: p\n"
        );
        assert_eq!(add_missing_test("fixup! Fix it\n", &want), None);
        assert_eq!(add_missing_test("squash! Fix it\n", &want), None);
        assert_eq!(add_missing_test("# only comments\n\n", &want), None);
        let with_comments =
            "Fix it\n\n# Please enter the commit message\n# Lines starting with '#'\n";
        assert_eq!(
            add_missing_test(with_comments, &want).unwrap(),
            "Fix it\n\nPlanx-Plan: p\nPlanx-Phase: a\n\n# Please enter the commit message\n# Lines starting with '#'\n"
        );
        let verbose =
            format!("Fix it\n\n# comment\n{SCISSORS}\n# Do not modify\ndiff --git a/x b/x\n");
        let out = add_missing_test(&verbose, &want).unwrap();
        assert!(
            out.starts_with("Fix it\n\nPlanx-Plan: p\nPlanx-Phase: a\n\n# comment\n"),
            "{out}"
        );
        assert!(out.ends_with(&format!(
            "{SCISSORS}\n# Do not modify\ndiff --git a/x b/x\n"
        )));
    }

    #[test]
    fn append_keeps_the_message() {
        let trailers = [t("Planx-Plan", "p"), t("Planx-Phase", "a")];
        assert_eq!(
            append("Subject\n", &trailers),
            "Subject\n\nPlanx-Plan: p\nPlanx-Phase: a\n"
        );
        assert_eq!(
            append("Subject\n\nSigned-off-by: A <a@x>\n", &trailers),
            "Subject\n\nSigned-off-by: A <a@x>\nPlanx-Plan: p\nPlanx-Phase: a\n"
        );
        assert_eq!(
            append("Subject\n\nBody.\n", &trailers[..1]),
            "Subject\n\nBody.\n\nPlanx-Plan: p\n"
        );
        assert_eq!(
            value(&parse(&append("S", &trailers)), "planx-phase"),
            Some("a")
        );
    }
}
