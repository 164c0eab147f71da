//! Leader-aimed schedules: the shapes of fault that historical consensus bugs need, each a short
//! sequence of actions on the leader of the moment, timed from the seed in units of the
//! system's election timeout.

use crate::{Grudge, NemesisError, NodeChoice, NodeTarget, PartitionShape};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How a schedule crashes a node: kill -9, or kill -9 and lose what it had not fsynced (when
/// the run also asked for `lose-unsynced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Crash {
    #[default]
    Kill,
    LoseUnsynced {
        /// Keep a torn prefix of each unsynced tail, drawn from this seed.
        torn: Option<u64>,
    },
}

/// One leader-aimed schedule. Every time is drawn from the seed; only the leader (and its
/// successor) are found at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "schedule", rename_all = "kebab-case")]
pub enum LeaderSchedule {
    /// Cut the leader off from every other node; `kill_after_ms` later (1.5 to 4 election
    /// timeouts: the rest elect a successor while the old leader still believes it leads),
    /// crash it. Healed: the network, then the old leader restarts.
    IsolateThenKill { kill_after_ms: u64 },
    /// Pause the leader for `pause_ms`, then resume it: it wakes up believing it still leads.
    /// Half the draws pause it for 2 to 5 election timeouts (it wakes before its clients give
    /// up); the other half for 1.2 to 2.5 times the clients' request timeout (at least 2
    /// election timeouts), so that clients give up, retry, and their fresh requests wait at the
    /// paused leader for the moment it wakes (etcd#20418's schedule: a pause, then retries).
    PauseThenResume { pause_ms: u64 },
    /// Crash the leader; as soon as another node says it leads (polling for up to `wait_ms`),
    /// isolate that one. Healed: the network, then the old leader restarts.
    KillThenIsolateSuccessor { wait_ms: u64 },
    /// Cut the leader off from every other node; as soon as another node says it leads
    /// (polling for up to `wait_ms`), and `after_ms` later (0 to one election timeout, so
    /// that the old leader's clients still wait for the writes it took while cut off), reset
    /// the old leader's connections (what was queued on them is lost, as when TCP gives up on
    /// a long partition) and heal the cut. The old leader returns with a tail of its old term
    /// that never committed, and its successor, which stopped sending it appends when the
    /// first went unanswered, greets it with a heartbeat (follower-overcommit commits that
    /// tail on it then, and answers those clients). Healed: nothing more.
    IsolateThenRejoin { wait_ms: u64, after_ms: u64 },
    /// Crash every node, start them all again, and `recover_ms` later (a tenth of an election
    /// timeout to two: while they replay their logs, elect and synchronize) crash every node
    /// again. Healed: every node restarts.
    CrashAllDuringRecovery { recover_ms: u64 },
    /// Crash `nodes` (one node or the leader) for `down_ms` (2 to 6 election timeouts, so that
    /// it falls behind), start it, and `sync_ms` later (up to one election timeout: while it
    /// synchronizes with the leader, or the cluster with a new leader) partition the cluster as
    /// `shape` (`grudge` is `None` when the shape needs the leader). Healed: the network.
    PartitionDuringSync {
        nodes: NodeChoice,
        down_ms: u64,
        sync_ms: u64,
        shape: PartitionShape,
        grudge: Option<Grudge>,
    },
    /// Crash `nodes` (one node or the leader) for `down_ms` (2 to 6 election timeouts, so that
    /// it falls behind), start it, watch its `status` for up to `watch_ms` (3 election
    /// timeouts) until it says it is synchronizing (up, not yet serving), and crash it again at
    /// that moment, or at the end of the watch if it never says so. With `and_leader`, the
    /// leader of that moment crashes with it. Synchronization is where recovering state is
    /// half written (ZooKeeper's NEWLEADER/DIFF, epochs written before transactions).
    /// Healed: every node restarts.
    CrashDuringSync {
        nodes: NodeChoice,
        down_ms: u64,
        watch_ms: u64,
        and_leader: bool,
    },
    /// Crash a minority of followers, the first `n / 2` of `order` that do not lead, for
    /// `behind_ms` (2 to 6 election timeouts: they fall behind), then crash the leader. Give
    /// the stale ones a slow disk (`slow_ms` per fsync, 0.1 to 0.3 election timeouts) and start
    /// only them: with the nodes still running they are a quorum without the old leader, so a
    /// new leader is elected in a new epoch and synchronizes them, slowly. Watch them for up to
    /// `watch_ms` (3 election timeouts and 12 fsync delays) and crash every running node, the watched one first,
    /// at the first moment one of them waits on an fsync with at least `at_risk_bytes` (1 B to
    /// 4 KiB, log-uniform) written and not durable: a power loss in the middle of a large
    /// flush. When crashes do not lose unsynced writes (no disk to watch), crash instead
    /// `settle_ms` (0 to 4 fsync delays) after one says it is synchronizing. Then start only
    /// the old leader and the stale ones: a quorum of their own, where the stale nodes' newer
    /// epochs meet the old leader's longer history (ZOOKEEPER-4643, 1154, 3642, 4925). Then
    /// `hold_ms` (2 to 6 election timeouts). Healed: the slow disks, then the other nodes start.
    RestartStaleQuorum {
        order: Vec<String>,
        behind_ms: u64,
        slow_ms: u64,
        watch_ms: u64,
        at_risk_bytes: u64,
        settle_ms: u64,
        hold_ms: u64,
    },
}

