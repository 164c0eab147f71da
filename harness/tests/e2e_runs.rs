//! End-to-end runs of `faultline test` against real raft-node, zab-node, paxos-node and
//! twopc-node clusters.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::RwLock;
use testkit::faultline::*;

/// The tests of this file run side by side, each with a real cluster, on few cores. A test
/// whose chance of catching a bug depends on timing runs each of its runs alone: it takes this
/// lock for writing, every other run takes it for reading.
static CORES: RwLock<()> = RwLock::new(());

/// `faultline test` with `args`, beside the other tests' runs (shadows testkit's).
fn run_test(store: &Path, args: &[&str]) -> (Output, PathBuf) {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    testkit::faultline::run_test(store, args)
}

/// `faultline test` with `args`, while no other test of this file runs one; also how long the
/// run itself took (not the wait for the others).
fn run_test_alone(store: &Path, args: &[&str]) -> (Output, PathBuf, std::time::Duration) {
    let _alone = CORES.write().unwrap_or_else(|e| e.into_inner());
    let started = std::time::Instant::now();
    let (out, run) = testkit::faultline::run_test(store, args);
    (out, run, started.elapsed())
}

#[test]
fn raft_register_under_partition_kill_pause_is_linearizable() {
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "raft",
            "--workload",
            "register",
            "--nemesis",
            "partition,kill,pause",
            "--nodes",
            "5",
            "--concurrency",
            "8",
            "--time-limit",
            "16",
            "--nemesis-interval",
            "2",
            "--rate",
            "150",
            "--seed",
            "11",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    assert_eq!(r["valid"], Value::Bool(true));
    assert_eq!(r["checkers"]["linearizable"]["valid"], Value::Bool(true));
    let by_f = &r["summary"]["by_f"];
    assert!(by_f["write"]["ok"].as_u64().unwrap() > 50, "{r}");
    // Faults really happened: one journaled start per planned fault, and the final heal.
    let test: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    let planned = test["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "fault")
        .count();
    assert_eq!(planned, 4);
    let h = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let nemesis: Vec<Value> = h
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["process"] == "nemesis")
        .collect();
    let starts = nemesis
        .iter()
        .filter(|e| ["start-partition", "kill", "pause"].contains(&e["f"].as_str().unwrap()))
        .count();
    assert_eq!(starts, planned, "{nemesis:?}");
    // The final phase heals everything, then restarts every node and records the leader it
    // waited for (the liveness checker's record) before the final reads.
    let n = nemesis.len();
    assert_eq!(nemesis[n - 3]["f"], "heal-all");
    assert_eq!(nemesis[n - 2]["f"], "restart-all");
    assert!(
        nemesis[n - 2].get("error").is_none(),
        "{:?}",
        nemesis[n - 2]
    );
    assert_eq!(nemesis[n - 1]["f"], "recover");
    assert!(
        nemesis[n - 1]["value"]["leader"].is_string(),
        "{:?}",
        nemesis[n - 1]
    );
    let live = &r["checkers"]["liveness"];
    assert_eq!(live["valid"], Value::Bool(true), "{live}");
    assert!(live["stats"]["ok_after"].as_u64().unwrap() > 0, "{live}");
    let log = std::fs::read_to_string(run.join("nodes/n1/node.log")).unwrap();
    assert!(
        log.contains("--- faultline: n1 stop"),
        "n1 was not restarted"
    );
    assert!(run.join("nodes/n1/node.log").is_file());
    assert!(run.join("log.txt").is_file());
    let test: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    assert_eq!(test["seed"], 11);
    assert_eq!(test["cluster"]["nodes"].as_array().unwrap().len(), 5);
}

#[test]
fn raft_set_loses_nothing() {
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "raft",
            "--workload",
            "set",
            "--nemesis",
            "partition,kill",
            "--nodes",
            "3",
            "--concurrency",
            "5",
            "--time-limit",
            "12",
            "--nemesis-interval",
            "2",
            "--rate",
            "100",
            "--seed",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    let set = &r["checkers"]["set"];
    assert_eq!(set["valid"], Value::Bool(true), "{r}");
    assert_eq!(set["stats"]["lost"], 0);
    assert!(set["stats"]["acknowledged"].as_u64().unwrap() > 50, "{r}");
    // One final read per node.
    assert_eq!(set["stats"]["final_reads"].as_array().unwrap().len(), 3);
}

