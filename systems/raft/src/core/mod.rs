//! The pure Raft core: no I/O, no clock, randomness only from a seed.

pub mod invariants;
pub mod log;
pub mod message;
pub mod progress;
pub mod raft;
pub mod types;

pub use message::{Body, Message};
pub use raft::{Config, NoLeader, Raft, Ready, Status};
pub use types::{Entry, HardState, Index, NodeId, ReadFailure, ReadState, Role, Snapshot, Term};
