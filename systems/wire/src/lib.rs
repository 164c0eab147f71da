//! The client wire protocol of faultline's systems under test (ARCHITECTURE.md, Contract 2).
//!
//! Clients talk to nodes over TCP, one JSON object per line (UTF-8, at most [`MAX_LINE`] bytes).
//! A request carries a client-chosen `id` (unique per connection) and an `op`; the response carries
//! the same `id`. A connection may have many requests in flight; responses are matched by `id`.
//!
//! ```text
//! → {"id":7,"op":"cas","key":"x","from":1,"to":2}
//! ← {"id":7,"ok":true}
//! ← {"id":7,"ok":false,"error":{"code":"cas_mismatch","definite":true,"message":"x is 3"}}
//! ```
//!
//! `definite: true` promises the operation did not and will not take effect; `definite: false`
//! means it may have. This crate holds the types and framing helpers, and [`lines`], the line
//! reader both servers run on their client connections, and [`server`], a whole client server
//! for nodes that take requests from a closure.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod lines;
pub mod server;
mod status;
pub use status::{Generation, NodeRef, Role, Status, StatusError};

/// The longest request or response line a node or client accepts, newline excluded.
pub const MAX_LINE: usize = 1 << 20;

/// One request line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Client-chosen, unique per connection; echoed in the response.
    pub id: u64,
    /// Optional globally unique request id (for example `"<client-uuid>:<seq>"`). A client that
    /// retries an operation (possibly on another node) sends the same `rid`, and the system applies
    /// it at most once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    #[serde(flatten)]
    pub op: Op,
}

/// The operations. Raft's key-value store uses `read`/`write`/`cas`; the ZAB ensemble uses the
/// znode operations; every node answers `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Read a key; the response's `value` is the value or `null` when absent.
    Read { key: String },
    /// Write a JSON value to a key.
    Write { key: String, value: Value },
    /// Compare-and-set: if the key holds `from` (null = absent), set it to `to`.
    Cas { key: String, from: Value, to: Value },
    /// Create a znode. With `sequential`, a monotonically increasing 10-digit suffix is appended.
    Create {
        path: String,
        #[serde(default)]
        data: Value,
        #[serde(default)]
        sequential: bool,
    },
    /// Data and stat of a znode.
    Get { path: String },
    /// Set a znode's data if its version is `version` (-1: any version).
    Set {
        path: String,
        #[serde(default)]
        data: Value,
        #[serde(default = "any_version")]
        version: i64,
    },
    /// Delete a znode if its version is `version` (-1: any version).
    Delete {
        path: String,
        #[serde(default = "any_version")]
        version: i64,
    },
    /// The names of a znode's children, sorted.
    Children { path: String },
    /// Bring the serving replica up to date with the leader, as ZooKeeper's sync.
    Sync {
        #[serde(default = "root_path")]
        path: String,
    },
    /// A transaction: micro-ops `["r", key, null]`, `["w", key, value]`, `["append", key,
    /// value]` applied atomically, in order; a read sees the transaction's own earlier writes.
    /// The response's `txn` repeats the micro-ops with every read's value filled in.
    Txn { txn: Vec<Value> },
    /// The node's id, role, term or epoch, believed leader and commit point: a [`Status`].
    Status,
}

fn any_version() -> i64 {
    -1
}

fn root_path() -> String {
    "/".to_string()
}

impl Op {
    /// The operation's name as it appears on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Read { .. } => "read",
            Op::Write { .. } => "write",
            Op::Cas { .. } => "cas",
            Op::Create { .. } => "create",
            Op::Get { .. } => "get",
            Op::Set { .. } => "set",
            Op::Delete { .. } => "delete",
            Op::Children { .. } => "children",
            Op::Sync { .. } => "sync",
            Op::Txn { .. } => "txn",
            Op::Status => "status",
        }
    }

    /// Whether the operation can change state (and so must be replicated).
    pub fn is_update(&self) -> bool {
        matches!(
            self,
            Op::Write { .. }
                | Op::Cas { .. }
                | Op::Create { .. }
                | Op::Set { .. }
                | Op::Delete { .. }
                | Op::Txn { .. }
        )
    }
}

/// Error codes. A system may use others, but these have fixed meanings.
pub mod code {
    /// The line was not a valid request (not JSON, unknown op, missing field, too long).
    pub const BAD_REQUEST: &str = "bad_request";
    /// cas found another value: definite.
    pub const CAS_MISMATCH: &str = "cas_mismatch";
    /// The operation's fate is unknown after the node's deadline: indefinite.
    pub const TIMEOUT: &str = "timeout";
    /// The node cannot serve now (no leader known, LOOKING, shutting down). Definite when the
    /// request was never proposed.
    pub const UNAVAILABLE: &str = "unavailable";
    /// Leadership was lost while the operation was in flight: indefinite.
    pub const LEADERSHIP_LOST: &str = "leadership_lost";
    /// ZooKeeper's errors, all definite.
    pub const NO_NODE: &str = "no_node";
    pub const NODE_EXISTS: &str = "node_exists";
    pub const BAD_VERSION: &str = "bad_version";
    pub const NOT_EMPTY: &str = "not_empty";
    /// The serving replica is behind what this session has already seen.
    pub const STALE_SESSION: &str = "stale_session";
}

/// The error object of a failed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    pub code: String,
    /// True promises the operation did not and will not take effect.
    pub definite: bool,
    #[serde(default)]
    pub message: String,
}

