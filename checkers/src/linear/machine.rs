//! Knossos's other sequential models as state machines for the linearizability search: `mutex`
//! (acquire/release), `multi-register` (`txn`s of `[read k v]`/`[write k v]` micro-ops over
//! several registers), `set` (add, and reads of the whole set), `unordered-queue` and
//! `fifo-queue` (enqueue/dequeue).
//!
//! States are interned: each is a canonical vector of small ids (a sorted set, a sorted
//! multiset, a sequence, sorted key/value pairs) and gets a [`Val`], so the search's memo of
//! (linearized set, state) and its step function work as for registers; every transition is
//! computed once and cached. Semantics follow Knossos's `knossos.model`:
//! - mutex: acquire needs it free, release needs it held; it starts free;
//! - multi-register: registers start nil; a read of `nil` is always legal (Knossos's "we do not
//!   know what it read"), any other read must see the register's value; writes set it;
//! - set: add inserts; a read must return exactly the set's elements (as a set);
//! - unordered-queue: dequeue of `v` needs `v` pending (a multiset); fifo-queue: `v` must be the
//!   head. An `ok` dequeue returning `nil` found the queue empty. A dequeue whose outcome is
//!   unknown may have taken the head (fifo), or any pending element (unordered: it becomes one
//!   alternative per element, at most one of which is linearized — unless no dequeue ever
//!   found the queue empty, when taking an element could only get in the way and it is
//!   dropped).

use super::model::{drop_unobservable, Kind, POp, Prepared, Val, Values};
use super::values::FxMap;
use histories::{OpStatus, Operation, NEVER};
use serde_json::Value;
use std::collections::HashMap;

/// Which of Knossos's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Machine {
    Mutex,
    MultiRegister,
    Set,
    UnorderedQueue,
    FifoQueue,
}

/// One micro-op of a multi-register transaction: interned key and value (`None`: nil).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Micro {
    pub write: bool,
    pub key: u32,
    pub value: Option<u32>,
}

/// An operation of one of these models, elements interned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MOp {
    Acquire,
    Release,
    Add(u32),
    /// A read of the whole set: its elements, sorted, without repeats.
    ReadSet(Box<[u32]>),
    Enqueue(u32),
    Dequeue(u32),
    /// An `ok` dequeue that returned nil: the queue was empty.
    DequeueEmpty,
    /// A dequeue whose value is unknown: it took the head, whatever that was (fifo; unordered
    /// queues expand it into alternatives before search).
    DequeueAny,
    Txn(Box<[Micro]>),
}

impl MOp {
    /// Whether it never changes the state (so a legal one can be linearized where it is
    /// invoked, and a relaxed one dropped).
    pub fn is_query(&self) -> bool {
        match self {
            MOp::ReadSet(_) | MOp::DequeueEmpty => true,
            MOp::Txn(m) => m.iter().all(|m| !m.write),
            _ => false,
        }
    }

    /// Whether it can be illegal in some state (what an explanation centres on).
    pub fn is_conditional(&self) -> bool {
        match self {
            MOp::Add(_) | MOp::Enqueue(_) => false,
            MOp::Txn(m) => m.iter().any(|m| !m.write && m.value.is_some()),
            _ => true,
        }
    }
}

/// The interned states, operations and elements of one key under one machine.
#[derive(Debug, Clone)]
pub struct Tables {
    pub machine: Machine,
    elems: Vec<String>,
    elem_ids: HashMap<String, u32>,
    states: Vec<Box<[u32]>>,
    state_ids: HashMap<Box<[u32]>, Val>,
    ops: Vec<MOp>,
    op_ids: HashMap<MOp, u32>,
    /// (state, op) -> next state, or `NONE` when the op cannot happen there.
    steps: FxMap<(Val, u32), Val>,
    bytes: usize,
}

const NONE: Val = Val::MAX;

impl Tables {
    pub fn new(machine: Machine) -> Tables {
        let mut t = Tables {
            machine,
            elems: Vec::new(),
            elem_ids: HashMap::new(),
            states: Vec::new(),
            state_ids: HashMap::new(),
            ops: Vec::new(),
            op_ids: HashMap::new(),
            steps: FxMap::default(),
            bytes: 0,
        };
        // State 0: free, empty, all registers nil.
        t.state(Vec::new());
        t
    }

    fn elem(&mut self, v: &Value) -> u32 {
        let text = v.to_string();
        if let Some(&id) = self.elem_ids.get(&text) {
            return id;
        }
        let id = self.elems.len() as u32;
        self.bytes += 64 + 2 * text.len();
        self.elems.push(text.clone());
        self.elem_ids.insert(text, id);
        id
    }

