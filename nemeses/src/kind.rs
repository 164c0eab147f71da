//! The kinds of fault a run may use, parsed from `--nemesis`.

use crate::NemesisError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partitions through the harness's proxy.
    Partition,
    /// kill -9 and restart.
    Kill,
    /// SIGSTOP and SIGCONT.
    Pause,
    /// kill -9, then everything the node had not fsynced is lost (faultfs), then restart.
    LoseUnsynced,
    /// Per-node clock jumps, strobes and skews (libfaketime).
    Clock,
    /// Delayed, jittered, bandwidth-limited links (the proxy).
    SlowLink,
    /// Links whose connections are reset at random (the proxy).
    FlakyLink,
    /// The leader-aimed schedules (isolate then kill the leader, pause it past an election
    /// timeout, kill it and isolate its successor, crash all during recovery, partition during
    /// synchronization, crash during synchronization).
    Leader,
    /// Only the leader-aimed schedule `crash-during-sync`: a node that fell behind restarts and
    /// is crashed again the moment it says it is synchronizing (with the leader, half the time).
    SyncCrash,
}

impl FaultKind {
    /// Every kind, in the normalised order.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Partition,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::LoseUnsynced,
        FaultKind::Clock,
        FaultKind::SlowLink,
        FaultKind::FlakyLink,
        FaultKind::Leader,
        FaultKind::SyncCrash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::LoseUnsynced => "lose-unsynced",
            FaultKind::Clock => "clock",
            FaultKind::SlowLink => "slow-link",
            FaultKind::FlakyLink => "flaky-link",
            FaultKind::Leader => "leader",
            FaultKind::SyncCrash => "sync-crash",
        }
    }
}

/// Parses `none`, `all`, one kind, or a comma-separated list (`partition,kill,pause`).
/// Duplicates are ignored; the order is normalised so that the same set always gives the same
/// plan.
pub fn parse_kinds(s: &str) -> Result<Vec<FaultKind>, NemesisError> {
    let mut kinds = Vec::new();
    for part in s.split(',').map(str::trim) {
        let ks: &[FaultKind] = match part {
            "none" | "" => continue,
            "all" => &FaultKind::ALL,
            "partition" | "partitions" => &[FaultKind::Partition],
            "kill" | "crash" => &[FaultKind::Kill],
            "pause" => &[FaultKind::Pause],
            "lose-unsynced" => &[FaultKind::LoseUnsynced],
            "clock" | "clocks" => &[FaultKind::Clock],
            "slow-link" => &[FaultKind::SlowLink],
            "flaky-link" => &[FaultKind::FlakyLink],
            "leader" => &[FaultKind::Leader],
            "sync-crash" | "crash-during-sync" => &[FaultKind::SyncCrash],
            other => return Err(NemesisError::UnknownKind(other.to_string())),
        };
        for k in ks {
            if !kinds.contains(k) {
                kinds.push(*k);
            }
        }
    }
    kinds.sort();
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_rejects_unknown_kinds() {
        assert_eq!(parse_kinds("none").unwrap(), vec![]);
        assert_eq!(
            parse_kinds("pause,partition,kill,pause").unwrap(),
            vec![FaultKind::Partition, FaultKind::Kill, FaultKind::Pause]
        );
        assert_eq!(
            parse_kinds("leader,flaky-link,lose-unsynced,slow-link,clock").unwrap(),
            vec![
                FaultKind::LoseUnsynced,
                FaultKind::Clock,
                FaultKind::SlowLink,
                FaultKind::FlakyLink,
                FaultKind::Leader
            ]
        );
        assert_eq!(parse_kinds("kill,all").unwrap(), FaultKind::ALL.to_vec());
        for k in FaultKind::ALL {
            assert_eq!(parse_kinds(k.name()).unwrap(), vec![k]);
        }
        let e = parse_kinds("partition,flood").unwrap_err();
        assert!(e.to_string().contains("\"flood\""));
    }
}
