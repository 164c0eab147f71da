//! Control of real raft-node processes: start, wait ready, pause/resume, kill/restart, and
//! partitions through the proxy, observed with the status op.

use harness::control::LocalCluster;
use nemeses::{Cluster, Grudge};
use std::time::{Duration, Instant};

async fn cluster(n: usize, dir: &std::path::Path) -> LocalCluster {
    let bin = testkit::faultline::bin_dir().join("raft-node");
    let c = LocalCluster::create(harness::db::find("raft").unwrap(), bin, n, dir, &[])
        .await
        .unwrap();
    c.start_all().unwrap();
    c.wait_ready(Duration::from_secs(20)).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_kill_and_restart_are_visible_through_status() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(3, dir.path()).await;
    let l = c.layouts().to_vec();
    assert_eq!(l.len(), 3);
    // Each node has its own loopback address and directories.
    assert_ne!(l[0].host, l[1].host);
    assert!(l[2].data_dir.starts_with(dir.path().join("nodes/n3")));

    c.pause("n2").await.unwrap();
    assert!(
        c.status(1, Duration::from_millis(400)).await.is_err(),
        "a paused node answered"
    );
    c.resume("n2").await.unwrap();
    assert!(c.status(1, Duration::from_secs(5)).await.is_ok());

    let pids = c.pids();
    c.kill("n3").await.unwrap();
    assert!(!c.is_running(2));
    assert!(c.status(2, Duration::from_millis(400)).await.is_err());
    c.start("n3").await.unwrap();
    assert!(c.is_running(2));
    assert_ne!(c.pids(), pids);
    c.wait_ready(Duration::from_secs(20)).await.unwrap();
    let log = std::fs::read_to_string(&l[2].log_path).unwrap();
    assert!(log.contains("kill -9") && log.contains("start #2"), "{log}");

    let before = c.pids();
    c.restart_all(Duration::from_secs(3)).unwrap();
    let after = c.pids();
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|p| !before.contains(p)));
    c.wait_ready(Duration::from_secs(20)).await.unwrap();

    c.stop_all(Duration::from_secs(3));
    for i in 0..3 {
        assert!(!c.is_running(i));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolating_the_leader_through_the_proxy_elects_another() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(3, dir.path()).await;
    let leader = c.leader().await.expect("a leader");
    let names = c.node_names();
    let others: Vec<String> = names.iter().filter(|n| **n != leader).cloned().collect();
    c.set_grudge(&Grudge::complete(&[vec![leader.clone()], others.clone()]))
        .await
        .unwrap();
    // The majority side elects a leader of its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    let new_leader = loop {
        let st = c.statuses(Duration::from_millis(500)).await;
        let found = names.iter().enumerate().find(|(i, n)| {
            others.contains(n)
                && st[*i]
                    .as_ref()
                    .is_some_and(|s| s.role == wire::Role::Leader)
        });
        if let Some((_, n)) = found {
            break n.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no leader among {others:?} while {leader} was isolated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(new_leader, leader);
    c.set_grudge(&Grudge::none()).await.unwrap();
    c.wait_ready(Duration::from_secs(20)).await.unwrap();
    c.stop_all(Duration::from_secs(3));
}
