//! One hand-made history per anomaly kind the transaction checker names, with the models
//! each rules out; the Elle paper's example history (as Jepsen EDN); and a large component
//! whose class search runs out of budget while every verdict is still decided.

mod txn_support;

use checkers::txn::{check, IsolationModel as M, Options, TxnReport};
use checkers::Validity;
use serde_json::json;
use txn_support::{m, H};

fn run(h: &H) -> TxnReport {
    check(&h.history(), &Options::default()).expect("a transaction history")
}

fn has(r: &TxnReport, kind: &str) -> bool {
    r.anomaly_types.iter().any(|k| k == kind)
}

fn assert_kind(r: &TxnReport, kind: &str) {
    assert!(
        has(r, kind),
        "expected {kind} in {:?}\n{}",
        r.anomaly_types,
        r.to_text()
    );
}

fn verdict(r: &TxnReport, model: M) -> Validity {
    r.verdict(model).unwrap()
}

#[test]
fn g0_write_cycle() {
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1), m("append", "y", 1)])
        .ok(1, &[m("append", "x", 2), m("append", "y", 2)])
        .ok(2, &[m("r", "x", json!([1, 2])), m("r", "y", json!([2, 1]))]));
    assert_kind(&r, "G0");
    assert_eq!(verdict(&r, M::ReadUncommitted), Validity::Invalid);
    assert!(r.strongest.is_empty());
    let g0 = r.anomalies.iter().find(|a| a.kind == "G0").unwrap();
    assert!(
        g0.explanation.contains("longest read shows"),
        "{}",
        g0.explanation
    );
    assert_eq!(g0.ops.len(), 2);
}

#[test]
fn g1a_aborted_read() {
    let r = run(H::new()
        .fail(0, &[m("append", "x", 1)])
        .ok(1, &[m("r", "x", json!([1]))]));
    assert_kind(&r, "G1a");
    assert_eq!(verdict(&r, M::ReadUncommitted), Validity::Valid);
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Invalid);
    assert_eq!(r.strongest, vec![M::StrongSessionReadUncommitted]);
}

#[test]
fn g1b_intermediate_read() {
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1), m("append", "x", 2)])
        .ok(1, &[m("r", "x", json!([1]))]));
    assert_kind(&r, "G1b");
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Invalid);
    let a = r.anomalies.iter().find(|a| a.kind == "G1b").unwrap();
    assert!(a.explanation.contains("intermediate read"));
}

#[test]
fn g1c_circular_information_flow() {
    // Elle's README example.
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1), m("r", "y", json!([1]))])
        .ok(1, &[m("append", "x", 2), m("append", "y", 1)])
        .ok(2, &[m("r", "x", json!([1, 2]))]));
    assert_kind(&r, "G1c");
    assert_eq!(verdict(&r, M::ReadUncommitted), Validity::Valid);
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Invalid);
    let a = r.anomalies.iter().find(|a| a.kind == "G1c").unwrap();
    let edges = a.details["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert!(edges.iter().any(|e| e["type"] == "wr"));
    assert!(edges.iter().any(|e| e["type"] == "ww"));
}

#[test]
fn elle_paper_example_is_g_single() {
    // The example history of the Elle paper (histories/paper-example.edn in Elle's
    // repository), with the process and :f fields Jepsen histories carry.
    let edn = r#"
{:index 0 :type :invoke :process 0 :f :txn :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 1 :type :ok :process 0 :f :txn :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 2 :type :invoke :process 1 :f :txn :value [[:append 255 8] [:r 253 nil]]}
{:index 3 :type :ok :process 1 :f :txn :value [[:append 255 8] [:r 253 [1 3 4]]]}
{:index 4 :type :invoke :process 2 :f :txn :value [[:append 256 4] [:r 255 nil] [:r 256 nil] [:r 253 nil]]}
{:index 5 :type :ok :process 2 :f :txn :value [[:append 256 4] [:r 255 [2 3 4 5 8]] [:r 256 [1 2 4]] [:r 253 [1 3 4]]]}
{:index 6 :type :invoke :process 3 :f :txn :value [[:append 250 10] [:r 253 nil] [:r 255 nil] [:append 256 3]]}
{:index 7 :type :ok :process 3 :f :txn :value [[:append 250 10] [:r 253 [1 3 4]] [:r 255 [2 3 4 5]] [:append 256 3]]}
"#;
    let h = histories::parse_jepsen_edn(edn).unwrap();
    let r = check(&h, &Options::default()).unwrap();
    eprintln!("{}", r.to_text());
    assert_kind(&r, "G-single");
    assert!(!has(&r, "G1c") && !has(&r, "G0"));
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Valid);
    for model in [M::SnapshotIsolation, M::RepeatableRead, M::Serializable] {
        assert_eq!(verdict(&r, model), Validity::Invalid, "{model}");
    }
    assert_eq!(r.strongest, vec![M::StrongSessionReadCommitted]);
    let a = r.anomalies.iter().find(|a| a.kind == "G-single").unwrap();
    assert_eq!(a.ops.len(), 3, "{}", r.to_text());
    assert!(a.explanation.contains("without"), "{}", a.explanation);
}

