//! The set checker: compares acknowledged adds with the final reads of every node. It runs on
//! set histories: `add`s of elements, and reads of the whole set (`read` without a key).
//!
//! An element is *lost* when its add was acknowledged (`ok`) but a final read does not contain
//! it; *unexpected* when a final read contains it but no add of it was ever invoked; *duplicated*
//! when one read contains it twice. `info` adds may or may not appear (those that do are counted
//! as recovered). Valid when no successful final read shows any of the three; unknown when no
//! final read succeeded.

use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef, Validity};
use histories::{History, OpStatus};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The set checker in the suite.
pub struct SetChecker;

impl Checker for SetChecker {
    fn name(&self) -> &'static str {
        "set"
    }

    /// Histories of adds and whole-set reads.
    fn by_default(&self, shape: &Shape) -> bool {
        shape.functions.contains("add")
            && shape.only(&["add", "read"])
            && shape
                .history
                .ops
                .iter()
                .all(|o| o.f == "add" || o.key.is_none())
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        Ok(check(h))
    }
}

fn elem(v: &Value) -> String {
    v.to_string()
}

/// Checks a set workload's history.
pub fn check(h: &History) -> CheckerReport {
    let mut attempted: BTreeMap<String, usize> = BTreeMap::new();
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut indefinite: BTreeSet<String> = BTreeSet::new();
    for op in h.ops.iter().filter(|o| o.f == "add") {
        let e = elem(&op.input);
        attempted.entry(e.clone()).or_insert(op.id);
        match op.status {
            OpStatus::Ok => {
                acked.insert(e);
            }
            OpStatus::Info => {
                indefinite.insert(e);
            }
            OpStatus::Fail => {}
        }
    }
    let reads: Vec<_> = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.key.is_none() && o.status == OpStatus::Ok)
        .collect();
    let mut anomalies = Vec::new();
    let mut per_read = Vec::new();
    let mut lost_all: BTreeSet<String> = BTreeSet::new();
    let mut unexpected_all: BTreeSet<String> = BTreeSet::new();
    let mut duplicated_all: BTreeSet<String> = BTreeSet::new();
    let mut recovered: BTreeSet<String> = BTreeSet::new();
    for r in &reads {
        let Some(items) = r.output.as_array() else {
            anomalies.push(Anomaly {
                kind: "malformed-read".into(),
                key: None,
                ops: vec![OpRef::of(r)],
                explanation: format!("a final read returned {}, not a list of elements", r.output),
                details: Value::Null,
            });
            continue;
        };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for v in items {
            *counts.entry(elem(v)).or_default() += 1;
        }
        let seen: BTreeSet<String> = counts.keys().cloned().collect();
        let lost: Vec<String> = acked.difference(&seen).cloned().collect();
        let unexpected: Vec<String> = seen
            .iter()
            .filter(|e| !attempted.contains_key(*e))
            .cloned()
            .collect();
        let duplicated: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(e, _)| e.clone())
            .collect();
        recovered.extend(seen.intersection(&indefinite).cloned());
        let node = r.node.clone().unwrap_or_else(|| "?".into());
        for (kind, list, what) in [
            ("lost", &lost, "acknowledged adds missing from"),
            (
                "unexpected",
                &unexpected,
                "elements never added but present in",
            ),
            (
                "duplicated",
                &duplicated,
                "elements present more than once in",
            ),
        ] {
            if list.is_empty() {
                continue;
            }
            let mut ops = vec![OpRef::of(r)];
            if kind == "lost" {
                for e in list.iter().take(5) {
                    if let Some(&id) = attempted.get(e) {
                        ops.push(OpRef::of(&h.ops[id]));
                    }
                }
            }
            anomalies.push(Anomaly {
                kind: kind.into(),
                key: None,
                ops,
                explanation: format!(
                    "{} {what} the final read from {node}: {}{}",
                    list.len(),
                    list.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
                    if list.len() > 10 { ", …" } else { "" }
                ),
                details: json!({"node": node, "elements": list}),
            });
        }
        lost_all.extend(lost);
        unexpected_all.extend(unexpected);
        duplicated_all.extend(duplicated);
        per_read.push(json!({"node": node, "size": items.len()}));
    }
    let valid = if !anomalies.is_empty() {
        Validity::Invalid
    } else if reads.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let explanation = match valid {
        Validity::Invalid => anomalies[0].explanation.clone(),
        Validity::Unknown => "no final read of the set succeeded, so nothing can be said about lost elements".into(),
        Validity::Valid => format!(
            "every one of {} acknowledged adds is in all {} final reads; nothing duplicated or unexpected",
            acked.len(),
            reads.len()
        ),
    };
    CheckerReport {
        valid,
        anomalies,
        stats: json!({
            "attempted": attempted.len(),
            "acknowledged": acked.len(),
            "indefinite": indefinite.len(),
            "recovered": recovered.len(),
            "lost": lost_all.len(),
            "unexpected": unexpected_all.len(),
            "duplicated": duplicated_all.len(),
            "final_reads": per_read,
        }),
        explanation,
        detail: Detail::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(lines: &[&str]) -> History {
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{{\"index\":{i},\"time\":{i},{l}}}\n"))
            .collect();
        histories::parse_jsonl(&text).unwrap()
    }

    #[test]
    fn finds_lost_unexpected_and_duplicated_elements() {
        let h = hist(&[
            r#""type":"invoke","process":0,"f":"add","value":1"#,
            r#""type":"ok","process":0,"f":"add","value":1"#,
            r#""type":"invoke","process":1,"f":"add","value":2"#,
            r#""type":"ok","process":1,"f":"add","value":2"#,
            r#""type":"invoke","process":2,"f":"add","value":3"#,
            r#""type":"info","process":2,"f":"add","value":3"#,
            r#""type":"invoke","process":9,"f":"read","value":null"#,
            r#""type":"ok","process":9,"f":"read","value":[1,3,7,7],"node":"n2""#,
        ]);
        let r = check(&h);
        assert_eq!(r.valid, Validity::Invalid);
        let kinds: Vec<&str> = r.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["lost", "unexpected", "duplicated"]);
        assert_eq!(r.stats["lost"], 1);
        assert_eq!(r.stats["recovered"], 1);
        assert!(r.explanation.contains("n2"));
    }

    #[test]
    fn valid_when_everything_acknowledged_is_read_and_unknown_without_reads() {
        let mut lines = vec![
            r#""type":"invoke","process":0,"f":"add","value":1"#,
            r#""type":"ok","process":0,"f":"add","value":1"#,
            r#""type":"invoke","process":1,"f":"add","value":2"#,
            r#""type":"fail","process":1,"f":"add","value":2"#,
        ];
        assert_eq!(check(&hist(&lines)).valid, Validity::Unknown);
        lines.push(r#""type":"invoke","process":9,"f":"read","value":null"#);
        lines.push(r#""type":"ok","process":9,"f":"read","value":[1]"#);
        assert_eq!(check(&hist(&lines)).valid, Validity::Valid);
    }
}
