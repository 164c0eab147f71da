//! Server-to-server links: JSON messages in checksummed [`frame`](crate::frame)s over TCP.
//!
//! Each server keeps one outbound connection to every other server (reconnecting with a
//! back-off) and accepts inbound ones; the first frame of a connection names the sender; an
//! empty frame is a keep-alive. Every
//! read, write and connect has a timeout, so a stalled link (a proxy that stops forwarding
//! without resetting) is dropped and re-dialled. Messages queued beyond the buffer are dropped:
//! the peer core tolerates loss.

use crate::core::message::Message;
use crate::core::txn::NodeId;
use crate::frame;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const MAX_FRAME: usize = 512 << 20;
const QUEUE: usize = 8192;
const KEEPALIVE: Duration = Duration::from_secs(5);

/// Timeouts of the peer links.
#[derive(Clone, Copy, Debug)]
pub struct LinkTimeouts {
    pub connect: Duration,
    pub write: Duration,
    /// An inbound connection silent for this long is dropped (the leader pings every tick).
    pub idle_read: Duration,
}

pub struct PeerNet {
    outbound: BTreeMap<NodeId, mpsc::Sender<Arc<Vec<u8>>>>,
}

async fn read_frame<R: AsyncReadExt + Unpin>(s: &mut R) -> std::io::Result<Vec<u8>> {
    let invalid = |e: frame::FrameError| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let mut h = [0u8; frame::HEADER];
    s.read_exact(&mut h).await?;
    let (len, crc) = frame::header(&h);
    if len > MAX_FRAME {
        return Err(invalid(frame::FrameError::TooLong {
            len,
            max: MAX_FRAME,
        }));
    }
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await?;
    frame::verify(&buf, crc).map_err(invalid)?;
    Ok(buf)
}

impl PeerNet {
    /// Starts the listener and one dialler per peer. Inbound messages go to `inbound`.
    pub fn start(
        me: NodeId,
        listener: TcpListener,
        peers: &BTreeMap<NodeId, SocketAddr>,
        inbound: mpsc::Sender<(NodeId, Message)>,
        t: LinkTimeouts,
    ) -> PeerNet {
        tokio::spawn(accept_loop(listener, inbound, t));
        let mut outbound = BTreeMap::new();
        for (&id, &addr) in peers {
            if id == me {
                continue;
            }
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(dial_loop(me, id, addr, rx, t));
            outbound.insert(id, tx);
        }
        PeerNet { outbound }
    }

    /// Queues a message (dropped when the link's queue is full).
    pub fn send(&self, to: NodeId, msg: &Message) {
        if let Some(tx) = self.outbound.get(&to) {
            let body = serde_json::to_vec(msg).expect("a message always serializes");
            if tx.try_send(Arc::new(frame::encode(&body))).is_err() {
                tracing::debug!(to, "peer queue full; message dropped");
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    inbound: mpsc::Sender<(NodeId, Message)>,
    t: LinkTimeouts,
) {
    loop {
        match listener.accept().await {
            Ok((s, addr)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(read_loop(s, addr, inbound.clone(), t));
            }
            Err(e) => {
                tracing::warn!(error = %e, "peer accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn read_loop(
    s: TcpStream,
    addr: SocketAddr,
    inbound: mpsc::Sender<(NodeId, Message)>,
    t: LinkTimeouts,
) {
    let mut s = tokio::io::BufReader::with_capacity(256 << 10, s);
    let from: NodeId = match tokio::time::timeout(t.idle_read, read_frame(&mut s)).await {
        Ok(Ok(b)) => match serde_json::from_slice(&b) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(%addr, error = %e, "bad peer handshake; closing");
                return;
            }
        },
        _ => return,
    };
    loop {
        let bytes = match tokio::time::timeout(t.idle_read, read_frame(&mut s)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                tracing::debug!(from, error = %e, "inbound peer link closed");
                return;
            }
            Err(_) => {
                tracing::debug!(from, "inbound peer link idle; closing");
                return;
            }
        };
        if bytes.is_empty() {
            continue; // keep-alive
        }
        match serde_json::from_slice::<Message>(&bytes) {
            Ok(m) => {
                if inbound.send((from, m)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(from, error = %e, "malformed peer message; closing the link");
                return;
            }
        }
    }
}

async fn dial_loop(
    me: NodeId,
    to: NodeId,
    addr: SocketAddr,
    mut rx: mpsc::Receiver<Arc<Vec<u8>>>,
    t: LinkTimeouts,
) {
    let hello = frame::encode(&serde_json::to_vec(&me).expect("an id serializes"));
    loop {
        let mut s = match tokio::time::timeout(t.connect, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            _ => {
                // Drop what queued up while the peer was unreachable: it is stale by now.
                while rx.try_recv().is_ok() {}
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = s.set_nodelay(true);
        if !matches!(
            tokio::time::timeout(t.write, s.write_all(&hello)).await,
            Ok(Ok(()))
        ) {
            continue;
        }
        tracing::debug!(to, "peer link up");
        loop {
            // An idle link carries an empty keep-alive frame now and then, so the receiver's
            // idle timeout only ever closes links whose sender has given up on them.
            let first = match tokio::time::timeout(KEEPALIVE, rx.recv()).await {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(_) => Arc::new(frame::encode(&[])),
            };
            // Coalesce whatever else is queued into one write.
            let mut buf = first.as_ref().clone();
            while buf.len() < (1 << 20) {
                match rx.try_recv() {
                    Ok(more) => buf.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            match tokio::time::timeout(t.write, s.write_all(&buf)).await {
                Ok(Ok(())) => {}
                _ => {
                    tracing::debug!(to, "peer link write failed or stalled; redialling");
                    break;
                }
            }
        }
    }
}
