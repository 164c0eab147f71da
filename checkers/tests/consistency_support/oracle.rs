//! Brute-force deciders, straight from the definitions, for small histories (≲ 10 operations).
//! They share nothing with the checkers: they read the `History` themselves, enumerate which
//! `info` writes happened, and enumerate orders.
//!
//! A cas is a read of its expected value and a write of its new value in one step.
//!
//! - sequential: some interleaving of the processes' operations in which every read returns
//!   the latest write;
//! - zookeeper: the same, where an update (write, sync) also comes after every update that
//!   completed before it was invoked;
//! - causal (CC): with CO = (PO ∪ RF)⁺, every read has a linear extension of CO over its
//!   causal past in which it returns the latest write;
//! - causal memory (CM): every process has a linear extension of CO over its causal past in
//!   which all its own reads return the latest write;
//! - causal convergence (CCv): some arbitration order of all writes extending CO such that
//!   every read returns the arbitration-last write of its key in its causal past.

#![allow(clippy::needless_range_loop)]

use histories::{History, OpStatus};

#[derive(Debug, Clone)]
struct O {
    process: u64,
    key: Option<String>,
    /// Some(v) for writes
    write: Option<i64>,
    /// Some(v) for reads (None inside = initial)
    read: Option<Option<i64>>,
    call: u64,
    ret: Option<u64>,
    update: bool,
}

/// All versions of the history: one per subset of info writes that happened.
fn worlds(h: &History) -> Vec<Vec<O>> {
    let mut base = Vec::new();
    let mut maybe = Vec::new();
    for op in &h.ops {
        let o = O {
            process: op.process,
            key: op.key.clone(),
            write: match op.f.as_str() {
                "write" => Some(op.input.as_i64().unwrap_or(0)),
                "cas" => Some(op.input[1].as_i64().unwrap_or(0)),
                _ => None,
            },
            read: match op.f.as_str() {
                "read" => Some(op.output.as_i64()),
                "cas" => Some(op.input[0].as_i64()),
                _ => None,
            },
            call: op.call,
            ret: (op.status == OpStatus::Ok).then_some(op.ret),
            update: op.f != "read",
        };
        match (op.f.as_str(), op.status) {
            (_, OpStatus::Fail) => {}
            ("read", OpStatus::Info) | ("sync", OpStatus::Info) => {}
            (_, OpStatus::Ok) => base.push(o),
            (_, OpStatus::Info) => maybe.push(o),
        }
    }
    assert!(maybe.len() <= 12, "too many info writes for the oracle");
    let mut out = Vec::new();
    for mask in 0u32..(1 << maybe.len()) {
        let mut w = base.clone();
        for (i, o) in maybe.iter().enumerate() {
            if mask & (1 << i) != 0 {
                w.push(o.clone());
            }
        }
        w.sort_by_key(|o| o.call);
        out.push(w);
    }
    out
}

fn po(ops: &[O], a: usize, b: usize) -> bool {
    ops[a].process == ops[b].process && ops[a].call < ops[b].call
}

/// The write each read read from: Ok(None) for the initial value, Err for thin air.
fn sources(ops: &[O]) -> Result<Vec<Option<usize>>, ()> {
    let mut src = vec![None; ops.len()];
    for (i, o) in ops.iter().enumerate() {
        if let Some(Some(v)) = o.read {
            let w = ops
                .iter()
                .position(|w| w.key == o.key && w.write == Some(v))
                .ok_or(())?;
            src[i] = Some(w);
        }
    }
    Ok(src)
}

/// CO as a closed boolean matrix, or None if cyclic.
fn causal_order(ops: &[O], src: &[Option<usize>]) -> Option<Vec<Vec<bool>>> {
    let n = ops.len();
    let mut m = vec![vec![false; n]; n];
    for a in 0..n {
        for b in 0..n {
            if po(ops, a, b) || src[b] == Some(a) {
                m[a][b] = true;
            }
        }
    }
    for k in 0..n {
        for a in 0..n {
            if m[a][k] {
                for b in 0..n {
                    if m[k][b] {
                        m[a][b] = true;
                    }
                }
            }
        }
    }
    (0..n).all(|a| !m[a][a]).then_some(m)
}

