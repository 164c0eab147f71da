//! An in-process system: a map behind a mutex. No network, no replication, no faults; it exists
//! to measure what the harness itself costs (journaling, generators, rate limiting).

use crate::client::Client;
use histories::Event;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The shared state of the in-process system.
#[derive(Debug, Default, Clone)]
pub struct MemorySystem {
    map: Arc<Mutex<HashMap<String, Value>>>,
    set: Arc<Mutex<Vec<Value>>>,
}

impl MemorySystem {
    pub fn client(&self) -> MemoryClient {
        MemoryClient { sys: self.clone() }
    }
}

pub struct MemoryClient {
    sys: MemorySystem,
}

impl MemoryClient {
    fn apply(&self, inv: &Event) -> Event {
        let key = inv.key.clone().unwrap_or_default();
        match inv.f.as_str() {
            "read" if inv.key.is_none() => inv.ok(Value::Array(
                self.sys
                    .set
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
            )),
            "add" => {
                self.sys
                    .set
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(inv.value.clone());
                inv.ok(inv.value.clone())
            }
            "read" => inv.ok(self
                .sys
                .map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned()
                .unwrap_or(Value::Null)),
            "write" => {
                self.sys
                    .map
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, inv.value.clone());
                inv.ok(inv.value.clone())
            }
            "cas" => {
                let from = inv.value.get(0).cloned().unwrap_or(Value::Null);
                let to = inv.value.get(1).cloned().unwrap_or(Value::Null);
                let mut m = self.sys.map.lock().unwrap_or_else(|e| e.into_inner());
                let cur = m.get(&key).cloned().unwrap_or(Value::Null);
                if cur == from {
                    m.insert(key, to);
                    inv.ok(inv.value.clone())
                } else {
                    inv.fail(wire::code::CAS_MISMATCH)
                }
            }
            "txn" => {
                // Atomic under the map's lock; reads see the transaction's earlier writes.
                let mut m = self.sys.map.lock().unwrap_or_else(|e| e.into_inner());
                let mut out = Vec::new();
                for mop in inv.value.as_array().into_iter().flatten() {
                    let (f, k, v) = (
                        mop[0].as_str().unwrap_or(""),
                        mop[1].as_str().unwrap_or(""),
                        &mop[2],
                    );
                    match f {
                        "r" => {
                            let cur = m.get(k).cloned().unwrap_or(Value::Null);
                            out.push(serde_json::json!(["r", k, cur]));
                        }
                        "append" => {
                            let mut l = match m.get(k) {
                                Some(Value::Array(l)) => l.clone(),
                                _ => Vec::new(),
                            };
                            l.push(v.clone());
                            m.insert(k.to_string(), Value::Array(l));
                            out.push(mop.clone());
                        }
                        _ => {
                            m.insert(k.to_string(), v.clone());
                            out.push(mop.clone());
                        }
                    }
                }
                inv.ok(Value::Array(out))
            }
            other => inv.fail(format!("no {other} operation")),
        }
    }
}

impl Client for MemoryClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        // Nothing here waits: yield so that a worker cannot monopolise its runtime thread.
        tokio::task::yield_now().await;
        self.apply(inv).on("local")
    }
}
