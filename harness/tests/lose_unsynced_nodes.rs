//! raft-node and zab-node on the fault filesystem, as real processes: each node's data directory
//! is a faultfs mount; a writer keeps writing while every node is killed with SIGKILL; each mount
//! drops what its node had not fsynced (or keeps a torn prefix of it); the nodes restart from what
//! is left. Correct nodes must come back and still hold every acknowledged write; raft with
//! `--bug unsynced-ack` loses acknowledged writes. Prints "skipped: <why>" where FUSE cannot be
//! used.
//!
//! Both systems write and fsync their logs back to back, so a kill seldom finds bytes between the
//! two. To make the tail certain, each killed node's log gets what an interrupted append leaves:
//! bytes written after its last fsync (here by the test, through the mount, before the crash).
//! The crash then drops them, or keeps a random prefix of them (a torn record), and the node must
//! cut that tail on restart.

use faultfs::{CrashReport, Mount};
use harness::control::LocalCluster;
use nemeses::Cluster;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::client::call_once;

/// The two systems this test knows how to write to and read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SystemKind {
    Raft,
    Zab,
}

impl SystemKind {
    fn db(self) -> &'static dyn harness::db::System {
        harness::db::find(match self {
            SystemKind::Raft => "raft",
            SystemKind::Zab => "zab",
        })
        .unwrap()
    }
}

struct OnFaultFs {
    cluster: LocalCluster,
    mounts: Vec<Mount>,
    system: SystemKind,
}

async fn start(system: SystemKind, dir: &std::path::Path, args: &[String]) -> Option<OnFaultFs> {
    if let Err(e) = faultfs::check_available() {
        println!("skipped: {e}");
        return None;
    }
    let bin = testkit::faultline::bin_dir().join(system.db().binary().unwrap().bin());
    let cluster = LocalCluster::create(system.db(), bin, 3, dir, args)
        .await
        .unwrap();
    let mounts = cluster
        .layouts()
        .iter()
        .map(|l| Mount::new(&l.data_dir, &l.dir.join("faultfs-store")).unwrap())
        .collect();
    cluster.start_all().unwrap();
    cluster.wait_ready(Duration::from_secs(30)).await.unwrap();
    Some(OnFaultFs {
        cluster,
        mounts,
        system,
    })
}

fn write_op(system: SystemKind, i: u64) -> wire::Op {
    match system {
        SystemKind::Zab => wire::Op::Create {
            path: format!("/k{i}"),
            data: json!(i),
            sequential: false,
        },
        _ => wire::Op::Write {
            key: format!("k{i}"),
            value: json!(i),
        },
    }
}

impl OnFaultFs {
    fn addr(&self, node: &str) -> std::net::SocketAddr {
        let i = node[1..].parse::<usize>().unwrap() - 1;
        self.cluster.layouts()[i].client_addr
    }

    /// Writes distinct keys (after `from`) to the leader until `stop`; returns the acknowledged
    /// ones.
    async fn write_until(&self, from: u64, mut stop: watch::Receiver<bool>) -> Vec<u64> {
        let mut acked = Vec::new();
        let mut i = from;
        while !*stop.borrow() {
            let Some(leader) = self.cluster.find_leader().await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let addr = self.addr(&leader);
            while !*stop.borrow_and_update() {
                i += 1;
                let call = call_once(addr, write_op(self.system, i), Duration::from_secs(1));
                match tokio::select! { r = call => r, _ = stop.changed() => break } {
                    Ok(r) if r.ok => acked.push(i),
                    Ok(_) | Err(_) => break,
                }
            }
        }
        acked
    }

