//! The set checker: compares acknowledged adds with every read of the whole set, by real time.
//! It runs on set histories: `add`s of elements, and reads of the whole set (`read` without a
//! key), during the run and in the final phase.
//!
//! For each successful read, the adds acknowledged before the read began must be in it. One
//! that is missing is *stale* when a read that began after this one ended shows it again, and
//! *lost* when none does (the final reads, which begin after every add ended, can only find
//! lost ones). An element is *unexpected* when a read contains it but no add of it began before
//! the read ended; *duplicated* when one read contains it twice. `info` adds may or may not
//! appear (those that do are counted as recovered). Valid when no successful read shows any
//! of the four; unknown when no read succeeded.

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

    /// Histories of adds and whole-set reads (not a counter's reads of a number).
    fn by_default(&self, shape: &Shape) -> bool {
        shape.functions.contains("add")
            && shape.only(&["add", "read"])
            && shape
                .history
                .ops
                .iter()
                .all(|o| o.f == "add" || o.key.is_none())
            && !crate::workload::counter::fits(shape.history)
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
    // Per element: the first add's id, and the earliest positions at which an add of it began
    // and at which one was acknowledged.
    let mut attempted: BTreeMap<String, usize> = BTreeMap::new();
    let mut began: BTreeMap<String, u64> = BTreeMap::new();
    let mut acked_at: BTreeMap<String, u64> = BTreeMap::new();
    let mut indefinite: BTreeSet<String> = BTreeSet::new();
    let mut last_add_event = 0u64;
    for op in h.ops.iter().filter(|o| o.f == "add") {
        let e = elem(&op.input);
        attempted.entry(e.clone()).or_insert(op.id);
        let b = began.entry(e.clone()).or_insert(op.call);
        *b = (*b).min(op.call);
        last_add_event = last_add_event.max(op.call);
        if op.ret != histories::NEVER {
            last_add_event = last_add_event.max(op.ret);
        }
        match op.status {
            OpStatus::Ok => {
                let a = acked_at.entry(e).or_insert(op.ret);
                *a = (*a).min(op.ret);
            }
            OpStatus::Info => {
                indefinite.insert(e);
            }
            OpStatus::Fail => {}
        }
    }
    let mut reads: Vec<_> = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.key.is_none() && o.status == OpStatus::Ok)
        .collect();
    reads.sort_by_key(|r| r.call);
    // What each read returned (None: not a list).
    let contents: Vec<Option<BTreeMap<String, usize>>> = reads
        .iter()
        .map(|r| {
            r.output.as_array().map(|items| {
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                for v in items {
                    *counts.entry(elem(v)).or_default() += 1;
                }
                counts
            })
        })
        .collect();
    // For each element, the latest start of a read that shows it: a read that misses it is
    // stale, not lost, when a read beginning after it ended shows it.
    let mut last_seen_start: BTreeMap<&str, u64> = BTreeMap::new();
    for (r, c) in reads.iter().zip(&contents) {
        for e in c.iter().flat_map(|c| c.keys()) {
            let s = last_seen_start.entry(e.as_str()).or_insert(r.call);
            *s = (*s).max(r.call);
        }
    }
    let acked: BTreeSet<String> = acked_at.keys().cloned().collect();
    let mut anomalies = Vec::new();
    let mut final_reads = Vec::new();
    let mut lost_all: BTreeSet<String> = BTreeSet::new();
    let mut stale_all: BTreeSet<String> = BTreeSet::new();
    let mut stale_reads = 0usize;
    let mut unexpected_all: BTreeSet<String> = BTreeSet::new();
    let mut duplicated_all: BTreeSet<String> = BTreeSet::new();
    let mut recovered: BTreeSet<String> = BTreeSet::new();
    for (r, counts) in reads.iter().zip(&contents) {
        let is_final = r.call > last_add_event;
        let which = if is_final { "the final read" } else { "a read" };
        let Some(counts) = counts else {
            anomalies.push(Anomaly {
                kind: "malformed-read".into(),
                key: None,
                ops: vec![OpRef::of(r)],
                explanation: format!("{which} returned {}, not a list of elements", r.output),
                details: Value::Null,
            });
            continue;
        };
        let mut lost = Vec::new();
        let mut stale = Vec::new();
        for (e, &at) in &acked_at {
            if at < r.call && !counts.contains_key(e) {
                if last_seen_start.get(e.as_str()).is_some_and(|&s| s > r.ret) {
                    stale.push(e.clone());
                } else {
                    lost.push(e.clone());
                }
            }
        }
        let unexpected: Vec<String> = counts
            .keys()
            .filter(|e| began.get(*e).is_none_or(|&b| b > r.ret))
            .cloned()
            .collect();
        let duplicated: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(e, _)| e.clone())
            .collect();
        recovered.extend(counts.keys().filter(|e| indefinite.contains(*e)).cloned());
        let node = r.node.clone().unwrap_or_else(|| "?".into());
        for (kind, list, what) in [
            ("lost", &lost, "acknowledged adds missing from"),
            (
                "stale",
                &stale,
                "adds acknowledged before it began, shown again by later reads, missing from",
            ),
            (
                "unexpected",
                &unexpected,
                "elements no add of which had begun, present in",
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
            if kind == "lost" || kind == "stale" {
                for e in list.iter().take(5) {
                    if let Some(&id) = attempted.get(e) {
                        ops.push(OpRef::of(&h.ops[id]));
                    }
                }
            }
            let at = if is_final {
                String::new()
            } else {
                format!(" (line {})", r.call_line)
            };
            anomalies.push(Anomaly {
                kind: kind.into(),
                key: None,
                ops,
                explanation: format!(
                    "{} {what} {which} from {node}{at}: {}{}",
                    list.len(),
                    list.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
                    if list.len() > 10 { ", …" } else { "" }
                ),
                details: json!({"node": node, "elements": list, "final": is_final}),
            });
        }
        if !stale.is_empty() {
            stale_reads += 1;
        }
        lost_all.extend(lost);
        stale_all.extend(stale);
        unexpected_all.extend(unexpected);
        duplicated_all.extend(duplicated);
        if is_final {
            final_reads.push(json!({"node": node, "size": counts.values().sum::<usize>()}));
        }
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
        Validity::Unknown => "no read of the set succeeded, so nothing can be said about lost elements".into(),
        Validity::Valid => format!(
            "every one of {} acknowledged adds is in every read that began after it was acknowledged ({} reads, {} of them final); nothing stale, duplicated or unexpected",
            acked.len(),
            reads.len(),
            final_reads.len()
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
            "stale": stale_all.len(),
            "stale_reads": stale_reads,
            "unexpected": unexpected_all.len(),
            "duplicated": duplicated_all.len(),
            "reads": reads.len(),
            "final_reads": final_reads,
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

    #[test]
    fn reads_during_the_run_see_what_was_acknowledged_before_they_began() {
        let h = hist(&[
            r#""type":"invoke","process":0,"f":"add","value":1"#,
            r#""type":"ok","process":0,"f":"add","value":1"#,
            // Began after 1 was acknowledged, misses it: stale, since a later read shows it.
            r#""type":"invoke","process":9,"f":"read","value":null"#,
            r#""type":"invoke","process":1,"f":"add","value":2"#,
            r#""type":"ok","process":9,"f":"read","value":[2],"node":"n3""#,
            r#""type":"ok","process":1,"f":"add","value":2"#,
            // 3 is added after this read ended: present here, it is unexpected.
            r#""type":"invoke","process":8,"f":"read","value":null"#,
            r#""type":"ok","process":8,"f":"read","value":[1,2,3],"node":"n1""#,
            r#""type":"invoke","process":2,"f":"add","value":3"#,
            r#""type":"ok","process":2,"f":"add","value":3"#,
            r#""type":"invoke","process":7,"f":"read","value":null"#,
            r#""type":"ok","process":7,"f":"read","value":[1,2,3],"node":"n2""#,
        ]);
        let r = check(&h);
        assert_eq!(r.valid, Validity::Invalid);
        let kinds: Vec<&str> = r.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["stale", "unexpected"], "{:?}", r.anomalies);
        assert_eq!(r.stats["stale"], 1);
        assert_eq!(r.stats["lost"], 0);
        assert_eq!(r.stats["reads"], 3);
        assert_eq!(r.stats["final_reads"].as_array().unwrap().len(), 1);
        assert!(
            r.anomalies[0].explanation.contains("n3"),
            "{}",
            r.anomalies[0].explanation
        );

        // A read concurrent with an add may or may not show it; later reads must.
        let h = hist(&[
            r#""type":"invoke","process":0,"f":"add","value":1"#,
            r#""type":"invoke","process":9,"f":"read","value":null"#,
            r#""type":"ok","process":9,"f":"read","value":[]"#,
            r#""type":"invoke","process":8,"f":"read","value":null"#,
            r#""type":"ok","process":8,"f":"read","value":[1]"#,
            r#""type":"ok","process":0,"f":"add","value":1"#,
            r#""type":"invoke","process":7,"f":"read","value":null"#,
            r#""type":"ok","process":7,"f":"read","value":[]"#,
        ]);
        let r = check(&h);
        let kinds: Vec<&str> = r.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["lost"], "{:?}", r.anomalies);
    }
}
