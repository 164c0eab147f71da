//! The pure cores: no I/O, no clock, randomness only from a seeded RNG.

pub mod election;
pub mod message;
pub mod peer;
pub mod sync_plan;
pub mod tree;
pub mod txn;
pub mod zxid;
