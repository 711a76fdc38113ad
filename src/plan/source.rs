//! The text of a plan file and the mapping from byte offsets to what a person reads: line,
//! column and the offending line itself.
//!
//! A UTF-8 byte-order mark is dropped before parsing (editors on some systems write one) and
//! CRLF line endings are accepted; columns count characters, not bytes, the way editors do.

use std::ops::Range;

use serde::Serialize;

/// A plan file's contents, ready for parsing.
#[derive(Debug, Clone)]
pub struct Source {
    display: String,
    text: String,
    line_starts: Vec<usize>,
}

/// Where something is in a plan file, with the line's text so that it can be shown with a caret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The text of `line`, without its line ending.
    #[serde(skip)]
    pub line_text: String,
    /// How many characters of `line_text` the caret underlines (at least 1).
    #[serde(skip)]
    pub width: usize,
}

impl Source {
    /// `display` is the name the file is shown under (as the user typed it, or repo-relative).
    pub fn new(display: impl Into<String>, text: impl Into<String>) -> Source {
        let mut text: String = text.into();
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            display: display.into(),
            text,
            line_starts,
        }
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// The text to parse (without a byte-order mark).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The location of a span; an empty span is shown as one caret at its position.
    pub fn location(&self, span: Range<usize>) -> Location {
        let start = floor_char_boundary(&self.text, span.start.min(self.text.len()));
        let line_index = match self.line_starts.binary_search(&start) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_index];
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let line_text = self.text[line_start..line_end].trim_end_matches('\r');
        let column = self.text[line_start..start].chars().count() + 1;
        // A span may start on the line ending itself (an error "at the end of the line").
        let visible_end = (line_start + line_text.len()).max(start);
        let end = floor_char_boundary(&self.text, span.end.clamp(start, visible_end));
        let width = self.text[start..end].chars().count().max(1);
        Location {
            file: self.display.clone(),
            line: line_index + 1,
            column,
            line_text: line_text.replace('\t', " "),
            width,
        }
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_characters_and_ignore_bom_and_cr() {
        let src = Source::new("p.toml", "\u{feff}a = 1\r\nbé = \"x\"\r\n");
        let loc = src.location(13..16);
        assert_eq!((loc.line, loc.column, loc.width), (2, 6, 3));
        assert_eq!(loc.line_text, "bé = \"x\"");
        let first = src.location(0..1);
        assert_eq!((first.line, first.column), (1, 1));
    }

    #[test]
    fn a_span_on_a_line_ending_is_shown_at_the_end_of_its_line() {
        let src = Source::new("p.toml", "a = 1\r\nb = 2\r\n");
        let loc = src.location(6..9);
        assert_eq!((loc.line, loc.column, loc.width), (1, 7, 1));
    }

    #[test]
    fn empty_span_at_end_of_file_has_one_caret() {
        let src = Source::new("p.toml", "a = \"x");
        let loc = src.location(6..6);
        assert_eq!((loc.line, loc.column, loc.width), (1, 7, 1));
    }
}
