//! A Contract 2 client server for any node: accepts connections, reads request lines with
//! [`crate::lines::LineReader`] (a malformed line gets its `bad_request` answer and reading goes
//! on) and hands each request to the node with the sender its responses go back on. Responses
//! are written in the order the node sends them, coalesced into few writes.

use crate::lines::LineReader;
use crate::{Request, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Where a request's response goes: its connection's writer.
pub type Reply = mpsc::UnboundedSender<Response>;

/// Accepts client connections forever; `handle` gets every well-formed request.
pub async fn serve<H>(listener: TcpListener, handle: H)
where
    H: Fn(Request, Reply) + Clone + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, handle.clone()));
            }
            Err(e) => {
                tracing::warn!("accepting a client failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// [`serve`] for a node whose core reads its inputs from `inbox`: each request goes in as
/// `wrap(request, reply)`; once the core has stopped (the inbox is closed) a request is answered
/// `unavailable` ("the node is shutting down") instead.
pub async fn serve_into<I: Send + 'static>(
    listener: TcpListener,
    inbox: std::sync::mpsc::Sender<I>,
    wrap: fn(Request, Reply) -> I,
) {
    serve(listener, move |req: Request, reply: Reply| {
        let id = req.id;
        if inbox.send(wrap(req, reply.clone())).is_err() {
            let _ = reply.send(Response::err(
                Some(id),
                crate::code::UNAVAILABLE,
                true,
                "the node is shutting down",
            ));
        }
    })
    .await
}

async fn connection<H: Fn(Request, Reply)>(stream: TcpStream, handle: H) {
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
            Ok(req) => handle(req, tx.clone()),
        }
    }
}
