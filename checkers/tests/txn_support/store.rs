//! Simulated transactional stores producing random small histories of list-append or
//! rw-register transactions: a strictly serializable store, snapshot isolation (first
//! committer wins), a store reading stale snapshots (sometimes without the write-conflict
//! check), read committed, and a store that applies writes one by one and lies about
//! failures. Processes interleave step by step; some transactions end `info` (applied or not)
//! and snapshot isolation aborts conflicting ones (`fail`).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Serializable,
    Snapshot,
    StaleSnapshot,
    ReadCommitted,
    NonAtomic,
}

pub const KINDS: [Kind; 5] = [
    Kind::Serializable,
    Kind::Snapshot,
    Kind::StaleSnapshot,
    Kind::ReadCommitted,
    Kind::NonAtomic,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    List,
    Register,
}

const KEYS: [&str; 3] = ["x", "y", "z"];

#[derive(Clone, Debug)]
enum Cell {
    List(Vec<i64>),
    Reg(Option<i64>),
}

type State = Vec<Cell>;

#[derive(Clone)]
struct Mop {
    read: bool,
    key: usize,
    value: i64,
    result: Option<Value>,
}

struct Txn {
    process: u64,
    mops: Vec<Mop>,
    /// Next micro-op to execute.
    next: usize,
    snapshot: Option<usize>,
    writes: Vec<(usize, i64)>,
    /// Whether the client will see info, and whether the store applies it anyway.
    info: bool,
    apply_info: bool,
}

pub struct Params {
    pub processes: usize,
    pub txns: usize,
    pub keys: usize,
    pub max_mops: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            processes: 4,
            txns: 8,
            keys: 2,
            max_mops: 3,
        }
    }
}

fn read_cell(c: &Cell) -> Value {
    match c {
        Cell::List(l) => json!(l),
        Cell::Reg(v) => json!(v),
    }
}

fn write_cell(c: &mut Cell, v: i64) {
    match c {
        Cell::List(l) => l.push(v),
        Cell::Reg(r) => *r = Some(v),
    }
}

