//! A sharded key-value store with atomic multi-shard transactions by two-phase commit: the
//! system under test `twopc-node`. One process is the coordinator (clients send it their
//! transactions), every other process holds one shard as a participant.
//!
//! - [`core`]: the pure coordinator and participant state machines (ticks and messages in,
//!   effects out).
//! - [`storage`]: each process's durable log of records.
//! - [`bugs`]: the `--bug` switches.
//! - [`node`]: the I/O shell that ties them together; [`cli`]: its command line.
//!
//! The checksummed frames and the peer links are raft's ([`raft::frame`],
//! [`raft::transport`]); the client server is [`wire::server`].

pub mod bugs;
pub mod cli;
pub mod core;
pub mod node;
pub mod storage;
