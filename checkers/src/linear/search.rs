//! The general linearizability search for any model: Wing & Gong's backtracking over a list of
//! call and return entries, with Lowe's memoization of (set of linearized operations, state).
//!
//! Optional operations (`info`, never completed) have a call entry and no return entry: the
//! search may linearize them at any point after their call, and succeeds once every required
//! operation is linearized, leaving the rest as never having happened.

use super::memo::{zobrist, Memo};
use super::model::{POp, Val, Values};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Limits on one search.
#[derive(Clone, Copy)]
pub struct Limits<'a> {
    pub deadline: Instant,
    pub max_bytes: usize,
    pub cancel: Option<&'a AtomicBool>,
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Linearizable; the order found (indices into the prepared ops).
    Linearizable(Vec<usize>),
    /// Not linearizable. `best` is the longest linearizable prefix found (indices into the
    /// prepared ops, in linearization order); `stuck` is the required operation whose return no
    /// order could get past.
    Illegal { best: Vec<usize>, stuck: usize },
    /// Out of time or memory, or cancelled.
    Unknown(String),
}

/// Statistics of a search.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchStats {
    pub steps: u64,
    pub memo_entries: usize,
    pub memo_bytes: usize,
}

const HEAD: usize = usize::MAX;

pub fn search(ops: &[POp], values: &mut Values, limits: Limits) -> (Outcome, SearchStats) {
    let n = ops.len();
    // Entries: 2*i is the call of op i, 2*i+1 its return (absent for optional ops).
    let mut order: Vec<(u64, usize)> = Vec::with_capacity(2 * n);
    for (i, o) in ops.iter().enumerate() {
        order.push((o.call, 2 * i));
        if o.required {
            order.push((o.ret, 2 * i + 1));
        }
    }
    order.sort_unstable();
    let m = 2 * n;
    let mut next = vec![HEAD; m + 1];
    let mut prev = vec![HEAD; m + 1];
    let head = m; // sentinel slot
    let mut last = head;
    for &(_, e) in &order {
        next[last] = e;
        prev[e] = last;
        last = e;
    }
    next[last] = HEAD;

    let words = n.div_ceil(64).max(1);
    let mut bits = vec![0u64; words];
    let mut bits_hash = 0u64;
    let z = zobrist(n);
    let mut memo = Memo::new(words);
    let mut stack: Vec<(usize, Val)> = Vec::new();
    let mut state: Val = 0;
    let mut remaining = ops.iter().filter(|o| o.required).count();
    let mut best: Vec<usize> = Vec::new();
    let mut stuck: Option<usize> = None;
    let mut stats = SearchStats::default();
    let mut entry = next[head];

    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, nx) = (prev[e], next[e]);
        next[p] = nx;
        if nx != HEAD {
            prev[nx] = p;
        }
    };
    let unlift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, nx) = (prev[e], next[e]);
        next[p] = e;
        if nx != HEAD {
            prev[nx] = e;
        }
    };

    while remaining > 0 {
        stats.steps += 1;
        if stats.steps & 0xFFF == 0 {
            if Instant::now() > limits.deadline {
                return (
                    Outcome::Unknown("time budget exhausted".into()),
                    finish(stats, &memo),
                );
            }
            if memo.bytes() + values.bytes() > limits.max_bytes {
                return (
                    Outcome::Unknown("memory budget exhausted".into()),
                    finish(stats, &memo),
                );
            }
            if limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return (Outcome::Unknown("cancelled".into()), finish(stats, &memo));
            }
        }
        if entry == HEAD {
            // Only optional calls remain ahead of us and none can be taken: impossible while
            // a required operation is outstanding, since its return entry is in the list.
            break;
        }
        let i = entry / 2;
        if entry.is_multiple_of(2) {
            // A call entry: try to linearize op i now.
            let op = &ops[i];
            if let Some(s2) = values.step(state, op.kind) {
                bits[i / 64] |= 1 << (i % 64);
                bits_hash ^= z[i];
                if memo.insert(&bits, bits_hash, s2) {
                    stack.push((i, state));
                    state = s2;
                    lift(&mut next, &mut prev, 2 * i);
                    if op.required {
                        lift(&mut next, &mut prev, 2 * i + 1);
                        remaining -= 1;
                    }
                    entry = next[head];
                    continue;
                }
                bits[i / 64] &= !(1 << (i % 64));
                bits_hash ^= z[i];
            }
            entry = next[entry];
        } else {
            // A return entry of an op not yet linearized: backtrack. Remember the longest
            // prefix that got stuck, and on which operation.
            if stuck.is_none() || stack.len() > best.len() {
                best = stack.iter().map(|&(j, _)| j).collect();
                stuck = Some(i);
            }
            let Some((j, s)) = stack.pop() else {
                return (
                    Outcome::Illegal {
                        best,
                        stuck: stuck.unwrap_or(i),
                    },
                    finish(stats, &memo),
                );
            };
            state = s;
            bits[j / 64] &= !(1 << (j % 64));
            bits_hash ^= z[j];
            if ops[j].required {
                unlift(&mut next, &mut prev, 2 * j + 1);
                remaining += 1;
            }
            unlift(&mut next, &mut prev, 2 * j);
            entry = next[2 * j];
        }
    }
    if remaining > 0 {
        // Unreachable by construction; answer honestly rather than guess.
        return (
            Outcome::Unknown("internal: search ran off the entry list".into()),
            finish(stats, &memo),
        );
    }
    let order = stack.iter().map(|&(j, _)| j).collect();
    (Outcome::Linearizable(order), finish(stats, &memo))
}

fn finish(mut stats: SearchStats, memo: &Memo) -> SearchStats {
    stats.memo_entries = memo.len();
    stats.memo_bytes = memo.bytes();
    stats
}
