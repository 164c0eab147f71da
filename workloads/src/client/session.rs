//! A client's connection to its node: connects lazily, applies the per-request timeout, and
//! drops the connection after a timeout or an I/O error so that no stale response is read later.

use crate::client::LineConn;
use std::net::SocketAddr;
use std::time::Duration;
use wire::{Op, Response};

/// The node a client talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub addr: SocketAddr,
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No connection could be opened: nothing was sent.
    Connect(String),
    /// The connection broke after the request may have been sent.
    Io(String),
    /// No response within the timeout.
    Timeout,
    /// The node answered with a definite error (its code).
    Definite(String),
    /// The node answered with an indefinite error (its code).
    Indefinite(String),
}

pub struct Session {
    pub endpoint: Endpoint,
    conn: Option<LineConn>,
    timeout: Duration,
}

impl Session {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        Session {
            endpoint,
            conn: None,
            timeout,
        }
    }

    /// Sends `op`; an error response becomes [`CallError::Definite`] or
    /// [`CallError::Indefinite`].
    pub async fn call(&mut self, op: Op) -> Result<Response, CallError> {
        if self.conn.is_none() {
            match tokio::time::timeout(self.timeout, LineConn::connect(self.endpoint.addr)).await {
                Ok(Ok(c)) => self.conn = Some(c),
                Ok(Err(e)) => {
                    return Err(CallError::Connect(format!(
                        "cannot connect to {}: {e}",
                        self.endpoint.name
                    )))
                }
                Err(_) => {
                    return Err(CallError::Connect(format!(
                        "cannot connect to {} within {:?}",
                        self.endpoint.name, self.timeout
                    )))
                }
            }
        }
        let conn = self.conn.as_mut().expect("connected above");
        let r = match tokio::time::timeout(self.timeout, conn.call(op)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.conn = None;
                return Err(CallError::Io(e.to_string()));
            }
            Err(_) => {
                self.conn = None;
                return Err(CallError::Timeout);
            }
        };
        if r.ok {
            return Ok(r);
        }
        match r.error {
            Some(e) if e.definite => Err(CallError::Definite(e.code)),
            Some(e) => Err(CallError::Indefinite(e.code)),
            None => Err(CallError::Indefinite("error without details".into())),
        }
    }

    /// Forgets the connection (the next call reconnects).
    pub fn reset(&mut self) {
        self.conn = None;
    }
}
