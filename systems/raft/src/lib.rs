//! A Raft replicated key-value store: the system under test `raft-node`.
//!
//! - [`core`]: the pure consensus state machine (ticks and messages in, effects out).
//! - [`kv`]: the replicated key-value state machine with retry de-duplication.
//! - [`storage`]: the checksummed write-ahead log and the snapshot file.
//! - [`frame`]: the checksummed frame shared by storage and peer links.
//! - [`transport`]: peer links over TCP.
//! - the client wire protocol server (Contract 2) is [`wire::server`], fed into the node's inbox.
//! - [`node`]: the I/O shell that ties them together; [`cli`]: its command line.

pub mod bugs;
pub mod cli;
pub mod core;
pub mod frame;
pub mod kv;
pub mod node;
pub mod storage;
pub mod transport;
