//! Jepsen's `counter` checker: a counter starts at 0, `add` (or `inc`, whose value defaults
//! to one) changes it by its value, and each successful `read` must lie within
//! `[lower, upper]`: *lower* counts every increment acknowledged before the read began, *upper*
//! every increment invoked before the read completed that did not fail (a negative increment
//! lowers the bounds the other way round). A read below is `read-too-low`, above
//! `read-too-high`. Unknown without a successful read.

use super::verdict;
use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef};
use histories::{History, OpStatus, Operation};
use serde_json::{json, Value};

/// The counter checker in the suite.
pub struct Counter;

impl Checker for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn by_default(&self, shape: &Shape) -> bool {
        fits(shape.history)
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        if !fits(h) {
            return Err(SuiteError::DoesNotFit(
                "counter checks add/inc operations with integer values and reads returning an integer; this history has other operations or values".into(),
            ));
        }
        Ok(check(h))
    }
}

/// An increment's amount: its integer value, or 1 for an `inc` without one.
fn amount(op: &Operation) -> Option<i64> {
    match (&op.input, op.f.as_str()) {
        (Value::Null, "inc") => Some(1),
        (v, _) => v.as_i64(),
    }
}

/// Keyless add/inc with integer values and reads whose successful values are integers, with at
/// least one increment and one read.
pub fn fits(h: &History) -> bool {
    let has = |f: &[&str]| h.ops.iter().any(|o| f.contains(&o.f.as_str()));
    has(&["add", "inc"])
        && has(&["read"])
        && h.ops.iter().all(|o| {
            o.key.is_none()
                && match o.f.as_str() {
                    "add" | "inc" => amount(o).is_some(),
                    "read" => o.status != OpStatus::Ok || o.output.as_i64().is_some(),
                    _ => false,
                }
        })
}

/// Sums of `(position, amount)` pairs sorted by position: the sum of those before `p`.
struct Prefix(Vec<(u64, i64)>, Vec<i64>);

impl Prefix {
    fn new(mut v: Vec<(u64, i64)>) -> Prefix {
        v.sort_unstable();
        let mut sums: Vec<i64> = vec![0];
        for (_, a) in &v {
            sums.push(sums.last().copied().unwrap_or(0).saturating_add(*a));
        }
        Prefix(v, sums)
    }

    fn before(&self, p: u64) -> i64 {
        self.1[self.0.partition_point(|(q, _)| *q < p)]
    }
}

/// The bounds `[lower, upper]` of every successful read, in operation order.
pub fn bounds(h: &History) -> Vec<(usize, i64, i64)> {
    let incs: Vec<(&Operation, i64)> = h
        .ops
        .iter()
        .filter(|o| o.f != "read")
        .filter_map(|o| amount(o).map(|a| (o, a)))
        .collect();
    let acked = |pos: bool| {
        Prefix::new(
            incs.iter()
                .filter(|(o, a)| o.status == OpStatus::Ok && (*a > 0) == pos)
                .map(|(o, a)| (o.ret, *a))
                .collect(),
        )
    };
    let attempted = |pos: bool| {
        Prefix::new(
            incs.iter()
                .filter(|(o, a)| o.status != OpStatus::Fail && (*a > 0) == pos)
                .map(|(o, a)| (o.call, *a))
                .collect(),
        )
    };
    let (acked_pos, acked_neg) = (acked(true), acked(false));
    let (tried_pos, tried_neg) = (attempted(true), attempted(false));
    h.ops
        .iter()
        .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
        .map(|r| {
            let lower = acked_pos
                .before(r.call)
                .saturating_add(tried_neg.before(r.ret));
            let upper = tried_pos
                .before(r.ret)
                .saturating_add(acked_neg.before(r.call));
            (r.id, lower, upper)
        })
        .collect()
}

/// Checks a counter history.
pub fn check(h: &History) -> CheckerReport {
    let bs = bounds(h);
    let mut anomalies = Vec::new();
    for &(id, lower, upper) in &bs {
        let r = &h.ops[id];
        let v = r.output.as_i64().unwrap_or(0);
        let (kind, how) = if v < lower {
            (
                "read-too-low",
                format!("below {lower}, the sum of the increments acknowledged before it began"),
            )
        } else if v > upper {
            (
                "read-too-high",
                format!("above {upper}, the sum of the increments attempted before it completed"),
            )
        } else {
            continue;
        };
        anomalies.push(Anomaly {
            kind: kind.into(),
            key: None,
            ops: vec![OpRef::of(r)],
            explanation: format!("process {} read {v}, {how}", r.process),
            details: json!({"value": v, "lower": lower, "upper": upper}),
        });
    }
    let valid = verdict(&anomalies, !bs.is_empty());
    let explanation = match valid {
        crate::Validity::Invalid => format!(
            "counter: {} of {} reads out of bounds; first: {}",
            anomalies.len(),
            bs.len(),
            anomalies[0].explanation
        ),
        crate::Validity::Unknown => "counter: no read succeeded, so nothing can be said".into(),
        crate::Validity::Valid => format!(
            "counter: all {} reads within the bounds of acknowledged and attempted increments",
            bs.len()
        ),
    };
    let final_bounds = bs.last().map(|b| json!([b.1, b.2]));
    CheckerReport {
        valid,
        anomalies,
        stats: json!({
            "reads": bs.len(),
            "increments": h.ops.iter().filter(|o| o.f != "read").count(),
            "too_low": bs.iter().filter(|b| h.ops[b.0].output.as_i64().is_some_and(|v| v < b.1)).count(),
            "too_high": bs.iter().filter(|b| h.ops[b.0].output.as_i64().is_some_and(|v| v > b.2)).count(),
            "last_read_bounds": final_bounds,
        }),
        explanation,
        detail: Detail::None,
    }
}