fn scaled<R: Rng>(election_ms: u64, lo: f64, hi: f64, rng: &mut R) -> u64 {
    (election_ms as f64 * rng.gen_range(lo..hi)).round() as u64
}

impl LeaderSchedule {
    /// A `crash-during-sync` schedule (the `sync-crash` fault kind draws only this one).
    pub fn draw_crash_during_sync<R: Rng>(
        nodes: &[String],
        election_ms: u64,
        rng: &mut R,
    ) -> LeaderSchedule {
        let e = election_ms.max(1);
        let target = *[NodeTarget::One, NodeTarget::Leader]
            .choose(rng)
            .expect("targets");
        LeaderSchedule::CrashDuringSync {
            nodes: target.draw(nodes, rng),
            down_ms: scaled(e, 2.0, 6.0, rng),
            watch_ms: 3 * e,
            and_leader: rng.gen_bool(0.5),
        }
    }

    /// A `restart-stale-quorum` schedule.
    pub fn draw_restart_stale_quorum<R: Rng>(
        nodes: &[String],
        election_ms: u64,
        rng: &mut R,
    ) -> LeaderSchedule {
        let e = election_ms.max(1);
        let mut order = nodes.to_vec();
        order.shuffle(rng);
        let slow_ms = scaled(e, 0.1, 0.3, rng);
        LeaderSchedule::RestartStaleQuorum {
            order,
            behind_ms: scaled(e, 2.0, 6.0, rng),
            slow_ms,
            watch_ms: 3 * e + 12 * slow_ms,
            at_risk_bytes: 1 << rng.gen_range(0..=12),
            settle_ms: rng.gen_range(0..=4 * slow_ms),
            hold_ms: scaled(e, 2.0, 6.0, rng),
        }
    }

    /// A schedule of the `sync-crash` fault kind: a node crashed while it synchronizes, or a
    /// stale quorum restarted around a slow synchronization, evenly.
    pub fn draw_sync<R: Rng>(nodes: &[String], election_ms: u64, rng: &mut R) -> LeaderSchedule {
        if rng.gen_bool(0.5) {
            LeaderSchedule::draw_crash_during_sync(nodes, election_ms, rng)
        } else {
            LeaderSchedule::draw_restart_stale_quorum(nodes, election_ms, rng)
        }
    }

