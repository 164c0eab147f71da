//! The history seen as transactions: each `txn` operation's micro-ops (`["r", k, v]`,
//! `["w", k, v]`, `["append", k, v]`), keys and values interned as small integers.
//!
//! An `ok` transaction's micro-ops come from its completion (reads carry what they returned); an
//! `info` or `fail` transaction's from its invocation (its reads are unknown). A key that is
//! appended to is a list; a key that is written is a register; a key with both is an error.

use histories::{History, OpStatus, Operation};
use serde_json::Value;
use std::collections::HashMap;

/// A transaction's position in [`TxnHistory::txns`].
pub type TxnId = u32;
/// An interned key.
pub type KeyId = u32;
/// An interned value (an appended element or a written register value).
pub type ValId = u32;

/// What a micro-op does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MopKind {
    Read,
    Write,
    Append,
}

/// What a micro-op carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MopValue {
    /// The value written or appended.
    Val(ValId),
    /// A register read's result; `None` is the initial (absent) state.
    Reg(Option<ValId>),
    /// A list read's result (`null` read as the empty list).
    List(Box<[ValId]>),
    /// A read of an `info` or `fail` transaction: its result is unknown.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Mop {
    pub kind: MopKind,
    pub key: KeyId,
    pub value: MopValue,
}

/// One transaction: a `txn` operation of the history.
#[derive(Debug, Clone)]
pub struct Txn {
    /// Its position in `History::ops`.
    pub op: usize,
    pub process: u64,
    pub status: OpStatus,
    /// Positions of the invocation and completion events (`NEVER` when there is none).
    pub call: u64,
    pub ret: u64,
    pub mops: Vec<Mop>,
}

impl Txn {
    /// The value this transaction last wrote (or appended) to `key`, and that micro-op's index.
    pub fn final_write(&self, key: KeyId) -> Option<(usize, ValId)> {
        self.mops
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, m)| match (m.kind, &m.value) {
                (MopKind::Write | MopKind::Append, MopValue::Val(v)) if m.key == key => {
                    Some((i, *v))
                }
                _ => None,
            })
    }
}

/// Whether keys hold lists or registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    List,
    Register,
}

/// The transactions of a history, with the interning tables.
#[derive(Debug, Clone)]
pub struct TxnHistory {
    pub txns: Vec<Txn>,
    pub keys: Vec<String>,
    pub key_types: Vec<KeyType>,
    pub values: Vec<Value>,
}

impl TxnHistory {
    /// Reads every operation of `h` as a transaction. The error is one sentence naming the line.
    pub fn from_history(h: &History) -> Result<TxnHistory, String> {
        let mut b = Interner::default();
        let mut txns = Vec::with_capacity(h.ops.len());
        let mut kinds: Vec<(bool, bool, bool)> = Vec::new(); // appended, written, list-read
        for op in &h.ops {
            if op.f != "txn" {
                return Err(format!(
                    "line {}: operation f={} is not a transaction; the transaction checker reads histories whose operations all have f \"txn\"",
                    op.call_line, op.f
                ));
            }
            let src = if op.status == OpStatus::Ok {
                &op.output
            } else {
                &op.input
            };
            let line = if op.status == OpStatus::Ok {
                op.ret_line.unwrap_or(op.call_line)
            } else {
                op.call_line
            };
            let mops = parse_mops(src, op, line, &mut b, &mut kinds)?;
            txns.push(Txn {
                op: op.id,
                process: op.process,
                status: op.status,
                call: op.call,
                ret: op.ret,
                mops,
            });
        }
        let mut key_types = Vec::with_capacity(b.keys.len());
        for (k, &(appended, written, list_read)) in kinds.iter().enumerate() {
            if appended && written {
                return Err(format!(
                    "key {} is both appended to and written; a key must be a list (append) or a register (w), not both",
                    b.keys[k]
                ));
            }
            key_types.push(if appended || (list_read && !written) {
                KeyType::List
            } else {
                KeyType::Register
            });
        }
        let mut th = TxnHistory {
            txns,
            keys: b.keys,
            key_types,
            values: b.values,
        };
        th.type_reads(h)?;
        Ok(th)
    }

