//! Real-process test support: a cluster of `raft-node` processes on loopback, each with its own
//! ports and data directory, killed on every exit path (the `Drop` guard), and a small blocking
//! JSON-lines client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

static NEXT_RID: AtomicU64 = AtomicU64::new(0);

pub mod proxy;

static NEXT_IP: AtomicU64 = AtomicU64::new(0);

/// A loopback IP other than 127.0.0.1, different for each cluster of this process. Client
/// connections leave from 127.0.0.1, so their ephemeral ports can never take a node's port
/// (which matters when a killed node rebinds its old addresses).
fn cluster_ip() -> String {
    let k = NEXT_IP.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id());
    format!("127.0.{}.{}", 1 + (k / 250) % 200, 2 + k % 250)
}

/// A free address on `ip`.
///
/// A port found by binding and releasing can be handed out again by a later bind, so every
/// address given out is remembered and never given twice (two nodes of one cluster share its IP).
pub fn free_addr(ip: &str) -> String {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let addr = TcpListener::bind((ip, 0))
            .expect("bind an ephemeral port")
            .local_addr()
            .unwrap()
            .to_string();
        if GIVEN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(addr.clone())
        {
            return addr;
        }
    }
}

pub struct NodeProc {
    pub name: String,
    pub client_addr: String,
    pub peer_addr: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

pub struct Cluster {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub nodes: Vec<NodeProc>,
    pub extra: Vec<String>,
    /// The `--peers` value of each node.
    peers_of: Vec<String>,
}

impl Cluster {
    /// Starts `n` nodes with the extra command-line arguments `extra`.
    pub fn start(bin: &str, n: usize, extra: &[&str]) -> Cluster {
        Self::start_routed(bin, n, extra, |_, _, addr| addr.to_string())
    }

