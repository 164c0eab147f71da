//! The vocabulary of two-phase commit: transaction ids, micro-ops and how a shard executes
//! them, the messages between coordinator and participants, and the durable records of each.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A process of the system: the coordinator or a participant (1, 2, …).
pub type NodeId = u64;

/// A transaction attempt: the coordinator's durable epoch (one per start) and a counter, so
/// that no two attempts ever share an id, across restarts too. Ordered by age.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxnId {
    pub epoch: u64,
    pub seq: u64,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epoch, self.seq)
    }
}

/// JSON values inside messages and records travel as JSON text: raft's frames are bincode,
/// which cannot carry a self-describing value.
mod json_text {
    use serde::de::{DeserializeOwned, Error};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(D::Error::custom)
    }
}

/// One micro-op of a transaction, on one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MicroOp {
    /// Read the key (null when absent).
    R(String),
    /// Write a value.
    W(String, #[serde(with = "json_text")] Value),
    /// Add an integer to the key's integer (absent is 0); a result below zero makes the shard
    /// vote no (a bank account may not go negative).
    Add(String, i64),
    /// Append to the key's list (absent is the empty list).
    Append(String, #[serde(with = "json_text")] Value),
    /// Write the value only if the key is absent (a bank's opening balances).
    Init(String, #[serde(with = "json_text")] Value),
}

impl MicroOp {
    /// Parses a wire micro-op: `["r", k, null]`, `["w", k, v]`, `["add", k, n]`,
    /// `["append", k, v]` or `["init", k, v]`.
    pub fn parse(v: &Value) -> Result<MicroOp, String> {
        let bad =
            || format!("micro-op {v} is not [f, key, value] with f r, w, add, append or init");
        let a = v.as_array().filter(|a| a.len() == 3).ok_or_else(bad)?;
        let key = a[1].as_str().ok_or_else(bad)?.to_string();
        Ok(match a[0].as_str().ok_or_else(bad)? {
            "r" => MicroOp::R(key),
            "w" => MicroOp::W(key, a[2].clone()),
            "append" => MicroOp::Append(key, a[2].clone()),
            "init" => MicroOp::Init(key, a[2].clone()),
            "add" => MicroOp::Add(
                key,
                a[2].as_i64()
                    .ok_or_else(|| format!("micro-op {v}: add needs an integer"))?,
            ),
            _ => return Err(bad()),
        })
    }

    pub fn key(&self) -> &str {
        match self {
            MicroOp::R(k)
            | MicroOp::W(k, _)
            | MicroOp::Add(k, _)
            | MicroOp::Append(k, _)
            | MicroOp::Init(k, _) => k,
        }
    }

    /// The micro-op as the wire writes it; a read carries `read`.
    pub fn to_wire(&self, read: Value) -> Value {
        match self {
            MicroOp::R(k) => json!(["r", k, read]),
            MicroOp::W(k, v) => json!(["w", k, v]),
            MicroOp::Add(k, n) => json!(["add", k, n]),
            MicroOp::Append(k, v) => json!(["append", k, v]),
            MicroOp::Init(k, v) => json!(["init", k, v]),
        }
    }
}

/// What a shard's part of a transaction does, executed against its store at prepare time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// Each micro-op's read value (null for non-reads), in order.
    #[serde(with = "json_text")]
    pub reads: Vec<Value>,
    /// The final value of every key written.
    #[serde(with = "json_text")]
    pub writes: BTreeMap<String, Value>,
    /// Every key the part touches, sorted: all locked until the decision.
    pub keys: Vec<String>,
}

/// Executes `ops` against `store` (reads see the transaction's own earlier writes). `Err` is
/// why the shard refuses (it votes no).
pub fn execute(store: &BTreeMap<String, Value>, ops: &[MicroOp]) -> Result<Effect, String> {
    let mut e = Effect::default();
    for op in ops {
        let cur = e
            .writes
            .get(op.key())
            .or_else(|| store.get(op.key()))
            .cloned()
            .unwrap_or(Value::Null);
        let (read, new) = match op {
            MicroOp::R(_) => (cur, None),
            MicroOp::W(_, v) => (Value::Null, Some(v.clone())),
            MicroOp::Init(_, v) => (Value::Null, cur.is_null().then(|| v.clone())),
            MicroOp::Add(k, n) => {
                let have = match &cur {
                    Value::Null => 0,
                    v => v
                        .as_i64()
                        .ok_or_else(|| format!("{k} holds {v}, not an integer"))?,
                };
                let sum = have
                    .checked_add(*n)
                    .ok_or_else(|| format!("{k}: {have} + {n} overflows"))?;
                if sum < 0 {
                    return Err(format!(
                        "{k} holds {have}; adding {n} would make it negative"
                    ));
                }
                (Value::Null, Some(json!(sum)))
            }
            MicroOp::Append(k, v) => {
                let mut list = match cur {
                    Value::Null => Vec::new(),
                    Value::Array(a) => a,
                    other => return Err(format!("{k} holds {other}, not a list")),
                };
                list.push(v.clone());
                (Value::Null, Some(Value::Array(list)))
            }
        };
        e.reads.push(read);
        if let Some(v) = new {
            e.writes.insert(op.key().to_string(), v);
        }
    }
    e.keys = ops.iter().map(|o| o.key().to_string()).collect();
    e.keys.sort();
    e.keys.dedup();
    Ok(e)
}

/// A message between the coordinator and a participant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// Phase one: lock and execute this shard's micro-ops, persist, and vote.
    Prepare {
        txn: TxnId,
        ops: Vec<MicroOp>,
    },
    /// A participant's vote; a yes carries its reads, a no why.
    Vote {
        txn: TxnId,
        yes: bool,
        #[serde(with = "json_text")]
        reads: Vec<Value>,
        reason: String,
    },
    /// Phase two: the coordinator's decision.
    Decision {
        txn: TxnId,
        commit: bool,
    },
    /// A participant applied (or dropped) a decision.
    Ack {
        txn: TxnId,
    },
    /// An in-doubt participant asks for the decision.
    Query {
        txn: TxnId,
    },
    /// The coordinator checks that a shard is reachable; the shard answers `Pong`.
    Ping,
    Pong,
}

