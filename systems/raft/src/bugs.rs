//! Deliberately re-introducible bugs, switched on only by `--bug NAME` (ARCHITECTURE.md), used
//! to prove that the harness and its checkers find what they should. Each is a small switch at
//! the one place the correct code makes the decision, named after the historical bug it brings
//! back (see ../../shared/research/bug-zoo.md and the README's table).

/// A bug that can be switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// Serve reads from the local state machine at once, without ReadIndex: a deposed leader or
    /// a lagging follower returns stale values (etcd#741, Jepsen 2014).
    LocalRead,
    /// Commit an entry of an older term as soon as a majority stores it (Raft paper, Figure 8;
    /// logcabin#44): a committed entry can later be overwritten.
    NoFigure8,
    /// Report a request whose fate is unknown (timeout) as a definite failure: such writes may
    /// still take effect after the client recorded them as failed (redisraft#23).
    DefiniteTimeout,
    /// Acknowledge before the log is durable: records are written and fsynced lazily (every
    /// 500 ms), so kill -9 of a majority loses acknowledged writes and may forget votes
    /// (etcd#14370).
    UnsyncedAck,
    /// The vote is kept in memory only: the persisted hard state carries the term but not the
    /// vote, so a node that crashes after voting can vote again in the same term
    /// (hashicorp/raft#661, akka-raft#56).
    VoteNotDurable,
    /// A candidate counts a vote granted in an older term of its own campaigns (xraft#33).
    StaleVoteCount,
    /// A new leader appends no no-op and answers ReadIndex with its commit index before an entry
    /// of its term has committed, when that index may be stale (etcd#7331, redisraft#18).
    NoNoop,
    /// A leader that heard from a quorum within an election timeout of its own ticks serves
    /// reads at once on that lease; its ticks stop while it is paused, so the lease outlives
    /// the pause (etcd#20418's family, raft-rs `LeaseBased`).
    LeaseRead,
    /// A follower takes the leader's commit index bounded only by its own log, not by the
    /// prefix it verified against the leader, and so commits a stale tail (copycat#265).
    FollowerOvercommit,
    /// A follower truncates its log after prevIndex on every append, even where the entries
    /// match, so a reordered or duplicated append drops entries it acknowledged (raftos#26).
    TruncateMatching,
    /// The commit index is the (n/2)-th highest match index instead of the (n/2+1)-th: entries
    /// commit on one node fewer than a majority (raft-java#21, openraft#1802).
    QuorumOffByOne,
    /// The up-to-date check of a vote compares the last log index only, ignoring the last term,
    /// so a longer stale log wins over a shorter newer one (MongoDB SERVER-27403's family).
    VoteIgnoresTerm,
    /// A leader deposed by a newer term while it handles a batch of client writes still appends
    /// them, stamped with the newer term it just learned (hashicorp/raft#695).
    TermStamp,
    /// A transaction's reads are served from the local state when the request arrives, outside
    /// the log; only its writes are replicated: reads and writes are not atomic (lost updates,
    /// read skew, stale reads).
    TxnLocalReads,
    /// A transaction's micro-ops are applied in two log entries (its first half, then the
    /// rest): other transactions can see or act between them (non-atomic transactions).
    TxnSplit,
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
        "older-term entries commit by counting replicas (committed entries lost)",
    ),
    (
        "definite-timeout",
        Bug::DefiniteTimeout,
        "timeouts are reported as definite failures (failed writes take effect)",
    ),
    (
        "unsynced-ack",
        Bug::UnsyncedAck,
        "acknowledgements before fsync (lost writes after kill -9)",
    ),
    (
        "vote-not-durable",
        Bug::VoteNotDurable,
        "the vote is not persisted (two leaders in one term after a crash)",
    ),
    (
        "stale-vote-count",
        Bug::StaleVoteCount,
        "vote grants from an older term are counted (two leaders in one term)",
    ),
    (
        "no-noop",
        Bug::NoNoop,
        "a new leader serves ReadIndex before committing in its term (stale reads)",
    ),
    (
        "lease-read",
        Bug::LeaseRead,
        "reads on a leader lease that a pause outlives (stale reads)",
    ),
    (
        "follower-overcommit",
        Bug::FollowerOvercommit,
        "followers commit past the prefix verified with the leader (divergent state machines)",
    ),
    (
        "truncate-matching",
        Bug::TruncateMatching,
        "followers truncate matching entries on every append (committed entries lost)",
    ),
    (
        "quorum-off-by-one",
        Bug::QuorumOffByOne,
        "entries commit on one node fewer than a majority (committed entries lost)",
    ),
    (
        "vote-ignores-term",
        Bug::VoteIgnoresTerm,
        "the vote's up-to-date check ignores the last term (committed entries lost)",
    ),
    (
        "term-stamp",
        Bug::TermStamp,
        "a deposed leader stamps its writes with the newer term (log matching broken)",
    ),
    (
        "txn-local-reads",
        Bug::TxnLocalReads,
        "transaction reads served from local state outside the log",
    ),
    (
        "txn-split",
        Bug::TxnSplit,
        "a transaction's micro-ops applied in two log entries",
    ),
];