/// Whether some linear extension of `before` over `set` makes every read in `visible` return
/// the latest write placed before it.
fn exists_extension(
    ops: &[O],
    src: &[Option<usize>],
    before: &[Vec<bool>],
    set: &[usize],
    visible: &[usize],
) -> bool {
    fn go(
        ops: &[O],
        src: &[Option<usize>],
        before: &[Vec<bool>],
        set: &[usize],
        visible: &[usize],
        placed: &mut Vec<usize>,
    ) -> bool {
        if placed.len() == set.len() {
            return true;
        }
        for &x in set {
            if placed.contains(&x) {
                continue;
            }
            if set
                .iter()
                .any(|&y| y != x && before[y][x] && !placed.contains(&y))
            {
                continue;
            }
            if visible.contains(&x) {
                let last = placed
                    .iter()
                    .rev()
                    .find(|&&w| ops[w].write.is_some() && ops[w].key == ops[x].key)
                    .copied();
                if last != src[x] {
                    continue;
                }
            }
            placed.push(x);
            if go(ops, src, before, set, visible, placed) {
                return true;
            }
            placed.pop();
        }
        false
    }
    go(ops, src, before, set, visible, &mut Vec::new())
}

fn past(co: &[Vec<bool>], o: usize) -> Vec<usize> {
    (0..co.len()).filter(|&x| x == o || co[x][o]).collect()
}

fn cc_world(ops: &[O]) -> bool {
    let Ok(src) = sources(ops) else { return false };
    let Some(co) = causal_order(ops, &src) else {
        return false;
    };
    (0..ops.len())
        .filter(|&r| ops[r].read.is_some())
        .all(|r| exists_extension(ops, &src, &co, &past(&co, r), &[r]))
}

fn cm_world(ops: &[O]) -> bool {
    let Ok(src) = sources(ops) else { return false };
    let Some(co) = causal_order(ops, &src) else {
        return false;
    };
    let mut procs: Vec<u64> = ops.iter().map(|o| o.process).collect();
    procs.sort_unstable();
    procs.dedup();
    procs.into_iter().all(|p| {
        let mine: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].process == p).collect();
        let last = *mine.last().unwrap_or(&0);
        let reads: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&i| ops[i].read.is_some())
            .collect();
        exists_extension(ops, &src, &co, &past(&co, last), &reads)
    })
}

fn ccv_world(ops: &[O]) -> bool {
    let Ok(src) = sources(ops) else { return false };
    let Some(co) = causal_order(ops, &src) else {
        return false;
    };
    let writes: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].write.is_some()).collect();
    let reads: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].read.is_some()).collect();
    // Enumerate arbitration orders of the writes that extend CO.
    fn go(
        ops: &[O],
        src: &[Option<usize>],
        co: &[Vec<bool>],
        writes: &[usize],
        reads: &[usize],
        arb: &mut Vec<usize>,
    ) -> bool {
        if arb.len() == writes.len() {
            return reads.iter().all(|&r| {
                let last = arb
                    .iter()
                    .rev()
                    .find(|&&w| ops[w].key == ops[r].key && co[w][r])
                    .copied();
                last == src[r]
            });
        }
        for &w in writes {
            if arb.contains(&w) {
                continue;
            }
            if arb.iter().any(|&a| co[w][a]) {
                continue;
            }
            arb.push(w);
            if go(ops, src, co, writes, reads, arb) {
                return true;
            }
            arb.pop();
        }
        false
    }
    go(ops, &src, &co, &writes, &reads, &mut Vec::new())
}

fn interleave(ops: &[O], realtime_updates: bool) -> bool {
    let n = ops.len();
    let Ok(src) = sources(ops) else { return false };
    let mut before = vec![vec![false; n]; n];
    for a in 0..n {
        for b in 0..n {
            before[a][b] = po(ops, a, b)
                || (realtime_updates
                    && ops[a].update
                    && ops[b].update
                    && ops[a].ret.is_some_and(|r| r < ops[b].call));
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let reads: Vec<usize> = (0..n).filter(|&i| ops[i].read.is_some()).collect();
    exists_extension(ops, &src, &before, &all, &reads)
}

pub fn causal(h: &History) -> bool {
    worlds(h).iter().any(|w| cc_world(w))
}

pub fn causal_memory(h: &History) -> bool {
    worlds(h).iter().any(|w| cm_world(w))
}

pub fn causal_convergence(h: &History) -> bool {
    worlds(h).iter().any(|w| ccv_world(w))
}

pub fn sequential(h: &History) -> bool {
    worlds(h).iter().any(|w| interleave(w, false))
}

pub fn zookeeper(h: &History) -> bool {
    worlds(h).iter().any(|w| interleave(w, true))
}
