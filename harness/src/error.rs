//! The harness's errors by kind, and the one place that maps a kind to its exit code
//! (Contract 4): bad arguments or unreadable input 254, the harness's own failure 255.

use crate::analysis::AnalysisError;
use crate::control::ControlError;
use crate::db::DbError;
use crate::store::StoreError;
use crate::test::{ArgsError, RunError};
use checkers::Validity;
use std::process::ExitCode;

/// Exit code for bad arguments or unreadable input (Contract 4).
pub const EXIT_BAD_INPUT: u8 = 254;
/// Exit code for a failure of the harness itself (Contract 4).
pub const EXIT_HARNESS: u8 = 255;

/// Whose fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The user's: bad arguments, an unreadable or malformed run or history.
    BadInput,
    /// The harness's own: it could not write its results, spawn a thread or start a node.
    Harness,
}

/// Any error a command of the harness ends with.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{0}")]
    BadArgument(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// `faultline test`'s arguments were refused.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// A system's descriptor: an unknown system, workload or bug is bad input; a node binary
    /// that cannot list its bugs is the harness's failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The harness could not find, build, start or control its nodes.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// A `faultline test` run failed after it started (its run directory, cluster, journal or
    /// checking).
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The harness could not do its own work (start a runtime, spawn a thread, …).
    #[error("{0}")]
    Failed(String),
}

impl HarnessError {
    pub fn kind(&self) -> Kind {
        match self {
            HarnessError::BadArgument(_) => Kind::BadInput,
            HarnessError::Store(e) | HarnessError::Analysis(AnalysisError::Store(e)) => {
                if e.is_write() {
                    Kind::Harness
                } else {
                    Kind::BadInput
                }
            }
            HarnessError::Analysis(AnalysisError::Suite(_)) => Kind::BadInput,
            HarnessError::Args(_) => Kind::BadInput,
            HarnessError::Db(e) => {
                if e.is_bad_input() {
                    Kind::BadInput
                } else {
                    Kind::Harness
                }
            }
            HarnessError::Control(_)
            | HarnessError::Run(_)
            | HarnessError::Runtime(_)
            | HarnessError::Failed(_) => Kind::Harness,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            Kind::BadInput => EXIT_BAD_INPUT,
            Kind::Harness => EXIT_HARNESS,
        }
    }
}

/// The process's exit: the verdict's code (0 valid, 1 invalid, 2 unknown), or the error's after
/// printing it as one sentence prefixed with the command.
pub fn exit(command: &str, result: Result<Validity, HarnessError>) -> ExitCode {
    match result {
        Ok(v) => ExitCode::from(v.exit_code() as u8),
        Err(e) => {
            eprintln!("faultline {command}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
