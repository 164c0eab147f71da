//! Executing `restart-stale-quorum`: a minority falls behind, the leader crashes, the stale
//! minority comes back on slow disks and is synchronized by a new leader, everything running
//! crashes in the middle of that, and only the old leader and the stale nodes start again.
//! The bugs it aims at leave a node with a newer epoch than its durable history
//! (ZOOKEEPER-4643), an extra or missing transaction under a DIFF (1154, 4925), or a SNAP
//! that never reached the disk (3642); the last step makes that node's history meet the old
//! leader's in an election of their own.

use super::Nemesis;
use crate::{Cluster, Crash, NemesisLog, NodeTarget, Restart};
use serde_json::json;
use std::time::{Duration, Instant};

/// The drawn times of one run of the schedule, in milliseconds.
pub(super) struct StaleQuorumTimes {
    pub behind_ms: u64,
    pub slow_ms: u64,
    pub watch_ms: u64,
    pub at_risk_bytes: u64,
    pub settle_ms: u64,
    pub hold_ms: u64,
}

/// The stale nodes: the first `n / 2` of `order` other than the leader.
pub(super) fn stale_nodes(order: &[String], leader: &str, n: usize) -> Vec<String> {
    order
        .iter()
        .filter(|x| x.as_str() != leader)
        .take((n / 2).max(1))
        .cloned()
        .collect()
}

impl Nemesis {
    pub(super) async fn restart_stale_quorum<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        order: &[String],
        leader: &str,
        t: StaleQuorumTimes,
        crash: Crash,
    ) {
        let nodes = cluster.node_names();
        let stale = stale_nodes(order, leader, nodes.len());
        self.crash(
            cluster,
            log,
            NodeTarget::Minority,
            &stale,
            crash,
            Restart::Together,
            None,
        )
        .await;
        if !self.wait(t.behind_ms).await {
            return;
        }
        let old = [leader.to_string()];
        self.crash(
            cluster,
            log,
            NodeTarget::Leader,
            &old,
            crash,
            Restart::Together,
            None,
        )
        .await;
        self.slow_disks(cluster, log, &stale, t.slow_ms).await;
        self.start_crashed(cluster, log, Some(&stale)).await;
        let first = self.watch_stale(cluster, log, &stale, &t, crash).await;
        if self.hurry {
            return;
        }
        let mut running: Vec<String> = nodes.iter().filter(|n| *n != leader).cloned().collect();
        if let Some(i) = first.and_then(|f| running.iter().position(|n| *n == f)) {
            running[..=i].rotate_right(1);
        }
        self.crash(
            cluster,
            log,
            NodeTarget::All,
            &running,
            crash,
            Restart::Together,
            None,
        )
        .await;
        let mut quorum = vec![leader.to_string()];
        quorum.extend(stale.iter().cloned());
        self.start_crashed(cluster, log, Some(&quorum)).await;
        self.wait(t.hold_ms).await;
    }

    /// Watches the stale nodes until the moment to crash (journaled as `sync-watch`): an fsync
    /// of one of them waiting with `at_risk_bytes` not yet durable (returned, to crash first),
    /// or, when crashes keep unsynced writes, `settle_ms` after one says it synchronizes; at
    /// the latest, when the watch ends.
    async fn watch_stale<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        stale: &[String],
        t: &StaleQuorumTimes,
        crash: Crash,
    ) -> Option<String> {
        let disk = matches!(crash, Crash::LoseUnsynced { .. });
        let started = Instant::now();
        let deadline = started + Duration::from_millis(t.watch_ms);
        let mut seen = json!({"trigger": "none"});
        let mut first = None;
        'watch: loop {
            for n in stale {
                if disk {
                    match cluster.unsynced_while_syncing(n).await {
                        Some(b) if b >= t.at_risk_bytes => {
                            seen = json!({"trigger": "fsync", "node": n, "unsynced_bytes": b});
                            first = Some(n.clone());
                            break 'watch;
                        }
                        _ => {}
                    }
                } else if cluster.synchronizing(n).await == Some(true) {
                    seen = json!({"trigger": "synchronizing", "node": n});
                    first = Some(n.clone());
                    break 'watch;
                }
            }
            if Instant::now() >= deadline || !self.wait(2).await {
                break;
            }
        }
        seen["nodes"] = json!(stale);
        seen["after_ms"] = json!(started.elapsed().as_millis() as u64);
        log.record("sync-watch", seen, None);
        if !disk && first.is_some() {
            self.wait(t.settle_ms).await;
        }
        first
    }

    /// Gives `nodes` a slow disk (`ms` per fsync) until the heal, journaled as
    /// `start-slow-disk`.
    async fn slow_disks<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        nodes: &[String],
        ms: u64,
    ) {
        let mut errors = Vec::new();
        for n in nodes {
            match cluster.slow_disk(n, Some(Duration::from_millis(ms))).await {
                Ok(()) => self.damage.slow_disks.push(n.clone()),
                Err(e) => errors.push(e.to_string()),
            }
        }
        log.record(
            "start-slow-disk",
            json!({"nodes": nodes, "sync_delay_ms": ms}),
            super::join_errors(errors),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::stale_nodes;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_stale_nodes_are_half_the_cluster_in_the_drawn_order_never_the_leader() {
        let order = names(&["n4", "n2", "n5", "n1", "n3"]);
        assert_eq!(stale_nodes(&order, "n2", 5), names(&["n4", "n5"]));
        assert_eq!(stale_nodes(&order, "n1", 5), names(&["n4", "n2"]));
        assert_eq!(
            stale_nodes(&names(&["n1", "n2", "n3"]), "n1", 3),
            names(&["n2"])
        );
    }
}
