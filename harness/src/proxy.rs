//! The harness's TCP proxy: every node-to-node link passes through it, which is how partitions
//! are made without root.
//!
//! For each ordered pair of nodes (a, b) the proxy listens on one loopback port; node a is told
//! that this port is b's peer address, and the proxy forwards what it accepts there to b's real
//! peer address. A connection accepted on the (a, b) listener therefore carries the link between
//! a and b, in both directions.
//!
//! A partition is a [`Grudge`]: a set of blocked directed links. A connection between a and b is
//! *frozen* while the link a → b or the link b → a is blocked (one-way loss stalls TCP both ways,
//! since acknowledgements are lost too), and thaws when neither is.
//!
//! # What happens to bytes in flight
//!
//! - While frozen, the proxy neither reads from nor writes to either socket of the connection.
//!   Nothing is dropped and nothing is reset: no FIN, no RST, no error reaches either node.
//! - Bytes the proxy had already read but not yet forwarded (at most 16 KiB per direction per
//!   connection) are held and written, in order, after the heal.
//! - Bytes a node writes while frozen queue in the kernel: in its own socket send buffer and the
//!   proxy's receive buffer. When those fill, the node's writes block (or return `WouldBlock`),
//!   exactly as with a peer behind a firewall that drops packets.
//! - On heal, everything queued is delivered, in order, late — as TCP retransmission would after
//!   a firewall rule is removed. A node that wants loss must time out and close the connection
//!   itself; a close during the partition is itself in flight and reaches the other node only
//!   after the heal.
//! - New connections on a blocked link are accepted by the proxy's listener (so `connect()`
//!   succeeds at once, where a firewall would leave it hanging in SYN retries) but no byte flows
//!   and the proxy does not connect onward to the target until the link heals.
//! - A node that is killed closes its sockets; the proxy sees the close and closes the other side
//!   (if the link is frozen, only once it thaws). If the target is down when the proxy connects
//!   onward, the proxy closes the accepted connection, like a refused connection.
//!
//! Client connections do not pass through the proxy: clients talk to nodes directly.

use nemeses::Grudge;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Blocked directed links as (from, to) index pairs.
type Blocked = Arc<BTreeSet<(usize, usize)>>;

/// One proxied link: connections from `from` to `to`.
#[derive(Debug, Clone)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub listen: SocketAddr,
    pub target: SocketAddr,
}

/// The proxy for one cluster.
pub struct Proxy {
    names: Vec<String>,
    links: Vec<Link>,
    blocked: watch::Sender<Blocked>,
    listeners: Vec<JoinHandle<()>>,
}

fn frozen(b: &BTreeSet<(usize, usize)>, a: usize, c: usize) -> bool {
    b.contains(&(a, c)) || b.contains(&(c, a))
}

impl Proxy {
    /// Starts listeners for every ordered pair of nodes; `peers[i]` is node i's real peer address
    /// and `names[i]` its name.
    pub async fn start(names: &[String], peers: &[SocketAddr]) -> std::io::Result<Proxy> {
        let (tx, _) = watch::channel(Blocked::default());
        let mut links = Vec::new();
        let mut listeners = Vec::new();
        for from in 0..peers.len() {
            for (to, &target) in peers.iter().enumerate() {
                if from == to {
                    continue;
                }
                let l = TcpListener::bind(("127.0.0.1", 0)).await?;
                let link = Link {
                    from,
                    to,
                    listen: l.local_addr()?,
                    target,
                };
                listeners.push(tokio::spawn(accept_loop(l, link.clone(), tx.subscribe())));
                links.push(link);
            }
        }
        Ok(Proxy {
            names: names.to_vec(),
            links,
            blocked: tx,
            listeners,
        })
    }

