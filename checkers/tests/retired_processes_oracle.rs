//! The causal and sequential checkers agree with the brute-force oracles on small histories in
//! which process ids retire, as Jepsen's do: after every `info` completion, and at random
//! between operations otherwise, a process continues under a fresh id, so a history of three
//! workers carries many process ids, most of them holding one or two operations (a new id at
//! one operation in four, besides every `info`).

mod consistency_support;

use checkers::causal::{check, check_memory, CausalModel};
use checkers::memory::Memory;
use checkers::sequential::Budget;
use checkers::Validity;
use consistency_support::agree::{agree, MIX};
use consistency_support::oracle;
use consistency_support::store::{generate, Params};
use histories::{History, OpStatus};
use std::collections::HashMap;

/// The history with retired process ids (see the module doc).
fn retire(h: &History) -> History {
    let mut r = h.clone();
    let mut current: HashMap<u64, u64> = HashMap::new();
    let mut next = 1000u64;
    for op in &mut r.ops {
        let worker = op.process;
        let id = *current.entry(worker).or_insert(worker);
        // a deterministic coin per operation
        let coin = (op.id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62;
        let id = if coin == 0 {
            next += 1;
            next
        } else {
            id
        };
        op.process = id;
        current.insert(worker, id);
        if op.status == OpStatus::Info {
            next += 1;
            current.insert(worker, next);
        }
    }
    r
}

fn agrees(model: &str, checker: impl Fn(&History) -> checkers::Validity, o: fn(&History) -> bool) {
    let t = agree(
        model,
        &MIX,
        &Params::default(),
        |h| checker(&retire(h)),
        |h| o(&retire(h)),
    );
    assert!(t.valid + t.invalid >= 5000);
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}

#[test]
fn retiring_ids_multiplies_processes() {
    let h = consistency_support::store::generate(
        consistency_support::store::Kind::Linearizable,
        7,
        &Params {
            ops: 30,
            ..Params::default()
        },
    )
    .history();
    assert!(
        2 * retire(&h).processes() >= 3 * h.processes(),
        "{} -> {}",
        h.processes(),
        retire(&h).processes()
    );
}

#[test]
fn causal_agrees_with_oracle_under_retired_ids() {
    agrees(
        "causal",
        |h| check(h, CausalModel::Causal).valid,
        oracle::causal,
    );
}

#[test]
fn causal_memory_agrees_with_oracle_under_retired_ids() {
    agrees(
        "causal-memory",
        |h| check(h, CausalModel::CausalMemory).valid,
        oracle::causal_memory,
    );
}

#[test]
fn causal_convergence_agrees_with_oracle_under_retired_ids() {
    agrees(
        "causal-convergence",
        |h| check(h, CausalModel::CausalConvergence).valid,
        oracle::causal_convergence,
    );
}

#[test]
fn sequential_agrees_with_oracle_under_retired_ids() {
    agrees(
        "sequential",
        |h| checkers::sequential::check(h, &Budget::default()).valid,
        oracle::sequential,
    );
}

/// Over linked chains (processes packed onto as few chains as real time allows, the form wide
/// histories are checked in) a checker may only say valid when the oracle does, never invalid,
/// and must still decide most histories the oracle finds valid.
fn linked_sound(
    model: &str,
    checker: impl Fn(&History, &Memory) -> Validity,
    o: fn(&History) -> bool,
) {
    let (mut valid, mut oracle_valid, mut unknown, mut linked) = (0, 0, 0, 0);
    for &(kind, count) in &MIX {
        for seed in 0..count {
            let h = retire(&generate(kind, seed, &Params::default()).history());
            let m = Memory::from_history_linked(&h).expect("differentiated");
            assert!(m.linked);
            if m.chains.len() < h.processes() {
                linked += 1;
            }
            let want = o(&h);
            oracle_valid += usize::from(want);
            match checker(&h, &m) {
                Validity::Valid => {
                    assert!(want, "{model}: {kind:?} seed {seed}: valid over linked chains, the oracle says invalid");
                    valid += 1;
                }
                Validity::Invalid => {
                    panic!("{model}: {kind:?} seed {seed}: invalid over linked chains")
                }
                Validity::Unknown => unknown += 1,
            }
        }
    }
    eprintln!("{model}: linked chains: {valid} of {oracle_valid} valid histories decided valid, {unknown} unknown, {linked} histories with fewer chains than processes");
    assert!(
        linked > 3000,
        "linking must shorten most histories' chains ({linked})"
    );
    assert!(
        2 * valid >= oracle_valid,
        "{model}: only {valid} of {oracle_valid} valid histories decided over linked chains"
    );
}

#[test]
fn causal_models_over_linked_chains_are_sound() {
    for (model, name, o) in [
        (
            CausalModel::Causal,
            "causal",
            oracle::causal as fn(&History) -> bool,
        ),
        (
            CausalModel::CausalMemory,
            "causal-memory",
            oracle::causal_memory,
        ),
        (
            CausalModel::CausalConvergence,
            "causal-convergence",
            oracle::causal_convergence,
        ),
    ] {
        linked_sound(
            name,
            |h, m| check_memory(h, m, model, std::time::Instant::now()).valid,
            o,
        );
    }
}

#[test]
fn sequential_over_linked_chains_is_sound() {
    linked_sound(
        "sequential",
        |h, m| checkers::sequential::check_memory(h, m, &Budget::default()).valid,
        oracle::sequential,
    );
}
