//! Jepsen's `bank` checker: `transfer`s move an amount between accounts (`{from, to,
//! amount}`), and each successful `read` returns every account's balance (`{account:
//! balance}`). Every read must see the same total, no balance may be negative (Jepsen's default
//! `negative-balances? false`) and no balance may be missing (`nil`). A history does not say
//! the initial total Jepsen's test was given, so the checker takes the total most reads see
//! (the earliest such on a tie). Kinds: `wrong-total`, `negative-balance`, `nil-balance`,
//! `malformed-read`. Unknown without a successful read.

use super::verdict;
use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef};
use histories::{History, OpStatus, Operation};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The bank checker in the suite.
pub struct Bank;

impl Checker for Bank {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn by_default(&self, shape: &Shape) -> bool {
        fits(shape.history)
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        if !fits(h) {
            return Err(SuiteError::DoesNotFit(
                "bank checks transfers ({from, to, amount}) and reads returning a map of account to balance; this history has other operations".into(),
            ));
        }
        Ok(check(h))
    }
}

/// Transfers and keyless reads, at least one transfer.
pub fn fits(h: &History) -> bool {
    h.ops.iter().any(|o| o.f == "transfer")
        && h.ops.iter().all(|o| {
            o.key.is_none()
                && match o.f.as_str() {
                    "transfer" => o.input.is_object(),
                    "read" => o.status != OpStatus::Ok || o.output.is_object(),
                    _ => false,
                }
        })
}

/// One read's balances, or what is wrong with them: `Err(account)` names a balance that is
/// not a number (`None` in the map for nil).
fn balances(r: &Operation) -> Result<BTreeMap<String, Option<i64>>, String> {
    let Some(m) = r.output.as_object() else {
        return Err("the read's value".into());
    };
    m.iter()
        .map(|(k, v)| match v {
            Value::Null => Ok((k.clone(), None)),
            v => v
                .as_i64()
                .map(|b| (k.clone(), Some(b)))
                .ok_or_else(|| k.clone()),
        })
        .collect()
}

/// Checks a bank history.
pub fn check(h: &History) -> CheckerReport {
    let reads: Vec<&Operation> = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
        .collect();
    let mut anomalies = Vec::new();
    let mut parsed = Vec::new();
    for r in &reads {
        match balances(r) {
            Ok(b) => parsed.push((*r, b)),
            Err(what) => anomalies.push(Anomaly {
                kind: "malformed-read".into(),
                key: None,
                ops: vec![OpRef::of(r)],
                explanation: format!(
                    "process {} read a balance of account {what} that is not an integer",
                    r.process
                ),
                details: Value::Null,
            }),
        }
    }
    let total_of = |b: &BTreeMap<String, Option<i64>>| -> Option<i64> {
        b.values()
            .try_fold(0i64, |s, v| v.map(|v| s.saturating_add(v)))
    };
    // The total most reads see, the earliest on a tie.
    let mut seen: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for (i, (_, b)) in parsed.iter().enumerate() {
        if let Some(t) = total_of(b) {
            seen.entry(t).or_insert((0, i)).0 += 1;
        }
    }
    let total = seen
        .iter()
        .max_by_key(|(_, (n, first))| (*n, std::cmp::Reverse(*first)))
        .map(|(t, _)| *t);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (r, b) in &parsed {
        let mut push = |kind: &'static str, explanation: String, details: Value| {
            *counts.entry(kind).or_default() += 1;
            anomalies.push(Anomaly {
                kind: kind.into(),
                key: None,
                ops: vec![OpRef::of(r)],
                explanation,
                details,
            });
        };
        let nil: Vec<&String> = b
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect();
        if !nil.is_empty() {
            push(
                "nil-balance",
                format!(
                    "process {} read no balance (nil) for accounts {nil:?}",
                    r.process
                ),
                json!({"accounts": nil}),
            );
        }
        let negative: BTreeMap<&String, i64> = b
            .iter()
            .filter_map(|(k, v)| v.filter(|v| *v < 0).map(|v| (k, v)))
            .collect();
        if !negative.is_empty() {
            push(
                "negative-balance",
                format!("process {} read negative balances {negative:?}", r.process),
                json!({"balances": negative}),
            );
        }
        if let (Some(t), Some(want)) = (total_of(b), total) {
            if t != want {
                push(
                    "wrong-total",
                    format!(
                        "process {} read balances summing to {t}, but most reads see a total of {want}",
                        r.process
                    ),
                    json!({"total": t, "expected": want}),
                );
            }
        }
    }
    let valid = verdict(&anomalies, !reads.is_empty());
    let explanation = match valid {
        crate::Validity::Invalid => format!(
            "bank: {} anomalies in {} reads; first: {}",
            anomalies.len(),
            reads.len(),
            anomalies[0].explanation
        ),
        crate::Validity::Unknown => "bank: no read succeeded, so nothing can be said".into(),
        crate::Validity::Valid => format!(
            "bank: all {} reads see the total {} and no negative balance",
            reads.len(),
            total.unwrap_or(0)
        ),
    };
    CheckerReport {
        valid,
        anomalies,
        stats: json!({
            "reads": reads.len(),
            "transfers": h.ops.iter().filter(|o| o.f == "transfer").count(),
            "acknowledged_transfers": h.ops.iter().filter(|o| o.f == "transfer" && o.status == OpStatus::Ok).count(),
            "total": total,
            "wrong_total": counts.get("wrong-total").copied().unwrap_or(0),
            "negative_balance": counts.get("negative-balance").copied().unwrap_or(0),
            "nil_balance": counts.get("nil-balance").copied().unwrap_or(0),
        }),
        explanation,
        detail: Detail::None,
    }
}
