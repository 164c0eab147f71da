//! `faultline analyze RUN_DIR`: check a stored run again, through the same path as the end of
//! `faultline test` ([`crate::analysis::check_run`]).

use crate::analysis::{check_run, CheckRun};
use crate::error::HarnessError;
use crate::runlog::RunLog;
use crate::store::{RunDir, StoreError};
use checkers::Validity;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct AnalyzeArgs {
    /// A run directory (store/<test>/<time>/, or store/latest).
    pub run_dir: PathBuf,
    /// Seconds the checkers may spend (per key for linearizability, per model for the others).
    #[arg(long, default_value_t = 30.0)]
    pub check_timeout: f64,
}

/// Checks the stored run again and rewrites its results.json; returns the verdict.
pub fn run(args: &AnalyzeArgs) -> Result<Validity, HarnessError> {
    if !(args.check_timeout.is_finite() && args.check_timeout > 0.0) {
        return Err(HarnessError::BadArgument(
            "--check-timeout must be a positive number of seconds".into(),
        ));
    }
    let run = RunDir::open(&args.run_dir)?;
    let log = RunLog::append(&run.log_path()).map_err(|source| StoreError::Write {
        path: run.log_path(),
        source,
    })?;
    log.line("faultline analyze: checking the stored history again");
    let how = CheckRun {
        opts: checkers::suite::Options {
            timeout: Duration::from_secs_f64(args.check_timeout),
            ..Default::default()
        },
        no_check: false,
        // Keep the journal figures of the original run.
        journal: run.read_results().and_then(|v| v.get("journal").cloned()),
        interrupted: false,
    };
    Ok(check_run(&run, &how, &log)?)
}
