//! Deliberately re-introducible bugs, switched on only by `--bug NAME` (ARCHITECTURE.md): each a
//! one-line switch at the guard it weakens in [`crate::core`].

/// A bug that can be switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// The coordinator commits when half of the participants (rounded up) voted yes — once
    /// every vote is in, or at the vote timeout — instead of only when all did: a shard that
    /// voted no, or never prepared, misses its part (split decisions; a bank's total changes).
    CommitWithoutAllVotes,
}

/// Every bug: its `--bug` name, the bug, and what it breaks.
pub const ALL: &[(&str, Bug, &str)] = &[(
    "commit-without-all-votes",
    Bug::CommitWithoutAllVotes,
    "the coordinator commits on a majority of yes votes or on a timeout (split decisions, a bank total that changes)",
)];

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
}

impl FromIterator<Bug> for Bugs {
    fn from_iter<I: IntoIterator<Item = Bug>>(iter: I) -> Bugs {
        Bugs(iter.into_iter().fold(0, |s, b| s | Self::bit(b)))
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
        assert!(parse("nope")
            .unwrap_err()
            .contains("commit-without-all-votes"));
        for line in listing().lines() {
            let (a, b) = line.split_once('\t').expect("a tab");
            assert!(!a.is_empty() && !b.is_empty() && !b.contains('\t'));
        }
    }
}
