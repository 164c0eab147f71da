//! `faultline test`: start a cluster, drive a workload against it under a nemesis, journal the
//! history, heal and recover, do final reads, check, summarize, and store it all (Contract 3).
//!
//! - [`args`]: the options, their validation and the rerun command;
//! - [`phases`]: the run itself, phase by phase;
//! - [`journal_stats`]: the journal's figures for results.json.

mod args;
mod journal_stats;
mod phases;

pub use args::{ArgsError, TestArgs};
pub use phases::RunError;

use crate::db;
use crate::error::HarnessError;
use args::validate;
use checkers::Validity;
use std::process::ExitCode;

/// Runs `faultline test`; returns the process exit code (Contract 4).
pub fn run(args: TestArgs) -> ExitCode {
    crate::error::exit("test", test(args))
}

fn test(args: TestArgs) -> Result<Validity, HarnessError> {
    let cfg = validate(&args)?;
    // The node binary, and the bugs asked for checked against its --list-bugs, before anything
    // is created.
    let binary = cfg.system.program(args.bin_dir.as_deref())?;
    if let Some(bin) = &binary {
        db::check_bugs(cfg.system, bin, &args.bugs)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(HarnessError::Runtime)?;
    Ok(rt.block_on(phases::run_async(args, cfg, binary))?)
}
