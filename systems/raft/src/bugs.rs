//! Deliberately re-introducible bugs, switched on only by `--bug NAME` (ARCHITECTURE.md), used
//! to prove that the harness and its checkers find what they should. Each is a small switch at
//! the one place the correct code makes the decision.

/// A bug that can be switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// Serve reads from the local state machine at once, without ReadIndex: a deposed leader or
    /// a lagging follower returns stale values (non-linearizable reads).
    LocalRead,
    /// Commit an entry of an older term as soon as a majority stores it (Raft paper, Figure 8):
    /// a committed entry can later be overwritten.
    NoFigure8,
    /// Report a request whose fate is unknown (timeout) as a definite failure: such writes may
    /// still take effect after the client recorded them as failed.
    DefiniteTimeout,
    /// Acknowledge before the log is durable: records are written and fsynced lazily (every
    /// 500 ms), so kill -9 of a majority loses acknowledged writes and may forget votes.
    UnsyncedAck,
}

/// Every bug: its `--bug` name, the bug, and what it breaks.
pub const ALL: &[(&str, Bug, &str)] = &[
    (
        "local-read",
        Bug::LocalRead,
        "reads skip ReadIndex (stale reads)",
    ),
    (
        "no-figure8",
        Bug::NoFigure8,
        "older-term entries commit by counting replicas",
    ),
    (
        "definite-timeout",
        Bug::DefiniteTimeout,
        "timeouts are reported as definite failures",
    ),
    (
        "unsynced-ack",
        Bug::UnsyncedAck,
        "acknowledgements before fsync (lost writes after kill -9)",
    ),
];

/// Parses a `--bug` value.
pub fn parse(name: &str) -> Result<Bug, String> {
    ALL.iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, b, _)| *b)
        .ok_or_else(|| {
            let known: Vec<&str> = ALL.iter().map(|(n, _, _)| *n).collect();
            format!("unknown bug {name:?} (known bugs: {})", known.join(", "))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_round_trip() {
        for (name, bug, _) in super::ALL {
            assert_eq!(super::parse(name), Ok(*bug));
        }
        let e = super::parse("nope").unwrap_err();
        assert!(
            e.contains("unknown bug \"nope\"") && e.contains("local-read"),
            "{e}"
        );
    }
}
