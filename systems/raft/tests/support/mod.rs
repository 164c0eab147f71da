//! What the raft tests know of raft-node beyond the shared test kit (`testkit`: the cluster of
//! real processes, its proxies and the client): when a leader is agreed on, and writes and
//! linearizable reads retried until they are served.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use testkit::{Cluster, Launch};

pub const BIN: &str = env!("CARGO_BIN_EXE_raft-node");

/// How often the helpers below ask again.
const POLL: Duration = Duration::from_millis(20);

/// `n` raft-node processes (ids n1, n2, …) with the extra arguments `extra`; with `proxied`,
/// every directed peer link goes through a proxy that can black-hole it.
pub fn start(n: usize, extra: &[&str], proxied: bool) -> Cluster {
    Launch::new(BIN).args(extra).proxied(proxied).start(n)
}

pub trait Raft {
    /// The index of the leader that a live majority agrees on, waiting up to `timeout`.
    fn wait_leader(&self, timeout: Duration) -> usize;
    /// Writes `key`=`value` until acknowledged, trying nodes in turn and retrying indefinite
    /// outcomes with the same rid (so the write applies once).
    fn write(&self, key: &str, value: Value, timeout: Duration);
    /// Reads `key` through node `i` (a linearizable ReadIndex read), retrying failures.
    fn read(&self, i: usize, key: &str, timeout: Duration) -> Value;
}

impl Raft for Cluster {
    fn wait_leader(&self, timeout: Duration) -> usize {
        self.wait_for(timeout, POLL, |c| {
            let st: Vec<(usize, Value)> = c
                .running()
                .into_iter()
                .filter_map(|i| c.status(i).map(|s| (i, s)))
                .collect();
            for (i, s) in &st {
                if s["role"] == "leader" {
                    let agree = st
                        .iter()
                        .filter(|(_, o)| o["leader"] == s["node"] && o["term"] == s["term"])
                        .count();
                    if agree > c.nodes.len() / 2 {
                        return Ok(*i);
                    }
                }
            }
            Err(format!("no leader; statuses: {st:?}"))
        })
    }

    fn write(&self, key: &str, value: Value, timeout: Duration) {
        static NEXT_RID: AtomicU64 = AtomicU64::new(0);
        let rid = format!(
            "{}:{}:{key}",
            std::process::id(),
            NEXT_RID.fetch_add(1, Ordering::Relaxed)
        );
        let req = json!({"op":"write","key":key,"value":value,"rid":rid});
        self.call_any(&req, timeout, POLL, |r| r["ok"] == true);
    }

    fn read(&self, i: usize, key: &str, timeout: Duration) -> Value {
        self.wait_for(timeout, POLL, |c| {
            match c.call(i, json!({"op":"read","key":key})) {
                Ok(r) if r["ok"] == true => Ok(r["value"].clone()),
                Ok(r) => Err(format!("read of {key} at node {i}: {r}")),
                Err(e) => Err(format!("read of {key} at node {i}: {e}")),
            }
        })
    }
}
