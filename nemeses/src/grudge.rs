//! A grudge: which nodes drop traffic from which (Jepsen's term). `grudge[a]` holds the nodes whose
//! traffic `a` drops, so the directed links `b → a` for every `b` in it are blocked.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Blocked directed links, keyed by the receiving node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grudge(pub BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// No link blocked.
    pub fn none() -> Self {
        Grudge::default()
    }

    /// Every node of each component drops traffic from every node outside its component.
    /// Nodes listed in several components (a bridge) see all of them.
    pub fn complete(components: &[Vec<String>]) -> Self {
        let all: BTreeSet<&String> = components.iter().flatten().collect();
        let mut g = Grudge::default();
        for node in &all {
            let visible: BTreeSet<&String> = components
                .iter()
                .filter(|c| c.contains(node))
                .flatten()
                .collect();
            let dropped: BTreeSet<String> = all
                .iter()
                .filter(|n| !visible.contains(*n))
                .map(|n| (*n).clone())
                .collect();
            if !dropped.is_empty() {
                g.0.insert((*node).clone(), dropped);
            }
        }
        g
    }

    /// Whether the directed link `from → to` is blocked.
    pub fn blocks(&self, from: &str, to: &str) -> bool {
        self.0.get(to).is_some_and(|s| s.contains(from))
    }

    /// The blocked directed links `(from, to)`.
    pub fn links(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        for (to, froms) in &self.0 {
            for from in froms {
                v.push((from.clone(), to.clone()));
            }
        }
        v
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(BTreeSet::is_empty)
    }

    /// The nodes `node` can still hear from (itself included).
    pub fn visible_from(&self, node: &str, nodes: &[String]) -> Vec<String> {
        nodes
            .iter()
            .filter(|n| n.as_str() == node || !self.blocks(n, node))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn complete_grudge_blocks_across_components_only() {
        let g = Grudge::complete(&[s(&["n1", "n2"]), s(&["n3", "n4", "n5"])]);
        assert!(g.blocks("n1", "n3") && g.blocks("n3", "n1"));
        assert!(!g.blocks("n1", "n2") && !g.blocks("n4", "n5"));
        assert_eq!(g.links().len(), 12);
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(json["n1"], serde_json::json!(["n3", "n4", "n5"]));
    }

    #[test]
    fn bridge_node_sees_both_sides() {
        let g = Grudge::complete(&[s(&["n1", "n2", "n3"]), s(&["n3", "n4", "n5"])]);
        assert!(!g.blocks("n1", "n3") && !g.blocks("n5", "n3") && !g.blocks("n3", "n1"));
        assert!(g.blocks("n1", "n5") && g.blocks("n5", "n1"));
        assert!(!g.0.contains_key("n3"));
    }
}
