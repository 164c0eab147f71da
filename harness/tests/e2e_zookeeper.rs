//! End-to-end runs of `faultline test --system zookeeper` against real ZooKeeper ensembles
//! (Debian's `zookeeper` package: java and /usr/share/java/zookeeper.jar). On a machine without
//! it each run prints that it was skipped and why, and returns.

use serde_json::Value;
use std::path::Path;
use testkit::faultline::*;

/// Whether ZooKeeper is installed here; prints the skip line when it is not.
fn zookeeper_installed() -> bool {
    let java = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("java").is_file()))
        .unwrap_or(false);
    let ok = java && Path::new("/usr/share/java/zookeeper.jar").is_file();
    if !ok {
        println!("skipped: zookeeper not installed (apt-get install zookeeper)");
    }
    ok
}

/// The nemesis events of a run's history.
fn nemesis_events(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["process"] == "nemesis")
        .collect()
}

/// Local reads under partitions and crashes: ZooKeeper promises sequential consistency (the
/// zookeeper model) and not linearizability, so the linearizable verdict is only reported.
#[test]
fn zookeeper_register_under_partition_kill_satisfies_the_zookeeper_model() {
    if !zookeeper_installed() {
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "zookeeper",
            "--workload",
            "register",
            "--nemesis",
            "partition,kill",
            "--nodes",
            "3",
            "--concurrency",
            "6",
            "--time-limit",
            "14",
            "--nemesis-interval",
            "3",
            "--rate",
            "120",
            "--seed",
            "5",
        ],
    );
    let code = out.status.code();
    assert!(code == Some(0) || code == Some(1), "{}", describe(&out));
    let r = results(&run);
    let zk = &r["checkers"]["zookeeper"];
    assert_eq!(zk["valid"], Value::Bool(true), "{r}");
    assert_eq!(
        r["checkers"]["sequential"]["valid"],
        Value::Bool(true),
        "{r}"
    );
    println!(
        "linearizable: {} (zookeeper model: {})",
        r["checkers"]["linearizable"]["valid"], zk["valid"]
    );
    let by_f = &r["summary"]["by_f"];
    assert!(by_f["write"]["ok"].as_u64().unwrap() > 30, "{r}");
    assert!(by_f["read"]["ok"].as_u64().unwrap() > 30, "{r}");
    // Updates carry the zxid ZooKeeper gave them, reads the version they saw.
    let h = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let oks: Vec<Value> = h
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "ok")
        .collect();
    assert!(oks
        .iter()
        .filter(|e| e["f"] == "write")
        .all(|e| e["zxid"].as_i64().is_some_and(|z| z > 0) && e["version"].is_i64()));
    assert!(oks
        .iter()
        .any(|e| e["f"] == "read" && e["version"].is_i64() && e["mzxid"].is_i64()));
    // The faults happened: the partition and the kills, then the final heal and restart.
    let nemesis = nemesis_events(&run);
    assert!(
        nemesis.iter().any(|e| e["f"] == "start-partition"),
        "{nemesis:?}"
    );
    assert!(nemesis.iter().any(|e| e["f"] == "kill"), "{nemesis:?}");
    let restart = nemesis
        .iter()
        .rfind(|e| e["f"] == "restart-all")
        .expect("the final restart is journaled");
    assert!(restart.get("error").is_none(), "{restart:?}");
    // Each node ran as its own JVM from its own zoo.cfg, peers through the proxy.
    let cfg = std::fs::read_to_string(run.join("nodes/n1/zoo.cfg")).unwrap();
    assert!(cfg.contains("server.2=127.0.0.1:"), "{cfg}");
    let test: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    assert_eq!(
        test["cluster"]["proxy_links"].as_array().unwrap().len(),
        3 * 2 * 2,
        "one proxy listener per ordered pair and per port (quorum, election)"
    );
    let log = std::fs::read_to_string(run.join("nodes/n1/node.log")).unwrap();
    assert!(
        log.contains("QuorumPeer"),
        "n1's log has no ZooKeeper lines"
    );
}

/// Every acknowledged add survives crashes, and crashes that lose what was not fsynced (where
/// FUSE can be used): the set's final reads (after sync) hold them all.
#[test]
fn zookeeper_set_under_kill_and_lose_unsynced_loses_no_acknowledged_add() {
    if !zookeeper_installed() {
        return;
    }
    let nemesis = match faultfs::check_available() {
        Ok(()) => "kill,lose-unsynced",
        Err(e) => {
            println!("lose-unsynced skipped (kill only): {e}");
            "kill"
        }
    };
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "zookeeper",
            "--workload",
            "set",
            "--nemesis",
            nemesis,
            "--nodes",
            "3",
            "--concurrency",
            "6",
            "--time-limit",
            "12",
            "--nemesis-interval",
            "3",
            "--rate",
            "120",
            "--seed",
            "1",
            "--sync-reads",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    let set = &r["checkers"]["set"];
    assert_eq!(set["valid"], Value::Bool(true), "{r}");
    assert_eq!(set["stats"]["lost"], 0, "{r}");
    assert!(set["stats"]["acknowledged"].as_u64().unwrap() > 50, "{r}");
    assert_eq!(set["stats"]["final_reads"].as_array().unwrap().len(), 3);
    let events = nemesis_events(&run);
    let crashes = events
        .iter()
        .filter(|e| e["f"] == "kill" || e["f"] == "start-lose-unsynced")
        .count();
    assert!(crashes >= 2, "only {crashes} crashes");
    if nemesis.contains("lose") {
        let dropped: u64 = events
            .iter()
            .filter(|e| e["f"] == "start-lose-unsynced")
            .flat_map(|e| {
                e["value"]["dropped"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|(_, d)| d["bytes_dropped"].as_u64().unwrap_or(0))
            .sum();
        assert!(dropped > 0, "lose-unsynced dropped nothing: {events:?}");
    }
}

/// Without java: one sentence naming the Debian package, exit 255, nothing run.
#[test]
fn zookeeper_without_java_names_the_package_to_install() {
    let store = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(faultline())
        .args(["test", "--system", "zookeeper", "--store"])
        .arg(store.path())
        .arg("--bin-dir")
        .arg(empty.path())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot find the java program in")
            && stderr.contains("apt-get install zookeeper"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
