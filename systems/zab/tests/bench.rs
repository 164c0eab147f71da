//! Benchmarks of the real binary (run by hand, release mode; prints Markdown rows):
//!
//! ```text
//! cargo test --release -p zab --test bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! create/set/get throughput and p50/p99 latency on 3 and 5 servers with 1, 16 and 64 clients
//! (fsync on; clients spread over all servers, writes forwarded to the leader; each cell the
//! median of 3 runs of 2 s), and the time
//! from kill -9 of the leader to writes being served again.
//!
//! `ZAB_BENCH_TARGET=leader` connects every client to the leader instead (no forwarding hop:
//! how the raft benchmark loads its cluster). `ZAB_BENCH_SIZES=3,5`, `ZAB_BENCH_OPS=create,set`
//! and `ZAB_BENCH_CLIENTS=1,64` narrow the matrix.

mod common;

use common::Ensemble;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::Client;

const RUN: Duration = Duration::from_secs(2);
/// Each cell is run this many times (in interleaved rounds); the run with the median
/// throughput is reported (the machine is shared, so single runs swing widely).
const REPEAT: usize = 3;

fn list<T: std::str::FromStr + Clone>(var: &str, default: &[T]) -> Vec<T> {
    std::env::var(var)
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

static RUN_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `servers`: the client addresses the clients are spread over, round-robin.
fn run_load(servers: &[SocketAddr], op: &str, clients: usize) -> (f64, f64, f64) {
    let run = RUN_ID.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let lat = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut hs = Vec::new();
    for w in 0..clients {
        let addr = servers[w % servers.len()];
        let lat = lat.clone();
        let op = op.to_string();
        hs.push(std::thread::spawn(move || {
            let mut cl = Client::connect(addr).unwrap();
            let mine = format!("/s-{w}");
            let _ = cl.call(json!({"op": "create", "path": mine, "data": 0}));
            let mut local = Vec::new();
            let mut i = 0u64;
            let t0 = Instant::now();
            while t0.elapsed() < RUN {
                let req = match op.as_str() {
                    "create" => {
                        json!({"op": "create", "path": format!("/c{run}-{w}-{i}"), "data": i})
                    }
                    "set" => json!({"op": "set", "path": mine, "data": i}),
                    _ => json!({"op": "get", "path": mine}),
                };
                i += 1;
                let t = Instant::now();
                if let Ok(r) = cl.call(req) {
                    if r["ok"] == json!(true) {
                        local.push(t.elapsed());
                    }
                }
            }
            lat.lock().unwrap().extend(local);
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64().max(RUN.as_secs_f64());
    let mut l = lat.lock().unwrap().clone();
    l.sort();
    (l.len() as f64 / elapsed, pct(&l, 0.5), pct(&l, 0.99))
}

#[test]
#[ignore]
fn throughput_and_latency() {
    let to_leader = std::env::var("ZAB_BENCH_TARGET").is_ok_and(|v| v == "leader");
    println!(
        "clients connect to: {}",
        if to_leader {
            "the leader only"
        } else {
            "all servers, round-robin (followers forward writes)"
        }
    );
    println!("| servers | op | clients | ops/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    // ZAB_BENCH_SIZES=3,5 and ZAB_BENCH_OPS=create,set,get narrow the matrix.
    for n in list("ZAB_BENCH_SIZES", &[3u64, 5]) {
        let c = Ensemble::start(
            n,
            false,
            &[
                "--tick-ms",
                "50",
                "--init-limit",
                "40",
                "--sync-limit",
                "20",
            ],
        );
        let leader = c.wait_leader(n as usize, Duration::from_secs(30));
        let servers: Vec<SocketAddr> = if to_leader {
            vec![c.node(leader).client_addr]
        } else {
            (1..=n).map(|id| c.node(id).client_addr).collect()
        };
        for op in list(
            "ZAB_BENCH_OPS",
            &["create".to_string(), "set".into(), "get".into()],
        ) {
            let op = op.as_str();
            // Rounds interleave the client counts, so that a change in the machine's
            // background load hits all of them alike.
            let counts = list("ZAB_BENCH_CLIENTS", &[1usize, 16, 64]);
            let mut runs: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); counts.len()];
            for _ in 0..REPEAT {
                for (i, &clients) in counts.iter().enumerate() {
                    runs[i].push(run_load(&servers, op, clients));
                }
            }
            for (i, clients) in counts.iter().enumerate() {
                runs[i].sort_by(|a, b| a.0.total_cmp(&b.0));
                let (tput, p50, p99) = runs[i][REPEAT / 2];
                println!("| {n} | {op} | {clients} | {tput:.0} | {p50:.2} | {p99:.2} |");
            }
        }
    }
}

#[test]
#[ignore]
fn failover_after_leader_kill() {
    let mut c = Ensemble::start(
        3,
        false,
        &[
            "--tick-ms",
            "50",
            "--init-limit",
            "40",
            "--sync-limit",
            "20",
        ],
    );
    let mut times = Vec::new();
    for round in 0..5 {
        let leader = c.wait_leader(3, Duration::from_secs(30));
        c.write(
            json!({"op": "create", "path": format!("/before-{round}"), "data": 1}),
            Duration::from_secs(30),
        );
        let t = Instant::now();
        c.kill(leader);
        let mut i = 0;
        'outer: loop {
            for id in c.running() {
                let Ok(mut cl) = Client::connect(c.node(id).client_addr) else {
                    continue;
                };
                let r = cl.call(
                    json!({"op": "create", "path": format!("/after-{round}-{i}"), "data": 1}),
                );
                i += 1;
                if r.is_ok_and(|r| r["ok"] == json!(true)) {
                    break 'outer;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let d = t.elapsed();
        println!(
            "round {round}: kill -9 of leader n{leader} to first acknowledged write: {:.0} ms",
            d.as_secs_f64() * 1000.0
        );
        times.push(d);
        c.start_node(leader);
    }
    times.sort();
    println!(
        "failover (tick 50 ms, syncLimit 20 ticks): median {:.0} ms, min {:.0} ms, max {:.0} ms",
        times[2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0
    );
}
