//! Explanations of linearizability violations: a small set of operations that cannot all be
//! linearized (shrunk greedily from the point where the search got stuck) and one plain sentence.

use super::model::{Kind, POp, Val, Values};
use super::search::{search, Limits, Outcome};
use super::zone::ZoneViolation;
use crate::{Anomaly, OpRef};
use histories::{Operation, NEVER};
use serde_json::json;
use std::time::{Duration, Instant};

/// How an operation reads in a sentence: `process 3's read of x returned 4 (line 12)`.
pub fn phrase(op: &Operation, kind: Kind, values: &Values, key: &str) -> String {
    let who = format!("process {}'s", op.process);
    let k = if key.is_empty() {
        "the register".to_string()
    } else {
        format!("key {key}")
    };
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
            values.text(v)
        ),
        Kind::Write(v) => format!("{who} {} of {} to {k} ({line}){tag}", op.f, values.text(v)),
        Kind::Cas(a, b) => format!(
            "{who} cas of {k} from {} to {} ({line}){tag}",
            values.text(a),
            values.text(b)
        ),
        Kind::Append(v) => format!("{who} append of {} to {k} ({line}){tag}", values.text(v)),
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
    stuck: usize,
    budget: Duration,
) -> Anomaly {
    let deadline = Instant::now() + budget;
    let witness = shrink(ops, values, stuck, deadline);
    let sub: Vec<POp> = witness.iter().map(|&i| ops[i].clone()).collect();
    let target_local = pick_target(&sub).unwrap_or(0);
    let target = witness.get(target_local).copied().unwrap_or(stuck);
    let states = placement_states(&sub, values, target_local);
    let tp = phrase(&hist[ops[target].id], ops[target].kind, values, key);
    let k = if key.is_empty() {
        "the register".to_string()
    } else {
        format!("key {key}")
    };
    let others = witness.len().saturating_sub(1);
    let explanation = match (states, ops[target].kind) {
        (Some(st), Kind::Read(_) | Kind::Cas(..)) if !st.is_empty() && others > 0 => {
            let list: Vec<String> = st.iter().map(|&s| values.text(s)).collect();
            format!(
                "{tp}, but every order of the other {others} operation{} that respects real time leaves {k} at {} wherever it could take effect.",
                if others == 1 { "" } else { "s" },
                join_or(&list)
            )
        }
        (_, Kind::Read(v)) if others == 0 => format!("{tp}, a value {k} never held: no operation wrote {}.", values.text(v)),
        (_, Kind::Cas(a, _)) if others == 0 => format!("{tp} succeeded, but {k} never held {}.", values.text(a)),
        _ => format!(
            "These {} operations cannot all be ordered consistently with real time and the model, the last to complete being {tp}.",
            witness.len()
        ),
    };
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
            "stuck_op": OpRef::of(&hist[ops[stuck].id]),
            "longest_linearizable_prefix": {
                "length": best.len(),
                "ops": best.iter().map(|&i| ops[i].id).collect::<Vec<_>>(),
                "last": prefix_tail,
            },
        }),
    }
}

fn join_or(list: &[String]) -> String {
    match list.len() {
        0 => String::new(),
        1 => list[0].clone(),
        n => format!("{} or {}", list[..n - 1].join(", "), list[n - 1]),
    }
}

fn is_illegal(ops: &[POp], values: &mut Values, deadline: Instant) -> Option<bool> {
    let limits = Limits {
        deadline: deadline.min(Instant::now() + Duration::from_millis(300)),
        max_bytes: 256 << 20,
        cancel: None,
    };
    match search(ops, values, limits).0 {
        Outcome::Illegal { .. } => Some(true),
        Outcome::Linearizable(_) => Some(false),
        Outcome::Unknown(_) => None,
    }
}

/// A small set of operations (indices into `ops`) that cannot all be linearized.
fn shrink(ops: &[POp], values: &mut Values, stuck: usize, deadline: Instant) -> Vec<usize> {
    // Start from the prefix up to the stuck operation's return: operations invoked before it,
    // those completing later made optional.
    let cut = ops[stuck].ret;
    let mut cur: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].call < cut).collect();
    let mk = |set: &[usize]| -> Vec<POp> {
        set.iter()
            .map(|&i| {
                let mut o = ops[i].clone();
                if o.ret != NEVER && o.ret > cut {
                    o.ret = NEVER;
                    o.required = false;
                }
                o
            })
            .collect()
    };
    if is_illegal(&mk(&cur), values, deadline) != Some(true) {
        cur = (0..ops.len()).collect();
        if cur.len() > 2000 {
            return vec![stuck];
        }
    }
    // ddmin-style: remove chunks, halving the chunk size down to single operations.
    let mut chunk = (cur.len() / 2).max(1);
    loop {
        let mut i = 0;
        while i < cur.len() {
            if Instant::now() > deadline {
                return cur;
            }
            let end = (i + chunk).min(cur.len());
            let trial: Vec<usize> = cur[..i].iter().chain(cur[end..].iter()).copied().collect();
            if !trial.is_empty() && is_illegal(&mk(&trial), values, deadline) == Some(true) {
                cur = trial;
            } else {
                i = end;
            }
        }
        if chunk == 1 {
            return cur;
        }
        chunk = (chunk / 2).max(1);
    }
}

/// The required read or cas completing last: the operation the others cannot explain.
fn pick_target(sub: &[POp]) -> Option<usize> {
    (0..sub.len())
        .filter(|&i| sub[i].required && matches!(sub[i].kind, Kind::Read(_) | Kind::Cas(..)))
        .max_by_key(|&i| sub[i].ret)
}

/// The states the register can be in at any point where `target` could take effect, over every
/// real-time-respecting order of the other operations (small witnesses only).
fn placement_states(sub: &[POp], values: &mut Values, target: usize) -> Option<Vec<Val>> {
    if sub.len() > 9 || target >= sub.len() {
        return None;
    }
    let mut out = std::collections::BTreeSet::new();
    let mut placed = vec![false; sub.len()];
    let mut budget = 200_000u32;
    fn rec(
        sub: &[POp],
        values: &mut Values,
        t: usize,
        placed: &mut Vec<bool>,
        state: Val,
        out: &mut std::collections::BTreeSet<Val>,
        budget: &mut u32,
    ) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let can = |placed: &Vec<bool>, i: usize| {
            !placed[i]
                && (0..sub.len())
                    .all(|j| placed[j] || j == i || !sub[j].required || sub[j].ret > sub[i].call)
        };
        // Could the target take effect here?
        if !placed[t] && can(placed, t) {
            out.insert(state);
        }
        for i in 0..sub.len() {
            if i == t || placed[i] || !can(placed, i) {
                continue;
            }
            if let Some(s2) = values.step(state, sub[i].kind) {
                placed[i] = true;
                rec(sub, values, t, placed, s2, out, budget);
                placed[i] = false;
            }
        }
    }
    rec(sub, values, target, &mut placed, 0, &mut out, &mut budget);
    Some(out.into_iter().collect())
}