#[test]
fn zab_register_with_sync_reads_is_linearizable() {
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "zab",
            "--workload",
            "register",
            "--zab-sync-reads",
            "--nemesis",
            "partition,kill",
            "--nodes",
            "3",
            "--concurrency",
            "6",
            "--time-limit",
            "14",
            "--nemesis-interval",
            "2.5",
            "--rate",
            "120",
            "--seed",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    assert_eq!(
        r["checkers"]["linearizable"]["valid"],
        Value::Bool(true),
        "{r}"
    );
    assert!(
        r["summary"]["by_f"]["read"]["ok"].as_u64().unwrap() > 20,
        "{r}"
    );
}

#[test]
fn zab_register_without_sync_reads_under_partitions_reports_a_verdict() {
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "zab",
            "--workload",
            "register",
            "--nemesis",
            "partition",
            "--nodes",
            "3",
            "--concurrency",
            "6",
            "--time-limit",
            "12",
            "--nemesis-interval",
            "2",
            "--rate",
            "120",
            "--seed",
            "4",
        ],
    );
    // Stale reads are allowed here: valid (0) or invalid (1), never unknown or a failure.
    let code = out.status.code();
    assert!(code == Some(0) || code == Some(1), "{}", describe(&out));
    let r = results(&run);
    let v = &r["valid"];
    assert_eq!(*v, Value::Bool(code == Some(0)));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("verdict: "), "{stdout}");
    assert!(stdout.contains("availability: "), "{stdout}");
}

/// Each system is a descriptor: an unknown system, a workload its client does not speak and a bug
/// its binary does not list are bad arguments (254) naming what is known, and nothing is stored.
#[test]
fn unknown_systems_workloads_and_bugs_are_254_naming_the_known_ones() {
    let store = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--system", "mysql"],
            "unknown system \"mysql\": known systems are raft, zab, paxos, twopc, etcd, zookeeper, noop",
        ),
        (
            &["--system", "zab", "--workload", "list-append"],
            "the zab system does not run the list-append workload: it runs register, set, kv",
        ),
        (
            &["--system", "raft", "--bug", "no-such-bug"],
            "the raft system has no bug \"no-such-bug\": its bugs are local-read, ",
        ),
        (
            &["--system", "zab", "--bug", "local-read"],
            "the zab system has no bug \"local-read\": its bugs are ZOOKEEPER-3911, ",
        ),
        (
            &["--system", "etcd", "--nemesis", "kill,clock"],
            "the etcd system cannot take clock faults: etcd is a Go program",
        ),
        (
            &["--nemesis", "leader", "--leader-schedules", "isolate-then-rejoin,swap"],
            "unknown leader schedule \"swap\" in --leader-schedules: use a comma-separated list of isolate-then-kill, ",
        ),
    ];
    for (args, needle) in cases {
        let out = std::process::Command::new(faultline())
            .arg("test")
            .arg("--store")
            .arg(store.path())
            .arg("--bin-dir")
            .arg(bin_dir())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(254), "{args:?}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(
        std::fs::read_dir(store.path()).unwrap().next().is_none(),
        "a run was stored for bad arguments"
    );
}

