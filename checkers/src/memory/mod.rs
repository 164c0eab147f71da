//! A register history seen as a differentiated read/write memory: the form every consistency
//! checker of this crate (sequential, ZooKeeper, causal) reasons about.
//!
//! Failed operations are removed. An `info` write or cas whose value somebody read is kept (it
//! happened); one nobody read is dropped (it may not have happened, and dropping a write nobody
//! read never makes a history less consistent). `info` reads and syncs are dropped. An ok `cas`
//! is one node that both reads its expected value and writes its new value. Each read is tied
//! to the unique write of its value (reads-from), which is only possible when the history is
//! *differentiated*: no value written twice to a key, and no write of the initial value `null`.

mod clock;
mod explain;
mod graph;
mod live;

pub use clock::{gallop, Clocks};
pub use explain::{
    describe_path, name, path_details as explain_path, sentence, source_name, Edge, EdgeKind,
};
pub use graph::{Cycle, Graph};
pub use live::{LiveClocks, WouldCycle};

use histories::{History, OpStatus, Operation};
use serde_json::Value;

/// Node index in a [`Memory`].
pub type Node = u32;

/// What a read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The initial value (`null`).
    Init,
    /// The value written by this node.
    Write(Node),
    /// A value no kept operation wrote.
    ThinAir,
}

/// One operation of the memory view.
#[derive(Debug, Clone)]
pub struct MemOp {
    /// Index in `History::ops`, or `None` for a virtual node (a real-time barrier).
    pub op: Option<usize>,
    /// The chain (process, or the real-time barrier chain) and the position in it.
    pub chain: u32,
    pub pos: u32,
    pub key: u32,
    /// Set for reads and cas: what the node read.
    pub read: Option<Source>,
    /// Set for writes and cas.
    pub writes: bool,
    /// Writes, cas and syncs (ZooKeeper's updates).
    pub update: bool,
}

impl MemOp {
    pub fn is_pure_read(&self) -> bool {
        self.read.is_some() && !self.writes
    }
}

/// The writes of one key by one chain, in program order.
#[derive(Debug, Clone)]
pub struct ChainWrites {
    pub chain: u32,
    /// (position in chain, node), ascending.
    pub writes: Vec<(u32, Node)>,
}

/// A differentiated read/write memory history.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub nodes: Vec<MemOp>,
    /// Nodes of each chain in program order.
    pub chains: Vec<Vec<Node>>,
    /// The process of each chain (`None` for the barrier chain).
    pub chain_process: Vec<Option<u64>>,
    pub keys: Vec<String>,
    /// Per key: the writes grouped by chain.
    pub key_writes: Vec<Vec<ChainWrites>>,
    /// Per node: how many reads (including cas) read its value.
    pub readers: Vec<u32>,
    /// Per key: how many reads saw the initial value.
    pub init_readers: Vec<u32>,
    /// Whether chains are *linked* processes ([`Memory::from_history_linked`]): then program
    /// order along a chain is a superset of the history's, and only a consistent verdict holds.
    pub linked: bool,
}

/// Why a history is outside what these checkers decide.
#[derive(Debug, Clone, PartialEq)]
pub struct NotDecidable(pub String);

impl Memory {
    /// Builds the memory view of a history, or says why it cannot be built. One chain per
    /// process; when vector clocks over that many processes would not fit (a long history in
    /// which process ids retire), the chains are linked processes instead
    /// ([`Memory::from_history_linked`]).
    pub fn from_history(h: &History) -> Result<Memory, NotDecidable> {
        match build(h, false) {
            Err(Refusal::TooWide(_)) => build(h, true).map_err(Refusal::reason),
            r => r.map_err(Refusal::reason),
        }
    }

    /// The memory view with *linked* chains: processes are packed greedily, in order of their
    /// first invocation, onto chains, a process going after one whose every operation had
    /// completed (by file position) before the process began (an `info` one counts as ending
    /// at its `info` line), so that the chains are about as many as the processes alive at any
    /// time, not as the process ids. Program order along a chain is then a superset of the
    /// history's program order (each process stays contiguous and in order, but a process
    /// also follows the one before it on its chain), so every order the checks derive is a
    /// superset of the true one. The bad patterns of the causal models are monotone in the
    /// order and a sequential order respecting more constraints respects fewer, so a history
    /// found consistent here is consistent; a violation found here may rest on an invented
    /// link and proves nothing ([`Memory::linked_reason`]).
    pub fn from_history_linked(h: &History) -> Result<Memory, NotDecidable> {
        build(h, true).map_err(Refusal::reason)
    }

