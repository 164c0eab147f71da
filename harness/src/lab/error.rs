//! What can go wrong making, checking or removing a lab. Each message is one sentence: what, where,
//! what to do. Missing privileges, tools and bad arguments are the user's (exit 254); a command
//! that failed or an sshd that did not answer is the harness's (exit 255).

use crate::error::{EXIT_BAD_INPUT, EXIT_HARNESS};
use crate::remote::RemoteError;
use std::path::PathBuf;

/// Why a `faultline cluster` command failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("this needs root (it makes and removes network namespaces, a bridge and sshds): run it as root, e.g. with sudo")]
    NotRoot,
    #[error(
        "{tool} is not installed and a lab needs it: install it with `apt-get install {package}`"
    )]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("--subnet {subnet:?}: {reason}")]
    BadSubnet { subnet: String, reason: String },
    #[error("--hosts {hosts}: {reason}")]
    BadHosts { hosts: usize, reason: String },
    #[error("--subnet {subnet} overlaps {addr} on {dev}, which this lab did not make; choose another --subnet")]
    Overlap {
        subnet: String,
        addr: String,
        dev: String,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the sshd of {host} ({addr}) did not answer within 10 s; its log {} says: {log}", .log_path.display())]
    SshdNotReady {
        host: String,
        addr: String,
        log_path: PathBuf,
        log: String,
    },
    #[error("there is no lab in {} (no hosts file there); start one with `faultline cluster up --dir {}`", .dir.display(), .dir.display())]
    NoLab { dir: PathBuf },
    #[error("{down} of {total} hosts of the lab in {} are not up (see above)", .dir.display())]
    NotAllUp {
        down: usize,
        total: usize,
        dir: PathBuf,
    },
    #[error(transparent)]
    Remote(Box<RemoteError>),
}

impl From<RemoteError> for LabError {
    fn from(e: RemoteError) -> Self {
        LabError::Remote(Box::new(e))
    }
}

impl LabError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LabError::NotRoot
            | LabError::MissingTool { .. }
            | LabError::BadSubnet { .. }
            | LabError::BadHosts { .. }
            | LabError::Overlap { .. }
            | LabError::NoLab { .. } => EXIT_BAD_INPUT,
            LabError::Remote(e) if matches!(**e, RemoteError::HostsFile { .. }) => EXIT_BAD_INPUT,
            _ => EXIT_HARNESS,
        }
    }
}
