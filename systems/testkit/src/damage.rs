//! Damage done to a file's bytes, drawn by proptest: a truncation, a flipped byte, inserted
//! bytes or a spliced copy of a slice, each placed at a fraction of the file — for the
//! no-input-crashes tests of raft's and zab's recovery.

use proptest::prelude::*;

/// One damage done to a file's bytes.
#[derive(Clone, Debug)]
pub enum Damage {
    /// Keep this fraction (per mille) of the file.
    Truncate(u16),
    /// XOR the byte at this fraction (per mille) of the file with a non-zero mask.
    Flip(u16, u8),
    /// Insert these bytes at this fraction (per mille) of the file.
    Insert(u16, Vec<u8>),
    /// Copy a slice of the file (start, length per mille) to another place (per mille).
    Splice(u16, u16, u16),
}

pub fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0u16..=1000).prop_map(Damage::Truncate),
        (0u16..1000, 1u8..=255).prop_map(|(p, m)| Damage::Flip(p, m)),
        (0u16..=1000, prop::collection::vec(any::<u8>(), 1..40))
            .prop_map(|(p, b)| Damage::Insert(p, b)),
        (0u16..1000, 1u16..500, 0u16..=1000).prop_map(|(s, l, d)| Damage::Splice(s, l, d)),
    ]
}

fn at(len: usize, per_mille: u16) -> usize {
    len * per_mille as usize / 1000
}

pub fn apply(bytes: &mut Vec<u8>, d: &Damage) {
    let n = bytes.len();
    match d {
        Damage::Truncate(p) => bytes.truncate(at(n, *p)),
        Damage::Flip(p, m) => {
            if n > 0 {
                bytes[at(n, *p).min(n - 1)] ^= m;
            }
        }
        Damage::Insert(p, b) => {
            let i = at(n, *p);
            bytes.splice(i..i, b.iter().copied());
        }
        Damage::Splice(s, l, d) => {
            let s = at(n, *s);
            let e = (s + at(n, *l)).min(n);
            let piece = bytes[s..e].to_vec();
            let d = at(n, *d);
            bytes.splice(d..d, piece);
        }
    }
}