/// One response line. Fields beyond `id`, `ok` and `error` (such as `value`, `stat`, `zxid`,
/// `term`, `node`) live in `body`, flattened into the same JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's id; `None` only when a line could not be parsed far enough to find it.
    pub id: Option<u64>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
    #[serde(flatten)]
    pub body: Map<String, Value>,
}

impl Response {
    /// A successful response with no body.
    pub fn ok(id: u64) -> Self {
        Response {
            id: Some(id),
            ok: true,
            error: None,
            body: Map::new(),
        }
    }

    /// A successful response with one body field.
    pub fn ok_with(id: u64, field: &str, value: Value) -> Self {
        Response::ok(id).with(field, value)
    }

    /// Adds a body field.
    pub fn with(mut self, field: &str, value: Value) -> Self {
        self.body.insert(field.to_string(), value);
        self
    }

    /// A failed response.
    pub fn err(id: Option<u64>, code: &str, definite: bool, message: impl Into<String>) -> Self {
        Response {
            id,
            ok: false,
            error: Some(WireError {
                code: code.to_string(),
                definite,
                message: message.into(),
            }),
            body: Map::new(),
        }
    }

    /// A body field, if present.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.body.get(field)
    }

    /// The response as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("a Response always serializes");
        s.push('\n');
        s
    }
}

impl Request {
    /// The request as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("a Request always serializes");
        s.push('\n');
        s
    }
}

/// Parses one request line (without its newline). On failure returns the `bad_request` response
/// to send back, carrying the request's id when the line had a readable one.
pub fn parse_request(line: &[u8]) -> Result<Request, Response> {
    if line.len() > MAX_LINE {
        return Err(Response::err(
            None,
            code::BAD_REQUEST,
            true,
            format!(
                "request line of {} bytes exceeds the limit of {MAX_LINE} bytes",
                line.len()
            ),
        ));
    }
    let text = std::str::from_utf8(line).map_err(|e| {
        Response::err(
            None,
            code::BAD_REQUEST,
            true,
            format!("request is not UTF-8: {e}"),
        )
    })?;
    match serde_json::from_str::<Request>(text) {
        Ok(r) => Ok(r),
        Err(e) => {
            // Recover the id if the line is a JSON object with a numeric id.
            let id = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_u64));
            Err(Response::err(
                id,
                code::BAD_REQUEST,
                true,
                format!("malformed request: {e}"),
            ))
        }
    }
}

/// Parses one response line (without its newline).
pub fn parse_response(line: &[u8]) -> Result<Response, String> {
    if line.len() > MAX_LINE {
        return Err(format!(
            "response line of {} bytes exceeds {MAX_LINE} bytes",
            line.len()
        ));
    }
    serde_json::from_slice(line).map_err(|e| format!("malformed response: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_round_trips_in_contract_shape() {
        let line = r#"{"id":7,"op":"cas","key":"x","from":1,"to":2}"#;
        let r = parse_request(line.as_bytes()).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(
            r.op,
            Op::Cas {
                key: "x".into(),
                from: json!(1),
                to: json!(2)
            }
        );
        let back: Value = serde_json::from_str(r.to_line().trim_end()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(line).unwrap());
    }

    #[test]
    fn status_and_defaults() {
        let r = parse_request(br#"{"id":1,"op":"status"}"#).unwrap();
        assert_eq!(r.op, Op::Status);
        let r = parse_request(br#"{"id":2,"op":"set","path":"/a","data":"v"}"#).unwrap();
        assert_eq!(
            r.op,
            Op::Set {
                path: "/a".into(),
                data: json!("v"),
                version: -1
            }
        );
    }

    #[test]
    fn txn_requests() {
        let line = r#"{"id":5,"op":"txn","txn":[["r","x",null],["append","y",3]]}"#;
        let r = parse_request(line.as_bytes()).unwrap();
        assert_eq!(
            r.op,
            Op::Txn {
                txn: vec![json!(["r", "x", null]), json!(["append", "y", 3])]
            }
        );
        assert!(r.op.is_update());
        assert_eq!(r.op.name(), "txn");
    }

    #[test]
    fn malformed_lines_get_bad_request_with_id_when_readable() {
        let e = parse_request(br#"{"id":3,"op":"frobnicate"}"#).unwrap_err();
        assert_eq!(e.id, Some(3));
        assert_eq!(e.error.as_ref().unwrap().code, code::BAD_REQUEST);
        assert!(e.error.unwrap().definite);
        let e = parse_request(b"{not json").unwrap_err();
        assert_eq!(e.id, None);
        let e = parse_request(br#"{"id":4,"op":"read"}"#).unwrap_err();
        assert_eq!(e.id, Some(4));
        let big = vec![b'x'; MAX_LINE + 1];
        assert!(parse_request(&big).is_err());
        assert!(parse_request(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn response_shape() {
        let r = Response::ok_with(7, "value", json!(3));
        assert_eq!(r.to_line(), "{\"id\":7,\"ok\":true,\"value\":3}\n");
        let e = Response::err(Some(7), code::CAS_MISMATCH, true, "x is 3");
        let v: Value = serde_json::from_str(&e.to_line()).unwrap();
        assert_eq!(
            v,
            json!({"id":7,"ok":false,"error":{"code":"cas_mismatch","definite":true,"message":"x is 3"}})
        );
        let p = parse_response(e.to_line().trim_end().as_bytes()).unwrap();
        assert_eq!(p, e);
    }
}
