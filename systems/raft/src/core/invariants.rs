//! Raft's safety properties (the paper's Figure 3, plus what a client is promised), checked
//! over what a test observes of a whole cluster: each node's core after every step, what each
//! node applies, when reads begin and what they see, and the definite failures clients got.
//! A broken property comes back as a [`Violation`] naming the [`Invariant`], so a test can
//! assert *which* property a bug breaks. Pure bookkeeping: the deterministic simulation and
//! the scenario tests drive it; nothing in a running node uses it.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::raft::Raft;
use super::types::{Index, NodeId, Role, Term};

/// A safety (or liveness) property of a Raft cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// At most one leader per term.
    ElectionSafety,
    /// Two logs holding an entry with the same index and term hold the same entry, preceded by
    /// the same log (checked as: same data and same predecessor term).
    LogMatching,
    /// A leader holds every entry committed in an earlier term.
    LeaderCompleteness,
    /// An entry, once committed, stays in every log that committed it: a node's log never
    /// holds a different entry at or below its own commit index.
    CommittedEntryLost,
    /// Nodes commit and apply the same entry at each index, in index order, and a snapshot
    /// holds exactly the state applied up to its index.
    StateMachineSafety,
    /// A read reflects every entry committed before it began (what ReadIndex guarantees, and
    /// enough for linearizable reads; a stale read breaks it).
    StaleRead,
    /// An operation a client was told definitely failed never takes effect.
    DefiniteFailureTookEffect,
    /// Once faults stop, the cluster elects a leader and commits (a liveness property).
    Liveness,
}

/// A broken property: which, and what was seen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{invariant:?} violated: {detail}")]
pub struct Violation {
    pub invariant: Invariant,
    pub detail: String,
}

impl Violation {
    pub fn new(invariant: Invariant, detail: impl Into<String>) -> Violation {
        Violation {
            invariant,
            detail: detail.into(),
        }
    }
}

fn fail<T>(invariant: Invariant, detail: String) -> Result<T, Violation> {
    Err(Violation::new(invariant, detail))
}

/// A 64-bit FNV-1a hash of an entry's data (entries are compared by it).
pub fn data_hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// What the checker has learned of the cluster so far.
#[derive(Default)]
pub struct Checker {
    /// The leader seen in each term.
    leaders: HashMap<Term, NodeId>,
    /// (index, term) -> (hash of the data, term of the previous entry), from any log.
    entries_seen: HashMap<(Index, Term), (u64, Term)>,
    /// index -> (entry term, term of the node first seen committing it: the leader that
    /// committed it, since followers learn commits from leaders).
    committed: BTreeMap<Index, (Term, Term)>,
    /// The commit index already recorded for each node (in its current incarnation).
    seen_commit: HashMap<NodeId, Index>,
    /// index -> (data hash, state after applying it), as first applied anywhere.
    applied: BTreeMap<Index, (u64, u64)>,
    /// Data hashes of every applied entry, and of operations that definitely failed.
    applied_data: HashSet<u64>,
    failed_data: HashSet<u64>,
    max_commit: Index,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    /// The highest commit index any node has reached.
    pub fn max_commit(&self) -> Index {
        self.max_commit
    }

    /// How many terms had a leader.
    pub fn leader_terms(&self) -> usize {
        self.leaders.len()
    }

    /// Node `id` restarted from stable storage: its commit index starts again from what it
    /// restored (its snapshot's index).
    pub fn restarted(&mut self, id: NodeId, commit: Index) {
        self.seen_commit.insert(id, commit);
    }

