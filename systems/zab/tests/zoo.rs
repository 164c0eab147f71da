//! The bug zoo in simulation: every `--bug` switch is caught deterministically, by the
//! invariant its historical original broke (named, not "some error"), and the same seeds and
//! schedule with the bug off pass (the control). Random seeds where they find the bug; a
//! targeted schedule where the bug needs one (said so on the test).

mod sim;

use sim::checker::Invariant;
use sim::run_seed;
use zab::bug::Bug;

/// Runs seeds until one fails with the bug on; requires the failure to be `expected` and the
/// same seed to pass with the bug off.
fn caught_by_seeds(bug: Bug, seeds: std::ops::Range<u64>, expected: Invariant) {
    for seed in seeds.clone() {
        if let Err(e) = run_seed(seed, &[bug], None) {
            eprintln!("{bug}: seed {seed}: {e}");
            assert_eq!(
                e.invariant, expected,
                "{bug} broke {:?} first, not the {:?} its original broke: {e}",
                e.invariant, expected
            );
            if let Err(c) = run_seed(seed, &[], None) {
                panic!("control: seed {seed} fails with {bug} off too: {c}");
            }
            return;
        }
    }
    panic!("no seed in {seeds:?} caught {bug}");
}

#[test]
fn zookeeper_3911_loses_committed_transactions() {
    caught_by_seeds(Bug::Zk3911, 0..1000, Invariant::CommittedLost);
}

#[test]
fn zookeeper_335_diverges() {
    caught_by_seeds(Bug::Zk335, 0..1000, Invariant::Agreement);
}
