//! What the zab tests know of zab-node beyond the shared test kit (`testkit`: the cluster of real
//! processes, its proxies and the client): servers named by their ZooKeeper id (1, 2, …), fast
//! timeouts unless a test sets `--tick-ms`, when a leader serves, and writes retried until they
//! get a definite answer.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::Duration;
use testkit::{Launch, Node, Proxy};

/// Timeouts short enough for tests: 20 ms ticks.
const FAST: &[&str] = &[
    "--tick-ms",
    "20",
    "--init-limit",
    "100",
    "--sync-limit",
    "25",
];

/// How often the waits below ask again.
const POLL: Duration = Duration::from_millis(50);

/// An ensemble of real zab-node processes, addressed by server id. Dropping it kills them all.
pub struct Ensemble {
    c: testkit::Cluster,
}

/// The index in the cluster of server `id`.
fn ix(id: u64) -> usize {
    (id - 1) as usize
}

impl Ensemble {
    /// Starts servers 1..=n. With `proxied`, every directed peer link i→j goes through its own
    /// proxy.
    pub fn start(n: u64, proxied: bool, extra: &[&str]) -> Ensemble {
        let fast = if extra.contains(&"--tick-ms") {
            &[][..]
        } else {
            FAST
        };
        let c = Launch::new(env!("CARGO_BIN_EXE_zab-node"))
            .ids(|i| (i + 1).to_string())
            .args(fast)
            .args(extra)
            .env("RUST_LOG", "info")
            .proxied(proxied)
            .start(n as usize);
        Ensemble { c }
    }

    pub fn node(&self, id: u64) -> &Node {
        &self.c.nodes[ix(id)]
    }

    pub fn start_node(&mut self, id: u64) {
        self.c.start_node(ix(id));
    }

    /// kill -9.
    pub fn kill(&mut self, id: u64) {
        self.c.kill(ix(id));
    }

    pub fn pid(&self, id: u64) -> Option<u32> {
        self.c.pid(ix(id))
    }

    /// The proxy server `from` dials server `to` through.
    pub fn proxy(&self, from: u64, to: u64) -> &Proxy {
        self.c.proxy(ix(from), ix(to))
    }

    pub fn running(&self) -> Vec<u64> {
        self.c.running().into_iter().map(|i| i as u64 + 1).collect()
    }

    pub fn status(&self, id: u64) -> Option<Value> {
        self.c.status(ix(id))
    }

    /// Waits until a leader serves and `quorum` running nodes (it included) are serving.
    pub fn wait_leader(&self, quorum: usize, timeout: Duration) -> u64 {
        self.c.wait_for(timeout, POLL, |c| {
            let st: Vec<(usize, Value)> = c
                .running()
                .into_iter()
                .filter_map(|i| c.status(i).map(|s| (i, s)))
                .filter(|(_, s)| s["serving"] == json!(true))
                .collect();
            match st.iter().find(|(_, s)| s["role"] == json!("leading")) {
                Some((i, _)) if st.len() >= quorum => Ok(*i as u64 + 1),
                _ => Err(format!("no serving leader with {quorum} serving")),
            }
        })
    }

    /// Waits until server `id` is serving (synchronized with a leader).
    pub fn wait_serving(&self, id: u64, timeout: Duration) -> Value {
        self.c.wait_for(timeout, POLL, |c| match c.status(ix(id)) {
            Some(s) if s["serving"] == json!(true) => Ok(s),
            _ => Err(format!("n{id} not serving")),
        })
    }

    /// Sends a write to the ensemble until it gets a definite answer: ok or a ZooKeeper error.
    /// Indefinite outcomes are retried (so a retried create may find its own earlier attempt:
    /// node_exists).
    pub fn write(&self, op: Value, timeout: Duration) -> Value {
        self.c.call_any(&op, timeout, POLL, |r| {
            let code = r["error"]["code"].as_str().unwrap_or("");
            r["ok"] == json!(true)
                || ["no_node", "node_exists", "bad_version", "not_empty"].contains(&code)
        })
    }

    /// The last lines of every server's log, for a failure message.
    pub fn logs_tail(&self) -> String {
        self.c.logs_tail(15)
    }
}
