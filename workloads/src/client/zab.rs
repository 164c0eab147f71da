//! The zab adapter: each register key is a znode `/reg-<key>` holding the value as its data.
//! write = `set` with version -1, or `create` when absent; read = `get` (absent = null), preceded
//! by `sync` with `--sync-reads`; cas = `get`, then `set` with the version read (or `create`
//! when expecting absence). Set elements are znodes `/set-<element>`; the set is read with
//! `sync`, then `children` of `/`.

use crate::client::{completion_for_error, with_meta, CallError, Client, Endpoint, Session};
use histories::Event;
use serde_json::Value;
use std::time::Duration;
use wire::{code, Op, Response};

pub fn register_path(key: &str) -> String {
    format!("/reg-{key}")
}

pub struct ZabClient {
    session: Session,
    sync_reads: bool,
}

/// The data and version of a `get` response (`None` when the znode is absent).
fn data_and_version(r: &Response) -> (Value, i64) {
    let data = r.get("data").cloned().unwrap_or(Value::Null);
    let version = r
        .get("stat")
        .and_then(|s| s.get("version"))
        .or_else(|| r.get("version"))
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    (data, version)
}

impl ZabClient {
    pub fn new(endpoint: Endpoint, timeout: Duration, sync_reads: bool) -> Self {
        ZabClient {
            session: Session::new(endpoint, timeout),
            sync_reads,
        }
    }

    fn node(&self) -> String {
        self.session.endpoint.name.clone()
    }

    /// `get`: Ok(Some((data, version))), Ok(None) when absent.
    async fn get(&mut self, path: &str) -> Result<Option<(Value, i64, Response)>, CallError> {
        match self
            .session
            .call(Op::Get {
                path: path.to_string(),
            })
            .await
        {
            Ok(r) => {
                let (d, v) = data_and_version(&r);
                Ok(Some((d, v, r)))
            }
            Err(CallError::Definite(c)) if c == code::NO_NODE => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read(&mut self, inv: &Event, path: &str) -> Event {
        let node = self.node();
        if self.sync_reads {
            if let Err(e) = self.session.call(Op::Sync { path: "/".into() }).await {
                return completion_for_error(inv, e, &node);
            }
        }
        match self.get(path).await {
            Ok(Some((d, _, r))) => with_meta(inv.ok(d).on(&node), &r),
            Ok(None) => inv.ok(Value::Null).on(&node),
            Err(e) => completion_for_error(inv, e, &node),
        }
    }

    async fn write(&mut self, inv: &Event, path: &str) -> Event {
        let node = self.node();
        let set = Op::Set {
            path: path.to_string(),
            data: inv.value.clone(),
            version: -1,
        };
        match self.session.call(set.clone()).await {
            Ok(r) => return with_meta(inv.ok(inv.value.clone()).on(&node), &r),
            Err(CallError::Definite(c)) if c == code::NO_NODE => {}
            Err(e) => return completion_for_error(inv, e, &node),
        }
        let create = Op::Create {
            path: path.to_string(),
            data: inv.value.clone(),
            sequential: false,
        };
        match self.session.call(create).await {
            Ok(r) => with_meta(inv.ok(inv.value.clone()).on(&node), &r),
            // Someone created it meanwhile: set it.
            Err(CallError::Definite(c)) if c == code::NODE_EXISTS => {
                match self.session.call(set).await {
                    Ok(r) => with_meta(inv.ok(inv.value.clone()).on(&node), &r),
                    Err(e) => completion_for_error(inv, e, &node),
                }
            }
            Err(e) => completion_for_error(inv, e, &node),
        }
    }

    async fn cas(&mut self, inv: &Event, path: &str) -> Event {
        let node = self.node();
        let from = inv.value.get(0).cloned().unwrap_or(Value::Null);
        let to = inv.value.get(1).cloned().unwrap_or(Value::Null);
        let current = match self.get(path).await {
            Ok(c) => c,
            // The get changed nothing: whatever happened to it, the cas did not happen.
            Err(CallError::Indefinite(c)) | Err(CallError::Definite(c)) => {
                return inv.fail(c).on(&node)
            }
            Err(CallError::Timeout) => return inv.fail("get before cas timed out").on(&node),
            Err(CallError::Connect(m)) | Err(CallError::Io(m)) => return inv.fail(m).on(&node),
        };
        let op = match current {
            None if from.is_null() => Op::Create {
                path: path.to_string(),
                data: to,
                sequential: false,
            },
            Some((data, version, _)) if data == from && !from.is_null() => Op::Set {
                path: path.to_string(),
                data: to,
                version,
            },
            _ => return inv.fail(code::CAS_MISMATCH).on(&node),
        };
        match self.session.call(op).await {
            Ok(r) => with_meta(inv.ok(inv.value.clone()).on(&node), &r),
            Err(CallError::Definite(c)) if c == code::NODE_EXISTS || c == code::BAD_VERSION => {
                inv.fail(code::CAS_MISMATCH).on(&node)
            }
            Err(e) => completion_for_error(inv, e, &node),
        }
    }

    async fn add(&mut self, inv: &Event) -> Event {
        let node = self.node();
        let op = Op::Create {
            path: format!("/set-{}", inv.value),
            data: inv.value.clone(),
            sequential: false,
        };
        match self.session.call(op).await {
            Ok(r) => with_meta(inv.ok(inv.value.clone()).on(&node), &r),
            Err(e) => completion_for_error(inv, e, &node),
        }
    }

    /// The set's final read always syncs first: it asks what the ensemble holds after recovery,
    /// and a replica still catching up must not make an element look lost.
    async fn read_set(&mut self, inv: &Event) -> Event {
        let node = self.node();
        if let Err(e) = self.session.call(Op::Sync { path: "/".into() }).await {
            return completion_for_error(inv, e, &node);
        }
        match self.session.call(Op::Children { path: "/".into() }).await {
            Ok(r) => {
                let names = r
                    .get("children")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let elems: Vec<Value> = names
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|n| n.strip_prefix("set-"))
                    .filter_map(|e| e.parse::<u64>().ok())
                    .map(Value::from)
                    .collect();
                with_meta(inv.ok(Value::Array(elems)).on(&node), &r)
            }
            Err(e) => completion_for_error(inv, e, &node),
        }
    }
}

impl Client for ZabClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        let path = register_path(inv.key.as_deref().unwrap_or(""));
        match inv.f.as_str() {
            "read" if inv.key.is_none() => self.read_set(inv).await,
            "read" => self.read(inv, &path).await,
            "write" => self.write(inv, &path).await,
            "cas" => self.cas(inv, &path).await,
            "add" => self.add(inv).await,
            other => inv
                .fail(format!("zab has no {other} operation"))
                .on(&self.node()),
        }
    }
}
