//! The ZooKeeper check with zxids: on histories of a simulated ensemble (leader-ordered writes,
//! lagging replicas, syncs), a correct ensemble is always valid; an ensemble whose sessions hop
//! between replicas (so reads can go backwards) is found invalid whenever the brute-force
//! oracle finds it invalid, and is only called valid when the oracle agrees.

mod consistency_support;

use checkers::sequential::Budget;
use checkers::zookeeper::check;
use checkers::Validity;
use consistency_support::store::generate_zk;
use consistency_support::{oracle, Events};
use serde_json::json;

#[test]
fn correct_ensemble_is_valid_with_and_without_read_zxids() {
    for seed in 0..1500 {
        for read_zxids in [false, true] {
            let ev = generate_zk(seed, false, read_zxids, 9);
            let h = ev.history();
            let r = check(&h, &Budget::default());
            assert_eq!(
                r.valid,
                Validity::Valid,
                "seed {seed}\n{}\n{}",
                r.to_text(),
                ev.text()
            );
            assert_eq!(r.stats["method"], "zxid");
            assert!(oracle::zookeeper(&h), "oracle disagrees on seed {seed}");
        }
    }
}

#[test]
fn hopping_sessions_are_caught() {
    let (mut invalid, mut valid) = (0, 0);
    for seed in 0..3000 {
        let ev = generate_zk(seed, true, false, 9);
        let h = ev.history();
        let got = check(&h, &Budget::default()).valid;
        let want = oracle::zookeeper(&h);
        if !want {
            assert_eq!(
                got,
                Validity::Invalid,
                "seed {seed}: oracle says invalid\n{}",
                ev.text()
            );
        }
        if got == Validity::Valid {
            assert!(
                want,
                "seed {seed}: zxid check says valid, oracle not\n{}",
                ev.text()
            );
            valid += 1;
        } else {
            invalid += 1;
        }
        // The search fallback (zxids ignored) decides the model itself.
        let mut stripped = h.clone();
        for o in &mut stripped.ops {
            o.meta.remove("zxid");
        }
        let fallback = check(&stripped, &Budget::default());
        if h.ops
            .iter()
            .any(|o| o.f == "write" && o.status == histories::OpStatus::Ok)
        {
            assert_eq!(fallback.stats["method"], "search");
        }
        assert_eq!(
            fallback.valid == Validity::Valid,
            want,
            "seed {seed}\n{}",
            ev.text()
        );
    }
    eprintln!("hopping sessions: {valid} valid, {invalid} invalid");
    assert!(invalid > 300 && valid > 300);
}

fn write_z(e: &mut Events, p: u64, key: &str, v: i64, z: i64) {
    e.invoke(p, "write", key, json!(v)).complete_with(
        "ok",
        p,
        "write",
        key,
        json!(v),
        &[("zxid", json!(z))],
    );
}

#[test]
fn a_read_going_backwards_in_its_session_is_named() {
    let mut e = Events::new();
    write_z(&mut e, 1, "x", 1, 1);
    write_z(&mut e, 1, "x", 2, 2);
    e.read(2, "x", Some(2)).read(2, "x", Some(1));
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomalies[0].kind, "stale-session-read");
    assert!(
        r.anomalies[0].explanation.contains("went backwards"),
        "{}",
        r.to_text()
    );
}

#[test]
fn a_read_after_sync_must_see_what_completed_before_the_sync() {
    let mut e = Events::new();
    write_z(&mut e, 1, "x", 1, 1);
    e.sync(2).read(2, "x", None);
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Invalid, "{}", r.to_text());
    // without the sync the stale read is allowed
    let mut e = Events::new();
    write_z(&mut e, 1, "x", 1, 1);
    e.read(2, "x", None);
    assert_eq!(
        check(&e.history(), &Budget::default()).valid,
        Validity::Valid
    );
}

#[test]
fn zxids_against_real_time_are_named() {
    let mut e = Events::new();
    write_z(&mut e, 1, "x", 1, 5);
    write_z(&mut e, 2, "y", 1, 3);
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomalies[0].kind, "real-time-zxid");
}

#[test]
fn a_read_outside_its_values_zxid_interval_is_named() {
    let mut e = Events::new();
    write_z(&mut e, 1, "x", 1, 1);
    write_z(&mut e, 1, "x", 2, 2);
    e.invoke(2, "read", "x", serde_json::Value::Null)
        .complete_with("ok", 2, "read", "x", json!(1), &[("zxid", json!(2))]);
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert!(
        r.anomalies[0].explanation.contains("outside the interval"),
        "{}",
        r.to_text()
    );
}

#[test]
fn a_cas_that_did_not_see_its_expected_value_is_named() {
    let mut e = Events::new();
    write_z(&mut e, 1, "x", 1, 1);
    write_z(&mut e, 1, "x", 2, 2);
    e.invoke(2, "cas", "x", json!([1, 3])).complete_with(
        "ok",
        2,
        "cas",
        "x",
        json!([1, 3]),
        &[("zxid", json!(3))],
    );
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomalies[0].kind, "cas-zxid");
}

#[test]
fn hex_string_zxids_are_understood() {
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1)).complete_with(
        "ok",
        1,
        "write",
        "x",
        json!(1),
        &[("zxid", json!("0x100000001"))],
    );
    e.read(2, "x", Some(1));
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.stats["method"], "zxid");
}

#[test]
fn versions_order_the_writes_of_a_key_in_the_fallback() {
    // Concurrent writes; versions say 2 came first. A session reading 1 then 2 contradicts it.
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1))
        .invoke(2, "write", "x", json!(2))
        .complete_with("ok", 1, "write", "x", json!(1), &[("version", json!(2))])
        .complete_with("ok", 2, "write", "x", json!(2), &[("version", json!(1))])
        .read(3, "x", Some(1))
        .read(3, "x", Some(2));
    let r = check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Invalid, "{}", r.to_text());
    assert_eq!(r.stats["version_edges"], 1);
    assert!(r.to_text().contains("next version"), "{}", r.to_text());
    // Without versions the same history is fine.
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1))
        .invoke(2, "write", "x", json!(2))
        .complete("ok", 1, "write", "x", json!(1))
        .complete("ok", 2, "write", "x", json!(2))
        .read(3, "x", Some(1))
        .read(3, "x", Some(2));
    assert_eq!(
        check(&e.history(), &Budget::default()).valid,
        Validity::Valid
    );
}
