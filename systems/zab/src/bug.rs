//! Deliberately re-introducible historical ZooKeeper bugs, switched on only by `--bug NAME`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A historical bug the node can be told to re-introduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// ZOOKEEPER-3911: a follower acknowledges NEWLEADER before the uncommitted proposals it was
    /// sent during DIFF synchronization are durable, so a quorum "has" a transaction that a
    /// restart loses.
    Zk3911,
    /// ZOOKEEPER-335: a follower does not durably record the new epoch when it acknowledges
    /// NEWLEADER, so after a restart it votes and syncs with a stale epoch.
    Zk335,
}

impl Bug {
    pub const ALL: [Bug; 2] = [Bug::Zk3911, Bug::Zk335];

    pub fn name(self) -> &'static str {
        match self {
            Bug::Zk3911 => "ZOOKEEPER-3911",
            Bug::Zk335 => "ZOOKEEPER-335",
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
#[error("unknown bug {0:?}; known bugs are ZOOKEEPER-3911 and ZOOKEEPER-335")]
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
    }
}
