//! Client sessions: one TCP connection is one session. Its requests take effect and are answered
//! in the order sent (one at a time), and it never observes a zxid older than one it has seen:
//! reads wait while this server is behind the session's last zxid (then `stale_session`).
//!
//! Besides Contract 2's ops, a session accepts `{"id":N,"op":"session","last_zxid":Z}`: a client
//! reconnecting to another server hands over the highest zxid it has seen.
//!
//! Lines are framed by `wire::lines` (the limit, `bad_request` for what cannot be a request).

use crate::core::tree::validate_path;
use crate::core::txn::Txn;
use crate::core::zxid::Zxid;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use wire::lines::{Line, LineReader};
use wire::{code, Op, Response};

pub enum ReadOp {
    Get(String),
    Children(String),
}

/// What a session asks of the event loop.
pub enum Command {
    Write {
        txn: Txn,
        rid: Option<String>,
        reply: oneshot::Sender<Response>,
    },
    Read {
        read: ReadOp,
        min_zxid: Zxid,
        reply: oneshot::Sender<Response>,
    },
    Status {
        reply: oneshot::Sender<Response>,
    },
}

pub async fn serve(listener: TcpListener, cmds: mpsc::Sender<Command>, timeout: Duration) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(session(s, cmds.clone(), timeout));
            }
            Err(e) => {
                tracing::warn!(error = %e, "client accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn session(stream: TcpStream, cmds: mpsc::Sender<Command>, timeout: Duration) {
    let (r, mut w) = stream.into_split();
    let mut lines = LineReader::new(r);
    let mut last_zxid = Zxid::ZERO;
    while let Ok(Some(line)) = lines.next_line().await {
        let resp = match line {
            Line::Bad(resp) => resp,
            Line::Request(bytes) => handle(&bytes, &cmds, timeout, &mut last_zxid).await,
        };
        if let Some(z) = resp.get("zxid").and_then(Value::as_u64) {
            last_zxid = last_zxid.max(Zxid(z));
        }
        let out = resp.to_line();
        match tokio::time::timeout(timeout, w.write_all(out.as_bytes())).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

fn bad(id: Option<u64>, msg: impl Into<String>) -> Response {
    Response::err(id, code::BAD_REQUEST, true, msg)
}

async fn handle(
    bytes: &[u8],
    cmds: &mpsc::Sender<Command>,
    timeout: Duration,
    last_zxid: &mut Zxid,
) -> Response {
    // The zab-specific `session` op: hand over the highest zxid seen elsewhere.
    let mentions_session = bytes.windows(9).any(|w| w == b"\"session\"");
    if let Some(Ok(Value::Object(o))) =
        mentions_session.then(|| serde_json::from_slice::<Value>(bytes))
    {
        if o.get("op").and_then(Value::as_str) == Some("session") {
            let id = o.get("id").and_then(Value::as_u64);
            let Some(id) = id else {
                return bad(None, "session request without a numeric id");
            };
            return match o.get("last_zxid").map(Value::as_u64) {
                None => Response::ok(id).with("zxid", json!(last_zxid.0)),
                Some(Some(z)) => {
                    *last_zxid = (*last_zxid).max(Zxid(z));
                    Response::ok(id).with("zxid", json!(last_zxid.0))
                }
                Some(None) => bad(Some(id), "last_zxid must be a non-negative integer"),
            };
        }
    }
    let req = match wire::parse_request(bytes) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let id = req.id;
    let rid = req.rid;
    let (tx, rx) = oneshot::channel();
    let (cmd, is_write) = match req.op {
        Op::Create {
            path,
            data,
            sequential,
        } => (
            validate_path(&path).map(|_| Command::Write {
                rid: rid.clone(),
                txn: Txn::Create {
                    path,
                    data,
                    sequential,
                },
                reply: tx,
            }),
            true,
        ),
        Op::Set {
            path,
            data,
            version,
        } => (
            validate_path(&path).map(|_| Command::Write {
                rid: rid.clone(),
                txn: Txn::Set {
                    path,
                    data,
                    version,
                },
                reply: tx,
            }),
            true,
        ),
        Op::Delete { path, version } => (
            validate_path(&path).map(|_| Command::Write {
                rid: rid.clone(),
                txn: Txn::Delete { path, version },
                reply: tx,
            }),
            true,
        ),
        Op::Sync { .. } => (
            Ok(Command::Write {
                rid: rid.clone(),
                txn: Txn::Sync,
                reply: tx,
            }),
            true,
        ),
        Op::Get { path } => (
            validate_path(&path).map(|_| Command::Read {
                read: ReadOp::Get(path),
                min_zxid: *last_zxid,
                reply: tx,
            }),
            false,
        ),
        Op::Children { path } => (
            validate_path(&path).map(|_| Command::Read {
                read: ReadOp::Children(path),
                min_zxid: *last_zxid,
                reply: tx,
            }),
            false,
        ),
        Op::Status => (Ok(Command::Status { reply: tx }), false),
        other => {
            return bad(
                Some(id),
                format!(
                    "zab-node serves znode operations (create, get, set, delete, children, sync, status), not {}",
                    other.name()
                ),
            )
        }
    };
    let cmd = match cmd {
        Ok(c) => c,
        Err(e) => return bad(Some(id), e.to_string()),
    };
    if cmds.send(cmd).await.is_err() {
        return Response::err(
            Some(id),
            code::UNAVAILABLE,
            !is_write,
            "the server is shutting down",
        );
    }
    let mut resp = match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Response::err(
            None,
            code::UNAVAILABLE,
            !is_write,
            "the server dropped the request",
        ),
        Err(_) => Response::err(
            None,
            code::TIMEOUT,
            !is_write,
            format!("no outcome within {} ms", timeout.as_millis()),
        ),
    };
    resp.id = Some(id);
    resp
}