    /// One of the eight schedules, uniformly, with its times drawn in units of `election_ms`
    /// (and, for pauses, of `client_timeout_ms`, the clients' request timeout).
    pub fn draw<R: Rng>(
        nodes: &[String],
        election_ms: u64,
        client_timeout_ms: u64,
        rng: &mut R,
    ) -> LeaderSchedule {
        let e = election_ms.max(1);
        match rng.gen_range(0..8) {
            0 => LeaderSchedule::IsolateThenKill {
                kill_after_ms: scaled(e, 1.5, 4.0, rng),
            },
            1 => LeaderSchedule::PauseThenResume {
                pause_ms: if rng.gen_bool(0.5) {
                    scaled(e, 2.0, 5.0, rng)
                } else {
                    scaled(client_timeout_ms.max(1), 1.2, 2.5, rng).max(2 * e)
                },
            },
            2 => LeaderSchedule::KillThenIsolateSuccessor { wait_ms: 10 * e },
            3 => LeaderSchedule::CrashAllDuringRecovery {
                recover_ms: scaled(e, 0.1, 2.0, rng),
            },
            4 => LeaderSchedule::draw_crash_during_sync(nodes, e, rng),
            5 => LeaderSchedule::draw_restart_stale_quorum(nodes, e, rng),
            6 => LeaderSchedule::IsolateThenRejoin {
                wait_ms: 10 * e,
                after_ms: scaled(e, 0.0, 1.0, rng),
            },
            _ => {
                let target = *[NodeTarget::One, NodeTarget::Leader]
                    .choose(rng)
                    .expect("targets");
                let shape = *PartitionShape::ALL.choose(rng).expect("shapes");
                LeaderSchedule::PartitionDuringSync {
                    nodes: target.draw(nodes, rng),
                    down_ms: scaled(e, 2.0, 6.0, rng),
                    sync_ms: scaled(e, 0.0, 1.0, rng),
                    shape,
                    grudge: shape.grudge(nodes, rng),
                }
            }
        }
    }

    /// Every schedule's name, in the order `draw` numbers them.
    pub const NAMES: [&'static str; 8] = [
        "isolate-then-kill",
        "pause-then-resume",
        "kill-then-isolate-successor",
        "crash-all-during-recovery",
        "crash-during-sync",
        "restart-stale-quorum",
        "isolate-then-rejoin",
        "partition-during-sync",
    ];

    /// [`LeaderSchedule::draw`], redrawn until the schedule is one of `only` (empty: any).
    /// Names outside [`LeaderSchedule::NAMES`] must have been refused before (see
    /// [`parse_schedule_names`]); every name has a positive chance, so the loop ends.
    pub fn draw_only<R: Rng>(
        only: &[String],
        nodes: &[String],
        election_ms: u64,
        client_timeout_ms: u64,
        rng: &mut R,
    ) -> LeaderSchedule {
        loop {
            let s = LeaderSchedule::draw(nodes, election_ms, client_timeout_ms, rng);
            if only.is_empty() || only.iter().any(|n| n == s.name()) {
                return s;
            }
        }
    }

    /// `isolate-then-kill`, `pause-then-resume`, ….
    pub fn name(&self) -> &'static str {
        match self {
            LeaderSchedule::IsolateThenKill { .. } => "isolate-then-kill",
            LeaderSchedule::PauseThenResume { .. } => "pause-then-resume",
            LeaderSchedule::KillThenIsolateSuccessor { .. } => "kill-then-isolate-successor",
            LeaderSchedule::IsolateThenRejoin { .. } => "isolate-then-rejoin",
            LeaderSchedule::CrashAllDuringRecovery { .. } => "crash-all-during-recovery",
            LeaderSchedule::PartitionDuringSync { .. } => "partition-during-sync",
            LeaderSchedule::CrashDuringSync { .. } => "crash-during-sync",
            LeaderSchedule::RestartStaleQuorum { .. } => "restart-stale-quorum",
        }
    }

    /// How long the schedule's own actions may take, at most.
    pub fn duration_ms(&self) -> u64 {
        match self {
            LeaderSchedule::IsolateThenKill { kill_after_ms } => *kill_after_ms,
            LeaderSchedule::PauseThenResume { pause_ms } => *pause_ms,
            LeaderSchedule::KillThenIsolateSuccessor { wait_ms } => *wait_ms,
            LeaderSchedule::IsolateThenRejoin { wait_ms, after_ms } => wait_ms + after_ms,
            LeaderSchedule::CrashAllDuringRecovery { recover_ms } => *recover_ms,
            LeaderSchedule::PartitionDuringSync {
                down_ms, sync_ms, ..
            } => down_ms + sync_ms,
            LeaderSchedule::CrashDuringSync {
                down_ms, watch_ms, ..
            } => down_ms + watch_ms,
            LeaderSchedule::RestartStaleQuorum {
                behind_ms,
                watch_ms,
                settle_ms,
                hold_ms,
                ..
            } => behind_ms + watch_ms + settle_ms + hold_ms,
        }
    }
}

