//! What is broken right now, and the heal that undoes it: the network first, then clocks and
//! slow disks, then paused nodes are resumed and crashed ones restarted (together or
//! staggered, as drawn).

use super::{join_errors, said, Nemesis};
use crate::{Cluster, Grudge, NemesisLog, Restart};
use serde_json::json;

#[derive(Debug, Default, Clone)]
pub(super) struct Damage {
    pub partitioned: bool,
    /// `slow-link` or `flaky-link` while link faults are in force.
    pub links: Option<&'static str>,
    /// Nodes whose clocks are wrong.
    pub clocks: Vec<String>,
    pub paused: Vec<String>,
    pub resume: Restart,
    /// Nodes killed (plain kill -9).
    pub killed: Vec<String>,
    pub restart: Restart,
    /// Nodes crashed with their unsynced writes lost.
    pub lost: Vec<String>,
    pub lost_restart: Restart,
    /// Nodes given a slow disk by a leader schedule.
    pub slow_disks: Vec<String>,
    /// The leader schedule in force.
    pub leader: Option<&'static str>,
    /// For the progress line.
    pub what: Option<String>,
}

/// What to do to each node of a heal, and how it is journaled.
#[derive(Clone, Copy)]
pub(super) enum Revive {
    Resume,
    Start,
}

impl Nemesis {
    /// Undoes the fault in force, if any: heals the network and the clocks, resumes paused
    /// nodes and restarts crashed ones.
    pub async fn heal<C: Cluster, L: NemesisLog>(&mut self, cluster: &C, log: &L) {
        let d = std::mem::take(&mut self.damage);
        if d.partitioned {
            let r = cluster.set_grudge(&Grudge::none()).await;
            log.record("stop-partition", json!({"grudge": {}}), said(r));
        }
        if let Some(kind) = d.links {
            let r = cluster.set_link_faults(&[]).await;
            log.record(&format!("stop-{kind}"), json!({"links": {}}), said(r));
        }
        if !d.clocks.is_empty() {
            let mut errors = Vec::new();
            for n in &d.clocks {
                if let Err(e) = cluster.set_clock(n, None).await {
                    errors.push(e.to_string());
                }
            }
            log.record(
                "stop-clock",
                json!({"nodes": d.clocks}),
                join_errors(errors),
            );
        }
        if !d.slow_disks.is_empty() {
            let mut errors = Vec::new();
            for n in &d.slow_disks {
                if let Err(e) = cluster.slow_disk(n, None).await {
                    errors.push(e.to_string());
                }
            }
            log.record(
                "stop-slow-disk",
                json!({"nodes": d.slow_disks}),
                join_errors(errors),
            );
        }
        self.revive(cluster, log, &d.paused, d.resume, Revive::Resume, "resume")
            .await;
        self.revive(cluster, log, &d.killed, d.restart, Revive::Start, "restart")
            .await;
        self.revive(
            cluster,
            log,
            &d.lost,
            d.lost_restart,
            Revive::Start,
            "stop-lose-unsynced",
        )
        .await;
        if let Some(schedule) = d.leader {
            log.record("stop-leader", json!({"schedule": schedule}), None);
        }
        if d.what.is_some() {
            log.active(None);
        }
    }

    /// Starts the crashed nodes (all, or those of `only`; the others stay down until the heal),
    /// journaled as `restart` for the killed and `stop-lose-unsynced` for the crashed with
    /// their unsynced writes lost.
    pub(super) async fn start_crashed<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        only: Option<&[String]>,
    ) {
        let picked = |n: &String| only.is_none_or(|o| o.contains(n));
        let (killed, rest) = std::mem::take(&mut self.damage.killed)
            .into_iter()
            .partition::<Vec<_>, _>(picked);
        self.damage.killed = rest;
        self.revive(
            cluster,
            log,
            &killed,
            Restart::Together,
            Revive::Start,
            "restart",
        )
        .await;
        let (lost, rest) = std::mem::take(&mut self.damage.lost)
            .into_iter()
            .partition::<Vec<_>, _>(picked);
        self.damage.lost = rest;
        self.revive(
            cluster,
            log,
            &lost,
            Restart::Together,
            Revive::Start,
            "stop-lose-unsynced",
        )
        .await;
    }

    /// Resumes or starts `nodes`: together (one event), or staggered (one event per node, the
    /// drawn gap apart; no gap once the run is stopping).
    pub(super) async fn revive<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        nodes: &[String],
        how: Restart,
        what: Revive,
        f: &str,
    ) {
        if nodes.is_empty() {
            return;
        }
        let act = |n: String| async move {
            match what {
                Revive::Resume => cluster.resume(&n).await,
                Revive::Start => cluster.start(&n).await,
            }
        };
        match how {
            Restart::Together => {
                let mut errors = Vec::new();
                for n in nodes {
                    if let Err(e) = act(n.clone()).await {
                        errors.push(e.to_string());
                    }
                }
                log.record(f, json!({"nodes": nodes}), join_errors(errors));
            }
            Restart::Staggered { gap_ms } => {
                for (i, n) in nodes.iter().enumerate() {
                    if i > 0 {
                        self.wait(gap_ms).await;
                    }
                    let r = act(n.clone()).await;
                    log.record(
                        f,
                        json!({"nodes": [n], "staggered_ms": gap_ms, "of": nodes}),
                        said(r),
                    );
                }
            }
        }
    }
}
