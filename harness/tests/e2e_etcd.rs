//! etcd (Debian's etcd-server) as a system under test: `faultline test --system etcd` runs, and a
//! cluster driven directly to show that its peer traffic really goes through the proxy (a cut-off
//! member sees no writes) and that the proxy names members as etcd does.
//!
//! Where etcd is not installed each test prints "skipped: etcd not installed (apt-get install
//! etcd-server)" and returns.

use harness::control::LocalCluster;
use harness::db::PeerRouting;
use histories::{Event, EventType};
use nemeses::{Cluster, Grudge};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use testkit::faultline::{describe, faultline, results};
use workloads::client::{Client, EtcdClient};

/// The directory holding the etcd program, if it is installed.
fn etcd_dir() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("etcd").is_file())
}

macro_rules! etcd_or_skip {
    () => {
        match etcd_dir() {
            Some(d) => d,
            None => {
                println!("skipped: etcd not installed (apt-get install etcd-server)");
                return;
            }
        }
    };
}

/// Runs `faultline test --system etcd` with `args` in `store`; the output and the run directory.
fn run_etcd(bin_dir: &Path, store: &Path, args: &[&str]) -> (Output, PathBuf) {
    let out = Command::new(faultline())
        .arg("test")
        .arg("--store")
        .arg(store)
        .arg("--bin-dir")
        .arg(bin_dir)
        .args(["--system", "etcd", "--nodes", "3"])
        .args(args)
        .output()
        .expect("faultline runs");
    let run = std::fs::canonicalize(store.join("latest")).expect("store/latest points at the run");
    (out, run)
}

