//! Benchmarks of a real raft-node cluster on loopback, fsync on: write and read throughput with
//! p50/p99 latency for 1, 16 and 64 closed-loop clients on 3 and 5 nodes, and the time from
//! kill -9 of the leader until writes are served again.
//!
//! Run: `CARGO_BUILD_JOBS=2 cargo bench -p raft --bench cluster` (BENCH_SECS sets each phase's
//! length, default 3; BENCH_FAILOVERS the number of leader kills, default 10).

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::Raft;
use testkit::Client;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k]
}

/// `clients` closed-loop clients against `addr` for `secs`; returns (ops/s, p50, p99, errors).
fn load(
    addr: SocketAddr,
    clients: usize,
    secs: u64,
    write: bool,
) -> (f64, Duration, Duration, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for c in 0..clients {
        let stop = stop.clone();
        handles.push(std::thread::spawn(move || {
            let mut cl = Client::connect(addr).expect("connect to the leader");
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let key = format!("c{c}-{}", k % 100);
                let req = if write {
                    json!({"op":"write","key":key,"value":k})
                } else {
                    json!({"op":"read","key":key})
                };
                let t = Instant::now();
                match cl.call(req) {
                    Ok(r) if r["ok"] == true => lat.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().expect("client thread");
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let ops = all.len() as f64 / secs as f64;
    (ops, percentile(&all, 0.5), percentile(&all, 0.99), errors)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let secs = env_u64("BENCH_SECS", 3);
    let failovers = env_u64("BENCH_FAILOVERS", 10);
    println!("| nodes | op | clients | ops/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    for n in [3usize, 5] {
        let c = support::start(n, &[], false);
        let leader = c.wait_leader(Duration::from_secs(10));
        let addr = c.nodes[leader].client_addr;
        for write in [true, false] {
            for clients in [1usize, 16, 64] {
                let (ops, p50, p99, errors) = load(addr, clients, secs, write);
                println!(
                    "| {n} | {} | {clients} | {ops:.0} | {} | {} | {errors} |",
                    if write { "write" } else { "read" },
                    ms(p50),
                    ms(p99)
                );
            }
        }
    }
    // Failover: kill -9 the leader, time until a write is acknowledged again.
    let mut c = support::start(3, &[], false);
    let mut times = Vec::new();
    for round in 0..failovers {
        let leader = c.wait_leader(Duration::from_secs(10));
        c.write("warm", json!(round), Duration::from_secs(10));
        c.kill(leader);
        let t = Instant::now();
        let mut served = false;
        'outer: while t.elapsed() < Duration::from_secs(10) {
            for i in 0..3 {
                if !c.is_up(i) {
                    continue;
                }
                // A smart client: find the node that says it leads, write there.
                let Some(st) = c.status(i) else { continue };
                if st["role"] != "leader" {
                    continue;
                }
                if let Ok(mut cl) = c.client(i) {
                    if let Ok(r) = cl.call(json!({"op":"write","key":"f","value":round})) {
                        if r["ok"] == true {
                            served = true;
                            break 'outer;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(
            served,
            "writes not served within 10 s of killing the leader"
        );
        times.push(t.elapsed());
        c.start_node(leader);
        std::thread::sleep(Duration::from_millis(500));
    }
    times.sort_unstable();
    println!();
    println!(
        "failover (3 nodes, election timeout 150-300 ms, {} kills of the leader): median {} ms, min {} ms, max {} ms",
        times.len(),
        ms(percentile(&times, 0.5)),
        ms(times[0]),
        ms(*times.last().unwrap())
    );
}
