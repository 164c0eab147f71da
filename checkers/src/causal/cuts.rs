//! Where each read cuts each process's writes of its key, for the reads of one process taken in
//! program order: what a read has seen of another chain only grows along its own chain, so one
//! cursor per (key, writing chain) moves forward (galloping) instead of a binary search per
//! read and chain, whose probes scatter over the whole write list (a cache miss each on a long
//! history). Cursors of an older *epoch* (another process, another round) count as zero, so
//! starting over costs nothing.

use super::patterns::horizon;
use crate::memory::{gallop, Clocks, Memory, Node};

/// Cursors into every key's per-chain write lists.
pub struct Cuts {
    /// Per key: where its chains' cursors start in `at`.
    start: Vec<u32>,
    /// (epoch, cut index) per (key, writing chain).
    at: Vec<(u32, u32)>,
    epoch: u32,
}

impl Cuts {
    pub fn new(m: &Memory) -> Cuts {
        let mut start = Vec::with_capacity(m.keys.len() + 1);
        let mut total = 0u32;
        for kw in &m.key_writes {
            start.push(total);
            total += kw.len() as u32;
        }
        start.push(total);
        Cuts {
            start,
            at: vec![(0, 0); total as usize],
            epoch: 1,
        }
    }

    /// Starts over: the reads that follow may be of another chain, or see less than the last.
    pub fn restart(&mut self) {
        self.epoch += 1;
    }

    /// How many writes of the `j`-th writing chain of `r`'s key strictly precede `r`. Within an
    /// epoch, the reads asked about must come in program order of one chain, under clocks
    /// that only grew.
    pub fn cut(&mut self, m: &Memory, clocks: &Clocks, j: usize, r: Node) -> usize {
        let k = m.nodes[r as usize].key as usize;
        let cw = &m.key_writes[k][j];
        let slot = &mut self.at[self.start[k] as usize + j];
        let from = if slot.0 == self.epoch { slot.1 } else { 0 } as usize;
        let hz = horizon(m, clocks, cw, r);
        let i = gallop(cw.writes.len(), from, |i| cw.writes[i].0 >= hz);
        *slot = (self.epoch, i as u32);
        i
    }

    /// The last write of the `j`-th writing chain of `r`'s key that strictly precedes `r`.
    pub fn last_before(&mut self, m: &Memory, clocks: &Clocks, j: usize, r: Node) -> Option<Node> {
        let i = self.cut(m, clocks, j, r);
        let k = m.nodes[r as usize].key as usize;
        (i > 0).then(|| m.key_writes[k][j].writes[i - 1].1)
    }

    /// Calls `f` with the last write of every writing chain of `r`'s key that strictly
    /// precedes `r`, chain by chain, until `f` returns false.
    pub fn each_last_before(
        &mut self,
        m: &Memory,
        clocks: &Clocks,
        r: Node,
        mut f: impl FnMut(Node) -> bool,
    ) {
        let k = m.nodes[r as usize].key as usize;
        for j in 0..m.key_writes[k].len() {
            if let Some(w) = self.last_before(m, clocks, j, r) {
                if !f(w) {
                    return;
                }
            }
        }
    }
}
