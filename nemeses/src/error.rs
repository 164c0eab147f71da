//! Errors of fault injection.

/// Why a fault could not be injected or healed.
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    #[error(
        "unknown nemesis {0:?}: use none, all, or a comma-separated list of partition, kill, pause, lose-unsynced, clock, slow-link, flaky-link and leader"
    )]
    UnknownKind(String),
    #[error("node {0:?} is not part of the cluster")]
    UnknownNode(String),
    #[error("no node reports itself as leader")]
    NoLeader,
    #[error("{0}")]
    Cluster(String),
}
