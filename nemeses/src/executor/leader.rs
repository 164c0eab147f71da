//! Executing a leader-aimed schedule: find the leader, act on it, wait, act again. Every action
//! is journaled under its own `f` (`start-partition`, `kill`, `pause`, …) between a
//! `start-leader` naming the schedule and the leader, and a `stop-leader` when healed.

use super::damage::Revive;
use super::stale_quorum::StaleQuorumTimes;
use super::{said, Nemesis};
use crate::partition::isolate;
use crate::{
    Cluster, Crash, Flaky, Grudge, LeaderSchedule, LinkFault, LinkRule, NemesisLog, NodeTarget,
    Restart,
};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long a link reset lasts: every connection of the node is reset within it (flaky links
/// with a 1 ms mean time to reset), then the links are sound again.
const RESET_MS: u64 = 30;

impl Nemesis {
    pub(super) async fn run_schedule<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        schedule: &LeaderSchedule,
        crash: Crash,
    ) {
        let nodes = cluster.node_names();
        let leader = cluster.leader().await;
        let needs_leader = !matches!(
            schedule,
            LeaderSchedule::CrashAllDuringRecovery { .. }
                | LeaderSchedule::PartitionDuringSync { .. }
                | LeaderSchedule::CrashDuringSync { .. }
        );
        let err = (needs_leader && leader.is_none())
            .then(|| "no node reports itself as leader; the schedule was not run".to_string());
        log.record(
            "start-leader",
            json!({"schedule": schedule.name(), "leader": leader, "params": schedule, "crash": crash}),
            err.clone(),
        );
        if err.is_some() {
            return;
        }
        self.damage.leader = Some(schedule.name());
        let leader = leader.unwrap_or_default();
        match schedule {
            LeaderSchedule::IsolateThenKill { kill_after_ms } => {
                self.cut(cluster, log, "isolate-leader", &isolate(&leader, &nodes))
                    .await;
                self.wait(*kill_after_ms).await;
                let hit = [leader];
                self.crash_now(cluster, log, NodeTarget::Leader, &hit, crash)
                    .await;
            }
            LeaderSchedule::PauseThenResume { pause_ms } => {
                let hit = [leader];
                self.pause(cluster, log, "leader", &hit, Restart::Together, None)
                    .await;
                self.wait(*pause_ms).await;
                let paused = std::mem::take(&mut self.damage.paused);
                self.revive(
                    cluster,
                    log,
                    &paused,
                    Restart::Together,
                    Revive::Resume,
                    "resume",
                )
                .await;
            }
            LeaderSchedule::KillThenIsolateSuccessor { wait_ms } => {
                let hit = [leader.clone()];
                self.crash_now(cluster, log, NodeTarget::Leader, &hit, crash)
                    .await;
                match self.successor(cluster, &leader, *wait_ms).await {
                    Some(s) => {
                        self.cut(cluster, log, "isolate-successor", &isolate(&s, &nodes))
                            .await
                    }
                    None => log.record(
                        "start-partition",
                        json!({"kind": "isolate-successor", "grudge": {}}),
                        Some(format!(
                            "no node other than {leader} took the lead within {wait_ms} ms; nothing was cut"
                        )),
                    ),
                }
            }
            LeaderSchedule::IsolateThenRejoin { wait_ms, after_ms } => {
                self.cut(cluster, log, "isolate-leader", &isolate(&leader, &nodes))
                    .await;
                match self.successor(cluster, &leader, *wait_ms).await {
                    Some(_) => {
                        self.wait(*after_ms).await;
                        self.reset_links_of(cluster, log, &leader).await;
                        self.cut(cluster, log, "rejoin-leader", &Grudge::none())
                            .await;
                    }
                    None => log.record(
                        "start-partition",
                        json!({"kind": "rejoin-leader", "grudge": {}}),
                        Some(format!(
                            "no node other than {leader} took the lead within {wait_ms} ms; it stays cut off"
                        )),
                    ),
                }
            }
            LeaderSchedule::CrashAllDuringRecovery { recover_ms } => {
                self.crash_now(cluster, log, NodeTarget::All, &nodes, crash)
                    .await;
                self.start_crashed(cluster, log, None).await;
                self.wait(*recover_ms).await;
                self.crash_now(cluster, log, NodeTarget::All, &nodes, crash)
                    .await;
            }
            LeaderSchedule::PartitionDuringSync {
                nodes: choice,
                down_ms,
                sync_ms,
                shape,
                grudge,
            } => {
                let (hit, err) = self.resolve(cluster, choice).await;
                let target = if choice.needs_leader() {
                    NodeTarget::Leader
                } else {
                    NodeTarget::One
                };
                self.crash(cluster, log, target, &hit, crash, Restart::Together, err)
                    .await;
                self.wait(*down_ms).await;
                self.start_crashed(cluster, log, None).await;
                self.wait(*sync_ms).await;
                let grudge = match grudge {
                    Some(g) => Some(g.clone()),
                    None => cluster.leader().await.map(|l| isolate(&l, &nodes)),
                };
                match grudge {
                    Some(g) => self.cut(cluster, log, shape.name(), &g).await,
                    None => log.record(
                        "start-partition",
                        json!({"kind": shape.name(), "grudge": {}}),
                        Some("no node reports itself as leader; nothing was cut".into()),
                    ),
                }
            }
            LeaderSchedule::CrashDuringSync {
                nodes: choice,
                down_ms,
                watch_ms,
                and_leader,
            } => {
                self.crash_during_sync(
                    cluster,
                    log,
                    choice,
                    *down_ms,
                    *watch_ms,
                    *and_leader,
                    crash,
                )
                .await
            }
            LeaderSchedule::RestartStaleQuorum {
                order,
                behind_ms,
                slow_ms,
                watch_ms,
                at_risk_bytes,
                settle_ms,
                hold_ms,
            } => {
                let times = StaleQuorumTimes {
                    behind_ms: *behind_ms,
                    slow_ms: *slow_ms,
                    watch_ms: *watch_ms,
                    at_risk_bytes: *at_risk_bytes,
                    settle_ms: *settle_ms,
                    hold_ms: *hold_ms,
                };
                self.restart_stale_quorum(cluster, log, order, &leader, times, crash)
                    .await
            }
        }
    }

    /// The first node other than `leader` that says it leads, polling for up to `wait_ms`.
    async fn successor<C: Cluster>(
        &mut self,
        cluster: &C,
        leader: &str,
        wait_ms: u64,
    ) -> Option<String> {
        let deadline = Instant::now() + Duration::from_millis(wait_ms);
        loop {
            match cluster.leader().await {
                Some(s) if s != leader => return Some(s),
                _ => {}
            }
            if Instant::now() >= deadline || !self.wait(20).await {
                return None;
            }
        }
    }

    /// Resets every connection of `node` (an RST to both ends, what was queued on them lost),
    /// as a long partition ends: TCP gave up, or the node's transport timed the link out.
    async fn reset_links_of<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        node: &str,
    ) {
        let links = isolate(node, &cluster.node_names());
        let rules = [LinkRule {
            links: links.clone(),
            fault: LinkFault {
                slow: None,
                flaky: Some(Flaky { reset_mean_ms: 1 }),
            },
        }];
        let set = cluster.set_link_faults(&rules).await;
        self.wait(RESET_MS).await;
        let cleared = cluster.set_link_faults(&[]).await;
        log.record(
            "reset-links",
            json!({"node": node, "links": links.links().len(), "for_ms": RESET_MS}),
            said(set.and(cleared)),
        );
    }

    /// [`LeaderSchedule::CrashDuringSync`]: crash, wait, restart, watch for the
    /// synchronization, crash again (journaled as `sync-watch` with what was seen).
    #[allow(clippy::too_many_arguments)]
    async fn crash_during_sync<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        choice: &crate::NodeChoice,
        down_ms: u64,
        watch_ms: u64,
        and_leader: bool,
        crash: Crash,
    ) {
        let (hit, err) = self.resolve(cluster, choice).await;
        let target = if choice.needs_leader() {
            NodeTarget::Leader
        } else {
            NodeTarget::One
        };
        self.crash(cluster, log, target, &hit, crash, Restart::Together, err)
            .await;
        if hit.is_empty() {
            return;
        }
        self.wait(down_ms).await;
        self.start_crashed(cluster, log, None).await;
        let started = Instant::now();
        let deadline = started + Duration::from_millis(watch_ms);
        let seen = loop {
            let mut any = false;
            for n in &hit {
                if cluster.synchronizing(n).await == Some(true) {
                    any = true;
                }
            }
            if any {
                break true;
            }
            if Instant::now() >= deadline || !self.wait(2).await {
                break false;
            }
        };
        let leader = if and_leader {
            cluster.leader().await.filter(|l| !hit.contains(l))
        } else {
            None
        };
        log.record(
            "sync-watch",
            json!({"nodes": hit, "synchronizing": seen, "after_ms": started.elapsed().as_millis() as u64, "and_leader": leader}),
            None,
        );
        let mut again = hit.clone();
        again.extend(leader);
        self.crash_now(cluster, log, target, &again, crash).await;
    }

    /// Crashes `hit` (aimed at as `target`) for the schedule, to be started again together by
    /// [`Nemesis::start_crashed`].
    async fn crash_now<C: Cluster, L: NemesisLog>(
        &mut self,
        cluster: &C,
        log: &L,
        target: NodeTarget,
        hit: &[String],
        crash: Crash,
    ) {
        self.crash(cluster, log, target, hit, crash, Restart::Together, None)
            .await;
    }
}
