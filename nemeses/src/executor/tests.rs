//! The executor against a cluster that records what is done to it and elects, as its leader,
//! the first node of a preference order that is running, not paused and not cut off (the real
//! cluster is exercised by the harness's tests with real processes).

use super::*;
use crate::{ClockChange, ClusterError, Flaky, LeaderSchedule, PartitionShape, Slow, Step};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Default)]
struct State {
    actions: Vec<String>,
    down: BTreeSet<String>,
    paused: BTreeSet<String>,
    grudge: Grudge,
    rules: Vec<LinkRule>,
    /// Nodes with an fsync waiting on a slow disk, and their bytes not yet durable.
    syncing: std::collections::BTreeMap<String, u64>,
}

struct Recorded {
    state: Mutex<State>,
    /// Who leads: the first of these that is up, not paused, and hears from a majority.
    preference: Vec<String>,
}

impl Recorded {
    fn new(preference: &[&str]) -> Self {
        Recorded {
            state: Mutex::default(),
            preference: preference.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn act(&self, a: String) {
        self.state.lock().unwrap().actions.push(a);
    }
    fn actions(&self) -> Vec<String> {
        self.state.lock().unwrap().actions.clone()
    }
}

impl Cluster for Recorded {
    fn node_names(&self) -> Vec<String> {
        (1..=5).map(|i| format!("n{i}")).collect()
    }
    async fn set_grudge(&self, g: &Grudge) -> Result<(), ClusterError> {
        self.act(format!("grudge {}", g.links().len()));
        self.state.lock().unwrap().grudge = g.clone();
        Ok(())
    }
    async fn kill(&self, n: &str) -> Result<(), ClusterError> {
        self.act(format!("kill {n}"));
        self.state.lock().unwrap().down.insert(n.to_string());
        Ok(())
    }
    async fn start(&self, n: &str) -> Result<(), ClusterError> {
        if self.state.lock().unwrap().down.remove(n) {
            self.act(format!("start {n}"));
        }
        Ok(())
    }
    async fn pause(&self, n: &str) -> Result<(), ClusterError> {
        self.act(format!("pause {n}"));
        self.state.lock().unwrap().paused.insert(n.to_string());
        Ok(())
    }
    async fn resume(&self, n: &str) -> Result<(), ClusterError> {
        if self.state.lock().unwrap().paused.remove(n) {
            self.act(format!("resume {n}"));
        }
        Ok(())
    }
    async fn leader(&self) -> Option<String> {
        let s = self.state.lock().unwrap();
        let names = self.node_names();
        self.preference
            .iter()
            .find(|n| {
                !s.down.contains(*n)
                    && !s.paused.contains(*n)
                    && s.grudge.visible_from(n, &names).len() > names.len() / 2
            })
            .cloned()
    }
    async fn lose_unsynced(&self, n: &str, torn: Option<u64>) -> Result<Value, ClusterError> {
        // Like the real one: the node is killed, then its disk crashes.
        self.act(format!("lose {n} torn={}", torn.is_some()));
        self.state.lock().unwrap().down.insert(n.to_string());
        Ok(json!({"files": 1}))
    }
    async fn slow_disk(&self, n: &str, d: Option<Duration>) -> Result<(), ClusterError> {
        match d {
            Some(d) => self.act(format!("slow {n} {}", d.as_millis())),
            None => self.act(format!("fast {n}")),
        }
        Ok(())
    }
    async fn unsynced_while_syncing(&self, n: &str) -> Option<u64> {
        let s = self.state.lock().unwrap();
        s.syncing.get(n).copied().filter(|_| !s.down.contains(n))
    }
    async fn set_clock(&self, n: &str, c: Option<&ClockChange>) -> Result<String, ClusterError> {
        self.act(format!("clock {n} {}", c.map_or("right", |c| c.name())));
        Ok("+0".into())
    }
    async fn set_link_faults(&self, rules: &[LinkRule]) -> Result<(), ClusterError> {
        self.act(format!("links {}", rules.len()));
        self.state.lock().unwrap().rules = rules.to_vec();
        Ok(())
    }
}

#[derive(Default)]
struct Log(Mutex<Vec<(String, Value, Option<String>)>>);
impl NemesisLog for Log {
    fn record(&self, f: &str, v: Value, e: Option<String>) {
        self.0.lock().unwrap().push((f.to_string(), v, e));
    }
}
impl Log {
    fn fs(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|e| e.0.clone()).collect()
    }
    fn get(&self, f: &str) -> Value {
        let l = self.0.lock().unwrap();
        l.iter().find(|e| e.0 == f).map(|e| e.1.clone()).unwrap()
    }
}

fn nemesis(kinds: &[FaultKind]) -> Nemesis {
    let nodes: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
    Nemesis::new(Plan::generate(kinds, &nodes, 1, 10, 10))
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn leader_faults_resolve_at_run_time_and_heal_undoes_them() {
    let c = Recorded::new(&["n3"]);
    let log = Log::default();
    let mut n = nemesis(&[]);
    let kill = Fault::Kill {
        target: NodeTarget::Leader,
        nodes: NodeChoice::Leader,
        restart: Restart::Together,
    };
    n.inject(&c, &log, &kill).await;
    let part = Fault::Partition {
        shape: PartitionShape::IsolateLeader,
        grudge: None,
    };
    n.inject(&c, &log, &part).await;
    n.heal_all(&c, &log).await;
    let acts = c.actions();
    assert_eq!(&acts[..4], &["kill n3", "start n3", "grudge 8", "grudge 0"]);
    assert_eq!(
        log.fs(),
        [
            "kill",
            "restart",
            "start-partition",
            "stop-partition",
            "heal-all"
        ]
    );
    assert_eq!(log.get("kill")["nodes"], json!(["n3"]));
}

#[tokio::test]
async fn missing_leader_is_journaled_as_an_error() {
    let c = Recorded::new(&[]);
    let log = Log::default();
    let mut n = nemesis(&[FaultKind::Pause]);
    let pause = Fault::Pause {
        target: NodeTarget::Leader,
        nodes: NodeChoice::Leader,
        restart: Restart::Together,
    };
    n.inject(&c, &log, &pause).await;
    assert!(c.actions().is_empty());
    let l = log.0.lock().unwrap();
    assert!(l[0].2.as_deref().unwrap().contains("leader"));
}

#[tokio::test]
async fn leader_and_majority_kills_three_and_staggered_restarts_are_spaced() {
    let c = Recorded::new(&["n4"]);
    let log = Log::default();
    let mut n = nemesis(&[]);
    let kill = Fault::Kill {
        target: NodeTarget::LeaderAndMajority,
        nodes: NodeChoice::LeaderPlus {
            others: names(&["n4", "n2", "n5", "n1", "n3"]),
            count: 2,
        },
        restart: Restart::Staggered { gap_ms: 60 },
    };
    n.inject(&c, &log, &kill).await;
    assert_eq!(log.get("kill")["nodes"], json!(["n2", "n4", "n5"]));
    let t = Instant::now();
    n.heal(&c, &log).await;
    assert!(
        t.elapsed() >= Duration::from_millis(120),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(log.fs(), ["kill", "restart", "restart", "restart"]);
    let l = log.0.lock().unwrap();
    assert_eq!(l[1].1["nodes"], json!(["n2"]));
    assert_eq!(l[3].1["nodes"], json!(["n5"]));
    assert_eq!(l[3].1["staggered_ms"], json!(60));
}

#[tokio::test]
async fn lose_unsynced_crashes_every_target_by_its_own_crash_and_restarts_on_heal() {
    let c = Recorded::new(&["n1"]);
    let log = Log::default();
    let mut n = nemesis(&[]);
    let f = Fault::LoseUnsynced {
        target: NodeTarget::Majority,
        nodes: NodeChoice::Nodes(names(&["n1", "n2", "n3"])),
        restart: Restart::Together,
        torn: Some(5),
    };
    n.inject(&c, &log, &f).await;
    n.heal(&c, &log).await;
    assert_eq!(
        c.actions(),
        [
            "lose n1 torn=true",
            "lose n2 torn=true",
            "lose n3 torn=true",
            "start n1",
            "start n2",
            "start n3"
        ]
    );
    assert_eq!(log.fs(), ["start-lose-unsynced", "stop-lose-unsynced"]);
    let v = log.get("start-lose-unsynced");
    assert_eq!(v["torn"], json!(true));
    assert_eq!(v["dropped"]["n2"], json!({"files": 1}));
}

#[tokio::test]
async fn clock_and_link_faults_are_journaled_with_parameters_and_healed() {
    let c = Recorded::new(&["n1"]);
    let log = Log::default();
    let mut n = nemesis(&[FaultKind::Clock, FaultKind::SlowLink]);
    let clock = Fault::Clock {
        target: NodeTarget::Minority,
        nodes: NodeChoice::Nodes(names(&["n2", "n5"])),
        changes: vec![
            ClockChange::Jump { offset_ms: -5000 },
            ClockChange::Skew {
                rate_permille: 2000,
            },
        ],
    };
    n.inject(&c, &log, &clock).await;
    let slow = Slow {
        delay_ms: 40,
        jitter_ms: 5,
        bytes_per_sec: None,
    };
    let links = Grudge::complete(&[names(&["n1"]), names(&["n2", "n3", "n4", "n5"])]);
    let f = Fault::SlowLink {
        shape: PartitionShape::IsolateOne,
        links: Some(links),
        up: slow,
        down: Slow {
            delay_ms: 7,
            ..slow
        },
    };
    n.inject(&c, &log, &f).await;
    {
        let s = c.state.lock().unwrap();
        assert_eq!(s.rules.len(), 2);
        assert!(s.rules[0].links.blocks("n1", "n2") && s.rules[1].links.blocks("n2", "n1"));
        assert_eq!(s.rules[1].fault.slow.unwrap().delay_ms, 7);
    }
    let flaky = Fault::FlakyLink {
        shape: PartitionShape::IsolateLeader,
        links: None,
        flaky: Flaky { reset_mean_ms: 99 },
    };
    n.inject(&c, &log, &flaky).await;
    n.heal_all(&c, &log).await;
    assert_eq!(
        log.fs(),
        [
            "start-clock",
            "stop-clock",
            "start-slow-link",
            "stop-slow-link",
            "start-flaky-link",
            "stop-flaky-link",
            "heal-all"
        ]
    );
    let v = log.get("start-clock");
    assert_eq!(v["changes"]["n5"]["change"], json!("skew"));
    assert_eq!(v["changes"]["n2"]["offset_ms"], json!(-5000));
    assert_eq!(log.get("start-slow-link")["up"]["delay_ms"], json!(40));
    let v = log.get("start-flaky-link");
    assert_eq!(
        (v["count"].clone(), v["reset_mean_ms"].clone()),
        (json!(8), json!(99))
    );
    assert!(c.actions().contains(&"clock n5 right".to_string()));
}

async fn schedule(c: &Recorded, s: LeaderSchedule, crash: Crash) -> (Vec<String>, Log) {
    let log = Log::default();
    let mut n = nemesis(&[]);
    n.inject(c, &log, &Fault::Leader { schedule: s, crash })
        .await;
    n.heal(c, &log).await;
    (c.actions(), log)
}

#[tokio::test]
async fn isolate_then_kill_cuts_the_leader_off_then_kills_it() {
    let c = Recorded::new(&["n2", "n3"]);
    let s = LeaderSchedule::IsolateThenKill { kill_after_ms: 30 };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    assert_eq!(acts, ["grudge 8", "kill n2", "grudge 0", "start n2"]);
    assert_eq!(
        log.fs(),
        [
            "start-leader",
            "start-partition",
            "kill",
            "stop-partition",
            "restart",
            "stop-leader"
        ]
    );
    assert_eq!(log.get("start-leader")["leader"], json!("n2"));
}

#[tokio::test]
async fn pause_then_resume_holds_the_leader_for_the_drawn_time() {
    let c = Recorded::new(&["n5"]);
    let t = Instant::now();
    let s = LeaderSchedule::PauseThenResume { pause_ms: 80 };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    assert!(t.elapsed() >= Duration::from_millis(80));
    assert_eq!(acts, ["pause n5", "resume n5"]);
    assert_eq!(log.fs(), ["start-leader", "pause", "resume", "stop-leader"]);
}

#[tokio::test]
async fn kill_then_isolate_successor_isolates_the_next_leader() {
    let c = Recorded::new(&["n1", "n4"]);
    let s = LeaderSchedule::KillThenIsolateSuccessor { wait_ms: 500 };
    let (acts, log) = schedule(&c, s, Crash::LoseUnsynced { torn: None }).await;
    assert_eq!(
        acts,
        ["lose n1 torn=false", "grudge 8", "grudge 0", "start n1"]
    );
    let cut = log.get("start-partition");
    assert_eq!(cut["kind"], json!("isolate-successor"));
    assert!(cut["grudge"]["n4"].is_array(), "{cut}");
}

#[tokio::test]
async fn isolate_then_rejoin_heals_the_cut_once_a_successor_leads() {
    let c = Recorded::new(&["n1", "n4"]);
    let t = Instant::now();
    let s = LeaderSchedule::IsolateThenRejoin {
        wait_ms: 500,
        after_ms: 40,
    };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    assert!(t.elapsed() >= Duration::from_millis(40));
    // The cut isolates one node of five (4 + 4 blocked links); its connections are reset
    // (one flaky rule, then none), and the rejoin heals the cut.
    assert_eq!(
        acts,
        ["grudge 8", "links 1", "links 0", "grudge 0", "grudge 0"]
    );
    assert_eq!(
        log.fs(),
        [
            "start-leader",
            "start-partition",
            "reset-links",
            "start-partition",
            "stop-partition",
            "stop-leader"
        ]
    );
    assert_eq!(log.get("reset-links")["node"], json!("n1"));
    assert!(
        c.state.lock().unwrap().rules.is_empty(),
        "the links are sound again"
    );
    // No successor: the old leader stays cut off until the heal, and the journal says why.
    let c = Recorded::new(&["n1"]);
    let s = LeaderSchedule::IsolateThenRejoin {
        wait_ms: 60,
        after_ms: 0,
    };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    assert_eq!(acts, ["grudge 8", "grudge 0"]);
    assert_eq!(
        log.fs().iter().filter(|f| *f == "start-partition").count(),
        2
    );
}

#[tokio::test]
async fn crash_all_during_recovery_crashes_every_node_twice() {
    let c = Recorded::new(&["n1"]);
    let s = LeaderSchedule::CrashAllDuringRecovery { recover_ms: 20 };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    assert_eq!(acts.iter().filter(|a| a.starts_with("kill")).count(), 10);
    assert_eq!(acts.iter().filter(|a| a.starts_with("start")).count(), 10);
    assert_eq!(
        log.fs(),
        [
            "start-leader",
            "kill",
            "restart",
            "kill",
            "restart",
            "stop-leader"
        ]
    );
}

#[tokio::test]
async fn restart_stale_quorum_brings_back_the_stale_minority_then_only_it_and_the_old_leader() {
    let c = Recorded::new(&["n1", "n2", "n3"]);
    let s = LeaderSchedule::RestartStaleQuorum {
        order: names(&["n1", "n4", "n5", "n2", "n3"]),
        behind_ms: 10,
        slow_ms: 250,
        watch_ms: 20,
        at_risk_bytes: 64,
        settle_ms: 5,
        hold_ms: 10,
    };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    assert_eq!(
        acts,
        [
            // n4 and n5 fall behind, then the leader n1 crashes.
            "kill n4",
            "kill n5",
            "kill n1",
            // They come back, alone, on slow disks: n2 leads them.
            "slow n4 250",
            "slow n5 250",
            "start n4",
            "start n5",
            // Everything running crashes in their synchronization ...
            "kill n2",
            "kill n3",
            "kill n4",
            "kill n5",
            // ... and only the old leader and the stale nodes start.
            "start n1",
            "start n4",
            "start n5",
            // The heal: fast disks, then the others.
            "fast n4",
            "fast n5",
            "start n2",
            "start n3",
        ]
    );
    assert_eq!(
        log.fs(),
        [
            "start-leader",
            "kill",
            "kill",
            "start-slow-disk",
            "restart",
            "sync-watch",
            "kill",
            "restart",
            "stop-slow-disk",
            "restart",
            "stop-leader"
        ]
    );
    assert_eq!(log.get("sync-watch")["trigger"], json!("none"));
    assert_eq!(log.get("start-slow-disk")["sync_delay_ms"], json!(250));
}

#[tokio::test]
async fn restart_stale_quorum_with_lost_writes_crashes_by_lose_unsynced_throughout() {
    let c = Recorded::new(&["n3"]);
    // n1 waits on an fsync with too little at risk; n2 with enough.
    c.state.lock().unwrap().syncing = [("n1".to_string(), 10), ("n2".to_string(), 100)].into();
    let s = LeaderSchedule::RestartStaleQuorum {
        order: names(&["n2", "n3", "n1", "n4", "n5"]),
        behind_ms: 5,
        slow_ms: 100,
        watch_ms: 10_000,
        at_risk_bytes: 64,
        settle_ms: 0,
        hold_ms: 5,
    };
    let (acts, log) = schedule(&c, s, Crash::LoseUnsynced { torn: Some(7) }).await;
    let lost: Vec<&String> = acts.iter().filter(|a| a.starts_with("lose")).collect();
    assert_eq!(lost.len(), 2 + 1 + 4, "{acts:?}");
    assert!(acts.iter().all(|a| !a.starts_with("kill")), "{acts:?}");
    let quorum: Vec<&String> = acts
        .iter()
        .skip_while(|a| *a != "lose n5 torn=true")
        .filter(|a| a.starts_with("start"))
        .take(3)
        .collect();
    assert_eq!(quorum, ["start n3", "start n2", "start n1"]);
    // The node caught in its fsync crashes first, then every other running node.
    let second: Vec<&String> = acts
        .iter()
        .skip_while(|a| *a != "lose n3 torn=true")
        .filter(|a| a.starts_with("lose"))
        .skip(1)
        .collect();
    assert_eq!(
        second,
        [
            "lose n2 torn=true",
            "lose n1 torn=true",
            "lose n4 torn=true",
            "lose n5 torn=true"
        ]
    );
    let w = log.get("sync-watch");
    assert_eq!(
        (
            w["trigger"].clone(),
            w["node"].clone(),
            w["unsynced_bytes"].clone()
        ),
        (json!("fsync"), json!("n2"), json!(100))
    );
    assert!(w["after_ms"].as_u64().unwrap() < 5000, "{w}");
    assert_eq!(log.get("start-leader")["leader"], json!("n3"));
}

#[tokio::test]
async fn partition_during_sync_cuts_right_after_the_lagging_node_returns() {
    let c = Recorded::new(&["n1", "n2"]);
    let s = LeaderSchedule::PartitionDuringSync {
        nodes: NodeChoice::Leader,
        down_ms: 30,
        sync_ms: 10,
        shape: PartitionShape::IsolateLeader,
        grudge: None,
    };
    let (acts, log) = schedule(&c, s, Crash::Kill).await;
    // n1 comes back and (in this cluster) leads again at once: it is the one isolated.
    assert_eq!(acts, ["kill n1", "start n1", "grudge 8", "grudge 0"]);
    assert_eq!(
        log.fs(),
        [
            "start-leader",
            "kill",
            "restart",
            "start-partition",
            "stop-partition",
            "stop-leader"
        ]
    );
}

#[tokio::test]
async fn run_follows_the_plan_until_stopped_and_stop_cuts_waits_short() {
    let c = Recorded::new(&["n1"]);
    let log = Log::default();
    let plan = Plan::generate(&[FaultKind::Kill], &c.node_names(), 5, 20, 200);
    let mut n = Nemesis::new(plan);
    let (_tx, rx) = watch::channel(false);
    n.run(&c, &log, Instant::now(), rx).await;
    let recs = log.0.lock().unwrap().clone();
    assert!(recs.len() >= 8, "{recs:?}");
    assert!(recs.iter().any(|r| r.0 == "restart"));

    // A long pause of the leader ends as soon as the run is stopped.
    let plan = Plan {
        kinds: vec![FaultKind::Leader],
        interval_ms: 10,
        election_timeout_ms: 10,
        steps: vec![Step {
            at_ms: 0,
            action: StepAction::Fault(Fault::Leader {
                schedule: LeaderSchedule::PauseThenResume { pause_ms: 60_000 },
                crash: Crash::Kill,
            }),
        }],
    };
    let mut n = Nemesis::new(plan);
    let (tx, rx) = watch::channel(false);
    let t = Instant::now();
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send_replace(true);
    };
    tokio::join!(n.run(&c, &log, Instant::now(), rx), stopper);
    n.heal_all(&c, &log).await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(c.state.lock().unwrap().paused.is_empty());
}
