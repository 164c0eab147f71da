//! Completing version orders. Where inference leaves a key's order open (list elements no
//! read shows, register writes with no read between them), a model holds only if some
//! completion of every open order keeps its graph acyclic. First one completion is tried:
//! each key's open versions ordered by a topological order of the model's graph (for
//! list-append under the serializable models this always works when the graph is acyclic).
//! If it makes a cycle, the orders of the open keys are searched depth first, key by key (a
//! choice that already makes a cycle cuts every completion of it), up to a limit of steps: one
//! acyclic completion proves the model; a cycle in every one disproves it (a few branches'
//! cycles are kept as the explanation); past the limit the answer is unknown.

use super::cycles::model_cycle;
use super::graph::{build, DepGraph, EdgeList};
use super::models::GraphSpec;
use super::versions::KeyVersions;
use super::view::TxnId;
use petgraph::algo::toposort;
use petgraph::graph::EdgeIndex;
use petgraph::visit::EdgeFiltered;

/// A cycle found under one combination of orders: the orders assumed and the cycle's edges
/// in the graph `graph` built for it.
pub struct Branch {
    /// For each key: its index in the versions and the order assumed.
    pub orders: Vec<(usize, Vec<u32>)>,
    pub graph: DepGraph,
    pub cycle: Vec<EdgeIndex<u32>>,
}

pub enum Completion {
    /// Some completion keeps the graph acyclic; `searched` says whether the first try failed.
    Holds {
        searched: bool,
    },
    /// Every combination of orders of the open keys makes a cycle; some of them shown.
    Fails {
        keys: Vec<usize>,
        /// Orders tried (a prefix of choices that makes a cycle cuts its completions).
        combinations: usize,
        branches: Vec<Branch>,
    },
    Unknown(String),
}

/// Finds a completion for a model whose graph of known edges is acyclic.
pub fn complete(
    n: usize,
    base: &EdgeList,
    base_graph: &DepGraph,
    versions: &[KeyVersions],
    spec: GraphSpec,
    limit: usize,
) -> Completion {
    let open: Vec<usize> = (0..versions.len())
        .filter(|&i| !versions[i].is_total())
        .collect();
    if open.is_empty() {
        return Completion::Holds { searched: false };
    }
    // Ranks from a topological order of the model's graph (with rw edges too when that is
    // acyclic: snapshot isolation's witness then follows the serial order).
    let rw = super::graph::EdgeKind::Rw.bit();
    let order = {
        let with_rw = EdgeFiltered::from_fn(base_graph, |e| {
            e.weight().kind.bit() & (spec.mask | rw) != 0
        });
        match toposort(&with_rw, None) {
            Ok(o) => Some(o),
            Err(_) => {
                let plain =
                    EdgeFiltered::from_fn(base_graph, |e| e.weight().kind.bit() & spec.mask != 0);
                toposort(&plain, None).ok()
            }
        }
    };
    let mut rank = vec![0u64; n];
    match order {
        Some(o) => {
            for (i, v) in o.iter().enumerate() {
                rank[v.index()] = i as u64;
            }
        }
        None => {
            for (i, r) in rank.iter_mut().enumerate() {
                *r = i as u64;
            }
        }
    }
    let rank_of = |t: TxnId| rank.get(t as usize).copied().unwrap_or(0);
    let mut first: Vec<(usize, Vec<u32>)> = Vec::new();
    for &k in &open {
        match versions[k].linearize(&rank_of) {
            Some(o) => first.push((k, o)),
            None => {
                return Completion::Unknown(format!(
                    "the known order of versions of key {} has a cycle",
                    versions[k].key
                ))
            }
        }
    }
    let (g, cycle) = graph_with(n, base, versions, &first, spec);
    let Some(cycle) = cycle else {
        return Completion::Holds { searched: false };
    };
    // Search the open keys' orders depth first, one version at a time: a prefix of a key's
    // order already fixes edges (the prefix's own, and every unplaced version after its
    // last), and a prefix whose graph has a cycle cuts every completion of it.
    let mut s = Dfs {
        n,
        base,
        versions,
        spec,
        open: &open,
        chosen: Vec::new(),
        visited: 0,
        limit,
        branches: vec![Branch {
            orders: first,
            graph: g,
            cycle,
        }],
    };
    match s.run() {
        Some(true) => Completion::Holds { searched: true },
        Some(false) => Completion::Fails {
            keys: open.clone(),
            combinations: s.visited,
            branches: s.branches,
        },
        None => {
            let writes: usize = open.iter().map(|&k| versions[k].versions.len() - 1).sum();
            Completion::Unknown(format!(
                "no cycle is certain, but {} keys have {} writes in no known order, and searching their possible orders needs more than the limit of {} steps; the first order tried made a cycle of {} transactions",
                open.len(),
                writes,
                limit,
                s.branches[0].cycle.len()
            ))
        }
    }
}

struct Dfs<'a> {
    n: usize,
    base: &'a EdgeList,
    versions: &'a [KeyVersions],
    spec: GraphSpec,
    open: &'a [usize],
    /// The keys decided or being decided, each with its order so far.
    chosen: Vec<(usize, Vec<u32>)>,
    visited: usize,
    limit: usize,
    branches: Vec<Branch>,
}

impl Dfs<'_> {
    /// `Some(true)`: an acyclic completion exists; `Some(false)`: none; `None`: out of steps.
    fn run(&mut self) -> Option<bool> {
        // The key being ordered: the last chosen if unfinished, else the next open one.
        let unfinished = self
            .chosen
            .last()
            .is_some_and(|(k, o)| o.len() + 1 < self.versions[*k].versions.len());
        if !unfinished {
            if self.chosen.len() == self.open.len() {
                return Some(true);
            }
            self.chosen.push((self.open[self.chosen.len()], Vec::new()));
            let r = self.run();
            self.chosen.pop();
            return r;
        }
        let (k, prefix) = self.chosen.last().cloned().unwrap_or_default();
        for v in self.versions[k].ready(&prefix) {
            self.visited += 1;
            if self.visited > self.limit {
                return None;
            }
            if let Some(last) = self.chosen.last_mut() {
                last.1.push(v);
            }
            let (g, cycle) = graph_with(self.n, self.base, self.versions, &self.chosen, self.spec);
            match cycle {
                None => match self.run() {
                    Some(true) => return Some(true),
                    None => return None,
                    Some(false) => {}
                },
                Some(c) => {
                    let whole = self
                        .chosen
                        .iter()
                        .all(|(k, o)| o.len() + 1 == self.versions[*k].versions.len());
                    if self.branches.len() < 4 && whole {
                        self.branches.push(Branch {
                            orders: self.chosen.clone(),
                            graph: g,
                            cycle: c,
                        });
                    }
                }
            }
            if let Some(last) = self.chosen.last_mut() {
                last.1.pop();
            }
        }
        Some(false)
    }
}

fn graph_with(
    n: usize,
    base: &EdgeList,
    versions: &[KeyVersions],
    orders: &[(usize, Vec<u32>)],
    spec: GraphSpec,
) -> (DepGraph, Option<Vec<EdgeIndex<u32>>>) {
    let mut edges = base.clone();
    for (k, o) in orders {
        versions[*k].prefix_edges(o, &mut edges);
    }
    edges.dedup();
    let g = build(n, &edges);
    let c = model_cycle(&g, spec);
    (g, c)
}
