//! Jepsen's `long-fork` checker: write transactions insert one key once (`[[:w k v]]`), read
//! transactions read a group of keys (`[[:r k1 nil] [:r k2 nil] …]`). Reads of the same group
//! must be totally ordered by what they saw: a *long fork* is two reads where one saw `x` but
//! not `y` and the other `y` but not `x` — the inserts observed in incompatible orders, which
//! snapshot isolation forbids. Reads are grouped by the set of keys they read. A key written
//! more than once, or read with two different values, leaves the verdict unknown (the
//! checker assumes one insert per key), as in Jepsen.

use super::verdict;
use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef, Validity};
use histories::{History, OpStatus, Operation};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The long-fork checker in the suite.
pub struct LongFork;

impl Checker for LongFork {
    fn name(&self) -> &'static str {
        "long-fork"
    }

    /// Histories of single-insert and group-read transactions, each key inserted at most once.
    fn by_default(&self, shape: &Shape) -> bool {
        fits(shape.history) && writes(shape.history).values().all(|w| w.len() == 1)
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        if !fits(h) {
            return Err(SuiteError::DoesNotFit(
                "long-fork checks txn operations that either write one key ([[w k v]]) or only read keys ([[r k nil] …]); this history has others".into(),
            ));
        }
        Ok(check(h))
    }
}

/// A micro-op `[f, k, v]`: its function, key (as text) and value.
fn mop(m: &Value) -> Option<(&str, String, &Value)> {
    match m.as_array()?.as_slice() {
        [f, k, v] => Some((f.as_str()?, k.to_string(), v)),
        _ => None,
    }
}

fn mops(v: &Value) -> Option<Vec<(&str, String, &Value)>> {
    v.as_array()?.iter().map(mop).collect()
}

fn is_write(op: &Operation) -> bool {
    mops(&op.input).is_some_and(|m| m.len() == 1 && m[0].0 == "w")
}

fn is_read(op: &Operation) -> bool {
    mops(&op.input).is_some_and(|m| !m.is_empty() && m.iter().all(|x| x.0 == "r"))
}

/// `txn` (or `read`/`write`) operations that are single writes or pure reads, with a read of
/// at least two keys.
pub fn fits(h: &History) -> bool {
    h.ops
        .iter()
        .all(|o| matches!(o.f.as_str(), "txn" | "read" | "write") && (is_write(o) || is_read(o)))
        && h.ops
            .iter()
            .any(|o| is_read(o) && mops(&o.input).is_some_and(|m| m.len() > 1))
}

/// Every written key with the operations (invocations) that write it.
fn writes(h: &History) -> BTreeMap<String, Vec<usize>> {
    let mut w: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for o in h.ops.iter().filter(|o| is_write(o)) {
        if let Some(m) = mops(&o.input) {
            w.entry(m[0].1.clone()).or_default().push(o.id);
        }
    }
    w
}

/// One successful read: the keys it read and, for each, the value it saw (`None`: nil).
pub type ReadState = BTreeMap<String, Option<Value>>;

/// The successful reads grouped by the set of keys they read, in operation order.
pub fn groups(h: &History) -> BTreeMap<Vec<String>, Vec<(usize, ReadState)>> {
    let mut g: BTreeMap<Vec<String>, Vec<(usize, ReadState)>> = BTreeMap::new();
    for o in h
        .ops
        .iter()
        .filter(|o| o.status == OpStatus::Ok && is_read(o))
    {
        let Some(m) = mops(&o.output) else { continue };
        let state: ReadState = m
            .into_iter()
            .map(|(_, k, v)| (k, (!v.is_null()).then(|| v.clone())))
            .collect();
        g.entry(state.keys().cloned().collect())
            .or_default()
            .push((o.id, state));
    }
    g
}

/// How two reads of one group compare: `Some(-1)` when `a` saw more, `Some(1)` when `b` did,
/// `Some(0)` when equal, `None` when each saw a key the other did not (a fork), `Err(key)` when
/// they saw different values of one key.
pub fn compare(a: &ReadState, b: &ReadState) -> Result<Option<i8>, String> {
    let mut res = 0i8;
    for (k, va) in a {
        let vb = b.get(k).cloned().flatten();
        let step = match (va, &vb) {
            (Some(x), Some(y)) if x != y => return Err(k.clone()),
            (Some(_), None) => -1,
            (None, Some(_)) => 1,
            _ => 0,
        };
        if step != 0 {
            if res == -step {
                return Ok(None);
            }
            res = step;
        }
    }
    Ok(Some(res))
}

/// Checks a long-fork history.
pub fn check(h: &History) -> CheckerReport {
    let multiple: Vec<String> = writes(h)
        .into_iter()
        .filter(|(_, w)| w.len() > 1)
        .map(|(k, _)| k)
        .collect();
    let gs = groups(h);
    let mut anomalies = Vec::new();
    let mut conflicting: Option<String> = None;
    let mut forks = 0usize;
    for reads in gs.values() {
        for (i, (ia, a)) in reads.iter().enumerate() {
            for (ib, b) in &reads[i + 1..] {
                match compare(a, b) {
                    Err(k) => {
                        conflicting.get_or_insert(k);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        forks += 1;
                        if anomalies.len() < 20 {
                            let only = |x: &ReadState, y: &ReadState| -> Vec<String> {
                                x.iter()
                                    .filter(|(k, v)| {
                                        v.is_some() && y.get(*k).cloned().flatten().is_none()
                                    })
                                    .map(|(k, _)| k.clone())
                                    .collect()
                            };
                            let (sa, sb) = (only(a, b), only(b, a));
                            anomalies.push(Anomaly {
                                kind: "long-fork".into(),
                                key: None,
                                ops: vec![OpRef::of(&h.ops[*ia]), OpRef::of(&h.ops[*ib])],
                                explanation: format!(
                                    "one read saw key {} but not {}, the other {} but not {}: the inserts were observed in incompatible orders",
                                    sa.join(","),
                                    sb.join(","),
                                    sb.join(","),
                                    sa.join(",")
                                ),
                                details: json!({"keys": a.keys().collect::<Vec<_>>(), "only_first": sa, "only_second": sb}),
                            });
                        }
                    }
                }
            }
        }
    }
    let reads: usize = gs.values().map(Vec::len).sum();
    let undecided = if !multiple.is_empty() {
        Some(format!(
            "keys {} are written more than once, and long-fork assumes one insert per key",
            multiple.join(", ")
        ))
    } else {
        conflicting.map(|k| format!("two reads saw different values of key {k}, and long-fork assumes one insert per key"))
    };
    let valid = match &undecided {
        Some(_) if anomalies.is_empty() => Validity::Unknown,
        _ => verdict(&anomalies, reads > 1),
    };
    let explanation = match (valid, &undecided) {
        (Validity::Invalid, _) => format!(
            "long-fork: {forks} pairs of reads fork; first: {}",
            anomalies[0].explanation
        ),
        (Validity::Unknown, Some(why)) => format!("long-fork: unknown, {why}"),
        (Validity::Unknown, None) => {
            "long-fork: fewer than two reads succeeded, so nothing can be compared".into()
        }
        (Validity::Valid, _) => format!(
            "long-fork: the {reads} reads of each of {} groups are totally ordered",
            gs.len()
        ),
    };
    CheckerReport {
        valid,
        anomalies,
        stats: json!({
            "reads": reads,
            "groups": gs.len(),
            "writes": h.ops.iter().filter(|o| is_write(o)).count(),
            "forks": forks,
            "multiply_written_keys": multiple,
        }),
        explanation,
        detail: Detail::None,
    }
}
