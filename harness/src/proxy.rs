//! The harness's TCP proxy: every node-to-node link passes through it, which is how partitions
//! are made without root.
//!
//! For each ordered pair of nodes (a, b) the proxy listens on one loopback port; node a is told
//! that this port is b's peer address, and the proxy forwards what it accepts there to b's real
//! peer address. A connection accepted on the (a, b) listener therefore carries the link between
//! a and b, in both directions. A system whose nodes listen on several peer ports (ZooKeeper's
//! quorum and election ports) gets one listener per ordered pair and port; all of them carry the
//! link (a, b).
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
//!
//! # Shared listeners
//!
//! A system that cannot be told a different address for the same peer on every node (etcd) gets
//! one listener per target node instead, shared by every sender ([`Proxy::start_shared`]); the
//! proxy learns each connection's sender from a header in the bytes it sends (see [`sender`]).
//! Once known, the connection is the link (sender, target) as above; until then it flows as if
//! no fault applied.
//!
//! # Slow and flaky links
//!
//! A link fault applies to directed links, like a grudge; the forward direction of a connection
//! accepted on the (a, b) listener is the link a → b, the backward one b → a.
//!
//! - **Slow**: each chunk the proxy reads in that direction is delivered `delay` plus a uniform
//!   `0..=jitter` later, never before a chunk read earlier (TCP keeps order); with a bandwidth
//!   limit, chunks also leave no faster than that many bytes per second. Up to 1 MiB per
//!   direction may wait in the proxy; beyond that the proxy stops reading, and the sender's
//!   writes block as on a full network path. When the fault heals, what is waiting is delivered
//!   at its due time, then bytes flow directly again.
//! - **Flaky**: each connection on a flaky link (either direction) is reset after an
//!   exponentially distributed time with the configured mean, counted from when it opened or the
//!   link turned flaky: both nodes' sockets get an RST (ECONNRESET), whatever was in flight is
//!   lost, and the node must reconnect, as after a middlebox drops its connection state.
//! - A partition takes precedence: a frozen connection stays frozen, slow or not.
//! - With no link fault, a chunk is written on as soon as it is read, as before.

use nemeses::{Grudge, LinkRule, Slow};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod sender;
pub use sender::Senders;
use sender::{Ends, SenderScan};

/// Chunk size of a pump's reads.
const CHUNK: usize = 16 * 1024;
/// Bytes a slow direction may hold before the proxy stops reading it.
const SLOW_QUEUE_LIMIT: usize = 1 << 20;

/// What the network looks like now: blocked directed links and faulty ones, by node index.
#[derive(Debug, Default)]
struct NetState {
    blocked: BTreeSet<(usize, usize)>,
    slow: HashMap<(usize, usize), Slow>,
    /// Mean time to a reset, per directed link.
    flaky: HashMap<(usize, usize), u64>,
}

impl NetState {
    fn frozen(&self, a: usize, b: usize) -> bool {
        self.blocked.contains(&(a, b)) || self.blocked.contains(&(b, a))
    }

    /// Whether a connection with these ends is frozen (one whose sender is unknown never is).
    fn frozen_at(&self, e: &Ends) -> bool {
        e.pair().is_some_and(|(a, b)| self.frozen(a, b))
    }

    /// The mean time to reset of a connection between a and b (either direction flaky).
    fn flaky(&self, a: usize, b: usize) -> Option<u64> {
        let x = self.flaky.get(&(a, b)).copied();
        let y = self.flaky.get(&(b, a)).copied();
        match (x, y) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }
}

type State = Arc<NetState>;

/// One proxied link: connections from `from` to `to`'s peer port number `port`.
#[derive(Debug, Clone)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub port: usize,
    pub listen: SocketAddr,
    pub target: SocketAddr,
}

/// Why a partition or link fault could not be set.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the grudge names {0:?}, which is not a node of this cluster")]
    UnknownNode(String),
}

/// The proxy for one cluster.
pub struct Proxy {
    names: Vec<String>,
    links: Vec<Link>,
    /// Shared with the connections only as a [`Weak`] (to wake them when one learns its
    /// sender), so that dropping the proxy still ends every connection's pumps.
    state: Arc<watch::Sender<State>>,
    listeners: Vec<JoinHandle<()>>,
    resets: Arc<AtomicU64>,
}

