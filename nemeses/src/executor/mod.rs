//! Runs a [`Plan`] against a [`Cluster`], journaling every fault and heal, and heals everything
//! at the end.
//!
//! Each fault is journaled as it is injected, with its targets and parameters; each heal as it
//! happens. The `f`s: `start-partition`/`stop-partition`, `kill`/`restart`, `pause`/`resume`,
//! `start-lose-unsynced`/`stop-lose-unsynced` (the latter restarts the crashed nodes),
//! `start-clock`/`stop-clock`, `start-slow-link`/`stop-slow-link`,
//! `start-flaky-link`/`stop-flaky-link`, `start-leader`/`stop-leader` around the actions of a
//! leader-aimed schedule (which journal themselves), and `heal-all` at the end.

mod damage;
mod leader;
mod stale_quorum;
#[cfg(test)]
mod tests;

use crate::{
    split_by_direction, Cluster, ClusterError, Crash, Fault, FaultKind, Grudge, LinkFault,
    LinkRule, NemesisLog, NodeChoice, NodeTarget, Plan, Restart, StepAction,
};
use damage::Damage;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A nemesis executing one plan.
pub struct Nemesis {
    plan: Plan,
    damage: Damage,
    /// While [`Nemesis::run`] runs: turns true when the run must end.
    stop: Option<watch::Receiver<bool>>,
    /// Set once stopped: waits inside faults and staggered restarts are skipped from then on.
    hurry: bool,
}

impl Nemesis {
    pub fn new(plan: Plan) -> Self {
        Nemesis {
            plan,
            damage: Damage::default(),
            stop: None,
            hurry: false,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Executes the plan's steps at their times (relative to `start`) until the plan ends or
    /// `stop` turns true. Leaves the last fault in place: call [`Nemesis::heal_all`] after.
    pub async fn run<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        start: Instant,
        stop: watch::Receiver<bool>,
    ) {
        self.stop = Some(stop.clone());
        let mut stop = stop;
        let steps = self.plan.steps.clone();
        for step in steps {
            let at = start + Duration::from_millis(step.at_ms);
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            match &step.action {
                StepAction::Fault(f) => self.inject(cluster, log, f).await,
                StepAction::Heal => self.heal(cluster, log).await,
            }
        }
        if *stop.borrow() {
            self.hurry = true;
        }
        self.stop = None;
    }

    /// Waits `ms`, unless the run is told to stop first; returns whether the whole time passed.
    async fn wait(&mut self, ms: u64) -> bool {
        if self.hurry {
            return false;
        }
        let d = Duration::from_millis(ms);
        let Some(stop) = self.stop.as_mut() else {
            tokio::time::sleep(d).await;
            return true;
        };
        let done = tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = stop.wait_for(|s| *s) => false,
        };
        if !done {
            self.hurry = true;
        }
        done
    }

    /// The nodes a choice hits now (asking for the leader only when it needs it), and an error
    /// to journal when the leader was needed and no node says it leads.
    async fn resolve<C: Cluster>(
        &self,
        cluster: &C,
        choice: &NodeChoice,
    ) -> (Vec<String>, Option<String>) {
        if !choice.needs_leader() {
            return (choice.resolve(None), None);
        }
        let leader = cluster.leader().await;
        let nodes = choice.resolve(leader.as_deref());
        let err = match (&leader, nodes.is_empty()) {
            (Some(_), _) => None,
            (None, true) => Some("no node reports itself as leader; nothing was hit".to_string()),
            (None, false) => {
                Some("no node reports itself as leader; a majority without it was hit".to_string())
            }
        };
        (nodes, err)
    }

