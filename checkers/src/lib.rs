//! Consistency checkers: linearizability against sequential models, and (in their own modules)
//! sequential, ZooKeeper and causal consistency, the set checker, Jepsen's workload checkers and the liveness checker. Every checker returns a
//! [`Validity`] with [`Anomaly`] explanations; [`suite`] is the one path that chooses and runs
//! them and shapes their results as results.json holds them.

pub mod causal;
pub mod consistency;
pub mod linear;
pub mod liveness;
pub mod memory;
pub mod sequential;
pub mod set;
pub mod suite;
pub mod txn;
mod verdict;
pub mod workload;
pub mod zookeeper;

pub use verdict::{Anomaly, OpRef, Validity};
