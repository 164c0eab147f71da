//! Causal memory's WriteHBInitRead and CyclicHB: each process must see one serialization of
//! its causal past in which all of its own reads return the latest write. The happens-before
//! of process p's view is the causal order saturated with the write orders p's reads force:
//! if w1 happens before p's read of w2 (same key), w1 comes before w2.

use super::patterns::{first_write_before, last_write_before};
use super::MAX_PER_PATTERN;
use crate::consistency::anomaly;
use crate::memory::{explain_path, name, Edge, EdgeKind, Graph, Memory, Node, Source};
use crate::Anomaly;
use histories::History;
use serde_json::json;

/// Both patterns, checked in every process's view.
pub fn happens_before(h: &History, m: &Memory) -> Vec<Anomaly> {
    let base = m.rf_edges();
    let mut out = Vec::new();
    for (c, chain) in m.chains.iter().enumerate() {
        // A process that reads nothing has nothing to explain (Jepsen's retired processes
        // often hold one write).
        if m.chain_process[c].is_none() || chain.iter().all(|&n| m.nodes[n as usize].read.is_none())
        {
            continue;
        }
        if let Some(a) = view(h, m, chain, base.clone()) {
            out.push(a);
        }
        if out.len() >= MAX_PER_PATTERN {
            break;
        }
    }
    out
}

fn view(h: &History, m: &Memory, chain: &[Node], mut edges: Vec<Edge>) -> Option<Anomaly> {
    let reads: Vec<Node> = chain
        .iter()
        .copied()
        .filter(|&r| m.nodes[r as usize].read.is_some())
        .collect();
    loop {
        let g = Graph::new(m, edges.clone());
        let clocks = match g.clocks() {
            Ok(c) => c,
            Err(cycle) => {
                let (nodes, sentences, js) = explain_path(h, m, &cycle.0);
                let p = m.nodes[chain[0] as usize].chain;
                return Some(anomaly(
                    h,
                    m,
                    "CyclicHB",
                    None,
                    &nodes,
                    format!(
                        "process {}'s reads cannot all be explained by one serialization of its causal past: {}",
                        m.chain_process[p as usize].unwrap_or(0),
                        sentences.join("; ")
                    ),
                    json!({"pattern": "CyclicHB", "edges": js}),
                ));
            }
        };
        let mut added = Vec::new();
        for &r in &reads {
            let n = &m.nodes[r as usize];
            let Some(Source::Write(w2)) = n.read else {
                continue;
            };
            for cw in &m.key_writes[n.key as usize] {
                if let Some(w1) = last_write_before(m, &clocks, cw, r) {
                    if w1 != w2 && !clocks.reaches(m, w1, w2) {
                        added.push(Edge {
                            from: w1,
                            to: w2,
                            kind: EdgeKind::ViewOrder { read: r },
                        });
                    }
                }
            }
        }
        if added.is_empty() {
            for &r in &reads {
                let n = &m.nodes[r as usize];
                if n.read != Some(Source::Init) {
                    continue;
                }
                for cw in &m.key_writes[n.key as usize] {
                    if let Some(w) = first_write_before(m, &clocks, cw, r) {
                        let path = g.path(&clocks, w, r);
                        let (_, sentences, js) = explain_path(h, m, &path);
                        return Some(anomaly(
                            h,
                            m,
                            "WriteHBInitRead",
                            Some(n.key),
                            &[w, r],
                            format!(
                                "{} read the initial value although {} happens before it in its process's view: {}",
                                name(h, m, r),
                                name(h, m, w),
                                sentences.join("; ")
                            ),
                            json!({"pattern": "WriteHBInitRead", "edges": js}),
                        ));
                    }
                }
            }
            return None;
        }
        edges.extend(added);
    }
}
