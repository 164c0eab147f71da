//! Faults and fault schedules: partitions, kill/restart, pause/resume.
//!
//! A nemesis never reads the history and never talks to clients. It acts on a [`Cluster`] (which
//! the harness implements over local processes and its proxy) following a [`Plan`] drawn entirely
//! from a seed: the kinds of faults, their targets and their times. Only targets named "the
//! leader" are resolved at run time, with the nodes' `status` op. Every fault and every heal is
//! reported to a [`NemesisLog`] so that it is journaled as a `nemesis` event.

mod clock;
mod cluster;
mod error;
mod executor;
mod grudge;
mod kind;
mod link;
mod partition;
mod plan;

pub use clock::ClockChange;
pub use cluster::{Cluster, NemesisLog};
pub use error::NemesisError;
pub use executor::Nemesis;
pub use grudge::Grudge;
pub use kind::{parse_kinds, FaultKind};
pub use link::{split_by_direction, Flaky, LinkFault, LinkRule, Slow};
pub use partition::{NodeTarget, PartitionShape};
pub use plan::{Fault, NodeChoice, Plan, Step, StepAction};