/// A comma-separated list of leader schedule names, each checked against
/// [`LeaderSchedule::NAMES`].
pub fn parse_schedule_names(list: &str) -> Result<Vec<String>, NemesisError> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !LeaderSchedule::NAMES.contains(&name) {
            return Err(NemesisError::UnknownSchedule {
                name: name.to_string(),
                known: LeaderSchedule::NAMES.join(", "),
            });
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn names_are_every_drawn_schedule_and_draw_only_keeps_to_them() {
        let nodes: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            seen.insert(LeaderSchedule::draw(&nodes, 300, 2000, &mut rng).name());
        }
        let named: std::collections::BTreeSet<&str> = LeaderSchedule::NAMES.into_iter().collect();
        assert_eq!(seen, named);
        let only =
            parse_schedule_names("isolate-then-rejoin, pause-then-resume,isolate-then-rejoin")
                .unwrap();
        assert_eq!(only, ["isolate-then-rejoin", "pause-then-resume"]);
        for _ in 0..50 {
            let s = LeaderSchedule::draw_only(&only, &nodes, 300, 2000, &mut rng);
            assert!(only.iter().any(|n| n == s.name()), "{}", s.name());
        }
        // Nothing asked for: the same draws as `draw` from the same seed.
        let mut a = rand::rngs::StdRng::seed_from_u64(5);
        let mut b = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..20 {
            assert_eq!(
                LeaderSchedule::draw_only(&[], &nodes, 300, 2000, &mut a),
                LeaderSchedule::draw(&nodes, 300, 2000, &mut b)
            );
        }
        let e = parse_schedule_names("isolate-then-rejoin,swap")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"swap\"") && e.contains("isolate-then-kill"),
            "{e}"
        );
    }

    #[test]
    fn draws_cover_every_schedule_with_times_in_election_timeouts() {
        let nodes: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut names = std::collections::BTreeSet::new();
        let mut pauses = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let s = LeaderSchedule::draw(&nodes, 1000, 4000, &mut rng);
            names.insert(s.name());
            match &s {
                LeaderSchedule::IsolateThenKill { kill_after_ms } => {
                    assert!((1500..=4000).contains(kill_after_ms))
                }
                LeaderSchedule::PauseThenResume { pause_ms } => {
                    assert!((2000..=5000).contains(pause_ms) || (4800..=10_000).contains(pause_ms));
                    pauses.insert(*pause_ms > 5000);
                }
                LeaderSchedule::KillThenIsolateSuccessor { wait_ms } => {
                    assert_eq!(*wait_ms, 10_000)
                }
                LeaderSchedule::IsolateThenRejoin { wait_ms, after_ms } => {
                    assert_eq!(*wait_ms, 10_000);
                    assert!(*after_ms <= 1000);
                }
                LeaderSchedule::CrashAllDuringRecovery { recover_ms } => {
                    assert!((100..=2000).contains(recover_ms))
                }
                LeaderSchedule::PartitionDuringSync {
                    down_ms,
                    sync_ms,
                    shape,
                    grudge,
                    ..
                } => {
                    assert!((2000..=6000).contains(down_ms) && *sync_ms <= 1000);
                    assert_eq!(grudge.is_none(), *shape == PartitionShape::IsolateLeader);
                }
                LeaderSchedule::CrashDuringSync {
                    down_ms, watch_ms, ..
                } => {
                    assert!((2000..=6000).contains(down_ms) && *watch_ms == 3000);
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
                    assert!(at_risk_bytes.is_power_of_two() && *at_risk_bytes <= 4096);
                    let mut sorted = order.clone();
                    sorted.sort();
                    assert_eq!(sorted, nodes, "a permutation of the nodes");
                    assert!((2000..=6000).contains(behind_ms));
                    assert_eq!(*watch_ms, 3000 + 12 * slow_ms);
                    assert!((100..=300).contains(slow_ms) && *settle_ms <= 4 * slow_ms);
                    assert!((2000..=6000).contains(hold_ms));
                }
            }
            assert!(s.duration_ms() >= 100);
            let j = serde_json::to_value(&s).unwrap();
            assert_eq!(serde_json::from_value::<LeaderSchedule>(j).unwrap(), s);
        }
        assert_eq!(names.len(), 8);
        assert_eq!(
            pauses.len(),
            2,
            "pauses both shorter and longer than the client timeout"
        );
    }
}
