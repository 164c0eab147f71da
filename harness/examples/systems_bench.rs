//! Side by side on one machine: raft-node against etcd, zab-node against ZooKeeper. Each system
//! runs as a real local cluster through its `--system` descriptor (the same processes, ports,
//! proxy and clients `faultline test` uses; fsync on for all four: our nodes always fsync, etcd
//! fsyncs its WAL, ZooKeeper's `forceSync` defaults to yes), and is measured the same way:
//!
//! - **throughput and latency**: N closed-loop clients (one request outstanding each, the
//!   descriptor's own client), all connected to the leader, each writing or reading 100 keys of
//!   its own for `--secs`; ops/s and p50/p99 of the acknowledged ones. Reads are each system's
//!   default: raft-node and etcd linearizable (ReadIndex / quorum read), zab-node and ZooKeeper
//!   local reads of the node the client is on. Before the first row, 16 clients write for
//!   `--warmup` seconds, unmeasured, on every system alike.
//! - **failover**: kill -9 of the leader; the survivors' `status` (the descriptor's: raft-node's
//!   and zab-node's own, etcd's maintenance status, ZooKeeper's `srvr`) is polled every 5 ms,
//!   and the first node that says it leads is sent writes until one is acknowledged; the time
//!   from the kill to that acknowledgement is the failover time. The killed node is restarted and the cluster settles before the next round.
//!
//! Run (release build of the nodes and of this example):
//!
//! ```text
//! cargo build --release -p raft -p zab && \
//!   cargo run --release -p harness --example systems_bench -- \
//!   [--systems raft,etcd,zab,zookeeper] [--nodes 3,5] [--clients 1,16,64] [--secs 3] \
//!   [--warmup 2] [--failovers 10] [--bin-dir DIR]
//! ```
//!
//! It prints one markdown table of throughput rows and one of failover medians (and the ratios
//! of ours to theirs), ready for BENCHMARKS.md. A system whose program is missing is skipped
//! with the sentence saying what to install.

use harness::control::LocalCluster;
use harness::db::System;
use histories::{Event, EventType};
use nemeses::Cluster;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workloads::client::{Client, ClientOptions};

struct Args {
    systems: Vec<String>,
    nodes: Vec<usize>,
    clients: Vec<usize>,
    secs: u64,
    warmup: u64,
    failovers: usize,
    bin_dir: Option<PathBuf>,
}

fn list<T: std::str::FromStr>(flag: &str, v: &str) -> Result<Vec<T>, String> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .map_err(|_| format!("{flag}: {x:?} is not a number"))
        })
        .collect()
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        systems: ["raft", "etcd", "zab", "zookeeper"]
            .map(String::from)
            .to_vec(),
        nodes: vec![3, 5],
        clients: vec![1, 16, 64],
        secs: 3,
        warmup: 2,
        failovers: 10,
        bin_dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value; see the module doc"))?;
        match flag.as_str() {
            "--systems" => a.systems = v.split(',').map(String::from).collect(),
            "--nodes" => a.nodes = list(&flag, &v)?,
            "--clients" => a.clients = list(&flag, &v)?,
            "--secs" => a.secs = v.parse().map_err(|_| format!("--secs: {v:?}"))?,
            "--warmup" => a.warmup = v.parse().map_err(|_| format!("--warmup: {v:?}"))?,
            "--failovers" => a.failovers = v.parse().map_err(|_| format!("--failovers: {v:?}"))?,
            "--bin-dir" => a.bin_dir = Some(PathBuf::from(v)),
            _ => return Err(format!("unknown option {flag}; see the module doc")),
        }
    }
    Ok(a)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// One throughput row.
