//! The ZooKeeper check when updates carry zxids: the zxid order is the update order. It must
//! respect real time among updates and make every cas see its expected value; then each session
//! is walked in program order, placing each read at the earliest point of the update order that
//! is no earlier than what the session has already seen and shows the value the read returned.

use crate::consistency::{anomaly, Model, ModelReport};
use crate::memory::{name, Memory, Node, Source};
use crate::Anomaly;
use histories::{History, OpStatus};
use serde_json::json;
use std::collections::HashMap;

const MAX: usize = 8;

/// The zxid of every node (indexed by node): required of every write and cas, optional for
/// reads (the state they observed), absent for syncs. `None` when some write has none.
pub fn zxids(h: &History, m: &Memory) -> Option<Vec<Option<i64>>> {
    let mut out = vec![None; m.nodes.len()];
    for (i, n) in m.nodes.iter().enumerate() {
        let op = &h.ops[n.op?];
        let z = op.meta.get("zxid").and_then(meta_int);
        if n.writes {
            out[i] = Some(z?);
        } else {
            // reads may carry the zxid they observed; syncs are placed by real time
            out[i] = z;
        }
    }
    Some(out)
}

/// An integer from server metadata: a JSON integer, or a string in decimal or `0x` hex (as
/// ZooKeeper prints zxids).
pub fn meta_int(v: &serde_json::Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let s = v.as_str()?.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn check(h: &History, m: &Memory, z: &[Option<i64>]) -> ModelReport {
    let mut anomalies: Vec<Anomaly> = Vec::new();
    let mut updates: Vec<(i64, Node)> = m
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.writes)
        .filter_map(|(i, _)| z[i].map(|x| (x, i as Node)))
        .collect();
    updates.sort_unstable();
    // Distinct zxids.
    for w in updates.windows(2) {
        if w[0].0 == w[1].0 && anomalies.len() < MAX {
            anomalies.push(anomaly(
                h,
                m,
                "duplicate-zxid",
                None,
                &[w[0].1, w[1].1],
                format!(
                    "{} and {} both carry zxid {}, but zxids order updates totally",
                    name(h, m, w[0].1),
                    name(h, m, w[1].1),
                    w[0].0
                ),
                json!({"zxid": w[0].0}),
            ));
        }
    }
    // Real time among updates: whatever completed before b was invoked has a smaller zxid.
    let op_of = |n: Node| &h.ops[m.nodes[n as usize].op.unwrap_or(0)];
    let mut by_ret: Vec<(u64, i64, Node)> = updates
        .iter()
        .filter(|&&(_, n)| op_of(n).status == OpStatus::Ok)
        .map(|&(zx, n)| (op_of(n).ret, zx, n))
        .collect();
    by_ret.sort_unstable();
    let mut prefix_max: Vec<(i64, Node)> = Vec::with_capacity(by_ret.len());
    for &(_, zx, n) in &by_ret {
        let best = match prefix_max.last() {
            Some(&(bz, bn)) if bz >= zx => (bz, bn),
            _ => (zx, n),
        };
        prefix_max.push(best);
    }
    for &(zx, b) in &updates {
        let k = by_ret.partition_point(|&(ret, _, _)| ret < op_of(b).call);
        if k > 0 {
            let (az, a) = prefix_max[k - 1];
            if az >= zx && a != b && anomalies.len() < MAX {
                anomalies.push(anomaly(
                    h,
                    m,
                    "real-time-zxid",
                    None,
                    &[a, b],
                    format!(
                        "{} completed before {} was invoked, yet its zxid {az} is not smaller than {zx}: updates must be ordered in real time",
                        name(h, m, a),
                        name(h, m, b)
                    ),
                    json!({"zxids": [az, zx]}),
                ));
            }
        }
    }
    // Replay updates in zxid order: cas must see its expected value; record each write's
    // successor on its key.
    let mut last_on_key: HashMap<u32, Node> = HashMap::new();
    let mut next_write: Vec<Option<Node>> = vec![None; m.nodes.len()];
    let mut first_write: HashMap<u32, Node> = HashMap::new();
    for &(_, n) in &updates {
        let node = &m.nodes[n as usize];
        if !node.writes {
            continue;
        }
        let prev = last_on_key.get(&node.key).copied();
        if let Some(src) = node.read {
            let ok = match (src, prev) {
                (Source::Init, None) => true,
                (Source::Write(w), Some(p)) => w == p,
                _ => false,
            };
            if !ok && anomalies.len() < MAX {
                let mut ops = vec![n];
                ops.extend(prev);
                anomalies.push(anomaly(
                    h,
                    m,
                    "cas-zxid",
                    Some(node.key),
                    &ops,
                    format!(
                        "{} succeeded at zxid {}, but in zxid order the key then held {}",
                        name(h, m, n),
                        z[n as usize].unwrap_or(0),
                        prev.map(|p| format!("the value of {}", name(h, m, p)))
                            .unwrap_or_else(|| "its initial value".into())
                    ),
                    json!({}),
                ));
            }
        }
        match prev {
            Some(p) => next_write[p as usize] = Some(n),
            None => {
                first_write.insert(node.key, n);
            }
        }
        last_on_key.insert(node.key, n);
    }
    // Sessions.
    for chain in &m.chains {
        // (zxid position seen so far, the operation that set it)
        let mut seen: (i64, Option<Node>) = (i64::MIN, None);
        for &n in chain {
            let node = &m.nodes[n as usize];
            if node.update && !node.writes {
                // A sync: it comes after every update that completed before it was invoked,
                // and the session sees at least those from then on.
                let k = by_ret.partition_point(|&(ret, _, _)| ret < op_of(n).call);
                if k > 0 && prefix_max[k - 1].0 > seen.0 {
                    seen = (prefix_max[k - 1].0, Some(n));
                }
                continue;
            }
            if node.update {
                let zx = z[n as usize].unwrap_or(i64::MIN);
                if zx <= seen.0 && seen.1.is_some() && anomalies.len() < MAX {
                    let s = seen.1.unwrap_or(n);
                    anomalies.push(anomaly(
                        h,
                        m,
                        "session-order",
                        None,
                        &[s, n],
                        format!(
                            "{} follows {} in its session, yet its zxid {zx} is not after the state {} that operation saw",
                            name(h, m, n),
                            name(h, m, s),
                            seen.0
                        ),
                        json!({"zxid": zx, "seen": seen.0}),
                    ));
                }
                seen = (zx.max(seen.0), Some(n));
                continue;
            }
            let Some(src) = node.read else { continue };
            let (lo, src_node) = match src {
                Source::Init => (i64::MIN, None),
                Source::Write(w) => (z[w as usize].unwrap_or(i64::MIN), Some(w)),
                Source::ThinAir => {
                    if anomalies.len() < MAX {
                        anomalies.push(anomaly(
                            h,
                            m,
                            "ThinAirRead",
                            Some(node.key),
                            &[n],
                            format!("{} returned a value no update wrote", name(h, m, n)),
                            json!({}),
                        ));
                    }
                    continue;
                }
            };
            let over = match src_node {
                Some(w) => next_write[w as usize],
                None => first_write.get(&node.key).copied(),
            };
            let hi = over.and_then(|o| z[o as usize]).unwrap_or(i64::MAX);
            // Named only when a read is reported (naming every read cost a third of the check).
            let value = || {
                src_node
                    .map(|w| format!("of {}", name(h, m, w)))
                    .unwrap_or_else(|| "initial".into())
            };
            let seen_by = || seen.1.map(|s| name(h, m, s)).unwrap_or_default();
            let problem = match z[n as usize] {
                Some(rz) if rz < lo || rz >= hi => Some(format!(
                    "{} returned the value {} while it observed zxid {rz}, outside the interval [{lo}, {hi}) in which that value was current",
                    name(h, m, n),
                    value()
                )),
                Some(rz) if rz < seen.0 => Some(format!(
                    "{} observed zxid {rz}, older than zxid {} which its session had already seen through {}: reads went backwards",
                    name(h, m, n),
                    seen.0,
                    seen_by()
                )),
                None if lo.max(seen.0) >= hi => Some(format!(
                    "{} returned the value {}, which {} overwrote at zxid {hi}, but its session had already seen zxid {} through {}: the read went backwards",
                    name(h, m, n),
                    value(),
                    over.map(|o| name(h, m, o)).unwrap_or_default(),
                    seen.0,
                    seen_by()
                )),
                _ => None,
            };
            if let Some(p) = problem {
                if anomalies.len() < MAX {
                    let mut ops: Vec<Node> = seen.1.into_iter().collect();
                    ops.extend(src_node);
                    ops.extend(over);
                    ops.push(n);
                    anomalies.push(anomaly(
                        h,
                        m,
                        "stale-session-read",
                        Some(node.key),
                        &ops,
                        p,
                        json!({"interval": [lo, hi], "seen": seen.0}),
                    ));
                }
                continue;
            }
            let at = z[n as usize].unwrap_or(lo).max(seen.0);
            if at > seen.0 {
                seen = (at, Some(n));
            }
        }
    }
    let stats = json!({"operations": m.len(), "updates": updates.len(), "method": "zxid"});
    if anomalies.is_empty() {
        ModelReport::valid(Model::Zookeeper, stats)
    } else {
        ModelReport::invalid(Model::Zookeeper, anomalies, stats)
    }
}