impl Proxy {
    /// Starts listeners for every ordered pair of nodes; `peers[i]` is node i's real peer address
    /// and `names[i]` its name.
    pub async fn start(names: &[String], peers: &[SocketAddr]) -> std::io::Result<Proxy> {
        let ports: Vec<Vec<SocketAddr>> = peers.iter().map(|&p| vec![p]).collect();
        Proxy::start_ports(names, &ports).await
    }

    /// Starts listeners for every ordered pair of nodes and every peer port; `peers[i]` are node
    /// i's real peer addresses and `names[i]` its name.
    pub async fn start_ports(
        names: &[String],
        peers: &[Vec<SocketAddr>],
    ) -> std::io::Result<Proxy> {
        let (tx, _) = watch::channel(State::default());
        let tx = Arc::new(tx);
        let resets = Arc::new(AtomicU64::new(0));
        let mut links = Vec::new();
        let mut listeners = Vec::new();
        for from in 0..peers.len() {
            for (to, targets) in peers.iter().enumerate() {
                if from == to {
                    continue;
                }
                for (port, &target) in targets.iter().enumerate() {
                    let l = TcpListener::bind(("127.0.0.1", 0)).await?;
                    let link = Link {
                        from,
                        to,
                        port,
                        listen: l.local_addr()?,
                        target,
                    };
                    let ctx = Ctx {
                        from: Some(from),
                        to,
                        target,
                        senders: None,
                        resets: resets.clone(),
                        poke: Arc::downgrade(&tx),
                    };
                    listeners.push(tokio::spawn(accept_loop(l, ctx, tx.subscribe())));
                    links.push(link);
                }
            }
        }
        Ok(Proxy {
            names: names.to_vec(),
            links,
            state: tx,
            listeners,
            resets,
        })
    }

    /// Starts one listener per node, shared by every sender; `peers[i]` is node i's real peer
    /// address and `names[i]` its name. A connection's sender is the node whose id the bytes it
    /// sends carry in `header`; `sender_ids` gives each node's id from the listeners' addresses
    /// (etcd's member ids are a hash of the peer URLs nodes are told). [`Proxy::links`] lists
    /// every ordered pair, with its target's shared listener.
    pub async fn start_shared(
        names: &[String],
        peers: &[SocketAddr],
        header: &str,
        sender_ids: impl FnOnce(&[SocketAddr]) -> Vec<String>,
    ) -> std::io::Result<Proxy> {
        let (tx, _) = watch::channel(State::default());
        let tx = Arc::new(tx);
        let resets = Arc::new(AtomicU64::new(0));
        let mut bound = Vec::new();
        for _ in peers {
            bound.push(TcpListener::bind(("127.0.0.1", 0)).await?);
        }
        let listen = bound
            .iter()
            .map(TcpListener::local_addr)
            .collect::<std::io::Result<Vec<_>>>()?;
        let senders = Arc::new(Senders::new(header, &sender_ids(&listen)));
        let mut links = Vec::new();
        let mut listeners = Vec::new();
        for (to, l) in bound.into_iter().enumerate() {
            for from in (0..peers.len()).filter(|&f| f != to) {
                links.push(Link {
                    from,
                    to,
                    port: 0,
                    listen: listen[to],
                    target: peers[to],
                });
            }
            let ctx = Ctx {
                from: None,
                to,
                target: peers[to],
                senders: Some(senders.clone()),
                resets: resets.clone(),
                poke: Arc::downgrade(&tx),
            };
            listeners.push(tokio::spawn(accept_loop(l, ctx, tx.subscribe())));
        }
        Ok(Proxy {
            names: names.to_vec(),
            links,
            state: tx,
            listeners,
            resets,
        })
    }

    /// The address node `from` must dial to reach node `to` (its first peer port).
    pub fn address(&self, from: usize, to: usize) -> Option<SocketAddr> {
        self.addresses(from, to).into_iter().next()
    }