/// A set of switched-on bugs (empty: the correct build).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs(u32);

impl Bugs {
    /// No bug: the correct build.
    pub const NONE: Bugs = Bugs(0);

    fn bit(bug: Bug) -> u32 {
        1 << ALL
            .iter()
            .position(|(_, b, _)| *b == bug)
            .expect("every bug is in ALL")
    }

    /// Just `bug`.
    pub fn only(bug: Bug) -> Bugs {
        Bugs(Self::bit(bug))
    }

    /// Whether `bug` is switched on.
    pub fn has(self, bug: Bug) -> bool {
        self.0 & Self::bit(bug) != 0
    }

    /// This set with `bug` switched on too.
    pub fn with(self, bug: Bug) -> Bugs {
        Bugs(self.0 | Self::bit(bug))
    }

    /// Whether a request whose outcome is unknown (its deadline passed) is reported as a
    /// definite failure: only with `definite-timeout`.
    pub fn timeout_is_definite(self) -> bool {
        self.has(Bug::DefiniteTimeout)
    }

    /// Whether the shell hands out a `Ready`'s messages and answers without fsyncing its
    /// writes first, syncing only now and then (`unsynced-ack`).
    pub fn syncs_lazily(self) -> bool {
        self.has(Bug::UnsyncedAck)
    }
}

impl FromIterator<Bug> for Bugs {
    fn from_iter<I: IntoIterator<Item = Bug>>(iter: I) -> Bugs {
        iter.into_iter().fold(Bugs::NONE, Bugs::with)
    }
}

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

/// The `--list-bugs` output: one line per bug, its name, a tab, what it breaks.
pub fn listing() -> String {
    ALL.iter()
        .map(|(name, _, breaks)| format!("{name}\t{breaks}\n"))
        .collect()
}

/// The `--bug` name of `bug`.
pub fn name(bug: Bug) -> &'static str {
    ALL.iter()
        .find(|(_, b, _)| *b == bug)
        .map(|(n, _, _)| *n)
        .expect("every bug is in ALL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (n, bug, _) in ALL {
            assert_eq!(parse(n), Ok(*bug));
            assert_eq!(name(*bug), *n);
        }
        let e = parse("nope").unwrap_err();
        assert!(
            e.contains("unknown bug \"nope\"") && e.contains("local-read"),
            "{e}"
        );
    }

    #[test]
    fn sets_hold_exactly_their_bugs() {
        assert!(ALL.iter().all(|(_, b, _)| !Bugs::NONE.has(*b)));
        let s: Bugs = [Bug::NoNoop, Bug::TermStamp].into_iter().collect();
        for (_, b, _) in ALL {
            assert_eq!(
                s.has(*b),
                matches!(b, Bug::NoNoop | Bug::TermStamp),
                "{b:?}"
            );
        }
        assert!(Bugs::only(Bug::DefiniteTimeout).timeout_is_definite());
        assert!(!Bugs::NONE.timeout_is_definite());
        assert!(Bugs::only(Bug::UnsyncedAck).syncs_lazily() && !Bugs::NONE.syncs_lazily());
    }

    #[test]
    fn the_listing_has_one_tab_separated_line_per_bug() {
        let l = listing();
        let lines: Vec<&str> = l.lines().collect();
        assert_eq!(lines.len(), ALL.len());
        assert!(ALL.len() >= 13);
        for (line, (n, _, _)) in lines.iter().zip(ALL) {
            let (a, b) = line.split_once('\t').expect("a tab");
            assert_eq!(a, *n);
            assert!(!b.is_empty() && !b.contains('\t'));
        }
    }
}