    /// Checks the invariants that the last input to `raft` could have broken: election safety,
    /// leader completeness, log matching, and that committed entries are the same everywhere
    /// and never change.
    pub fn observe(&mut self, raft: &Raft) -> Result<(), Violation> {
        let id = raft.id();
        let log = raft.log();
        if raft.role() == Role::Leader {
            match self.leaders.get(&raft.term()) {
                Some(&other) if other != id => {
                    return fail(
                        Invariant::ElectionSafety,
                        format!("two leaders in term {}: {other} and {id}", raft.term()),
                    );
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(raft.term(), id);
                    // A leader of an older term can still be elected late (its voters' answers
                    // were delayed): it need hold only what was committed before its term.
                    for (&idx, &(t, ct)) in self.committed.range(log.snapshot_index() + 1..) {
                        if ct < raft.term() && log.term(idx) != Some(t) {
                            return fail(
                                Invariant::LeaderCompleteness,
                                format!(
                                    "leader {id} of term {} lacks committed entry {idx} of term \
                                     {t} (has {:?})",
                                    raft.term(),
                                    log.term(idx)
                                ),
                            );
                        }
                    }
                }
            }
        }
        let mut prev_term = log.term(log.snapshot_index()).unwrap_or(0);
        for e in log.entries() {
            let v = (data_hash(&e.data), prev_term);
            match self.entries_seen.get(&(e.index, e.term)) {
                Some(&seen) if seen != v => {
                    return fail(
                        Invariant::LogMatching,
                        format!(
                            "node {id} holds entry ({}, term {}) unlike another log's",
                            e.index, e.term
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    self.entries_seen.insert((e.index, e.term), v);
                }
            }
            prev_term = e.term;
        }
        let commit = log.commit;
        if commit > log.last_index() {
            return fail(
                Invariant::StateMachineSafety,
                format!(
                    "node {id} committed {commit} beyond its last entry {}",
                    log.last_index()
                ),
            );
        }
        let seen = self.seen_commit.get(&id).copied().unwrap_or(0);
        for idx in seen.max(log.snapshot_index()) + 1..=commit {
            let t = log
                .term(idx)
                .expect("entries above the snapshot are in the log");
            match self.committed.get(&idx) {
                Some(&(ct, _)) if ct != t => {
                    return fail(
                        Invariant::StateMachineSafety,
                        format!(
                            "node {id} committed entry {idx} of term {t}, but one of term {ct} \
                             was committed there"
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    self.committed.insert(idx, (t, raft.term()));
                }
            }
        }
        for (&idx, &(t, _)) in self.committed.range(log.snapshot_index() + 1..commit + 1) {
            if log.term(idx) != Some(t) {
                return fail(
                    Invariant::CommittedEntryLost,
                    format!(
                        "node {id} lost committed entry {idx} of term {t} (now {:?})",
                        log.term(idx)
                    ),
                );
            }
        }
        self.seen_commit.insert(id, seen.max(commit));
        self.max_commit = self.max_commit.max(commit);
        Ok(())
    }

    /// Node `id` applied the entry at `index` holding `data`; `state` is a digest of its state
    /// machine afterwards.
    pub fn applied(
        &mut self,
        id: NodeId,
        index: Index,
        data: &[u8],
        state: u64,
    ) -> Result<(), Violation> {
        let h = data_hash(data);
        let v = (h, state);
        match self.applied.get(&index) {
            Some(&seen) if seen != v => {
                return fail(
                    Invariant::StateMachineSafety,
                    format!("node {id} applied a different entry or state at {index}"),
                );
            }
            Some(_) => {}
            None => {
                self.applied.insert(index, v);
            }
        }
        if !data.is_empty() && self.failed_data.contains(&h) {
            return fail(
                Invariant::DefiniteFailureTookEffect,
                format!("node {id} applied at {index} an operation its client was told failed"),
            );
        }
        self.applied_data.insert(h);
        Ok(())
    }

    /// The state (digest) applied up to `index` anywhere, if known: a snapshot at `index` must
    /// hold it.
    pub fn state_at(&self, index: Index) -> Option<u64> {
        self.applied.get(&index).map(|&(_, s)| s)
    }

    /// A client was told the operation `data` definitely failed.
    pub fn failed_definitely(&mut self, data: &[u8]) -> Result<(), Violation> {
        let h = data_hash(data);
        if self.applied_data.contains(&h) {
            return fail(
                Invariant::DefiniteFailureTookEffect,
                "an operation was reported as definitely failed after it was applied".into(),
            );
        }
        self.failed_data.insert(h);
        Ok(())
    }

    /// A read begins now: what it must reflect (every commit made so far).
    pub fn read_began(&self) -> Index {
        self.max_commit
    }

    /// A read that began when [`read_began`](Self::read_began) said `began` was served from a
    /// state machine that had applied up to `served_at`.
    pub fn read_served(&self, began: Index, served_at: Index) -> Result<(), Violation> {
        if served_at < began {
            return fail(
                Invariant::StaleRead,
                format!("a read saw the state at {served_at}, but {began} was committed before it began"),
            );
        }
        Ok(())
    }
}
