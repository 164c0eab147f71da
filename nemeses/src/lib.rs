//! Faults and fault schedules: partitions, kill/restart, pause/resume, lost unsynced writes,
//! clocks, slow and flaky links, and leader-aimed schedules.
//!
//! A nemesis never reads the history and never talks to clients. It acts on a [`Cluster`] (which
//! the harness implements over local processes, its proxy, the fault filesystem and libfaketime)
//! following a [`Plan`] drawn entirely from a seed: the kinds of faults, their targets, their
//! parameters and their times. Only targets named "the leader" are resolved at run time, with
//! the nodes' `status` op. Every fault and every heal is reported to a [`NemesisLog`] so that it
//! is journaled as a `nemesis` event.

mod clock;
mod cluster;
mod error;
mod executor;
mod grudge;
mod kind;
mod leader;
mod link;
mod partition;
mod plan;
mod target;

pub use clock::ClockChange;
pub use cluster::{Cluster, NemesisLog};
pub use error::{ClusterError, NemesisError};
pub use executor::Nemesis;
pub use grudge::Grudge;
pub use kind::{parse_kinds, FaultKind};
pub use leader::{parse_schedule_names, Crash, LeaderSchedule};
pub use link::{split_by_direction, Flaky, LinkFault, LinkRule, Slow};
pub use partition::{isolate, PartitionShape};
pub use plan::{
    Fault, Plan, PlanConfig, Step, StepAction, DEFAULT_CLIENT_TIMEOUT_MS,
    DEFAULT_ELECTION_TIMEOUT_MS,
};
pub use target::{NodeChoice, NodeTarget, Restart};
