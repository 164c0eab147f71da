//! `faultline test`: start a cluster, drive a workload against it under a nemesis, journal the
//! history, heal and recover, do final reads, check, summarize, and store it all (Contract 3).
//!
//! - [`args`]: the options, their validation and the rerun command;
//! - [`phases`]: the run itself, phase by phase;
//! - [`journal_stats`]: the journal's figures for results.json.

mod args;
mod journal_stats;
mod phases;

pub use args::TestArgs;

use crate::control::locate_binary;
use crate::db;
use args::validate;
use std::process::ExitCode;

/// Runs `faultline test`; returns the process exit code (Contract 4).
pub fn run(args: TestArgs) -> ExitCode {
    let cfg = match validate(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("faultline test: {e}");
            return ExitCode::from(crate::EXIT_BAD_INPUT);
        }
    };
    // The node binary, and the bugs asked for checked against its --list-bugs, before anything
    // is created.
    let binary = match cfg.system.binary() {
        None => None,
        Some(b) => match locate_binary(b.bin, b.package, args.bin_dir.as_deref()) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("faultline test: {e}");
                return ExitCode::from(crate::EXIT_HARNESS);
            }
        },
    };
    if let Some(bin) = &binary {
        if let Err(e) = db::check_bugs(cfg.system, bin, &args.bugs) {
            eprintln!("faultline test: {e}");
            return ExitCode::from(if e.is_bad_input() {
                crate::EXIT_BAD_INPUT
            } else {
                crate::EXIT_HARNESS
            });
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("faultline test: cannot start the async runtime: {e}");
            return ExitCode::from(crate::EXIT_HARNESS);
        }
    };
    match rt.block_on(phases::run_async(args, cfg, binary)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faultline test: {e}");
            ExitCode::from(crate::EXIT_HARNESS)
        }
    }
}