#[test]
fn g2_item_write_skew() {
    let r = run(H::new()
        .invoke(0, &[m("append", "x", 1), m("r", "y", json!([]))])
        .invoke(1, &[m("append", "y", 1), m("r", "x", json!([]))])
        .event("ok", 0, &[m("append", "x", 1), m("r", "y", json!([]))])
        .event("ok", 1, &[m("append", "y", 1), m("r", "x", json!([]))]));
    assert_kind(&r, "G2-item");
    assert_eq!(verdict(&r, M::SnapshotIsolation), Validity::Valid);
    assert_eq!(verdict(&r, M::RepeatableRead), Validity::Invalid);
    assert_eq!(verdict(&r, M::Serializable), Validity::Invalid);
    assert_eq!(r.strongest, vec![M::StrongSessionSnapshotIsolation]);
}

#[test]
fn g_nonadjacent() {
    // T1 -rw-> T2 -wr-> T3 -rw-> T4 -wr-> T1, all concurrent.
    let t1 = [m("r", "a", json!([])), m("r", "d", json!([1]))];
    let t2 = [m("append", "a", 1), m("append", "b", 1)];
    let t3 = [m("r", "b", json!([1])), m("r", "c", json!([]))];
    let t4 = [m("append", "c", 1), m("append", "d", 1)];
    let mut h = H::new();
    for (p, t) in [&t1, &t2, &t3, &t4].iter().enumerate() {
        h.invoke(p as u64, &t[..]);
    }
    for (p, t) in [&t1, &t2, &t3, &t4].iter().enumerate() {
        h.event("ok", p as u64, &t[..]);
    }
    let r = run(&h);
    assert_kind(&r, "G-nonadjacent");
    assert!(!has(&r, "G-single"));
    assert_eq!(verdict(&r, M::SnapshotIsolation), Validity::Invalid);
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Valid);
}

#[test]
fn g_single_process() {
    // A process does not see its own previous append.
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1)])
        .ok(0, &[m("r", "x", json!([]))]));
    assert_kind(&r, "G-single-process");
    assert_eq!(verdict(&r, M::Serializable), Validity::Valid);
    assert_eq!(verdict(&r, M::StrongSessionSerializable), Validity::Invalid);
    assert_eq!(
        verdict(&r, M::StrongSessionSnapshotIsolation),
        Validity::Invalid
    );
    assert_eq!(
        r.strongest,
        vec![M::Serializable, M::StrongSessionReadCommitted]
    );
}

#[test]
fn g_single_realtime() {
    // Another process, invoked after the append completed, does not see it.
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1)])
        .ok(1, &[m("r", "x", json!([]))]));
    assert_kind(&r, "G-single-realtime");
    assert_eq!(verdict(&r, M::StrongSessionSerializable), Validity::Valid);
    assert_eq!(verdict(&r, M::StrictSerializable), Validity::Invalid);
    assert_eq!(r.strongest, vec![M::StrongSessionSerializable]);
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind == "G-single-realtime")
        .unwrap();
    assert!(
        a.explanation.contains("completed (line 2) before"),
        "{}",
        a.explanation
    );
}

#[test]
fn internal_inconsistency() {
    let r = run(H::new().ok(0, &[m("append", "x", 1), m("r", "x", json!([]))]));
    assert_kind(&r, "internal");
    assert_eq!(verdict(&r, M::RepeatableRead), Validity::Valid);
    assert_eq!(verdict(&r, M::SnapshotIsolation), Validity::Invalid);
    assert_eq!(verdict(&r, M::Serializable), Validity::Invalid);
}

#[test]
fn duplicate_elements() {
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1)])
        .ok(1, &[m("r", "x", json!([1, 1]))]));
    assert_kind(&r, "duplicate-elements");
    assert_eq!(verdict(&r, M::ReadUncommitted), Validity::Invalid);
}

#[test]
fn incompatible_order() {
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1)])
        .ok(1, &[m("append", "x", 2)])
        .ok(2, &[m("r", "x", json!([1, 2]))])
        .ok(3, &[m("r", "x", json!([2, 1]))]));
    assert_kind(&r, "incompatible-order");
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Invalid);
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind == "incompatible-order")
        .unwrap();
    assert!(
        a.explanation.contains("neither is a prefix"),
        "{}",
        a.explanation
    );
}

#[test]
fn dirty_update() {
    let r = run(H::new()
        .fail(0, &[m("append", "x", 1)])
        .ok(1, &[m("append", "x", 2)])
        .ok(2, &[m("r", "x", json!([1, 2]))]));
    assert_kind(&r, "dirty-update");
    assert_kind(&r, "G1a");
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Invalid);
}

