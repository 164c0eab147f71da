//! The ZooKeeper adapter (Apache ZooKeeper through the `zookeeper-client` crate): the same znode
//! layout as zab's client, so the two systems run the same workloads. Each register key is a
//! znode `/reg-<key>` holding the value as JSON; write = `setData` with version -1, or `create`
//! when absent; read = `getData` (absent = null), preceded by `sync` with `--sync-reads`; cas =
//! `getData`, then `setData` with the version read (or `create` when expecting absence). Set
//! elements are znodes `/set-<element>`; the set is read with `sync`, then the children of `/`.
//!
//! One ZooKeeper session per client, on its one server only (no fail-over to another server:
//! the history names the node each operation went to). A timeout, a lost connection or an expired
//! session records `info` and drops the session, so that the next operation starts a fresh one;
//! ZooKeeper's definite errors (`BadVersion`, `NoNode`, `NodeExists`, …) record `fail`.
//! Updates carry the `zxid` ZooKeeper gave them (the `mzxid` of the stat it returned) and the
//! znode `version`; reads carry the `version` and `mzxid` of the value they saw.

use crate::client::{Client, Endpoint};
use histories::Event;
use serde_json::{Map, Value};
use std::future::Future;
use std::time::Duration;
use wire::code;
use zookeeper_client as zk;

pub use crate::client::zab::register_path;

/// How long a ZooKeeper session lives without contact (the server clamps it to between 2 and
/// 20 ticks).
const SESSION_TIMEOUT: Duration = Duration::from_secs(4);

pub struct ZooKeeperClient {
    endpoint: Endpoint,
    timeout: Duration,
    sync_reads: bool,
    session: Option<zk::Client>,
}

/// Why a request did not succeed.
enum ZkError {
    /// No session could be opened: nothing was sent.
    Connect(String),
    /// No answer within the timeout.
    Timeout,
    /// ZooKeeper's answer or the session's end.
    Zk(zk::Error),
}

/// Whether ZooKeeper promises that a request that ended in `e` did not take effect.
fn definite(e: &zk::Error) -> bool {
    use zk::Error::*;
    matches!(
        e,
        NoNode
            | NoAuth
            | BadVersion
            | NoChildrenForEphemerals
            | NodeExists
            | NotEmpty
            | InvalidAcl
            | AuthFailed
            | NotReadOnly
            | BadArguments(_)
            | Unimplemented
            | Throttled
            | MarshallingError
    )
}

/// The error code a ZooKeeper error is recorded under.
fn error_code(e: &zk::Error) -> String {
    match e {
        zk::Error::NoNode => code::NO_NODE.to_string(),
        zk::Error::NodeExists => code::NODE_EXISTS.to_string(),
        zk::Error::BadVersion => code::BAD_VERSION.to_string(),
        zk::Error::ConnectionLoss => "connection-loss".to_string(),
        zk::Error::SessionExpired => "session-expired".to_string(),
        other => other.to_string(),
    }
}

/// The value a znode's data holds (empty data = null; data that is not JSON, as a string).
fn decode(data: &[u8]) -> Value {
    if data.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(data)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned()))
}

fn encode(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// The metadata of an update that produced `stat`: its zxid and the znode's new version.
fn update_meta(stat: &zk::Stat) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("zxid".into(), Value::from(stat.mzxid));
    m.insert("version".into(), Value::from(stat.version));
    m
}

/// The metadata of a read that saw `stat`: the version and the zxid of the value it saw.
fn read_meta(stat: &zk::Stat) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("version".into(), Value::from(stat.version));
    m.insert("mzxid".into(), Value::from(stat.mzxid));
    m
}

fn with(mut done: Event, meta: Map<String, Value>) -> Event {
    done.extra = meta;
    done
}

impl ZooKeeperClient {
    pub fn new(endpoint: Endpoint, timeout: Duration, sync_reads: bool) -> Self {
        ZooKeeperClient {
            endpoint,
            timeout,
            sync_reads,
            session: None,
        }
    }

    fn node(&self) -> &str {
        &self.endpoint.name
    }

