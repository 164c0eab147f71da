//! Litmus tests with their expected verdict under every model of the ladder: store buffering,
//! message passing, independent reads of independent writes, the per-key counterexample, and
//! histories separating the models pairwise. Operations run one after another in the order
//! written (each completes before the next starts) unless said otherwise.

mod consistency_support;

use checkers::causal::{self, CausalModel};
use checkers::consistency::{Ladder, Model};
use checkers::linear::{self, ModelKind, Options};
use checkers::sequential::{self, Budget};
use checkers::{zookeeper, Validity};
use consistency_support::Events;
use histories::History;
use Validity::{Invalid as N, Valid as Y};

fn verdicts(h: &History) -> Vec<(Model, Validity)> {
    // The linearizability checker knows no sync; a sync is a no-op for linearizability.
    let mut no_sync = h.clone();
    no_sync.ops.retain(|o| o.f != "sync");
    for (i, o) in no_sync.ops.iter_mut().enumerate() {
        o.id = i;
    }
    let lin = linear::check(&no_sync, &Options::new(ModelKind::Kv))
        .map(|r| r.valid)
        .unwrap_or(Validity::Unknown);
    let b = Budget::default();
    vec![
        (Model::Linearizable, lin),
        (Model::Zookeeper, zookeeper::check(h, &b).valid),
        (Model::Sequential, sequential::check(h, &b).valid),
        (
            Model::CausalMemory,
            causal::check(h, CausalModel::CausalMemory).valid,
        ),
        (
            Model::CausalConvergence,
            causal::check(h, CausalModel::CausalConvergence).valid,
        ),
        (Model::Causal, causal::check(h, CausalModel::Causal).valid),
    ]
}

/// Expected: linearizable, zookeeper, sequential, causal-memory, causal-convergence, causal.
fn expect(name: &str, h: &History, want: [Validity; 6], strongest: &[Model]) {
    let got = verdicts(h);
    for ((m, v), w) in got.iter().zip(want) {
        assert_eq!(*v, w, "{name}: {m} should be {}", w.as_str());
    }
    let ladder = Ladder::from_verdicts(&got);
    assert!(
        ladder.contradictions.is_empty(),
        "{name}: {}",
        ladder.summary
    );
    assert_eq!(ladder.strongest, strongest, "{name}: {}", ladder.summary);
}

fn store_buffering() -> History {
    // P1: w(x,1) r(y)=null; P2: w(y,1) r(x)=null
    Events::new()
        .write(1, "x", 1)
        .write(2, "y", 1)
        .read(1, "y", None)
        .read(2, "x", None)
        .history()
}

#[test]
fn store_buffering_is_causal_but_not_sequential() {
    expect(
        "SB",
        &store_buffering(),
        [N, N, N, Y, Y, Y],
        &[Model::CausalMemory, Model::CausalConvergence],
    );
}

#[test]
fn message_passing_violation_breaks_every_model() {
    // P1: w(x,1) w(y,1); P2: r(y)=1 r(x)=null
    let h = Events::new()
        .write(1, "x", 1)
        .write(1, "y", 1)
        .read(2, "y", Some(1))
        .read(2, "x", None)
        .history();
    expect("MP", &h, [N, N, N, N, N, N], &[]);
    let r = causal::check(&h, CausalModel::Causal);
    assert_eq!(r.anomalies[0].kind, "WriteCOInitRead");
    // The explanation walks the causal chain edge by edge.
    let text = r.to_text();
    assert!(text.contains("precedes"), "{text}");
    assert!(text.contains("reads the value written by"), "{text}");
}

#[test]
fn message_passing_allowed_outcome_is_linearizable() {
    let h = Events::new()
        .write(1, "x", 1)
        .write(1, "y", 1)
        .read(2, "y", Some(1))
        .read(2, "x", Some(1))
        .history();
    expect("MP-ok", &h, [Y, Y, Y, Y, Y, Y], &[Model::Linearizable]);
}