    /// Like `start`, but node `from` dials node `to` at `route(from, to, to's peer address)`
    /// (for example a proxy).
    pub fn start_routed(
        bin: &str,
        n: usize,
        extra: &[&str],
        mut route: impl FnMut(usize, usize, &str) -> String,
    ) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let ip = cluster_ip();
        let mut nodes = Vec::new();
        for i in 1..=n {
            let name = format!("n{i}");
            nodes.push(NodeProc {
                client_addr: free_addr(&ip),
                peer_addr: free_addr(&ip),
                data_dir: dir.path().join(&name),
                log: dir.path().join(format!("{name}.log")),
                name,
                child: None,
            });
        }
        let peers_of = (0..n)
            .map(|from| {
                nodes
                    .iter()
                    .enumerate()
                    .map(|(to, nd)| {
                        let addr = if to == from {
                            nd.peer_addr.clone()
                        } else {
                            route(from, to, &nd.peer_addr)
                        };
                        format!("{}={}", nd.name, addr)
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let mut c = Cluster {
            bin: PathBuf::from(bin),
            dir,
            nodes,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            peers_of,
        };
        for i in 0..n {
            c.restart(i);
        }
        c
    }

    pub fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "node {} is running", node.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open node log");
        let child = Command::new(&self.bin)
            .args(["--id", &node.name])
            .args(["--client-addr", &node.client_addr])
            .args(["--peer-addr", &node.peer_addr])
            .args(["--peers", &self.peers_of[i]])
            .arg("--data-dir")
            .arg(&node.data_dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn raft-node");
        node.child = Some(child);
    }

    /// kill -9.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    pub fn client(&self, i: usize) -> Client {
        Client::connect(&self.nodes[i].client_addr)
    }

    pub fn status(&self, i: usize) -> Option<Value> {
        let mut c = Client::try_connect(&self.nodes[i].client_addr)?;
        c.call(json!({"op": "status"})).ok()
    }

    /// The index of the leader that a live majority agrees on, waiting up to `timeout`.
    pub fn wait_leader(&self, timeout: Duration) -> usize {
        let start = Instant::now();
        loop {
            let live: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.is_up(i)).collect();
            let st: Vec<(usize, Value)> = live
                .iter()
                .filter_map(|&i| self.status(i).map(|s| (i, s)))
                .collect();
            for (i, s) in &st {
                if s["role"] == "leader" {
                    let agree = st
                        .iter()
                        .filter(|(_, o)| o["leader"] == s["node"] && o["term"] == s["term"])
                        .count();
                    if agree > self.nodes.len() / 2 {
                        return *i;
                    }
                }
            }
            if start.elapsed() > timeout {
                self.dump_logs();
                panic!("no leader within {timeout:?}; statuses: {st:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes `key`=`value` until acknowledged, trying nodes in turn and retrying indefinite
    /// outcomes with the same rid (so the write applies once).
    pub fn write(&self, key: &str, value: Value, timeout: Duration) {
        let rid = format!(
            "{}:{}:{key}",
            std::process::id(),
            NEXT_RID.fetch_add(1, Ordering::Relaxed)
        );
        let start = Instant::now();
        let mut i = 0;
        let mut last = Value::Null;
        while start.elapsed() < timeout {
            i = (i + 1) % self.nodes.len();
            if !self.is_up(i) {
                continue;
            }
            let Some(mut c) = Client::try_connect(&self.nodes[i].client_addr) else {
                continue;
            };
            match c.call(json!({"op":"write","key":key,"value":value,"rid":rid})) {
                Ok(r) if r["ok"] == true => return,
                Ok(r) => last = r,
                Err(e) => last = json!(e),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.dump_logs();
        panic!("write {key}={value} not acknowledged within {timeout:?}; last: {last}");
    }

    /// Reads `key` through node `i` (a linearizable ReadIndex read), retrying failures.
    pub fn read(&self, i: usize, key: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        let mut last = Value::Null;
        while start.elapsed() < timeout {
            if let Some(mut c) = Client::try_connect(&self.nodes[i].client_addr) {
                match c.call(json!({"op":"read","key":key})) {
                    Ok(r) if r["ok"] == true => return r["value"].clone(),
                    Ok(r) => last = r,
                    Err(e) => last = json!(e),
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.dump_logs();
        panic!("read of {key} at node {i} failed within {timeout:?}; last: {last}");
    }

    pub fn dump_logs(&self) {
        for n in &self.nodes {
            let text = std::fs::read_to_string(&n.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(30)..];
            eprintln!(
                "--- {} log (last {} lines) ---\n{}",
                n.name,
                tail.len(),
                tail.join("\n")
            );
        }
    }

    pub fn data_dir(&self, i: usize) -> &Path {
        &self.nodes[i].data_dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// A blocking JSON-lines client with its own request ids.
pub struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    next_id: u64,
}

impl Client {
    pub fn try_connect(addr: &str) -> Option<Client> {
        let stream =
            TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_millis(500)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream.set_nodelay(true).ok()?;
        Some(Client {
            reader: BufReader::new(stream.try_clone().ok()?),
            stream,
            next_id: 0,
        })
    }

    pub fn connect(addr: &str) -> Client {
        Self::try_connect(addr).unwrap_or_else(|| panic!("cannot connect to {addr}"))
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads one response line.
    pub fn recv(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("connection closed".into()),
            Ok(_) => serde_json::from_str(&line).map_err(|e| format!("bad response {line:?}: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends `req` (an object without id) and waits for its response.
    pub fn call(&mut self, mut req: Value) -> Result<Value, String> {
        self.next_id += 1;
        req["id"] = json!(self.next_id);
        let mut line = serde_json::to_vec(&req).unwrap();
        line.push(b'\n');
        self.stream.write_all(&line).map_err(|e| e.to_string())?;
        let r = self.recv()?;
        if r["id"] != json!(self.next_id) {
            return Err(format!(
                "response {r} does not match request {}",
                self.next_id
            ));
        }
        Ok(r)
    }

    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
    }
}
