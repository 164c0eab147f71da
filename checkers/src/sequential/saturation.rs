//! Saturating the constraint graph with the orders that reads force, to a fixpoint:
//! - a read of w's value that some other write w′ of the key precedes forces w′ before w;
//! - a read of w's value forces the read before every other write w′ of the key that w precedes;
//! - a read of the initial value forces the read before every write of the key.
//!
//! Reachability is by vector clocks, so each round costs O((n + edges) · processes). Each
//! forced edge goes from or to the nearest write of one process; the others follow by program
//! order.

use crate::memory::{ChainWrites, Clocks, Cycle, Edge, EdgeKind, Graph, Memory, Node, Source};

/// Saturates `g` in place. Returns the number of rounds, or a cycle.
pub fn saturate(m: &Memory, g: &mut Graph) -> Result<usize, Cycle> {
    let mut rounds = 0;
    loop {
        rounds += 1;
        let clocks = g.clocks()?;
        let added = forced_edges(m, &clocks);
        if added.is_empty() {
            return Ok(rounds);
        }
        g.extend(added);
    }
}

fn horizon(m: &Memory, clocks: &Clocks, cw: &ChainWrites, r: Node) -> u32 {
    let rn = &m.nodes[r as usize];
    if cw.chain == rn.chain {
        rn.pos
    } else {
        clocks.seen(r, cw.chain)
    }
}

/// Edges implied by the current order and not yet implied by it.
pub fn forced_edges(m: &Memory, clocks: &Clocks) -> Vec<Edge> {
    let mut out = Vec::new();
    // Per key and writing chain, each other chain's clock entry of those writes, laid out
    // contiguously so that "the first write of this chain that w reaches" is a binary search
    // over one array rather than over scattered clock rows.
    let width = clocks.width;
    let seen: Vec<Vec<Vec<u32>>> = m
        .key_writes
        .iter()
        .map(|kw| {
            kw.iter()
                .map(|cw| {
                    let len = cw.writes.len();
                    let mut v = vec![0u32; width * len];
                    for (i, &(_, x)) in cw.writes.iter().enumerate() {
                        for (c, &e) in clocks.row(x).iter().enumerate() {
                            v[c * len + i] = e;
                        }
                    }
                    v
                })
                .collect()
        })
        .collect();
    for (i, n) in m.nodes.iter().enumerate() {
        let r = i as Node;
        match n.read {
            Some(Source::Init) => {
                for cw in &m.key_writes[n.key as usize] {
                    let Some(&(_, w)) = cw.writes.iter().find(|&&(_, w)| w != r) else {
                        continue;
                    };
                    if !clocks.reaches(m, r, w) {
                        out.push(Edge {
                            from: r,
                            to: w,
                            kind: EdgeKind::InitReadFirst,
                        });
                    }
                }
            }
            Some(Source::Write(w)) => {
                let wn = &m.nodes[w as usize];
                for (ci, cw) in m.key_writes[n.key as usize].iter().enumerate() {
                    // Writes of this chain before r must precede w.
                    let hz = horizon(m, clocks, cw, r);
                    let k = cw.writes.partition_point(|&(p, _)| p < hz);
                    if k > 0 {
                        let w1 = cw.writes[k - 1].1;
                        if w1 != w && !clocks.reaches(m, w1, w) {
                            out.push(Edge {
                                from: w1,
                                to: w,
                                kind: EdgeKind::WriteOrder { read: r },
                            });
                        }
                    }
                    // Writes of this chain after w must follow r.
                    let len = cw.writes.len();
                    let col = wn.chain as usize * len;
                    let j =
                        seen[n.key as usize][ci][col..col + len].partition_point(|&e| e <= wn.pos);
                    if let Some(&(_, w2)) = cw.writes[j..].iter().find(|&&(_, x)| x != w && x != r)
                    {
                        if !clocks.reaches(m, r, w2) {
                            out.push(Edge {
                                from: r,
                                to: w2,
                                kind: EdgeKind::ReadBeforeOverwrite { write: w },
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}
