//! What a nemesis needs from a cluster, and where it reports what it did.

use crate::Grudge;
use serde_json::Value;
use std::future::Future;

/// The fault-injection surface of a cluster. The harness implements it over local processes and
/// its proxy; errors are one sentence.
pub trait Cluster: Send + Sync {
    /// The node names, in order.
    fn node_names(&self) -> Vec<String>;
    /// Replaces the set of blocked links (an empty grudge heals the network).
    fn set_grudge(&self, grudge: &Grudge) -> impl Future<Output = Result<(), String>> + Send;
    /// kill -9.
    fn kill(&self, node: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// Starts a node that is not running (no-op for a running one).
    fn start(&self, node: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// SIGSTOP.
    fn pause(&self, node: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// SIGCONT.
    fn resume(&self, node: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// The node the cluster currently believes leads, found with the `status` op.
    fn leader(&self) -> impl Future<Output = Option<String>> + Send;
}

/// Receives every fault and heal as it happens, to journal it as a `nemesis` event.
pub trait NemesisLog: Send + Sync {
    /// `f` names the action (`start-partition`, `stop-partition`, `kill`, `restart`, `pause`,
    /// `resume`); `value` names the links or nodes; `error` says what went wrong, if anything.
    fn record(&self, f: &str, value: Value, error: Option<String>);
    /// The fault now in force, for progress displays (`None` when healed).
    fn active(&self, _fault: Option<String>) {}
}
