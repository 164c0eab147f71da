//! The bad patterns of plain causal consistency besides CyclicCO: ThinAirRead,
//! WriteCOInitRead and WriteCORead.

use super::cuts::Cuts;
use super::order::CausalOrder;
use super::MAX_PER_PATTERN;
use crate::consistency::anomaly;
use crate::memory::{explain_path, name, ChainWrites, Clocks, Memory, Node, Source};
use crate::Anomaly;
use histories::History;
use serde_json::json;

/// How far into chain `cw.chain` node `r` has seen, excluding `r` itself.
pub fn horizon(m: &Memory, clocks: &Clocks, cw: &ChainWrites, r: Node) -> u32 {
    let rn = &m.nodes[r as usize];
    if cw.chain == rn.chain {
        rn.pos
    } else {
        clocks.seen(r, cw.chain)
    }
}

/// The last write of `cw` that strictly precedes `r`.
pub fn last_write_before(m: &Memory, clocks: &Clocks, cw: &ChainWrites, r: Node) -> Option<Node> {
    let hz = horizon(m, clocks, cw, r);
    let i = cw.writes.partition_point(|&(p, _)| p < hz);
    (i > 0).then(|| cw.writes[i - 1].1)
}

/// The first write of `cw` that strictly precedes `r`.
pub fn first_write_before(m: &Memory, clocks: &Clocks, cw: &ChainWrites, r: Node) -> Option<Node> {
    let hz = horizon(m, clocks, cw, r);
    cw.writes.first().filter(|&&(p, _)| p < hz).map(|&(_, n)| n)
}

/// Reads of values nobody wrote.
pub fn thin_air(h: &History, m: &Memory) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (i, n) in m.nodes.iter().enumerate() {
        if n.read == Some(Source::ThinAir) && out.len() < MAX_PER_PATTERN {
            out.push(anomaly(
                h,
                m,
                "ThinAirRead",
                Some(n.key),
                &[i as Node],
                format!(
                    "{} returned a value that no operation which took effect wrote to that key",
                    name(h, m, i as Node)
                ),
                json!({"pattern": "ThinAirRead"}),
            ));
        }
    }
    out
}

/// A read of the initial value with a write of its key in its causal past.
pub fn write_co_init_read(h: &History, m: &Memory, co: &CausalOrder) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (i, n) in m.nodes.iter().enumerate() {
        if n.read != Some(Source::Init) {
            continue;
        }
        let r = i as Node;
        for cw in &m.key_writes[n.key as usize] {
            if let Some(w) = first_write_before(m, &co.clocks, cw, r) {
                let path = co.graph.path(&co.clocks, w, r);
                let (mut nodes, sentences, edges) = explain_path(h, m, &path);
                nodes.retain(|&x| x == w || x == r);
                out.push(anomaly(
                    h,
                    m,
                    "WriteCOInitRead",
                    Some(n.key),
                    &[w, r],
                    format!(
                        "{} read the initial value although {} is in its causal past: {}",
                        name(h, m, r),
                        name(h, m, w),
                        sentences.join("; ")
                    ),
                    json!({"pattern": "WriteCOInitRead", "edges": edges}),
                ));
                break;
            }
        }
        if out.len() >= MAX_PER_PATTERN {
            break;
        }
    }
    out
}

/// A read of `w1` with a write `w2` of the same key causally between `w1` and the read. The
/// reads that have one are found process by process ([`Cuts`]); each is then explained, in
/// operation order, as a search per read would.
pub fn write_co_read(h: &History, m: &Memory, co: &CausalOrder) -> Vec<Anomaly> {
    let mut cuts = Cuts::new(m);
    let mut bad: Vec<Node> = Vec::new();
    for chain in &m.chains {
        cuts.restart();
        for &r in chain {
            let n = &m.nodes[r as usize];
            let Some(Source::Write(w1)) = n.read else {
                continue;
            };
            cuts.each_last_before(m, &co.clocks, r, |w2| {
                let overwritten = w2 != w1 && co.clocks.before(m, w1, w2);
                if overwritten {
                    bad.push(r);
                }
                !overwritten
            });
        }
    }
    bad.sort_unstable();
    let mut out = Vec::new();
    for r in bad {
        let n = &m.nodes[r as usize];
        let Some(Source::Write(w1)) = n.read else {
            continue;
        };
        for cw in &m.key_writes[n.key as usize] {
            let Some(w2) = last_write_before(m, &co.clocks, cw, r) else {
                continue;
            };
            if w2 != w1 && co.clocks.before(m, w1, w2) {
                let mut path = co.graph.path(&co.clocks, w1, w2);
                path.extend(co.graph.path(&co.clocks, w2, r));
                let (_, sentences, edges) = explain_path(h, m, &path);
                out.push(anomaly(
                    h,
                    m,
                    "WriteCORead",
                    Some(n.key),
                    &[w1, w2, r],
                    format!(
                        "{} read the value of {} although {} overwrote it in between, causally: {}",
                        name(h, m, r),
                        name(h, m, w1),
                        name(h, m, w2),
                        sentences.join("; ")
                    ),
                    json!({"pattern": "WriteCORead", "edges": edges}),
                ));
                break;
            }
        }
        if out.len() >= MAX_PER_PATTERN {
            break;
        }
    }
    out
}
