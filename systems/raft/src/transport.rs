//! Peer links: each node dials every peer at the address it was given (possibly a proxy) and
//! sends framed, checksummed messages one way; it accepts the peers' links on its own peer
//! address. Links are lossy by design: a message that cannot be sent soon is dropped (Raft
//! retries). The receiver sends back an ack byte now and then; a link whose data goes
//! unacknowledged, or whose writes block, is abandoned and redialed; an inbound link silent for
//! too long is closed. The links carry any [`PeerMessage`] (raft's [`Message`] by default;
//! systems/paxos sends its own).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::core::{Message, NodeId};
use crate::frame;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const WRITE_TIMEOUT: Duration = Duration::from_millis(1000);
const IDLE_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// An outbound link whose data has gone unacknowledged this long is redialed.
const STALL_TIMEOUT: Duration = Duration::from_millis(1500);
const ACK_CHECK: Duration = Duration::from_millis(250);
const ACK_EVERY: Duration = Duration::from_millis(50);
const REDIAL_DELAY: Duration = Duration::from_millis(50);
/// Messages queued per peer before new ones are dropped.
const QUEUE: usize = 8192;

/// A message a peer link carries: it names the node it goes to.
pub trait PeerMessage: Serialize + DeserializeOwned + Send + 'static {
    fn to(&self) -> NodeId;
}

impl PeerMessage for Message {
    fn to(&self) -> NodeId {
        self.to
    }
}

/// Handles to the outbound links.
pub struct Outbound<M = Message> {
    links: HashMap<NodeId, mpsc::Sender<M>>,
}

impl<M> Clone for Outbound<M> {
    fn clone(&self) -> Self {
        Outbound {
            links: self.links.clone(),
        }
    }
}

impl<M: PeerMessage> Outbound<M> {
    /// Starts one dialing task per peer on the current tokio runtime.
    pub fn start(peers: &[(NodeId, String)]) -> Outbound<M> {
        let mut links = HashMap::new();
        for (id, addr) in peers {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run_link(*id, addr.clone(), rx));
            links.insert(*id, tx);
        }
        Outbound { links }
    }

    /// Queues a message; drops it when the link is backed up (never blocks).
    pub fn send(&self, m: M) {
        if let Some(tx) = self.links.get(&m.to()) {
            let _ = tx.try_send(m);
        }
    }
}

async fn run_link<M: PeerMessage>(peer: NodeId, addr: String, mut rx: mpsc::Receiver<M>) {
    let mut buf = Vec::new();
    let epoch = Instant::now();
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
        let (mut rd, mut wr) = stream.into_split();
        // The receiver answers with ack bytes; their absence reveals a stalled link (one that
        // swallows data without resetting, as a partitioning proxy may).
        let last_ack = Arc::new(AtomicU64::new(0));
        let acks = {
            let last_ack = last_ack.clone();
            tokio::spawn(async move {
                let mut b = [0u8; 256];
                while let Ok(n) = rd.read(&mut b).await {
                    if n == 0 {
                        break;
                    }
                    last_ack.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
                }
            })
        };
        let mut oldest_unacked: Option<u64> = None;
        loop {
            let now = epoch.elapsed().as_millis() as u64;
            if let Some(t) = oldest_unacked {
                if last_ack.load(Ordering::Relaxed) >= t {
                    oldest_unacked = None;
                } else if now.saturating_sub(t) > STALL_TIMEOUT.as_millis() as u64 {
                    tracing::debug!(peer, "peer link unacknowledged; redialing");
                    break;
                }
            }
            let m = match tokio::time::timeout(ACK_CHECK, rx.recv()).await {
                Ok(Some(m)) => m,
                Ok(None) => {
                    acks.abort();
                    return;
                }
                Err(_) => continue,
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
            if oldest_unacked.is_none() {
                oldest_unacked = Some(epoch.elapsed().as_millis() as u64);
            }
            match tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&buf)).await {
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
        acks.abort();
    }
}

/// Accepts peer links on `listener` and hands every decoded message to `deliver`.
pub async fn accept<M: PeerMessage>(
    listener: TcpListener,
    deliver: impl Fn(M) + Clone + Send + 'static,
) {
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

async fn read_link<M: PeerMessage>(stream: TcpStream, deliver: impl Fn(M)) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mut stream = tokio::io::BufReader::with_capacity(1 << 16, stream);
    let mut payload = Vec::new();
    let mut last_ack = Instant::now();
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
        let m: M = frame::decode_payload(&payload, crc).map_err(|e| e.to_string())?;
        deliver(m);
        // Ack at the end of each burst (nothing more buffered), and at least every ACK_EVERY.
        if stream.buffer().is_empty() || last_ack.elapsed() >= ACK_EVERY {
            // Best effort: a full send buffer means the other side is not reading anyway.
            let _ = stream.get_ref().try_write(&[0]);
            last_ack = Instant::now();
        }
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
