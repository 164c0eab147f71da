//! Runs a [`Plan`] against a [`Cluster`], journaling every fault and heal, and heals everything
//! at the end.

use crate::{Cluster, Fault, Grudge, NemesisLog, NodeChoice, Plan, StepAction};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What is broken right now, so that it can be undone.
#[derive(Debug, Default, Clone)]
struct Damage {
    partitioned: bool,
    killed: Vec<String>,
    paused: Vec<String>,
    what: Option<String>,
}

/// A nemesis executing one plan.
pub struct Nemesis {
    plan: Plan,
    damage: Damage,
}

impl Nemesis {
    pub fn new(plan: Plan) -> Self {
        Nemesis {
            plan,
            damage: Damage::default(),
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
        mut stop: watch::Receiver<bool>,
    ) {
        let steps = self.plan.steps.clone();
        for step in steps {
            let at = start + Duration::from_millis(step.at_ms);
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match &step.action {
                StepAction::Fault(f) => self.inject(cluster, log, f).await,
                StepAction::Heal => self.heal(cluster, log).await,
            }
        }
    }

    /// Injects one fault (healing any fault still in force first).
    pub async fn inject<C: Cluster, L: NemesisLog>(&mut self, cluster: &C, log: &L, fault: &Fault) {
        self.heal(cluster, log).await;
        let nodes = cluster.node_names();
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
                let res = cluster.set_grudge(&grudge).await;
                self.damage.partitioned = true;
                self.damage.what = Some(fault.describe());
                log.active(self.damage.what.clone());
                log.record(
                    "start-partition",
                    json!({"kind": shape.name(), "grudge": grudge, "links": grudge.links().len()}),
                    res.err(),
                );
            }
            Fault::Kill {
                target,
                nodes: choice,
            }
            | Fault::Pause {
                target,
                nodes: choice,
            } => {
                let is_kill = matches!(fault, Fault::Kill { .. });
                let f = if is_kill { "kill" } else { "pause" };
                let targets = match choice {
                    NodeChoice::Nodes(v) => v.clone(),
                    NodeChoice::Leader => cluster.leader().await.into_iter().collect(),
                };
                if targets.is_empty() {
                    log.record(
                        f,
                        json!({"target": target.name(), "nodes": []}),
                        Some("no node reports itself as leader; nothing was hit".into()),
                    );
                    return;
                }
                let mut errors = Vec::new();
                for n in &targets {
                    let r = if is_kill {
                        cluster.kill(n).await
                    } else {
                        cluster.pause(n).await
                    };
                    if let Err(e) = r {
                        errors.push(e);
                    }
                }
                if is_kill {
                    self.damage.killed.extend(targets.iter().cloned());
                } else {
                    self.damage.paused.extend(targets.iter().cloned());
                }
                self.damage.what = Some(format!("{} {}", fault.describe(), targets.join(",")));
                log.active(self.damage.what.clone());
                log.record(
                    f,
                    json!({"target": target.name(), "nodes": targets}),
                    join_errors(errors),
                );
            }
        }
    }

    /// Undoes the fault in force, if any: heals the network, restarts killed nodes, resumes
    /// paused ones.
    pub async fn heal<C: Cluster, L: NemesisLog>(&mut self, cluster: &C, log: &L) {
        let d = std::mem::take(&mut self.damage);
        if d.partitioned {
            let r = cluster.set_grudge(&Grudge::none()).await;
            log.record("stop-partition", json!({"grudge": {}}), r.err());
        }
        if !d.paused.is_empty() {
            let mut errors = Vec::new();
            for n in &d.paused {
                if let Err(e) = cluster.resume(n).await {
                    errors.push(e);
                }
            }
            log.record("resume", json!({"nodes": d.paused}), join_errors(errors));
        }
        if !d.killed.is_empty() {
            let mut errors = Vec::new();
            for n in &d.killed {
                if let Err(e) = cluster.start(n).await {
                    errors.push(e);
                }
            }
            log.record("restart", json!({"nodes": d.killed}), join_errors(errors));
        }
        if d.what.is_some() {
            log.active(None);
        }
    }

    /// The final heal: undoes the fault in force, then makes sure that the network is whole and
    /// every node is resumed and running, whatever happened before.
    pub async fn heal_all<C: Cluster, L: NemesisLog>(&mut self, cluster: &C, log: &L) {
        self.heal(cluster, log).await;
        let nodes = cluster.node_names();
        let mut errors = Vec::new();
        if let Err(e) = cluster.set_grudge(&Grudge::none()).await {
            errors.push(e);
        }
        for n in &nodes {
            if let Err(e) = cluster.resume(n).await {
                errors.push(e);
            }
            if let Err(e) = cluster.start(n).await {
                errors.push(e);
            }
        }
        log.record("heal-all", json!({"nodes": nodes}), join_errors(errors));
        log.active(None);
    }
}

