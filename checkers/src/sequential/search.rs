//! Depth-first search for a total order over a saturated constraint graph.
//!
//! A state is the number of operations placed from each chain plus the value each key holds;
//! the placed set, and so everything else, follows from that. Reads, syncs and barriers that
//! can be placed are placed at once (placing them early never hurts); the only choices are
//! which write goes next, tried in invocation order. States from which no completion exists
//! are remembered (by a 128-bit hash) and not explored again.

use crate::consistency::anomaly;
use crate::memory::{name, sentence, Graph, Memory, Node, Source};
use crate::Anomaly;
use histories::History;
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a search may run.
#[derive(Debug, Clone)]
pub struct Budget {
    pub time: Duration,
    /// Choice points explored.
    pub states: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            time: Duration::from_secs(10),
            states: 10_000_000,
        }
    }
}

/// What the search found.
#[derive(Debug)]
pub enum SearchOutcome {
    Found { order: Vec<Node>, states: u64 },
    Exhausted { states: u64, anomaly: Anomaly },
    OutOfBudget { states: u64, placed: usize },
}

const NONE: u32 = u32::MAX;

struct State<'a> {
    m: &'a Memory,
    g: &'a Graph<'a>,
    next: Vec<u32>,
    pending: Vec<u32>,
    cur: Vec<u32>,
    unread: Vec<u32>,
    init_unread: Vec<u32>,
    trail: Vec<(Node, u32)>,
    hash: u128,
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn z(tag: u64, a: u32, b: u32) -> u128 {
    let x = (tag << 62) ^ ((a as u64) << 32) ^ b as u64;
    ((mix(x) as u128) << 64) | mix(x ^ 0x5555_5555_5555_5555) as u128
}

