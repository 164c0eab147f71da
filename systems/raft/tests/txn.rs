//! Transactions on real `raft-node` processes: micro-ops apply atomically and in order, reads
//! see the transaction's own writes, malformed transactions get `bad_request`; and under
//! concurrent read-then-append transactions every read is exactly the list before the
//! transaction's own append — which `--bug txn-local-reads` and `--bug txn-split` break.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::Raft;
use testkit::Cluster;

const T: Duration = Duration::from_secs(15);

/// Runs `txn` on the leader until it is answered ok.
fn txn(c: &Cluster, ops: Value) -> Value {
    let start = std::time::Instant::now();
    loop {
        let leader = c.wait_leader(T);
        let mut cl = c.client(leader).unwrap();
        if let Ok(r) = cl.call(json!({"op": "txn", "txn": ops})) {
            if r["ok"] == true {
                return r["txn"].clone();
            }
            assert!(start.elapsed() < T, "txn not served: {r}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn transactions_are_atomic_and_read_their_own_writes() {
    let c = support::start(3, &[], false);
    let r = txn(
        &c,
        json!([
            ["r", "x", null],
            ["append", "x", 1],
            ["append", "x", 2],
            ["r", "x", null],
            ["w", "y", 7],
            ["r", "y", null]
        ]),
    );
    assert_eq!(
        r,
        json!([
            ["r", "x", null],
            ["append", "x", 1],
            ["append", "x", 2],
            ["r", "x", [1, 2]],
            ["w", "y", 7],
            ["r", "y", 7]
        ])
    );
    // An append to a register rejects the whole transaction, definitely.
    let leader = c.wait_leader(T);
    let mut cl = c.client(leader).unwrap();
    let r = cl
        .call(json!({"op": "txn", "txn": [["append", "x", 3], ["append", "y", 1]]}))
        .unwrap();
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["definite"], true, "{r}");
    assert_eq!(
        txn(&c, json!([["r", "x", null]])),
        json!([["r", "x", [1, 2]]])
    );
    for bad in [
        json!({"op": "txn", "txn": []}),
        json!({"op": "txn", "txn": [["inc", "x", 1]]}),
        json!({"op": "txn", "txn": [["w", "x", null]]}),
        json!({"op": "txn", "txn": "x"}),
    ] {
        let r = cl.call(bad.clone()).unwrap();
        assert_eq!(r["error"]["code"], "bad_request", "{bad} -> {r}");
    }
}

/// Concurrent clients each run read-then-append transactions on one key; returns how many
/// reads differ from the list just before the transaction's own append.
fn torn_transactions(extra: &[&str]) -> (usize, usize) {
    let c = support::start(3, extra, false);
    let leader = c.wait_leader(T);
    let addr = c.nodes[leader].client_addr;
    let threads: Vec<_> = (0..6)
        .map(|t| {
            std::thread::spawn(move || {
                let mut cl = testkit::Client::connect(addr).unwrap();
                let mut out = Vec::new();
                for i in 0..40 {
                    let v = t * 1000 + i;
                    let r = cl
                        .call(json!({"op": "txn", "txn": [["r", "k", null], ["append", "k", v]]}))
                        .unwrap();
                    if r["ok"] == true {
                        out.push((r["txn"][0][2].clone(), v));
                    }
                }
                out
            })
        })
        .collect();
    let done: Vec<(Value, i64)> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let final_list = txn(&c, json!([["r", "k", null]]))[0][2].clone();
    let list: Vec<i64> = final_list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut torn = 0;
    for (read, v) in &done {
        let pos = list
            .iter()
            .position(|x| x == v)
            .expect("acknowledged append kept");
        let before: Vec<Value> = list[..pos].iter().map(|x| json!(x)).collect();
        let read = if read.is_null() {
            json!([])
        } else {
            read.clone()
        };
        if read != Value::Array(before) {
            torn += 1;
        }
    }
    (torn, done.len())
}

#[test]
fn concurrent_transactions_read_exactly_what_precedes_their_writes() {
    let (torn, n) = torn_transactions(&[]);
    assert_eq!(torn, 0, "{torn} of {n} transactions were not atomic");
    assert!(n > 200);
}

#[test]
fn bug_txn_local_reads_tears_transactions() {
    let (torn, n) = torn_transactions(&["--bug", "txn-local-reads"]);
    eprintln!("txn-local-reads: {torn} of {n} transactions torn");
    assert!(torn > 0, "no torn transaction among {n}");
}

#[test]
fn bug_txn_split_tears_transactions() {
    let (torn, n) = torn_transactions(&["--bug", "txn-split"]);
    eprintln!("txn-split: {torn} of {n} transactions torn");
    assert!(torn > 0, "no torn transaction among {n}");
}
