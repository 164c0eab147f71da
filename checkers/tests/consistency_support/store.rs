//! Simulated stores that produce random small register histories: a linearizable single copy,
//! causally consistent replicas (with and without last-writer-wins convergence), replicas that
//! break causality, and a store that serves stale reads. Writes sometimes fail (not applied) or
//! end `info` (applied or not, at random); values are unique per key.

use super::Events;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Linearizable,
    Causal,
    CausalLww,
    CausalityBreaking,
    StaleReads,
}

pub const KINDS: [Kind; 5] = [
    Kind::Linearizable,
    Kind::Causal,
    Kind::CausalLww,
    Kind::CausalityBreaking,
    Kind::StaleReads,
];

#[derive(Clone)]
struct Write {
    key: usize,
    value: i64,
    origin: usize,
    /// per-origin sequence number and the origin replica's clock when written
    seq: u32,
    deps: Vec<u32>,
    stamp: (u64, usize),
}

struct Replica {
    value: Vec<Option<(i64, (u64, usize))>>,
    clock: Vec<u32>,
    lamport: u64,
    inbox: Vec<Write>,
}

pub struct Params {
    pub processes: usize,
    pub keys: usize,
    pub ops: usize,
    pub syncs: bool,
    /// Some writes are compare-and-sets.
    pub cas: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            processes: 3,
            keys: 2,
            ops: 9,
            syncs: false,
            cas: false,
        }
    }
}

const KEYS: [&str; 4] = ["x", "y", "z", "w"];

