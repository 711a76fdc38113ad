//! The union of two versions of one note, line by line (SPEC §2: notes are JSON Lines, each
//! line a self-contained event, only ever appended). Pure: bytes in, bytes out; a line is
//! compared as bytes and never parsed, so records of any format (signed ones too) merge alike.
//!
//! The rule is symmetric — `merge(a, b) == merge(b, a)` — so two machines merging the same two
//! versions write the same note, and idempotent, so merging again changes nothing:
//!
//! - when one side holds every line of the other, that side is the result, as it is (the
//!   common case: one machine appended, the other did not);
//! - when both hold the same lines in another order, the smaller of the two (as bytes);
//! - otherwise the lines both sides begin with, in their order, then every other line of
//!   either side, once, sorted (the events start with their time, so this is close to the
//!   order they happened in; no reader depends on it).

use std::collections::{BTreeSet, HashSet};

use crate::git::notes::lines;

/// The union of the notes `a` and `b`: no line of either is lost, none is added twice.
pub fn merge_note(a: &[u8], b: &[u8]) -> Vec<u8> {
    let la: Vec<&[u8]> = lines(a).collect();
    let lb: Vec<&[u8]> = lines(b).collect();
    let sa: HashSet<&[u8]> = la.iter().copied().collect();
    let sb: HashSet<&[u8]> = lb.iter().copied().collect();
    match (sa.is_subset(&sb), sb.is_subset(&sa)) {
        (true, true) => return a.min(b).to_vec(),
        (true, false) => return b.to_vec(),
        (false, true) => return a.to_vec(),
        (false, false) => {}
    }
    let common = la.iter().zip(&lb).take_while(|(x, y)| x == y).count();
    let head: HashSet<&[u8]> = la[..common].iter().copied().collect();
    let rest: BTreeSet<&[u8]> = la[common..]
        .iter()
        .chain(&lb[common..])
        .copied()
        .filter(|l| !head.contains(l))
        .collect();
    let mut out = Vec::with_capacity(a.len() + b.len());
    for line in la[..common].iter().chain(&rest) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

/// How many lines of `merged` are not in `before` (`None`: there was no note).
pub fn lines_added(before: Option<&[u8]>, merged: &[u8]) -> usize {
    let known: HashSet<&[u8]> = before.map(|b| lines(b).collect()).unwrap_or_default();
    let mut seen = HashSet::new();
    lines(merged)
        .filter(|l| !known.contains(l) && seen.insert(*l))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(a: &str, b: &str) -> String {
        let one = merge_note(a.as_bytes(), b.as_bytes());
        let other = merge_note(b.as_bytes(), a.as_bytes());
        assert_eq!(one, other, "not symmetric for {a:?} and {b:?}");
        let again = merge_note(&one, a.as_bytes());
        assert_eq!(again, one, "merging a side again changed the result");
        String::from_utf8(one).unwrap()
    }

    #[test]
    fn one_side_appended_keeps_that_side_as_it_is() {
        assert_eq!(m("a\nb\n", "a\nb\nc\n"), "a\nb\nc\n");
        assert_eq!(m("", "a\n"), "a\n");
        assert_eq!(m("a\nb\n", "a\nb\n"), "a\nb\n");
    }

    #[test]
    fn both_appended_keeps_the_common_start_then_the_rest_sorted_once() {
        assert_eq!(m("a\nb\nz\n", "a\nb\ny\nz2\n"), "a\nb\ny\nz\nz2\n");
        // A line both appended is kept once.
        assert_eq!(m("a\nq\ns\n", "a\nr\nq\n"), "a\nq\nr\ns\n");
        assert_eq!(m("a\nx\nq\n", "a\nx\nr\nq\n"), "a\nx\nr\nq\n");
        assert_eq!(m("p\n", "q\n"), "p\nq\n");
    }

    #[test]
    fn the_same_lines_in_another_order_give_one_answer() {
        assert_eq!(m("b\na\n", "a\nb\n"), "a\nb\n");
    }

    #[test]
    fn a_missing_last_line_end_loses_nothing() {
        assert_eq!(m("a\nb", "a\nc\n"), "a\nb\nc\n");
    }

    #[test]
    fn lines_added_counts_new_lines_once() {
        assert_eq!(lines_added(Some(b"a\n"), b"a\nb\nc\n"), 2);
        assert_eq!(lines_added(None, b"a\nb\n"), 2);
    }

    #[test]
    fn three_machines_merging_in_any_order_hold_every_line() {
        let base = "e1\n";
        let sides = [
            format!("{base}x1\nx2\n"),
            format!("{base}y1\n"),
            format!("{base}z1\nz2\n"),
        ];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let mut acc = sides[order[0]].clone().into_bytes();
            for &i in &order[1..] {
                acc = merge_note(&acc, sides[i].as_bytes());
            }
            let got: Vec<&[u8]> = lines(&acc).collect();
            let set: HashSet<&[u8]> = got.iter().copied().collect();
            assert_eq!(got.len(), set.len(), "a duplicate in {order:?}");
            assert_eq!(set.len(), 6, "a line lost in {order:?}");
        }
    }
}
