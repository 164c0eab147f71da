//! The real `zab-node` binary, 3 and 5 servers: durability across kill -9, the three ways a
//! server rejoins (DIFF, TRUNC, SNAP), and malformed client input.

mod common;

use common::Ensemble;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::Client;

const T: Duration = Duration::from_secs(30);

fn create(c: &Ensemble, path: &str, data: Value) -> Value {
    let r = c.write(json!({"op": "create", "path": path, "data": data}), T);
    assert!(
        r["ok"] == json!(true) || r["error"]["code"] == json!("node_exists"),
        "create {path}: {r}"
    );
    r
}

/// Reads `path` on node `id` in a session that has seen `zxid` (so the read waits for the node
/// to catch up), returning the data.
fn get_on(c: &Ensemble, id: u64, path: &str, zxid: u64) -> Value {
    let mut cl = Client::connect(c.node(id).client_addr).unwrap();
    let r = cl
        .call(json!({"op": "session", "last_zxid": zxid}))
        .unwrap();
    assert_eq!(r["ok"], json!(true), "{r}");
    for _ in 0..100 {
        let r = cl.call(json!({"op": "get", "path": path})).unwrap();
        if r["error"]["code"] != json!("stale_session")
            && r["error"]["code"] != json!("unavailable")
        {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("n{id} never caught up to zxid {zxid}");
}

fn max_zxid(rs: &[Value]) -> u64 {
    rs.iter()
        .filter_map(|r| r["zxid"].as_u64())
        .max()
        .unwrap_or(0)
}

fn assert_all_present(c: &Ensemble, ids: &[u64], keys: &[(String, Value)], zxid: u64) {
    for &id in ids {
        for (k, v) in keys {
            let r = get_on(c, id, k, zxid);
            assert_eq!(r["ok"], json!(true), "n{id} lost acknowledged {k}: {r}");
            assert_eq!(&r["data"], v, "n{id} {k}: {r}");
            assert!(r["stat"]["czxid"].as_u64().unwrap() > 0);
        }
    }
}

fn write_keys(c: &Ensemble, prefix: &str, n: usize) -> (Vec<(String, Value)>, u64) {
    let mut keys = Vec::new();
    let mut rs = Vec::new();
    for i in 0..n {
        let k = format!("/{prefix}{i}");
        rs.push(create(c, &k, json!(i)));
        keys.push((k, json!(i)));
    }
    (keys, max_zxid(&rs))
}

fn last_sync(c: &Ensemble, id: u64) -> String {
    let s = c.wait_serving(id, T);
    s["last_sync"].as_str().unwrap_or("none").to_string()
}

#[test]
fn three_nodes_survive_leader_kill_and_leader_rejoins_by_diff() {
    let mut c = Ensemble::start(3, false, &[]);
    let leader = c.wait_leader(3, T);
    let (mut keys, _) = write_keys(&c, "a", 20);
    c.kill(leader);
    let new_leader = c.wait_leader(2, T);
    assert_ne!(new_leader, leader);
    let (more, z) = write_keys(&c, "b", 10);
    keys.extend(more);
    assert_all_present(&c, &c.running(), &keys, z);
    // The old leader rejoins: it is behind, its history a prefix of the new leader's: DIFF.
    c.start_node(leader);
    assert_eq!(last_sync(&c, leader), "diff");
    assert_all_present(&c, &[leader], &keys, z);
}

#[test]
fn five_nodes_survive_minority_kill_and_rejoin() {
    let mut c = Ensemble::start(5, false, &[]);
    let leader = c.wait_leader(5, T);
    let (mut keys, _) = write_keys(&c, "a", 10);
    // Kill a minority: the leader and one follower.
    let follower = (1..=5).find(|&i| i != leader).unwrap();
    c.kill(leader);
    c.kill(follower);
    c.wait_leader(3, T);
    let (more, z) = write_keys(&c, "b", 10);
    keys.extend(more);
    assert_all_present(&c, &c.running(), &keys, z);
    c.start_node(leader);
    c.start_node(follower);
    assert_eq!(last_sync(&c, follower), "diff");
    assert_all_present(&c, &[leader, follower], &keys, z);
}

#[test]
fn whole_ensemble_kill_and_restart_keeps_acknowledged_writes() {
    let mut c = Ensemble::start(3, false, &["--snap-count", "16"]);
    c.wait_leader(3, T);
    let (keys, z) = write_keys(&c, "k", 40);
    for id in 1..=3 {
        c.kill(id);
    }
    for id in 1..=3 {
        c.start_node(id);
    }
    c.wait_leader(3, T);
    assert_all_present(&c, &[1, 2, 3], &keys, z);
    // Snapshots were taken along the way (snapCount 16 over 40 transactions).
    let snaps = std::fs::read_dir(c.node(1).data_dir.join("snap"))
        .unwrap()
        .count();
    assert!(snaps >= 1, "no snapshot written");
}

#[test]
fn follower_behind_the_committed_log_window_rejoins_by_snap() {
    let mut c = Ensemble::start(3, false, &["--committed-log-max", "5"]);
    let leader = c.wait_leader(3, T);
    let follower = (1..=3).find(|&i| i != leader).unwrap();
    let (mut keys, _) = write_keys(&c, "a", 3);
    c.kill(follower);
    let (more, z) = write_keys(&c, "b", 15);
    keys.extend(more);
    c.start_node(follower);
    assert_eq!(last_sync(&c, follower), "snap");
    assert_all_present(&c, &[follower], &keys, z);
    // And it keeps up afterwards.
    let (more, z) = write_keys(&c, "c", 3);
    assert_all_present(&c, &[follower], &more, z);
}

#[test]
fn former_leader_with_an_unseen_proposal_rejoins_by_trunc() {
    let mut c = Ensemble::start(3, true, &[]);
    let leader = c.wait_leader(3, T);
    let (mut keys, _) = write_keys(&c, "a", 5);
    // Stall every link out of the leader, then give it a write: it logs the proposal, but
    // nobody else ever sees it.
    for j in (1..=3).filter(|&j| j != leader) {
        c.proxy(leader, j).cut();
    }
    let mut cl = Client::connect(c.node(leader).client_addr).unwrap();
    cl.send("{\"id\":1,\"op\":\"create\",\"path\":\"/lost\",\"data\":1}\n")
        .unwrap();
    let deadline = std::time::Instant::now() + T;
    loop {
        let s = c.status(leader).unwrap();
        if s["last_zxid"].as_u64() > s["commit"].as_u64() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the leader never logged the proposal"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    c.kill(leader);
    for j in (1..=3).filter(|&j| j != leader) {
        c.proxy(leader, j).heal_with_reset();
    }
    let new_leader = c.wait_leader(2, T);
    assert_ne!(new_leader, leader);
    let (more, z) = write_keys(&c, "b", 3);
    keys.extend(more);
    c.start_node(leader);
    let mode = last_sync(&c, leader);
    assert!(
        mode == "trunc" || mode == "trunc+diff",
        "rejoined by {mode}"
    );
    assert_all_present(&c, &[leader], &keys, z);
    let r = get_on(&c, leader, "/lost", z);
    assert_eq!(
        r["error"]["code"],
        json!("no_node"),
        "the unseen proposal survived: {r}"
    );
}

#[test]
fn malformed_lines_get_bad_request_and_the_node_keeps_serving() {
    let c = Ensemble::start(1, false, &[]);
    c.wait_leader(1, T);
    let mut cl = Client::connect(c.node(1).client_addr).unwrap();
    for line in [
        "{not json".to_string(),
        "{\"id\":5,\"op\":\"frobnicate\"}".to_string(),
        "{\"id\":6,\"op\":\"create\"}".to_string(),
        "{\"id\":7,\"op\":\"create\",\"path\":\"no-slash\"}".to_string(),
        "{\"id\":8,\"op\":\"write\",\"key\":\"x\",\"value\":1}".to_string(),
        "[1,2,3]".to_string(),
        format!(
            "{{\"id\":9,\"op\":\"get\",\"path\":\"/{}\"}}",
            "x".repeat(1 << 21)
        ),
    ] {
        cl.send(format!("{line}\n")).unwrap();
        let r = cl.recv().unwrap();
        assert_eq!(r["ok"], json!(false), "{r}");
        assert_eq!(r["error"]["code"], json!("bad_request"), "{r}");
        assert_eq!(r["error"]["definite"], json!(true), "{r}");
    }
    // Invalid UTF-8.
    cl.send([0xff, 0xfe, b'\n']).unwrap();
    let r = cl.recv().unwrap();
    assert_eq!(r["error"]["code"], json!("bad_request"), "{r}");
    // Still serving, on the same connection and on a new one.
    let r = cl
        .call(json!({"op": "create", "path": "/ok", "data": 1}))
        .unwrap();
    assert_eq!(r["ok"], json!(true), "{r}");
    let mut cl2 = Client::connect(c.node(1).client_addr).unwrap();
    let r = cl2.call(json!({"op": "get", "path": "/ok"})).unwrap();
    assert_eq!(r["data"], json!(1), "{r}");
    assert_eq!(r["stat"]["version"], json!(0), "{r}");
}

#[test]
fn whole_ensemble_kill_under_load_keeps_every_acknowledged_write() {
    let mut c = Ensemble::start(3, false, &["--snap-count", "50"]);
    c.wait_leader(3, T);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let addr = c.node(w % 3 + 1).client_addr;
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let Ok(mut cl) = Client::connect(addr) else {
                return;
            };
            for i in 0.. {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let path = format!("/w{w}-{i}");
                match cl.call(json!({"op": "create", "path": path, "data": i})) {
                    Ok(r) if r["ok"] == json!(true) => {
                        acked
                            .lock()
                            .unwrap()
                            .push((path, json!(i), r["zxid"].as_u64().unwrap()))
                    }
                    Ok(_) => {}
                    Err(_) => return, // the server died under us
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(800));
    for id in 1..=3 {
        c.kill(id);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "only {} writes were acknowledged",
        acked.len()
    );
    for id in 1..=3 {
        c.start_node(id);
    }
    c.wait_leader(3, T);
    let z = acked.iter().map(|a| a.2).max().unwrap();
    let keys: Vec<(String, Value)> = acked.iter().map(|a| (a.0.clone(), a.1.clone())).collect();
    assert_all_present(&c, &[1, 2, 3], &keys, z);
}

#[test]
fn a_torn_log_tail_is_cut_off_at_restart() {
    let mut c = Ensemble::start(3, false, &[]);
    c.wait_leader(3, T);
    let (keys, z) = write_keys(&c, "t", 10);
    for id in 1..=3 {
        c.kill(id);
    }
    // A record whose write was cut short by the crash: a header promising more than is there.
    let log_dir = c.node(1).data_dir.join("log");
    let newest = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    std::io::Write::write_all(&mut f, &[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"']).unwrap();
    drop(f);
    let torn_len = std::fs::metadata(&newest).unwrap().len();
    for id in 1..=3 {
        c.start_node(id);
    }
    c.wait_leader(3, T);
    assert_all_present(&c, &[1, 2, 3], &keys, z);
    assert!(std::fs::metadata(&newest)
        .map(|m| m.len() < torn_len)
        .unwrap_or(true));
    let log = std::fs::read_to_string(&c.node(1).log).unwrap();
    assert!(log.contains("cutting the log's torn tail"), "{log}");
}
