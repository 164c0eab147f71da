//! Causal convergence's CyclicCF: the conflict order (w1 before w2 when w1 is in the causal
//! past of a read of w2) together with the causal order must be acyclic, or replicas cannot
//! agree on one arbitration order of conflicting writes.

use super::order::CausalOrder;
use super::patterns::last_write_before;
use crate::consistency::anomaly;
use crate::memory::{explain_path, Edge, EdgeKind, Graph, Memory, Node, Source};
use crate::Anomaly;
use histories::History;
use serde_json::json;

/// The CyclicCF pattern, if present. Conflict edges are reduced to the last write of each
/// process before each read: earlier writes of that process reach it by program order.
pub fn cyclic_cf(h: &History, m: &Memory, co: &CausalOrder) -> Vec<Anomaly> {
    let mut edges = m.rf_edges();
    for (i, n) in m.nodes.iter().enumerate() {
        let Some(Source::Write(w2)) = n.read else {
            continue;
        };
        let r = i as Node;
        for cw in &m.key_writes[n.key as usize] {
            if let Some(w1) = last_write_before(m, &co.clocks, cw, r) {
                if w1 != w2 && !co.clocks.reaches(m, w1, w2) {
                    edges.push(Edge {
                        from: w1,
                        to: w2,
                        kind: EdgeKind::Conflict { read: r },
                    });
                }
            }
        }
    }
    let g = Graph::new(m, edges);
    match g.clocks() {
        Ok(_) => Vec::new(),
        Err(cycle) => {
            let (nodes, sentences, edges) = explain_path(h, m, &cycle.0);
            vec![anomaly(
                h,
                m,
                "CyclicCF",
                None,
                &nodes,
                format!(
                    "no single arbitration order of conflicting writes is compatible with what the reads saw: {}",
                    sentences.join("; ")
                ),
                json!({"pattern": "CyclicCF", "edges": edges}),
            )]
        }
    }
}