fn history(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn nemesis_starts(h: &[Value], kinds: &[&str]) -> usize {
    h.iter()
        .filter(|e| e["process"] == "nemesis" && kinds.contains(&e["f"].as_str().unwrap_or("")))
        .count()
}

#[test]
fn etcd_register_under_partition_and_kill_is_linearizable() {
    let dir = etcd_or_skip!();
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_etcd(
        &dir,
        store.path(),
        &[
            "--workload",
            "register",
            "--nemesis",
            "partition,kill",
            "--nemesis-interval",
            "2",
            "--time-limit",
            "14",
            "--concurrency",
            "6",
            "--rate",
            "120",
            "--seed",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    assert_eq!(r["checkers"]["linearizable"]["valid"], Value::Bool(true));
    assert!(
        r["summary"]["by_f"]["write"]["ok"].as_u64().unwrap() > 50,
        "{r}"
    );
    let h = history(&run);
    assert!(nemesis_starts(&h, &["start-partition", "kill"]) >= 3);
    // Server metadata is kept: every ok write carries the revision it created.
    let writes: Vec<&Value> = h
        .iter()
        .filter(|e| e["type"] == "ok" && e["f"] == "write")
        .collect();
    assert!(writes
        .iter()
        .all(|e| e["revision"].as_u64().is_some_and(|r| r > 1)));
}

#[test]
fn etcd_serializable_reads_under_partitions() {
    let dir = etcd_or_skip!();
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_etcd(
        &dir,
        store.path(),
        &[
            "--workload",
            "register",
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "2",
            "--time-limit",
            "14",
            "--concurrency",
            "6",
            "--rate",
            "120",
            "--seed",
            "2",
            "--etcd-serializable-reads",
        ],
    );
    // Stale reads may or may not be found in one short run; what is found is printed.
    let r = results(&run);
    println!(
        "etcd serializable reads under partitions: exit {:?}, linearizable {}, sequential {}",
        out.status.code(),
        r["checkers"]["linearizable"]["valid"],
        r["checkers"]["sequential"]["valid"]
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        describe(&out)
    );
    // A member answers serializable reads from its own applied state: each client stays on one
    // member, whose state only moves forward along the one log, so the history stays
    // sequentially consistent even where it is not linearizable.
    assert_eq!(
        r["checkers"]["sequential"]["valid"],
        Value::Bool(true),
        "{r}"
    );
    // Reads went on during partitions, answered by members on both sides.
    let h = history(&run);
    assert!(nemesis_starts(&h, &["start-partition"]) >= 3);
    let test: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    assert_eq!(test["etcd_serializable_reads"], Value::Bool(true), "{test}");
}

/// The nemeses for the set test: kill, and lose-unsynced (etcd's data directory on faultfs, its
/// bbolt file memory-mapped there) where FUSE can be used.
fn kill_and_lose_unsynced() -> &'static str {
    match faultfs::check_available() {
        Ok(()) => "kill,lose-unsynced",
        Err(e) => {
            println!("lose-unsynced skipped (kill only): {e}");
            "kill"
        }
    }
}

#[test]
fn etcd_set_under_kill_and_lose_unsynced_loses_no_acknowledged_add() {
    let dir = etcd_or_skip!();
    let store = tempfile::tempdir().unwrap();
    let nemesis = kill_and_lose_unsynced();
    let (out, run) = run_etcd(
        &dir,
        store.path(),
        &[
            "--workload",
            "set",
            "--nemesis",
            nemesis,
            "--nemesis-interval",
            "2",
            "--time-limit",
            "12",
            "--concurrency",
            "6",
            "--rate",
            "120",
            "--seed",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    assert_eq!(r["valid"], Value::Bool(true), "{r}");
    let h = history(&run);
    assert!(nemesis_starts(&h, &["kill", "start-lose-unsynced"]) >= 2);
    if nemesis.contains("lose") {
        assert!(
            nemesis_starts(&h, &["start-lose-unsynced"]) >= 1,
            "no lose-unsynced fault"
        );
    }
    // Every member came back after every crash: none refused to start (a member whose data
    // directory a crash erased logs "member … has already been bootstrapped" and exits).
    for n in ["n1", "n2", "n3"] {
        let log = std::fs::read_to_string(run.join("nodes").join(n).join("node.log")).unwrap();
        let fatal: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("\"level\":\"fatal\"") || l.contains("\"level\":\"panic\""))
            .collect();
        assert!(fatal.is_empty(), "{n} failed: {fatal:?}");
    }
    // The final read saw every acknowledged add (what the set checker judged, checked here
    // from the history too).
    let acked: std::collections::BTreeSet<u64> = h
        .iter()
        .filter(|e| e["type"] == "ok" && e["f"] == "add")
        .map(|e| e["value"].as_u64().unwrap())
        .collect();
    let last_read = h
        .iter()
        .rev()
        .find(|e| e["type"] == "ok" && e["f"] == "read")
        .expect("a final read");
    let seen: std::collections::BTreeSet<u64> = last_read["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(acked.len() > 100, "{} adds acknowledged", acked.len());
    let lost: Vec<_> = acked.difference(&seen).collect();
    assert!(lost.is_empty(), "acknowledged adds lost: {lost:?}");
}

fn read_inv(key: &str) -> Event {
    Event::invoke(0, "read", Some(key.into()), Value::Null)
}

fn write_inv(key: &str, v: u64) -> Event {
    Event::invoke(0, "write", Some(key.into()), json!(v))
}

/// A member cut off by the proxy sees no write made on the majority side, and catches up after
/// the heal; the proxy's sender ids are the member ids etcd itself reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_etcd_member_sees_no_writes_until_the_heal() {
    let dir = etcd_or_skip!();
    let run = tempfile::tempdir().unwrap();
    let system = harness::db::find("etcd").unwrap();
    let cluster = LocalCluster::create(system, dir.join("etcd"), 3, run.path(), &[])
        .await
        .unwrap();
    cluster.start_all().unwrap();
    cluster.wait_ready(Duration::from_secs(20)).await.unwrap();

    // The proxy's ids are etcd's: each member's own id, as its status reports it.
    let PeerRouting::SharedByHeader { sender_ids, .. } = system.peer_routing() else {
        panic!("etcd routes peers by header");
    };
    let shared: Vec<_> = (0..3)
        .map(|i| cluster.proxy().shared_address(i).unwrap())
        .collect();
    let ids = sender_ids(&shared);
    for (i, st) in cluster
        .statuses(Duration::from_secs(2))
        .await
        .iter()
        .enumerate()
    {
        let st = st.as_ref().expect("every member answers status");
        assert_eq!(st.extra["member_id"], json!(ids[i]), "member n{}", i + 1);
        assert_eq!(st.node.to_string(), format!("n{}", i + 1));
    }

    let endpoints = cluster.endpoints();
    let client = |i: usize, serializable: bool| {
        EtcdClient::new(endpoints[i].clone(), Duration::from_secs(1), serializable)
    };
    let mut on_n1 = client(0, false);
    let mut n3_local = client(2, true);
    let done = on_n1.invoke(&write_inv("x", 1)).await;
    assert_eq!(done.kind, EventType::Ok, "{done:?}");
    // n3 has it before the partition.
    let deadline = Instant::now() + Duration::from_secs(5);
    while n3_local.invoke(&read_inv("x")).await.value != json!(1) {
        assert!(Instant::now() < deadline, "n3 never saw the first write");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let cut = Grudge::complete(&[vec!["n3".into()], vec!["n1".into(), "n2".into()]]);
    cluster.set_grudge(&cut).await.unwrap();
    // The majority still commits (after an election if n3 led).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut i = 2;
    loop {
        let done = on_n1.invoke(&write_inv("x", i)).await;
        if done.kind == EventType::Ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the majority never committed: {done:?}"
        );
        i += 1;
    }
    // n3 answers from its own state, and that state never moves: for 3 s it reads 1.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let r = n3_local.invoke(&read_inv("x")).await;
        assert_eq!(r.value, json!(1), "the cut-off member saw a write: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A linearizable read on n3 cannot be served.
    let lin = client(2, false).invoke(&read_inv("x")).await;
    assert_ne!(lin.kind, EventType::Ok, "{lin:?}");

    cluster.set_grudge(&Grudge::none()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = n3_local.invoke(&read_inv("x")).await;
        if r.value == json!(i) {
            break;
        }
        assert!(Instant::now() < deadline, "n3 never caught up: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.stop_all(Duration::from_secs(5));
}