/// The coordinator's durable records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CoordRecord {
    /// A new epoch began (persisted before any of its transactions is prepared).
    Epoch(u64),
    /// The commit decision, persisted before anyone hears of it.
    Commit {
        txn: TxnId,
        participants: Vec<NodeId>,
    },
    /// Every participant acknowledged the commit: the transaction can be forgotten.
    End(TxnId),
}

/// A participant's durable records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PartRecord {
    /// Prepared (persisted before voting yes): the effect to apply on commit.
    Prepared { txn: TxnId, effect: Effect },
    /// The decision (persisted before it is acknowledged).
    Decided { txn: TxnId, commit: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_execute_in_order_and_refuse_negative_balances() {
        let mut store = BTreeMap::new();
        store.insert("a".to_string(), json!(3));
        let ops: Vec<MicroOp> = [
            json!(["r", "a", null]),
            json!(["add", "a", -2]),
            json!(["r", "a", null]),
            json!(["init", "a", 100]),
            json!(["init", "b", 7]),
            json!(["append", "l", 1]),
        ]
        .iter()
        .map(|v| MicroOp::parse(v).unwrap())
        .collect();
        let e = execute(&store, &ops).unwrap();
        assert_eq!(e.reads[0], json!(3));
        assert_eq!(e.reads[2], json!(1));
        assert_eq!(e.writes["a"], json!(1));
        assert_eq!(e.writes["b"], json!(7));
        assert_eq!(e.writes["l"], json!([1]));
        let err = execute(&store, &[MicroOp::Add("a".into(), -4)]).unwrap_err();
        assert!(err.contains("negative"), "{err}");
        assert!(MicroOp::parse(&json!(["add", "a", "x"])).is_err());
        assert!(MicroOp::parse(&json!(["cas", "a", 1])).is_err());
        assert_eq!(ops[1].to_wire(Value::Null), json!(["add", "a", -2]));
        // Values survive raft's bincode frames.
        let rec = PartRecord::Prepared {
            txn: TxnId { epoch: 1, seq: 1 },
            effect: e,
        };
        let (back, _) = raft::frame::decode::<PartRecord>(&raft::frame::encode(&rec)).unwrap();
        assert_eq!(back, rec);
        let m = Message {
            from: 1,
            to: 2,
            body: Body::Prepare {
                txn: TxnId { epoch: 1, seq: 1 },
                ops: ops.clone(),
            },
        };
        let (back, _) = raft::frame::decode::<Message>(&raft::frame::encode(&m)).unwrap();
        assert_eq!(back, m);
    }
}