/// One random history of at most `p.ops` operations from a store of kind `kind`.
pub fn generate(kind: Kind, seed: u64, p: &Params) -> Events {
    let mut rng = SmallRng::seed_from_u64(seed);
    let nrep = p.processes;
    let mut reps: Vec<Replica> = (0..nrep)
        .map(|_| Replica {
            value: vec![None; p.keys],
            clock: vec![0; nrep],
            lamport: 0,
            inbox: Vec::new(),
        })
        .collect();
    // single-copy state and version history (linearizable and stale stores)
    let mut versions: Vec<Vec<Option<i64>>> = vec![vec![None]; p.keys];
    let mut ev = Events::new();
    let mut proc_id: Vec<u64> = (0..p.processes as u64).collect();
    // pending: (f, key, value)
    let mut pending: Vec<Option<(&'static str, usize, i64)>> = vec![None; p.processes];
    let mut next_value = 1i64;
    let mut started = 0usize;
    let mut seq = vec![0u32; nrep];
    let mut expect: Vec<Option<i64>> = vec![None; p.processes];
    let ops = rng.gen_range(4..=p.ops);
    let keys = rng.gen_range(1..=p.keys);
    loop {
        let idle: Vec<usize> = (0..p.processes).filter(|&i| pending[i].is_none()).collect();
        let busy: Vec<usize> = (0..p.processes).filter(|&i| pending[i].is_some()).collect();
        if busy.is_empty() && started >= ops {
            break;
        }
        let choice = rng.gen_range(0..10);
        if choice < 4 {
            // deliver a replicated write somewhere
            let r = rng.gen_range(0..nrep);
            deliver(kind, &mut reps[r], &mut rng);
            continue;
        }
        if choice < 7 && started < ops && !idle.is_empty() {
            let i = idle[rng.gen_range(0..idle.len())];
            let pid = proc_id[i];
            started += 1;
            if p.syncs && rng.gen_range(0..6) == 0 {
                ev.sync(pid);
                continue;
            }
            let key = rng.gen_range(0..keys);
            if p.cas && rng.gen_range(0..4) == 0 {
                let v = next_value;
                next_value += 1;
                let current = match kind {
                    Kind::Linearizable | Kind::StaleReads => *versions[key].last().unwrap_or(&None),
                    _ => reps[i % nrep].value[key].map(|(v, _)| v),
                };
                let e = if rng.gen_bool(0.7) || v < 2 {
                    current
                } else {
                    Some(rng.gen_range(1..v))
                };
                expect[i] = e;
                ev.invoke(pid, "cas", KEYS[key], json!([e, v]));
                pending[i] = Some(("cas", key, v));
            } else if rng.gen_bool(0.5) {
                let v = next_value;
                next_value += 1;
                ev.invoke(pid, "write", KEYS[key], json!(v));
                pending[i] = Some(("write", key, v));
            } else {
                ev.invoke(pid, "read", KEYS[key], Value::Null);
                pending[i] = Some(("read", key, 0));
            }
            continue;
        }
        if busy.is_empty() {
            continue;
        }
        let i = busy[rng.gen_range(0..busy.len())];
        let pid = proc_id[i];
        let Some((f, key, v)) = pending[i].take() else {
            continue;
        };
        let r = i % nrep;
        if f == "cas" {
            let current = match kind {
                Kind::Linearizable | Kind::StaleReads => *versions[key].last().unwrap_or(&None),
                _ => reps[r].value[key].map(|(v, _)| v),
            };
            let e = expect[i];
            if current != e {
                ev.complete("fail", pid, "cas", KEYS[key], json!([e, v]));
                continue;
            }
            ev.complete("ok", pid, "cas", KEYS[key], json!([e, v]));
        }
        if f == "write" || f == "cas" {
            let outcome = if f == "cas" { 5 } else { rng.gen_range(0..10) };
            let applied = match outcome {
                0 => false,
                1 => rng.gen_bool(0.5),
                _ => true,
            };
            if applied {
                match kind {
                    Kind::Linearizable | Kind::StaleReads => versions[key].push(Some(v)),
                    _ => {
                        let rep = &mut reps[r];
                        rep.lamport += 1;
                        seq[r] += 1;
                        rep.clock[r] = seq[r];
                        let w = Write {
                            key,
                            value: v,
                            origin: r,
                            seq: seq[r],
                            deps: rep.clock.clone(),
                            stamp: (rep.lamport, r),
                        };
                        rep.value[key] = Some((v, w.stamp));
                        for (j, other) in reps.iter_mut().enumerate() {
                            if j != r {
                                other.inbox.push(w.clone());
                            }
                        }
                    }
                }
            }
            match outcome {
                _ if f == "cas" => {}
                0 => {
                    ev.complete("fail", pid, "write", KEYS[key], json!(v));
                }
                1 => {
                    ev.complete("info", pid, "write", KEYS[key], json!(v));
                    proc_id[i] += p.processes as u64;
                }
                _ => {
                    ev.complete("ok", pid, "write", KEYS[key], json!(v));
                }
            }
        } else {
            let got: Option<i64> = match kind {
                Kind::Linearizable => *versions[key].last().unwrap_or(&None),
                Kind::StaleReads => {
                    let vs = &versions[key];
                    vs[rng.gen_range(0..vs.len())]
                }
                // A causality-breaking store lets sessions hop between replicas.
                Kind::CausalityBreaking => reps[rng.gen_range(0..nrep)].value[key].map(|(v, _)| v),
                _ => reps[r].value[key].map(|(v, _)| v),
            };
            if rng.gen_range(0..20) == 0 {
                ev.complete("info", pid, "read", KEYS[key], Value::Null);
                proc_id[i] += p.processes as u64;
            } else {
                ev.complete("ok", pid, "read", KEYS[key], json!(got));
            }
        }
    }
    ev
}

fn deliver(kind: Kind, rep: &mut Replica, rng: &mut SmallRng) {
    if rep.inbox.is_empty() {
        return;
    }
    let idx = match kind {
        Kind::Causal | Kind::CausalLww => {
            let ready: Vec<usize> = (0..rep.inbox.len())
                .filter(|&i| {
                    let w = &rep.inbox[i];
                    w.seq == rep.clock[w.origin] + 1
                        && w.deps
                            .iter()
                            .enumerate()
                            .all(|(j, &d)| j == w.origin || d <= rep.clock[j])
                })
                .collect();
            if ready.is_empty() {
                return;
            }
            ready[rng.gen_range(0..ready.len())]
        }
        _ => rng.gen_range(0..rep.inbox.len()),
    };
    let w = rep.inbox.remove(idx);
    if w.seq > rep.clock[w.origin] {
        rep.clock[w.origin] = w.seq;
    }
    rep.lamport = rep.lamport.max(w.stamp.0);
    let apply = match kind {
        Kind::CausalLww => rep.value[w.key].is_none_or(|(_, s)| s < w.stamp),
        _ => true,
    };
    if apply {
        rep.value[w.key] = Some((w.value, w.stamp));
    }
}

/// A ZooKeeper-like ensemble: a leader orders writes (zxid = position in its log, recorded on
/// the write's completion), three replicas apply the log in order with lag, and each session
/// reads from its replica (or, with `hop`, from any replica, so its reads can go backwards).
/// A sync brings the session's replica up to date with the leader. Reads record the zxid their
/// replica had applied when `read_zxids`.
pub fn generate_zk(seed: u64, hop: bool, read_zxids: bool, ops: usize) -> Events {
    let mut rng = SmallRng::seed_from_u64(seed);
    let procs = 3usize;
    let keys = rng.gen_range(1..=2usize);
    let mut log: Vec<(usize, i64)> = Vec::new();
    let mut applied = [0usize; 3];
    let mut state: Vec<Vec<Option<i64>>> = vec![vec![None; keys]; 3];
    let catch_up = |r: usize,
                    upto: usize,
                    applied: &mut [usize; 3],
                    state: &mut Vec<Vec<Option<i64>>>,
                    log: &Vec<(usize, i64)>| {
        while applied[r] < upto.min(log.len()) {
            let (k, v) = log[applied[r]];
            state[r][k] = Some(v);
            applied[r] += 1;
        }
    };
    let mut ev = Events::new();
    let mut pending: Vec<Option<(&'static str, usize, i64)>> = vec![None; procs];
    let mut next_value = 1;
    let mut started = 0;
    let total = rng.gen_range(3..=ops);
    loop {
        let busy: Vec<usize> = (0..procs).filter(|&i| pending[i].is_some()).collect();
        if busy.is_empty() && started >= total {
            break;
        }
        let c = rng.gen_range(0..10);
        if c < 3 {
            let r = rng.gen_range(0..3);
            let upto = applied[r] + 1;
            catch_up(r, upto, &mut applied, &mut state, &log);
            continue;
        }
        let idle: Vec<usize> = (0..procs).filter(|&i| pending[i].is_none()).collect();
        if c < 7 && started < total && !idle.is_empty() {
            let p = idle[rng.gen_range(0..idle.len())];
            started += 1;
            let key = rng.gen_range(0..keys);
            match rng.gen_range(0..6) {
                0 => {
                    ev.invoke(p as u64, "sync", KEYS[0], Value::Null);
                    pending[p] = Some(("sync", 0, 0));
                }
                1..=2 => {
                    ev.invoke(p as u64, "write", KEYS[key], json!(next_value));
                    pending[p] = Some(("write", key, next_value));
                    next_value += 1;
                }
                _ => {
                    ev.invoke(p as u64, "read", KEYS[key], Value::Null);
                    pending[p] = Some(("read", key, 0));
                }
            }
            continue;
        }
        if busy.is_empty() {
            continue;
        }
        let p = busy[rng.gen_range(0..busy.len())];
        let Some((f, key, v)) = pending[p].take() else {
            continue;
        };
        let home = p % 3;
        match f {
            "write" => {
                log.push((key, v));
                let z = log.len() as i64;
                catch_up(home, log.len(), &mut applied, &mut state, &log);
                ev.complete_with(
                    "ok",
                    p as u64,
                    "write",
                    KEYS[key],
                    json!(v),
                    &[("zxid", json!(z))],
                );
            }
            "sync" => {
                // ZooKeeper's sync: the session's replica catches up with the leader.
                catch_up(home, log.len(), &mut applied, &mut state, &log);
                ev.complete_with("ok", p as u64, "sync", KEYS[0], Value::Null, &[]);
            }
            _ => {
                let r = if hop { rng.gen_range(0..3) } else { home };
                let got = state[r][key];
                let extra: Vec<(&str, Value)> = if read_zxids {
                    vec![("zxid", json!(applied[r] as i64))]
                } else {
                    vec![]
                };
                ev.complete_with("ok", p as u64, "read", KEYS[key], json!(got), &extra);
            }
        }
    }
    ev
}