    /// The addresses node `from` must dial to reach each of node `to`'s peer ports, in order.
    pub fn addresses(&self, from: usize, to: usize) -> Vec<SocketAddr> {
        let mut l: Vec<&Link> = self
            .links
            .iter()
            .filter(|l| l.from == from && l.to == to)
            .collect();
        l.sort_by_key(|l| l.port);
        l.iter().map(|l| l.listen).collect()
    }

    /// Node `to`'s shared listener (see [`Proxy::start_shared`]): the address every other node
    /// dials to reach it.
    pub fn shared_address(&self, to: usize) -> Option<SocketAddr> {
        self.links.iter().find(|l| l.to == to).map(|l| l.listen)
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    fn indexed(&self, grudge: &Grudge) -> Result<Vec<(usize, usize)>, ProxyError> {
        let idx = |n: &str| {
            self.names
                .iter()
                .position(|x| x == n)
                .ok_or_else(|| ProxyError::UnknownNode(n.to_string()))
        };
        grudge
            .links()
            .iter()
            .map(|(from, to)| Ok((idx(from)?, idx(to)?)))
            .collect()
    }

    /// Freezes the links of `grudge` and thaws every other link (link faults stay). Unknown node
    /// names are an error.
    pub fn set_grudge(&self, grudge: &Grudge) -> Result<(), ProxyError> {
        let blocked: BTreeSet<(usize, usize)> = self.indexed(grudge)?.into_iter().collect();
        self.state.send_modify(|s| {
            *s = Arc::new(NetState {
                blocked,
                slow: s.slow.clone(),
                flaky: s.flaky.clone(),
            })
        });
        Ok(())
    }

    /// Replaces every slow and flaky link by those of `rules` (later rules win where they
    /// overlap); partitions stay. An empty list heals every link fault.
    pub fn set_link_faults(&self, rules: &[LinkRule]) -> Result<(), ProxyError> {
        let mut slow = HashMap::new();
        let mut flaky = HashMap::new();
        for r in rules {
            for l in self.indexed(&r.links)? {
                if let Some(s) = r.fault.slow {
                    slow.insert(l, s);
                }
                if let Some(f) = r.fault.flaky {
                    flaky.insert(l, f.reset_mean_ms.max(1));
                }
            }
        }
        self.state.send_modify(|s| {
            *s = Arc::new(NetState {
                blocked: s.blocked.clone(),
                slow,
                flaky,
            })
        });
        Ok(())
    }

    /// Heals every link: no partition, no link fault.
    pub fn heal(&self) {
        self.state.send_replace(State::default());
    }

    /// Whether the connection between a and b is frozen now.
    pub fn is_frozen(&self, a: usize, b: usize) -> bool {
        self.state.borrow().frozen(a, b)
    }

    /// Connections reset by flaky links so far.
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
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

/// What every connection of one listener shares.
#[derive(Clone)]
struct Ctx {
    /// The sender, for a per-pair listener; `None` on a shared one.
    from: Option<usize>,
    to: usize,
    target: SocketAddr,
    /// How senders name themselves, on a shared listener.
    senders: Option<Arc<Senders>>,
    resets: Arc<AtomicU64>,
    /// Wakes every connection (a connection that learnt its sender may be frozen now).
    poke: Weak<watch::Sender<State>>,
}

async fn accept_loop(l: TcpListener, ctx: Ctx, rx: watch::Receiver<State>) {
    let mut n = 0u64;
    loop {
        let sock = match l.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors or similar: back off rather than spin.
                tracing::warn!("proxy {:?}→{}: accept failed: {e}", ctx.from, ctx.to);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        n += 1;
        let from = ctx.from.map_or(0xffff, |f| f as u64);
        let seed = from << 48 | (ctx.to as u64) << 32 | n;
        tokio::spawn(serve(sock, ctx.clone(), rx.clone(), seed));
    }
}

fn gone() -> std::io::Error {
    std::io::Error::other("proxy shut down")
}

async fn wait_open(rx: &mut watch::Receiver<State>, e: &Ends) -> std::io::Result<()> {
    rx.wait_for(|s| !s.frozen_at(e))
        .await
        .map(|_| ())
        .map_err(|_| gone())
}

async fn wait_frozen(rx: &mut watch::Receiver<State>, e: &Ends) -> std::io::Result<()> {
    rx.wait_for(|s| s.frozen_at(e))
        .await
        .map(|_| ())
        .map_err(|_| gone())
}

/// Resolves when the connection with ends `e` is due for a reset by a flaky link.
async fn reset_due(mut rx: watch::Receiver<State>, e: Ends, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let flaky = |s: &NetState| e.pair().and_then(|(a, b)| s.flaky(a, b));
    loop {
        let mean = flaky(&rx.borrow_and_update());
        let Some(mean) = mean else {
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
            continue;
        };
        // Exponential with the given mean.
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        let wait = Duration::from_secs_f64(-u.ln() * mean as f64 / 1000.0);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {
                if flaky(&rx.borrow()).is_some() {
                    return;
                }
            }
            r = rx.changed() => if r.is_err() { return std::future::pending().await },
        }
    }
}

async fn serve(client: TcpStream, ctx: Ctx, mut rx: watch::Receiver<State>, seed: u64) {
    let ends = match ctx.from {
        Some(a) => Ends::known(a, ctx.to),
        None => Ends::unknown(ctx.to),
    };
    let reset = reset_due(rx.clone(), ends.clone(), seed);
    tokio::pin!(reset);
    let connect = async {
        wait_open(&mut rx, &ends).await?;
        tokio::select! {
            r = TcpStream::connect(ctx.target) => r,
            f = wait_frozen(&mut rx, &ends) => { f?; Err(gone()) }
        }
    };
    let upstream = tokio::select! {
        r = connect => match r {
            Ok(s) => s,
            Err(_) => return,
        },
        _ = &mut reset => {
            abort(&client, None, &ctx);
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let mut client = client;
    let mut upstream = upstream;
    let was_reset = {
        let (cr, cw) = client.split();
        let (ur, uw) = upstream.split();
        let scan = ctx.senders.clone().map(|s| Scan {
            scan: SenderScan::new(s),
            poke: ctx.poke.clone(),
        });
        let forward = pump(cr, uw, rx.clone(), (ends.clone(), false), scan, seed);
        let backward = pump(ur, cw, rx, (ends.clone(), true), None, seed ^ 1);
        tokio::pin!(forward, backward);
        let (mut f_done, mut b_done) = (false, false);
        // An error in either direction tears the connection down; a clean end of one direction
        // (half-close) lets the other run on.
        loop {
            tokio::select! {
                r = &mut forward, if !f_done => match r {
                    Ok(()) => f_done = true,
                    Err(_) => break false,
                },
                r = &mut backward, if !b_done => match r {
                    Ok(()) => b_done = true,
                    Err(_) => break false,
                },
                _ = &mut reset => break true,
            }
            if f_done && b_done {
                break false;
            }
        }
    };
    if was_reset {
        abort(&client, Some(&upstream), &ctx);
    }
}

/// Makes the coming close of these sockets an RST (SO_LINGER with a zero timeout: close aborts
/// the connection at once, it never blocks).
fn abort(client: &TcpStream, upstream: Option<&TcpStream>, ctx: &Ctx) {
    for s in std::iter::once(client).chain(upstream) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the socket is open (borrowed here) and the option value is a valid linger.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(s),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
    ctx.resets.fetch_add(1, Ordering::Relaxed);
}

/// Writes `data` on, pausing while the connection is frozen.
async fn forward<W: AsyncWrite + Unpin>(
    w: &mut W,
    data: &[u8],
    rx: &mut watch::Receiver<State>,
    e: &Ends,
) -> std::io::Result<()> {
    let mut off = 0;
    while off < data.len() {
        wait_open(rx, e).await?;
        tokio::select! {
            m = w.write(&data[off..]) => {
                let m = m?;
                if m == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                off += m;
            }
            f = wait_frozen(rx, e) => { f?; }
        }
    }
    Ok(())
}

/// The bytes waiting in a slow direction, with their due times.
struct Delayed {
    queue: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
    /// When the last queued chunk is due (nothing may overtake it).
    last_due: Instant,
    /// When the bandwidth limit lets the next chunk start.
    wire_free: Instant,
    rng: SmallRng,
}

impl Delayed {
    fn push(&mut self, data: Vec<u8>, slow: Option<Slow>) {
        let now = Instant::now();
        let mut due = now;
        if let Some(s) = slow {
            if let Some(bps) = s.bytes_per_sec.filter(|&b| b > 0) {
                let start = self.wire_free.max(now);
                self.wire_free = start + Duration::from_secs_f64(data.len() as f64 / bps as f64);
                due = self.wire_free;
            }
            let jitter = if s.jitter_ms > 0 {
                self.rng.gen_range(0..=s.jitter_ms)
            } else {
                0
            };
            due += Duration::from_millis(s.delay_ms + jitter);
        }
        due = due.max(self.last_due);
        self.last_due = due;
        self.bytes += data.len();
        self.queue.push_back((due, data));
    }
}

/// Copies one direction (`dir` = (from, to)) of the connection between `conn`'s two nodes.
/// A forward direction's look for its sender (shared listeners).
struct Scan {
    scan: SenderScan,
    poke: Weak<watch::Sender<State>>,
}

/// Copies one direction of a connection with ends `e`: the forward one (opener to target), or
/// the backward one when `backward`. A forward pump with a `scan` learns the sender first.
async fn pump<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut r: R,
    mut w: W,
    mut rx: watch::Receiver<State>,
    (e, backward): (Ends, bool),
    mut scan: Option<Scan>,
    seed: u64,
) -> std::io::Result<()> {
    // The directed link this direction crosses, once the sender is known.
    let dir = |e: &Ends| {
        e.pair()
            .map(|(a, b)| if backward { (b, a) } else { (a, b) })
    };
    let slow_of = |s: &NetState, e: &Ends| dir(e).and_then(|d| s.slow.get(&d).copied());
    let mut buf = vec![0u8; CHUNK];
    let now = Instant::now();
    let mut delayed = Delayed {
        queue: VecDeque::new(),
        bytes: 0,
        last_due: now,
        wire_free: now,
        rng: SmallRng::seed_from_u64(seed),
    };
    let mut eof = false;
    loop {
        let (frozen, slow) = {
            let s = rx.borrow_and_update();
            (s.frozen_at(&e), slow_of(&s, &e))
        };
        if eof && delayed.queue.is_empty() {
            let _ = w.shutdown().await;
            return Ok(());
        }
        let due = delayed.queue.front().map(|(t, _)| *t);
        // A bandwidth limit reads smaller chunks, so that one chunk is not a long burst.
        let want = match slow.and_then(|s| s.bytes_per_sec) {
            Some(bps) => ((bps / 50) as usize).clamp(512, CHUNK),
            None => CHUNK,
        };
        let can_read = !eof && !frozen && delayed.bytes < SLOW_QUEUE_LIMIT;
        tokio::select! {
            n = r.read(&mut buf[..want]), if can_read => {
                let n = n?;
                if n == 0 {
                    eof = true;
                    continue;
                }
                if let Some(s) = scan.as_mut() {
                    if let Some(from) = s.scan.feed(&buf[..n]) {
                        // Known before these bytes go on: they are held if the link is frozen.
                        let _ = e.from.set(from);
                        if let Some(tx) = s.poke.upgrade() {
                            tx.send_modify(|_| {});
                        }
                        scan = None;
                    }
                }
                let slow = slow_of(&rx.borrow(), &e);
                if slow.is_none() && delayed.queue.is_empty() {
                    // No link fault: straight on.
                    forward(&mut w, &buf[..n], &mut rx, &e).await?;
                } else {
                    delayed.push(buf[..n].to_vec(), slow);
                }
            }
            _ = tokio::time::sleep_until(due.unwrap_or(now)), if due.is_some() && !frozen => {
                if let Some((_, data)) = delayed.queue.pop_front() {
                    delayed.bytes -= data.len();
                    forward(&mut w, &data, &mut rx, &e).await?;
                }
            }
            c = rx.changed() => c.map_err(|_| gone())?,
        }
    }
}

#[cfg(test)]
mod tests;
