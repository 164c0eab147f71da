//! Jepsen's workload checkers, for histories of its tests: [`set_full`] (lost, stale and
//! never-read elements of a set read while it grows), [`counter`] (reads within the bounds of
//! the increments), [`bank`] (totals and balances of transfers between accounts),
//! [`unique_ids`] (no id generated twice) and [`long_fork`] (no two reads order inserts
//! differently). Each is one [`crate::suite::Checker`], chosen by the history's `f`s or by name.

pub mod bank;
pub mod counter;
pub mod long_fork;
pub mod set_full;
pub mod unique_ids;

use crate::{Anomaly, Validity};
use serde_json::{json, Value};

/// Invalid when anything was found, unknown when nothing could be decided, else valid.
pub(crate) fn verdict(anomalies: &[Anomaly], decided: bool) -> Validity {
    if !anomalies.is_empty() {
        Validity::Invalid
    } else if !decided {
        Validity::Unknown
    } else {
        Validity::Valid
    }
}

/// Jepsen's latency distribution: the 0, 0.5, 0.95, 0.99 and 1 quantiles of nanosecond
/// latencies, in milliseconds; `null` when there are none.
pub(crate) fn quantiles_ms(mut ns: Vec<u64>) -> Value {
    if ns.is_empty() {
        return Value::Null;
    }
    ns.sort_unstable();
    let n = ns.len();
    let at = |p: f64| ns[((n as f64 * p).floor() as usize).min(n - 1)] / 1_000_000;
    json!({"0": at(0.0), "0.5": at(0.5), "0.95": at(0.95), "0.99": at(0.99), "1": at(1.0)})
}

/// The elements of a list, at most `n` of them, as text for a sentence.
pub(crate) fn some(list: &[String], n: usize) -> String {
    let mut s = list.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if list.len() > n {
        s.push_str(", …");
    }
    s
}
