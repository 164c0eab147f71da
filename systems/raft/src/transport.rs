//! Peer links: each node dials every peer at the address it was given (possibly a proxy) and
//! sends framed, checksummed messages one way; it accepts the peers' links on its own peer
//! address. Links are lossy by design: a message that cannot be sent soon is dropped (Raft
//! retries), a stalled link is abandoned after a write timeout and redialed, and an inbound
//! link silent for too long is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::core::{Message, NodeId};
use crate::frame;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const WRITE_TIMEOUT: Duration = Duration::from_millis(1000);
const IDLE_READ_TIMEOUT: Duration = Duration::from_secs(5);
const REDIAL_DELAY: Duration = Duration::from_millis(50);
/// Messages queued per peer before new ones are dropped.
const QUEUE: usize = 8192;

/// Handles to the outbound links.
#[derive(Clone)]
pub struct Outbound {
    links: HashMap<NodeId, mpsc::Sender<Message>>,
}

impl Outbound {
    /// Starts one dialing task per peer on the current tokio runtime.
    pub fn start(peers: &[(NodeId, String)]) -> Outbound {
        let mut links = HashMap::new();
        for (id, addr) in peers {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run_link(*id, addr.clone(), rx));
            links.insert(*id, tx);
        }
        Outbound { links }
    }

    /// Queues a message; drops it when the link is backed up (never blocks).
    pub fn send(&self, m: Message) {
        if let Some(tx) = self.links.get(&m.to) {
            let _ = tx.try_send(m);
        }
    }
}

async fn run_link(peer: NodeId, addr: String, mut rx: mpsc::Receiver<Message>) {
    let mut buf = Vec::new();
    loop {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
            Ok(Ok(s)) => s,
            _ => {
                // Drop what piled up while the peer was unreachable: it is stale by now.
                while rx.try_recv().is_ok() {}
                tokio::time::sleep(REDIAL_DELAY).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tracing::debug!(peer, %addr, "connected to peer");
        let mut stream = stream;
        loop {
            let Some(m) = rx.recv().await else {
                return;
            };
            buf.clear();
            frame::encode_into(&m, &mut buf);
            // Coalesce whatever else is queued into the same write.
            while buf.len() < (1 << 20) {
                match rx.try_recv() {
                    Ok(m) => frame::encode_into(&m, &mut buf),
                    Err(_) => break,
                }
            }
            match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&buf)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(peer, "peer link failed: {e}");
                    break;
                }
                Err(_) => {
                    tracing::debug!(peer, "peer link stalled; redialing");
                    break;
                }
            }
        }
    }
}

/// Accepts peer links on `listener` and hands every decoded message to `deliver`.
pub async fn accept(listener: TcpListener, deliver: impl Fn(Message) + Clone + Send + 'static) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accepting a peer link failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let deliver = deliver.clone();
        tokio::spawn(async move {
            if let Err(e) = read_link(stream, deliver).await {
                tracing::debug!(%from, "peer link closed: {e}");
            }
        });
    }
}

async fn read_link(mut stream: TcpStream, deliver: impl Fn(Message)) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mut payload = Vec::new();
    loop {
        let mut h = [0u8; frame::HEADER];
        match tokio::time::timeout(IDLE_READ_TIMEOUT, stream.read_exact(&mut h)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("idle for too long".into()),
        }
        let (len, crc) = frame::header(&h).map_err(|e| e.to_string())?;
        payload.resize(len, 0);
        match tokio::time::timeout(IDLE_READ_TIMEOUT, stream.read_exact(&mut payload)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("stalled mid-frame".into()),
        }
        let m: Message = frame::decode_payload(&payload, crc).map_err(|e| e.to_string())?;
        deliver(m);
    }
}

/// Resolves a peer address string for logging and validation.
pub fn check_addr(addr: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr} resolves to no address"))
}
