//! The search on its own, without saturation: it must find orders that exist, exhaust and
//! explain when none does, and stop at its budget.

mod consistency_support;

use checkers::memory::{Graph, Memory};
use checkers::sequential::{search, Budget, SearchOutcome};
use consistency_support::oracle;
use consistency_support::store::{generate, Kind, Params};
use consistency_support::Events;

#[test]
fn unsaturated_search_exhausts_on_store_buffering_and_explains() {
    let h = Events::new()
        .write(1, "x", 1)
        .write(2, "y", 1)
        .read(1, "y", None)
        .read(2, "x", None)
        .history();
    let m = Memory::from_history(&h).unwrap();
    let g = Graph::new(&m, m.rf_edges());
    match search(&h, &m, &g, &Budget::default()) {
        SearchOutcome::Exhausted { anomaly, .. } => {
            assert_eq!(anomaly.kind, "no-total-order");
            assert!(
                anomaly.explanation.contains("cannot go next"),
                "{}",
                anomaly.explanation
            );
        }
        other => panic!("expected exhaustion, got {other:?}"),
    }
}

#[test]
fn unsaturated_search_agrees_with_the_oracle() {
    // Without saturation the search alone must decide sequential consistency (all histories
    // here pass the causal checks or not; the search does not care).
    let p = Params {
        cas: true,
        ..Params::default()
    };
    let (mut found, mut exhausted) = (0, 0);
    for kind in [Kind::Causal, Kind::CausalityBreaking, Kind::StaleReads] {
        for seed in 0..1000 {
            let ev = generate(kind, seed, &p);
            let h = ev.history();
            let m = Memory::from_history(&h).unwrap();
            if m.nodes
                .iter()
                .any(|n| n.read == Some(checkers::memory::Source::ThinAir))
            {
                continue; // a thin-air read has no write to wait for
            }
            let g = Graph::new(&m, m.rf_edges());
            let want = oracle::sequential(&h);
            match search(&h, &m, &g, &Budget::default()) {
                SearchOutcome::Found { .. } => {
                    assert!(want, "{kind:?} {seed}\n{}", ev.text());
                    found += 1;
                }
                SearchOutcome::Exhausted { .. } => {
                    assert!(!want, "{kind:?} {seed}\n{}", ev.text());
                    exhausted += 1;
                }
                SearchOutcome::OutOfBudget { .. } => panic!("tiny history out of budget"),
            }
        }
    }
    eprintln!("unsaturated search: {found} found, {exhausted} exhausted");
    assert!(found > 100 && exhausted > 100);
}
