//! What can go wrong controlling local nodes: finding or building a binary, laying out and
//! starting nodes, signalling them, reading their status, and the fault machinery (fault
//! filesystems, libfaketime, the proxy). Each message is one sentence: what, where, what to do.

use crate::db::StatusError;
use crate::proxy::ProxyError;
use faultfs::FaultFsError;
use std::path::PathBuf;
use std::time::Duration;

/// Why the harness could not control its nodes.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("node {0:?} is not part of the cluster")]
    NodeNotFound(String),

    // Binaries.
    #[error("no {bin} binary in {}", .dir.display())]
    NoBinary { bin: String, dir: PathBuf },
    #[error(
        "cannot find the {bin} binary next to faultline; build it (cargo build -p {package}) or pass --bin-dir"
    )]
    BinaryNotFound { bin: String, package: String },
    #[error("cannot find the {bin} program in {place}; install it (apt-get install {debian_package}) or pass --bin-dir")]
    NotInstalled {
        bin: String,
        debian_package: String,
        place: String,
    },
    #[error("cannot find {what} at {}; install it (apt-get install {debian_package})", .path.display())]
    NotInstalledFile {
        what: &'static str,
        path: PathBuf,
        debian_package: &'static str,
    },
    #[error("cannot run cargo to build {bin}: {source}")]
    Cargo {
        bin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cargo build -p {package} --bin {bin} failed ({status})")]
    CargoFailed {
        bin: String,
        package: String,
        status: std::process::ExitStatus,
    },
    #[error("cargo built {bin} but it is not at {}", .path.display())]
    CargoOutput { bin: String, path: PathBuf },

    // Nodes.
    #[error("cannot lay out node {node} in {}: {source}", .dir.display())]
    Layout {
        node: usize,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare {node}'s directory {}: {source}", .dir.display())]
    Prepare {
        node: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the proxy: {0}")]
    ProxyStart(#[source] std::io::Error),
    #[error("cannot start {node}: {source}")]
    Spawn {
        node: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{node} is not running; cannot pause it")]
    NotRunning { node: String },
    /// `action` is what the signal does: pause, resume.
    #[error("cannot {action} {node}: {source}")]
    Signal {
        node: String,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{node}: {source}")]
    Status {
        node: String,
        #[source]
        source: StatusError,
    },
    #[error("no leader emerged within {0:?}")]
    NoLeader(Duration),
    #[error(
        "nodes {} did not answer status within {timeout:?} (see their logs under nodes/)",
        .missing.join(", ")
    )]
    NoAnswer {
        missing: Vec<String>,
        timeout: Duration,
    },

    // The proxy's partitions and link faults.
    #[error(transparent)]
    Proxy(#[from] ProxyError),

    // Clocks (libfaketime).
    #[error("FAULTLINE_LIBFAKETIME names {}, which does not exist", .0.display())]
    FaketimeOverride(PathBuf),
    #[error(
        "clock faults need Debian's libfaketime, which is not installed; apt-get install libfaketime or choose other faults"
    )]
    NoFaketime,
    #[error("cannot write the clock control file {}: {source}", .path.display())]
    ClockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{node} does not run under libfaketime (the run did not ask for clock faults)")]
    NoClockControl { node: String },

    // Disks (faultfs).
    #[error(transparent)]
    FaultFs(#[from] FaultFsError),
    #[error("cannot mount the fault filesystem for {node}: {source}")]
    Mount {
        node: String,
        #[source]
        source: FaultFsError,
    },
    #[error("the fault filesystem of {0} is unmounted")]
    Unmounted(String),
    #[error(
        "{node}'s data directory is not on a fault filesystem (the run did not ask for lose-unsynced)"
    )]
    NoFaultFs { node: String },
    #[error(
        "cannot unmount the fault filesystems cleanly: {}",
        .0.iter().map(|(n, e)| format!("{n}: {e}")).collect::<Vec<_>>().join("; ")
    )]
    Unmount(Vec<(String, FaultFsError)>),
}

impl From<ControlError> for nemeses::ClusterError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::NodeNotFound(n) => nemeses::ClusterError::UnknownNode(n),
            e => nemeses::ClusterError::failed(e),
        }
    }
}