    /// Why a violation found over linked chains is not a verdict.
    pub fn linked_reason(&self, processes: usize) -> String {
        format!(
            "the history has {processes} process ids, too many for exact vector clocks, so they were checked over {} linked chains (each process after one that had finished before it began); that over-approximation of program order proves histories consistent but found a violation that may rest on a link the history does not have; check a shorter history or one with fewer process ids",
            self.chains.len()
        )
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn operation<'h>(&self, h: &'h History, n: Node) -> Option<&'h Operation> {
        self.nodes[n as usize].op.map(|i| &h.ops[i])
    }

    /// Adds a virtual chain of real-time barriers: update `a` precedes update `b` whenever `a`
    /// completed before `b` was invoked (every operation, not only updates, when `all`).
    /// Returns the edges to add (barrier chain edges are program order of the new chain).
    pub fn add_realtime_barriers(&mut self, h: &History, all: bool) -> Vec<Edge> {
        let mut done: Vec<(u64, Node)> = Vec::new();
        let mut starts: Vec<(u64, Node)> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let (Some(o), true) = (n.op, n.update || all) else {
                continue;
            };
            let op = &h.ops[o];
            starts.push((op.call, i as Node));
            if op.status == OpStatus::Ok {
                done.push((op.ret, i as Node));
            }
        }
        done.sort_unstable();
        let chain = self.chains.len() as u32;
        let mut chain_nodes = Vec::with_capacity(done.len());
        let mut edges = Vec::new();
        for (k, &(_, u)) in done.iter().enumerate() {
            let b = self.nodes.len() as Node;
            self.nodes.push(MemOp {
                op: None,
                chain,
                pos: k as u32,
                key: u32::MAX,
                read: None,
                writes: false,
                update: false,
            });
            self.readers.push(0);
            chain_nodes.push(b);
            edges.push(Edge {
                from: u,
                to: b,
                kind: EdgeKind::RealTime,
            });
        }
        for &(call, u) in &starts {
            // The last barrier whose update completed before `u` was invoked.
            let k = done.partition_point(|&(ret, _)| ret < call);
            if k > 0 {
                edges.push(Edge {
                    from: chain_nodes[k - 1],
                    to: u,
                    kind: EdgeKind::RealTime,
                });
            }
        }
        self.chains.push(chain_nodes);
        self.chain_process.push(None);
        edges
    }

    /// The reads-from edges (write → read).
    pub fn rf_edges(&self) -> Vec<Edge> {
        let mut v = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(Source::Write(w)) = n.read {
                v.push(Edge {
                    from: w,
                    to: i as Node,
                    kind: EdgeKind::ReadsFrom,
                });
            }
        }
        v
    }
}

/// A written or read value as a map key: integers (what generated and most real histories
/// write) without allocating, anything else by its JSON text. Two values are equal iff their
/// JSON texts are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ValueKey {
    Int(i64),
    Text(Box<str>),
}

fn value_key(v: &Value) -> ValueKey {
    match v.as_i64() {
        Some(i) => ValueKey::Int(i),
        None => ValueKey::Text(v.to_string().into()),
    }
}

type FxMap<K, V> = crate::linear::values::FxMap<K, V>;

/// Why [`build`] refused.
enum Refusal {
    /// Vector clocks over this many chains would not fit.
    TooWide(NotDecidable),
    Other(NotDecidable),
}

impl Refusal {
    fn reason(self) -> NotDecidable {
        match self {
            Refusal::TooWide(e) | Refusal::Other(e) => e,
        }
    }
}

impl From<NotDecidable> for Refusal {
    fn from(e: NotDecidable) -> Refusal {
        Refusal::Other(e)
    }
}

