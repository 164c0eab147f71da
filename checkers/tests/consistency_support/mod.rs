//! Shared by the consistency test files: a JSONL history builder, simulated stores that
//! generate random small histories, and brute-force oracles that decide each model straight
//! from its definition.
#![allow(dead_code)]

pub mod agree;
pub mod oracle;
pub mod store;

use histories::History;
use serde_json::{json, Value};

/// Builds a history as JSONL events and loads it with the real loader.
#[derive(Default, Clone)]
pub struct Events {
    lines: Vec<String>,
}

impl Events {
    pub fn new() -> Events {
        Events::default()
    }

    fn push(
        &mut self,
        kind: &str,
        p: u64,
        f: &str,
        key: Option<&str>,
        value: Value,
        extra: &[(&str, Value)],
    ) {
        let i = self.lines.len();
        let mut o =
            json!({"index": i, "time": i * 10, "type": kind, "process": p, "f": f, "value": value});
        if let Some(k) = key {
            o["key"] = json!(k);
        }
        for (k, v) in extra {
            o[*k] = v.clone();
        }
        self.lines.push(o.to_string());
    }

    pub fn invoke(&mut self, p: u64, f: &str, key: &str, value: Value) -> &mut Self {
        self.push("invoke", p, f, Some(key), value, &[]);
        self
    }

    pub fn complete(&mut self, kind: &str, p: u64, f: &str, key: &str, value: Value) -> &mut Self {
        self.push(kind, p, f, Some(key), value, &[]);
        self
    }

    pub fn complete_with(
        &mut self,
        kind: &str,
        p: u64,
        f: &str,
        key: &str,
        value: Value,
        extra: &[(&str, Value)],
    ) -> &mut Self {
        self.push(kind, p, f, Some(key), value, extra);
        self
    }

    /// A write that starts and completes at once.
    pub fn write(&mut self, p: u64, key: &str, v: i64) -> &mut Self {
        self.invoke(p, "write", key, json!(v))
            .complete("ok", p, "write", key, json!(v))
    }

    /// A read that starts and completes at once (`None` reads the initial value).
    pub fn read(&mut self, p: u64, key: &str, v: Option<i64>) -> &mut Self {
        self.invoke(p, "read", key, Value::Null)
            .complete("ok", p, "read", key, json!(v))
    }

    pub fn sync(&mut self, p: u64) -> &mut Self {
        self.push("invoke", p, "sync", None, Value::Null, &[]);
        self.push("ok", p, "sync", None, Value::Null, &[]);
        self
    }

    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    pub fn history(&self) -> History {
        histories::parse_jsonl(&self.text()).expect("test history is well formed")
    }
}
