//! Jepsen's `set-full` checker: a set read many times while it grows. For each element, taking
//! the add's invocation, the moment it became *known* (its add's `ok`, or the completion of the
//! first read that saw it, whichever came first), and every `ok` read that completed after the
//! add was invoked:
//!
//! - *stable* when the last read to begin (by invocation) saw it;
//! - *lost* when the last read to begin missed it and began after the element was known;
//! - *never-read* otherwise (no read began after it was known, or it was never known);
//! - *stale* when stable, but some read that began after it was known missed it.
//!
//! Lost and duplicated elements (one read returning an element twice) make the history invalid;
//! stale ones are reported but allowed (Jepsen's default for a set that need not be
//! linearizable); with no stable element the verdict is unknown. Stats carry Jepsen's counts and
//! the stable and lost latencies (known → stable, known → lost) in milliseconds.

use super::{quantiles_ms, some, verdict};
use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef};
use histories::{History, OpStatus, Operation};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The set-full checker in the suite.
pub struct SetFull;

impl Checker for SetFull {
    fn name(&self) -> &'static str {
        "set-full"
    }

    /// Histories of adds and whole-set reads where reads run while the set grows.
    fn by_default(&self, shape: &Shape) -> bool {
        fits(shape.history) && reads_while_growing(shape.history)
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        if !fits(h) {
            return Err(SuiteError::DoesNotFit(
                "set-full checks adds of elements and reads returning the whole set (a list); this history has other operations or reads that are not lists".into(),
            ));
        }
        Ok(check(h))
    }
}

/// Whether a read completes before some add begins: reads while the set grows, set-full's
/// shape (reads only after every add are final reads, for the set checker alone).
pub fn reads_while_growing(h: &History) -> bool {
    let last_add = h.ops.iter().filter(|o| o.f == "add").map(|o| o.call).max();
    h.ops
        .iter()
        .any(|o| o.f == "read" && last_add.is_some_and(|a| o.ret < a))
}

/// Adds and keyless reads whose successful values are lists.
pub fn fits(h: &History) -> bool {
    h.ops.iter().any(|o| o.f == "add")
        && h.ops.iter().all(|o| match o.f.as_str() {
            "add" => o.key.is_none(),
            "read" => o.key.is_none() && (o.status != OpStatus::Ok || o.output.is_array()),
            _ => false,
        })
}

/// What happened to one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stable,
    Lost,
    NeverRead,
}

/// One element's analysis.
#[derive(Debug, Clone)]
pub struct Element {
    pub element: String,
    pub outcome: Outcome,
    /// Stable, yet missed by a read that began after it was known.
    pub stale: bool,
    /// Nanoseconds from known to stable, or to lost.
    pub latency: Option<u64>,
    add: usize,
    known: Option<usize>,
    last_absent: Option<usize>,
}

fn elem(v: &Value) -> String {
    v.to_string()
}

/// Every added element's outcome, in element order.
pub fn elements(h: &History) -> Vec<Element> {
    let mut adds: BTreeMap<String, &Operation> = BTreeMap::new();
    for op in h.ops.iter().filter(|o| o.f == "add") {
        adds.entry(elem(&op.input)).or_insert(op);
    }
    let reads: Vec<(&Operation, BTreeMap<String, usize>)> = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
        .map(|r| {
            let mut seen = BTreeMap::new();
            for v in r.output.as_array().into_iter().flatten() {
                *seen.entry(elem(v)).or_insert(0) += 1;
            }
            (r, seen)
        })
        .collect();
    let mut out = Vec::new();
    for (e, add) in adds {
        // Known: the earliest completion of an ok add of it or an ok read showing it.
        let mut known: Option<&Operation> = h
            .ops
            .iter()
            .filter(|o| o.f == "add" && o.status == OpStatus::Ok && elem(&o.input) == e)
            .min_by_key(|o| o.ret);
        let mut last_present: Option<&Operation> = None;
        let mut last_absent: Option<&Operation> = None;
        for (r, seen) in &reads {
            if r.ret < add.call {
                continue;
            }
            if seen.contains_key(&e) {
                if known.is_none_or(|k| r.ret < k.ret) {
                    known = Some(r);
                }
                if last_present.is_none_or(|p| p.call < r.call) {
                    last_present = Some(r);
                }
            } else if last_absent.is_none_or(|a| a.call < r.call) {
                last_absent = Some(r);
            }
        }
        let absent_call = last_absent.map(|a| a.call);
        let stable = last_present.is_some_and(|p| absent_call.is_none_or(|a| a < p.call));
        let lost = !stable && known.zip(last_absent).is_some_and(|(k, a)| k.ret < a.call);
        let known_time = known.and_then(|k| k.ret_time).unwrap_or(0);
        let (outcome, latency) = if stable {
            let t = last_absent.map_or(0, |a| a.call_time + 1);
            (Outcome::Stable, Some(t.saturating_sub(known_time)))
        } else if lost {
            let t = last_present.map_or(0, |p| p.call_time + 1);
            (Outcome::Lost, Some(t.saturating_sub(known_time)))
        } else {
            (Outcome::NeverRead, None)
        };
        // Stale: a read that began after it was known missed it before it was finally seen.
        let stale = stable
            && known.is_some_and(|k| {
                reads
                    .iter()
                    .any(|(r, seen)| r.call > k.ret && !seen.contains_key(&e))
            });
        out.push(Element {
            element: e,
            outcome,
            stale,
            latency,
            add: add.id,
            known: known.map(|k| k.id),
            last_absent: last_absent.map(|a| a.id),
        });
    }
    out
}

