//! The general linearizability search for any model: Wing & Gong's backtracking over a list of
//! call and return entries, with Lowe's memoization of (set of linearized operations, state).
//!
//! Optional operations (`info`, never completed) have a call entry and no return entry: the
//! search may linearize them at any point after their call, and succeeds once every required
//! operation is linearized, leaving the rest as never having happened.

use super::memo::{zobrist, Memo};
use super::model::{Kind, POp, Val, Values};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Limits on one search.
#[derive(Clone, Copy)]
pub struct Limits<'a> {
    pub deadline: Instant,
    pub max_bytes: usize,
    pub cancel: Option<&'a AtomicBool>,
    /// Search steps allowed (`u64::MAX`: no limit).
    pub max_steps: u64,
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Linearizable; the order found (indices into the prepared ops).
    Linearizable(Vec<usize>),
    /// Not linearizable. `best` is the longest linearizable prefix found (indices into the
    /// prepared ops, in linearization order); `stuck` is the required operation whose return no
    /// order could get past; `frontier` the latest position (`ret`) of a return entry any
    /// branch of the search reached: no branch got past it, so the history cut just after it
    /// is illegal already (for registers; string pruning looks further ahead).
    Illegal {
        best: Vec<usize>,
        stuck: usize,
        frontier: u64,
    },
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

