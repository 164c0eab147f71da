//! The etcd adapter: etcd 3.4's v3 JSON gateway (`POST /v3/kv/range`, `/v3/kv/put`,
//! `/v3/kv/txn`, `/v3/maintenance/status`; keys and values base64, 64-bit numbers as strings).
//!
//! - register and kv: `read` is a range of the key (linearizable, or serializable with
//!   `--etcd-serializable-reads`: then a member answers from its own state, which may be stale),
//!   `write` a put, `cas [from, to]` a txn comparing the key's value with `from` (or, for `from =
//!   null`, its version with 0) whose success branch puts `to`. A failed compare is `fail`.
//! - set: `add e` puts the key `set/e`; `read` ranges over the `set/` prefix in one request.
//! - Values are stored as their JSON text.
//! - The completion keeps what the server said: `revision` (the store revision of the response
//!   header: for a put or a successful txn, the revision it created), `raft_term`, and for a read
//!   of a present key its `mod_revision`, `create_revision` and `version`.
//! - Timeouts and broken connections after sending record `info`; a connection that could not be
//!   opened records `fail` (nothing was sent). etcd's error answers are `info` (a proposal may
//!   commit after its request timed out inside etcd), except InvalidArgument (gRPC code 3,
//!   refused before proposing), which is `fail`.

use crate::client::http::{HttpConn, HttpStatusError, PostError};
use crate::client::{CallError, Client, Endpoint};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use histories::Event;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// The key prefix the set workload's elements live under.
pub const SET_PREFIX: &str = "set/";

/// gRPC's InvalidArgument: etcd refused the request before proposing it.
const INVALID_ARGUMENT: u64 = 3;

pub struct EtcdClient {
    http: HttpConn,
    serializable: bool,
}

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

/// A 64-bit number as the gateway writes it (a string) or as JSON writes numbers.
pub fn num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The value a stored etcd value (base64 of JSON text) stands for.
fn decode_value(v: Option<&Value>) -> Result<Value, String> {
    let Some(Value::String(s)) = v else {
        // An empty value is omitted by the gateway.
        return Ok(Value::Null);
    };
    let bytes = B64
        .decode(s)
        .map_err(|e| format!("etcd sent a value that is not base64 ({e}): {s:?}"))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "etcd holds a value that is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

fn encode_value(v: &Value) -> String {
    b64(serde_json::to_string(v)
        .expect("a JSON value serializes")
        .as_bytes())
}

/// The end of the range of keys starting with `prefix` (the prefix with its last byte plus one).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    *end.last_mut().expect("a non-empty prefix") += 1;
    end
}

/// `revision` and `raft_term` from a response's header.
fn header_meta(body: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    let h = body.get("header");
    for k in ["revision", "raft_term"] {
        if let Some(n) = num(h.and_then(|h| h.get(k))) {
            m.insert(k.to_string(), json!(n));
        }
    }
    m
}

/// The completion for a POST that did not answer 200.
fn completion_for(inv: &Event, e: PostError, node: &str) -> Event {
    match e {
        PostError::Call(CallError::Connect(m)) => inv.fail(m),
        PostError::Call(CallError::Timeout) => inv.info("timeout"),
        PostError::Call(CallError::Io(m)) | PostError::Call(CallError::Indefinite(m)) => {
            inv.info(m)
        }
        PostError::Call(CallError::Definite(m)) => inv.fail(m),
        PostError::Status(s) => {
            let msg = status_message(&s);
            if num(s.body.get("code")) == Some(INVALID_ARGUMENT) {
                inv.fail(msg)
            } else {
                inv.info(msg)
            }
        }
    }
    .on(node)
}

/// etcd's error sentence from an error answer.
pub fn status_message(s: &HttpStatusError) -> String {
    match s.body.get("error").or_else(|| s.body.get("message")) {
        Some(Value::String(m)) => m.clone(),
        _ => format!("HTTP {}: {}", s.status, s.body),
    }
}

