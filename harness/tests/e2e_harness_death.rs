//! No node outlives the harness: not when it is SIGKILLed (the parent-death signal), not on
//! Ctrl-C (it heals, stops the nodes and checks what it recorded).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::faultline::*;
use testkit::procs::{alive, children};

fn start_long_run(store: &std::path::Path, nemesis: &str) -> std::process::Child {
    Command::new(faultline())
        .arg("test")
        .arg("--store")
        .arg(store)
        .arg("--bin-dir")
        .arg(bin_dir())
        .args([
            "--system",
            "raft",
            "--nodes",
            "3",
            "--concurrency",
            "4",
            "--time-limit",
            "120",
            "--nemesis",
            nemesis,
            "--nemesis-interval",
            "1",
            "--rate",
            "100",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline starts")
}

/// Waits until the run has journaled at least `lines` lines; returns the run directory.
fn wait_for_history(store: &std::path::Path, lines: usize) -> std::path::PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(run) = std::fs::canonicalize(store.join("latest")) {
            let n = std::fs::read_to_string(run.join("history.jsonl"))
                .map(|t| t.lines().count())
                .unwrap_or(0);
            if n >= lines {
                return run;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the run journaled too little within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_dead(pids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_of_the_harness_leaves_no_node_and_a_history_analyze_accepts() {
    let store = tempfile::tempdir().unwrap();
    let mut child = start_long_run(store.path(), "partition,pause");
    let run = wait_for_history(store.path(), 400);
    let nodes = children(child.id());
    assert_eq!(nodes.len(), 3, "expected 3 node processes, found {nodes:?}");
    assert!(nodes.iter().all(|p| alive(*p)));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = wait_dead(&nodes);
    assert!(left.is_empty(), "nodes {left:?} outlived the harness");

    let out = Command::new(faultline())
        .arg("analyze")
        .arg(&run)
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(1) | Some(2)),
        "{}",
        describe(&out)
    );
    assert!(run.join("results.json").is_file());
    let r = results(&run);
    assert!(r["summary"]["operations"].as_u64().unwrap() > 100, "{r}");
}

#[test]
fn ctrl_c_heals_stops_the_nodes_and_checks_what_was_recorded() {
    let store = tempfile::tempdir().unwrap();
    let child = start_long_run(store.path(), "partition,pause");
    let run = wait_for_history(store.path(), 600);
    let nodes = children(child.id());
    assert_eq!(nodes.len(), 3, "expected 3 node processes, found {nodes:?}");
    // SAFETY: plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1) | Some(2)),
        "{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        describe(&out)
    );
    let left = wait_dead(&nodes);
    assert!(left.is_empty(), "nodes {left:?} outlived the harness");
    let r = results(&run);
    assert_eq!(r["interrupted"], true);
    // Whatever fault was in force was healed and journaled.
    let h = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    assert!(h.contains("\"f\":\"heal-all\""));
}

/// The FUSE mounts under `dir` (from /proc/self/mountinfo's mount points).
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(dir.to_str().unwrap()))
        .map(str::to_string)
        .collect()
}

/// Live processes whose command line names a path inside `run` (its nodes, whoever started
/// them last).
fn processes_of(run: &std::path::Path) -> Vec<u32> {
    let needle = run.to_str().unwrap().as_bytes();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
        .filter(|p| alive(*p))
        .collect()
}

#[test]
fn sigkill_of_the_harness_during_lose_unsynced_leaves_no_mount_and_no_node() {
    if !std::path::Path::new("/dev/fuse").exists() || which("fusermount3").is_none() {
        eprintln!("skipped: FUSE is not usable here (no /dev/fuse or no fusermount3: apt-get install fuse3)");
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let mut child = start_long_run(store.path(), "lose-unsynced,partition");
    let run = wait_for_history(store.path(), 400);
    let nodes = processes_of(&run);
    assert!(!nodes.is_empty(), "no node process names the run directory");
    let mounted = mounts_under(&run);
    assert_eq!(
        mounted.len(),
        3,
        "expected a fault filesystem per node: {mounted:?}"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = wait_dead(&nodes);
    assert!(left.is_empty(), "nodes {left:?} outlived the harness");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_of(&run).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        processes_of(&run),
        Vec::<u32>::new(),
        "processes outlived the harness"
    );
    while !mounts_under(&run).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        mounts_under(&run),
        Vec::<String>::new(),
        "mounts outlived the harness"
    );
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.is_file())
    })
}