/// Clock jumps, strobes and skews, slow and flaky links and kills on correct raft-node: the
/// history stays linearizable, and every planned fault is journaled as its nemesis event.
#[test]
fn raft_register_under_clock_slow_flaky_links_and_kills_is_linearizable() {
    let has_faketime = std::fs::read_dir("/usr/lib")
        .map(|d| {
            d.flatten()
                .any(|e| e.path().join("faketime/libfaketimeMT.so.1").is_file())
        })
        .unwrap_or(false);
    if !has_faketime {
        eprintln!("skipped: libfaketime is not installed (apt-get install libfaketime)");
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "raft",
            "--workload",
            "register",
            "--nemesis",
            "clock,slow-link,flaky-link,kill",
            "--nodes",
            "5",
            "--concurrency",
            "8",
            "--time-limit",
            "24",
            "--nemesis-interval",
            "1.5",
            "--rate",
            "150",
            "--seed",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    assert_eq!(
        r["checkers"]["linearizable"]["valid"],
        Value::Bool(true),
        "{r}"
    );
    assert!(
        r["summary"]["by_f"]["write"]["ok"].as_u64().unwrap() > 50,
        "{r}"
    );
    let test: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    let planned: Vec<String> = test["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "fault")
        .map(|s| s["fault"].as_str().unwrap().to_string())
        .collect();
    for kind in ["clock", "slow-link", "flaky-link", "kill"] {
        assert!(
            planned.iter().any(|k| k == kind),
            "seed 3 plans no {kind}: {planned:?}"
        );
    }
    let h = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let nemesis: Vec<Value> = h
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["process"] == "nemesis")
        .collect();
    let journaled = |f: &str| nemesis.iter().filter(|e| e["f"] == f).count();
    for (kind, f) in [
        ("clock", "start-clock"),
        ("slow-link", "start-slow-link"),
        ("flaky-link", "start-flaky-link"),
        ("kill", "kill"),
    ] {
        let n = planned.iter().filter(|k| *k == kind).count();
        assert_eq!(journaled(f), n, "{kind}: {nemesis:?}");
    }
    // Every start carries its targets and parameters; none failed, but for a link fault aimed
    // at a leader while none was elected (journaled as such, nothing applied).
    for e in nemesis.iter().filter(|e| {
        ["start-clock", "start-slow-link", "start-flaky-link"].contains(&e["f"].as_str().unwrap())
    }) {
        assert!(e["value"].is_object(), "{e}");
        if let Some(err) = e.get("error") {
            assert!(
                e["f"] != "start-clock"
                    && err
                        .as_str()
                        .unwrap()
                        .starts_with("no node reports itself as leader"),
                "{e}"
            );
        }
    }
}

#[test]
fn paxos_register_under_partition_kill_pause_is_linearizable() {
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "paxos",
            "--workload",
            "register",
            "--nemesis",
            "partition,kill,pause",
            "--nodes",
            "5",
            "--concurrency",
            "8",
            "--time-limit",
            "16",
            "--nemesis-interval",
            "2",
            "--rate",
            "150",
            "--seed",
            "11",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    assert_eq!(
        r["checkers"]["linearizable"]["valid"],
        Value::Bool(true),
        "{r}"
    );
    let by_f = &r["summary"]["by_f"];
    assert!(by_f["write"]["ok"].as_u64().unwrap() > 30, "{r}");
    assert!(by_f["read"]["ok"].as_u64().unwrap() > 30, "{r}");
    let h = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let faults = h
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["process"] == "nemesis")
        .filter(|e| ["start-partition", "kill", "pause"].contains(&e["f"].as_str().unwrap()))
        .count();
    assert_eq!(faults, 4, "{h}");
}

/// `--bug ignore-accepted`: a new leader fills the slots its promises report with no-ops, so
/// writes the old leader acknowledged just before the nemesis killed, paused or isolated it are
/// lost. One 8 s run catches it about one time in four to six (2026-12-03: 2 of 8 and 1 of 6
/// on an idle machine, 1 of 12 beside the other tests), far less often than before the leader
/// schedules got their long pauses and crash-during-sync, so each run has the cores to itself
/// ([`run_test_alone`]) and runs on successive seeds are made until one does, within 300 s of
/// its own runs (about 30 runs of ~10 s; a fresh-clone CI run at 420 s of wall time, waits for
/// the other tests included, caught it only near the end).
#[test]
fn paxos_bug_ignore_accepted_is_caught_by_a_real_run() {
    let budget = std::time::Duration::from_secs(300);
    let mut spent = std::time::Duration::ZERO;
    let mut seed = 1;
    while spent < budget {
        let store = tempfile::tempdir().unwrap();
        let s = seed.to_string();
        let (out, run, took) = run_test_alone(
            store.path(),
            &[
                "--system",
                "paxos",
                "--workload",
                "register",
                "--nemesis",
                "leader",
                "--nodes",
                "3",
                "--concurrency",
                "10",
                "--time-limit",
                "8",
                "--nemesis-interval",
                "1",
                "--rate",
                "400",
                "--bug",
                "ignore-accepted",
                "--seed",
                &s,
            ],
        );
        spent += took;
        let r = results(&run);
        match out.status.code() {
            Some(1) => {
                assert_eq!(
                    r["checkers"]["linearizable"]["valid"],
                    Value::Bool(false),
                    "{r}"
                );
                eprintln!("caught on seed {seed} after {spent:?} of runs");
                return;
            }
            Some(0) => eprintln!("seed {seed} missed the bug"),
            _ => panic!("{}", describe(&out)),
        }
        seed += 1;
    }
    panic!(
        "--bug ignore-accepted went unnoticed in {} runs ({budget:?})",
        seed - 1
    );
}