    /// Injects one fault (healing any fault still in force first).
    pub async fn inject<C: Cluster, L: NemesisLog>(&mut self, cluster: &C, log: &L, fault: &Fault) {
        self.heal(cluster, log).await;
        let nodes = cluster.node_names();
        self.damage.what = Some(fault.describe());
        log.active(self.damage.what.clone());
        match fault {
            Fault::Partition { shape, grudge } => {
                let grudge = match grudge {
                    Some(g) => Some(g.clone()),
                    None => cluster
                        .leader()
                        .await
                        .map(|l| crate::partition::isolate(&l, &nodes)),
                };
                let Some(grudge) = grudge else {
                    log.record(
                        "start-partition",
                        json!({"kind": shape.name(), "grudge": {}}),
                        Some("no node reports itself as leader; nothing was cut".into()),
                    );
                    return;
                };
                self.cut(cluster, log, shape.name(), &grudge).await;
            }
            Fault::Kill {
                target,
                nodes: choice,
                restart,
            } => {
                let (hit, err) = self.resolve(cluster, choice).await;
                self.crash(cluster, log, *target, &hit, Crash::Kill, *restart, err)
                    .await;
            }
            Fault::LoseUnsynced {
                target,
                nodes: choice,
                restart,
                torn,
            } => {
                let (hit, err) = self.resolve(cluster, choice).await;
                let crash = Crash::LoseUnsynced { torn: *torn };
                self.crash(cluster, log, *target, &hit, crash, *restart, err)
                    .await;
            }
            Fault::Pause {
                target,
                nodes: choice,
                restart,
            } => {
                let (hit, err) = self.resolve(cluster, choice).await;
                self.pause(cluster, log, target.name(), &hit, *restart, err)
                    .await;
            }
            Fault::Clock {
                target,
                nodes: choice,
                changes,
            } => {
                let (hit, err) = self.resolve(cluster, choice).await;
                let mut errors: Vec<String> = err.into_iter().collect();
                let mut applied = serde_json::Map::new();
                let mut specs = serde_json::Map::new();
                for (i, n) in hit.iter().enumerate() {
                    let Some(change) = changes.get(i % changes.len().max(1)) else {
                        break;
                    };
                    match cluster.set_clock(n, Some(change)).await {
                        Ok(spec) => {
                            specs.insert(n.clone(), Value::String(spec));
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                    applied.insert(n.clone(), json!(change));
                }
                self.damage.clocks.extend(hit.iter().cloned());
                log.record(
                    "start-clock",
                    json!({"target": target.name(), "nodes": hit, "changes": applied, "specs": specs}),
                    join_errors(errors),
                );
            }
            Fault::SlowLink {
                shape,
                links,
                up,
                down,
            } => {
                let Some(links) = self.links_of(cluster, links).await else {
                    log.record(
                        "start-slow-link",
                        json!({"kind": shape.name(), "links": {}}),
                        Some("no node reports itself as leader; no link was slowed".into()),
                    );
                    return;
                };
                let (ups, downs) = split_by_direction(&links);
                let rules = [
                    LinkRule {
                        links: ups,
                        fault: LinkFault {
                            slow: Some(*up),
                            flaky: None,
                        },
                    },
                    LinkRule {
                        links: downs,
                        fault: LinkFault {
                            slow: Some(*down),
                            flaky: None,
                        },
                    },
                ];
                let r = cluster.set_link_faults(&rules).await;
                self.damage.links = Some("slow-link");
                log.record(
                    "start-slow-link",
                    json!({"kind": shape.name(), "links": links, "count": links.links().len(),
                           "up": up, "down": down}),
                    said(r),
                );
            }
            Fault::FlakyLink {
                shape,
                links,
                flaky,
            } => {
                let Some(links) = self.links_of(cluster, links).await else {
                    log.record(
                        "start-flaky-link",
                        json!({"kind": shape.name(), "links": {}}),
                        Some("no node reports itself as leader; no link was made flaky".into()),
                    );
                    return;
                };
                let rules = [LinkRule {
                    links: links.clone(),
                    fault: LinkFault {
                        slow: None,
                        flaky: Some(*flaky),
                    },
                }];
                let r = cluster.set_link_faults(&rules).await;
                self.damage.links = Some("flaky-link");
                log.record(
                    "start-flaky-link",
                    json!({"kind": shape.name(), "links": links, "count": links.links().len(),
                           "reset_mean_ms": flaky.reset_mean_ms}),
                    said(r),
                );
            }
            Fault::Leader { schedule, crash } => {
                self.run_schedule(cluster, log, schedule, *crash).await;
            }
        }
    }

    /// The drawn links, or the leader's links when the shape needs the leader.
    async fn links_of<C: Cluster>(&self, cluster: &C, links: &Option<Grudge>) -> Option<Grudge> {
        match links {
            Some(g) => Some(g.clone()),
            None => {
                let nodes = cluster.node_names();
                cluster
                    .leader()
                    .await
                    .map(|l| crate::partition::isolate(&l, &nodes))
            }
        }
    }

    /// Cuts the links of `grudge` (replacing any cut in force) and journals it as `kind`.
    async fn cut<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        kind: &str,
        grudge: &Grudge,
    ) {
        let res = cluster.set_grudge(grudge).await;
        self.damage.partitioned = true;
        log.record(
            "start-partition",
            json!({"kind": kind, "grudge": grudge, "links": grudge.links().len()}),
            said(res),
        );
    }

    /// Crashes `hit` one after another (each dead before its own disk loses anything) and
    /// journals it as `kill` or `start-lose-unsynced`; they restart, as `restart` says, when
    /// healed.
    #[allow(clippy::too_many_arguments)]
    async fn crash<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        target: NodeTarget,
        hit: &[String],
        crash: Crash,
        restart: Restart,
        err: Option<String>,
    ) {
        let f = match crash {
            Crash::Kill => "kill",
            Crash::LoseUnsynced { .. } => "start-lose-unsynced",
        };
        let mut value = json!({"target": target.name(), "nodes": hit, "restart": restart});
        if hit.is_empty() {
            log.record(f, value, err);
            return;
        }
        let mut errors: Vec<String> = err.into_iter().collect();
        match crash {
            Crash::Kill => {
                for n in hit {
                    if let Err(e) = cluster.kill(n).await {
                        errors.push(e.to_string());
                    }
                }
                self.damage.killed.extend(hit.iter().cloned());
                self.damage.restart = restart;
            }
            Crash::LoseUnsynced { torn } => {
                // Each node is killed by its own crash (which first cuts short any fsync
                // waiting on a slow disk, so that the kill is not held up by it).
                let mut dropped = serde_json::Map::new();
                for n in hit {
                    // Each node tears its files from a seed of its own.
                    let seed = torn.map(|s| s.wrapping_add(node_salt(n)));
                    match cluster.lose_unsynced(n, seed).await {
                        Ok(r) => {
                            dropped.insert(n.clone(), r);
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                value["torn"] = json!(torn.is_some());
                value["torn_seed"] = json!(torn);
                value["dropped"] = Value::Object(dropped);
                self.damage.lost.extend(hit.iter().cloned());
                self.damage.lost_restart = restart;
            }
        }
        log.record(f, value, join_errors(errors));
    }

    async fn pause<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        target: &str,
        hit: &[String],
        resume: Restart,
        err: Option<String>,
    ) {
        let mut errors: Vec<String> = err.into_iter().collect();
        for n in hit {
            if let Err(e) = cluster.pause(n).await {
                errors.push(e.to_string());
            }
        }
        self.damage.paused.extend(hit.iter().cloned());
        self.damage.resume = resume;
        log.record(
            "pause",
            json!({"target": target, "nodes": hit, "restart": resume}),
            join_errors(errors),
        );
    }

    /// The final heal: undoes the fault in force, then makes sure that the network is whole,
    /// every clock right, and every node resumed and running, whatever happened before.
    pub async fn heal_all<C: Cluster, L: NemesisLog>(&mut self, cluster: &C, log: &L) {
        self.hurry = true;
        self.heal(cluster, log).await;
        let nodes = cluster.node_names();
        let kinds = &self.plan.kinds;
        let mut errors = Vec::new();
        if let Err(e) = cluster.set_grudge(&Grudge::none()).await {
            errors.push(e.to_string());
        }
        if kinds.contains(&FaultKind::SlowLink) || kinds.contains(&FaultKind::FlakyLink) {
            if let Err(e) = cluster.set_link_faults(&[]).await {
                errors.push(e.to_string());
            }
        }
        for n in &nodes {
            if kinds.contains(&FaultKind::Clock) {
                if let Err(e) = cluster.set_clock(n, None).await {
                    errors.push(e.to_string());
                }
            }
            if let Err(e) = cluster.resume(n).await {
                errors.push(e.to_string());
            }
            if let Err(e) = cluster.start(n).await {
                errors.push(e.to_string());
            }
        }
        log.record("heal-all", json!({"nodes": nodes}), join_errors(errors));
        log.active(None);
    }
}

/// A number of a node's own, from its name, to vary a torn-write seed per node.
fn node_salt(node: &str) -> u64 {
    node.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn join_errors(errors: Vec<String>) -> Option<String> {
    if errors.is_empty() {
        None
    } else {
        Some(errors.join("; "))
    }
}

/// What went wrong, as the journal records it.
pub(super) fn said<T>(r: Result<T, ClusterError>) -> Option<String> {
    r.err().map(|e| e.to_string())
}
