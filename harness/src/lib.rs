//! The harness's library: everything `faultline test` and `faultline analyze` are made of, so
//! that integration tests can drive the parts directly.
//!
//! - [`control`]: local node processes (binaries, layout, signals, no orphans).
//! - [`proxy`]: the TCP proxy every node-to-node link passes through; partitions.
//! - [`journal`]: `history.jsonl`, written as the run happens.
//! - [`runner`]: `faultline test`; [`analyze`]: `faultline analyze`.
//! - [`analysis`], [`set_checker`], [`summary`]: checking and summarizing a run.
//! - [`store`]: the layout of stored runs (Contract 3).

pub mod analysis;
pub mod analyze;
pub mod control;
pub mod journal;
pub mod progress;
pub mod proxy;
pub mod runlog;
pub mod runner;
pub mod set_checker;
pub mod store;
pub mod summary;

/// Exit code for bad arguments or unreadable input (Contract 4).
pub const EXIT_BAD_INPUT: u8 = 254;
/// Exit code for a failure of the harness itself (Contract 4).
pub const EXIT_HARNESS: u8 = 255;
