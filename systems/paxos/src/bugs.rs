//! Deliberately re-introducible bugs, switched on only by `--bug NAME` (ARCHITECTURE.md): the
//! classic mistakes of Paxos implementations, each a one-line switch at the guard it weakens in
//! [`crate::core`].

/// A bug that can be switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// An acceptor accepts a proposal whose ballot is below the ballot it promised: an old
    /// proposer still gets a value chosen after a newer one chose another.
    AcceptLowerBallot,
    /// Promises are not persisted: an acceptor that restarts forgets what it promised and
    /// accepts proposals of a ballot it promised to ignore.
    PromiseNotDurable,
    /// A new proposer does not adopt the highest-ballot accepted value its promises report; it
    /// fills those slots with no-ops, overwriting values that may have been chosen.
    IgnoreAccepted,
}

/// Every bug: its `--bug` name, the bug, and what it breaks.
pub const ALL: &[(&str, Bug, &str)] = &[
    (
        "accept-lower-ballot",
        Bug::AcceptLowerBallot,
        "acceptors accept ballots below their promise (two values chosen for one slot)",
    ),
    (
        "promise-not-durable",
        Bug::PromiseNotDurable,
        "promises are not persisted and are forgotten on restart (two values chosen for one slot)",
    ),
    (
        "ignore-accepted",
        Bug::IgnoreAccepted,
        "a new proposer ignores the accepted values in its promises (chosen values lost)",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_listing_is_tab_separated() {
        for (n, bug, _) in ALL {
            assert_eq!(parse(n), Ok(*bug));
            assert!(Bugs::only(*bug).has(*bug) && !Bugs::NONE.has(*bug));
        }
        assert!(parse("nope").unwrap_err().contains("accept-lower-ballot"));
        let l = listing();
        assert_eq!(l.lines().count(), ALL.len());
        for line in l.lines() {
            let (a, b) = line.split_once('\t').expect("a tab");
            assert!(!a.is_empty() && !b.is_empty() && !b.contains('\t'));
        }
    }
}
