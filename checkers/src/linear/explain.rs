//! Explanations of linearizability violations: a small set of operations that cannot all be
//! linearized ([`super::witness`]) and one plain sentence.

use super::model::{Kind, POp, Val, Values};
use super::zone::ZoneViolation;
use crate::{Anomaly, OpRef};
use histories::Operation;
use serde_json::json;
use std::time::Instant;

/// A value as it reads in a sentence: long ones keep their start and their end (where appends
/// differ), with the number of characters left out.
fn short(values: &Values, v: Val) -> String {
    abbreviate(&values.text(v), 72)
}

/// Shortens `s` to about `max` characters: its first quarter, `…[N chars]…`, and its end.
pub fn abbreviate(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max / 4).collect();
    let tail: String = s.chars().skip(n - max / 2).collect();
    format!("{head}…[{} chars]…{tail}", n - max / 4 - max / 2)
}

/// How an operation reads in a sentence: `process 3's read of x returned 4 (line 12)`.
pub fn phrase(op: &Operation, kind: Kind, values: &Values, key: &str) -> String {
    let who = format!("process {}'s", op.process);
    let k = subject(values, key);
    let line = format!("line {}", op.call_line);
    let tag = if op.status == histories::OpStatus::Info {
        " (outcome unknown)"
    } else {
        ""
    };
    match kind {
        Kind::Read(v) => format!(
            "{who} {} of {k} returned {} ({line}){tag}",
            op.f,
            short(values, v)
        ),
        Kind::Write(v) => format!(
            "{who} {} of {} to {k} ({line}){tag}",
            op.f,
            short(values, v)
        ),
        Kind::Cas(a, b) => format!(
            "{who} cas of {k} from {} to {} ({line}){tag}",
            short(values, a),
            short(values, b)
        ),
        Kind::Append(v) => format!("{who} append of {} to {k} ({line}){tag}", short(values, v)),
        Kind::Op(o) | Kind::Query(o) => {
            let what = values
                .machine
                .as_ref()
                .map(|m| abbreviate(&m.op_text(o), 120))
                .unwrap_or_default();
            let of = if key.is_empty() {
                String::new()
            } else {
                format!(" on key {key}")
            };
            format!("{who} {what}{of} ({line}){tag}")
        }
    }
}

/// What a key's object is called: `key x`, or for the history's only object "the register",
/// "the mutex", "the set", "the queue", "the registers".
fn subject(values: &Values, key: &str) -> String {
    if !key.is_empty() {
        return format!("key {key}");
    }
    values
        .machine
        .as_ref()
        .map_or("the register", |m| m.subject())
        .to_string()
}

/// Whether an operation can be illegal in some state (reads, cas, acquire, dequeue, …): what a
/// violation's sentence centres on.
fn conditional(values: &Values, kind: Kind) -> bool {
    match kind {
        Kind::Read(_) | Kind::Cas(..) => true,
        Kind::Op(o) | Kind::Query(o) => values
            .machine
            .as_ref()
            .is_some_and(|m| m.get(o).is_conditional()),
        _ => false,
    }
}

fn refs(hist: &[Operation], ops: &[POp], idx: &[usize]) -> Vec<OpRef> {
    let mut v: Vec<usize> = idx.to_vec();
    v.sort_by_key(|&i| ops[i].call);
    v.dedup();
    v.iter().map(|&i| OpRef::of(&hist[ops[i].id])).collect()
}

/// Explains a zone-test violation.
pub fn zone_anomaly(
    hist: &[Operation],
    ops: &[POp],
    values: &Values,
    key: &str,
    v: &ZoneViolation,
) -> Anomaly {
    let ph = |i: usize| phrase(&hist[ops[i].id], ops[i].kind, values, key);
    let span = |(a, b): (usize, usize), val: Val| {
        let start = if a == usize::MAX {
            "the start of the history".to_string()
        } else {
            format!("the completion of {}", ph(a))
        };
        format!(
            "{} held {} from {} until {} began",
            if key.is_empty() {
                "the register".into()
            } else {
                format!("key {key}")
            },
            values.text(val),
            start,
            ph(b)
        )
    };
    let (explanation, idx): (String, Vec<usize>) = match v {
        ZoneViolation::NeverWritten { read, value } => (
            format!(
                "{}, but no operation wrote {}.",
                ph(*read),
                values.text(*value)
            ),
            vec![*read],
        ),
        ZoneViolation::ReadBeforeWrite { read, write } => (
            format!(
                "{} completed before {} was even invoked.",
                ph(*read),
                ph(*write)
            ),
            vec![*read, *write],
        ),
        ZoneViolation::Overlap {
            value_a,
            a,
            value_b,
            b,
        } => (
            format!(
                "{} and {} must each come before the other: {}, yet {}.",
                values.text(*value_a),
                values.text(*value_b),
                span(*a, *value_a),
                span(*b, *value_b)
            ),
            [a.0, a.1, b.0, b.1]
                .into_iter()
                .filter(|&i| i != usize::MAX)
                .collect(),
        ),
        ZoneViolation::Inside {
            inner,
            inner_ops,
            outer,
            outer_ops,
        } => {
            let w = inner_ops
                .iter()
                .find(|&&i| matches!(ops[i].kind, Kind::Write(_)))
                .copied()
                .unwrap_or(inner_ops[0]);
            let mut idx: Vec<usize> = vec![w];
            idx.extend(inner_ops.iter().take(3));
            idx.extend(
                [outer_ops.0, outer_ops.1]
                    .into_iter()
                    .filter(|&i| i != usize::MAX),
            );
            (
                format!(
                    "{} and {} must each come before the other: {}, but {} and everything that read {} happened entirely within that span.",
                    values.text(*inner),
                    values.text(*outer),
                    span(*outer_ops, *outer),
                    ph(w),
                    values.text(*inner)
                ),
                idx,
            )
        }
    };
    Anomaly {
        kind: "nonlinearizable".into(),
        key: Some(key.to_string()),
        ops: refs(hist, ops, &idx),
        explanation,
        details: json!({"method": "zone", "values": zone_values(v, values)}),
    }
}