    fn state(&mut self, s: Vec<u32>) -> Val {
        if let Some(&id) = self.state_ids.get(s.as_slice()) {
            return id;
        }
        let id = self.states.len() as Val;
        let s: Box<[u32]> = s.into_boxed_slice();
        self.bytes += 96 + 8 * s.len();
        self.states.push(s.clone());
        self.state_ids.insert(s, id);
        id
    }

    /// Interns an operation.
    pub fn op(&mut self, op: MOp) -> u32 {
        if let Some(&id) = self.op_ids.get(&op) {
            return id;
        }
        let id = self.ops.len() as u32;
        self.bytes += 96;
        self.ops.push(op.clone());
        self.op_ids.insert(op, id);
        id
    }

    pub fn get(&self, o: u32) -> &MOp {
        &self.ops[o as usize]
    }

    /// Bytes held (counted against the memory budget).
    pub fn bytes(&self) -> usize {
        self.bytes + 24 * self.steps.len()
    }

    /// The state after op `o` from state `s`, or `None` if `o` cannot happen in `s`.
    pub fn step(&mut self, s: Val, o: u32) -> Option<Val> {
        if let Some(&r) = self.steps.get(&(s, o)) {
            return (r != NONE).then_some(r);
        }
        let next = self.compute(s, o).map(|v| self.state(v));
        self.steps.insert((s, o), next.unwrap_or(NONE));
        next
    }

    fn compute(&self, s: Val, o: u32) -> Option<Vec<u32>> {
        let cur = &self.states[s as usize];
        let held = !cur.is_empty();
        match &self.ops[o as usize] {
            MOp::Acquire => (!held).then(|| vec![1]),
            MOp::Release => held.then(Vec::new),
            MOp::Add(e) => {
                let mut v = cur.to_vec();
                if let Err(p) = v.binary_search(e) {
                    v.insert(p, *e);
                }
                Some(v)
            }
            MOp::ReadSet(want) => (**cur == **want).then(|| cur.to_vec()),
            MOp::Enqueue(e) => {
                let mut v = cur.to_vec();
                if self.machine == Machine::FifoQueue {
                    v.push(*e);
                } else {
                    let p = v.partition_point(|x| x <= e);
                    v.insert(p, *e);
                }
                Some(v)
            }
            MOp::Dequeue(e) => {
                if self.machine == Machine::FifoQueue {
                    (cur.first() == Some(e)).then(|| cur[1..].to_vec())
                } else {
                    let p = cur.binary_search(e).ok()?;
                    let mut v = cur.to_vec();
                    v.remove(p);
                    Some(v)
                }
            }
            MOp::DequeueEmpty => cur.is_empty().then(Vec::new),
            MOp::DequeueAny if self.machine == Machine::FifoQueue => {
                held.then(|| cur[1..].to_vec())
            }
            MOp::DequeueAny => None,
            MOp::Txn(micros) => {
                // Sorted (key, value) pairs, flattened.
                let mut regs: Vec<(u32, u32)> = cur.chunks(2).map(|c| (c[0], c[1])).collect();
                for m in micros.iter() {
                    let at = regs.binary_search_by_key(&m.key, |r| r.0);
                    match (m.write, m.value, at) {
                        (false, None, _) => {}
                        (false, Some(v), Ok(i)) if regs[i].1 == v => {}
                        (false, Some(_), _) => return None,
                        (true, Some(v), Ok(i)) => regs[i].1 = v,
                        (true, Some(v), Err(i)) => regs.insert(i, (m.key, v)),
                        (true, None, Ok(i)) => {
                            regs.remove(i);
                        }
                        (true, None, Err(_)) => {}
                    }
                }
                Some(regs.into_iter().flat_map(|(k, v)| [k, v]).collect())
            }
        }
    }

    fn text_of(&self, e: u32) -> &str {
        &self.elems[e as usize]
    }

    /// A key or element as it reads in a sentence (strings without their quotes).
    fn bare(&self, e: u32) -> String {
        let t = self.text_of(e);
        match serde_json::from_str::<Value>(t) {
            Ok(Value::String(s)) => s,
            _ => t.to_string(),
        }
    }

    fn list(&self, es: &[u32]) -> String {
        let parts: Vec<&str> = es.iter().map(|&e| self.text_of(e)).collect();
        format!("[{}]", parts.join(", "))
    }

