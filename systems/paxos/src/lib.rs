//! A Multi-Paxos replicated key-value store: the system under test `paxos-node`.
//!
//! - [`core`]: the pure Multi-Paxos state machine (ticks and messages in, effects out).
//! - [`storage`]: the acceptor's durable log of promises, accepts and chosen values.
//! - [`bugs`]: the `--bug` switches (the classic Paxos mistakes).
//! - the client wire protocol server (Contract 2) is [`wire::server`], fed into the node's inbox.
//! - [`node`]: the I/O shell that ties them together; [`cli`]: its command line.
//!
//! The key-value state machine, the checksummed frames and the peer links are raft's
//! ([`raft::kv`], [`raft::frame`], [`raft::transport`]), shared rather than copied.

pub mod bugs;
pub mod cli;
pub mod core;
pub mod node;
pub mod storage;