impl EtcdClient {
    pub fn new(endpoint: Endpoint, timeout: Duration, serializable_reads: bool) -> Self {
        EtcdClient {
            http: HttpConn::new(endpoint.name, endpoint.addr, timeout),
            serializable: serializable_reads,
        }
    }

    fn node(&self) -> String {
        self.http.name.clone()
    }

    fn range_body(&self, key: &[u8], range_end: Option<&[u8]>) -> Value {
        let mut b = json!({ "key": b64(key) });
        if let Some(end) = range_end {
            b["range_end"] = json!(b64(end));
        }
        if self.serializable {
            b["serializable"] = json!(true);
        }
        b
    }

    async fn read(&mut self, inv: &Event, key: &str) -> Event {
        let node = self.node();
        let body = self.range_body(key.as_bytes(), None);
        match self.http.post("/v3/kv/range", &body).await {
            Ok(r) => {
                let kv = r.get("kvs").and_then(|k| k.get(0));
                let value = match decode_value(kv.and_then(|kv| kv.get("value"))) {
                    Ok(v) => v,
                    Err(m) => return inv.info(m).on(&node),
                };
                let mut done = inv.ok(value).on(&node);
                done.extra = header_meta(&r);
                for k in ["mod_revision", "create_revision", "version"] {
                    if let Some(n) = num(kv.and_then(|kv| kv.get(k))) {
                        done.extra.insert(k.to_string(), json!(n));
                    }
                }
                done
            }
            Err(e) => completion_for(inv, e, &node),
        }
    }

    async fn put(&mut self, inv: &Event, key: &str, value: &Value) -> Event {
        let node = self.node();
        let body = json!({ "key": b64(key.as_bytes()), "value": encode_value(value) });
        match self.http.post("/v3/kv/put", &body).await {
            Ok(r) => {
                let mut done = inv.ok(inv.value.clone()).on(&node);
                done.extra = header_meta(&r);
                done
            }
            Err(e) => completion_for(inv, e, &node),
        }
    }

    async fn cas(&mut self, inv: &Event, key: &str) -> Event {
        let node = self.node();
        let from = inv.value.get(0).cloned().unwrap_or(Value::Null);
        let to = inv.value.get(1).cloned().unwrap_or(Value::Null);
        let k = b64(key.as_bytes());
        let compare = if from.is_null() {
            json!({ "target": "VERSION", "key": k, "result": "EQUAL", "version": "0" })
        } else {
            json!({ "target": "VALUE", "key": k, "result": "EQUAL", "value": encode_value(&from) })
        };
        let body = json!({
            "compare": [compare],
            "success": [{ "request_put": { "key": k, "value": encode_value(&to) } }],
        });
        match self.http.post("/v3/kv/txn", &body).await {
            Ok(r) => {
                let mut done = if r.get("succeeded") == Some(&Value::Bool(true)) {
                    inv.ok(inv.value.clone()).on(&node)
                } else {
                    inv.fail("cas_mismatch").on(&node)
                };
                done.extra = header_meta(&r);
                done
            }
            Err(e) => completion_for(inv, e, &node),
        }
    }

    async fn read_set(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let body = self.range_body(SET_PREFIX.as_bytes(), Some(&prefix_end(SET_PREFIX)));
        match self.http.post("/v3/kv/range", &body).await {
            Ok(r) => {
                let mut all = Vec::new();
                for kv in r.get("kvs").and_then(Value::as_array).into_iter().flatten() {
                    match decode_value(kv.get("value")) {
                        Ok(v) => all.push(v),
                        Err(m) => return inv.info(m).on(&node),
                    }
                }
                let mut done = inv.ok(Value::Array(all)).on(&node);
                done.extra = header_meta(&r);
                done
            }
            Err(e) => completion_for(inv, e, &node),
        }
    }
}

