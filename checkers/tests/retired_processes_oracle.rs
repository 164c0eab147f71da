//! The causal and sequential checkers agree with the brute-force oracles on small histories in
//! which process ids retire, as Jepsen's do: after every `info` completion, and at random
//! between operations otherwise, a process continues under a fresh id, so a history of three
//! workers carries many process ids, most of them holding one or two operations (a new id at
//! one operation in four, besides every `info`).

mod consistency_support;

use checkers::causal::{check, CausalModel};
use checkers::sequential::Budget;
use consistency_support::agree::{agree, MIX};
use consistency_support::oracle;
use consistency_support::store::Params;
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
