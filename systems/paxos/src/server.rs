//! The client server (Contract 2): one JSON request per line, many in flight per connection,
//! responses matched by id. Lines are framed by `wire::lines`: a malformed, truncated, non-UTF-8
//! or oversized line gets a `bad_request` response; the connection (and every other one) carries
//! on.

use std::sync::mpsc::Sender;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use wire::lines::LineReader;
use wire::{code, Request, Response};

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
    let mut lines = LineReader::new(rd);
    while let Ok(Some(line)) = lines.next_line().await {
        match line.into_request() {
            Err(resp) => {
                let _ = tx.send(resp);
            }
            Ok(req) => submit(req, &tx, &inbox),
        }
    }
}

/// Hands a request to the node, which answers it on `tx`.
fn submit(req: Request, tx: &mpsc::UnboundedSender<Response>, inbox: &Sender<Input>) {
    let id = req.id;
    let input = Input::Client {
        req,
        reply: tx.clone(),
    };
    if inbox.send(input).is_err() {
        let _ = tx.send(Response::err(
            Some(id),
            code::UNAVAILABLE,
            true,
            "the node is shutting down",
        ));
    }
}
