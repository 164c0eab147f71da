//! Real `zab-node` processes for the integration tests and benchmarks: free ports, temp dirs,
//! per-link TCP proxies that can stall a link, a JSON-lines client, and a Drop guard that kills
//! every child.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free port on a loopback IP of its own (127.a.b.c, never 127.0.0.1), unique within this test
/// process and distinct between processes. Picking a port by binding and releasing it races
/// with outgoing connections, whose ephemeral ports are taken on 127.0.0.1: on an IP nobody
/// else uses, the port stays free until the node binds it.
pub fn free_addr() -> SocketAddr {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let k = NEXT.fetch_add(1, Ordering::SeqCst);
    let ip = format!(
        "127.{}.{}.{}",
        100 + std::process::id() % 100,
        (k / 250) % 250,
        2 + k % 250
    );
    let l = TcpListener::bind((ip.as_str(), 0)).unwrap();
    l.local_addr().unwrap()
}

/// A one-way-configurable TCP proxy for one directed peer link. `block` stalls it (bytes stop
/// flowing, connections stay open); `unblock` resets the stalled connections and lets new ones
/// through.
pub struct Proxy {
    pub addr: SocketAddr,
    blocked: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let blocked = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, g, s) = (blocked.clone(), generation.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if b.load(Ordering::SeqCst) {
                            // Stalled link: hold the connection, pass nothing.
                            let g0 = g.load(Ordering::SeqCst);
                            let (g, s) = (g.clone(), s.clone());
                            std::thread::spawn(move || {
                                while g.load(Ordering::SeqCst) == g0 && !s.load(Ordering::SeqCst) {
                                    std::thread::sleep(Duration::from_millis(10));
                                }
                                let _ = client.shutdown(Shutdown::Both);
                            });
                            continue;
                        }
                        let Ok(server) =
                            TcpStream::connect_timeout(&target, Duration::from_secs(1))
                        else {
                            continue;
                        };
                        let g0 = g.load(Ordering::SeqCst);
                        for (from, to) in [
                            (client.try_clone().unwrap(), server.try_clone().unwrap()),
                            (server, client),
                        ] {
                            let (b, g, s) = (b.clone(), g.clone(), s.clone());
                            std::thread::spawn(move || pump(from, to, b, g, g0, s));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            addr,
            blocked,
            generation,
            stop,
        }
    }

    pub fn block(&self) {
        self.blocked.store(true, Ordering::SeqCst);
    }

    pub fn unblock(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.blocked.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    blocked: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
    g0: u64,
    stop: Arc<AtomicBool>,
) {
    from.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if generation.load(Ordering::SeqCst) != g0 || stop.load(Ordering::SeqCst) {
            break;
        }
        if blocked.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Blocked while reading: hold the bytes (a stall), drop them on a reset.
                while blocked.load(Ordering::SeqCst) {
                    if generation.load(Ordering::SeqCst) != g0 || stop.load(Ordering::SeqCst) {
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = to.shutdown(Shutdown::Both);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                if generation.load(Ordering::SeqCst) != g0 {
                    break;
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

pub struct Node {
    pub id: u64,
    pub client: SocketAddr,
    pub peer: SocketAddr,
    pub dir: PathBuf,
    pub log: PathBuf,
    pub peers_arg: String,
    pub child: Option<Child>,
}

/// An ensemble of real processes. Dropping it kills them all.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub proxies: Vec<((u64, u64), Proxy)>,
    pub extra: Vec<String>,
    _tmp: tempfile::TempDir,
}

pub const FAST: &[&str] = &[
    "--tick-ms",
    "20",
    "--init-limit",
    "100",
    "--sync-limit",
    "25",
];

impl Cluster {
    /// Starts `n` nodes. With `proxied`, every directed peer link i→j goes through its own proxy.
    pub fn start(n: u64, proxied: bool, extra: &[&str]) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let mut nodes: Vec<Node> = (1..=n)
            .map(|id| Node {
                id,
                client: free_addr(),
                peer: free_addr(),
                dir: tmp.path().join(format!("n{id}")),
                log: tmp.path().join(format!("n{id}.log")),
                peers_arg: String::new(),
                child: None,
            })
            .collect();
        let mut proxies = Vec::new();
        let peer_addrs: Vec<(u64, SocketAddr)> = nodes.iter().map(|n| (n.id, n.peer)).collect();
        for node in nodes.iter_mut() {
            let mut parts = Vec::new();
            for &(j, addr) in &peer_addrs {
                let addr = if proxied && j != node.id {
                    let p = Proxy::start(addr);
                    let a = p.addr;
                    proxies.push(((node.id, j), p));
                    a
                } else {
                    addr
                };
                parts.push(format!("{j}={addr}"));
            }
            node.peers_arg = parts.join(",");
        }
        let mut c = Cluster {
            nodes,
            proxies,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            _tmp: tmp,
        };
        for id in 1..=n {
            c.start_node(id);
        }
        c
    }

    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[(id - 1) as usize]
    }

    pub fn start_node(&mut self, id: u64) {
        let extra = self.extra.clone();
        let n = &mut self.nodes[(id - 1) as usize];
        assert!(n.child.is_none(), "n{id} is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&n.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zab-node"))
            .args(["--id", &id.to_string()])
            .args(["--client-addr", &n.client.to_string()])
            .args(["--peer-addr", &n.peer.to_string()])
            .args(["--peers", &n.peers_arg])
            .args(["--data-dir", n.dir.to_str().unwrap()])
            .args(if extra.iter().any(|a| a == "--tick-ms") {
                &[][..]
            } else {
                FAST
            })
            .args(&extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("zab-node starts");
        n.child = Some(child);
    }

    /// kill -9.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut c) = self.nodes[(id - 1) as usize].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn proxy(&self, from: u64, to: u64) -> &Proxy {
        &self
            .proxies
            .iter()
            .find(|(k, _)| *k == (from, to))
            .unwrap()
            .1
    }

    pub fn running(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.id)
            .collect()
    }

    pub fn status(&self, id: u64) -> Option<Value> {
        let mut c = Client::connect(self.node(id).client).ok()?;
        c.call(json!({"op": "status"})).ok()
    }

    /// Waits until a leader serves and `quorum` running nodes (it included) are serving.
    pub fn wait_leader(&self, quorum: usize, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let mut leader = None;
            let mut serving = 0;
            for id in self.running() {
                if let Some(s) = self.status(id) {
                    if s["serving"] == json!(true) {
                        serving += 1;
                        if s["role"] == json!("leading") {
                            leader = Some(id);
                        }
                    }
                }
            }
            if let Some(l) = leader {
                if serving >= quorum {
                    return l;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no serving leader within {timeout:?}\n{}",
                self.logs_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until node `id` is serving (synchronized with a leader).
    pub fn wait_serving(&self, id: u64, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.status(id) {
                if s["serving"] == json!(true) {
                    return s;
                }
            }
            assert!(
                Instant::now() < deadline,
                "n{id} not serving within {timeout:?}\n{}",
                self.logs_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a write to the cluster until it gets a definite answer: `Ok(response)` for ok and
    /// ZooKeeper errors. Indefinite outcomes are retried (so a retried create may find its own
    /// earlier attempt: node_exists).
    pub fn write(&self, op: Value, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            for id in self.running() {
                let Ok(mut c) = Client::connect(self.node(id).client) else {
                    continue;
                };
                if let Ok(r) = c.call(op.clone()) {
                    let code = r["error"]["code"].as_str().unwrap_or("");
                    if r["ok"] == json!(true)
                        || ["no_node", "node_exists", "bad_version", "not_empty"].contains(&code)
                    {
                        return r;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "write {op} not done within {timeout:?}\n{}",
                self.logs_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn logs_tail(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let text = std::fs::read_to_string(&n.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- n{} log (last 15 lines)\n", n.id));
            for l in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// A JSON-lines client session.
pub struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
    next: u64,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        s.set_nodelay(true)?;
        Ok(Client {
            r: BufReader::new(s.try_clone()?),
            w: s,
            next: 1,
        })
    }

    /// Sends one request (an id is added) and returns its response.
    pub fn call(&mut self, mut op: Value) -> std::io::Result<Value> {
        let id = self.next;
        self.next += 1;
        op["id"] = json!(id);
        self.send_raw(&format!("{op}\n"))?;
        let r = self.read()?;
        assert_eq!(r["id"], json!(id), "response {r} for request {id}");
        Ok(r)
    }

    pub fn send_raw(&mut self, line: &str) -> std::io::Result<()> {
        self.w.write_all(line.as_bytes())
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.w.write_all(bytes)
    }

    pub fn read(&mut self) -> std::io::Result<Value> {
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        serde_json::from_str(&line)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// Shared between benchmark workers.
pub type Latencies = Arc<Mutex<Vec<Duration>>>;
