//! Gibbons & Korach's zone test ("Testing shared memories", 1997): linearizability of a
//! read/write register whose written values are unique, in O(n log n).
//!
//! A value's cluster is its write and the reads that returned it. If some operation of the
//! cluster completes before another one begins, the register must hold the value throughout
//! that span: the cluster's forward zone [earliest completion, latest invocation]. Otherwise the
//! cluster's operations all overlap and its zone is backward. The history is linearizable iff no
//! read completes before its write is invoked, no two forward zones intersect, and no backward
//! zone lies inside another cluster's forward zone.

use super::model::{Kind, POp, Val};
use histories::NEVER;

/// Why the zone test rejects a history (indices into the prepared ops).
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneViolation {
    /// A read returned a value no operation wrote.
    NeverWritten { read: usize, value: Val },
    /// A read completed before the write of its value was invoked.
    ReadBeforeWrite { read: usize, write: usize },
    /// The forward zones of two values intersect: each must come before the other.
    /// `a` and `b` are the (earliest-completing, latest-invoked) operations of each cluster.
    Overlap {
        value_a: Val,
        a: (usize, usize),
        value_b: Val,
        b: (usize, usize),
    },
    /// The backward zone of `inner` lies inside the forward zone of `outer`.
    Inside {
        inner: Val,
        inner_ops: Vec<usize>,
        outer: Val,
        outer_ops: (usize, usize),
    },
}

/// Whether the zone test applies: only reads and writes, every written value distinct and not
/// the initial `null`.
pub fn applies(ops: &[POp]) -> bool {
    let mut seen = std::collections::HashSet::new();
    ops.iter().all(|o| match o.kind {
        Kind::Read(_) => true,
        Kind::Write(v) => v != 0 && seen.insert(v),
        _ => false,
    })
}

struct Cluster {
    value: Val,
    write: Option<usize>,
    ops: Vec<usize>,
    min_ret: (u64, usize),
    max_call: (u64, usize),
}

/// Runs the test. Positions are shifted by one so the initial value's virtual write sits at 0.
pub fn check(ops: &[POp]) -> Result<(), ZoneViolation> {
    let pos = |p: u64| if p == NEVER { NEVER } else { p + 1 };
    let mut clusters: std::collections::HashMap<Val, Cluster> = std::collections::HashMap::new();
    let fresh = |value: Val| Cluster {
        value,
        write: None,
        ops: Vec::new(),
        min_ret: (NEVER, usize::MAX),
        max_call: (0, usize::MAX),
    };
    for (i, o) in ops.iter().enumerate() {
        if let Kind::Write(v) = o.kind {
            let c = clusters.entry(v).or_insert_with(|| fresh(v));
            c.write = Some(i);
        }
    }
    for (i, o) in ops.iter().enumerate() {
        let v = match o.kind {
            Kind::Read(v) | Kind::Write(v) => v,
            _ => continue,
        };
        if let Kind::Read(_) = o.kind {
            if v != 0 && !clusters.contains_key(&v) {
                return Err(ZoneViolation::NeverWritten { read: i, value: v });
            }
        }
        let c = clusters.entry(v).or_insert_with(|| fresh(v));
        c.ops.push(i);
        let (call, ret) = (pos(o.call), pos(o.ret));
        if ret < c.min_ret.0 {
            c.min_ret = (ret, i);
        }
        if call >= c.max_call.0 {
            c.max_call = (call, i);
        }
    }
    // The initial value: a virtual write at position 0.
    if let Some(c) = clusters.get_mut(&0) {
        c.min_ret = (0, usize::MAX);
    }
    let mut forward: Vec<(u64, u64, Val)> = Vec::new();
    let mut backward: Vec<(u64, u64, Val)> = Vec::new();
    for c in clusters.values() {
        if let Some(w) = c.write {
            let wc = pos(ops[w].call);
            for &r in &c.ops {
                if matches!(ops[r].kind, Kind::Read(_)) && pos(ops[r].ret) < wc {
                    return Err(ZoneViolation::ReadBeforeWrite { read: r, write: w });
                }
            }
        }
        if c.min_ret.0 < c.max_call.0 {
            forward.push((c.min_ret.0, c.max_call.0, c.value));
        } else {
            backward.push((c.max_call.0, c.min_ret.0, c.value));
        }
    }
    forward.sort_unstable();
    let ends = |v: Val| {
        let c = &clusters[&v];
        (c.min_ret.1, c.max_call.1)
    };
    for w in forward.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(ZoneViolation::Overlap {
                value_a: w[0].2,
                a: ends(w[0].2),
                value_b: w[1].2,
                b: ends(w[1].2),
            });
        }
    }
    for &(a, b, v) in &backward {
        // The forward zone with the largest start below a.
        let k = forward.partition_point(|z| z.0 < a);
        if k > 0 {
            let (s, e, outer) = forward[k - 1];
            if s < a && b < e && outer != v {
                let c = &clusters[&v];
                let mut inner_ops = c.ops.clone();
                inner_ops.sort_unstable();
                return Err(ZoneViolation::Inside {
                    inner: v,
                    inner_ops,
                    outer,
                    outer_ops: ends(outer),
                });
            }
        }
    }
    Ok(())
}
