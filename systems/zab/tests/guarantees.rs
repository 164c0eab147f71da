//! Client-visible guarantees of the real binary: sync through a deposed leader, sessions that
//! never go back in time across servers, LOOKING servers refusing definitely.

mod common;

use common::Ensemble;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::Client;

const T: Duration = Duration::from_secs(30);

fn signal(c: &Ensemble, id: u64, sig: i32) {
    let pid = c.pid(id).unwrap() as i32;
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// Waits until one of `ids` leads and serves.
fn wait_leader_among(c: &Ensemble, ids: &[u64]) -> u64 {
    let deadline = Instant::now() + T;
    loop {
        for &id in ids {
            if let Some(s) = c.status(id) {
                if s["role"] == json!("leading") && s["serving"] == json!(true) {
                    return id;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no leader among {ids:?}\n{}",
            c.logs_tail()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sync_on_a_deposed_leader_never_returns_stale_data() {
    let c = Ensemble::start(3, false, &[]);
    let old = c.wait_leader(3, T);
    let others: Vec<u64> = (1..=3).filter(|&i| i != old).collect();
    let r = c.write(json!({"op": "create", "path": "/x", "data": 1}), T);
    assert_eq!(r["ok"], json!(true), "{r}");
    // Freeze the leader; the others elect a new one and commit x = 2.
    let mut cl = Client::connect(c.node(old).client_addr).unwrap();
    signal(&c, old, libc::SIGSTOP);
    let new = wait_leader_among(&c, &others);
    let mut nl = Client::connect(c.node(new).client_addr).unwrap();
    let r = nl
        .call(json!({"op": "set", "path": "/x", "data": 2}))
        .unwrap();
    assert_eq!(r["ok"], json!(true), "{r}");
    // The frozen leader wakes up still believing it leads; a sync sent to it now must not
    // return before it has seen x = 2.
    cl.send("{\"id\":100,\"op\":\"sync\"}\n{\"id\":101,\"op\":\"get\",\"path\":\"/x\"}\n")
        .unwrap();
    signal(&c, old, libc::SIGCONT);
    let sync = cl.recv().unwrap();
    let get = cl.recv().unwrap();
    assert_eq!(sync["id"], json!(100));
    eprintln!("sync sent to the deposed leader: {sync}; read after it: {get}");
    if sync["ok"] == json!(true) {
        assert_eq!(
            get["data"],
            json!(2),
            "read after a successful sync was stale: {get}"
        );
    } else {
        // Deposed: the sync could not complete; it must not claim success.
        let code = sync["error"]["code"].as_str().unwrap();
        assert!(
            ["leadership_lost", "timeout", "unavailable"].contains(&code),
            "{sync}"
        );
    }
    // Once it follows the new leader, a sync then a read sees x = 2.
    let deadline = Instant::now() + T;
    loop {
        let s = cl.call(json!({"op": "sync"})).unwrap();
        if s["ok"] == json!(true) {
            let g = cl.call(json!({"op": "get", "path": "/x"})).unwrap();
            assert_eq!(g["data"], json!(2), "{g}");
            break;
        }
        assert!(Instant::now() < deadline, "sync never succeeded: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_session_never_reads_older_than_it_has_seen_on_another_server() {
    let c = Ensemble::start(3, true, &[]);
    let leader = c.wait_leader(3, T);
    let lagging = (1..=3).find(|&i| i != leader).unwrap();
    let r = c.write(json!({"op": "create", "path": "/y", "data": 1}), T);
    assert_eq!(r["ok"], json!(true), "{r}");
    // Cut the lagging follower off from the leader's stream, then move /y on.
    c.proxy(leader, lagging).cut();
    let mut lc = Client::connect(c.node(leader).client_addr).unwrap();
    let r = lc
        .call(json!({"op": "set", "path": "/y", "data": 2}))
        .unwrap();
    assert_eq!(r["ok"], json!(true), "{r}");
    let seen = r["zxid"].as_u64().unwrap();
    // A session that has seen `seen` moves to the lagging server: it must not read /y = 1.
    let mut fc = Client::connect(c.node(lagging).client_addr).unwrap();
    let h = fc
        .call(json!({"op": "session", "last_zxid": seen}))
        .unwrap();
    assert_eq!(h["zxid"], json!(seen), "{h}");
    let g = fc.call(json!({"op": "get", "path": "/y"})).unwrap();
    eprintln!("read on the lagging server: {g}");
    if g["ok"] == json!(true) {
        assert_eq!(g["data"], json!(2), "the session went back in time: {g}");
    } else {
        let code = g["error"]["code"].as_str().unwrap();
        assert!(["stale_session", "unavailable"].contains(&code), "{g}");
        assert_eq!(g["error"]["definite"], json!(true), "{g}");
    }
    // Once the link heals the server catches up and the same session reads /y = 2.
    c.proxy(leader, lagging).heal_with_reset();
    let deadline = Instant::now() + T;
    loop {
        let g = fc.call(json!({"op": "get", "path": "/y"})).unwrap();
        if g["ok"] == json!(true) {
            assert_eq!(g["data"], json!(2), "{g}");
            assert!(g["zxid"].as_u64().unwrap() >= seen, "{g}");
            break;
        }
        assert!(Instant::now() < deadline, "never caught up: {g}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_looking_server_refuses_definitely_and_status_reports_it() {
    let mut c = Ensemble::start(3, false, &[]);
    c.wait_leader(3, T);
    c.kill(2);
    c.kill(3);
    let deadline = Instant::now() + T;
    let s: Value = loop {
        let s = c.status(1).unwrap();
        if s["role"] == json!("looking") {
            break s;
        }
        assert!(Instant::now() < deadline, "n1 never went LOOKING: {s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(s["node"], json!(1));
    assert_eq!(s["leader"], Value::Null);
    assert!(s["epoch"].as_u64().unwrap() >= 1, "{s}");
    let mut cl = Client::connect(c.node(1).client_addr).unwrap();
    for op in [
        json!({"op": "create", "path": "/z", "data": 1}),
        json!({"op": "get", "path": "/"}),
    ] {
        let r = cl.call(op).unwrap();
        assert_eq!(r["error"]["code"], json!("unavailable"), "{r}");
        assert_eq!(r["error"]["definite"], json!(true), "{r}");
    }
}

/// zab-node as server 1 alone, on `data_dir`, for a start that must fail.
fn lone_node(data_dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_zab-node"));
    cmd.args(["--id", "1", "--client-addr", "127.0.0.1:0"])
        .args(["--peer-addr", "127.0.0.1:0", "--peers", ""])
        .arg("--data-dir")
        .arg(data_dir);
    cmd
}

#[test]
fn inconsistent_epoch_files_make_the_node_refuse_to_start() {
    let mut c = Ensemble::start(1, false, &[]);
    c.wait_leader(1, T);
    let r = c.write(json!({"op": "create", "path": "/a", "data": 1}), T);
    assert_eq!(r["ok"], json!(true), "{r}");
    c.kill(1);
    // currentEpoch below the epoch of the last logged zxid.
    std::fs::write(c.node(1).data_dir.join("currentEpoch"), "0\n").unwrap();
    let out = lone_node(&c.node(1).data_dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("currentEpoch 0 is below the epoch"), "{err}");
    // acceptedEpoch below currentEpoch.
    std::fs::write(c.node(1).data_dir.join("currentEpoch"), "9\n").unwrap();
    std::fs::write(c.node(1).data_dir.join("acceptedEpoch"), "3\n").unwrap();
    let out = lone_node(&c.node(1).data_dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("acceptedEpoch 3 is below currentEpoch 9"),
        "{err}"
    );
    // An unknown --bug name is refused with a clear sentence.
    let out = lone_node(&c.node(1).data_dir)
        .args(["--bug", "ZOOKEEPER-9999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown bug \"ZOOKEEPER-9999\""), "{err}");
}

#[test]
fn a_retried_request_id_is_applied_at_most_once_even_on_another_server() {
    let c = Ensemble::start(3, false, &[]);
    c.wait_leader(3, T);
    let mut a = Client::connect(c.node(1).client_addr).unwrap();
    let mut b = Client::connect(c.node(2).client_addr).unwrap();
    let create =
        json!({"op": "create", "path": "/q-", "data": 1, "sequential": true, "rid": "c7:1"});
    let first = a.call(create.clone()).unwrap();
    assert_eq!(first["ok"], json!(true), "{first}");
    let again = b.call(create).unwrap();
    assert_eq!(again["path"], first["path"], "{again}");
    assert_eq!(again["zxid"], first["zxid"], "{again}");
    let set = json!({"op": "set", "path": "/q-0000000000", "data": 2, "rid": "c7:2"});
    let s1 = a.call(set.clone()).unwrap();
    let s2 = b.call(set).unwrap();
    assert_eq!(s1["stat"]["version"], json!(1), "{s1}");
    assert_eq!(s2["stat"]["version"], json!(1), "{s2}");
    let kids = a.call(json!({"op": "children", "path": "/"})).unwrap();
    assert_eq!(kids["children"], json!(["q-0000000000"]), "{kids}");
    // Without a rid, a repeated set applies twice.
    let s3 = b
        .call(json!({"op": "set", "path": "/q-0000000000", "data": 3}))
        .unwrap();
    assert_eq!(s3["stat"]["version"], json!(2), "{s3}");
}