/// A bank on twopc-node (coordinator n1, four shards) keeps its total while the nemesis
/// partitions, kills and pauses nodes — the coordinator included — and `--workload bank` is
/// checked by the bank checker alone.
#[test]
fn twopc_bank_under_partition_kill_pause_keeps_its_total() {
    let store = tempfile::tempdir().unwrap();
    let (out, run) = run_test(
        store.path(),
        &[
            "--system",
            "twopc",
            "--workload",
            "bank",
            "--nemesis",
            "partition,kill,pause",
            "--nodes",
            "5",
            "--concurrency",
            "8",
            "--time-limit",
            "16",
            "--nemesis-interval",
            "2",
            "--rate",
            "150",
            "--seed",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = results(&run);
    let bank = &r["checkers"]["bank"];
    assert_eq!(bank["valid"], Value::Bool(true), "{r}");
    assert_eq!(bank["stats"]["total"], 80, "{r}");
    assert!(r["checkers"].get("linearizable").is_none(), "{r}");
    let by_f = &r["summary"]["by_f"];
    assert!(by_f["transfer"]["ok"].as_u64().unwrap() > 30, "{r}");
    assert!(by_f["read"]["ok"].as_u64().unwrap() > 30, "{r}");
    let h = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let faults = h
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["process"] == "nemesis")
        .filter(|e| ["start-partition", "kill", "pause"].contains(&e["f"].as_str().unwrap()))
        .count();
    assert!(faults >= 3, "{h}");
}

/// `--bug commit-without-all-votes`: the coordinator commits transfers one shard refused (a
/// lock conflict, an overdraft), so money appears or vanishes and the bank checker sees the
/// total change. Runs on successive seeds until one catches it, within 100 s (one 8 s run
/// nearly always does).
#[test]
fn twopc_bug_commit_without_all_votes_is_caught_by_a_real_run() {
    let budget = std::time::Duration::from_secs(100);
    let start = std::time::Instant::now();
    let mut seed = 1;
    while start.elapsed() < budget {
        let store = tempfile::tempdir().unwrap();
        let s = seed.to_string();
        let (out, run) = run_test(
            store.path(),
            &[
                "--system",
                "twopc",
                "--workload",
                "bank",
                "--nemesis",
                "partition,kill,pause",
                "--nodes",
                "5",
                "--time-limit",
                "8",
                "--nemesis-interval",
                "2",
                "--rate",
                "200",
                "--bug",
                "commit-without-all-votes",
                "--seed",
                &s,
            ],
        );
        let r = results(&run);
        match out.status.code() {
            Some(1) => {
                let bank = &r["checkers"]["bank"];
                assert_eq!(bank["valid"], Value::Bool(false), "{r}");
                assert!(bank["stats"]["wrong_total"].as_u64().unwrap() > 0, "{r}");
                eprintln!("caught on seed {seed} after {:?}", start.elapsed());
                return;
            }
            Some(0) => eprintln!("seed {seed} missed the bug"),
            _ => panic!("{}", describe(&out)),
        }
        seed += 1;
    }
    panic!(
        "--bug commit-without-all-votes went unnoticed in {} runs ({budget:?})",
        seed - 1
    );
}
