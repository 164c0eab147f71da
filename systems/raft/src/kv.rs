//! The replicated state machine: string keys to JSON values, with `write` and `cas`, and the
//! memory of client request ids (`rid`) that makes a retried request apply at most once.

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
    Write { key: String, value: Value },
    Cas { key: String, from: Value, to: Value },
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
        };
        if let Some(rid) = &cmd.rid {
            self.rids.insert(rid.clone(), outcome.clone());
        }
        outcome
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
}