/// Marks a state reached by an optional (`info`) update in a register model. Such an update
/// only matters if the very next operation needs the value it wrote (a read of it, or a cas
/// expecting it): otherwise the next update overwrites it, or nothing ever sees it, and the same
/// linearization without it is just as good (that branch is explored too, since the update is
/// optional). So after one, only a read or cas may follow. The mark is part of the memoized
/// state, so restricted and unrestricted explorations of a configuration are never confused.
const JUST_OPTIONAL: Val = 1 << 31;

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
    let mut frontier: u64 = 0;
    let mut stats = SearchStats::default();
    let mut entry = next[head];

    // Pruning for string states (porcupine-kv): every required read with the prefix hashes of
    // what it returned and the puts that could rescue it (see `viable`).
    let mut string_reads: Vec<StringRead> = Vec::new();
    if values.strings {
        for g in (0..n).filter(|&i| ops[i].required) {
            let Kind::Read(want) = ops[g].kind else {
                continue;
            };
            let rescuers = (0..n)
                .filter(|&p| {
                    matches!(ops[p].kind, Kind::Write(v) if values.maybe_prefix(v, want))
                        && ops[p].call < ops[g].ret
                })
                .collect();
            string_reads.push(StringRead {
                op: g,
                prefix: values.prefix_hashes(want),
                rescuers,
            });
        }
        string_reads.sort_by_key(|r| ops[r.op].ret);
    }

    // Optional operations of one kind are interchangeable once both are invoked (neither has a
    // return to respect): only the earliest-invoked one not yet linearized is ever tried, so the
    // linearized ones of a kind are always its first few, and the search does not explore the
    // same history once per permutation of equal `info` operations.
    let mut prev_same = vec![HEAD; n];
    {
        let mut last: std::collections::HashMap<Kind, usize> = std::collections::HashMap::new();
        // (Alternatives of one operation are not interchangeable with anything: their group
        // allows only one of them.)
        let mut by_call: Vec<usize> = (0..n)
            .filter(|&i| !ops[i].required && ops[i].group.is_none())
            .collect();
        by_call.sort_by_key(|&i| (ops[i].call, i));
        for i in by_call {
            if let Some(j) = last.insert(ops[i].kind, i) {
                prev_same[i] = j;
            }
        }
    }

    // Alternatives of one operation (see `POp::group`): at most one of them is linearized.
    let mut groups: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        if let Some(g) = o.group {
            groups.entry(g).or_default().push(i);
        }
    }

    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, nx) = (prev[e], next[e]);
        next[p] = nx;
        if nx != HEAD {
            prev[nx] = p;
        }
    };

    while remaining > 0 {
        stats.steps += 1;
        if stats.steps > limits.max_steps {
            return (
                Outcome::Unknown("step budget exhausted".into()),
                finish(stats, &memo),
            );
        }
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
            let p = prev_same[i];
            if p != HEAD && bits[p / 64] & (1 << (p % 64)) == 0 {
                entry = next[entry];
                continue;
            }
            if let Some(g) = op.group {
                let taken = groups[&g]
                    .iter()
                    .any(|&j| j != i && bits[j / 64] & (1 << (j % 64)) != 0);
                if taken {
                    entry = next[entry];
                    continue;
                }
            }
            let flagged = state & JUST_OPTIONAL != 0;
            let next_state = if flagged && !matches!(op.kind, Kind::Read(_) | Kind::Cas(..)) {
                // After an optional update, only an operation needing its value may follow.
                None
            } else {
                values.step(state & !JUST_OPTIONAL, op.kind)
            };
            let viable = match next_state {
                Some(s2) if values.strings && !matches!(op.kind, Kind::Read(_)) => {
                    viable(values, &bits, &string_reads, i, s2)
                        && (op.required || seen(values, &bits, &string_reads, s2))
                }
                Some(_) => true,
                None => false,
            };
            let next_state = match next_state {
                Some(s2) if !op.required && values.registers() => Some(s2 | JUST_OPTIONAL),
                other => other,
            };
            if let (true, Some(s2)) = (viable, next_state) {
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
                // A legal read can always be linearized at its call (see `backtrack`): this
                // configuration was explored with it and failed, so this one fails too.
                if !op.kind.is_query() {
                    entry = next[entry];
                    continue;
                }
            } else {
                entry = next[entry];
                continue;
            }
        } else {
            // A return entry of an op not yet linearized: backtrack. Remember the longest
            // prefix that got stuck, and on which operation, and how far any branch got.
            frontier = frontier.max(ops[i].ret);
            if stuck.is_none() || stack.len() > best.len() {
                best = stack.iter().map(|&(j, _)| j).collect();
                stuck = Some(i);
            }
        }
        match backtrack(
            &mut stack,
            &mut state,
            &mut bits,
            &mut bits_hash,
            &mut remaining,
            &z,
            ops,
            &mut next,
            &mut prev,
        ) {
            Some(e) => entry = e,
            None => {
                return (
                    Outcome::Illegal {
                        best,
                        stuck: stuck.unwrap_or(i),
                        frontier,
                    },
                    finish(stats, &memo),
                )
            }
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

/// Undoes linearized operations until one that is not a read has been undone, and returns the
/// entry after that operation's call, where the search resumes; `None` when nothing is left to
/// undo (not linearizable).
///
/// Reads (any operation that leaves the state as it is: [`Kind::is_query`]) are undone without
/// trying alternatives: when a read is legal at its call entry, every operation that must
/// precede it is already linearized (its return entry would otherwise come first), and a read
/// leaves the state as it is, so any linearization placing it later can place it right there
/// instead. Having failed with it there, nothing is gained by delaying it.
#[allow(clippy::too_many_arguments)]
fn backtrack(
    stack: &mut Vec<(usize, Val)>,
    state: &mut Val,
    bits: &mut [u64],
    bits_hash: &mut u64,
    remaining: &mut usize,
    z: &[u64],
    ops: &[POp],
    next: &mut [usize],
    prev: &mut [usize],
) -> Option<usize> {
    loop {
        let (j, s) = stack.pop()?;
        *state = s;
        bits[j / 64] &= !(1 << (j % 64));
        *bits_hash ^= z[j];
        if ops[j].required {
            unlift(next, prev, 2 * j + 1);
            *remaining += 1;
        }
        unlift(next, prev, 2 * j);
        if !ops[j].kind.is_query() {
            return Some(next[2 * j]);
        }
    }
}

fn unlift(next: &mut [usize], prev: &mut [usize], e: usize) {
    let (p, nx) = (prev[e], next[e]);
    next[p] = e;
    if nx != HEAD {
        prev[nx] = e;
    }
}

/// A required read of a string state, for pruning.
struct StringRead {
    op: usize,
    /// prefix[k]: hash of the first k bytes of what the read returned
    prefix: Vec<u64>,
    /// puts invoked before the read returned whose value begins what it returned
    rescuers: Vec<usize>,
}

/// After an update makes the state `s2` (linearizing op `i`), can every read not yet
/// linearized still see its value? States change only by appends (which extend the string) and
/// puts (which replace it), so if `s2` is not a prefix of what a read returned, some put that
/// is not yet linearized, was invoked before that read returned, and whose value begins what
/// the read returned must come in between. Without one, this state leads nowhere. (Prefix
/// tests compare hashes: equal strings always have equal hashes, so this never prunes a
/// possible state.)
fn viable(values: &Values, bits: &[u64], reads: &[StringRead], i: usize, s2: Val) -> bool {
    let done = |j: usize| j == i || bits[j / 64] & (1 << (j % 64)) != 0;
    let (len, hash) = values.len_hash(s2);
    reads
        .iter()
        .filter(|r| !done(r.op))
        .all(|r| r.prefix.get(len) == Some(&hash) || r.rescuers.iter().any(|&p| !done(p)))
}

/// Whether some required read not yet linearized could still see the state `s2` on its way
/// (`s2` is a prefix of what it returned). An optional update leading elsewhere is pointless:
/// every pending read needs a put in between, which overwrites it before anyone sees it (and
/// appends and puts observe nothing), so the same linearization without it is just as good
/// and is explored too.
fn seen(values: &Values, bits: &[u64], reads: &[StringRead], s2: Val) -> bool {
    let done = |j: usize| bits[j / 64] & (1 << (j % 64)) != 0;
    let (len, hash) = values.len_hash(s2);
    reads
        .iter()
        .any(|r| !done(r.op) && r.prefix.get(len) == Some(&hash))
}

fn finish(mut stats: SearchStats, memo: &Memo) -> SearchStats {
    stats.memo_entries = memo.len();
    stats.memo_bytes = memo.bytes();
    stats
}