/// For linked chains: each process's group (the chain it goes on), packing processes in order
/// of first invocation after groups whose last process ended (completion line, `info`
/// included) before that invocation.
fn link_processes(h: &History) -> FxMap<u64, u32> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut span: FxMap<u64, (usize, usize)> = FxMap::default();
    for op in &h.ops {
        let end = op.ret_line.unwrap_or(usize::MAX);
        let e = span.entry(op.process).or_insert((op.call_line, end));
        e.0 = e.0.min(op.call_line);
        e.1 = e.1.max(end);
    }
    let mut procs: Vec<(usize, usize, u64)> = span.iter().map(|(&p, &(s, e))| (s, e, p)).collect();
    procs.sort_unstable();
    let mut free: BinaryHeap<Reverse<(usize, u32)>> = BinaryHeap::new();
    let mut group = FxMap::default();
    let mut groups = 0u32;
    for (start, end, p) in procs {
        let g = match free.peek() {
            Some(&Reverse((e, g))) if e < start => {
                free.pop();
                g
            }
            _ => {
                groups += 1;
                groups - 1
            }
        };
        group.insert(p, g);
        free.push(Reverse((end, g)));
    }
    group
}

/// A value of a key as the builder knows it: whether an operation that happened read it, and
/// the kept operation that wrote it.
#[derive(Clone, Copy)]
struct Slot {
    read: bool,
    writer: Node,
}

const NO_SLOT: u32 = u32::MAX;

/// One table, `(key, value) → slot`, serves the whole build: reads enter their value in the
/// first pass (so each read's slot is known without a second lookup) and writes find theirs
/// in the second. At a million operations it is the one table that leaves the cache, so it is
/// probed about once per operation.
#[derive(Default)]
struct Values {
    index: FxMap<(u32, ValueKey), u32>,
    slots: Vec<Slot>,
}

impl Values {
    fn slot(&mut self, k: u32, v: &Value) -> u32 {
        let next = self.slots.len() as u32;
        let s = *self.index.entry((k, value_key(v))).or_insert(next);
        if s == next {
            self.slots.push(Slot {
                read: false,
                writer: Node::MAX,
            });
        }
        s
    }

    fn was_read(&self, k: u32, v: &ValueKey) -> bool {
        self.index
            .get(&(k, v.clone()))
            .is_some_and(|&s| self.slots[s as usize].read)
    }
}

