//! The pure core of two-phase commit: no I/O, no clock, no randomness beyond a seed. Messages
//! and ticks go in; records to persist, messages to send and client replies come out, in that
//! order. [`coordinator`] and [`participant`] are the two roles; [`types`] their vocabulary.

pub mod coordinator;
pub mod participant;
pub mod types;

#[cfg(test)]
mod tests;

pub use coordinator::{
    shard_of, CoordConfig, CoordDurable, CoordReady, Coordinator, Outcome, ReqId,
};
pub use participant::{PartConfig, PartDurable, PartReady, Participant};
pub use types::{Body, CoordRecord, Effect, Message, MicroOp, NodeId, PartRecord, TxnId};
