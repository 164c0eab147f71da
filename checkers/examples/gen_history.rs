//! Writes a random, linearizable register history in faultline's JSONL form, for benchmarks.
//!
//! cargo run --release -p checkers --example gen_history -- OPS KEYS PROCESSES INFO_PERCENT SEED > out.jsonl
//!
//! A discrete-event simulation: each process has at most one operation outstanding; a pending
//! operation takes effect on a real per-key register at one instant and completes later, `ok`
//! or (INFO_PERCENT of the time) `info`, after which the worker continues under a new process id,
//! as in Jepsen. Written values are unique. Reads are half the operations.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};

/// A worker's outstanding operation: key, is it a write, the value written, has it taken
/// effect, what a read saw.
type Pending = (u64, bool, u64, bool, Option<u64>);

fn main() {
    let a: Vec<u64> = std::env::args()
        .skip(1)
        .map(|x| x.parse().expect("numbers"))
        .collect();
    let (ops, keys, procs, info, seed) = match a.as_slice() {
        [o, k, p, i, s] => (*o, *k, *p, *i, *s),
        _ => {
            eprintln!("usage: gen_history OPS KEYS PROCESSES INFO_PERCENT SEED");
            std::process::exit(254);
        }
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut regs: Vec<Option<u64>> = vec![None; keys as usize];
    // per worker: its process id and outstanding operation
    let mut workers: Vec<(u64, Option<Pending>)> = (0..procs).map(|p| (p, None)).collect();
    let out = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 20, out.lock());
    let (mut index, mut time, mut started, mut next_value) = (0u64, 0u64, 0u64, 1u64);
    loop {
        if started >= ops && workers.iter().all(|w| w.1.is_none()) {
            break;
        }
        let i = rng.gen_range(0..procs as usize);
        time += rng.gen_range(1..2000);
        let (pid, state) = &mut workers[i];
        match state {
            None if started < ops => {
                let key = rng.gen_range(0..keys);
                let is_write = rng.gen_bool(0.5);
                let value = if is_write {
                    next_value += 1;
                    next_value
                } else {
                    0
                };
                let v = if is_write {
                    value.to_string()
                } else {
                    "null".into()
                };
                let f = if is_write { "write" } else { "read" };
                let _ = writeln!(
                    w,
                    r#"{{"index":{index},"time":{time},"type":"invoke","process":{pid},"f":"{f}","key":"{key}","value":{v}}}"#
                );
                index += 1;
                started += 1;
                *state = Some((key, is_write, value, false, None));
            }
            None => {}
            Some((key, is_write, value, applied, result)) if !*applied => {
                if *is_write {
                    regs[*key as usize] = Some(*value);
                } else {
                    *result = regs[*key as usize];
                }
                *applied = true;
            }
            Some((key, is_write, value, _, result)) => {
                let timed_out = rng.gen_range(0..100) < info;
                let ty = if timed_out { "info" } else { "ok" };
                let f = if *is_write { "write" } else { "read" };
                let v = if *is_write {
                    value.to_string()
                } else if timed_out {
                    "null".into()
                } else {
                    result.map_or("null".into(), |r| r.to_string())
                };
                let _ = writeln!(
                    w,
                    r#"{{"index":{index},"time":{time},"type":"{ty}","process":{pid},"f":"{f}","key":"{key}","value":{v}}}"#
                );
                index += 1;
                *state = None;
                if timed_out {
                    *pid += procs;
                }
            }
        }
    }
    let _ = w.flush();
}