impl<'a> State<'a> {
    fn new(m: &'a Memory, g: &'a Graph<'a>) -> State<'a> {
        let mut pending = vec![0u32; m.nodes.len()];
        for e in &g.edges {
            pending[e.to as usize] += 1;
        }
        let mut s = State {
            m,
            g,
            next: vec![0; m.chains.len()],
            pending,
            cur: vec![NONE; m.keys.len()],
            unread: m.readers.clone(),
            init_unread: m.init_readers.clone(),
            trail: Vec::new(),
            hash: 0,
        };
        for c in 0..m.chains.len() {
            s.hash ^= z(0, c as u32, 0);
        }
        for k in 0..m.keys.len() {
            s.hash ^= z(1, k as u32, NONE);
        }
        s
    }

    fn head(&self, c: usize) -> Option<Node> {
        self.m.chains[c].get(self.next[c] as usize).copied()
    }

    /// Whether `n` (a chain head) can be placed now.
    fn placeable(&self, n: Node) -> bool {
        if self.pending[n as usize] != 0 {
            return false;
        }
        let op = &self.m.nodes[n as usize];
        let mut reads_current = false;
        if let Some(src) = op.read {
            let cur = self.cur[op.key as usize];
            match src {
                Source::Init if cur == NONE => reads_current = true,
                Source::Write(w) if cur == w => reads_current = true,
                _ => return false,
            }
        }
        if op.writes {
            let cur = self.cur[op.key as usize];
            let left = if cur == NONE {
                self.init_unread[op.key as usize]
            } else {
                self.unread[cur as usize]
            };
            if left != u32::from(reads_current) {
                return false;
            }
        }
        true
    }

    fn place(&mut self, n: Node) {
        let op = &self.m.nodes[n as usize];
        let c = op.chain as usize;
        self.hash ^= z(0, c as u32, self.next[c]);
        self.next[c] += 1;
        self.hash ^= z(0, c as u32, self.next[c]);
        for e in self.g.explicit_out(n) {
            self.pending[e.to as usize] -= 1;
        }
        match op.read {
            Some(Source::Write(w)) => self.unread[w as usize] -= 1,
            Some(Source::Init) => self.init_unread[op.key as usize] -= 1,
            _ => {}
        }
        let mut prev = NONE;
        if op.writes {
            let k = op.key as usize;
            prev = self.cur[k];
            self.hash ^= z(1, k as u32, prev) ^ z(1, k as u32, n);
            self.cur[k] = n;
        }
        self.trail.push((n, prev));
    }

    fn unplace(&mut self) {
        let Some((n, prev)) = self.trail.pop() else {
            return;
        };
        let op = &self.m.nodes[n as usize];
        let c = op.chain as usize;
        self.hash ^= z(0, c as u32, self.next[c]);
        self.next[c] -= 1;
        self.hash ^= z(0, c as u32, self.next[c]);
        for e in self.g.explicit_out(n) {
            self.pending[e.to as usize] += 1;
        }
        match op.read {
            Some(Source::Write(w)) => self.unread[w as usize] += 1,
            Some(Source::Init) => self.init_unread[op.key as usize] += 1,
            _ => {}
        }
        if op.writes {
            let k = op.key as usize;
            self.hash ^= z(1, k as u32, n) ^ z(1, k as u32, prev);
            self.cur[k] = prev;
        }
    }

    /// Places every read, sync and barrier that can go now.
    fn forced(&mut self) {
        let mut progress = true;
        while progress {
            progress = false;
            for c in 0..self.m.chains.len() {
                while let Some(n) = self.head(c) {
                    if self.m.nodes[n as usize].writes || !self.placeable(n) {
                        break;
                    }
                    self.place(n);
                    progress = true;
                }
            }
        }
    }

    fn candidates(&self, h: &History) -> Vec<Node> {
        let mut v: Vec<Node> = (0..self.m.chains.len())
            .filter_map(|c| self.head(c))
            .filter(|&n| self.m.nodes[n as usize].writes && self.placeable(n))
            .collect();
        v.sort_by_key(|&n| self.m.nodes[n as usize].op.map(|i| h.ops[i].call));
        v
    }
}

struct Frame {
    trail_len: usize,
    hash: u128,
    candidates: Vec<Node>,
    tried: usize,
}

/// Searches for a total order of `m` respecting `g`.
pub fn search(h: &History, m: &Memory, g: &Graph, budget: &Budget) -> SearchOutcome {
    let start = Instant::now();
    let total = m.nodes.len();
    let mut s = State::new(m, g);
    let mut failed: HashSet<u128> = HashSet::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut states: u64 = 0;
    let mut deepest: (usize, Vec<u32>, Vec<u32>) = (0, Vec::new(), Vec::new());
    let mut ticks: u64 = 0;
    loop {
        s.forced();
        if s.trail.len() == total {
            return SearchOutcome::Found {
                order: s.trail.iter().map(|&(n, _)| n).collect(),
                states,
            };
        }
        ticks += 1;
        if ticks % 1024 == 1 && (start.elapsed() > budget.time || states > budget.states) {
            return SearchOutcome::OutOfBudget {
                states,
                placed: deepest.0,
            };
        }
        let cands = if failed.contains(&s.hash) {
            Vec::new()
        } else {
            s.candidates(h)
        };
        if let Some(&first) = cands.first() {
            states += 1;
            frames.push(Frame {
                trail_len: s.trail.len(),
                hash: s.hash,
                candidates: cands,
                tried: 0,
            });
            s.place(first);
            continue;
        }
        failed.insert(s.hash);
        if s.trail.len() > deepest.0 || deepest.1.is_empty() {
            deepest = (s.trail.len(), s.next.clone(), s.cur.clone());
        }
        // Backtrack to the newest choice point with an untried candidate.
        loop {
            let Some(f) = frames.last_mut() else {
                return SearchOutcome::Exhausted {
                    states,
                    anomaly: stuck_anomaly(h, m, g, &deepest),
                };
            };
            while s.trail.len() > f.trail_len {
                s.unplace();
            }
            f.tried += 1;
            if f.tried < f.candidates.len() {
                let n = f.candidates[f.tried];
                s.place(n);
                break;
            }
            failed.insert(f.hash);
            frames.pop();
        }
    }
}

/// Explains the furthest point the search reached: why each process's next operation could
/// not be placed.
fn stuck_anomaly(
    h: &History,
    m: &Memory,
    g: &Graph,
    deepest: &(usize, Vec<u32>, Vec<u32>),
) -> Anomaly {
    let (placed, next, cur) = deepest;
    let mut nodes = Vec::new();
    let mut why = Vec::new();
    for (c, chain) in m.chains.iter().enumerate() {
        let Some(&n) = chain.get(next[c] as usize) else {
            continue;
        };
        if m.nodes[n as usize].op.is_none() {
            continue;
        }
        let op = &m.nodes[n as usize];
        // An explicit predecessor not yet placed.
        let placed_node = |x: Node| {
            let xn = &m.nodes[x as usize];
            xn.pos < next[xn.chain as usize]
        };
        let reason = if let Some(e) = g.explicit_in(n).find(|e| !placed_node(e.from)) {
            format!("it must wait: {}", sentence(h, m, e))
        } else {
            let holder = |k: u32| {
                let v = cur[k as usize];
                if v == NONE {
                    "the initial value".to_string()
                } else {
                    format!("the value of {}", name(h, m, v))
                }
            };
            match op.read {
                Some(_) if !op.writes => {
                    format!("the register holds {} at that point", holder(op.key))
                }
                _ => format!(
                    "it would overwrite {}, which an operation not yet placed still has to read",
                    holder(op.key)
                ),
            }
        };
        why.push(format!("{} cannot go next: {reason}", name(h, m, n)));
        nodes.push(n);
    }
    anomaly(
        h,
        m,
        "no-total-order",
        None,
        &nodes,
        format!(
            "every order of the operations that respects program order and the saturated constraints ends with a read that cannot return its value; at best {placed} of {} operations could be placed, then {}",
            m.nodes.len(),
            why.join("; ")
        ),
        json!({"placed": placed, "blocked": why}),
    )
}
