//! Deliberately re-introducible historical ZooKeeper bugs, switched on only by `--bug NAME`.
//! Each is one switch at the guard the correct code uses (named in the variant's doc); the
//! README's bug zoo says how the simulation and a real run expose each.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A historical bug the node can be told to re-introduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// ZOOKEEPER-3911: a follower sends its NEWLEADER ACK without waiting for the proposals of
    /// its DIFF to be durable (the NEWLEADER barrier in `core/peer/follower.rs`).
    Zk3911,
    /// ZOOKEEPER-335: a follower does not durably record the new epoch at NEWLEADER, so after
    /// a restart it votes and syncs with a stale epoch (and the start-up check lets it).
    Zk335,
    /// ZOOKEEPER-4643: a follower writes the new currentEpoch at NEWLEADER before the
    /// synchronized transactions (the write barrier between them in `follower.rs`).
    Zk4643,
    /// ZOOKEEPER-1154: the leader DIFFs a learner whose last zxid lies inside its committed
    /// window but is not in its history, instead of TRUNCating it (`core/sync_plan.rs`).
    Zk1154,
    /// ZOOKEEPER-2845: a learner reports the last zxid its retained in-memory tree processed,
    /// not the end of its log, so the leader DIFFs on top of an uncommitted tail (`follower.rs`).
    Zk2845,
    /// ZOOKEEPER-3642: a learner applies a SNAP in memory and writes it only at NEWLEADER; a
    /// leader lost in between leaves a log with a hole under the next DIFF (`follower.rs`).
    Zk3642,
    /// ZOOKEEPER-1675: the leader answers `sync` from its own commit point, without a quorum
    /// round (`core/peer/leader.rs`).
    Zk1675,
    /// ZOOKEEPER-1419: the election compares votes by a predicate that is not a total order
    /// (`core/election.rs`), so votes can cycle.
    Zk1419,
    /// ZOOKEEPER-4925: transactions committed during synchronization are applied but not kept
    /// in the in-memory history a leader DIFFs from (`follower.rs`).
    Zk4925,
}

impl Bug {
    pub const ALL: [Bug; 9] = [
        Bug::Zk3911,
        Bug::Zk335,
        Bug::Zk4643,
        Bug::Zk1154,
        Bug::Zk2845,
        Bug::Zk3642,
        Bug::Zk1675,
        Bug::Zk1419,
        Bug::Zk4925,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::Zk3911 => "ZOOKEEPER-3911",
            Bug::Zk335 => "ZOOKEEPER-335",
            Bug::Zk4643 => "ZOOKEEPER-4643",
            Bug::Zk1154 => "ZOOKEEPER-1154",
            Bug::Zk2845 => "ZOOKEEPER-2845",
            Bug::Zk3642 => "ZOOKEEPER-3642",
            Bug::Zk1675 => "ZOOKEEPER-1675",
            Bug::Zk1419 => "ZOOKEEPER-1419",
            Bug::Zk4925 => "ZOOKEEPER-4925",
        }
    }

    /// What the bug breaks, in one line (`zab-node --list-bugs`).
    pub fn breaks(self) -> &'static str {
        match self {
            Bug::Zk3911 => "committed transactions lost: NEWLEADER ACK sent before the DIFF's proposals are durable",
            Bug::Zk335 => "agreement: a new epoch is not persisted at NEWLEADER, so two leaders can issue the same zxids",
            Bug::Zk4643 => "committed transactions lost: currentEpoch written before the synchronized transactions are durable",
            Bug::Zk1154 => "agreement: DIFF instead of TRUNC keeps a phantom uncommitted transaction on one server",
            Bug::Zk2845 => "agreement: a retained in-memory tree makes a learner report a stale last zxid, so its uncommitted tail survives a DIFF",
            Bug::Zk3642 => "committed transactions lost: a SNAP applied in memory but not persisted leaves a hole under the next DIFF",
            Bug::Zk1675 => "stale read after sync: the leader answers sync without a quorum round",
            Bug::Zk1419 => "liveness: votes compared by a non-total order can cycle, so no leader is elected",
            Bug::Zk4925 => "committed transactions lost: transactions applied during sync are missing from the history later DIFFs are made from",
        }
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown `--bug` name.
#[derive(Debug, thiserror::Error)]
#[error("unknown bug {0:?}; `zab-node --list-bugs` lists the known ones")]
pub struct UnknownBug(pub String);

impl FromStr for Bug {
    type Err = UnknownBug;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace('_', "-");
        Bug::ALL
            .into_iter()
            .find(|b| b.name() == norm || b.name().replace("ZOOKEEPER-", "ZK-") == norm)
            .ok_or_else(|| UnknownBug(s.to_string()))
    }
}

/// The set of bugs switched on.
pub type BugSet = BTreeSet<Bug>;

/// `--list-bugs`: one bug a line, its name, a tab, what it breaks.
pub fn list() -> String {
    Bug::ALL
        .iter()
        .map(|b| format!("{}\t{}\n", b.name(), b.breaks()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_names_are_rejected() {
        assert_eq!("ZOOKEEPER-3911".parse::<Bug>().unwrap(), Bug::Zk3911);
        assert_eq!("zookeeper-335".parse::<Bug>().unwrap(), Bug::Zk335);
        assert_eq!("ZK-335".parse::<Bug>().unwrap(), Bug::Zk335);
        let e = "ZOOKEEPER-1".parse::<Bug>().unwrap_err();
        assert!(e.to_string().contains("unknown bug"));
        for b in Bug::ALL {
            assert_eq!(b.name().parse::<Bug>().unwrap(), b);
        }
    }

    #[test]
    fn the_list_is_one_line_per_bug_with_a_tab() {
        let l = list();
        assert_eq!(l.lines().count(), Bug::ALL.len());
        for (line, b) in l.lines().zip(Bug::ALL) {
            let (name, what) = line.split_once('\t').unwrap();
            assert_eq!(name, b.name());
            assert!(!what.is_empty() && !what.contains('\t'));
        }
    }
}
