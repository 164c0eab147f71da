//! What clients do: operation mixes, generators and client adapters.
//!
//! - [`op`]: operations are histories' [`histories::Event`]s: a generator makes the invocation,
//!   a client answers with its completion, the [`Recorder`] (the harness's journal) stamps both.
//! - [`WorkloadSpec`] and [`OpGen`]: per-worker invocation sequences (`register`, `set`, `kv`,
//!   `list-append`, `rw-register`, `bank`),
//!   each drawn from the seed and the worker's index only, never from responses, so the same seed
//!   gives every worker the same sequence.
//! - [`run_workers`]: the generator — client workers with Jepsen's process model (after an `info`
//!   the worker continues as process + concurrency), a rate limit across all workers, a time
//!   limit, and [`run_final_reads`] for the final phase.
//! - [`client`]: adapters that turn invocations into Contract 2 requests for the raft and zab
//!   systems, and an in-process system for benchmarking the harness itself.

pub mod bank;
pub mod client;
mod error;
mod kv;
mod mix;
pub mod op;
mod rate;
mod recorder;
mod register;
mod set;
mod spec;
mod txn;
mod workers;

pub use error::WorkloadError;
pub use mix::Mix;
pub use rate::RateLimiter;
pub use recorder::Recorder;
pub use spec::{OpGen, WorkloadKind, WorkloadSpec};
pub use workers::{run_final_reads, run_workers, FinalRead, WorkerConfig, WorkerReport};