    /// The address node `from` must dial to reach node `to`.
    pub fn address(&self, from: usize, to: usize) -> Option<SocketAddr> {
        self.links
            .iter()
            .find(|l| l.from == from && l.to == to)
            .map(|l| l.listen)
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Freezes the links of `grudge` and thaws every other link. Unknown node names are an error.
    pub fn set_grudge(&self, grudge: &Grudge) -> Result<(), String> {
        let idx = |n: &str| {
            self.names.iter().position(|x| x == n).ok_or_else(|| {
                format!("the grudge names {n:?}, which is not a node of this cluster")
            })
        };
        let mut set = BTreeSet::new();
        for (from, to) in grudge.links() {
            set.insert((idx(&from)?, idx(&to)?));
        }
        self.blocked.send_replace(Arc::new(set));
        Ok(())
    }

    /// Heals every link.
    pub fn heal(&self) {
        self.blocked.send_replace(Blocked::default());
    }

    /// Whether the connection between a and b is frozen now.
    pub fn is_frozen(&self, a: usize, b: usize) -> bool {
        frozen(&self.blocked.borrow(), a, b)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for l in &self.listeners {
            l.abort();
        }
        // Dropping the sender ends every connection's pumps.
    }
}

async fn accept_loop(l: TcpListener, link: Link, rx: watch::Receiver<Blocked>) {
    loop {
        let sock = match l.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors or similar: back off rather than spin.
                tracing::warn!("proxy {}→{}: accept failed: {e}", link.from, link.to);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        tokio::spawn(serve(sock, link.clone(), rx.clone()));
    }
}

async fn wait_open(rx: &mut watch::Receiver<Blocked>, a: usize, b: usize) -> std::io::Result<()> {
    rx.wait_for(|s| !frozen(s, a, b))
        .await
        .map(|_| ())
        .map_err(|_| std::io::Error::other("proxy shut down"))
}

async fn wait_frozen(rx: &mut watch::Receiver<Blocked>, a: usize, b: usize) -> std::io::Result<()> {
    rx.wait_for(|s| frozen(s, a, b))
        .await
        .map(|_| ())
        .map_err(|_| std::io::Error::other("proxy shut down"))
}

async fn serve(client: TcpStream, link: Link, mut rx: watch::Receiver<Blocked>) {
    let (a, b) = (link.from, link.to);
    if wait_open(&mut rx, a, b).await.is_err() {
        return;
    }
    let upstream = tokio::select! {
        r = TcpStream::connect(link.target) => match r {
            Ok(s) => s,
            Err(_) => return,
        },
        _ = wait_frozen(&mut rx, a, b) => return,
    };
    let _ = upstream.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let mut forward = tokio::spawn(pump(cr, uw, rx.clone(), a, b));
    let mut backward = tokio::spawn(pump(ur, cw, rx, a, b));
    // An error in either direction tears the connection down; a clean end of one direction
    // (half-close) lets the other run on.
    tokio::select! {
        r = &mut forward => match r {
            Ok(Ok(())) => { let _ = backward.await; }
            _ => backward.abort(),
        },
        r = &mut backward => match r {
            Ok(Ok(())) => { let _ = forward.await; }
            _ => forward.abort(),
        },
    }
}

async fn pump(
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
    mut rx: watch::Receiver<Blocked>,
    a: usize,
    b: usize,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        wait_open(&mut rx, a, b).await?;
        let n = tokio::select! {
            n = r.read(&mut buf) => n?,
            f = wait_frozen(&mut rx, a, b) => { f?; continue; }
        };
        if n == 0 {
            let _ = w.shutdown().await;
            return Ok(());
        }
        let mut off = 0;
        while off < n {
            wait_open(&mut rx, a, b).await?;
            tokio::select! {
                m = w.write(&buf[off..n]) => {
                    let m = m?;
                    if m == 0 {
                        return Err(std::io::ErrorKind::WriteZero.into());
                    }
                    off += m;
                }
                f = wait_frozen(&mut rx, a, b) => { f?; }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    /// A real echo server standing in for a node's peer port.
    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn names() -> Vec<String> {
        vec!["n1".into(), "n2".into(), "n3".into()]
    }

    #[tokio::test]
    async fn partition_stalls_without_reset_and_heal_delivers_in_order() {
        let peers = vec![
            echo_server().await,
            echo_server().await,
            echo_server().await,
        ];
        let p = Proxy::start(&names(), &peers).await.unwrap();
        assert_eq!(p.links().len(), 6);
        let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
        s.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        timeout(Duration::from_secs(5), s.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"hello");

        // n2 drops traffic from n1: the n1–n2 connection freezes both ways.
        let g = Grudge::complete(&[vec!["n1".into()], vec!["n2".into(), "n3".into()]]);
        p.set_grudge(&g).unwrap();
        assert!(p.is_frozen(0, 1) && p.is_frozen(1, 0) && !p.is_frozen(1, 2));
        s.write_all(b"during").await.unwrap();
        let mut buf = [0u8; 6];
        // Nothing comes back, and the connection is not closed or reset either.
        assert!(timeout(Duration::from_millis(300), s.read_exact(&mut buf))
            .await
            .is_err());
        // A link not in the grudge still works.
        let mut t = TcpStream::connect(p.address(1, 2).unwrap()).await.unwrap();
        t.write_all(b"ok").await.unwrap();
        let mut two = [0u8; 2];
        timeout(Duration::from_secs(5), t.read_exact(&mut two))
            .await
            .unwrap()
            .unwrap();
        // A new connection on a frozen link is accepted but carries nothing.
        let mut u = TcpStream::connect(p.address(0, 2).unwrap()).await.unwrap();
        u.write_all(b"new").await.unwrap();
        let mut three = [0u8; 3];
        assert!(
            timeout(Duration::from_millis(200), u.read_exact(&mut three))
                .await
                .is_err()
        );

        p.heal();
        s.write_all(b"after").await.unwrap();
        let mut all = [0u8; 11];
        timeout(Duration::from_secs(5), s.read_exact(&mut all))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&all, b"duringafter");
        timeout(Duration::from_secs(5), u.read_exact(&mut three))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&three, b"new");
    }

    #[tokio::test]
    async fn dead_target_closes_the_accepted_connection() {
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let p = Proxy::start(&["a".into(), "b".into()], &[dead, dead])
            .await
            .unwrap();
        let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
        let mut buf = [0u8; 1];
        let r = timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap();
        assert!(matches!(r, Ok(0) | Err(_)));
        assert!(p
            .set_grudge(&Grudge::complete(&[vec!["zz".into()], vec!["a".into()]]))
            .is_err());
    }
}
