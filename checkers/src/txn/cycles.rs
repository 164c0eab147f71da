//! Cycles of the dependency graph: whether a model's graph has one (strongly connected
//! components, linear time, decided for any size), and the search for cycles of each class
//! (G0, G1c, G-single, G-nonadjacent, G2-item and their -process and -realtime variants)
//! inside each component, breadth-first for short witnesses, within a step budget. When the
//! budget runs out, what was found is what is proven.

use super::graph::{DepGraph, EdgeKind, DATA, WW_WR};
use super::models::{CycleClass, GraphSpec, Variant};
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeFiltered, EdgeRef};
use petgraph::Direction;
use std::collections::{HashSet, VecDeque};

/// A cycle found, as edges of the graph in order, classified.
#[derive(Debug, Clone)]
pub struct FoundCycle {
    pub class: CycleClass,
    pub variant: Variant,
    pub edges: Vec<EdgeIndex<u32>>,
}

/// The nontrivial strongly connected components of the edges in `mask`.
pub fn components(g: &DepGraph, mask: u8) -> Vec<Vec<NodeIndex<u32>>> {
    let f = EdgeFiltered::from_fn(g, |e| e.weight().kind.bit() & mask != 0);
    kosaraju_scc(&f)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect()
}

/// Component ids (`u32::MAX` outside any) for `comps`.
fn comp_ids(n: usize, comps: &[Vec<NodeIndex<u32>>]) -> Vec<u32> {
    let mut id = vec![u32::MAX; n];
    for (i, c) in comps.iter().enumerate() {
        for v in c {
            id[v.index()] = i as u32;
        }
    }
    id
}

/// The shortest path from `from` to `to` over edges in `mask` staying inside component `cid`.
/// Counts visited nodes against `budget`; `None` if there is none or the budget ran out
/// (then `*budget` is 0).
fn bfs_path(
    g: &DepGraph,
    from: NodeIndex<u32>,
    to: NodeIndex<u32>,
    mask: u8,
    comp: &[u32],
    cid: u32,
    budget: &mut u64,
) -> Option<Vec<EdgeIndex<u32>>> {
    if from == to {
        return Some(Vec::new());
    }
    let mut parent: std::collections::HashMap<u32, EdgeIndex<u32>> = Default::default();
    let mut q = VecDeque::new();
    q.push_back(from);
    parent.insert(from.index() as u32, EdgeIndex::end());
    while let Some(v) = q.pop_front() {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        for e in g.edges_directed(v, Direction::Outgoing) {
            if e.weight().kind.bit() & mask == 0 || comp[e.target().index()] != cid {
                continue;
            }
            let t = e.target();
            if parent.contains_key(&(t.index() as u32)) {
                continue;
            }
            parent.insert(t.index() as u32, e.id());
            if t == to {
                let mut path = Vec::new();
                let mut cur = t;
                while cur != from {
                    let pe = parent[&(cur.index() as u32)];
                    path.push(pe);
                    cur = g.edge_endpoints(pe).map(|x| x.0).unwrap_or(from);
                }
                path.reverse();
                return Some(path);
            }
            q.push_back(t);
        }
    }
    None
}

/// Rewrites a cycle so that between each pair of consecutive transactions it takes the most
/// telling edge allowed by `mask`: ww, then wr, rw, process, realtime.
pub fn normalize(g: &DepGraph, cycle: &[EdgeIndex<u32>], mask: u8) -> Vec<EdgeIndex<u32>> {
    let order = [
        EdgeKind::Ww,
        EdgeKind::Wr,
        EdgeKind::Rw,
        EdgeKind::Process,
        EdgeKind::Realtime,
    ];
    cycle
        .iter()
        .map(|&e| {
            let Some((a, b)) = g.edge_endpoints(e) else {
                return e;
            };
            g.edges_connecting(a, b)
                .filter(|x| x.weight().kind.bit() & mask != 0)
                .min_by_key(|x| order.iter().position(|k| *k == x.weight().kind))
                .map(|x| x.id())
                .unwrap_or(e)
        })
        .collect()
}

/// The class of a cycle from its edges' kinds.
pub fn classify(g: &DepGraph, cycle: &[EdgeIndex<u32>]) -> (CycleClass, Variant) {
    let kinds: Vec<EdgeKind> = cycle.iter().map(|&e| g[e].kind).collect();
    let rw: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i] == EdgeKind::Rw)
        .collect();
    let has = |k: EdgeKind| kinds.contains(&k);
    let class = match rw.len() {
        0 if !has(EdgeKind::Wr) => CycleClass::G0,
        0 => CycleClass::G1c,
        1 => CycleClass::GSingle,
        _ => {
            let n = kinds.len();
            let adjacent = rw.iter().any(|&i| kinds[(i + 1) % n] == EdgeKind::Rw);
            if adjacent {
                CycleClass::G2Item
            } else {
                CycleClass::GNonadjacent
            }
        }
    };
    let variant = if has(EdgeKind::Realtime) {
        Variant::Realtime
    } else if has(EdgeKind::Process) {
        Variant::Process
    } else {
        Variant::Data
    };
    (class, variant)
}

