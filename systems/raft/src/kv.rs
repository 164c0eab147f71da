//! The replicated state machine: string keys to JSON values, with `write`, `cas` and `txn`
//! (micro-ops applied atomically as one command), and the memory of client request ids (`rid`)
//! that makes a retried request apply at most once.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::Index;

/// Who proposed a command: the node, its incarnation (random per process start, so a restarted
/// node never mistakes an old entry for its own new proposal) and a sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub node: u64,
    pub incarnation: u64,
    pub seq: u64,
}

/// A state-changing operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KvOp {
    Write {
        key: String,
        value: Value,
    },
    Cas {
        key: String,
        from: Value,
        to: Value,
    },
    /// Micro-ops applied atomically, in order.
    Txn {
        mops: Vec<MicroOp>,
    },
}

/// One micro-op of a transaction (wire form `["r", key, null]`, `["w", key, value]`,
/// `["append", key, value]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MicroOp {
    R(String),
    W(String, Value),
    Append(String, Value),
}

impl MicroOp {
    /// Reads a wire micro-op; the error says what is wrong with it.
    pub fn parse(v: &Value) -> Result<MicroOp, String> {
        let bad = || {
            format!("micro-op {v} is not [\"r\", key, null], [\"w\", key, value] or [\"append\", key, value]")
        };
        let a = v.as_array().filter(|a| a.len() == 3).ok_or_else(bad)?;
        let key = a[1].as_str().ok_or_else(bad)?.to_string();
        match a[0].as_str() {
            Some("r") => Ok(MicroOp::R(key)),
            Some("w") if !a[2].is_null() => Ok(MicroOp::W(key, a[2].clone())),
            Some("append") if !a[2].is_null() => Ok(MicroOp::Append(key, a[2].clone())),
            _ => Err(bad()),
        }
    }

    pub fn key(&self) -> &str {
        match self {
            MicroOp::R(k) | MicroOp::W(k, _) | MicroOp::Append(k, _) => k,
        }
    }

    /// The wire form, with `read` as a read's value.
    pub fn to_wire(&self, read: Value) -> Value {
        match self {
            MicroOp::R(k) => serde_json::json!(["r", k, read]),
            MicroOp::W(k, v) => serde_json::json!(["w", k, v]),
            MicroOp::Append(k, v) => serde_json::json!(["append", k, v]),
        }
    }
}

/// One log entry's command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    #[serde(flatten)]
    pub op: KvOp,
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a Command always serializes")
    }

    pub fn decode(data: &[u8]) -> Result<Command, serde_json::Error> {
        serde_json::from_slice(data)
    }
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    /// cas found `current` instead of the expected value (null = absent); nothing changed.
    CasMismatch {
        current: Value,
    },
    /// A transaction applied: each micro-op in wire form, reads filled in.
    Txn {
        results: Vec<Value>,
    },
    /// A transaction that could not apply (an append to a key holding something other than
    /// a list); nothing changed.
    TxnRejected {
        message: String,
    },
}

/// The key-value state at `applied`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Kv {
    pub applied: Index,
    data: BTreeMap<String, Value>,
    /// Outcomes of the request ids already applied.
    rids: HashMap<String, Outcome>,
}

impl Kv {
    /// The value at `key` (null when absent).
    pub fn read(&self, key: &str) -> Value {
        self.data.get(key).cloned().unwrap_or(Value::Null)
    }

    /// Applies the command of entry `index`. A rid already applied is not applied again; its
    /// first outcome is returned.
    pub fn apply(&mut self, index: Index, cmd: &Command) -> Outcome {
        self.applied = index;
        if let Some(rid) = &cmd.rid {
            if let Some(o) = self.rids.get(rid) {
                return o.clone();
            }
        }
        let outcome = match &cmd.op {
            KvOp::Write { key, value } => {
                self.set(key, value.clone());
                Outcome::Ok
            }
            KvOp::Cas { key, from, to } => {
                let current = self.read(key);
                if &current == from {
                    self.set(key, to.clone());
                    Outcome::Ok
                } else {
                    Outcome::CasMismatch { current }
                }
            }
            KvOp::Txn { mops } => self.apply_txn(mops),
        };
        if let Some(rid) = &cmd.rid {
            self.rids.insert(rid.clone(), outcome.clone());
        }
        outcome
    }

    /// Runs a transaction's micro-ops against a scratch copy of the keys they touch, each
    /// read seeing the earlier writes; installs the writes only if every micro-op applied.
    fn apply_txn(&mut self, mops: &[MicroOp]) -> Outcome {
        match self.run_txn(mops) {
            Ok((results, writes)) => {
                for (k, v) in writes {
                    self.set(&k, v);
                }
                Outcome::Txn { results }
            }
            Err(message) => Outcome::TxnRejected { message },
        }
    }

    /// What a transaction would read and write against the current state, changing nothing.
    pub fn preview_txn(&self, mops: &[MicroOp]) -> Vec<Value> {
        match self.run_txn(mops) {
            Ok((results, _)) => results,
            Err(_) => mops.iter().map(|m| m.to_wire(Value::Null)).collect(),
        }
    }

