//! The causal checkers agree with brute-force oracles on random small histories from correct,
//! causal, causality-breaking and stale-read stores.

mod consistency_support;

use checkers::causal::{check, CausalModel};
use consistency_support::agree::{agree, MIX};
use consistency_support::oracle;
use consistency_support::store::Params;

#[test]
fn causal_agrees_with_oracle() {
    let t = agree(
        "causal",
        &MIX,
        &Params::default(),
        |h| check(h, CausalModel::Causal).valid,
        oracle::causal,
    );
    assert!(t.valid + t.invalid >= 5000);
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}

#[test]
fn causal_memory_agrees_with_oracle() {
    let t = agree(
        "causal-memory",
        &MIX,
        &Params::default(),
        |h| check(h, CausalModel::CausalMemory).valid,
        oracle::causal_memory,
    );
    assert!(t.valid + t.invalid >= 5000);
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}

#[test]
fn causal_convergence_agrees_with_oracle() {
    let t = agree(
        "causal-convergence",
        &MIX,
        &Params::default(),
        |h| check(h, CausalModel::CausalConvergence).valid,
        oracle::causal_convergence,
    );
    assert!(t.valid + t.invalid >= 5000);
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}