struct Row {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

fn request(c: usize, k: u64, write: bool) -> Event {
    let key = Some(format!("c{c}-{}", k % 100));
    if write {
        Event::invoke(c as u64, "write", key, json!(k))
    } else {
        Event::invoke(c as u64, "read", key, Value::Null)
    }
}

/// `clients` closed-loop clients of `system` on `leader`'s endpoint for `secs`.
async fn load(
    system: &'static dyn System,
    cluster: &LocalCluster,
    leader: &str,
    clients: usize,
    secs: u64,
    write: bool,
) -> Row {
    let ep = cluster
        .endpoints()
        .into_iter()
        .find(|e| e.name == leader)
        .expect("the leader is a node");
    let make = system.clients(vec![ep], ClientOptions::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = make(c);
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut k) = (Vec::new(), 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let t = Instant::now();
                let done = client.invoke(&request(c, k, write)).await;
                if done.kind == EventType::Ok {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.expect("a client task");
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    Row {
        ops_per_sec: lat.len() as f64 / elapsed,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        errors,
    }
}

/// One failover: kill -9 the leader, then poll the survivors' `status` every 5 ms; the first
/// that says it leads is sent writes (1 s request timeout, 5 ms apart after a failure, the
/// status polled again in between) until one is acknowledged: the time from the kill to that
/// acknowledgement.
async fn failover(
    system: &'static dyn System,
    cluster: &LocalCluster,
    leader: &str,
    round: usize,
) -> Result<Duration, String> {
    let survivors: Vec<_> = cluster
        .endpoints()
        .into_iter()
        .filter(|e| e.name != leader)
        .collect();
    let opts = ClientOptions {
        op_timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    };
    let mut clients = BTreeMap::new();
    let killed = Instant::now();
    cluster
        .kill(leader)
        .await
        .map_err(|e| format!("kill {leader}: {e}"))?;
    let mut k = 0;
    let took = loop {
        if killed.elapsed() > Duration::from_secs(60) {
            break None;
        }
        let mut statuses = tokio::task::JoinSet::new();
        for ep in &survivors {
            let (name, st) = (
                ep.name.clone(),
                system.status(ep.addr, Duration::from_millis(200)),
            );
            statuses.spawn(async move { (name, st.await) });
        }
        let mut new_leader = None;
        while let Some(r) = statuses.join_next().await {
            if let Ok((name, Ok(st))) = r {
                if st.leads() {
                    new_leader = Some(name);
                }
            }
        }
        let Some(name) = new_leader else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let ep = survivors
            .iter()
            .find(|e| e.name == name)
            .expect("a survivor");
        let client = clients
            .entry(name.clone())
            .or_insert_with(|| system.clients(vec![ep.clone()], opts)(0));
        k += 1;
        let inv = Event::invoke(0, "write", Some(format!("failover-{round}")), json!(k));
        if client.invoke(&inv).await.kind == EventType::Ok {
            break Some(killed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    cluster
        .start(leader)
        .await
        .map_err(|e| format!("restart {leader}: {e}"))?;
    took.ok_or_else(|| "no write was acknowledged within 60 s of the kill".to_string())
}

/// Every figure of one system on `nodes` nodes.
async fn bench_system(
    system: &'static dyn System,
    program: PathBuf,
    nodes: usize,
    args: &Args,
    rows: &mut Vec<String>,
    failovers: &mut BTreeMap<(String, usize), Duration>,
) -> Result<(), String> {
    let run = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let cluster = LocalCluster::create(system, program, nodes, run.path(), &[])
        .await
        .map_err(|e| e.to_string())?;
    cluster.start_all().map_err(|e| e.to_string())?;
    let ready = Duration::from_secs(60);
    let mut leader = cluster.wait_ready(ready).await.map_err(|e| e.to_string())?;
    // The same warm-up for every system (a JVM compiles its hot paths in the first seconds).
    load(system, &cluster, &leader, 16, args.warmup, true).await;
    for &clients in &args.clients {
        for write in [true, false] {
            let r = load(system, &cluster, &leader, clients, args.secs, write).await;
            let line = format!(
                "| {} | {nodes} | {} | {clients} | {:.0} | {} | {} | {} |",
                system.name(),
                if write { "write" } else { "read" },
                r.ops_per_sec,
                ms(r.p50),
                ms(r.p99),
                r.errors
            );
            eprintln!("{line}");
            rows.push(line);
        }
    }
    let mut times = Vec::new();
    for round in 0..args.failovers {
        let t = failover(system, &cluster, &leader, round).await?;
        eprintln!(
            "{} {nodes} nodes: failover {} of {}: {} ms",
            system.name(),
            round + 1,
            args.failovers,
            ms(t)
        );
        times.push(t);
        leader = cluster.wait_ready(ready).await.map_err(|e| e.to_string())?;
        // Let the restarted node catch up before the next kill.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    times.sort_unstable();
    if !times.is_empty() {
        let line = format!(
            "| {} | {nodes} | {} | {} | {} | {} |",
            system.name(),
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(times[0]),
            ms(*times.last().expect("not empty"))
        );
        eprintln!("{line}");
        failovers.insert((system.name().to_string(), nodes), percentile(&times, 0.5));
        rows.push(line);
    }
    cluster.stop_all(Duration::from_secs(5));
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("systems_bench: {e}");
            std::process::exit(254);
        }
    };
    let mut rows = Vec::new();
    let mut failovers = BTreeMap::new();
    for name in &args.systems {
        let system = match harness::db::find(name) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("systems_bench: {e}");
                std::process::exit(254);
            }
        };
        let program = match system.program(args.bin_dir.as_deref()) {
            Ok(Some(p)) => p,
            Ok(None) => {
                eprintln!("systems_bench: {name} has no nodes to measure; skipped");
                continue;
            }
            Err(e) => {
                eprintln!("systems_bench: {name} skipped: {e}");
                continue;
            }
        };
        for &nodes in &args.nodes {
            if let Err(e) = bench_system(
                system,
                program.clone(),
                nodes,
                &args,
                &mut rows,
                &mut failovers,
            )
            .await
            {
                eprintln!("systems_bench: {name} on {nodes} nodes failed: {e}");
            }
        }
    }
    println!("| system | nodes | op | clients | ops/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.matches('|').count() == 9) {
        println!("{r}");
    }
    println!();
    println!("| system | nodes | failovers | median ms | min ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.matches('|').count() == 7) {
        println!("{r}");
    }
    println!();
    for (ours, theirs) in [("raft", "etcd"), ("zab", "zookeeper")] {
        for &n in &args.nodes {
            let (a, b) = (
                failovers.get(&(ours.to_string(), n)),
                failovers.get(&(theirs.to_string(), n)),
            );
            if let (Some(a), Some(b)) = (a, b) {
                println!(
                    "failover, {n} nodes: {ours} {} ms, {theirs} {} ms ({:.2}× of {theirs}'s)",
                    ms(*a),
                    ms(*b),
                    a.as_secs_f64() / b.as_secs_f64()
                );
            }
        }
    }
}
