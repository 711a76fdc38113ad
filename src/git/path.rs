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
