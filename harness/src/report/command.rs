//! `faultline report RUN...`: rebuild stored runs' report.html from their files, without
//! checking again (`faultline analyze` checks again and rewrites the report too).

use super::{write_run, ReportError};
use crate::error::HarnessError;
use crate::store::RunDir;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Run directories (store/<test>/<time>/, or store/latest).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
}

/// Rebuilds each run's report; prints where each went.
pub fn run(args: &ReportArgs) -> Result<(), HarnessError> {
    for dir in &args.runs {
        let run = RunDir::open(dir)?;
        match write_run(&run) {
            Ok(p) => println!("report {}", p.display()),
            Err(ReportError::Store(e)) => return Err(e.into()),
            Err(e) if e.is_write() => return Err(HarnessError::Failed(e.to_string())),
            Err(e) => return Err(HarnessError::BadArgument(e.to_string())),
        }
    }
    Ok(())
}
