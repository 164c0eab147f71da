//! Runs a checker and an oracle over many random histories and compares their verdicts.

use super::store::{generate, Kind, Params};
use checkers::Validity;
use histories::History;

pub struct Tally {
    pub valid: usize,
    pub invalid: usize,
    pub per_kind: Vec<(Kind, usize, usize)>,
}

/// Compares `checker` with `oracle` on `per_kind` histories from each store kind. Panics with
/// the first disagreements, printing each history.
pub fn agree(
    model: &str,
    per_kind: &[(Kind, u64)],
    params: &Params,
    checker: impl Fn(&History) -> Validity,
    oracle: impl Fn(&History) -> bool,
) -> Tally {
    let mut t = Tally {
        valid: 0,
        invalid: 0,
        per_kind: Vec::new(),
    };
    let mut bad = Vec::new();
    for &(kind, count) in per_kind {
        let (mut kv, mut ki) = (0, 0);
        for seed in 0..count {
            let ev = generate(kind, seed, params);
            let h = ev.history();
            let want = oracle(&h);
            let got = checker(&h);
            let expected = if want {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            if got != expected {
                if bad.len() < 3 {
                    bad.push(format!(
                        "{model}: {kind:?} seed {seed}: checker says {}, oracle says {}\n{}",
                        got.as_str(),
                        expected.as_str(),
                        ev.text()
                    ));
                }
                continue;
            }
            if want {
                kv += 1;
            } else {
                ki += 1;
            }
        }
        t.valid += kv;
        t.invalid += ki;
        t.per_kind.push((kind, kv, ki));
    }
    assert!(bad.is_empty(), "disagreements:\n{}", bad.join("\n"));
    eprintln!(
        "{model}: {} histories agree ({} valid, {} invalid); per store: {:?}",
        t.valid + t.invalid,
        t.valid,
        t.invalid,
        t.per_kind
    );
    t
}

/// The default mix: fewer histories from the correct stores, more from the faulty ones, whose
/// violations are rarer in small histories. 6,000 histories in all.
pub const MIX: [(Kind, u64); 5] = [
    (Kind::Linearizable, 600),
    (Kind::Causal, 600),
    (Kind::CausalLww, 600),
    (Kind::CausalityBreaking, 2100),
    (Kind::StaleReads, 2100),
];
