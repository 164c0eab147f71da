//! Vector clocks over chains: `a` reaches `b` in a DAG whose chains are totally ordered iff
//! `b`'s clock has seen `a`'s position in `a`'s chain. One clock per node, one entry per chain,
//! so reachability costs O(1) after O((n + edges) · chains) work, with no transitive closure.

use super::{Memory, Node};

/// Clocks of every node: `vc[n][c]` = how many nodes of chain `c` reach `n` (itself included).
#[derive(Debug, Clone, Default)]
pub struct Clocks {
    pub width: usize,
    pub vc: Vec<u32>,
}

impl Clocks {
    pub fn row(&self, n: Node) -> &[u32] {
        let s = n as usize * self.width;
        &self.vc[s..s + self.width]
    }

    /// Whether `a` reaches `b` (reflexive).
    #[inline]
    pub fn reaches(&self, m: &Memory, a: Node, b: Node) -> bool {
        let na = &m.nodes[a as usize];
        self.vc[b as usize * self.width + na.chain as usize] > na.pos
    }

    /// Whether `a` strictly precedes `b`.
    #[inline]
    pub fn before(&self, m: &Memory, a: Node, b: Node) -> bool {
        a != b && self.reaches(m, a, b)
    }

    /// How many nodes of chain `c` reach `n`.
    #[inline]
    pub fn seen(&self, n: Node, c: u32) -> u32 {
        self.vc[n as usize * self.width + c as usize]
    }
}
