//! Errors of the fault filesystem, each one sentence.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FaultFsError {
    /// FUSE cannot be used on this machine (the sentence says why and what to do).
    #[error("{0}")]
    Unavailable(String),
    #[error("cannot mount the fault filesystem on {path}: {source}")]
    Mount {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fault filesystem on {path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: String,
        source: std::io::Error,
    },
}
