//! No input panics the plan loader: every corpus plan, mutated thousands of ways (bytes
//! dropped, repeated, replaced by TOML punctuation, invalid UTF-8, truncation), loads to a
//! result with diagnostics. Deterministic: a fixed-seed generator, so a failure reproduces.

use std::fs;

use git_planx::plan::{NoPathFacts, load_bytes};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&[u8]] = &[
    b"[",
    b"]",
    b"[[",
    b"]]",
    b"=",
    b"\"",
    b"'",
    b"\"\"\"",
    b"\n",
    b"\r\n",
    b",",
    b"{",
    b"}",
    b".",
    b"#",
    b"\\",
    b"**",
    b"*",
    b"?",
    b"[!",
    b"/",
    b"..",
    b"-",
    b"\xff",
    b"\xc3",
    b"\0",
    b"\xef\xbb\xbf",
    b"phase",
    b"depends_on",
    b"id",
    b"1h",
    b"0s",
    b"99999999999999999999",
    b"\"a\"",
    b"[[phase]]\nid = \"a\"\n",
    b"[phase.files]\n",
    b"[[phase.check]]\n",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let len = rng.below(16).min(out.len() - at.min(out.len()));
                out.drain(at.min(out.len())..at.min(out.len()) + len);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                out.splice(at..at, piece.iter().copied());
            }
            2 if at < out.len() => out[at] = rng.next() as u8,
            3 => out.truncate(at),
            _ => {
                let start = rng.below(out.len() + 1);
                let end = (start + rng.below(64)).min(out.len());
                let copy = out[start..end].to_vec();
                out.splice(at..at, copy);
            }
        }
    }
    out
}

#[test]
fn mutated_plans_never_panic_the_loader() {
    let mut inputs = Vec::new();
    for dir in ["tests/corpus/bad", "tests/corpus/good"] {
        for entry in fs::read_dir(dir).expect("corpus folder") {
            inputs.push(fs::read(entry.expect("entry").path()).expect("corpus file"));
        }
    }
    inputs.sort();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..6000 {
        let input = &inputs[round % inputs.len()];
        let mutated = mutate(&mut rng, input);
        let loaded = load_bytes("plan.toml", mutated.clone(), &NoPathFacts);
        // Whatever came in, the result is consistent: errors mean "invalid".
        assert_eq!(loaded.into_valid().is_err(), {
            let again = load_bytes("plan.toml", mutated, &NoPathFacts);
            again.has_errors()
        });
    }
}
