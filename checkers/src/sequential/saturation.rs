//! Saturating the constraint graph with the orders that reads force, to a fixpoint:
//! - a read of w's value that some other write w′ of the key precedes forces w′ before w;
//! - a read of w's value forces the read before every other write w′ of the key that w precedes;
//! - a read of the initial value forces the read before every write of the key.
//!
//! Reachability is by vector clocks, computed once and then kept up to date edge by edge
//! ([`LiveClocks`]): an edge changes only the clocks of what it newly reaches. Each round after
//! the first re-examines only the reads a new edge could have changed: reads whose own clock
//! grew, reads of a write whose clock grew, and the reads of any key one of whose writes'
//! clock grew (the second rule looks at what a write precedes). Each forced edge goes from or
//! to the nearest write of one process; the others follow by program order.

use crate::memory::{
    gallop, ChainWrites, Clocks, Cycle, Edge, EdgeKind, Graph, LiveClocks, Memory, Node, Source,
};

/// Saturates `g` in place. Returns the number of rounds, or a cycle.
pub fn saturate(m: &Memory, g: &mut Graph) -> Result<usize, Cycle> {
    let mut live = LiveClocks::new(g, g.clocks()?);
    // Reads by key, to re-examine a whole key.
    let mut reads_of_key: Vec<Vec<Node>> = vec![Vec::new(); m.keys.len()];
    let mut readers_of: Vec<Vec<Node>> = vec![Vec::new(); m.nodes.len()];
    for (i, n) in m.nodes.iter().enumerate() {
        match n.read {
            Some(Source::Init) => reads_of_key[n.key as usize].push(i as Node),
            Some(Source::Write(w)) => {
                reads_of_key[n.key as usize].push(i as Node);
                readers_of[w as usize].push(i as Node);
            }
            _ => {}
        }
    }
    let mut todo: Vec<Node> = reads_of_key.iter().flatten().copied().collect();
    let mut added_all: Vec<Edge> = Vec::new();
    let mut rounds = 0;
    let mut mark = vec![false; m.nodes.len()];
    let mut key_mark = vec![false; m.keys.len()];
    loop {
        rounds += 1;
        todo.sort_unstable();
        let added = forced_edges(m, &live.clocks, &todo);
        if added.is_empty() {
            g.extend(added_all);
            return Ok(rounds);
        }
        for &e in &added {
            if live.add(e).is_err() {
                // Explain the cycle from the whole graph (one full computation, once).
                g.extend(added_all);
                g.extend(added);
                return match g.clocks() {
                    Err(c) => Err(c),
                    Ok(_) => Err(Cycle(vec![e])),
                };
            }
        }
        added_all.extend(added);
        // What the next round must look at again.
        todo.clear();
        for c in live.take_changed() {
            let n = &m.nodes[c as usize];
            let mut push = |r: Node, todo: &mut Vec<Node>| {
                if !mark[r as usize] {
                    mark[r as usize] = true;
                    todo.push(r);
                }
            };
            if matches!(n.read, Some(Source::Init | Source::Write(_))) {
                push(c, &mut todo);
            }
            for &r in &readers_of[c as usize] {
                push(r, &mut todo);
            }
            if n.writes && !key_mark[n.key as usize] {
                key_mark[n.key as usize] = true;
                for &r in &reads_of_key[n.key as usize] {
                    push(r, &mut todo);
                }
            }
        }
        for &r in &todo {
            mark[r as usize] = false;
        }
        key_mark.iter_mut().for_each(|k| *k = false);
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

/// Edges forced by the reads `reads` under the current order and not yet implied by it.
pub fn forced_edges(m: &Memory, clocks: &Clocks, reads: &[Node]) -> Vec<Edge> {
    let mut out = Vec::new();
    for &r in reads {
        let n = &m.nodes[r as usize];
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
                for cw in &m.key_writes[n.key as usize] {
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
                    // Writes of this chain after w must follow r: the first one w reaches
                    // (what w reaches along a chain is a suffix of it).
                    // Searched outward from the cut above: what w reaches starts near what r
                    // has seen, and each probe of a far write is a cache miss.
                    let j = gallop(cw.writes.len(), k, |i| clocks.reaches(m, w, cw.writes[i].1));
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