fn build(h: &History, linked: bool) -> Result<Memory, Refusal> {
    let group = if linked {
        link_processes(h)
    } else {
        FxMap::default()
    };
    // Pass 1: which operations are register operations, and which values were read. Per
    // operation: its key's id (`NO_SLOT` when it is not ok) and the slot of the value it read.
    let mut key_ids: FxMap<&str, u32> = FxMap::default();
    let mut values = Values::default();
    let mut first: Vec<(u32, u32)> = vec![(NO_SLOT, NO_SLOT); h.ops.len()];
    for (i, op) in h.ops.iter().enumerate() {
        match op.f.as_str() {
            "read" | "write" | "cas" | "sync" => {}
            other => {
                return Err(Refusal::Other(NotDecidable(format!(
                    "operation {} on line {} has f \"{other}\", outside the read/write/cas register model these checkers decide",
                    op.describe(),
                    op.call_line
                ))))
            }
        }
        if op.status != OpStatus::Ok {
            continue;
        }
        let key = op.key.as_deref().unwrap_or("");
        let next_key = key_ids.len() as u32;
        let k = *key_ids.entry(key).or_insert(next_key);
        let read = match op.f.as_str() {
            "read" if !op.output.is_null() => Some(&op.output),
            "cas" => Some(cas_pair(op)?.0).filter(|from| !from.is_null()),
            _ => None,
        };
        let s = match read {
            Some(v) => {
                let s = values.slot(k, v);
                values.slots[s as usize].read = true;
                s
            }
            None => NO_SLOT,
        };
        first[i] = (k, s);
    }
    // An `info` cas is kept when its new value was read, and then it read its expected value
    // too: that value's writer happened as well, though no ok operation may have read it. Close
    // over such chains of `info` cases (a fixpoint: each round adds at least one value).
    let info_cas: Vec<(u32, &Value, ValueKey)> = h
        .ops
        .iter()
        .filter(|op| op.f == "cas" && op.status == OpStatus::Info)
        .filter_map(|op| {
            let k = *key_ids.get(op.key.as_deref().unwrap_or(""))?;
            let (from, to) = cas_pair(op).ok()?;
            (!from.is_null()).then(|| (k, from, value_key(to)))
        })
        .collect();
    loop {
        let mut added = false;
        for &(k, from, ref to) in &info_cas {
            if values.was_read(k, to) && !values.was_read(k, &value_key(from)) {
                let s = values.slot(k, from);
                values.slots[s as usize].read = true;
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    // Pass 2: keep the operations that happened.
    // Key ids are given again in order of first kept operation, so that `keys` lists them so.
    let key_of = |op: &Operation| key_ids.get(op.key.as_deref().unwrap_or("")).copied();
    let mut m = Memory {
        linked,
        ..Memory::default()
    };
    m.nodes.reserve(h.ops.len());
    m.readers.reserve(h.ops.len());
    let mut kept_key: Vec<u32> = vec![NO_SLOT; key_ids.len()];
    let mut chain_ids: FxMap<u64, u32> = FxMap::default();
    // (node, kept key, slot of the value read or `NO_SLOT` for the initial value), resolved
    // after all writes are known
    let mut pending_reads: Vec<(Node, u32, u32)> = Vec::new();
    for (i, op) in h.ops.iter().enumerate() {
        let key = op.key.as_deref().unwrap_or("");
        let (read_v, write_v): (Option<&Value>, Option<&Value>) = match (op.f.as_str(), op.status) {
            (_, OpStatus::Fail) => continue,
            ("read", OpStatus::Ok) => (Some(&op.output), None),
            ("read", _) => continue,
            ("sync", OpStatus::Ok) => (None, None),
            ("sync", _) => continue,
            ("write", st) => {
                if op.input.is_null() {
                    return Err(NotDecidable(format!(
                        "{} on line {} writes null, the initial value, so reads of null cannot be told apart; the history is not differentiated",
                        op.describe(),
                        op.call_line
                    )).into());
                }
                if st == OpStatus::Info
                    && !key_of(op).is_some_and(|k| values.was_read(k, &value_key(&op.input)))
                {
                    continue;
                }
                (None, Some(&op.input))
            }
            ("cas", st) => {
                let (from, to) = cas_pair(op)?;
                if to.is_null() {
                    return Err(NotDecidable(format!(
                        "{} on line {} writes null, the initial value, so reads of null cannot be told apart; the history is not differentiated",
                        op.describe(),
                        op.call_line
                    )).into());
                }
                if st == OpStatus::Info
                    && !key_of(op).is_some_and(|k| values.was_read(k, &value_key(to)))
                {
                    continue;
                }
                (Some(from), Some(to))
            }
            _ => continue,
        };
        // Every kept operation is ok or had its value read, so its key has an id.
        let k1 = match first[i].0 {
            NO_SLOT => key_of(op).unwrap_or(0),
            k => k,
        };
        if kept_key[k1 as usize] == NO_SLOT {
            kept_key[k1 as usize] = m.keys.len() as u32;
            m.keys.push(key.to_string());
            m.key_writes.push(Vec::new());
            m.init_readers.push(0);
        }
        let k = kept_key[k1 as usize];
        let next_chain = chain_ids.len() as u32;
        let link = if linked {
            group.get(&op.process).map_or(op.process, |&g| g as u64)
        } else {
            op.process
        };
        let c = *chain_ids.entry(link).or_insert(next_chain);
        if c as usize == m.chains.len() {
            m.chains.push(Vec::new());
            m.chain_process.push(Some(op.process));
        }
        let node = m.nodes.len() as Node;
        let pos = m.chains[c as usize].len() as u32;
        m.chains[c as usize].push(node);
        let is_sync = op.f == "sync";
        m.nodes.push(MemOp {
            op: Some(op.id),
            chain: c,
            pos,
            key: if is_sync { u32::MAX } else { k },
            read: None,
            writes: write_v.is_some(),
            update: write_v.is_some() || is_sync,
        });
        m.readers.push(0);
        if let Some(rv) = read_v {
            let s = match first[i].1 {
                NO_SLOT if !rv.is_null() => values.slot(k1, rv),
                s => s,
            };
            pending_reads.push((node, k, s));
        }
        if let Some(wv) = write_v {
            let s = values.slot(k1, wv) as usize;
            let other = values.slots[s].writer;
            if other != Node::MAX {
                let first = &h.ops[m.nodes[other as usize].op.unwrap_or(0)];
                return Err(NotDecidable(format!(
                    "value {wv} is written to key {key:?} twice ({} on line {} and {} on line {}); these checkers need every written value unique per key",
                    first.describe(),
                    first.call_line,
                    op.describe(),
                    op.call_line
                )).into());
            }
            values.slots[s].writer = node;
            let kw = &mut m.key_writes[k as usize];
            match kw.iter_mut().find(|cw| cw.chain == c) {
                Some(cw) => cw.writes.push((pos, node)),
                None => kw.push(ChainWrites {
                    chain: c,
                    writes: vec![(pos, node)],
                }),
            }
        }
    }
    for (node, k, s) in pending_reads {
        let src = if s == NO_SLOT {
            m.init_readers[k as usize] += 1;
            Source::Init
        } else {
            match values.slots[s as usize].writer {
                Node::MAX => Source::ThinAir,
                w => {
                    m.readers[w as usize] += 1;
                    Source::Write(w)
                }
            }
        };
        m.nodes[node as usize].read = Some(src);
    }
    // Vector clocks hold one counter per node and chain; a real-time barrier chain may double
    // the nodes and add a chain. Refuse, with the reason, rather than exhaust memory.
    let clock_bytes = (m.nodes.len() as u128) * 2 * (m.chains.len() as u128 + 1) * 4;
    if clock_bytes > MAX_CLOCK_BYTES {
        return Err(Refusal::TooWide(NotDecidable(format!(
            "vector clocks for {} operations over {} process ids would need {:.1} GiB, more than the {} GiB these checkers allow; check a shorter history or one with fewer process ids (each info completion retires a process id)",
            m.nodes.len(),
            m.chains.len(),
            clock_bytes as f64 / (1u64 << 30) as f64,
            MAX_CLOCK_BYTES >> 30
        ))));
    }
    Ok(m)
}

/// The most memory the vector clocks of one check may take.
const MAX_CLOCK_BYTES: u128 = 1 << 30;

fn cas_pair(op: &Operation) -> Result<(&Value, &Value), NotDecidable> {
    match op.input.as_array().map(|a| a.as_slice()) {
        Some([from, to]) => Ok((from, to)),
        _ => Err(NotDecidable(format!(
            "{} on line {} is a cas whose value is not [expected, new]",
            op.describe(),
            op.call_line
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `info` cas whose new value was read took effect, so the value it expected was
    /// written: by an `info` write nobody else read (a run under clock faults produced this
    /// and the causal models called the cas a thin-air read while linearizability held).
    #[test]
    fn a_kept_info_cas_keeps_the_info_write_it_read() {
        let lines = [
            r#"{"index":0,"time":1,"type":"invoke","process":0,"f":"write","key":"k","value":2}"#,
            r#"{"index":1,"time":2,"type":"info","process":0,"f":"write","key":"k","value":2}"#,
            r#"{"index":2,"time":3,"type":"invoke","process":1,"f":"cas","key":"k","value":[2,3]}"#,
            r#"{"index":3,"time":4,"type":"info","process":1,"f":"cas","key":"k","value":[2,3]}"#,
            r#"{"index":4,"time":5,"type":"invoke","process":2,"f":"read","key":"k","value":null}"#,
            r#"{"index":5,"time":6,"type":"ok","process":2,"f":"read","key":"k","value":3}"#,
        ];
        let h = histories::parse_jsonl(&lines.join("\n")).unwrap();
        let m = Memory::from_history(&h).unwrap();
        assert_eq!(
            m.nodes.len(),
            3,
            "the write, the cas and the read are all kept"
        );
        assert!(m.nodes.iter().all(|n| n.read != Some(Source::ThinAir)));
        // Without the read of 3 neither info operation is kept.
        let h = histories::parse_jsonl(&lines[..4].join("\n")).unwrap();
        assert!(Memory::from_history(&h).map_or(true, |m| m.nodes.is_empty()));
    }
}