/// Checks a set-full history.
pub fn check(h: &History) -> CheckerReport {
    let els = elements(h);
    let mut anomalies = Vec::new();
    let named = |e: &Element| -> Vec<OpRef> {
        let mut ops = vec![OpRef::of(&h.ops[e.add])];
        for id in [e.known, e.last_absent].into_iter().flatten() {
            if id != e.add {
                ops.push(OpRef::of(&h.ops[id]));
            }
        }
        ops
    };
    let of = |o: Outcome| els.iter().filter(move |e| e.outcome == o);
    let lost: Vec<&Element> = of(Outcome::Lost).collect();
    let stale: Vec<&Element> = els.iter().filter(|e| e.stale).collect();
    let never: Vec<String> = of(Outcome::NeverRead).map(|e| e.element.clone()).collect();
    for e in &lost {
        anomalies.push(Anomaly {
            kind: "lost".into(),
            key: None,
            ops: named(e),
            explanation: format!(
                "element {} was known to be in the set, then missing from every read that began after {} ms later",
                e.element,
                e.latency.unwrap_or(0) / 1_000_000
            ),
            details: json!({"element": e.element, "lost_latency_ns": e.latency}),
        });
    }
    // Duplicates: the most times one read returned an element.
    let mut dups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
    {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for v in r.output.as_array().into_iter().flatten() {
            *counts.entry(elem(v)).or_default() += 1;
        }
        for (e, n) in counts.into_iter().filter(|(_, n)| *n > 1) {
            let d = dups.entry(e).or_insert((n, r.id));
            if n > d.0 {
                *d = (n, r.id);
            }
        }
    }
    for (e, (n, r)) in &dups {
        anomalies.push(Anomaly {
            kind: "duplicated".into(),
            key: None,
            ops: vec![OpRef::of(&h.ops[*r])],
            explanation: format!("a read returned element {e} {n} times"),
            details: json!({"element": e, "count": n}),
        });
    }
    let invalid = anomalies.len();
    for e in &stale {
        anomalies.push(Anomaly {
            kind: "stale".into(),
            key: None,
            ops: named(e),
            explanation: format!(
                "element {} was missing from a read that began after it was known, and was seen only {} ms after it was known (allowed: set-full does not require a linearizable set)",
                e.element,
                e.latency.unwrap_or(0) / 1_000_000
            ),
            details: json!({"element": e.element, "stable_latency_ns": e.latency}),
        });
    }
    let stable = of(Outcome::Stable).count();
    let valid = verdict(&anomalies[..invalid], stable > 0);
    let lost_names: Vec<String> = lost.iter().map(|e| e.element.clone()).collect();
    let stale_names: Vec<String> = stale.iter().map(|e| e.element.clone()).collect();
    let explanation = match valid {
        crate::Validity::Invalid if !lost.is_empty() => format!(
            "set-full: {} of {} added elements lost ({})",
            lost.len(),
            els.len(),
            some(&lost_names, 10)
        ),
        crate::Validity::Invalid => format!(
            "set-full: {} elements returned more than once by one read",
            dups.len()
        ),
        crate::Validity::Unknown => format!(
            "set-full: no element of {} was seen by the last read to begin, so nothing is known to be stable ({} never read)",
            els.len(),
            never.len()
        ),
        crate::Validity::Valid => format!(
            "set-full: {stable} of {} elements stable, none lost; {} stale, {} never read",
            els.len(),
            stale.len(),
            never.len()
        ),
    };
    let latencies = |o: Outcome| quantiles_ms(of(o).filter_map(|e| e.latency).collect());
    CheckerReport {
        valid,
        anomalies,
        stats: json!({
            "attempt_count": els.len(),
            "stable_count": stable,
            "lost_count": lost.len(),
            "lost": lost_names,
            "never_read_count": never.len(),
            "never_read": never,
            "stale_count": stale.len(),
            "stale": stale_names,
            "duplicated_count": dups.len(),
            "stable_latencies_ms": latencies(Outcome::Stable),
            "lost_latencies_ms": latencies(Outcome::Lost),
        }),
        explanation,
        detail: Detail::None,
    }
}
