//! The campaign's default faults, the same for every cell whatever bug it switches on: every
//! fault kind this machine can inject (`all`: partitions, kills, pauses, lost unsynced writes,
//! clocks, slow and flaky links, the leader-aimed schedules and crash-during-sync), one fault
//! every [`DEFAULT_INTERVAL_SECS`] seconds. A kind the machine lacks the means for (FUSE for
//! `lose-unsynced`, libfaketime for `clock`) is left out, and the campaign says so once; so are
//! clock faults for a system libfaketime cannot reach ([`for_system`]).

use crate::control::faults::check_available;
use nemeses::FaultKind;

/// Seconds between the default faults' starts (`faultline test --nemesis-interval`), unless the
/// campaign's `--test-arg` gives one.
pub const DEFAULT_INTERVAL_SECS: u64 = 5;

/// The default kinds this machine can inject, and a sentence for each kind left out.
pub fn available() -> (Vec<FaultKind>, Vec<String>) {
    let mut kinds = Vec::new();
    let mut left_out = Vec::new();
    for k in FaultKind::ALL {
        match check_available(&[k]) {
            Ok(()) => kinds.push(k),
            Err(e) => left_out.push(format!("{} left out of the default faults: {e}", k.name())),
        }
    }
    (kinds, left_out)
}

/// Of the machine's default `kinds`, those `system` can take: a system whose clock libfaketime
/// cannot reach (etcd) gets the rest.
pub fn for_system(kinds: &[FaultKind], system: &str) -> Vec<FaultKind> {
    let clocks = crate::db::find(system).is_ok_and(|s| s.clock_faults().is_ok());
    kinds
        .iter()
        .copied()
        .filter(|k| clocks || *k != FaultKind::Clock)
        .collect()
}

/// `faultline test` arguments for a cell with the default faults: `--nemesis` with `kinds`, and
/// the default interval unless `test_args` (the campaign's `--test-arg`s) set one.
pub fn test_args(kinds: &[FaultKind], test_args: &[String]) -> Vec<String> {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let mut v = vec![
        "--nemesis".to_string(),
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(",")
        },
    ];
    if !test_args
        .iter()
        .any(|a| a == "--nemesis-interval" || a.starts_with("--nemesis-interval="))
    {
        v.push(format!("--nemesis-interval={DEFAULT_INTERVAL_SECS}"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_every_kind_at_the_default_interval_unless_the_user_sets_one() {
        let v = test_args(&FaultKind::ALL, &[]);
        assert_eq!(
            v,
            [
                "--nemesis",
                "partition,kill,pause,lose-unsynced,clock,slow-link,flaky-link,leader,sync-crash",
                "--nemesis-interval=5"
            ]
        );
        assert_eq!(
            nemeses::parse_kinds(&v[1]).unwrap(),
            FaultKind::ALL.to_vec()
        );
        let mine = ["--nemesis-interval=2".to_string()];
        assert_eq!(test_args(&FaultKind::ALL, &mine).len(), 2);
        let mine = ["--nemesis-interval".to_string(), "2".to_string()];
        assert_eq!(test_args(&[FaultKind::Kill], &mine), ["--nemesis", "kill"]);
        assert_eq!(test_args(&[], &[])[1], "none");
    }

    #[test]
    fn what_is_left_out_is_said_and_the_rest_is_kept() {
        let (kinds, left_out) = available();
        assert_eq!(kinds.len() + left_out.len(), FaultKind::ALL.len());
        for k in [FaultKind::Partition, FaultKind::Kill, FaultKind::Leader] {
            assert!(kinds.contains(&k));
        }
        for s in &left_out {
            assert!(s.contains("left out of the default faults"), "{s}");
        }
    }
}
