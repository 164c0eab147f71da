//! Consistency checkers: linearizability against sequential models, and (in their own modules)
//! sequential, ZooKeeper and causal consistency. Every checker returns a [`Validity`] with
//! [`Anomaly`] explanations.

pub mod linear;
mod verdict;

pub use verdict::{Anomaly, OpRef, Validity};
