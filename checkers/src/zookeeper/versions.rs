//! Per-key write order from znode versions: when every write of a key that took effect carries
//! the integer `version` the server reported, the writes of that key are ordered by it. Keys
//! with a missing, non-integer or repeated version contribute nothing (the search decides them).

use super::zxid::meta_int;
use crate::memory::{Edge, EdgeKind, Memory, Node};
use histories::History;
use std::collections::HashMap;

/// Edges between consecutive versions of each fully versioned key.
pub fn version_edges(h: &History, m: &Memory) -> Vec<Edge> {
    let mut by_key: HashMap<u32, Vec<(i64, Node)>> = HashMap::new();
    let mut broken: Vec<bool> = vec![false; m.keys.len()];
    for (i, n) in m.nodes.iter().enumerate() {
        let (Some(o), true) = (n.op, n.writes) else {
            continue;
        };
        match h.ops[o].meta.get("version").and_then(meta_int) {
            Some(v) => by_key.entry(n.key).or_default().push((v, i as Node)),
            None => broken[n.key as usize] = true,
        }
    }
    let mut out = Vec::new();
    for (k, mut ws) in by_key {
        if broken[k as usize] {
            continue;
        }
        ws.sort_unstable();
        if ws.windows(2).any(|w| w[0].0 == w[1].0) {
            continue;
        }
        out.extend(ws.windows(2).map(|w| Edge {
            from: w[0].1,
            to: w[1].1,
            kind: EdgeKind::Version,
        }));
    }
    out
}
