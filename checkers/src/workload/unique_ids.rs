//! Jepsen's `unique-ids` checker: every successful `generate` returns an id, and no two may be
//! equal. Each id returned more than once is a `duplicated` anomaly naming the operations
//! (at most 5 of them). Unknown when no `generate` succeeded.

use super::{some, verdict};
use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef};
use histories::{History, OpStatus};
use serde_json::json;
use std::collections::BTreeMap;

/// The unique-ids checker in the suite.
pub struct UniqueIds;

impl Checker for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn by_default(&self, shape: &Shape) -> bool {
        shape.only(&["generate"])
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        if !h.ops.iter().all(|o| o.f == "generate") {
            return Err(SuiteError::DoesNotFit(
                "unique-ids checks generate operations only; this history has others".into(),
            ));
        }
        Ok(check(h))
    }
}

/// The ids returned more than once, each with the operations that returned it.
pub fn duplicates(h: &History) -> BTreeMap<String, Vec<usize>> {
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for o in h.ops.iter().filter(|o| o.status == OpStatus::Ok) {
        by_id.entry(o.output.to_string()).or_default().push(o.id);
    }
    by_id.retain(|_, ops| ops.len() > 1);
    by_id
}

/// Checks a unique-ids history.
pub fn check(h: &History) -> CheckerReport {
    let dups = duplicates(h);
    let acked: Vec<_> = h.ops.iter().filter(|o| o.status == OpStatus::Ok).collect();
    let anomalies: Vec<Anomaly> = dups
        .iter()
        .map(|(id, ops)| Anomaly {
            kind: "duplicated".into(),
            key: None,
            ops: ops.iter().take(5).map(|&i| OpRef::of(&h.ops[i])).collect(),
            explanation: format!("id {id} was generated {} times", ops.len()),
            details: json!({"id": id, "count": ops.len()}),
        })
        .collect();
    let valid = verdict(&anomalies, !acked.is_empty());
    let names: Vec<String> = dups.keys().cloned().collect();
    let explanation = match valid {
        crate::Validity::Invalid => format!(
            "unique-ids: {} ids generated more than once ({})",
            dups.len(),
            some(&names, 10)
        ),
        crate::Validity::Unknown => {
            "unique-ids: no generate succeeded, so nothing can be said".into()
        }
        crate::Validity::Valid => format!("unique-ids: all {} generated ids distinct", acked.len()),
    };
    let ints: Vec<i64> = acked.iter().filter_map(|o| o.output.as_i64()).collect();
    CheckerReport {
        valid,
        anomalies,
        stats: json!({
            "attempted_count": h.ops.len(),
            "acknowledged_count": acked.len(),
            "duplicated_count": dups.len(),
            "range": (ints.len() == acked.len() && !ints.is_empty())
                .then(|| json!([ints.iter().min(), ints.iter().max()])),
        }),
        explanation,
        detail: Detail::None,
    }
}
