//! The vocabulary of Multi-Paxos: ballots `(round, node)`, the values of log slots, the messages
//! between nodes and the records an acceptor makes durable before it answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A node's numeric id (1-based, in the sorted order of the members' names).
pub type NodeId = u64;
/// A position in the replicated log (1-based; 0 means "none").
pub type Slot = u64;

/// A ballot: rounds order ballots, the proposer's id breaks ties, so no two proposers ever
/// share one. `Ballot::default()` (round 0) is below every ballot a proposer uses.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Ballot {
    pub round: u64,
    pub node: NodeId,
}

impl std::fmt::Display for Ballot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

/// What a slot holds: a no-op (a new leader fills holes with them) or a command for the
/// state machine, opaque to the core.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Value {
    Noop,
    Cmd(Vec<u8>),
}

/// An acceptor's vote for a value in a slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub ballot: Ballot,
    pub value: Value,
}

/// One peer message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    pub body: Body,
}

impl raft::transport::PeerMessage for Message {
    fn to(&self) -> NodeId {
        self.to
    }
}

/// The messages of the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// Phase 1a: promise to ignore ballots below `ballot`, and report what you accepted (and
    /// know chosen) from `from_slot` on.
    Prepare { ballot: Ballot, from_slot: Slot },
    /// Phase 1b: the promise, with the acceptor's accepted values and the chosen values it
    /// knows at or after the prepare's `from_slot`.
    Promise {
        ballot: Ballot,
        accepted: Vec<(Slot, Accepted)>,
        chosen: Vec<(Slot, Value)>,
    },
    /// Phase 2a, batched, doubling as the leader's heartbeat (`entries` may be empty):
    /// `chosen` is the leader's chosen prefix (every slot up to it is chosen).
    Accept {
        ballot: Ballot,
        entries: Vec<(Slot, Value)>,
        chosen: Slot,
    },
    /// Phase 2b for `slots`, and the acceptor's own chosen prefix (so the leader can send it
    /// the chosen values it lacks).
    Accepted {
        ballot: Ballot,
        slots: Vec<Slot>,
        chosen: Slot,
    },
    /// A refusal: the receiver promised `promised`, above the sender's `ballot`.
    Nack { ballot: Ballot, promised: Ballot },
    /// Catch-up: values the sender knows to be chosen.
    Learn { entries: Vec<(Slot, Value)> },
}

/// A change to an acceptor's durable state; the shell makes a `Ready`'s records durable
/// (fsync) before it sends that `Ready`'s messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// The acceptor promised this ballot.
    Promise(Ballot),
    /// The acceptor accepted `value` in `slot` at `ballot`.
    Accept {
        slot: Slot,
        ballot: Ballot,
        value: Value,
    },
    /// The node learned that `value` is chosen in `slot`.
    Chosen { slot: Slot, value: Value },
}

/// Everything a node keeps across restarts: the fold of its records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Durable {
    pub promised: Ballot,
    pub accepted: BTreeMap<Slot, Accepted>,
    pub chosen: BTreeMap<Slot, Value>,
}

impl Durable {
    /// Folds one record in (records are replayed in the order they were written).
    pub fn apply(&mut self, r: &Record) {
        match r {
            Record::Promise(b) => self.promised = self.promised.max(*b),
            Record::Accept {
                slot,
                ballot,
                value,
            } => {
                self.accepted.insert(
                    *slot,
                    Accepted {
                        ballot: *ballot,
                        value: value.clone(),
                    },
                );
            }
            Record::Chosen { slot, value } => {
                self.chosen.insert(*slot, value.clone());
            }
        }
    }
}
