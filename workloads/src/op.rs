//! One operation: what a worker invokes and how it ended.

use serde_json::{Map, Value};

/// An operation as invoked: Contract 1's `f`, `key` and `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub f: &'static str,
    pub key: Option<String>,
    /// `null` for reads, the value for writes and adds, `[from, to]` for cas.
    pub value: Value,
}

impl Invocation {
    pub fn read(key: impl Into<String>) -> Self {
        Invocation {
            f: "read",
            key: Some(key.into()),
            value: Value::Null,
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown.
    Info,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// An operation's completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub outcome: Outcome,
    /// What a read returned; the invocation's value for other operations.
    pub value: Value,
    pub error: Option<String>,
    /// The node the client talked to.
    pub node: Option<String>,
    /// Server metadata the client saw (`term`, `zxid`, `version`, …).
    pub meta: Map<String, Value>,
}

impl Completion {
    pub fn ok(value: Value) -> Self {
        Completion {
            outcome: Outcome::Ok,
            value,
            error: None,
            node: None,
            meta: Map::new(),
        }
    }

    pub fn fail(value: Value, error: impl Into<String>) -> Self {
        Completion {
            outcome: Outcome::Fail,
            value,
            error: Some(error.into()),
            node: None,
            meta: Map::new(),
        }
    }

    pub fn info(value: Value, error: impl Into<String>) -> Self {
        Completion {
            outcome: Outcome::Info,
            value,
            error: Some(error.into()),
            node: None,
            meta: Map::new(),
        }
    }

    pub fn on(mut self, node: &str) -> Self {
        self.node = Some(node.to_string());
        self
    }
}
