//! The raft adapter: Contract 2 `read`, `write`, `cas` and `txn` map one to one onto the
//! register and transaction ops (a `txn`'s completion carries the node's micro-ops with every
//! read's value).
//! The set workload keeps its elements in a few shard keys holding JSON arrays, and adds with a
//! read-then-cas loop.

use crate::client::{completion_for_error, with_meta, CallError, Client, Endpoint, Session};
use histories::Event;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wire::{code, Op};

/// How many keys hold the set's elements.
pub const SET_SHARDS: u64 = 8;

pub fn set_shard_key(shard: u64) -> String {
    format!("set-{shard}")
}

pub struct RaftClient {
    session: Session,
    timeout: Duration,
}

impl RaftClient {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        RaftClient {
            session: Session::new(endpoint, timeout),
            timeout,
        }
    }

    fn node(&self) -> String {
        self.session.endpoint.name.clone()
    }

    async fn add(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let Some(e) = inv.value.as_u64() else {
            return inv.fail("set elements must be integers").on(&node);
        };
        let key = set_shard_key(e % SET_SHARDS);
        let deadline = Instant::now() + self.timeout * 2;
        loop {
            let current = match self.session.call(Op::Read { key: key.clone() }).await {
                Ok(r) => r.get("value").cloned().unwrap_or(Value::Null),
                // Nothing was written yet: any read error means the add did not happen.
                Err(CallError::Indefinite(c)) | Err(CallError::Definite(c)) => {
                    return inv.fail(c).on(&node)
                }
                Err(CallError::Timeout) => return inv.fail("read before add timed out").on(&node),
                Err(CallError::Connect(m)) | Err(CallError::Io(m)) => return inv.fail(m).on(&node),
            };
            let mut elems = match &current {
                Value::Null => Vec::new(),
                Value::Array(a) => a.clone(),
                other => {
                    return inv
                        .fail(format!("set shard {key} holds {other}, not an array"))
                        .on(&node)
                }
            };
            elems.push(json!(e));
            let op = Op::Cas {
                key: key.clone(),
                from: current,
                to: Value::Array(elems),
            };
            match self.session.call(op).await {
                Ok(r) => return with_meta(inv.ok(inv.value.clone()).on(&node), &r),
                Err(CallError::Definite(c)) if c == code::CAS_MISMATCH => {
                    if Instant::now() >= deadline {
                        return inv.fail("cas contention: gave up").on(&node);
                    }
                }
                Err(e) => return completion_for_error(inv, e, &node),
            }
        }
    }

    async fn read_set(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let mut all = Vec::new();
        for s in 0..SET_SHARDS {
            match self
                .session
                .call(Op::Read {
                    key: set_shard_key(s),
                })
                .await
            {
                Ok(r) => match r.get("value") {
                    Some(Value::Array(a)) => all.extend(a.iter().cloned()),
                    Some(Value::Null) | None => {}
                    Some(other) => {
                        return inv
                            .fail(format!("set shard {s} holds {other}, not an array"))
                            .on(&node)
                    }
                },
                Err(e) => return completion_for_error(inv, e, &node),
            }
        }
        inv.ok(Value::Array(all)).on(&node)
    }
}

impl Client for RaftClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let key = inv.key.clone().unwrap_or_default();
        let op = match inv.f.as_str() {
            "read" if inv.key.is_none() => return self.read_set(inv).await,
            "add" => return self.add(inv).await,
            "read" => Op::Read { key },
            "write" => Op::Write {
                key,
                value: inv.value.clone(),
            },
            "txn" => Op::Txn {
                txn: inv.value.as_array().cloned().unwrap_or_default(),
            },
            "cas" => Op::Cas {
                key,
                from: inv.value.get(0).cloned().unwrap_or(Value::Null),
                to: inv.value.get(1).cloned().unwrap_or(Value::Null),
            },
            other => return inv.fail(format!("raft has no {other} operation")).on(&node),
        };
        match self.session.call(op).await {
            Ok(r) => {
                let value = if inv.f == "read" {
                    r.get("value").cloned().unwrap_or(Value::Null)
                } else if inv.f == "txn" {
                    r.get("txn").cloned().unwrap_or(Value::Null)
                } else {
                    inv.value.clone()
                };
                with_meta(inv.ok(value).on(&node), &r)
            }
            Err(e) => completion_for_error(inv, e, &node),
        }
    }
}
