//! The causal order CO = (program order ∪ reads-from)⁺ and the CyclicCO pattern.

use crate::consistency::anomaly;
use crate::memory::{Clocks, Graph, Memory};
use crate::Anomaly;
use histories::History;
use serde_json::json;

/// The causal-order graph with its clocks.
pub struct CausalOrder<'m> {
    pub graph: Graph<'m>,
    pub clocks: Clocks,
}

/// Builds the causal order, or the CyclicCO anomaly.
pub fn causal_order<'m>(h: &History, m: &'m Memory) -> Result<CausalOrder<'m>, Box<Anomaly>> {
    let graph = Graph::new(m, m.rf_edges());
    match graph.clocks() {
        Ok(clocks) => Ok(CausalOrder { graph, clocks }),
        Err(cycle) => {
            let (nodes, sentences, edges) = crate::memory::explain_path(h, m, &cycle.0);
            Err(Box::new(anomaly(
                h,
                m,
                "CyclicCO",
                None,
                &nodes,
                format!(
                    "the causal order (program order and reads-from) is cyclic, so no operation of this cycle can come first: {}",
                    sentences.join("; ")
                ),
                json!({"pattern": "CyclicCO", "edges": edges}),
            )))
        }
    }
}