    /// Kills every node while a writer is busy; returns what was acknowledged before.
    async fn kill_all_during_writes(&self, from: u64) -> Vec<u64> {
        let (tx, rx) = watch::channel(false);
        let acked = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let acked = acked.clone();
            async move {
                let a = self.write_until(from, rx).await;
                *acked.lock().unwrap() = a;
            }
        };
        let killer = async {
            // Long enough for a leader elected after a restart to serve a few hundred writes.
            tokio::time::sleep(Duration::from_millis(3000)).await;
            for n in self.cluster.node_names() {
                self.cluster.kill(&n).await.unwrap();
            }
            tx.send_replace(true);
        };
        tokio::join!(writer, killer);
        let a = acked.lock().unwrap().clone();
        assert!(a.len() > 10, "too few writes acknowledged: {}", a.len());
        a
    }

    /// Appends, without fsync, a partly written record's worth of bytes to each node's log.
    fn append_unsynced_tails(&self) {
        for l in self.cluster.layouts() {
            let log = match self.system {
                SystemKind::Zab => {
                    let mut segs: Vec<_> = std::fs::read_dir(l.data_dir.join("log"))
                        .unwrap()
                        .map(|e| e.unwrap().path())
                        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("log."))
                        .collect();
                    segs.sort();
                    segs.pop().expect("a log segment")
                }
                _ => l.data_dir.join("wal"),
            };
            let tail: Vec<u8> = (0..3000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            std::io::Write::write_all(&mut f, &tail).unwrap();
        }
    }

    fn crash_all(&mut self, torn: bool) -> Vec<CrashReport> {
        (0..self.mounts.len())
            .map(|i| self.mounts[i].crash(torn.then_some(7 + i as u64)).unwrap())
            .collect()
    }

    async fn restart(&self) {
        self.cluster.start_all().unwrap();
        self.cluster
            .wait_ready(Duration::from_secs(30))
            .await
            .unwrap();
    }

    /// The value of key `i` as the leader reads it linearizably (`null` when absent).
    async fn read(&self, i: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(leader) = self.cluster.find_leader().await {
                let addr = self.addr(&leader);
                let r = match self.system {
                    SystemKind::Zab => {
                        let _ = call_once(
                            addr,
                            wire::Op::Sync { path: "/".into() },
                            Duration::from_secs(2),
                        )
                        .await;
                        call_once(
                            addr,
                            wire::Op::Get {
                                path: format!("/k{i}"),
                            },
                            Duration::from_secs(2),
                        )
                        .await
                    }
                    _ => {
                        call_once(
                            addr,
                            wire::Op::Read {
                                key: format!("k{i}"),
                            },
                            Duration::from_secs(2),
                        )
                        .await
                    }
                };
                match r {
                    Ok(r) if r.ok => {
                        let key = if self.system == SystemKind::Zab {
                            "data"
                        } else {
                            "value"
                        };
                        return r.body.get(key).cloned().unwrap_or(Value::Null);
                    }
                    Ok(r) if r.error.as_ref().is_some_and(|e| e.code == "no_node") => {
                        return Value::Null
                    }
                    _ => {}
                }
            }
            assert!(
                Instant::now() < deadline,
                "no leader answered a read of k{i}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn lost(&self, acked: &[u64]) -> Vec<u64> {
        let mut lost = Vec::new();
        for &i in acked {
            if self.read(i).await != json!(i) {
                lost.push(i);
            }
        }
        lost
    }

    fn finish(self) {
        self.cluster.stop_all(Duration::from_secs(3));
        for m in self.mounts {
            m.unmount().unwrap();
        }
    }
}

/// Crashes of every node, dropped tails then torn ones, lose no acknowledged write.
async fn correct_nodes_keep_every_acknowledged_write(system: SystemKind) {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut c) = start(system, dir.path(), &[]).await else {
        return;
    };
    for (round, torn) in [false, true].into_iter().enumerate() {
        let acked = c.kill_all_during_writes(round as u64 * 1_000_000).await;
        c.append_unsynced_tails();
        let reports = c.crash_all(torn);
        println!(
            "{system:?} torn={torn}: {} acked; crash: {reports:?}",
            acked.len()
        );
        for r in &reports {
            let f = &r.reverted[0];
            assert!(f.unsynced_bytes >= 3000, "{r:?}");
            if !torn {
                assert_eq!(f.kept_bytes, 0);
            }
        }
        c.restart().await;
        let lost = c.lost(&acked).await;
        assert!(
            lost.is_empty(),
            "{system:?} lost acknowledged writes {lost:?}"
        );
    }
    c.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_restarts_from_dropped_and_torn_tails_without_losing_acknowledged_writes() {
    correct_nodes_keep_every_acknowledged_write(SystemKind::Raft).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zab_restarts_from_dropped_and_torn_tails_without_losing_acknowledged_writes() {
    correct_nodes_keep_every_acknowledged_write(SystemKind::Zab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_with_unsynced_ack_loses_acknowledged_writes_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let args = vec!["--bug=unsynced-ack".to_string()];
    let Some(mut c) = start(SystemKind::Raft, dir.path(), &args).await else {
        return;
    };
    let acked = c.kill_all_during_writes(0).await;
    c.crash_all(true);
    c.restart().await;
    let lost = c.lost(&acked).await;
    println!("unsynced-ack: {} acked, {} lost", acked.len(), lost.len());
    // Acknowledged in the last half second before the crash and never made durable anywhere.
    assert!(!lost.is_empty(), "the bug lost nothing");
    c.finish();
}
