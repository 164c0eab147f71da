//! The ladder of models: verdicts of all checkers on the same random histories never contradict
//! the implications linearizable ⇒ zookeeper ⇒ sequential ⇒ causal memory, causal convergence
//! ⇒ causal, and the random stores produce histories that separate each adjacent pair. Also
//! how info, fail and cas operations enter the memory view.

mod consistency_support;

use checkers::causal::{self, CausalModel};
use checkers::consistency::{Ladder, Model};
use checkers::linear::{self, ModelKind, Options};
use checkers::sequential::{self, Budget};
use checkers::{zookeeper, Validity};
use consistency_support::agree::MIX;
use consistency_support::store::{generate, Params};
use consistency_support::Events;
use serde_json::json;

#[test]
fn checkers_respect_the_ladder_and_separate_the_models() {
    let b = Budget::default();
    let mut separated = std::collections::BTreeMap::new();
    let four = Params {
        processes: 4,
        ..Params::default()
    };
    for (p, &(kind, n)) in [Params::default(), four]
        .iter()
        .flat_map(|p| MIX.iter().map(move |k| (p, k)))
    {
        for seed in 0..n {
            let h = generate(kind, seed, p).history();
            let v = [
                (
                    Model::Linearizable,
                    linear::check(&h, &Options::new(ModelKind::Kv))
                        .map(|r| r.valid)
                        .unwrap_or(Validity::Unknown),
                ),
                (Model::Zookeeper, zookeeper::check(&h, &b).valid),
                (Model::Sequential, sequential::check(&h, &b).valid),
                (
                    Model::CausalMemory,
                    causal::check(&h, CausalModel::CausalMemory).valid,
                ),
                (
                    Model::CausalConvergence,
                    causal::check(&h, CausalModel::CausalConvergence).valid,
                ),
                (Model::Causal, causal::check(&h, CausalModel::Causal).valid),
            ];
            let ladder = Ladder::from_verdicts(&v);
            assert!(
                ladder.contradictions.is_empty(),
                "{kind:?} seed {seed}: {}",
                ladder.summary
            );
            let ok = |m: Model| v.iter().any(|&(x, r)| x == m && r == Validity::Valid);
            for (name, hit) in [
                (
                    "causal, not causal-memory",
                    ok(Model::Causal) && !ok(Model::CausalMemory),
                ),
                (
                    "causal, not causal-convergence",
                    ok(Model::Causal) && !ok(Model::CausalConvergence),
                ),
                (
                    "causal-memory and causal-convergence, not sequential",
                    ok(Model::CausalMemory)
                        && ok(Model::CausalConvergence)
                        && !ok(Model::Sequential),
                ),
                (
                    "sequential, not zookeeper",
                    ok(Model::Sequential) && !ok(Model::Zookeeper),
                ),
                (
                    "zookeeper, not linearizable",
                    ok(Model::Zookeeper) && !ok(Model::Linearizable),
                ),
            ] {
                if hit {
                    *separated.entry(name).or_insert(0) += 1;
                }
            }
        }
    }
    eprintln!("separating histories: {separated:?}");
    assert_eq!(
        separated.len(),
        5,
        "every adjacent pair separated: {separated:?}"
    );
}

#[test]
fn ladder_infers_along_implications() {
    let l = Ladder::from_verdicts(&[(Model::Sequential, Validity::Valid)]);
    assert_eq!(l.strongest, vec![Model::Sequential]);
    let causal = l.models.iter().find(|e| e.model == Model::Causal).unwrap();
    assert_eq!(causal.valid, Validity::Valid);
    assert!(!causal.checked);
    let l = Ladder::from_verdicts(&[(Model::Causal, Validity::Invalid)]);
    assert!(l.strongest.is_empty());
    assert!(l.models.iter().all(|e| e.valid == Validity::Invalid));
    assert!(l.summary.contains("violated"));
    let l = Ladder::from_verdicts(&[
        (Model::Linearizable, Validity::Valid),
        (Model::Causal, Validity::Invalid),
    ]);
    assert!(!l.contradictions.is_empty());
    let l = Ladder::from_verdicts(&[
        (Model::Sequential, Validity::Unknown),
        (Model::CausalMemory, Validity::Valid),
        (Model::CausalConvergence, Validity::Valid),
    ]);
    assert_eq!(
        l.strongest,
        vec![Model::CausalMemory, Model::CausalConvergence]
    );
    assert!(l.summary.contains("undecided: sequential"), "{}", l.summary);
}

