//! The versions of each key and what is known of their order (Adya's version order), shared by
//! list-append and rw-register inference: version 0 is the initial state, every other version
//! was installed by one transaction; `succ` holds the known immediate successors; `readers` the
//! transactions that read each version. From a known order follow dependencies that hold in
//! every completion of it; from a total order (a completion) follow the rest.

use super::graph::{EdgeKind, EdgeList};
use super::view::{KeyId, TxnId, ValId};
use std::collections::HashMap;

/// No transaction: the writer of the initial state.
pub const INITIAL: TxnId = TxnId::MAX;

#[derive(Debug, Clone, Copy)]
pub struct Version {
    /// The transaction that installed it ([`INITIAL`] for version 0).
    pub writer: TxnId,
    pub value: ValId,
}

/// One key's versions.
#[derive(Debug, Clone)]
pub struct KeyVersions {
    pub key: KeyId,
    pub versions: Vec<Version>,
    /// Known immediate successors of each version (a DAG rooted at version 0).
    pub succ: Vec<Vec<u32>>,
    /// Transactions that read each version (external reads of committed transactions).
    pub readers: Vec<Vec<TxnId>>,
    /// The version a value installed.
    pub pos: HashMap<ValId, u32>,
    /// How the known order was learnt, for explanations: list keys from their longest read.
    pub list: bool,
    /// For lists: versions `1..=observed` are the elements the longest read shows, in order;
    /// the rest were never read.
    pub observed: u32,
}

impl KeyVersions {
    pub fn new(key: KeyId, list: bool) -> KeyVersions {
        KeyVersions {
            key,
            versions: vec![Version {
                writer: INITIAL,
                value: ValId::MAX,
            }],
            succ: vec![Vec::new()],
            readers: vec![Vec::new()],
            pos: HashMap::new(),
            list,
            observed: 0,
        }
    }

    pub fn push(&mut self, writer: TxnId, value: ValId) -> u32 {
        let i = self.versions.len() as u32;
        self.versions.push(Version { writer, value });
        self.succ.push(Vec::new());
        self.readers.push(Vec::new());
        self.pos.insert(value, i);
        i
    }

    pub fn link(&mut self, a: u32, b: u32) {
        if !self.succ[a as usize].contains(&b) {
            self.succ[a as usize].push(b);
        }
    }

    /// Whether the known order is already total (a chain from the initial state).
    pub fn is_total(&self) -> bool {
        let mut indeg = vec![0u32; self.versions.len()];
        for s in &self.succ {
            if s.len() > 1 {
                return false;
            }
            for &b in s {
                indeg[b as usize] += 1;
            }
        }
        indeg.iter().skip(1).all(|&d| d == 1)
    }

    /// Dependencies that hold whatever the full order: ww from each version's writer to its
    /// known successors' writers, wr from writer to readers, rw from readers to the writers of
    /// known successors.
    pub fn known_edges(&self, out: &mut EdgeList) {
        for (a, va) in self.versions.iter().enumerate() {
            for &r in &self.readers[a] {
                if va.writer != INITIAL && va.writer != r {
                    out.push(va.writer, r, EdgeKind::Wr, self.key);
                }
            }
            for &b in &self.succ[a] {
                let wb = self.versions[b as usize].writer;
                if va.writer != INITIAL && va.writer != wb {
                    out.push(va.writer, wb, EdgeKind::Ww, self.key);
                }
                for &r in &self.readers[a] {
                    if r != wb {
                        out.push(r, wb, EdgeKind::Rw, self.key);
                    }
                }
            }
        }
    }

    /// The dependencies a total order adds (`order` lists every version but 0).
    pub fn order_edges(&self, order: &[u32], out: &mut EdgeList) {
        let mut prev = 0u32;
        for &b in order {
            let wa = self.versions[prev as usize].writer;
            let wb = self.versions[b as usize].writer;
            if wa != INITIAL && wa != wb {
                out.push(wa, wb, EdgeKind::Ww, self.key);
            }
            for &r in &self.readers[prev as usize] {
                if r != wb {
                    out.push(r, wb, EdgeKind::Rw, self.key);
                }
            }
            prev = b;
        }
    }

    /// The dependencies of a prefix of a total order: those of the prefix itself, and, while
    /// versions remain unplaced, that every one of them comes after the prefix's last.
    pub fn prefix_edges(&self, prefix: &[u32], out: &mut EdgeList) {
        self.order_edges(prefix, out);
        if prefix.len() + 1 == self.versions.len() {
            return;
        }
        let last = prefix.last().copied().unwrap_or(0);
        let wl = self.versions[last as usize].writer;
        for u in 1..self.versions.len() as u32 {
            if prefix.contains(&u) {
                continue;
            }
            let wu = self.versions[u as usize].writer;
            if wl != INITIAL && wl != wu {
                out.push(wl, wu, EdgeKind::Ww, self.key);
            }
            for &r in &self.readers[last as usize] {
                if r != wu {
                    out.push(r, wu, EdgeKind::Rw, self.key);
                }
            }
        }
    }

    /// The versions that may come next after `prefix`: every known predecessor placed.
    pub fn ready(&self, prefix: &[u32]) -> Vec<u32> {
        let n = self.versions.len();
        let mut placed = vec![false; n];
        placed[0] = true;
        for &p in prefix {
            placed[p as usize] = true;
        }
        let mut blocked = vec![false; n];
        for (a, s) in self.succ.iter().enumerate() {
            if !placed[a] {
                for &b in s {
                    blocked[b as usize] = true;
                }
            }
        }
        (1..n as u32)
            .filter(|&v| !placed[v as usize] && !blocked[v as usize])
            .collect()
    }

    /// The versions in a known-order-respecting sequence, ties broken by `rank` of their
    /// writers (lower first); `None` if the known order has a cycle.
    pub fn linearize(&self, rank: &dyn Fn(TxnId) -> u64) -> Option<Vec<u32>> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let n = self.versions.len();
        let mut indeg = vec![0u32; n];
        for s in &self.succ {
            for &b in s {
                indeg[b as usize] += 1;
            }
        }
        let mut heap = BinaryHeap::new();
        for &b in &self.succ[0] {
            indeg[b as usize] -= 1;
            if indeg[b as usize] == 0 {
                heap.push(Reverse((rank(self.versions[b as usize].writer), b)));
            }
        }
        let mut out = Vec::with_capacity(n - 1);
        while let Some(Reverse((_, v))) = heap.pop() {
            out.push(v);
            for &b in &self.succ[v as usize] {
                indeg[b as usize] -= 1;
                if indeg[b as usize] == 0 {
                    heap.push(Reverse((rank(self.versions[b as usize].writer), b)));
                }
            }
        }
        (out.len() == n - 1).then_some(out)
    }
}
