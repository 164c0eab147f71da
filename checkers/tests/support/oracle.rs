//! The brute-force linearizability oracle of the checker's tests, and the pieces their random
//! histories are built from: every order of the operations is tried directly, with no memo, no
//! interning and no entry list, so that it shares nothing with the search it checks.
#![allow(dead_code)]

use histories::{History, OpStatus, Operation, NEVER};
use serde_json::Value;

/// Whether some order of `h`'s operations, consistent with real time, is legal from `init`:
/// `next(state, op)` gives every state `op` may lead to (none: it cannot happen there). A `fail`
/// did not happen; an `info` named `read` (its result unknown) constrains nothing; any other
/// `info` may or may not have taken effect.
pub fn linearizable<S, I>(
    h: &History,
    read: &str,
    init: S,
    next: impl Fn(&S, &Operation) -> I,
) -> bool
where
    I: IntoIterator<Item = S>,
{
    let ops: Vec<&Operation> = h
        .ops
        .iter()
        .filter(|o| o.status != OpStatus::Fail && !(o.status == OpStatus::Info && o.f == read))
        .collect();
    fn dfs<S, I: IntoIterator<Item = S>>(
        ops: &[&Operation],
        placed: &mut Vec<bool>,
        state: S,
        next: &impl Fn(&S, &Operation) -> I,
    ) -> bool {
        if ops
            .iter()
            .zip(placed.iter())
            .all(|(o, &p)| p || o.status != OpStatus::Ok)
        {
            return true;
        }
        for i in 0..ops.len() {
            if placed[i] {
                continue;
            }
            // every completed op that returned before i was called must already be placed
            let ready = (0..ops.len())
                .all(|j| placed[j] || j == i || ops[j].ret == NEVER || ops[j].ret > ops[i].call);
            if !ready {
                continue;
            }
            for s2 in next(&state, ops[i]) {
                placed[i] = true;
                if dfs(ops, placed, s2, next) {
                    return true;
                }
                placed[i] = false;
            }
        }
        false
    }
    let mut placed = vec![false; ops.len()];
    dfs(&ops, &mut placed, init, &next)
}

/// The invocation of operation `id` by `process` at position `pos`: pending (`info`, never
/// returned) until the generator completes it.
pub fn invocation(id: usize, process: u64, f: &str, input: Value, pos: u64) -> Operation {
    Operation {
        id,
        process,
        f: f.into(),
        key: None,
        input,
        output: Value::Null,
        status: OpStatus::Info,
        call: pos,
        ret: NEVER,
        call_time: pos,
        ret_time: None,
        call_line: pos as usize + 1,
        ret_line: None,
        node: None,
        error: None,
        meta: Default::default(),
    }
}

/// The processes with no operation pending (idle), and those with one (busy), in order.
pub fn idle_and_busy<T>(pending: &[Option<T>]) -> (Vec<usize>, Vec<usize>) {
    (0..pending.len()).partition(|&p| pending[p].is_none())
}

/// A history of `ops` over `events` positions, with no nemesis.
pub fn history(ops: Vec<Operation>, events: u64) -> History {
    History {
        ops,
        nemesis: vec![],
        events: events as usize,
        torn: None,
        time_reversals: None,
    }
}

/// The history with only the operations in `keep` as recorded: every other update may take
/// effect at any time after its invocation or not at all (an `info`), every other read is gone.
pub fn relaxed_except(h: &History, keep: &[usize]) -> History {
    let mut r = h.clone();
    let read = |o: &Operation| {
        o.f == "read" || (o.f == "dequeue" && o.status == OpStatus::Ok && o.output.is_null())
    };
    r.ops.retain(|o| keep.contains(&o.id) || !read(o));
    for o in r.ops.iter_mut().filter(|o| !keep.contains(&o.id)) {
        if o.status == OpStatus::Ok {
            o.status = OpStatus::Info;
            o.ret = NEVER;
            // What it did stays known (an enqueue's element, a dequeue's, a txn's writes);
            // only its time is relaxed.
            if o.f == "txn" || o.f == "dequeue" {
                o.input = o.output.clone();
            }
            o.output = Value::Null;
        }
    }
    r
}
