//! Transactions: what the leader proposes and every replica applies, in zxid order.

use super::zxid::Zxid;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A server id (`--id`).
pub type NodeId = u64;

/// A state change. Errors (no node, bad version, …) are decided when the transaction is applied,
/// identically on every replica, so an error transaction is a committed no-op.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Txn {
    Create {
        path: String,
        data: Value,
        sequential: bool,
    },
    Set {
        path: String,
        data: Value,
        version: i64,
    },
    Delete {
        path: String,
        version: i64,
    },
    /// ZooKeeper's `sync`, made a quorum round: a no-op that commits only through a leader that
    /// still holds a quorum, so a read after it sees everything committed before it.
    Sync,
}

/// Which server accepted the client request, and its server-local request id, so that the
/// origin can answer its client when the transaction is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub node: NodeId,
    pub req: u64,
}

/// A logged proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub zxid: Zxid,
    pub txn: Txn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The client's request id: a transaction whose rid was already applied is not applied
    /// again (its first outcome is returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
}