/// A cycle of the model's graph, if it has one: for plain models a cycle of the edges in
/// its mask; for extension models (snapshot isolation) a cycle in which every rw edge
/// follows an edge of the mask, found in the graph of pairs (transaction, just arrived by a
/// mask edge).
pub fn model_cycle(g: &DepGraph, spec: GraphSpec) -> Option<Vec<EdgeIndex<u32>>> {
    if !spec.extension {
        let comps = components(g, spec.mask);
        let c = comps.first()?;
        let ids = comp_ids(g.node_count(), &comps);
        let v = c[0];
        // The shortest cycle through v: a path to v from each successor inside.
        let mut budget = u64::MAX;
        let mut best: Option<Vec<EdgeIndex<u32>>> = None;
        for e in g.edges_directed(v, Direction::Outgoing) {
            if e.weight().kind.bit() & spec.mask == 0 || ids[e.target().index()] != 0 {
                continue;
            }
            if let Some(mut p) = bfs_path(g, e.target(), v, spec.mask, &ids, 0, &mut budget) {
                p.insert(0, e.id());
                if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                    best = Some(p);
                }
                break;
            }
        }
        return best.map(|c| normalize(g, &c, spec.mask));
    }
    extension_cycle(g, spec.mask)
}

/// A cycle of (mask ; rw?) — see [`model_cycle`].
fn extension_cycle(g: &DepGraph, mask: u8) -> Option<Vec<EdgeIndex<u32>>> {
    let n = g.node_count();
    // Node i: at transaction i; node n + i: at i, having just taken a mask edge.
    let mut h: DiGraph<(), u32, u32> = DiGraph::with_capacity(2 * n, g.edge_count() + n);
    for _ in 0..2 * n {
        h.add_node(());
    }
    let none = u32::MAX;
    for e in g.edge_references() {
        let (a, b) = (e.source().index(), e.target().index());
        let bit = e.weight().kind.bit();
        if bit & mask != 0 {
            h.add_edge(
                NodeIndex::new(a),
                NodeIndex::new(n + b),
                e.id().index() as u32,
            );
        }
        if e.weight().kind == EdgeKind::Rw {
            h.add_edge(
                NodeIndex::new(n + a),
                NodeIndex::new(b),
                e.id().index() as u32,
            );
        }
    }
    for i in 0..n {
        h.add_edge(NodeIndex::new(n + i), NodeIndex::new(i), none);
    }
    let comps: Vec<Vec<NodeIndex<u32>>> = kosaraju_scc(&h)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    let c = comps.first()?;
    let mut ids = vec![false; 2 * n];
    for v in c {
        ids[v.index()] = true;
    }
    let start = c[0];
    let mut parent: Vec<u32> = vec![u32::MAX; 2 * n];
    let mut q = VecDeque::new();
    q.push_back(start);
    while let Some(v) = q.pop_front() {
        for e in h.edges_directed(v, Direction::Outgoing) {
            let t = e.target();
            if !ids[t.index()] || parent[t.index()] != u32::MAX {
                continue;
            }
            parent[t.index()] = e.id().index() as u32;
            if t == start {
                let mut out = Vec::new();
                let mut cur = t;
                loop {
                    let pe = EdgeIndex::new(parent[cur.index()] as usize);
                    if h[pe] != none {
                        out.push(EdgeIndex::new(h[pe] as usize));
                    }
                    cur = h.edge_endpoints(pe).map(|x| x.0).unwrap_or(start);
                    if cur == start {
                        break;
                    }
                }
                out.reverse();
                return Some(out);
            }
            q.push_back(t);
        }
    }
    None
}

/// What the class search found, and what it could not finish.
#[derive(Debug, Default)]
pub struct Search {
    pub cycles: Vec<FoundCycle>,
    /// One sentence per search that ran out of budget, naming what was proven.
    pub unfinished: Vec<String>,
    pub steps: u64,
}

