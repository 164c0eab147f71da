//! The client server (Contract 2): one JSON request per line, many in flight per connection,
//! responses matched by id. A malformed, truncated, non-UTF-8 or oversized line gets a
//! `bad_request` response; the connection (and every other one) carries on.

use std::sync::mpsc::Sender;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use wire::{code, Response, MAX_LINE};

use crate::node::Input;

/// Accepts client connections forever.
pub async fn serve(listener: TcpListener, inbox: Sender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, inbox.clone()));
            }
            Err(e) => {
                tracing::warn!("accepting a client failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn connection(stream: TcpStream, inbox: Sender<Input>) {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Response>();
    tokio::spawn(async move {
        let mut buf = String::new();
        while let Some(r) = rx.recv().await {
            buf.clear();
            buf.push_str(&r.to_line());
            while buf.len() < (1 << 16) {
                match rx.try_recv() {
                    Ok(r) => buf.push_str(&r.to_line()),
                    Err(_) => break,
                }
            }
            if wr.write_all(buf.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut reader = BufReader::with_capacity(1 << 16, rd);
    let mut line: Vec<u8> = Vec::new();
    let mut oversized = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok(c) => c,
            Err(_) => return,
        };
        if chunk.is_empty() {
            if oversized || !line.is_empty() {
                let _ = tx.send(bad_request(
                    "truncated request: the stream ended before the line's newline",
                ));
            }
            return;
        }
        let (take, complete) = match chunk.iter().position(|&b| b == b'\n') {
            Some(p) => (p, true),
            None => (chunk.len(), false),
        };
        if !oversized {
            if line.len() + take > MAX_LINE {
                oversized = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(&chunk[..take]);
            }
        }
        reader.consume(take + usize::from(complete));
        if complete {
            if oversized {
                let _ = tx.send(bad_request(&format!(
                    "request line exceeds the limit of {MAX_LINE} bytes"
                )));
                oversized = false;
            } else {
                handle_line(&line, &tx, &inbox);
            }
            line.clear();
        }
    }
}

fn bad_request(msg: &str) -> Response {
    Response::err(None, code::BAD_REQUEST, true, msg)
}

fn handle_line(line: &[u8], tx: &mpsc::UnboundedSender<Response>, inbox: &Sender<Input>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match wire::parse_request(line) {
        Err(resp) => {
            let _ = tx.send(resp);
        }
        Ok(req) => {
            let id = req.id;
            if inbox
                .send(Input::Client {
                    req,
                    reply: tx.clone(),
                })
                .is_err()
            {
                let _ = tx.send(Response::err(
                    Some(id),
                    code::UNAVAILABLE,
                    true,
                    "the node is shutting down",
                ));
            }
        }
    }
}
