//! Causal memory's WriteHBInitRead and CyclicHB: each process must see one serialization of
//! its causal past in which all of its own reads return the latest write. The happens-before
//! of process p's view is the causal order saturated with the write orders p's reads force:
//! if w1 happens before p's read of w2 (same key), w1 comes before w2.
//!
//! Each view starts from the causal order's clocks and keeps them up to date edge by edge
//! ([`LiveClocks`]); a round after the first re-examines only the reads whose own clock or
//! whose source write's clock grew (nothing else can force a new edge), and so finds the same
//! edges, in the same order, as a full pass over the process's reads would.

use super::cuts::Cuts;
use super::order::CausalOrder;
use super::patterns::first_write_before;
use super::MAX_PER_PATTERN;
use crate::consistency::anomaly;
use crate::memory::{explain_path, name, Edge, EdgeKind, Graph, LiveClocks, Memory, Node, Source};
use crate::Anomaly;
use histories::History;
use serde_json::json;

/// Both patterns, checked in every process's view.
pub fn happens_before(h: &History, m: &Memory, co: &CausalOrder) -> Vec<Anomaly> {
    let base = LiveClocks::new(&co.graph, co.clocks.clone());
    let mut cuts = Cuts::new(m);
    // The reads of each write, to re-examine them when its clock grows.
    let mut readers_of: Vec<Vec<Node>> = vec![Vec::new(); m.nodes.len()];
    for (i, n) in m.nodes.iter().enumerate() {
        if let Some(Source::Write(w)) = n.read {
            readers_of[w as usize].push(i as Node);
        }
    }
    let mut out = Vec::new();
    let mut live = base.clone();
    for (c, chain) in m.chains.iter().enumerate() {
        // A process that reads nothing has nothing to explain (Jepsen's retired processes
        // often hold one write).
        if m.chain_process[c].is_none() || chain.iter().all(|&n| m.nodes[n as usize].read.is_none())
        {
            continue;
        }
        live.reset_to(&base);
        if let Some(a) = view(h, m, co, chain, &mut live, &mut cuts, &readers_of) {
            out.push(a);
        }
        if out.len() >= MAX_PER_PATTERN {
            break;
        }
    }
    out
}

fn view(
    h: &History,
    m: &Memory,
    co: &CausalOrder,
    chain: &[Node],
    live: &mut LiveClocks,
    cuts: &mut Cuts,
    readers_of: &[Vec<Node>],
) -> Option<Anomaly> {
    let c = m.nodes[chain[0] as usize].chain;
    let reads: Vec<Node> = chain
        .iter()
        .copied()
        .filter(|&r| m.nodes[r as usize].read.is_some())
        .collect();
    let mut todo = reads.clone();
    let mut added_all: Vec<Edge> = Vec::new();
    // The whole graph of the view, built only to explain what was found.
    let graph = |more: &[Edge]| {
        let mut edges = co.graph.edges.clone();
        edges.extend_from_slice(more);
        Graph::new(m, edges)
    };
    loop {
        cuts.restart();
        let mut added = Vec::new();
        for &r in &todo {
            let n = &m.nodes[r as usize];
            let Some(Source::Write(w2)) = n.read else {
                continue;
            };
            cuts.each_last_before(m, &live.clocks, r, |w1| {
                if w1 != w2 && !live.clocks.reaches(m, w1, w2) {
                    added.push(Edge {
                        from: w1,
                        to: w2,
                        kind: EdgeKind::ViewOrder { read: r },
                    });
                }
                true
            });
        }
        if added.is_empty() {
            break;
        }
        for &e in &added {
            if live.add(e).is_ok() {
                continue;
            }
            // A cycle: explain it from the whole graph (one full computation, once).
            added_all.extend(added);
            let g = graph(&added_all);
            let cycle = match g.clocks() {
                Err(cycle) => cycle.0,
                Ok(_) => vec![e],
            };
            let (nodes, sentences, js) = explain_path(h, m, &cycle);
            return Some(anomaly(
                h,
                m,
                "CyclicHB",
                None,
                &nodes,
                format!(
                    "process {}'s reads cannot all be explained by one serialization of its causal past: {}",
                    m.chain_process[c as usize].unwrap_or(0),
                    sentences.join("; ")
                ),
                json!({"pattern": "CyclicHB", "edges": js}),
            ));
        }
        added_all.extend(added);
        // What the next round must look at again: this process's reads whose clock grew,
        // and those reading a write whose clock grew.
        todo.clear();
        for x in live.take_changed() {
            let xn = &m.nodes[x as usize];
            if xn.chain == c && xn.read.is_some() {
                todo.push(x);
            }
            for &r in &readers_of[x as usize] {
                if m.nodes[r as usize].chain == c {
                    todo.push(r);
                }
            }
        }
        todo.sort_unstable();
        todo.dedup();
    }
    let clocks = &live.clocks;
    for &r in &reads {
        let n = &m.nodes[r as usize];
        if n.read != Some(Source::Init) {
            continue;
        }
        for cw in &m.key_writes[n.key as usize] {
            if let Some(w) = first_write_before(m, clocks, cw, r) {
                let g = graph(&added_all);
                let path = g.path(clocks, w, r);
                let (_, sentences, js) = explain_path(h, m, &path);
                return Some(anomaly(
                    h,
                    m,
                    "WriteHBInitRead",
                    Some(n.key),
                    &[w, r],
                    format!(
                        "{} read the initial value although {} happens before it in its process's view: {}",
                        name(h, m, r),
                        name(h, m, w),
                        sentences.join("; ")
                    ),
                    json!({"pattern": "WriteHBInitRead", "edges": js}),
                ));
            }
        }
    }
    None
}
