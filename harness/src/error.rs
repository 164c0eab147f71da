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

impl Kind {
    /// The user's fault when `bad_input`, else the harness's.
    fn bad_input_if(bad_input: bool) -> Kind {
        if bad_input {
            Kind::BadInput
        } else {
            Kind::Harness
        }
    }
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
                Kind::bad_input_if(!e.is_write())
            }
            HarnessError::Analysis(AnalysisError::Suite(_)) => Kind::BadInput,
            HarnessError::Args(_) => Kind::BadInput,
            HarnessError::Db(e) => Kind::bad_input_if(e.is_bad_input()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn io() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::PermissionDenied)
    }

    #[test]
    fn kinds_map_to_contract_4_codes() {
        let bad: Vec<HarnessError> = vec![
            ArgsError::Concurrency.into(),
            ArgsError::Unavailable(ControlError::NoFaketime).into(),
            crate::db::find("mysql").unwrap_err().into(),
            HarnessError::BadArgument("x".into()),
        ];
        for e in bad {
            assert_eq!(e.exit_code(), EXIT_BAD_INPUT, "{e}");
        }
        let harness: Vec<HarnessError> = vec![
            ControlError::Spawn {
                node: "n1".into(),
                source: io(),
            }
            .into(),
            DbError::ListBugs {
                binary: "raft-node".into(),
                source: io(),
            }
            .into(),
            RunError::InterruptedBeforeReady.into(),
            RunError::NotReady(ControlError::NoLeader(Duration::from_secs(1))).into(),
            HarnessError::Runtime(io()),
        ];
        for e in harness {
            assert_eq!(e.exit_code(), EXIT_HARNESS, "{e}");
        }
    }

    #[test]
    fn messages_say_what_and_where() {
        let e = ControlError::NoAnswer {
            missing: vec!["n2".into(), "n4".into()],
            timeout: Duration::from_secs(30),
        };
        assert_eq!(
            e.to_string(),
            "nodes n2, n4 did not answer status within 30s (see their logs under nodes/)"
        );
        let e = RunError::NotReady(ControlError::NoLeader(Duration::from_secs(5)));
        assert_eq!(
            e.to_string(),
            "the cluster did not come up: no leader emerged within 5s"
        );
        let e = ControlError::Signal {
            node: "n3".into(),
            action: "pause",
            source: io(),
        };
        assert_eq!(e.to_string(), "cannot pause n3: permission denied");
        let e: nemeses::ClusterError = ControlError::NodeNotFound("n9".into()).into();
        assert!(matches!(e, nemeses::ClusterError::UnknownNode(_)));
        assert_eq!(e.to_string(), "node \"n9\" is not part of the cluster");
        let e: nemeses::ClusterError = ControlError::NotRunning { node: "n1".into() }.into();
        assert_eq!(e.to_string(), "n1 is not running; cannot pause it");
    }
}
