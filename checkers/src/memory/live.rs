//! Vector clocks kept up to date while edges are added, for saturation: an edge `a → b` joins
//! `a`'s clock into `b`'s and pushes the change forward along program order and explicit
//! edges, visiting only the nodes whose clocks actually grow; an edge already implied costs one
//! comparison. Which nodes changed is recorded so that the next round re-examines only what a
//! new edge could have changed.

use super::{Clocks, Edge, Graph, Memory, Node};

/// Clocks of a graph under edge additions.
#[derive(Clone)]
pub struct LiveClocks<'m> {
    pub mem: &'m Memory,
    pub clocks: Clocks,
    /// Explicit successors of each node: the graph's, then the ones added here.
    out_start: Vec<u32>,
    out_edges: Vec<Node>,
    /// Added successors: per node the newest (an index into `added`, `NIL` for none), each
    /// entry (successor, the next older entry of the same node).
    added_head: Vec<u32>,
    added: Vec<(Node, u32)>,
    /// Nodes whose clock grew since the last [`LiveClocks::take_changed`].
    changed: Vec<Node>,
    is_changed: Vec<bool>,
    queue: Vec<Node>,
}

const NIL: u32 = u32::MAX;

/// An added edge would close a cycle (its target already reaches its source).
#[derive(Debug, Clone, Copy)]
pub struct WouldCycle(pub Edge);

impl<'m> LiveClocks<'m> {
    pub fn new(g: &Graph<'m>, clocks: Clocks) -> LiveClocks<'m> {
        let m = g.mem;
        let n = m.nodes.len();
        let mut out_start = vec![0u32; n + 1];
        for e in &g.edges {
            out_start[e.from as usize + 1] += 1;
        }
        for i in 0..n {
            out_start[i + 1] += out_start[i];
        }
        let mut fill = out_start.clone();
        let mut out_edges: Vec<Node> = vec![0; g.edges.len()];
        for e in &g.edges {
            out_edges[fill[e.from as usize] as usize] = e.to;
            fill[e.from as usize] += 1;
        }
        LiveClocks {
            mem: m,
            clocks,
            out_start,
            out_edges,
            added_head: vec![NIL; n],
            added: Vec::new(),
            changed: Vec::new(),
            is_changed: vec![false; n],
            queue: Vec::new(),
        }
    }

    /// Goes back to `base`'s state, reusing this one's memory. `base` must be of the same graph
    /// with no edge added since.
    pub fn reset_to(&mut self, base: &LiveClocks<'m>) {
        self.clocks.vc.clone_from(&base.clocks.vc);
        self.added_head.clone_from(&base.added_head);
        self.added.clone_from(&base.added);
        self.take_changed();
    }

    /// Adds `e`, updating every clock it changes.
    pub fn add(&mut self, e: Edge) -> Result<(), WouldCycle> {
        let m = self.mem;
        if self.clocks.reaches(m, e.from, e.to) {
            self.record(e);
            return Ok(());
        }
        if self.clocks.reaches(m, e.to, e.from) {
            return Err(WouldCycle(e));
        }
        self.record(e);
        let w = self.clocks.width;
        if self.join(e.from as usize * w, e.to) {
            self.queue.push(e.to);
        }
        while let Some(u) = self.queue.pop() {
            let ui = u as usize;
            let src = ui * w;
            let op = &m.nodes[ui];
            let po_next = m.chains[op.chain as usize]
                .get(op.pos as usize + 1)
                .copied();
            let (a, b) = (self.out_start[ui] as usize, self.out_start[ui + 1] as usize);
            for k in a..b {
                let v = self.out_edges[k];
                if self.join(src, v) {
                    self.queue.push(v);
                }
            }
            let mut at = self.added_head[ui];
            while at != NIL {
                let (v, older) = self.added[at as usize];
                at = older;
                if self.join(src, v) {
                    self.queue.push(v);
                }
            }
            if let Some(v) = po_next {
                if self.join(src, v) {
                    self.queue.push(v);
                }
            }
        }
        Ok(())
    }

    fn record(&mut self, e: Edge) {
        let head = &mut self.added_head[e.from as usize];
        self.added.push((e.to, *head));
        *head = (self.added.len() - 1) as u32;
    }

    /// `vc[to] = max(vc[to], row at src)`; whether it grew (and records the change).
    fn join(&mut self, src: usize, to: Node) -> bool {
        let w = self.clocks.width;
        let dst = to as usize * w;
        let mut grew = false;
        for k in 0..w {
            let x = self.clocks.vc[src + k];
            if x > self.clocks.vc[dst + k] {
                self.clocks.vc[dst + k] = x;
                grew = true;
            }
        }
        if grew && !self.is_changed[to as usize] {
            self.is_changed[to as usize] = true;
            self.changed.push(to);
        }
        grew
    }

    /// The nodes whose clocks grew since the last call.
    pub fn take_changed(&mut self) -> Vec<Node> {
        for &n in &self.changed {
            self.is_changed[n as usize] = false;
        }
        std::mem::take(&mut self.changed)
    }
}
