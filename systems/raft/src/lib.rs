//! A Raft replicated key-value store: the system under test `raft-node`.
//!
//! - [`core`]: the pure consensus state machine (ticks and messages in, effects out).
//! - [`kv`]: the replicated key-value state machine with retry de-duplication.
//! - [`storage`]: the checksummed write-ahead log and snapshot files.
//! - [`transport`]: framed, checksummed peer messages over TCP.
//! - [`server`]: the client wire protocol server (Contract 2).
//! - [`node`]: the I/O shell that ties them together.

pub mod core;
