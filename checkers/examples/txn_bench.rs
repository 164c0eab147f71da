//! Benchmark of the transaction checker: generates a list-append history (Elle's generator
//! shape: transactions of 1–4 micro-ops over a rotating set of keys, each key appended at most
//! 32 times, unique values) from a strictly serializable in-memory store driven by 10
//! processes, then times the check for each isolation model and for all of them together,
//! with the peak resident memory during each check.
//!
//!     cargo run --release -p checkers --example txn_bench -- 100000
//!     cargo run --release -p checkers --example txn_bench -- 1000000 --models serializable
//!     cargo run --release -p checkers --example txn_bench -- 10000 --write /tmp/h.jsonl

use checkers::txn::{check, IsolationModel, Options};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

fn usage() -> ! {
    eprintln!("usage: txn_bench TXNS [--processes N] [--seed S] [--models LIST] [--write FILE]");
    std::process::exit(254)
}

/// Peak resident set size since the last reset, in MiB.
fn peak_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn line(out: &mut String, index: &mut usize, kind: &str, p: usize, value: Vec<serde_json::Value>) {
    let _ = writeln!(
        out,
        "{}",
        json!({"index": *index, "time": *index, "type": kind, "process": p, "f": "txn", "value": value})
    );
    *index += 1;
}

/// A history of `n` list-append transactions as JSONL text.
fn generate(n: usize, processes: usize, seed: u64) -> String {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = String::with_capacity(n * 200);
    let mut lists: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut active: Vec<(u64, u32)> = (0..8).map(|k| (k, 0)).collect();
    let mut next_key = 8u64;
    let mut next_value = 1u64;
    let mut pending: Vec<Option<Vec<(bool, u64, u64)>>> = vec![None; processes];
    let mut index = 0usize;
    let mut started = 0usize;
    while started < n || pending.iter().any(|p| p.is_some()) {
        let p = rng.gen_range(0..processes);
        match pending[p].take() {
            None if started < n => {
                started += 1;
                let len = rng.gen_range(1..=4);
                let mops: Vec<(bool, u64, u64)> = (0..len)
                    .map(|_| {
                        let slot = rng.gen_range(0..active.len());
                        let read = rng.gen_bool(0.5);
                        let (k, count) = &mut active[slot];
                        let key = *k;
                        if read {
                            (true, key, 0)
                        } else {
                            *count += 1;
                            if *count >= 32 {
                                *k = next_key;
                                *count = 0;
                                next_key += 1;
                            }
                            next_value += 1;
                            (false, key, next_value)
                        }
                    })
                    .collect();
                let value = mops
                    .iter()
                    .map(|&(read, k, v)| {
                        if read {
                            json!(["r", k.to_string(), null])
                        } else {
                            json!(["append", k.to_string(), v])
                        }
                    })
                    .collect();
                line(&mut out, &mut index, "invoke", p, value);
                pending[p] = Some(mops);
            }
            None => {}
            Some(mops) => {
                // Apply atomically now, reading the live state (and the txn's own appends).
                let mut reads = Vec::new();
                for &(read, k, v) in &mops {
                    let l = lists.entry(k).or_default();
                    if read {
                        reads.push(json!(l.clone()));
                    } else {
                        l.push(v);
                    }
                }
                let mut r = reads.into_iter();
                let value: Vec<serde_json::Value> = mops
                    .iter()
                    .map(|&(read, k, v)| {
                        if read {
                            json!(["r", k.to_string(), r.next()])
                        } else {
                            json!(["append", k.to_string(), v])
                        }
                    })
                    .collect();
                line(&mut out, &mut index, "ok", p, value);
            }
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(n) = args.first().and_then(|a| a.parse::<usize>().ok()) else {
        usage()
    };
    let mut processes = 10;
    let mut seed = 1;
    let mut models: Option<Vec<IsolationModel>> = None;
    let mut write: Option<String> = None;
    let mut i = 1;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_else(|| usage());
        match args[i].as_str() {
            "--processes" => processes = v.parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = v.parse().unwrap_or_else(|_| usage()),
            "--models" => {
                models = Some(checkers::txn::parse_models(&v).unwrap_or_else(|e| {
                    eprintln!("{e}");
                    usage()
                }))
            }
            "--write" => write = Some(v),
            _ => usage(),
        }
        i += 2;
    }
    let t = Instant::now();
    let text = generate(n, processes, seed);
    eprintln!(
        "generated {n} transactions ({} MB of JSONL) in {:.1} s",
        text.len() / 1_000_000,
        t.elapsed().as_secs_f64()
    );
    if let Some(path) = write {
        std::fs::write(&path, &text).expect("write the history");
        eprintln!("wrote {path}");
        return;
    }
    let t = Instant::now();
    let h = histories::parse_jsonl(&text).expect("a well-formed history");
    drop(text);
    eprintln!("parsed in {:.1} s", t.elapsed().as_secs_f64());
    reset_peak();
    let base = peak_mib();
    println!("transactions: {n}, processes: {processes}; resident after parsing: {base:.0} MiB");
    println!("| models | check s | peak RSS MiB | verdict |");
    println!("|---|---|---|---|");
    let sets: Vec<(String, Vec<IsolationModel>)> = match models {
        Some(ms) => vec![(
            ms.iter().map(|m| m.name()).collect::<Vec<_>>().join(","),
            ms,
        )],
        None => IsolationModel::ALL
            .iter()
            .map(|m| (m.name().to_string(), vec![*m]))
            .chain(std::iter::once((
                "all ten".to_string(),
                IsolationModel::ALL.to_vec(),
            )))
            .collect(),
    };
    for (name, ms) in sets {
        reset_peak();
        let t = Instant::now();
        let r = check(
            &h,
            &Options {
                models: ms,
                ..Options::default()
            },
        )
        .expect("a transaction history");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "| {name} | {secs:.2} | {:.0} | {} |",
            peak_mib(),
            r.valid.as_str()
        );
        eprintln!("{name}: {}", r.stats);
    }
}
