//! Test support for the real-process tests of raft, zab and the harness (a dev-dependency only).
//!
//! - [`loopback`]: the address picker — a loopback IP of its own per node, reserved through a lock
//!   file, so that concurrent test binaries never hand out the same address.
//! - [`proxy`]: a TCP proxy for one directed peer link that can black-hole it.
//! - [`cluster`]: real node processes with their ports, data directories and logs, killed by a
//!   `Drop` guard on every exit path (a panicking test included).
//! - [`client`]: a blocking JSON-lines client (Contract 2).
//! - [`faultline`]: running the `faultline` binary and reading what a run stored.
//! - [`procs`]: looking at processes through /proc.
//! - [`damage`]: damage done to a file's bytes, drawn by proptest (recovery tests).

pub mod client;
pub mod cluster;
pub mod damage;
pub mod faultline;
pub mod loopback;
pub mod procs;
pub mod proxy;

pub use client::Client;
pub use cluster::{Cluster, Launch, Node};
pub use loopback::Host;
pub use proxy::Proxy;