/// Searches every class at each level (data dependencies only, then with process order, then
/// with real-time order too). Keeps at most `per_class` (shortest) cycles of each class.
pub fn search(g: &DepGraph, budget: u64, per_class: usize) -> Search {
    let mut out = Search::default();
    let mut left = budget;
    let mut seen: HashSet<(CycleClass, Variant, Vec<usize>)> = HashSet::new();
    let po = EdgeKind::Process.bit();
    let rt = EdgeKind::Realtime.bit();
    let n = g.node_count();
    let mut add = |out: &mut Search, cyc: Vec<EdgeIndex<u32>>, mask: u8| {
        let cyc = normalize(g, &cyc, mask);
        let (class, variant) = classify(g, &cyc);
        let mut nodes: Vec<usize> = cyc
            .iter()
            .filter_map(|&e| g.edge_endpoints(e).map(|x| x.0.index()))
            .collect();
        nodes.sort_unstable();
        if seen.insert((class, variant, nodes)) {
            out.cycles.push(FoundCycle {
                class,
                variant,
                edges: cyc,
            });
        }
    };
    for (level, x) in [
        (Variant::Data, 0u8),
        (Variant::Process, po),
        (Variant::Realtime, po | rt),
    ] {
        let outer = components(g, DATA | x);
        if outer.is_empty() {
            continue;
        }
        // Edges "through" which a cycle of this level must pass.
        let through = |k: EdgeKind| -> bool {
            match level {
                Variant::Data => true,
                _ => k.bit() & x != 0,
            }
        };
        // G0 and G1c: cycles of ww (wr) edges plus this level's order edges.
        for (mask, want) in [
            (EdgeKind::Ww.bit() | x, None),
            (WW_WR | x, Some(EdgeKind::Wr)),
        ] {
            let comps = components(g, mask);
            let ids = comp_ids(n, &comps);
            for (cid, c) in comps.iter().enumerate().take(64) {
                if let Some(cyc) =
                    through_edge(g, c, &ids, cid as u32, mask, mask, &mut left, |k| {
                        through(k) && want.is_none_or(|w| level != Variant::Data || k == w)
                    })
                {
                    add(&mut out, cyc, mask);
                }
            }
        }
        let ids = comp_ids(n, &outer);
        for (cid, c) in outer.iter().enumerate().take(64) {
            // G-single: one rw edge closed by a path without rw.
            let before = left;
            let mut found = false;
            let members: HashSet<usize> = c.iter().map(|v| v.index()).collect();
            'rw: for &v in c {
                for e in g.edges_directed(v, Direction::Outgoing) {
                    if e.weight().kind != EdgeKind::Rw || !members.contains(&e.target().index()) {
                        continue;
                    }
                    if left == 0 {
                        break 'rw;
                    }
                    if let Some(mut p) =
                        bfs_path(g, e.target(), v, WW_WR | x, &ids, cid as u32, &mut left)
                    {
                        p.insert(0, e.id());
                        add(&mut out, p, WW_WR | x);
                        found = true;
                        break 'rw;
                    }
                }
            }
            if left == 0 && !found {
                let proven = out
                    .cycles
                    .iter()
                    .filter(|f| {
                        f.edges
                            .first()
                            .and_then(|e| g.edge_endpoints(*e))
                            .is_some_and(|(a, _)| members.contains(&a.index()))
                    })
                    .map(|f| (f.class, f.variant))
                    .min();
                let proven = match proven {
                    Some((cl, va)) => format!("a {} cycle exists (a cycle of at least this class)", cl.name(va)),
                    None => format!(
                        "a cycle of at least class {} exists (the component is strongly connected through data dependencies)",
                        CycleClass::G2Item.name(level)
                    ),
                };
                out.unfinished.push(format!(
                    "in a strongly connected component of {} transactions, the search for {} cycles stopped when its budget of {} steps ran out ({} used here); proven: {}",
                    c.len(),
                    CycleClass::GSingle.name(level),
                    budget,
                    before,
                    proven
                ));
            }
            // G2-item: any cycle through an rw edge.
            if let Some(cyc) =
                through_edge(g, c, &ids, cid as u32, DATA | x, DATA | x, &mut left, |k| {
                    k == EdgeKind::Rw || (level != Variant::Data && through(k))
                })
            {
                add(&mut out, cyc, DATA | x);
            }
        }
        // G-nonadjacent: cycles where every rw edge follows a ww/wr (or order) edge.
        if let Some(cyc) = extension_cycle(g, WW_WR | x) {
            add(&mut out, cyc, DATA | x);
        }
    }
    out.steps = budget - left;
    // Keep the shortest few of each class.
    out.cycles
        .sort_by_key(|f| (f.class, f.variant, f.edges.len()));
    let mut kept: Vec<FoundCycle> = Vec::new();
    for f in out.cycles.drain(..) {
        let same = kept
            .iter()
            .filter(|k| k.class == f.class && k.variant == f.variant)
            .count();
        if same < per_class {
            kept.push(f);
        }
    }
    out.cycles = kept;
    out
}

/// A cycle inside component `cid` through some edge whose kind passes `pick`, closed by a
/// path over `path_mask`.
#[allow(clippy::too_many_arguments)]
fn through_edge(
    g: &DepGraph,
    comp: &[NodeIndex<u32>],
    ids: &[u32],
    cid: u32,
    edge_mask: u8,
    path_mask: u8,
    budget: &mut u64,
    pick: impl Fn(EdgeKind) -> bool,
) -> Option<Vec<EdgeIndex<u32>>> {
    let mut tries = 0;
    for &v in comp {
        for e in g.edges_directed(v, Direction::Outgoing) {
            let k = e.weight().kind;
            if k.bit() & edge_mask == 0 || !pick(k) || ids[e.target().index()] != cid {
                continue;
            }
            tries += 1;
            if tries > 16 || *budget == 0 {
                return None;
            }
            if let Some(mut p) = bfs_path(g, e.target(), v, path_mask, ids, cid, budget) {
                p.insert(0, e.id());
                return Some(p);
            }
        }
    }
    None
}