    /// Turns each read's raw result into a list or register result by its key's type.
    fn type_reads(&mut self, h: &History) -> Result<(), String> {
        for t in &mut self.txns {
            for m in &mut t.mops {
                if m.kind != MopKind::Read {
                    continue;
                }
                let ty = self.key_types[m.key as usize];
                match (&m.value, ty) {
                    (MopValue::Reg(Some(v)), KeyType::List) => {
                        let op = &h.ops[t.op];
                        return Err(format!(
                            "line {}: a read of list key {} returned {}, which is not a list",
                            op.ret_line.unwrap_or(op.call_line),
                            self.keys[m.key as usize],
                            self.values[*v as usize]
                        ));
                    }
                    (MopValue::Reg(None), KeyType::List) => m.value = MopValue::List(Box::new([])),
                    (MopValue::List(l), KeyType::Register) => {
                        let op = &h.ops[t.op];
                        return Err(format!(
                            "line {}: a read of register key {} returned a list of {} elements; registers are read as single values",
                            op.ret_line.unwrap_or(op.call_line),
                            self.keys[m.key as usize],
                            l.len()
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    pub fn key(&self, k: KeyId) -> &str {
        &self.keys[k as usize]
    }

    pub fn value(&self, v: ValId) -> &Value {
        &self.values[v as usize]
    }

    /// The micro-ops of `t` as text: `append x 3, r y [1 2]`.
    pub fn mops_text(&self, t: &Txn) -> String {
        t.mops
            .iter()
            .map(|m| self.mop_text(m))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn mop_text(&self, m: &Mop) -> String {
        let k = self.key(m.key);
        match (&m.kind, &m.value) {
            (MopKind::Append, MopValue::Val(v)) => format!("append {k} {}", self.value(*v)),
            (MopKind::Write, MopValue::Val(v)) => format!("w {k} {}", self.value(*v)),
            (_, MopValue::Reg(None)) => format!("r {k} nil"),
            (_, MopValue::Reg(Some(v))) => format!("r {k} {}", self.value(*v)),
            (_, MopValue::List(l)) => format!("r {k} {}", self.list_text(l)),
            (_, _) => format!("r {k} ?"),
        }
    }

    /// `[1 2 3]`, long lists shortened to their first and last elements.
    pub fn list_text(&self, l: &[ValId]) -> String {
        let show = |s: &[ValId]| {
            s.iter()
                .map(|v| self.value(*v).to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        if l.len() <= 12 {
            format!("[{}]", show(l))
        } else {
            format!(
                "[{} … ({} more) … {}]",
                show(&l[..4]),
                l.len() - 8,
                show(&l[l.len() - 4..])
            )
        }
    }
}

#[derive(Default)]
struct Interner {
    keys: Vec<String>,
    key_ids: HashMap<String, KeyId>,
    values: Vec<Value>,
    int_ids: HashMap<i64, ValId>,
    other_ids: HashMap<String, ValId>,
}

impl Interner {
    fn key(&mut self, v: &Value, kinds: &mut Vec<(bool, bool, bool)>) -> KeyId {
        let s = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(&k) = self.key_ids.get(&s) {
            return k;
        }
        let k = self.keys.len() as KeyId;
        self.keys.push(s.clone());
        self.key_ids.insert(s, k);
        kinds.push((false, false, false));
        k
    }

    fn value(&mut self, v: &Value) -> ValId {
        if let Some(i) = v.as_i64() {
            if let Some(&id) = self.int_ids.get(&i) {
                return id;
            }
            let id = self.values.len() as ValId;
            self.values.push(v.clone());
            self.int_ids.insert(i, id);
            return id;
        }
        let s = v.to_string();
        if let Some(&id) = self.other_ids.get(&s) {
            return id;
        }
        let id = self.values.len() as ValId;
        self.values.push(v.clone());
        self.other_ids.insert(s, id);
        id
    }
}

fn parse_mops(
    src: &Value,
    op: &Operation,
    line: usize,
    b: &mut Interner,
    kinds: &mut Vec<(bool, bool, bool)>,
) -> Result<Vec<Mop>, String> {
    let Value::Array(items) = src else {
        return Err(format!(
            "line {line}: a txn's value must be a list of micro-ops such as [\"r\", \"x\", null], found {src}"
        ));
    };
    let known = op.status == OpStatus::Ok;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let bad = || {
            format!(
                "line {line}: micro-op {} is {item}; expected [\"r\", key, value], [\"w\", key, value] or [\"append\", key, value]",
                i + 1
            )
        };
        let Value::Array(parts) = item else {
            return Err(bad());
        };
        if parts.len() != 3 {
            return Err(bad());
        }
        let f = parts[0].as_str().ok_or_else(bad)?;
        let key = b.key(&parts[1], kinds);
        let v = &parts[2];
        let k = key as usize;
        let (kind, value) = match f {
            "r" | "read" => {
                let value = if !known {
                    MopValue::Unknown
                } else {
                    match v {
                        Value::Null => MopValue::Reg(None),
                        Value::Array(xs) => {
                            kinds[k].2 = true;
                            MopValue::List(xs.iter().map(|x| b.value(x)).collect())
                        }
                        other => MopValue::Reg(Some(b.value(other))),
                    }
                };
                (MopKind::Read, value)
            }
            "w" | "write" => {
                kinds[k].1 = true;
                (MopKind::Write, MopValue::Val(b.value(v)))
            }
            "append" => {
                kinds[k].0 = true;
                (MopKind::Append, MopValue::Val(b.value(v)))
            }
            _ => return Err(bad()),
        };
        if matches!(kind, MopKind::Write | MopKind::Append) && v.is_null() {
            return Err(format!(
                "line {line}: micro-op {} writes null to {}; null stands for the initial state, write a value",
                i + 1,
                b.keys[k]
            ));
        }
        out.push(Mop { kind, key, value });
    }
    Ok(out)
}
