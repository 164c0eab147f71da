//! What a checker says: valid, invalid or unknown, with anomalies that explain why.

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A verdict. Serializes as `true`, `false` or `"unknown"` (Contract 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    Valid,
    Invalid,
    /// The checker could not decide within its budget, or the history is outside what it decides.
    Unknown,
}

impl Validity {
    /// Combines verdicts: invalid wins over unknown, unknown over valid.
    pub fn and(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// Exit code per Contract 4: 0 valid, 1 invalid, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
    }

    pub fn to_json(self) -> Value {
        match self {
            Validity::Valid => Value::Bool(true),
            Validity::Invalid => Value::Bool(false),
            Validity::Unknown => Value::String("unknown".into()),
        }
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// An operation as named in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpRef {
    /// Position in `History::ops`.
    pub op: usize,
    pub process: u64,
    pub f: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: Value,
    pub status: &'static str,
    /// When it was invoked: nanoseconds since the test started, as in the history.
    pub time: u64,
    /// Source line of the invocation and of the completion.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ret_line: Option<usize>,
    /// Human form: `process 2 write x 42 (ok)`.
    pub text: String,
}

impl OpRef {
    pub fn of(op: &histories::Operation) -> OpRef {
        let value = match (op.f.as_str(), op.status) {
            ("read", histories::OpStatus::Ok) | ("get", histories::OpStatus::Ok) => {
                op.output.clone()
            }
            _ => op.input.clone(),
        };
        OpRef {
            op: op.id,
            process: op.process,
            f: op.f.clone(),
            key: op.key.clone(),
            value,
            status: op.status.as_str(),
            time: op.call_time,
            line: op.call_line,
            ret_line: op.ret_line,
            text: op.describe(),
        }
    }
}

/// One violation, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// The kind of anomaly: `nonlinearizable`, `cycle`, `CyclicCO`, `stale-read`, …
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A small set of operations that cannot all be explained together.
    pub ops: Vec<OpRef>,
    /// One plain sentence saying what went wrong.
    pub explanation: String,
    /// Anything further (cycle edges, longest linearizable prefix, …).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}
