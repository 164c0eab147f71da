//! An operation: an invocation paired with its completion.

use serde_json::{Map, Value};

/// The `ret` of an operation that never completed (or completed with `info`): it may take
/// effect at any point after its invocation, or never.
pub const NEVER: u64 = u64::MAX;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpStatus {
    Ok,
    Fail,
    /// Completed with `info`, or never completed.
    Info,
}

impl OpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::Ok => "ok",
            OpStatus::Fail => "fail",
            OpStatus::Info => "info",
        }
    }
}

/// An invocation and its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Position of this operation in [`crate::History::ops`].
    pub id: usize,
    pub process: u64,
    pub f: String,
    pub key: Option<String>,
    /// The invocation's value (`null` for reads, the value for writes, `[from, to]` for cas).
    pub input: Value,
    /// The completion's value (what a read returned); `null` unless the status is `Ok`.
    pub output: Value,
    pub status: OpStatus,
    /// Position (0-based, in file order) of the invocation event.
    pub call: u64,
    /// Position of the completion event; [`NEVER`] for `info` and uncompleted operations.
    pub ret: u64,
    /// Times in nanoseconds (the completion's is `None` when there is none).
    pub call_time: u64,
    pub ret_time: Option<u64>,
    /// 1-based line numbers of the invocation and completion in the source file.
    pub call_line: usize,
    pub ret_line: Option<usize>,
    pub node: Option<String>,
    pub error: Option<String>,
    /// Extra fields of the completion (server metadata such as zxid, term, version).
    pub meta: Map<String, Value>,
}

impl Operation {
    /// A short human form: `process 2 write x=42 (ok)`.
    pub fn describe(&self) -> String {
        let key = self
            .key
            .as_deref()
            .map(|k| format!(" {k}"))
            .unwrap_or_default();
        let val = match (self.f.as_str(), self.status) {
            ("read", OpStatus::Ok) | ("get", OpStatus::Ok) => format!(" -> {}", self.output),
            ("read", _) | ("get", _) => String::new(),
            _ => format!(" {}", self.input),
        };
        format!(
            "process {} {}{}{} ({})",
            self.process,
            self.f,
            key,
            val,
            self.status.as_str()
        )
    }
}