#[test]
fn garbage_read() {
    let r = run(H::new().ok(0, &[m("r", "x", json!([7]))]));
    assert_kind(&r, "garbage-read");
    assert_eq!(verdict(&r, M::ReadUncommitted), Validity::Invalid);
}

#[test]
fn lost_update_on_registers() {
    let r = run(H::new()
        .invoke(0, &[m("r", "x", json!(null)), m("w", "x", 1)])
        .invoke(1, &[m("r", "x", json!(null)), m("w", "x", 2)])
        .event("ok", 0, &[m("r", "x", json!(null)), m("w", "x", 1)])
        .event("ok", 1, &[m("r", "x", json!(null)), m("w", "x", 2)]));
    assert_eq!(r.workload, "rw-register");
    assert_kind(&r, "lost-update");
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Valid);
    assert_eq!(verdict(&r, M::SnapshotIsolation), Validity::Invalid);
    assert_eq!(verdict(&r, M::RepeatableRead), Validity::Invalid);
}

#[test]
fn register_cycle_in_every_version_order() {
    // No single order of x's and y's writes explains both readers; no cycle is certain
    // from the reads alone, so the completion search decides.
    let r = run(H::new()
        .ok(0, &[m("w", "x", 1), m("w", "y", 1)])
        .ok(1, &[m("w", "x", 2), m("w", "y", 2)])
        .invoke(2, &[m("r", "x", json!(1)), m("r", "y", json!(2))])
        .invoke(3, &[m("r", "x", json!(2)), m("r", "y", json!(1))])
        .event("ok", 2, &[m("r", "x", json!(1)), m("r", "y", json!(2))])
        .event("ok", 3, &[m("r", "x", json!(2)), m("r", "y", json!(1))]));
    assert_eq!(
        verdict(&r, M::Serializable),
        Validity::Invalid,
        "{}",
        r.to_text()
    );
    assert_eq!(verdict(&r, M::ReadCommitted), Validity::Valid);
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind.ends_with("-every-order"))
        .unwrap_or_else(|| panic!("{}", r.to_text()));
    assert!(
        a.explanation.starts_with("no order of the writes to x, y"),
        "{}",
        a.explanation
    );
}

#[test]
fn register_serializable_history_is_valid() {
    let r = run(H::new()
        .ok(0, &[m("w", "x", 1)])
        .ok(1, &[m("r", "x", json!(1)), m("w", "x", 2)])
        .ok(2, &[m("r", "x", json!(2)), m("r", "y", json!(null))]));
    assert_eq!(r.valid, Validity::Valid, "{}", r.to_text());
    assert_eq!(r.strongest, vec![M::StrictSerializable]);
}

#[test]
fn a_large_component_is_decided_when_the_class_search_runs_out() {
    // A ring of 3,000 anti-dependencies: T_i reads k(i+1) empty, T(i+1) appends to it.
    let n = 3000;
    let mut h = H::new();
    let key = |i: usize| format!("k{}", i % n);
    for i in 0..n {
        h.invoke(
            i as u64,
            &[m("r", &key(i + 1), json!([])), m("append", &key(i), 1)],
        );
    }
    for i in 0..n {
        h.event(
            "ok",
            i as u64,
            &[m("r", &key(i + 1), json!([])), m("append", &key(i), 1)],
        );
    }
    let opts = Options {
        cycle_budget: 100,
        ..Options::default()
    };
    let r = check(&h.history(), &opts).unwrap();
    assert_eq!(verdict(&r, M::Serializable), Validity::Invalid);
    assert_eq!(verdict(&r, M::SnapshotIsolation), Validity::Valid);
    assert!(
        r.unfinished
            .iter()
            .any(|u| u.contains("a cycle of at least")),
        "{:?}",
        r.unfinished
    );
    assert_kind(&r, "G2-item");
}

#[test]
fn malformed_micro_ops_are_one_sentence() {
    let text = r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"txn","value":[["inc","x",1]]}
{"index":1,"time":1,"type":"ok","process":0,"f":"txn","value":[["inc","x",1]]}
"#;
    let h = histories::parse_jsonl(text).unwrap();
    let e = check(&h, &Options::default()).unwrap_err();
    assert!(e.starts_with("line 2: micro-op 1 is"), "{e}");
    let text = r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"x","value":null}
"#;
    let h = histories::parse_jsonl(text).unwrap();
    assert!(check(&h, &Options::default())
        .unwrap_err()
        .contains("not a transaction"));
}

#[test]
fn duplicate_appends_are_undecided_not_alarms() {
    let r = run(H::new()
        .ok(0, &[m("append", "x", 1)])
        .ok(1, &[m("append", "x", 1)])
        .ok(2, &[m("r", "x", json!([1]))]));
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.summary.contains("unique"), "{}", r.summary);
}