    /// The session, opened on first use.
    async fn session(&mut self) -> Result<zk::Client, ZkError> {
        if let Some(s) = &self.session {
            return Ok(s.clone());
        }
        let addr = self.endpoint.addr.to_string();
        let connect = zk::Client::connector()
            .with_session_timeout(SESSION_TIMEOUT)
            .with_connection_timeout(self.timeout)
            .with_fail_eagerly()
            .connect(&addr);
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(s)) => {
                self.session = Some(s.clone());
                Ok(s)
            }
            Ok(Err(e)) => Err(ZkError::Connect(format!(
                "cannot open a ZooKeeper session on {}: {e}",
                self.endpoint.name
            ))),
            Err(_) => Err(ZkError::Connect(format!(
                "cannot open a ZooKeeper session on {} within {:?}",
                self.endpoint.name, self.timeout
            ))),
        }
    }

    /// Runs one request within the timeout; a timeout or an indefinite error drops the session.
    async fn call<T, F, Fut>(&mut self, f: F) -> Result<T, ZkError>
    where
        F: FnOnce(zk::Client) -> Fut,
        Fut: Future<Output = Result<T, zk::Error>>,
    {
        let s = self.session().await?;
        match tokio::time::timeout(self.timeout, f(s)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if !definite(&e) {
                    self.session = None;
                }
                Err(ZkError::Zk(e))
            }
            Err(_) => {
                self.session = None;
                Err(ZkError::Timeout)
            }
        }
    }

    /// The completion of an operation that ended in `e` (which may have taken effect unless
    /// ZooKeeper says otherwise).
    fn completion(&self, inv: &Event, e: ZkError) -> Event {
        match e {
            ZkError::Connect(m) => inv.fail(m),
            ZkError::Timeout => inv.info("timeout"),
            ZkError::Zk(e) if definite(&e) => inv.fail(error_code(&e)),
            ZkError::Zk(e) => inv.info(error_code(&e)),
        }
        .on(self.node())
    }

    /// `getData`: `Ok(None)` when the znode is absent.
    async fn get(&mut self, path: &str) -> Result<Option<(Value, zk::Stat)>, ZkError> {
        let p = path.to_string();
        match self.call(|s| async move { s.get_data(&p).await }).await {
            Ok((data, stat)) => Ok(Some((decode(&data), stat))),
            Err(ZkError::Zk(zk::Error::NoNode)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn sync(&mut self) -> Result<(), ZkError> {
        self.call(|s| async move { s.sync("/").await }).await
    }

    async fn set(
        &mut self,
        path: &str,
        v: &Value,
        version: Option<i32>,
    ) -> Result<zk::Stat, ZkError> {
        let (p, data) = (path.to_string(), encode(v));
        self.call(|s| async move { s.set_data(&p, &data, version).await })
            .await
    }

    async fn create(&mut self, path: &str, v: &Value) -> Result<zk::Stat, ZkError> {
        let (p, data) = (path.to_string(), encode(v));
        self.call(|s| async move {
            let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            s.create(&p, &data, &opts).await.map(|(stat, _)| stat)
        })
        .await
    }

    async fn read(&mut self, inv: &Event, path: &str) -> Event {
        if self.sync_reads {
            if let Err(e) = self.sync().await {
                return self.completion(inv, e);
            }
        }
        match self.get(path).await {
            Ok(Some((v, stat))) => with(inv.ok(v).on(self.node()), read_meta(&stat)),
            Ok(None) => inv.ok(Value::Null).on(self.node()),
            Err(e) => self.completion(inv, e),
        }
    }

    async fn write(&mut self, inv: &Event, path: &str) -> Event {
        let ok = |me: &Self, stat: &zk::Stat| {
            with(inv.ok(inv.value.clone()).on(me.node()), update_meta(stat))
        };
        match self.set(path, &inv.value, None).await {
            Ok(stat) => return ok(self, &stat),
            Err(ZkError::Zk(zk::Error::NoNode)) => {}
            Err(e) => return self.completion(inv, e),
        }
        match self.create(path, &inv.value).await {
            Ok(stat) => ok(self, &stat),
            // Someone created it meanwhile: set it.
            Err(ZkError::Zk(zk::Error::NodeExists)) => match self.set(path, &inv.value, None).await
            {
                Ok(stat) => ok(self, &stat),
                Err(e) => self.completion(inv, e),
            },
            Err(e) => self.completion(inv, e),
        }
    }

    async fn cas(&mut self, inv: &Event, path: &str) -> Event {
        let from = inv.value.get(0).cloned().unwrap_or(Value::Null);
        let to = inv.value.get(1).cloned().unwrap_or(Value::Null);
        let current = match self.get(path).await {
            Ok(c) => c,
            // The get changed nothing: whatever happened to it, the cas did not happen.
            Err(ZkError::Timeout) => return inv.fail("get before cas timed out").on(self.node()),
            Err(ZkError::Connect(m)) => return inv.fail(m).on(self.node()),
            Err(ZkError::Zk(e)) => return inv.fail(error_code(&e)).on(self.node()),
        };
        let done = match current {
            None if from.is_null() => self.create(path, &to).await,
            Some((data, stat)) if data == from && !from.is_null() => {
                self.set(path, &to, Some(stat.version)).await
            }
            _ => return inv.fail(code::CAS_MISMATCH).on(self.node()),
        };
        match done {
            Ok(stat) => with(
                inv.ok(inv.value.clone()).on(self.node()),
                update_meta(&stat),
            ),
            Err(ZkError::Zk(zk::Error::NodeExists | zk::Error::BadVersion | zk::Error::NoNode)) => {
                inv.fail(code::CAS_MISMATCH).on(self.node())
            }
            Err(e) => self.completion(inv, e),
        }
    }

    async fn add(&mut self, inv: &Event) -> Event {
        match self
            .create(&format!("/set-{}", inv.value), &inv.value)
            .await
        {
            Ok(stat) => with(
                inv.ok(inv.value.clone()).on(self.node()),
                update_meta(&stat),
            ),
            Err(e) => self.completion(inv, e),
        }
    }

    /// The set's final read always syncs first: it asks what the ensemble holds after recovery,
    /// and a replica still catching up must not make an element look lost.
    async fn read_set(&mut self, inv: &Event) -> Event {
        if let Err(e) = self.sync().await {
            return self.completion(inv, e);
        }
        match self
            .call(|s| async move { s.list_children("/").await })
            .await
        {
            Ok(names) => {
                let mut elems: Vec<u64> = names
                    .iter()
                    .filter_map(|n| n.strip_prefix("set-"))
                    .filter_map(|e| e.parse::<u64>().ok())
                    .collect();
                elems.sort_unstable();
                let elems = elems.into_iter().map(Value::from).collect();
                inv.ok(Value::Array(elems)).on(self.node())
            }
            Err(e) => self.completion(inv, e),
        }
    }
}

impl Client for ZooKeeperClient {
    async fn invoke(&mut self, inv: &Event) -> Event {
        let path = register_path(inv.key.as_deref().unwrap_or(""));
        match inv.f.as_str() {
            "read" if inv.key.is_none() => self.read_set(inv).await,
            "read" => self.read(inv, &path).await,
            "write" => self.write(inv, &path).await,
            "cas" => self.cas(inv, &path).await,
            "add" => self.add(inv).await,
            other => inv
                .fail(format!("zookeeper has no {other} operation"))
                .on(self.node()),
        }
    }
}