fn join_errors(errors: Vec<String>) -> Option<String> {
    if errors.is_empty() {
        None
    } else {
        Some(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FaultKind;
    use serde_json::Value;
    use std::sync::Mutex;

    /// A cluster that records what was done to it (the real one is exercised by the harness's
    /// tests with real processes).
    #[derive(Default)]
    struct Recorded {
        actions: Mutex<Vec<String>>,
        leader: Option<String>,
    }

    impl Cluster for Recorded {
        fn node_names(&self) -> Vec<String> {
            (1..=5).map(|i| format!("n{i}")).collect()
        }
        async fn set_grudge(&self, g: &Grudge) -> Result<(), String> {
            self.actions
                .lock()
                .unwrap()
                .push(format!("grudge {}", g.links().len()));
            Ok(())
        }
        async fn kill(&self, n: &str) -> Result<(), String> {
            self.actions.lock().unwrap().push(format!("kill {n}"));
            Ok(())
        }
        async fn start(&self, n: &str) -> Result<(), String> {
            self.actions.lock().unwrap().push(format!("start {n}"));
            Ok(())
        }
        async fn pause(&self, n: &str) -> Result<(), String> {
            self.actions.lock().unwrap().push(format!("pause {n}"));
            Ok(())
        }
        async fn resume(&self, n: &str) -> Result<(), String> {
            self.actions.lock().unwrap().push(format!("resume {n}"));
            Ok(())
        }
        async fn leader(&self) -> Option<String> {
            self.leader.clone()
        }
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<(String, Value, Option<String>)>>);
    impl NemesisLog for Log {
        fn record(&self, f: &str, v: Value, e: Option<String>) {
            self.0.lock().unwrap().push((f.to_string(), v, e));
        }
    }

    #[tokio::test]
    async fn leader_faults_resolve_at_run_time_and_heal_undoes_them() {
        let c = Recorded {
            leader: Some("n3".into()),
            ..Default::default()
        };
        let log = Log::default();
        let mut n = Nemesis::new(Plan::generate(&[], &c.node_names(), 1, 10, 10));
        n.inject(
            &c,
            &log,
            &Fault::Kill {
                target: crate::NodeTarget::Leader,
                nodes: NodeChoice::Leader,
            },
        )
        .await;
        n.inject(
            &c,
            &log,
            &Fault::Partition {
                shape: crate::PartitionShape::IsolateLeader,
                grudge: None,
            },
        )
        .await;
        n.heal_all(&c, &log).await;
        let acts = c.actions.lock().unwrap().clone();
        assert_eq!(&acts[..4], &["kill n3", "start n3", "grudge 8", "grudge 0"]);
        let fs: Vec<String> = log.0.lock().unwrap().iter().map(|e| e.0.clone()).collect();
        assert_eq!(
            fs,
            [
                "kill",
                "restart",
                "start-partition",
                "stop-partition",
                "heal-all"
            ]
        );
        assert_eq!(
            log.0.lock().unwrap()[0].1["nodes"],
            serde_json::json!(["n3"])
        );
    }

    #[tokio::test]
    async fn missing_leader_is_journaled_as_an_error() {
        let c = Recorded::default();
        let log = Log::default();
        let mut n = Nemesis::new(Plan::generate(
            &[FaultKind::Pause],
            &c.node_names(),
            1,
            10,
            10,
        ));
        n.inject(
            &c,
            &log,
            &Fault::Pause {
                target: crate::NodeTarget::Leader,
                nodes: NodeChoice::Leader,
            },
        )
        .await;
        assert!(c.actions.lock().unwrap().is_empty());
        assert!(log.0.lock().unwrap()[0]
            .2
            .as_deref()
            .unwrap()
            .contains("leader"));
    }

    #[tokio::test]
    async fn run_follows_the_plan_until_stopped() {
        let c = Recorded::default();
        let log = Log::default();
        let plan = Plan::generate(&[FaultKind::Kill], &c.node_names(), 5, 20, 200);
        let mut n = Nemesis::new(plan);
        let (_tx, rx) = watch::channel(false);
        n.run(&c, &log, Instant::now(), rx).await;
        let recs = log.0.lock().unwrap().clone();
        assert!(recs.len() >= 8, "{recs:?}");
        assert!(recs.iter().any(|r| r.0 == "restart"));
    }
}
