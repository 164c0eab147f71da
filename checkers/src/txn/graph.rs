//! The dependency graph: one node per transaction, edges ww (write-write), wr (write-read), rw
//! (read-write, the anti-dependency), and the process and real-time orders. Edges carry the key
//! they come from, so an explanation can say why each edge holds.

use super::view::{KeyId, TxnHistory, TxnId};
use histories::NEVER;
use petgraph::graph::{DiGraph, NodeIndex};

/// The kind of one edge, as a bit so that sets of kinds are masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EdgeKind {
    Ww = 1,
    Wr = 2,
    Rw = 4,
    Process = 8,
    Realtime = 16,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 5] = [
        EdgeKind::Ww,
        EdgeKind::Wr,
        EdgeKind::Rw,
        EdgeKind::Process,
        EdgeKind::Realtime,
    ];

    pub fn bit(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Process => "process",
            EdgeKind::Realtime => "realtime",
        }
    }

    pub fn from_bit(b: u8) -> EdgeKind {
        EdgeKind::ALL
            .into_iter()
            .find(|k| k.bit() == b)
            .unwrap_or(EdgeKind::Realtime)
    }
}

/// The write-write and write-read dependencies.
pub const WW_WR: u8 = EdgeKind::Ww as u8 | EdgeKind::Wr as u8;
/// Every data dependency.
pub const DATA: u8 = WW_WR | EdgeKind::Rw as u8;

/// Key of an order edge (process, realtime), which comes from no key.
pub const NO_KEY: KeyId = KeyId::MAX;

/// One edge's weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dep {
    pub kind: EdgeKind,
    pub key: KeyId,
}

/// Edges as they are found, deduplicated when the graph is built.
#[derive(Debug, Default, Clone)]
pub struct EdgeList {
    pub edges: Vec<(TxnId, TxnId, u8, KeyId)>,
}

impl EdgeList {
    pub fn push(&mut self, from: TxnId, to: TxnId, kind: EdgeKind, key: KeyId) {
        if from != to {
            self.edges.push((from, to, kind.bit(), key));
        }
    }

    /// Sorts and drops repeats of the same (from, to, kind), keeping the first key.
    pub fn dedup(&mut self) {
        self.edges.sort_unstable_by_key(|e| (e.0, e.1, e.2));
        self.edges.dedup_by_key(|e| (e.0, e.1, e.2));
    }
}

/// The graph: node i is transaction i.
pub type DepGraph = DiGraph<(), Dep, u32>;

pub fn node(t: TxnId) -> NodeIndex<u32> {
    NodeIndex::new(t as usize)
}

/// Builds the graph from deduplicated edges over `n` transactions.
pub fn build(n: usize, edges: &EdgeList) -> DepGraph {
    let mut g = DepGraph::with_capacity(n, edges.edges.len());
    for _ in 0..n {
        g.add_node(());
    }
    for &(a, b, k, key) in &edges.edges {
        g.add_edge(
            node(a),
            node(b),
            Dep {
                kind: EdgeKind::from_bit(k),
                key,
            },
        );
    }
    g
}

/// Process order: each graph transaction to the next one of the same process.
pub fn process_edges(th: &TxnHistory, in_graph: &[bool], out: &mut EdgeList) {
    let mut last: std::collections::HashMap<u64, TxnId> = std::collections::HashMap::new();
    let mut order: Vec<TxnId> = (0..th.txns.len() as TxnId)
        .filter(|&t| in_graph[t as usize])
        .collect();
    order.sort_by_key(|&t| th.txns[t as usize].call);
    for t in order {
        let p = th.txns[t as usize].process;
        if let Some(prev) = last.insert(p, t) {
            out.push(prev, t, EdgeKind::Process, NO_KEY);
        }
    }
}

/// Real-time order: T1 precedes T2 when T1 completed before T2 was invoked. Only a transitive
/// reduction is kept (each transaction is linked from the completed transactions not already
/// followed by another completed one), so the edges stay linear in the history for bounded
/// concurrency.
pub fn realtime_edges(th: &TxnHistory, in_graph: &[bool], out: &mut EdgeList) {
    // (position, is completion, txn)
    let mut events: Vec<(u64, bool, TxnId)> = Vec::new();
    for (i, t) in th.txns.iter().enumerate() {
        if !in_graph[i] {
            continue;
        }
        events.push((t.call, false, i as TxnId));
        if t.ret != NEVER {
            events.push((t.ret, true, i as TxnId));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<TxnId> = Vec::new();
    // For each transaction, the frontier members linked to it at its invocation.
    let mut linked: std::collections::HashMap<TxnId, Vec<TxnId>> = Default::default();
    for (_, done, t) in events {
        if !done {
            for &f in &frontier {
                out.push(f, t, EdgeKind::Realtime, NO_KEY);
            }
            linked.insert(t, frontier.clone());
        } else {
            if let Some(preds) = linked.remove(&t) {
                frontier.retain(|f| !preds.contains(f));
            }
            frontier.push(t);
        }
    }
}