    /// A state as it reads in a sentence.
    pub fn state_text(&self, s: Val) -> String {
        let cur = &self.states[s as usize];
        match self.machine {
            Machine::Mutex => if cur.is_empty() { "free" } else { "held" }.into(),
            Machine::MultiRegister => {
                let parts: Vec<String> = cur
                    .chunks(2)
                    .map(|c| format!("{}={}", self.bare(c[0]), self.text_of(c[1])))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            _ => self.list(cur),
        }
    }

    /// What the model is called in a sentence: "the mutex", "the set", …
    pub fn subject(&self) -> &'static str {
        match self.machine {
            Machine::Mutex => "the mutex",
            Machine::MultiRegister => "the registers",
            Machine::Set => "the set",
            Machine::UnorderedQueue | Machine::FifoQueue => "the queue",
        }
    }

    /// An operation as it reads after "process 3's": `dequeue returned 5`.
    pub fn op_text(&self, o: u32) -> String {
        match &self.ops[o as usize] {
            MOp::Acquire => "acquire of the mutex".into(),
            MOp::Release => "release of the mutex".into(),
            MOp::Add(e) => format!("add of {}", self.text_of(*e)),
            MOp::ReadSet(es) => format!("read of the set returned {}", self.list(es)),
            MOp::Enqueue(e) => format!("enqueue of {}", self.text_of(*e)),
            MOp::Dequeue(e) => format!("dequeue returned {}", self.text_of(*e)),
            MOp::DequeueEmpty => "dequeue found the queue empty".into(),
            MOp::DequeueAny => "dequeue (value unknown)".into(),
            MOp::Txn(ms) => {
                let parts: Vec<String> = ms
                    .iter()
                    .map(|m| {
                        let v = m
                            .value
                            .map_or("nil".to_string(), |v| self.text_of(v).to_string());
                        let f = if m.write { "write" } else { "read" };
                        format!("{f} {} {v}", self.bare(m.key))
                    })
                    .collect();
                format!("txn [{}]", parts.join(", "))
            }
        }
    }
}

/// The value an operation's effect is read from: the completion's for an `ok` one (what a read
/// or dequeue returned, a transaction with its reads filled in), else the invocation's.
fn effective(op: &Operation) -> &Value {
    if op.status == OpStatus::Ok && !op.output.is_null() {
        &op.output
    } else {
        &op.input
    }
}

/// Checks that an operation has the shape its model needs; the error names its line.
pub fn validate(machine: Machine, op: &Operation) -> Result<(), String> {
    let line = op.call_line;
    match (machine, op.f.as_str()) {
        (Machine::Set, "read") if op.status == OpStatus::Ok && !op.output.is_array() => {
            Err(format!(
                "line {line}: a set read must return a collection of elements, not {}",
                op.output
            ))
        }
        (Machine::MultiRegister, "txn") => micros_of(effective(op))
            .map(|_| ())
            .map_err(|e| format!("line {line}: {e}")),
        _ => Ok(()),
    }
}

/// A transaction's micro-ops as (write?, key, value).
fn micros_of(v: &Value) -> Result<Vec<(bool, &Value, &Value)>, String> {
    let Value::Array(ms) = v else {
        return Err(format!(
            "a txn's value must be a list of [read k v] / [write k v] micro-ops, not {v}"
        ));
    };
    ms.iter()
        .map(|m| match m.as_array().map(Vec::as_slice) {
            Some([Value::String(f), k, v]) => match f.as_str() {
                "read" | "r" => Ok((false, k, v)),
                "write" | "w" => Ok((true, k, v)),
                other => Err(format!(
                    "micro-op {other:?} is not part of the multi-register model (it knows read and write)"
                )),
            },
            _ => Err(format!("micro-op {m} must be [read k v] or [write k v]")),
        })
        .collect()
}

