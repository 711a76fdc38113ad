//! Paths as git stores them (bytes) turned into what planx needs: a file system path, and the
//! quoted text git shows. Both the libgit2 side ([`super::changes`]) and the `git` command side
//! ([`super::cli`]) use them, so they live apart from either.

use std::path::Path;

/// A path as git shows it with `core.quotePath`: as is when it is printable ASCII, else in
/// double quotes with C escapes and octal bytes.
pub fn escape_path(path: &[u8]) -> String {
    let plain = path
        .iter()
        .all(|b| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\');
    if plain {
        return String::from_utf8_lossy(path).into_owned();
    }
    let mut out = String::from("\"");
    for &b in path {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// A path as git shows it with `core.quotePath` set as `quote_path` says: with it (git's
/// default), as [`escape_path`]; without it, bytes above 0x7f that make UTF-8 are shown as they
/// are, and the path is quoted only for what git always quotes (control characters, `"`, `\`,
/// bytes that are not UTF-8).
pub fn show_path(path: &[u8], quote_path: bool) -> String {
    if quote_path {
        return escape_path(path);
    }
    let Ok(text) = std::str::from_utf8(path) else {
        return escape_path(path);
    };
    if !text
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return text.to_owned();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` with each path in it that git quoted for its bytes above 0x7f (`"caf\303\251"`)
/// shown again as [`show_path`] does with `quote_path`: for text that holds paths already
/// quoted (a finding, a table cell). Quoted text without such bytes is left as it is.
pub fn requote(text: &str, quote_path: bool) -> String {
    if quote_path || !text.contains('"') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        match unquote(&rest[start..]) {
            // Quoted by git for its bytes: an octal escape of a byte above 0x7f in it.
            Some((bytes, len)) if has_high_escape(&rest[start..start + len]) => {
                out.push_str(&show_path(&bytes, false));
                rest = &rest[start + len..];
            }
            _ => {
                out.push('"');
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether [`requote`] can change `text`: only a path git quoted for a byte above 0x7f reads
/// otherwise with `core.quotePath` off.
pub fn depends_on_quote_path(text: &str) -> bool {
    text.contains('"') && has_high_escape(text)
}

/// `\2xx` or `\3xx`: an octal escape of a byte above 0x7f.
fn has_high_escape(quoted: &str) -> bool {
    quoted
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'\\' && (w[1] == b'2' || w[1] == b'3'))
}

/// The bytes of the git-quoted string at the start of `text` and the length it takes, if it
/// is one.
fn unquote(text: &str) -> Option<(Vec<u8>, usize)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((out, i + 1)),
            b'\\' => {
                let next = *bytes.get(i + 1)?;
                match next {
                    b'0'..=b'3' => {
                        let digits = bytes.get(i + 1..i + 4)?;
                        if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                            return None;
                        }
                        let s = std::str::from_utf8(digits).ok()?;
                        out.push(u8::from_str_radix(s, 8).ok()?);
                        i += 4;
                        continue;
                    }
                    b't' => out.push(b'\t'),
                    b'n' => out.push(b'\n'),
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    _ => return None,
                }
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// A path as [`escape_path`] shows it, back as text: the bytes between the quotes unescaped
/// and read as UTF-8 (an invalid byte shown as U+FFFD), for outputs that show names as people
/// wrote them. Text that is not a quoted path is returned as it is.
pub fn unquote_path(shown: &str) -> String {
    let Some(inner) = shown
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .filter(|s| !s.is_empty())
    else {
        return shown.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut rest = inner.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match rest {
            [b'"', tail @ ..] | [b'\\', tail @ ..] => {
                bytes.push(rest[0]);
                rest = tail;
            }
            [b't', tail @ ..] => {
                bytes.push(b'\t');
                rest = tail;
            }
            [b'n', tail @ ..] => {
                bytes.push(b'\n');
                rest = tail;
            }
            [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', tail @ ..] => {
                bytes.push((a - b'0') * 64 + (b - b'0') * 8 + (c - b'0'));
                rest = tail;
            }
            // Not something `escape_path` writes: not a quoted path after all.
            _ => return shown.to_owned(),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A git path (bytes) as a file system path.
pub fn bytes_path(bytes: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_like_git() {
        assert_eq!(escape_path(b"src/lib.rs"), "src/lib.rs");
        assert_eq!(escape_path("café".as_bytes()), "\"caf\\303\\251\"");
        assert_eq!(escape_path(b"a\xffb"), "\"a\\377b\"");
        assert_eq!(escape_path(b"tab\there"), "\"tab\\there\"");
        assert_eq!(escape_path(b"q\"uote"), "\"q\\\"uote\"");
    }

    #[test]
    fn paths_are_shown_as_utf8_without_quote_path() {
        assert_eq!(show_path("café".as_bytes(), false), "café");
        assert_eq!(show_path("café".as_bytes(), true), "\"caf\\303\\251\"");
        assert_eq!(show_path(b"a\xffb", false), "\"a\\377b\"");
        assert_eq!(show_path("tab\tcafé".as_bytes(), false), "\"tab\\tcafé\"");
        let shown = format!("{} was added", escape_path("données/café.txt".as_bytes()));
        assert_eq!(requote(&shown, false), "données/café.txt was added");
        assert_eq!(requote(&shown, true), shown);
        assert_eq!(requote("--evidence \"…\"", false), "--evidence \"…\"");
        assert_eq!(
            requote("say \"hi\" to \"a\\377\"", false),
            "say \"hi\" to \"a\\377\""
        );
    }

    #[test]
    fn quoted_paths_read_back_as_text() {
        for name in [
            "src/lib.rs",
            "données/café.txt",
            "tab\there",
            "q\"uote",
            "back\\slash",
        ] {
            assert_eq!(unquote_path(&escape_path(name.as_bytes())), name);
        }
        assert_eq!(unquote_path(&escape_path(b"a\xffb")), "a\u{fffd}b");
        assert_eq!(unquote_path("\"\\q\""), "\"\\q\"");
        assert_eq!(unquote_path("\""), "\"");
    }
}
