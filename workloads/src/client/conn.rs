//! One TCP connection speaking Contract 2: newline-delimited JSON requests and responses,
//! matched by id.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use wire::{Op, Request, Response};

/// Why a request on a connection got no response (one sentence each).
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("connection broken while sending: {0}")]
    Send(#[source] std::io::Error),
    #[error("connection broken while waiting for the response: {0}")]
    Receive(#[source] std::io::Error),
    #[error("connection closed by the node before it answered")]
    Closed,
    #[error("the node sent a response line over 1 MiB or cut it short")]
    LineTooLong,
    /// A line that is not a Contract 2 response (wire's sentence).
    #[error("{0}")]
    BadResponse(String),
    /// The node answered with no id: it could not read the request.
    #[error("the node could not read the request: {0}")]
    Unreadable(String),
    #[error("no answer from {addr} within {timeout:?}")]
    Timeout { addr: SocketAddr, timeout: Duration },
}

/// A connection with one request outstanding at a time.
pub struct LineConn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    buf: Vec<u8>,
}

impl LineConn {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (r, w) = s.into_split();
        Ok(LineConn {
            reader: BufReader::with_capacity(1 << 16, r),
            writer: w,
            next_id: 1,
            buf: Vec::with_capacity(512),
        })
    }

    /// Sends one request and waits for the response with its id (responses to other ids, left
    /// over from abandoned requests, are skipped).
    pub async fn call(&mut self, op: Op) -> Result<Response, ConnError> {
        let id = self.next_id;
        self.next_id += 1;
        let req = Request { id, rid: None, op };
        self.writer
            .write_all(req.to_line().as_bytes())
            .await
            .map_err(ConnError::Send)?;
        loop {
            self.buf.clear();
            let n = (&mut self.reader)
                .take(wire::MAX_LINE as u64 + 2)
                .read_until(b'\n', &mut self.buf)
                .await
                .map_err(ConnError::Receive)?;
            if n == 0 {
                return Err(ConnError::Closed);
            }
            if self.buf.last() != Some(&b'\n') {
                return Err(ConnError::LineTooLong);
            }
            let resp =
                wire::parse_response(self.buf.trim_ascii_end()).map_err(ConnError::BadResponse)?;
            if resp.id == Some(id) {
                return Ok(resp);
            }
            if resp.id.is_none() && !resp.ok {
                let msg = resp.error.map(|e| e.message).unwrap_or_default();
                return Err(ConnError::Unreadable(msg));
            }
        }
    }
}

use tokio::io::AsyncReadExt;

/// Opens a connection, sends one request, and closes: for status probes.
pub async fn call_once(addr: SocketAddr, op: Op, timeout: Duration) -> Result<Response, ConnError> {
    let fut = async {
        let mut c = LineConn::connect(addr)
            .await
            .map_err(|source| ConnError::Connect { addr, source })?;
        c.call(op).await
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(ConnError::Timeout { addr, timeout }),
    }
}
