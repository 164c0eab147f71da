//! Client adapters: turn invocations into requests to one node of a system and responses into
//! completions (both histories' [`Event`]s). A timeout or a broken connection after the request may have been sent records
//! `info`; a definite error (or a connection that could not be opened, so nothing was sent)
//! records `fail`.

mod boxed;
mod conn;
mod etcd;
mod http;
mod memory;
mod raft;
mod session;
mod twopc;
mod zab;
mod zookeeper;

pub use boxed::BoxClient;
pub use conn::{call_once, ConnError, LineConn};
pub use etcd::{
    etcd_status, EtcdClient, EtcdStatus, EtcdStatusError, SET_PREFIX as ETCD_SET_PREFIX,
};
pub use http::{HttpConn, HttpStatusError, PostError};
pub use memory::{MemoryClient, MemorySystem};
pub use raft::RaftClient;
pub use session::{CallError, Endpoint, Session};
pub use twopc::TwopcClient;
pub use zab::ZabClient;
pub use zookeeper::ZooKeeperClient;

use histories::Event;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// Client settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClientOptions {
    /// How long one request may take before the operation is recorded as `info`.
    pub op_timeout: Duration,
    /// zab and zookeeper: issue `sync` before each read.
    #[serde(alias = "zab_sync_reads")]
    pub sync_reads: bool,
    /// etcd: serializable ranges (a member answers from its own state) instead of linearizable
    /// ones.
    #[serde(default)]
    pub etcd_serializable_reads: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            op_timeout: Duration::from_secs(2),
            sync_reads: false,
            etcd_serializable_reads: false,
        }
    }
}

/// A client of one node.
pub trait Client: Send {
    /// Performs the invocation and answers with its completion (`ok`, `fail` or `info`).
    fn invoke(&mut self, inv: &Event) -> impl Future<Output = Event> + Send;
}

/// The completion for a request that ended in `e`.
pub(crate) fn completion_for_error(inv: &Event, e: CallError, node: &str) -> Event {
    match e {
        CallError::Connect(m) => inv.fail(m),
        CallError::Io(m) => inv.info(m),
        CallError::Timeout => inv.info("timeout"),
        CallError::Definite(code) => inv.fail(code),
        CallError::Indefinite(code) => inv.info(code),
    }
    .on(node)
}

/// Server metadata worth keeping in the history: `term`, `index`, `zxid`, `epoch`, `version`,
/// and a znode stat's `version` and `mzxid`.
pub(crate) fn meta_of(r: &wire::Response) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for k in ["term", "index", "zxid", "epoch", "version"] {
        if let Some(v) = r.get(k) {
            if !v.is_null() {
                m.insert(k.to_string(), v.clone());
            }
        }
    }
    if let Some(serde_json::Value::Object(stat)) = r.get("stat") {
        for k in ["version", "mzxid"] {
            if let Some(v) = stat.get(k) {
                m.entry(k.to_string()).or_insert_with(|| v.clone());
            }
        }
    }
    m
}

/// A completion that keeps the server metadata of the response it came from.
pub(crate) fn with_meta(mut done: Event, r: &wire::Response) -> Event {
    done.extra = meta_of(r);
    done
}