fn zone_values(v: &ZoneViolation, values: &Values) -> Vec<String> {
    match v {
        ZoneViolation::Overlap {
            value_a, value_b, ..
        } => vec![values.text(*value_a), values.text(*value_b)],
        ZoneViolation::Inside { inner, outer, .. } => {
            vec![values.text(*inner), values.text(*outer)]
        }
        ZoneViolation::NeverWritten { value, .. } => vec![values.text(*value)],
        ZoneViolation::ReadBeforeWrite { .. } => vec![],
    }
}

/// Explains a search's violation: shrinks to a small witness within `budget` and describes it.
pub fn search_anomaly(
    hist: &[Operation],
    ops: &[POp],
    values: &mut Values,
    key: &str,
    best: &[usize],
    hints: super::witness::Hints,
    deadline: Instant,
) -> Anomaly {
    let stuck = hints.stuck;
    let witness = super::witness::shrink(ops, values, hints, deadline);
    let explanation = sentence(hist, ops, values, key, &witness);
    let prefix_tail: Vec<String> = best
        .iter()
        .rev()
        .take(8)
        .rev()
        .map(|&i| phrase(&hist[ops[i].id], ops[i].kind, values, key))
        .collect();
    Anomaly {
        kind: "nonlinearizable".into(),
        key: Some(key.to_string()),
        ops: refs(hist, ops, &witness),
        explanation,
        details: json!({
            "method": "search",
            "witness_semantics": "these operations, as recorded, cannot all be linearized even if every other operation of the key took effect at any time after its invocation, or not at all",
            "stuck_op": OpRef::of(&hist[ops[stuck].id]),
            "longest_linearizable_prefix": {
                "length": best.len(),
                "ops": best.iter().map(|&i| ops[i].id).collect::<Vec<_>>(),
                "last": prefix_tail,
            },
        }),
    }
}

/// One sentence describing a witness: the read or cas that cannot be explained, and how the
/// other witness operations stand to it in real time.
fn sentence(
    hist: &[Operation],
    ops: &[POp],
    values: &Values,
    key: &str,
    witness: &[usize],
) -> String {
    let k = subject(values, key);
    let ph = |i: usize| phrase(&hist[ops[i].id], ops[i].kind, values, key);
    let lenient = "even letting every other operation take effect at any time after its invocation, or not at all";
    let target = witness
        .iter()
        .copied()
        .filter(|&i| ops[i].required && conditional(values, ops[i].kind))
        .max_by_key(|&i| ops[i].ret);
    let Some(t) = target else {
        return format!("These {} operations cannot all be ordered consistently with real time and the model, {lenient}.", witness.len());
    };
    let mut others: Vec<usize> = witness.iter().copied().filter(|&i| i != t).collect();
    others.sort_by_key(|&i| ops[i].call);
    let what = match ops[t].kind {
        Kind::Cas(..) => format!("{} succeeded", ph(t)),
        _ => ph(t),
    };
    if others.is_empty() {
        if values.machine.is_some() {
            return format!("{what}, but no order of the operations invoked before it returned leaves {k} in a state that allows it, {lenient}.");
        }
        let need = match ops[t].kind {
            Kind::Cas(a, _) => values.text(a),
            _ => "that value".to_string(),
        };
        return format!("{what}, but no operation invoked before it returned could have left {k} holding {need}, {lenient}.");
    }
    let tf = hist[ops[t].id].f.as_str();
    let mut parts = Vec::new();
    // A long witness (a mutex's every acquire and release) is summed up but for its last few.
    const SHOWN: usize = 8;
    let skip = others.len().saturating_sub(SHOWN);
    if skip > 0 {
        let first = hist[ops[others[0]].id].call_line;
        let last = hist[ops[others[skip - 1]].id].call_line;
        let before = others[..skip].iter().all(|&o| ops[o].ret < ops[t].call);
        parts.push(format!(
            "{skip} operations (lines {first}–{last}) {}",
            if before {
                format!("completed before the {tf} began")
            } else {
                "came first".to_string()
            }
        ));
    }
    for (n, &o) in others.iter().enumerate().skip(skip) {
        let rel = if ops[o].ret < ops[t].call {
            format!("completed before the {tf} began")
        } else if ops[o].call > ops[t].ret {
            format!("began after the {tf} completed")
        } else {
            format!("overlapped the {tf}")
        };
        let then = if n > 0 && ops[others[n - 1]].ret < ops[o].call {
            "then "
        } else {
            ""
        };
        parts.push(format!("{then}{} {rel}", ph(o)));
    }
    format!(
        "{what}, which no order allows: {}; {lenient}.",
        parts.join(", ")
    )
}
