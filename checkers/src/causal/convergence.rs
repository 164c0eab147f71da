//! Causal convergence's CyclicCF: the conflict order (w1 before w2 when w1 is in the causal
//! past of a read of w2) together with the causal order must be acyclic, or replicas cannot
//! agree on one arbitration order of conflicting writes.

use super::cuts::Cuts;
use super::order::CausalOrder;
use crate::consistency::anomaly;
use crate::memory::{explain_path, Edge, EdgeKind, Graph, Memory, Node, Source};
use crate::Anomaly;
use histories::History;
use serde_json::json;

/// The CyclicCF pattern, if present. Conflict edges are reduced to the last write of each
/// process before each read: earlier writes of that process reach it by program order. They are
/// found process by process ([`Cuts`]) and listed in operation order (then by writing chain), as
/// a pass over the reads in operation order would list them.
pub fn cyclic_cf(h: &History, m: &Memory, co: &CausalOrder) -> Vec<Anomaly> {
    let mut cuts = Cuts::new(m);
    let mut found: Vec<(Node, Node, Node)> = Vec::new();
    for chain in &m.chains {
        cuts.restart();
        for &r in chain {
            let n = &m.nodes[r as usize];
            let Some(Source::Write(w2)) = n.read else {
                continue;
            };
            cuts.each_last_before(m, &co.clocks, r, |w1| {
                if w1 != w2 && !co.clocks.reaches(m, w1, w2) {
                    found.push((r, w1, w2));
                }
                true
            });
        }
    }
    // A stable counting sort by read: the reads of different chains interleave.
    let mut start = vec![0u32; m.nodes.len() + 1];
    for &(r, _, _) in &found {
        start[r as usize + 1] += 1;
    }
    for i in 0..m.nodes.len() {
        start[i + 1] += start[i];
    }
    let mut conflicts = vec![None; found.len()];
    for (r, w1, w2) in found {
        conflicts[start[r as usize] as usize] = Some(Edge {
            from: w1,
            to: w2,
            kind: EdgeKind::Conflict { read: r },
        });
        start[r as usize] += 1;
    }
    let mut edges = m.rf_edges();
    edges.extend(conflicts.into_iter().flatten());
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