    /// The micro-ops' results and the final value of each key written, or why they cannot
    /// apply.
    #[allow(clippy::type_complexity)]
    fn run_txn(&self, mops: &[MicroOp]) -> Result<(Vec<Value>, Vec<(String, Value)>), String> {
        let mut scratch: BTreeMap<&str, Value> = BTreeMap::new();
        let mut results = Vec::with_capacity(mops.len());
        for m in mops {
            let k = m.key();
            let cur = scratch.get(k).cloned().unwrap_or_else(|| self.read(k));
            match m {
                MicroOp::R(_) => results.push(m.to_wire(cur)),
                MicroOp::W(_, v) => {
                    scratch.insert(k, v.clone());
                    results.push(m.to_wire(Value::Null));
                }
                MicroOp::Append(_, v) => {
                    let mut list = match cur {
                        Value::Null => Vec::new(),
                        Value::Array(l) => l,
                        other => {
                            return Err(format!("{k} holds {other}, not a list; cannot append"))
                        }
                    };
                    list.push(v.clone());
                    scratch.insert(k, Value::Array(list));
                    results.push(m.to_wire(Value::Null));
                }
            }
        }
        let writes = scratch
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok((results, writes))
    }

    /// An entry that is no command (a no-op, or undecodable) still advances `applied`.
    pub fn skip(&mut self, index: Index) {
        self.applied = index;
    }

    fn set(&mut self, key: &str, value: Value) {
        if value.is_null() {
            self.data.remove(key);
        } else {
            self.data.insert(key.to_string(), value);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the state always serializes")
    }

    pub fn decode(data: &[u8]) -> Result<Kv, serde_json::Error> {
        serde_json::from_slice(data)
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmd(seq: u64, rid: Option<&str>, op: KvOp) -> Command {
        Command {
            origin: Origin {
                node: 1,
                incarnation: 1,
                seq,
            },
            rid: rid.map(str::to_string),
            op,
        }
    }

    #[test]
    fn write_cas_and_dedupe() {
        let mut kv = Kv::default();
        assert_eq!(kv.read("x"), Value::Null);
        let cas_absent = KvOp::Cas {
            key: "x".into(),
            from: Value::Null,
            to: json!(1),
        };
        assert_eq!(
            kv.apply(1, &cmd(1, Some("a"), cas_absent.clone())),
            Outcome::Ok
        );
        assert_eq!(kv.read("x"), json!(1));
        // The same rid again (a retry): not applied twice, same outcome.
        assert_eq!(
            kv.apply(2, &cmd(2, Some("a"), cas_absent.clone())),
            Outcome::Ok
        );
        // A fresh cas from absent now mismatches.
        assert_eq!(
            kv.apply(3, &cmd(3, Some("b"), cas_absent)),
            Outcome::CasMismatch { current: json!(1) }
        );
        let w = KvOp::Write {
            key: "x".into(),
            value: json!(5),
        };
        kv.apply(4, &cmd(4, Some("c"), w.clone()));
        kv.apply(
            5,
            &cmd(
                5,
                None,
                KvOp::Write {
                    key: "x".into(),
                    value: json!(6),
                },
            ),
        );
        // Retrying write "c" must not bring back 5.
        kv.apply(6, &cmd(6, Some("c"), w));
        assert_eq!(kv.read("x"), json!(6));
        let back = Kv::decode(&kv.encode()).unwrap();
        assert_eq!(back.read("x"), json!(6));
        assert_eq!(back.applied, 6);
        let c = cmd(
            9,
            Some("r"),
            KvOp::Write {
                key: "k".into(),
                value: json!({"a": [1]}),
            },
        );
        assert_eq!(Command::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn txn_applies_atomically_and_reads_its_own_writes() {
        let mut kv = Kv::default();
        let txn = |mops: Vec<MicroOp>| cmd(1, None, KvOp::Txn { mops });
        let o = kv.apply(
            1,
            &txn(vec![
                MicroOp::R("x".into()),
                MicroOp::Append("x".into(), json!(1)),
                MicroOp::Append("x".into(), json!(2)),
                MicroOp::R("x".into()),
                MicroOp::W("y".into(), json!(5)),
                MicroOp::R("y".into()),
            ]),
        );
        assert_eq!(
            o,
            Outcome::Txn {
                results: vec![
                    json!(["r", "x", null]),
                    json!(["append", "x", 1]),
                    json!(["append", "x", 2]),
                    json!(["r", "x", [1, 2]]),
                    json!(["w", "y", 5]),
                    json!(["r", "y", 5]),
                ]
            }
        );
        assert_eq!(kv.read("x"), json!([1, 2]));
        // An append to a register rejects the whole transaction: x keeps its list.
        let o = kv.apply(
            2,
            &txn(vec![
                MicroOp::Append("x".into(), json!(3)),
                MicroOp::Append("y".into(), json!(1)),
            ]),
        );
        assert!(matches!(o, Outcome::TxnRejected { .. }), "{o:?}");
        assert_eq!(kv.read("x"), json!([1, 2]));
        let c = txn(vec![MicroOp::W("k".into(), json!(1))]);
        assert_eq!(Command::decode(&c.encode()).unwrap(), c);
        assert!(MicroOp::parse(&json!(["w", "k", null])).is_err());
        assert!(MicroOp::parse(&json!(["inc", "k", 1])).is_err());
        assert_eq!(
            MicroOp::parse(&json!(["append", "k", 1])),
            Ok(MicroOp::Append("k".into(), json!(1)))
        );
    }
}
