//! One HTTP/1.1 connection to a node, for systems whose clients speak JSON over HTTP (etcd's v3
//! gateway): connects lazily, posts one JSON body at a time under the per-request timeout, and
//! drops the connection after a timeout or an I/O error so that no stale response is read later
//! (as [`Session`](crate::client::Session) does for Contract 2).
//!
//! Built on hyper's low-level client connection (`hyper::client::conn::http1`): there is no pool
//! and no hidden retry, so the client knows whether a request may have reached the node. A
//! request hyper hands back unsent (the kept-alive connection had closed, as after the node's
//! restart) is sent once more on a fresh connection; any other failure after sending is an
//! [`CallError::Io`].

use crate::client::CallError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The largest response body read (a set read of a long run stays far below it).
const MAX_BODY: usize = 64 << 20;

/// An answer that is not 200 OK: its status and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpStatusError {
    pub status: u16,
    pub body: Value,
}

/// Why a POST got no 200 answer.
#[derive(Debug, Clone, PartialEq)]
pub enum PostError {
    /// Connecting, sending or receiving failed, or the deadline passed.
    Call(CallError),
    /// The node answered with an error status.
    Status(HttpStatusError),
}

impl From<CallError> for PostError {
    fn from(e: CallError) -> Self {
        PostError::Call(e)
    }
}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The connection's task ends with it: nothing left reading a response no one awaits.
        self.driver.abort();
    }
}

/// A client's HTTP connection to one node.
pub struct HttpConn {
    /// The node's name, for error sentences.
    pub name: String,
    pub addr: SocketAddr,
    timeout: Duration,
    conn: Option<Conn>,
}

impl HttpConn {
    pub fn new(name: impl Into<String>, addr: SocketAddr, timeout: Duration) -> Self {
        HttpConn {
            name: name.into(),
            addr,
            timeout,
            conn: None,
        }
    }

    async fn connect(&self, deadline: Instant) -> Result<Conn, CallError> {
        let open = async {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            hyper::client::conn::http1::handshake(TokioIo::new(s))
                .await
                .map_err(std::io::Error::other)
        };
        match tokio::time::timeout_at(deadline, open).await {
            Ok(Ok((sender, conn))) => Ok(Conn {
                sender,
                driver: tokio::spawn(async move {
                    let _ = conn.await;
                }),
            }),
            Ok(Err(e)) => Err(CallError::Connect(format!(
                "cannot connect to {} at {}: {e}",
                self.name, self.addr
            ))),
            Err(_) => Err(CallError::Connect(format!(
                "cannot connect to {} within {:?}",
                self.name, self.timeout
            ))),
        }
    }

    fn request(&self, path: &str, body: &Bytes) -> hyper::Request<Full<Bytes>> {
        hyper::Request::post(path)
            .header(hyper::header::HOST, self.addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))
            .expect("a POST with a path and two fixed headers is a valid request")
    }

    /// POSTs `body` to `path` and answers with the JSON of a 200 response.
    pub async fn post(&mut self, path: &str, body: &Value) -> Result<Value, PostError> {
        let deadline = Instant::now() + self.timeout;
        let body = Bytes::from(serde_json::to_vec(body).expect("a JSON value serializes"));
        let r = tokio::time::timeout_at(deadline, self.exchange(path, &body, deadline)).await;
        let (status, bytes) = match r {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                self.conn = None;
                return Err(e.into());
            }
            Err(_) => {
                self.conn = None;
                return Err(CallError::Timeout.into());
            }
        };
        let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
            self.conn = None;
            CallError::Io(format!(
                "{} answered {path} with a body that is not JSON ({e}): {:?}",
                self.name,
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        })?;
        if status == 200 {
            Ok(json)
        } else {
            Err(PostError::Status(HttpStatusError { status, body: json }))
        }
    }

    /// Sends the request (on a fresh connection once more if hyper hands it back unsent) and
    /// reads the whole response.
    async fn exchange(
        &mut self,
        path: &str,
        body: &Bytes,
        deadline: Instant,
    ) -> Result<(u16, Bytes), CallError> {
        let mut fresh = false;
        let resp = loop {
            if self.conn.is_none() {
                self.conn = Some(self.connect(deadline).await?);
                fresh = true;
            }
            let req = self.request(path, body);
            let c = self.conn.as_mut().expect("connected above");
            if c.sender.ready().await.is_err() {
                // Closed while idle: nothing of this request was sent.
                self.conn = None;
                if fresh {
                    return Err(CallError::Connect(format!(
                        "{} closed the connection before the request",
                        self.name
                    )));
                }
                continue;
            }
            match c.sender.try_send_request(req).await {
                Ok(r) => break r,
                Err(mut e) => {
                    let unsent = e.take_message().is_some();
                    self.conn = None;
                    if unsent && !fresh {
                        // Handed back by a kept-alive connection that had closed: retry once.
                        continue;
                    }
                    let what = format!("{} at {}: {}", self.name, self.addr, e.into_error());
                    return Err(if unsent {
                        CallError::Connect(what)
                    } else {
                        CallError::Io(what)
                    });
                }
            }
        };
        let status = resp.status().as_u16();
        let limited = http_body_util::Limited::new(resp.into_body(), MAX_BODY);
        let bytes = limited
            .collect()
            .await
            .map_err(|e| CallError::Io(format!("reading {}'s response: {e}", self.name)))?
            .to_bytes();
        Ok((status, bytes))
    }
}