/// One history (JSONL text) from a store of `kind`.
pub fn generate(kind: Kind, data: Data, seed: u64, p: &Params) -> String {
    let mut rng = SmallRng::seed_from_u64(seed);
    let empty = || -> State {
        (0..p.keys)
            .map(|_| match data {
                Data::List => Cell::List(Vec::new()),
                Data::Register => Cell::Reg(None),
            })
            .collect()
    };
    // The committed log: each entry the writes of one transaction, in commit order.
    let mut log: Vec<Vec<(usize, i64)>> = Vec::new();
    let mut live: State = empty();
    let state_at = |log: &[Vec<(usize, i64)>], n: usize| -> State {
        let mut s = empty();
        for ws in &log[..n] {
            for &(k, v) in ws {
                write_cell(&mut s[k], v);
            }
        }
        s
    };
    let mut next_value = vec![1i64; p.keys];
    let mut lines: Vec<String> = Vec::new();
    let emit = |lines: &mut Vec<String>, kind: &str, process: u64, value: Value| {
        let i = lines.len();
        lines.push(
            json!({"index": i, "time": i, "type": kind, "process": process, "f": "txn", "value": value})
                .to_string(),
        );
    };
    let mut pids: Vec<u64> = (0..p.processes as u64).collect();
    let mut running: Vec<Option<Txn>> = (0..p.processes).map(|_| None).collect();
    let mut started = 0;
    loop {
        let idle: Vec<usize> = (0..p.processes).filter(|&i| running[i].is_none()).collect();
        if started >= p.txns && idle.len() == p.processes {
            break;
        }
        let w = rng.gen_range(0..p.processes);
        match running[w].take() {
            None => {
                if started >= p.txns {
                    continue;
                }
                started += 1;
                let n = rng.gen_range(1..=p.max_mops);
                let mut mops: Vec<Mop> = (0..n)
                    .map(|_| {
                        let key = rng.gen_range(0..p.keys);
                        let read = rng.gen_bool(0.5);
                        let value = if read {
                            0
                        } else {
                            next_value[key] += 1;
                            next_value[key] - 1
                        };
                        Mop {
                            read,
                            key,
                            value,
                            result: None,
                        }
                    })
                    .collect();
                if data == Data::Register {
                    // Registers: half the writes read their key first (read-modify-write).
                    let mut rmw = Vec::with_capacity(mops.len() * 2);
                    for m in mops {
                        if !m.read && rng.gen_bool(0.5) {
                            rmw.push(Mop {
                                read: true,
                                key: m.key,
                                value: 0,
                                result: None,
                            });
                        }
                        rmw.push(m);
                    }
                    mops = rmw;
                }
                let f = if data == Data::List { "append" } else { "w" };
                let inv: Vec<Value> = mops
                    .iter()
                    .map(|m| {
                        if m.read {
                            json!(["r", KEYS[m.key], null])
                        } else {
                            json!([f, KEYS[m.key], m.value])
                        }
                    })
                    .collect();
                emit(&mut lines, "invoke", pids[w], json!(inv));
                let info = rng.gen_bool(0.1);
                running[w] = Some(Txn {
                    process: pids[w],
                    mops,
                    next: 0,
                    snapshot: None,
                    writes: Vec::new(),
                    info,
                    apply_info: rng.gen_bool(0.5),
                });
            }
            Some(mut t) => {
                // Execute one micro-op, or commit.
                let whole = kind == Kind::Serializable;
                if t.snapshot.is_none() {
                    t.snapshot = Some(match kind {
                        Kind::StaleSnapshot => rng.gen_range(0..=log.len()),
                        _ => log.len(),
                    });
                }
                while t.next < t.mops.len() {
                    let j = t.next;
                    t.next += 1;
                    let m = t.mops[j].clone();
                    let own = |t: &Txn, base: &State| {
                        let mut s = base.clone();
                        for &(k, v) in &t.writes {
                            write_cell(&mut s[k], v);
                        }
                        s
                    };
                    if m.read {
                        let view = match kind {
                            Kind::Snapshot | Kind::StaleSnapshot => {
                                own(&t, &state_at(&log, t.snapshot.unwrap_or(0)))
                            }
                            Kind::Serializable | Kind::ReadCommitted => own(&t, &live),
                            Kind::NonAtomic => live.clone(),
                        };
                        t.mops[j].result = Some(read_cell(&view[m.key]));
                    } else {
                        t.writes.push((m.key, m.value));
                        if kind == Kind::NonAtomic {
                            write_cell(&mut live[m.key], m.value);
                        }
                    }
                    if !whole && rng.gen_bool(0.5) {
                        break;
                    }
                }
                if t.next < t.mops.len() {
                    running[w] = Some(t);
                    continue;
                }
                // Commit.
                let mut status = "ok";
                let conflict = matches!(kind, Kind::Snapshot | Kind::StaleSnapshot)
                    && !(kind == Kind::StaleSnapshot && rng.gen_bool(0.5))
                    && log[t.snapshot.unwrap_or(0)..].iter().any(|ws| {
                        ws.iter()
                            .any(|(k, _)| t.writes.iter().any(|(k2, _)| k == k2))
                    });
                let apply = !conflict && (!t.info || t.apply_info);
                if conflict {
                    status = "fail";
                } else if t.info {
                    status = "info";
                }
                if kind == Kind::NonAtomic {
                    // Writes are already visible; a few are reported failed all the same.
                    if rng.gen_bool(0.1) {
                        status = "fail";
                    }
                    log.push(t.writes.clone());
                } else if apply && !t.writes.is_empty() {
                    for &(k, v) in &t.writes {
                        write_cell(&mut live[k], v);
                    }
                    log.push(t.writes.clone());
                }
                let f = if data == Data::List { "append" } else { "w" };
                let done: Vec<Value> = t
                    .mops
                    .iter()
                    .map(|m| {
                        if m.read {
                            if status == "ok" {
                                json!(["r", KEYS[m.key], m.result.clone().unwrap_or(Value::Null)])
                            } else {
                                json!(["r", KEYS[m.key], null])
                            }
                        } else {
                            json!([f, KEYS[m.key], m.value])
                        }
                    })
                    .collect();
                emit(&mut lines, status, t.process, json!(done));
                if status == "info" {
                    pids[w] += p.processes as u64;
                }
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
