//! What the consistency checkers (sequential, ZooKeeper, causal) return, and the ladder of
//! models that says which is the strongest one a history satisfies.

mod ladder;
mod report;

pub use ladder::{Ladder, LadderEntry};
pub use report::{anomaly, Model, ModelReport};
