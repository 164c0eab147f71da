//! The constraint graph over a [`Memory`]: program order (implicit, along chains) plus explicit
//! edges. Topological order, vector clocks, cycles and explaining paths.

use super::{Clocks, Edge, EdgeKind, Memory, Node};

/// A cycle: edges `e[0].from → e[0].to = e[1].from → …` back to `e[0].from`.
#[derive(Debug, Clone)]
pub struct Cycle(pub Vec<Edge>);

/// Program order plus explicit edges, in compressed adjacency form.
#[derive(Debug, Clone)]
pub struct Graph<'m> {
    pub mem: &'m Memory,
    pub edges: Vec<Edge>,
    in_start: Vec<u32>,
    in_edges: Vec<u32>,
    out_start: Vec<u32>,
    out_edges: Vec<u32>,
}

impl<'m> Graph<'m> {
    pub fn new(mem: &'m Memory, edges: Vec<Edge>) -> Graph<'m> {
        let mut g = Graph {
            mem,
            edges,
            in_start: Vec::new(),
            in_edges: Vec::new(),
            out_start: Vec::new(),
            out_edges: Vec::new(),
        };
        g.index();
        g
    }

    /// Adds edges and re-indexes.
    pub fn extend(&mut self, more: Vec<Edge>) {
        self.edges.extend(more);
        self.index();
    }

    fn index(&mut self) {
        let n = self.mem.nodes.len();
        let (is, ie) = csr(n, self.edges.iter().map(|e| e.to as usize));
        let (os, oe) = csr(n, self.edges.iter().map(|e| e.from as usize));
        self.in_start = is;
        self.in_edges = ie;
        self.out_start = os;
        self.out_edges = oe;
    }

    /// The program-order predecessor of `n`.
    pub fn po_pred(&self, n: Node) -> Option<Node> {
        let op = &self.mem.nodes[n as usize];
        (op.pos > 0).then(|| self.mem.chains[op.chain as usize][op.pos as usize - 1])
    }

    pub fn po_succ(&self, n: Node) -> Option<Node> {
        let op = &self.mem.nodes[n as usize];
        self.mem.chains[op.chain as usize]
            .get(op.pos as usize + 1)
            .copied()
    }

    /// Explicit (non-program-order) edges into `n`.
    pub fn explicit_in(&self, n: Node) -> impl Iterator<Item = &Edge> + '_ {
        let (a, b) = (
            self.in_start[n as usize] as usize,
            self.in_start[n as usize + 1] as usize,
        );
        self.in_edges[a..b]
            .iter()
            .map(move |&i| &self.edges[i as usize])
    }

    /// Explicit (non-program-order) edges out of `n`.
    pub fn explicit_out(&self, n: Node) -> impl Iterator<Item = &Edge> + '_ {
        let (a, b) = (
            self.out_start[n as usize] as usize,
            self.out_start[n as usize + 1] as usize,
        );
        self.out_edges[a..b]
            .iter()
            .map(move |&i| &self.edges[i as usize])
    }

    /// All edges into `n`, program order first.
    pub fn all_in(&self, n: Node) -> impl Iterator<Item = Edge> + '_ {
        self.po_pred(n)
            .map(|p| Edge {
                from: p,
                to: n,
                kind: EdgeKind::Program,
            })
            .into_iter()
            .chain(self.explicit_in(n).copied())
    }

    /// Vector clocks in topological order, or a cycle. Nodes are visited chain by chain (each
    /// chain advanced as far as its explicit predecessors allow), which keeps memory access
    /// mostly sequential.
    pub fn clocks(&self) -> Result<Clocks, Cycle> {
        let m = self.mem;
        let n = m.nodes.len();
        let width = m.chains.len();
        let mut pending: Vec<u32> = (0..n)
            .map(|i| self.in_start[i + 1] - self.in_start[i])
            .collect();
        let mut vc = vec![0u32; n * width];
        let mut next = vec![0usize; width];
        let mut done = 0usize;
        let mut progress = true;
        while progress && done < n {
            progress = false;
            for (c, chain) in m.chains.iter().enumerate() {
                while let Some(&u) = chain.get(next[c]) {
                    let ui = u as usize;
                    if pending[ui] != 0 {
                        break;
                    }
                    next[c] += 1;
                    done += 1;
                    progress = true;
                    let base = ui * width;
                    let pos = next[c] as u32 - 1;
                    if pos > 0 {
                        let p = chain[pos as usize - 1] as usize;
                        vc.copy_within(p * width..p * width + width, base);
                    }
                    for e in self.explicit_in(u) {
                        let from = e.from as usize * width;
                        for k in 0..width {
                            let x = vc[from + k];
                            if x > vc[base + k] {
                                vc[base + k] = x;
                            }
                        }
                    }
                    vc[base + c] = pos + 1;
                    for e in self.explicit_out(u) {
                        pending[e.to as usize] -= 1;
                    }
                }
            }
        }
        if done == n {
            return Ok(Clocks { width, vc });
        }
        let left: Vec<bool> = (0..n)
            .map(|i| {
                let op = &m.nodes[i];
                op.pos as usize >= next[op.chain as usize]
            })
            .collect();
        // Every node left has a predecessor left: walk back until a node repeats.
        let start = (0..n).find(|&i| left[i]).unwrap_or(0) as Node;
        let mut seen_at: Vec<u32> = vec![u32::MAX; n];
        let mut path: Vec<Edge> = Vec::new();
        let mut cur = start;
        loop {
            if seen_at[cur as usize] != u32::MAX {
                let from = seen_at[cur as usize] as usize;
                let mut cyc: Vec<Edge> = path[from..].to_vec();
                cyc.reverse();
                return Err(Cycle(cyc));
            }
            seen_at[cur as usize] = path.len() as u32;
            let Some(e) = self.all_in(cur).find(|e| left[e.from as usize]) else {
                // cannot happen: Kahn left only nodes with live predecessors
                return Err(Cycle(path));
            };
            path.push(e);
            cur = e.from;
        }
    }

    /// A path of edges from `a` to `b`, given clocks of this graph and `a` reaching `b`. Runs of
    /// program order are given as one edge.
    pub fn path(&self, clocks: &Clocks, a: Node, b: Node) -> Vec<Edge> {
        let m = self.mem;
        let mut out = Vec::new();
        let mut cur = b;
        let mut guard = 2 * m.nodes.len() + 2;
        while cur != a && guard > 0 {
            guard -= 1;
            let cn = &m.nodes[cur as usize];
            if cn.chain == m.nodes[a as usize].chain {
                out.push(Edge {
                    from: a,
                    to: cur,
                    kind: EdgeKind::Program,
                });
                break;
            }
            if let Some(e) = self.explicit_in(cur).find(|e| clocks.reaches(m, a, e.from)) {
                out.push(*e);
                cur = e.from;
                continue;
            }
            let chain = &m.chains[cn.chain as usize];
            let p0 = chain[..cn.pos as usize].partition_point(|&x| !clocks.reaches(m, a, x));
            if p0 >= cn.pos as usize {
                break;
            }
            out.push(Edge {
                from: chain[p0],
                to: cur,
                kind: EdgeKind::Program,
            });
            cur = chain[p0];
        }
        out.reverse();
        out
    }
}

fn csr(n: usize, targets: impl Iterator<Item = usize> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; n + 1];
    for t in targets.clone() {
        start[t + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut items = vec![0u32; start[n] as usize];
    for (i, t) in targets.enumerate() {
        items[fill[t] as usize] = i as u32;
        fill[t] += 1;
    }
    (start, items)
}
