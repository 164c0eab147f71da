//! The faults beyond partitions, kills and pauses, on a local cluster: the fault filesystem
//! under each node's data directory (`lose-unsynced`), a libfaketime control file per node
//! (`clock`), and the proxy's slow and flaky links. [`FaultCluster`] is the cluster a nemesis
//! acts on: the local processes plus whichever of these the run asked for.

mod clocks;
mod disks;

pub use clocks::NodeClocks;
pub use disks::NodeDisks;

use super::{ControlError, LocalCluster};
use nemeses::{ClockChange, ClusterError, FaultKind, Grudge, LinkRule};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Whether this machine can inject every fault of `kinds`; the error is one sentence saying
/// what is missing and what to do.
pub fn check_available(kinds: &[FaultKind]) -> Result<(), ControlError> {
    if kinds.contains(&FaultKind::LoseUnsynced) {
        faultfs::check_available()?;
    }
    if kinds.contains(&FaultKind::Clock) {
        super::libfaketime()?;
    }
    Ok(())
}

/// Removes what an earlier run killed in an unusual way may have left: fault filesystems whose
/// mounting process is gone. Returns their mount points.
pub fn remove_leftovers() -> Vec<PathBuf> {
    if faultfs::faultfs_mounts().is_empty() {
        return Vec::new();
    }
    faultfs::remove_stale_mounts()
}

/// A local cluster with the fault machinery the run asked for.
pub struct FaultCluster {
    cluster: Arc<LocalCluster>,
    names: Vec<String>,
    disks: Option<NodeDisks>,
    clocks: Option<NodeClocks>,
}

impl FaultCluster {
    /// Prepares what `kinds` need on a cluster that was created and not yet started: mounts a
    /// fault filesystem on every data directory for `lose-unsynced`, writes a clock control file
    /// per node and sets the nodes' environment for `clock`.
    pub fn prepare(
        cluster: Arc<LocalCluster>,
        kinds: &[FaultKind],
    ) -> Result<FaultCluster, ControlError> {
        let layouts = cluster.layouts().to_vec();
        let disks = if kinds.contains(&FaultKind::LoseUnsynced) {
            Some(NodeDisks::mount(&layouts, cluster.system.fault_fs_names())?)
        } else {
            None
        };
        let clocks = if kinds.contains(&FaultKind::Clock) {
            let c = NodeClocks::create(&layouts)?;
            for i in 0..layouts.len() {
                cluster.set_node_env(i, c.env(i));
            }
            Some(c)
        } else {
            None
        };
        Ok(FaultCluster {
            names: layouts.iter().map(|l| l.name.clone()).collect(),
            cluster,
            disks,
            clocks,
        })
    }

    pub fn local(&self) -> &LocalCluster {
        &self.cluster
    }

    fn index(&self, node: &str) -> Result<usize, ControlError> {
        self.names
            .iter()
            .position(|n| n == node)
            .ok_or_else(|| ControlError::NodeNotFound(node.to_string()))
    }

    /// For test.json.
    pub fn describe(&self) -> Value {
        json!({
            "faultfs": self.disks.is_some(),
            "libfaketime": self.clocks.as_ref().map(|c| c.env(0)),
        })
    }

    /// Ends the run's fault machinery once every node has stopped: unmounts the fault
    /// filesystems cleanly (the nodes' files stay in their data directories).
    pub fn finish(&self) -> Result<(), ControlError> {
        match &self.disks {
            Some(d) => d.unmount_all(),
            None => Ok(()),
        }
    }
}

impl nemeses::Cluster for FaultCluster {
    fn node_names(&self) -> Vec<String> {
        self.names.clone()
    }

    async fn set_grudge(&self, grudge: &Grudge) -> Result<(), ClusterError> {
        self.cluster.set_grudge(grudge).await
    }

    async fn kill(&self, node: &str) -> Result<(), ClusterError> {
        self.cluster.kill(node).await
    }

    async fn start(&self, node: &str) -> Result<(), ClusterError> {
        self.cluster.start(node).await
    }

    async fn pause(&self, node: &str) -> Result<(), ClusterError> {
        self.cluster.pause(node).await
    }

    async fn resume(&self, node: &str) -> Result<(), ClusterError> {
        self.cluster.resume(node).await
    }

    async fn leader(&self) -> Option<String> {
        self.cluster.leader().await
    }

    async fn synchronizing(&self, node: &str) -> Option<bool> {
        self.cluster.synchronizing(node).await
    }

    async fn lose_unsynced(&self, node: &str, torn: Option<u64>) -> Result<Value, ClusterError> {
        let i = self.index(node)?;
        let disks = self.disks.as_ref().ok_or_else(|| ControlError::NoFaultFs {
            node: node.to_string(),
        })?;
        // Dead and reaped before its disk crashes; fsyncs waiting on a slow disk fail first,
        // unsynced, so that the kill does not wait for them.
        disks.abort_syncs(i);
        self.cluster.kill(node).await?;
        Ok(disks.crash(i, torn)?)
    }

    async fn slow_disk(
        &self,
        node: &str,
        delay: Option<std::time::Duration>,
    ) -> Result<(), ClusterError> {
        let i = self.index(node)?;
        let disks = self.disks.as_ref().ok_or_else(|| ControlError::NoFaultFs {
            node: node.to_string(),
        })?;
        Ok(disks.set_sync_delay(i, delay)?)
    }

    async fn unsynced_while_syncing(&self, node: &str) -> Option<u64> {
        let i = self.index(node).ok()?;
        self.disks.as_ref()?.unsynced_while_syncing(i)
    }

    async fn set_clock(
        &self,
        node: &str,
        change: Option<&ClockChange>,
    ) -> Result<String, ClusterError> {
        let i = self.index(node)?;
        let clocks = self
            .clocks
            .as_ref()
            .ok_or_else(|| ControlError::NoClockControl {
                node: node.to_string(),
            })?;
        Ok(clocks.set(i, change)?)
    }

    async fn set_link_faults(&self, rules: &[LinkRule]) -> Result<(), ClusterError> {
        Ok(self
            .cluster
            .proxy()
            .set_link_faults(rules)
            .map_err(ControlError::from)?)
    }
}