#[test]
fn iriw_is_causal_but_not_sequential() {
    // P1: w(x,1); P2: w(y,1); P3: r(x)=1 r(y)=null; P4: r(y)=1 r(x)=null
    let h = Events::new()
        .write(1, "x", 1)
        .write(2, "y", 1)
        .read(3, "x", Some(1))
        .read(4, "y", Some(1))
        .read(3, "y", None)
        .read(4, "x", None)
        .history();
    expect(
        "IRIW",
        &h,
        [N, N, N, Y, Y, Y],
        &[Model::CausalMemory, Model::CausalConvergence],
    );
}

#[test]
fn per_key_counterexample_is_sequential_per_key_but_not_as_a_whole() {
    let h = store_buffering();
    let b = Budget::default();
    assert_eq!(sequential::check(&h, &b).valid, N);
    for key in ["x", "y"] {
        let mut sub = h.clone();
        sub.ops.retain(|o| o.key.as_deref() == Some(key));
        for (i, o) in sub.ops.iter_mut().enumerate() {
            o.id = i;
        }
        assert_eq!(sequential::check(&sub, &b).valid, Y, "key {key} alone");
    }
}

#[test]
fn concurrent_writes_seen_in_opposite_orders_break_convergence_only() {
    // P1: w(x,1) r(x)=2; P2: w(x,2) r(x)=1
    let h = Events::new()
        .write(1, "x", 1)
        .write(2, "x", 2)
        .read(1, "x", Some(2))
        .read(2, "x", Some(1))
        .history();
    expect("CF", &h, [N, N, N, Y, N, Y], &[Model::CausalMemory]);
    let r = causal::check(&h, CausalModel::CausalConvergence);
    assert_eq!(r.anomalies[0].kind, "CyclicCF");
}

#[test]
fn a_reader_flipping_back_breaks_causal_memory() {
    // P1: w(x,1); P2: w(x,2); P3: r(x)=1 r(x)=2 r(x)=1
    let h = Events::new()
        .write(1, "x", 1)
        .write(2, "x", 2)
        .read(3, "x", Some(1))
        .read(3, "x", Some(2))
        .read(3, "x", Some(1))
        .history();
    expect("flip", &h, [N, N, N, N, N, Y], &[Model::Causal]);
    let r = causal::check(&h, CausalModel::CausalMemory);
    assert_eq!(r.anomalies[0].kind, "CyclicHB");
}

#[test]
fn stale_read_is_zookeeper_but_not_linearizable() {
    // P1: w(x,1); then P2: r(x)=null
    let h = Events::new().write(1, "x", 1).read(2, "x", None).history();
    expect("stale", &h, [N, Y, Y, Y, Y, Y], &[Model::Zookeeper]);
}

#[test]
fn stale_read_after_sync_is_sequential_but_not_zookeeper() {
    // P1: w(x,1); then P2: sync, r(x)=null
    let h = Events::new()
        .write(1, "x", 1)
        .sync(2)
        .read(2, "x", None)
        .history();
    expect("sync", &h, [N, N, Y, Y, Y, Y], &[Model::Sequential]);
}

#[test]
fn duplicate_values_are_unknown_with_the_reason() {
    let h = Events::new()
        .write(1, "x", 1)
        .write(2, "x", 1)
        .read(1, "x", Some(1))
        .history();
    let r = causal::check(&h, CausalModel::Causal);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("twice"));
    let s = sequential::check(&h, &Budget::default());
    assert_eq!(s.valid, Validity::Unknown);
}

#[test]
fn writing_the_initial_value_is_unknown() {
    let mut e = Events::new();
    e.invoke(1, "write", "x", serde_json::Value::Null)
        .complete("ok", 1, "write", "x", serde_json::Value::Null)
        .read(2, "x", None);
    let r = causal::check(&e.history(), CausalModel::CausalMemory);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("initial value"));
}