impl Client for EtcdClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        let key = inv.key.clone().unwrap_or_default();
        match inv.f.as_str() {
            "read" if inv.key.is_none() => self.read_set(inv).await,
            "add" => {
                let Some(e) = inv.value.as_u64() else {
                    return inv.fail("set elements must be integers").on(&self.node());
                };
                let value = inv.value.clone();
                self.put(inv, &format!("{SET_PREFIX}{e}"), &value).await
            }
            "read" => self.read(inv, &key).await,
            "write" => {
                let value = inv.value.clone();
                self.put(inv, &key, &value).await
            }
            "cas" => self.cas(inv, &key).await,
            other => inv
                .fail(format!("etcd has no {other} operation"))
                .on(&self.node()),
        }
    }
}

/// What a member says of itself in `/v3/maintenance/status`, with the cluster's member list
/// (`/v3/cluster/member/list`) to name the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdStatus {
    pub member_id: u64,
    /// The leader it believes in; 0 when it knows none.
    pub leader: u64,
    pub raft_term: u64,
    pub raft_index: u64,
    pub revision: u64,
    /// Every member's id and name.
    pub members: Vec<(u64, String)>,
}

impl EtcdStatus {
    /// The name of member `id`, if the member list has it.
    pub fn name_of(&self, id: u64) -> Option<&str> {
        self.members
            .iter()
            .find(|(m, _)| *m == id)
            .map(|(_, n)| n.as_str())
    }
}

/// Why a member's status could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EtcdStatusError {
    #[error("{0}")]
    Unreachable(String),
    #[error("etcd at {addr} answered {path} with {message}")]
    Refused {
        addr: SocketAddr,
        path: &'static str,
        message: String,
    },
    #[error("etcd at {addr} answered {path} without {field}: {body}")]
    Malformed {
        addr: SocketAddr,
        path: &'static str,
        field: &'static str,
        body: Value,
    },
}

/// Reads the status of the member whose client address is `addr`.
pub async fn etcd_status(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<EtcdStatus, EtcdStatusError> {
    let mut http = HttpConn::new(format!("etcd at {addr}"), addr, timeout);
    let st = status_post(&mut http, addr, timeout, "/v3/maintenance/status").await?;
    let list = status_post(&mut http, addr, timeout, "/v3/cluster/member/list").await?;
    let field = |body: &Value, path, field: &'static str, v: Option<&Value>| {
        num(v).ok_or_else(|| EtcdStatusError::Malformed {
            addr,
            path,
            field,
            body: body.clone(),
        })
    };
    let sp = "/v3/maintenance/status";
    let header = st.get("header");
    let mut members = Vec::new();
    for m in list
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = field(&list, "/v3/cluster/member/list", "ID", m.get("ID"))?;
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        members.push((id, name.to_string()));
    }
    Ok(EtcdStatus {
        member_id: field(
            &st,
            sp,
            "header.member_id",
            header.and_then(|h| h.get("member_id")),
        )?,
        // A member that knows no leader leaves the field out (proto3 omits zeros).
        leader: num(st.get("leader")).unwrap_or(0),
        raft_term: num(st.get("raftTerm").or_else(|| st.get("raft_term"))).unwrap_or(0),
        raft_index: num(st.get("raftIndex").or_else(|| st.get("raft_index"))).unwrap_or(0),
        revision: num(header.and_then(|h| h.get("revision"))).unwrap_or(0),
        members,
    })
}

async fn status_post(
    http: &mut HttpConn,
    addr: SocketAddr,
    timeout: Duration,
    path: &'static str,
) -> Result<Value, EtcdStatusError> {
    http.post(path, &json!({})).await.map_err(|e| match e {
        PostError::Call(CallError::Timeout) => EtcdStatusError::Unreachable(format!(
            "no answer from etcd at {addr} within {timeout:?}"
        )),
        PostError::Call(
            CallError::Connect(m)
            | CallError::Io(m)
            | CallError::Definite(m)
            | CallError::Indefinite(m),
        ) => EtcdStatusError::Unreachable(m),
        PostError::Status(s) => EtcdStatusError::Refused {
            addr,
            path,
            message: status_message(&s),
        },
    })
}
