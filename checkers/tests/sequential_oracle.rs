//! The sequential and ZooKeeper checkers agree with brute-force interleaving oracles on random
//! small histories from correct, causal, causality-breaking and stale-read stores.

mod consistency_support;

use checkers::sequential::Budget;
use consistency_support::agree::{agree, MIX};
use consistency_support::oracle;
use consistency_support::store::Params;

#[test]
fn sequential_agrees_with_oracle() {
    let t = agree(
        "sequential",
        &MIX,
        &Params::default(),
        |h| checkers::sequential::check(h, &Budget::default()).valid,
        oracle::sequential,
    );
    assert!(t.valid + t.invalid >= 5000);
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}

#[test]
fn zookeeper_without_zxids_agrees_with_oracle() {
    let params = Params {
        syncs: true,
        ..Params::default()
    };
    let t = agree(
        "zookeeper",
        &MIX,
        &params,
        |h| checkers::zookeeper::check(h, &Budget::default()).valid,
        oracle::zookeeper,
    );
    assert!(t.valid + t.invalid >= 5000);
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}

#[test]
fn sequential_with_cas_agrees_with_oracle() {
    let params = Params {
        cas: true,
        ..Params::default()
    };
    let t = agree(
        "sequential+cas",
        &MIX,
        &params,
        |h| checkers::sequential::check(h, &Budget::default()).valid,
        oracle::sequential,
    );
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}

#[test]
fn zookeeper_with_cas_agrees_with_oracle() {
    let params = Params {
        cas: true,
        syncs: true,
        ..Params::default()
    };
    let t = agree(
        "zookeeper+cas",
        &MIX,
        &params,
        |h| checkers::zookeeper::check(h, &Budget::default()).valid,
        oracle::zookeeper,
    );
    assert!(
        t.valid > 500 && t.invalid > 500,
        "both verdicts must be exercised"
    );
}
