//! Errors of fault injection: naming a fault that does not exist, and a cluster failing to
//! inject or heal one.

/// Why a nemesis could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    #[error(
        "unknown nemesis {0:?}: use none, all, or a comma-separated list of partition, kill, pause, lose-unsynced, clock, slow-link, flaky-link, leader and sync-crash"
    )]
    UnknownKind(String),
    #[error("unknown leader schedule {name:?} in --leader-schedules: use a comma-separated list of {known}")]
    UnknownSchedule { name: String, known: String },
}

/// Why a [`crate::Cluster`] could not inject or heal a fault; its text is the one sentence the
/// journal records as the nemesis event's `error`.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("node {0:?} is not part of the cluster")]
    UnknownNode(String),
    /// The cluster cannot drop unsynced writes at all.
    #[error("this cluster cannot drop what {node} did not fsync")]
    NoLoseUnsynced { node: String },
    /// The cluster cannot slow a node's disk at all.
    #[error("this cluster cannot slow the disk of {node}")]
    NoSlowDisk { node: String },
    /// The cluster cannot change clocks at all.
    #[error("this cluster cannot change the clock of {node}")]
    NoClock { node: String },
    /// The cluster cannot slow links or make them flaky at all.
    #[error("this cluster cannot slow links or make them flaky")]
    NoLinkFaults,
    /// The cluster's own machinery failed (a signal, a process, a file, the proxy); the error
    /// says what and where.
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl ClusterError {
    /// Wraps a cluster implementation's own error.
    pub fn failed(e: impl std::error::Error + Send + Sync + 'static) -> ClusterError {
        ClusterError::Failed(Box::new(e))
    }
}
