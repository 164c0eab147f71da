//! One TCP connection speaking Contract 2: newline-delimited JSON requests and responses,
//! matched by id.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use wire::{Op, Request, Response};

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
    /// over from abandoned requests, are skipped). Errors are one sentence.
    pub async fn call(&mut self, op: Op) -> Result<Response, String> {
        let id = self.next_id;
        self.next_id += 1;
        let req = Request { id, rid: None, op };
        self.writer
            .write_all(req.to_line().as_bytes())
            .await
            .map_err(|e| format!("connection broken while sending: {e}"))?;
        loop {
            self.buf.clear();
            let n = (&mut self.reader)
                .take(wire::MAX_LINE as u64 + 2)
                .read_until(b'\n', &mut self.buf)
                .await
                .map_err(|e| format!("connection broken while waiting for the response: {e}"))?;
            if n == 0 {
                return Err("connection closed by the node before it answered".into());
            }
            if self.buf.last() != Some(&b'\n') {
                return Err("the node sent a response line over 1 MiB or cut it short".into());
            }
            let resp = wire::parse_response(self.buf.trim_ascii_end())?;
            if resp.id == Some(id) {
                return Ok(resp);
            }
            if resp.id.is_none() && !resp.ok {
                let msg = resp.error.map(|e| e.message).unwrap_or_default();
                return Err(format!("the node could not read the request: {msg}"));
            }
        }
    }
}

use tokio::io::AsyncReadExt;

/// Opens a connection, sends one request, and closes: for status probes.
pub async fn call_once(addr: SocketAddr, op: Op, timeout: Duration) -> Result<Response, String> {
    let fut = async {
        let mut c = LineConn::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        c.call(op).await
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer from {addr} within {timeout:?}")),
    }
}
