//! Consistency checkers: linearizability against sequential models, and (in their own modules)
//! sequential, ZooKeeper and causal consistency. Every checker returns a [`Validity`] with
//! [`Anomaly`] explanations.

pub mod causal;
pub mod consistency;
pub mod linear;
pub mod memory;
pub mod sequential;
mod verdict;
pub mod zookeeper;

pub use verdict::{Anomaly, OpRef, Validity};
