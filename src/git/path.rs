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
}
