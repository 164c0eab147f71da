//! Benchmark of the sequential, ZooKeeper and causal checkers on generated histories.
//!
//! A simulated linearizable store serves `--processes` concurrent clients over `--keys` keys;
//! half the operations are reads, half writes of unique values; each operation takes effect at
//! a random moment between its invocation and its completion, so operations overlap. Writes
//! carry the zxid of their commit so that the ZooKeeper check can use it (`--no-zxid` drops it
//! and forces the search). `--stale P` makes a fraction P of reads return an older value (the
//! history is then usually invalid). `--lagging-replicas` serves reads from three replicas that
//! apply the commit log in order but lag behind it, as ZooKeeper followers do: the history is
//! then sequentially consistent (and ZooKeeper-consistent) but not linearizable.
//!
//!     cargo run --release -p checkers --example consistency_bench -- --ops 100000 --model all
//!
//! Prints one line per model: operations, verdict, seconds, and peak resident memory so far.

use checkers::causal::{self, CausalModel};
use checkers::consistency::ModelReport;
use checkers::sequential::{self, Budget};
use checkers::zookeeper;
use histories::{History, OpStatus, Operation, NEVER};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

struct Args {
    ops: usize,
    processes: usize,
    keys: usize,
    model: String,
    seed: u64,
    zxid: bool,
    stale: f64,
    lag: bool,
    budget: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        ops: 100_000,
        processes: 10,
        keys: 100,
        model: "all".into(),
        seed: 1,
        zxid: true,
        stale: 0.0,
        lag: false,
        budget: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--ops" => a.ops = val()?.parse().map_err(|e| format!("--ops: {e}"))?,
            "--processes" => {
                a.processes = val()?.parse().map_err(|e| format!("--processes: {e}"))?
            }
            "--keys" => a.keys = val()?.parse().map_err(|e| format!("--keys: {e}"))?,
            "--model" => a.model = val()?,
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--stale" => a.stale = val()?.parse().map_err(|e| format!("--stale: {e}"))?,
            "--budget" => a.budget = val()?.parse().map_err(|e| format!("--budget: {e}"))?,
            "--no-zxid" => a.zxid = false,
            "--lagging-replicas" => a.lag = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Generates a history of a linearizable register store (optionally serving stale reads).
fn generate(a: &Args) -> History {
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let mut ops: Vec<Operation> = Vec::with_capacity(a.ops);
    // per key: versions (value, zxid) in commit order
    let mut versions: Vec<Vec<i64>> = vec![Vec::new(); a.keys];
    // per process: (op index, applied?)
    let mut pending: Vec<Option<(usize, bool)>> = vec![None; a.processes];
    let mut event: u64 = 0;
    let mut next_value = 1i64;
    let mut zxid = 0i64;
    let mut started = 0;
    // lagging replicas: how much of the commit log each has applied
    let mut log: Vec<(usize, i64)> = Vec::new();
    let mut applied = [0usize; 3];
    let mut rstate: Vec<Vec<Option<i64>>> = vec![vec![None; a.keys]; 3];
    loop {
        if a.lag && rng.gen_bool(0.3) {
            let r = rng.gen_range(0..3);
            let upto = (applied[r] + rng.gen_range(0..4)).min(log.len());
            while applied[r] < upto {
                let (k, v) = log[applied[r]];
                rstate[r][k] = Some(v);
                applied[r] += 1;
            }
        }
        let p = rng.gen_range(0..a.processes);
        match pending[p] {
            None if started < a.ops => {
                started += 1;
                let key = rng.gen_range(0..a.keys);
                let write = rng.gen_bool(0.5);
                let input = if write {
                    next_value += 1;
                    json!(next_value - 1)
                } else {
                    Value::Null
                };
                ops.push(Operation {
                    id: ops.len(),
                    process: p as u64,
                    f: if write { "write" } else { "read" }.into(),
                    key: Some(key.to_string()),
                    input,
                    output: Value::Null,
                    status: OpStatus::Info,
                    call: event,
                    ret: NEVER,
                    call_time: event * 1000,
                    ret_time: None,
                    call_line: event as usize + 1,
                    ret_line: None,
                    node: None,
                    error: None,
                    meta: Map::new(),
                });
                event += 1;
                pending[p] = Some((ops.len() - 1, false));
            }
            None => {
                if pending.iter().all(|x| x.is_none()) {
                    break;
                }
            }
            Some((i, false)) => {
                // take effect now
                let key: usize = ops[i].key.as_deref().unwrap_or("0").parse().unwrap_or(0);
                if ops[i].f == "write" {
                    zxid += 1;
                    versions[key].push(ops[i].input.as_i64().unwrap_or(0));
                    log.push((key, ops[i].input.as_i64().unwrap_or(0)));
                    // the writer's replica has applied its own write when it completes
                    let r = p % 3;
                    while applied[r] < log.len() {
                        let (k, v) = log[applied[r]];
                        rstate[r][k] = Some(v);
                        applied[r] += 1;
                    }
                    if a.zxid {
                        ops[i].meta.insert("zxid".into(), json!(zxid));
                    }
                } else {
                    let vs = &versions[key];
                    let v = if a.lag {
                        rstate[p % 3][key].map(|v| json!(v)).unwrap_or(Value::Null)
                    } else if !vs.is_empty() && rng.gen_bool(a.stale) {
                        let k = rng.gen_range(0..vs.len());
                        json!(vs[k])
                    } else {
                        vs.last().map(|v| json!(v)).unwrap_or(Value::Null)
                    };
                    ops[i].output = v;
                }
                pending[p] = Some((i, true));
            }
            Some((i, true)) => {
                let o = &mut ops[i];
                o.status = OpStatus::Ok;
                o.ret = event;
                o.ret_time = Some(event * 1000);
                o.ret_line = Some(event as usize + 1);
                event += 1;
                pending[p] = None;
            }
        }
    }
    History {
        ops,
        nemesis: Vec::new(),
        events: event as usize,
        torn: None,
        time_reversals: None,
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("consistency_bench: {e}");
            std::process::exit(254);
        }
    };
    let t = Instant::now();
    let h = generate(&a);
    eprintln!(
        "generated {} operations ({} processes, {} keys) in {:.2}s; peak RSS with the history alone: {:.0} MB",
        h.ops.len(),
        a.processes,
        a.keys,
        t.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    let budget = Budget {
        time: Duration::from_secs(a.budget),
        states: u64::MAX,
    };
    let models: Vec<&str> = if a.model == "all" {
        vec![
            "causal",
            "causal-convergence",
            "causal-memory",
            "sequential",
            "zookeeper",
        ]
    } else {
        a.model.split(',').collect()
    };
    for m in models {
        let t = Instant::now();
        let r: ModelReport = match m {
            "causal" => causal::check(&h, CausalModel::Causal),
            "causal-memory" => causal::check(&h, CausalModel::CausalMemory),
            "causal-convergence" => causal::check(&h, CausalModel::CausalConvergence),
            "sequential" => sequential::check(&h, &budget),
            "zookeeper" => zookeeper::check(&h, &budget),
            other => {
                eprintln!("consistency_bench: unknown model {other}");
                std::process::exit(254);
            }
        };
        println!(
            "{m:<20} ops={:<8} valid={:<8} seconds={:<8.3} peak_rss_mb={:.0} anomalies={} stats={}",
            h.ops.len(),
            r.valid.as_str(),
            t.elapsed().as_secs_f64(),
            peak_rss_mb(),
            r.anomalies.len(),
            r.stats
        );
        if let Some(reason) = &r.reason {
            println!("  reason: {reason}");
        }
    }
}