#[test]
fn model_names_round_trip() {
    for m in Model::ALL {
        assert_eq!(m.name().parse::<Model>(), Ok(m));
    }
    assert!("serializable"
        .parse::<Model>()
        .unwrap_err()
        .contains("expected one of"));
}

fn all_valid(e: &Events) -> bool {
    let h = e.history();
    let b = Budget::default();
    [
        sequential::check(&h, &b).valid,
        zookeeper::check(&h, &b).valid,
        causal::check(&h, CausalModel::Causal).valid,
        causal::check(&h, CausalModel::CausalMemory).valid,
        causal::check(&h, CausalModel::CausalConvergence).valid,
    ]
    .iter()
    .all(|&v| v == Validity::Valid)
}

#[test]
fn an_info_write_that_was_read_happened() {
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1))
        .read(2, "x", Some(1))
        .complete("info", 1, "write", "x", json!(1));
    assert!(all_valid(&e));
    // and it is placed: a later read of the initial value in the reader's session is stale
    e.read(2, "x", None);
    let h = e.history();
    assert_eq!(
        causal::check(&h, CausalModel::Causal).anomalies[0].kind,
        "WriteCOInitRead"
    );
}

#[test]
fn an_info_write_nobody_read_may_not_have_happened() {
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1))
        .complete("info", 1, "write", "x", json!(1))
        .read(2, "x", None)
        .read(2, "x", None);
    assert!(all_valid(&e));
}

#[test]
fn a_failed_write_that_was_read_is_a_thin_air_read() {
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1))
        .complete("fail", 1, "write", "x", json!(1))
        .read(2, "x", Some(1));
    let r = causal::check(&e.history(), CausalModel::Causal);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.anomalies[0].kind, "ThinAirRead");
}

#[test]
fn cas_reads_and_writes_atomically() {
    let mut e = Events::new();
    e.write(1, "x", 1)
        .invoke(2, "cas", "x", json!([1, 2]))
        .complete("ok", 2, "cas", "x", json!([1, 2]))
        .read(3, "x", Some(2));
    assert!(all_valid(&e));
    // a reader that sees 2 and then 1 again breaks every model
    e.read(3, "x", Some(1));
    let h = e.history();
    assert_eq!(
        sequential::check(&h, &Budget::default()).valid,
        Validity::Invalid
    );
    assert_eq!(
        causal::check(&h, CausalModel::Causal).valid,
        Validity::Invalid
    );
}

#[test]
fn non_register_operations_are_unknown_with_the_reason() {
    let mut e = Events::new();
    e.invoke(1, "add", "s", json!(1))
        .complete("ok", 1, "add", "s", json!(1));
    let r = sequential::check(&e.history(), &Budget::default());
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.reason.unwrap().contains("\"add\""));
}

#[test]
fn a_search_out_of_budget_is_unknown() {
    // Sequentially consistent but neither linearizable nor update-ordered, so both guided
    // searches fail and the full search needs more than a zero budget.
    let mut e = Events::new();
    e.invoke(1, "write", "x", json!(1))
        .invoke(2, "write", "x", json!(2))
        .complete("ok", 1, "write", "x", json!(1))
        .complete("ok", 2, "write", "x", json!(2))
        .read(3, "x", Some(2))
        .read(3, "x", Some(1));
    let h = e.history();
    assert_eq!(
        sequential::check(&h, &Budget::default()).valid,
        Validity::Valid
    );
    let zero = Budget {
        time: std::time::Duration::ZERO,
        states: 0,
    };
    let r = sequential::check(&h, &zero);
    assert_eq!(r.valid, Validity::Unknown, "{}", r.to_text());
    assert!(r.reason.unwrap().contains("budget"));
}
