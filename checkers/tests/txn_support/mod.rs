//! Shared by the transaction checker's tests: a JSONL builder for hand-made histories,
//! simulated stores for random ones, and brute-force oracles.
#![allow(dead_code)]

pub mod oracle;
pub mod store;

use serde_json::{json, Value};

/// Builds a history of `txn` operations event by event.
#[derive(Default)]
pub struct H {
    lines: Vec<String>,
}

/// A micro-op: `m("append", "x", 1)`, `m("r", "x", json!([1]))`.
pub fn m(f: &str, k: &str, v: impl Into<Value>) -> Value {
    json!([f, k, v.into()])
}

impl H {
    pub fn new() -> H {
        H::default()
    }

    pub fn event(&mut self, kind: &str, p: u64, mops: &[Value]) -> &mut H {
        let i = self.lines.len();
        self.lines.push(
            json!({"index": i, "time": i, "type": kind, "process": p, "f": "txn", "value": mops})
                .to_string(),
        );
        self
    }

    pub fn invoke(&mut self, p: u64, mops: &[Value]) -> &mut H {
        // Reads are invoked with null.
        let inv: Vec<Value> = mops
            .iter()
            .map(|x| {
                if x[0] == "r" {
                    json!(["r", x[1], null])
                } else {
                    x.clone()
                }
            })
            .collect();
        self.event("invoke", p, &inv)
    }

    /// A transaction invoked and completed `ok` at once.
    pub fn ok(&mut self, p: u64, mops: &[Value]) -> &mut H {
        self.invoke(p, mops).event("ok", p, mops)
    }

    pub fn fail(&mut self, p: u64, mops: &[Value]) -> &mut H {
        self.invoke(p, mops).event("fail", p, mops)
    }

    pub fn history(&self) -> histories::History {
        let text = self.lines.join("\n") + "\n";
        histories::parse_jsonl(&text).expect("a well-formed history")
    }
}
