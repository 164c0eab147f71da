//! The transaction checker against brute-force oracles on thousands of random small
//! histories from simulated stores (strictly serializable, snapshot isolation, stale
//! snapshots, read committed, non-atomic), list-append and rw-register alike: for
//! serializable, strict-serializable, strong-session-serializable, snapshot-isolation and
//! strong-session-snapshot-isolation the verdicts must agree on every history, and both
//! verdicts must be well represented.

mod txn_support;

use checkers::txn::{check, IsolationModel, Options};
use checkers::Validity;
use txn_support::oracle::{self, Order};
use txn_support::store::{generate, Data, Params, KINDS};

const MODELS: [IsolationModel; 5] = [
    IsolationModel::Serializable,
    IsolationModel::StrictSerializable,
    IsolationModel::StrongSessionSerializable,
    IsolationModel::SnapshotIsolation,
    IsolationModel::StrongSessionSnapshotIsolation,
];

fn oracle_verdict(m: IsolationModel, ts: &[oracle::OTxn], lists: &[String]) -> bool {
    match m {
        IsolationModel::Serializable => oracle::serializable(ts, Order::None, lists),
        IsolationModel::StrictSerializable => oracle::serializable(ts, Order::Realtime, lists),
        IsolationModel::StrongSessionSerializable => {
            oracle::serializable(ts, Order::Session, lists)
        }
        IsolationModel::SnapshotIsolation => oracle::snapshot_isolation(ts, false, lists),
        IsolationModel::StrongSessionSnapshotIsolation => {
            oracle::snapshot_isolation(ts, true, lists)
        }
        _ => unreachable!(),
    }
}

fn agree(data: Data, histories: u64) {
    let p = Params::default();
    let opts = Options {
        models: MODELS.to_vec(),
        ..Options::default()
    };
    let lists: Vec<String> = if data == Data::List {
        ["x", "y", "z"].iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    };
    // [model] -> (valid, invalid)
    let mut counts = [(0u64, 0u64); MODELS.len()];
    let mut searched = 0;
    for seed in 0..histories {
        let kind = KINDS[(seed % KINDS.len() as u64) as usize];
        let text = generate(kind, data, seed, &p);
        let h = histories::parse_jsonl(&text).expect("generated histories are well formed");
        let r = check(&h, &opts).expect("generated histories are transaction histories");
        let ts = oracle::txns(&h);
        for (i, &m) in MODELS.iter().enumerate() {
            let want = oracle_verdict(m, &ts, &lists);
            let got = r.verdict(m).unwrap_or(Validity::Unknown);
            assert_eq!(
                got,
                if want {
                    Validity::Valid
                } else {
                    Validity::Invalid
                },
                "{m} on seed {seed} ({kind:?}, {data:?}): the oracle says {}, the checker {}\n{}\n{}",
                if want { "valid" } else { "invalid" },
                got.as_str(),
                r.to_text(),
                text
            );
            if want {
                counts[i].0 += 1;
            } else {
                counts[i].1 += 1;
            }
        }
        if r.models.iter().any(|v| v.reason.is_some()) {
            searched += 1;
        }
    }
    for (i, m) in MODELS.iter().enumerate() {
        let (v, inv) = counts[i];
        println!("{data:?} {m}: {v} valid, {inv} invalid, all agreeing");
        assert!(
            v * 4 >= histories && inv * 4 >= histories,
            "{m}: verdicts poorly represented ({v} valid, {inv} invalid)"
        );
    }
    println!("{data:?}: {searched} histories needed the completion search");
}

#[test]
fn list_append_agrees_with_the_oracle() {
    agree(Data::List, 5000);
}

#[test]
fn rw_register_agrees_with_the_oracle() {
    agree(Data::Register, 5000);
}
