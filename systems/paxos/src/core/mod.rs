//! The pure Multi-Paxos core: messages and ticks in, effects out, no I/O and no clock inside.
//!
//! - [`types`]: ballots, values, the peer messages and the durable records.
//! - [`paxos`]: the state machine of one node (acceptor, learner and, when its prepare won,
//!   the distinguished proposer), and the [`Ready`] effects the shell carries out.

pub mod paxos;
pub mod types;

pub use paxos::{Config, NotLeader, Paxos, Ready, Role, Status};
pub use types::{Accepted, Ballot, Body, Durable, Message, NodeId, Record, Slot, Value};
