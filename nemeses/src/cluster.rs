//! What a nemesis needs from a cluster, and where it reports what it did.

use crate::{ClockChange, ClusterError, Grudge, LinkRule};
use serde_json::Value;
use std::future::Future;

/// The fault-injection surface of a cluster. The harness implements it over local processes,
/// its proxy, the fault filesystem and libfaketime; errors are typed, their text one sentence. The faults a
/// cluster cannot inject keep their default methods, which say so.
pub trait Cluster: Send + Sync {
    /// The node names, in order.
    fn node_names(&self) -> Vec<String>;
    /// Replaces the set of blocked links (an empty grudge heals the network).
    fn set_grudge(&self, grudge: &Grudge) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// kill -9.
    fn kill(&self, node: &str) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// Starts a node that is not running (no-op for a running one).
    fn start(&self, node: &str) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// SIGSTOP.
    fn pause(&self, node: &str) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// SIGCONT.
    fn resume(&self, node: &str) -> impl Future<Output = Result<(), ClusterError>> + Send;
    /// The node the cluster currently believes leads, found with the `status` op.
    fn leader(&self) -> impl Future<Output = Option<String>> + Send;

    /// Whether `node` says, in its `status`, that it is up, past its election, but not serving
    /// yet: a follower synchronizing with its leader, or a leader waiting for a quorum to
    /// synchronize. `None` when it did not answer or its status does not say.
    fn synchronizing(&self, node: &str) -> impl Future<Output = Option<bool>> + Send {
        let _ = node;
        async { None }
    }

    /// kill -9, then drops everything the node had not made durable (keeping a torn prefix of
    /// each file's unsynced tail, drawn from `torn`, when given). The node stays down until
    /// [`Cluster::start`]. Returns what was dropped, for the journal.
    fn lose_unsynced(
        &self,
        node: &str,
        torn: Option<u64>,
    ) -> impl Future<Output = Result<Value, ClusterError>> + Send {
        let _ = torn;
        let e = ClusterError::NoLoseUnsynced { node: node.into() };
        async move { Err(e) }
    }

    /// A slow disk on `node`: every fsync it makes waits `delay` before anything is durable,
    /// until its next [`Cluster::lose_unsynced`] or a call with `None`.
    fn slow_disk(
        &self,
        node: &str,
        delay: Option<std::time::Duration>,
    ) -> impl Future<Output = Result<(), ClusterError>> + Send {
        let _ = delay;
        let e = ClusterError::NoSlowDisk { node: node.into() };
        async move { Err(e) }
    }

    /// While one of `node`'s fsyncs waits on its slow disk: how many bytes it has written that
    /// are not durable yet (what a crash at this moment loses). `None` when no fsync waits, or
    /// the cluster has no such disk.
    fn unsynced_while_syncing(&self, node: &str) -> impl Future<Output = Option<u64>> + Send {
        let _ = node;
        async { None }
    }

    /// Makes `node`'s clocks wrong by `change`, or right again with `None`. Returns what was
    /// written (libfaketime's spec), for the journal.
    fn set_clock(
        &self,
        node: &str,
        change: Option<&ClockChange>,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send {
        let _ = change;
        let e = ClusterError::NoClock { node: node.into() };
        async move { Err(e) }
    }

    /// Replaces every slow and flaky link by those of `rules` (an empty list heals them);
    /// partitions stay.
    fn set_link_faults(
        &self,
        rules: &[LinkRule],
    ) -> impl Future<Output = Result<(), ClusterError>> + Send {
        let _ = rules;
        async { Err(ClusterError::NoLinkFaults) }
    }
}

/// Receives every fault and heal as it happens, to journal it as a `nemesis` event.
pub trait NemesisLog: Send + Sync {
    /// `f` names the action (`start-partition`, `stop-partition`, `kill`, `restart`, `pause`,
    /// `resume`, `start-lose-unsynced`, `start-clock`, …); `value` names the links or nodes and
    /// the parameters; `error` says what went wrong, if anything.
    fn record(&self, f: &str, value: Value, error: Option<String>);
    /// The fault now in force, for progress displays (`None` when healed).
    fn active(&self, _fault: Option<String>) {}
}
