//! The harness's library: everything `faultline test` and `faultline analyze` are made of, so
//! that integration tests can drive the parts directly.
//!
//! - [`db`]: the systems under test, one descriptor each (binary, command line, client, status).
//! - [`control`]: local node processes (binaries, layout, signals, no orphans).
//! - [`proxy`]: the TCP proxy every node-to-node link passes through; partitions.
//! - [`journal`]: `history.jsonl`, written as the run happens.
//! - [`test`]: `faultline test`; [`analyze`]: `faultline analyze`; [`campaign`]: `faultline
//!   campaign` (a matrix of tests as child processes; JUnit XML and a detection matrix).
//! - [`analysis`], [`summary`]: checking a run (through `checkers::suite`) and summarizing it.
//! - [`report`]: report.html (`faultline report`, `check --report`).
//! - [`serve`]: `faultline serve`, the store in a browser.
//! - [`signals`]: Ctrl-C and SIGTERM for the commands that run things.
//! - [`store`]: a run directory and its files (Contract 3).
//! - [`error`]: errors by kind, and the one mapping of kinds to exit codes (Contract 4).

pub mod analysis;
pub mod analyze;
pub mod campaign;
pub mod control;
pub mod db;
pub mod error;
pub mod journal;
pub mod lab;
pub mod progress;
pub mod proxy;
pub mod remote;
pub mod report;
pub mod runlog;
pub mod serve;
pub mod signals;
pub mod store;
pub mod summary;
pub mod test;

pub use error::{EXIT_BAD_INPUT, EXIT_HARNESS};
