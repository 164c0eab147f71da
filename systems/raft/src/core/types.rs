//! The basic values of the Raft core: ids, terms, indexes, log entries, hard state, snapshots.

use serde::{Deserialize, Serialize};

/// A node's numeric id inside the core (the shell maps names such as `n1` to these).
pub type NodeId = u64;
/// A Raft term.
pub type Term = u64;
/// A log index; 0 means "before the first entry".
pub type Index = u64;

/// One log entry. An empty `data` is the no-op a new leader appends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: Term,
    pub index: Index,
    pub data: Vec<u8>,
}

impl Entry {
    /// Whether this is a leader's no-op entry.
    pub fn is_noop(&self) -> bool {
        self.data.is_empty()
    }
}

/// What must be on stable storage before a vote is answered: the current term and the vote in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    pub term: Term,
    pub vote: Option<NodeId>,
}

/// A snapshot of the state machine covering every entry up to and including `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub index: Index,
    pub term: Term,
    /// The state machine's serialized state; opaque to the core.
    pub data: Vec<u8>,
}

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// A confirmed linearizable read point: once the state machine has applied `index`, the read
/// identified by `ctx` may be served from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    pub ctx: u64,
    pub index: Index,
}

/// A read the core cannot serve (no leader, or leadership lost before confirmation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadFailure {
    pub ctx: u64,
}