/// Converts one operation (already validated, not `fail`); `None` when it is an `info` that
/// can only be taken never to have happened (an `info` read, an unordered `info` dequeue).
pub fn prepare(t: &mut Tables, op: &Operation) -> Result<Option<MOp>, String> {
    let required = op.status == OpStatus::Ok;
    let line = op.call_line;
    let m = match (t.machine, op.f.as_str()) {
        (Machine::Mutex, "acquire") => MOp::Acquire,
        (Machine::Mutex, "release") => MOp::Release,
        (Machine::Set, "add") => MOp::Add(t.elem(effective(op))),
        (Machine::Set, "read") if !required => return Ok(None),
        (Machine::Set, "read") => {
            let Value::Array(items) = &op.output else {
                return Err(format!(
                    "line {line}: a set read must return a collection of elements"
                ));
            };
            let mut es: Vec<u32> = items.iter().map(|v| t.elem(v)).collect();
            es.sort_unstable();
            es.dedup();
            MOp::ReadSet(es.into_boxed_slice())
        }
        (Machine::UnorderedQueue | Machine::FifoQueue, "enqueue") => {
            MOp::Enqueue(t.elem(effective(op)))
        }
        (Machine::UnorderedQueue | Machine::FifoQueue, "dequeue") => {
            let v = effective(op);
            match (required, v.is_null(), t.machine) {
                (true, true, _) => MOp::DequeueEmpty,
                (_, false, _) => MOp::Dequeue(t.elem(v)),
                (false, true, _) => MOp::DequeueAny,
            }
        }
        (Machine::MultiRegister, "txn") => {
            let micros = micros_of(effective(op)).map_err(|e| format!("line {line}: {e}"))?;
            let ms: Vec<Micro> = micros
                .into_iter()
                .map(|(write, k, v)| Micro {
                    write,
                    key: t.elem(k),
                    value: (!v.is_null()).then(|| t.elem(v)),
                })
                .collect();
            let m = MOp::Txn(ms.into_boxed_slice());
            if !required && m.is_query() {
                return Ok(None);
            }
            m
        }
        (_, f) => {
            return Err(format!(
                "line {line}: operation {f:?} is not part of this model"
            ))
        }
    };
    Ok(Some(m))
}

/// Whether an optional operation can be dropped because no required operation could observe
/// it: an add of an element no read contains (a read must return the set exactly, so the add
/// could only come after every read), an enqueue of an element no dequeue returns (it can only
/// get in the way).
pub fn unobservable(t: &Tables, o: u32, required: &[u32]) -> bool {
    match t.get(o) {
        MOp::Add(e) => !required
            .iter()
            .any(|&r| matches!(t.get(r), MOp::ReadSet(es) if es.binary_search(e).is_ok())),
        MOp::Enqueue(e) => !required
            .iter()
            .any(|&r| matches!(t.get(r), MOp::Dequeue(x) if x == e)),
        _ => false,
    }
}

/// Prepares one key's operations for search (see [`super::model::prepare`]).
pub fn prepare_key(m: Machine, ops: &[&Operation]) -> Result<Prepared, String> {
    let mut values = Values::with_machine(m);
    let mut t = Tables::new(m);
    let mut out: Vec<POp> = Vec::with_capacity(ops.len());
    let mut dropped = 0;
    // Unordered `info` dequeues of unknown value, expanded below.
    let mut wildcards: Vec<&Operation> = Vec::new();
    for op in ops {
        if op.status == OpStatus::Fail {
            dropped += 1;
            continue;
        }
        let Some(mop) = prepare(&mut t, op)? else {
            dropped += 1;
            continue;
        };
        if mop == MOp::DequeueAny && m == Machine::UnorderedQueue {
            wildcards.push(op);
            continue;
        }
        out.push(pop(&mut t, op, mop, None));
    }
    if !wildcards.is_empty() {
        let empties = out.iter().any(|o| {
            o.required && matches!(o.kind, Kind::Query(x) if *t.get(x) == MOp::DequeueEmpty)
        });
        let mut elems: Vec<u32> = out
            .iter()
            .filter_map(|o| match o.kind {
                Kind::Op(x) => match t.get(x) {
                    MOp::Enqueue(e) => Some(*e),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        elems.sort_unstable();
        elems.dedup();
        if !empties {
            // Taking an element can only make a later dequeue of it impossible.
            dropped += wildcards.len();
        } else {
            const MAX_ALTERNATIVES: usize = 4096;
            if wildcards.len().saturating_mul(elems.len()) > MAX_ALTERNATIVES {
                return Err(format!(
                    "{} dequeues of unknown outcome, each of which may have taken any of {} elements, are more alternatives than the unordered-queue search takes ({MAX_ALTERNATIVES})",
                    wildcards.len(),
                    elems.len()
                ));
            }
            for (g, op) in wildcards.into_iter().enumerate() {
                for &e in &elems {
                    out.push(pop(&mut t, op, MOp::Dequeue(e), Some(g as u32)));
                }
            }
            out.sort_by_key(|o| o.call);
        }
    }
    values.machine = Some(Box::new(t));
    let before = out.len();
    drop_unobservable(&mut out, &values);
    dropped += before - out.len();
    Ok(Prepared {
        ops: out,
        values,
        dropped,
    })
}

fn pop(t: &mut Tables, op: &Operation, mop: MOp, group: Option<u32>) -> POp {
    let query = mop.is_query();
    let id = t.op(mop);
    let required = op.status == OpStatus::Ok;
    POp {
        id: op.id,
        call: op.call,
        ret: if required { op.ret } else { NEVER },
        required,
        kind: if query { Kind::Query(id) } else { Kind::Op(id) },
        group,
    }
}
