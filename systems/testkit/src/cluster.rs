//! A cluster of real node processes on loopback, as raft-node and zab-node take it on their
//! command line:
//!
//! ```text
//! <bin> --id <id> --client-addr <ip:port> --peer-addr <ip:port> --peers <id>=<addr>,… --data-dir <dir> <args…>
//! ```
//!
//! Each node has a loopback IP of its own ([`crate::loopback`]) with its client and peer port,
//! a data directory and a log (its stderr, appended across restarts) in the cluster's temporary
//! directory. With [`Launch::proxied`], node i dials node j through a [`Proxy`] of its own.
//! Dropping the cluster kills every node with SIGKILL and reaps it, also when a test panics.

use crate::{Client, Host, Proxy};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start the nodes of a cluster.
#[derive(Debug, Clone)]
pub struct Launch {
    pub bin: PathBuf,
    /// The `--id` of node i (0-based), also its name in `--peers`.
    pub id: fn(usize) -> String,
    /// Arguments after the ones every node gets.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub proxied: bool,
}

impl Launch {
    /// Nodes of `bin` with ids n1, n2, …, no extra arguments, direct links.
    pub fn new(bin: impl Into<PathBuf>) -> Launch {
        Launch {
            bin: bin.into(),
            id: |i| format!("n{}", i + 1),
            args: Vec::new(),
            env: Vec::new(),
            proxied: false,
        }
    }

    pub fn ids(mut self, id: fn(usize) -> String) -> Launch {
        self.id = id;
        self
    }

    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Launch {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Every directed peer link i→j through a proxy of its own ([`Cluster::proxy`]).
    pub fn proxied(mut self, proxied: bool) -> Launch {
        self.proxied = proxied;
        self
    }

    /// Lays out `n` nodes and starts them all.
    pub fn start(self, n: usize) -> Cluster {
        Cluster::start(self, n)
    }
}

/// One node: where it listens and keeps its files, and its process while it runs.
#[derive(Debug)]
pub struct Node {
    /// n1, n2, … (also its directory and log name).
    pub name: String,
    /// Its `--id`.
    pub id: String,
    pub client_addr: SocketAddr,
    pub peer_addr: SocketAddr,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    /// Its `--peers` value (through the proxies when proxied).
    pub peers_arg: String,
    child: Option<Child>,
    /// The reservation of its IP, released after the node is killed.
    _host: Host,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    launch: Launch,
    proxies: BTreeMap<(usize, usize), Proxy>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Lays out `n` nodes and starts them all.
    pub fn start(launch: Launch, n: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("create the cluster's temp dir");
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| {
                let host = Host::reserve();
                let addrs = host.free_addrs(2);
                let name = format!("n{}", i + 1);
                Node {
                    id: (launch.id)(i),
                    client_addr: addrs[0],
                    peer_addr: addrs[1],
                    data_dir: dir.path().join(&name),
                    log: dir.path().join(format!("{name}.log")),
                    name,
                    peers_arg: String::new(),
                    child: None,
                    _host: host,
                }
            })
            .collect();
        let mut proxies = BTreeMap::new();
        let peers: Vec<(String, SocketAddr)> =
            nodes.iter().map(|n| (n.id.clone(), n.peer_addr)).collect();
        for (from, node) in nodes.iter_mut().enumerate() {
            let parts: Vec<String> = peers
                .iter()
                .enumerate()
                .map(|(to, (id, addr))| {
                    let addr = if launch.proxied && to != from {
                        let p = Proxy::start(*addr);
                        let a = p.addr;
                        proxies.insert((from, to), p);
                        a
                    } else {
                        *addr
                    };
                    format!("{id}={addr}")
                })
                .collect();
            node.peers_arg = parts.join(",");
        }
        let mut c = Cluster {
            nodes,
            launch,
            proxies,
            dir,
        };
        for i in 0..n {
            c.start_node(i);
        }
        c
    }

    /// The cluster's temporary directory (the nodes' data directories and logs are in it).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Starts node `i` (again, after a kill), with the same addresses and data directory.
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(node.child.is_none(), "{} is already running", node.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open the node's log");
        let _no_picking = crate::loopback::spawn_lock();
        let child = Command::new(&self.launch.bin)
            .args(["--id", &node.id])
            .args(["--client-addr", &node.client_addr.to_string()])
            .args(["--peer-addr", &node.peer_addr.to_string()])
            .args(["--peers", &node.peers_arg])
            .arg("--data-dir")
            .arg(&node.data_dir)
            .args(&self.launch.args)
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.launch.bin.display()));
        node.child = Some(child);
    }

    /// kill -9, and reap it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// The nodes started and not killed.
    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.is_up(i)).collect()
    }

    /// The process id of node `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().map(Child::id)
    }

    /// A new connection to node `i`'s client port.
    pub fn client(&self, i: usize) -> std::io::Result<Client> {
        Client::connect(self.nodes[i].client_addr)
    }

    /// Sends `req` to node `i` on a new connection and returns its answer.
    pub fn call(&self, i: usize, req: Value) -> std::io::Result<Value> {
        self.client(i)?.call(req)
    }

    /// Node `i`'s answer to `status`, if it gives one.
    pub fn status(&self, i: usize) -> Option<Value> {
        self.call(i, json!({"op": "status"})).ok()
    }

    /// Asks `probe` every `every` until it gives a value. After `timeout` it panics with what
    /// `probe` said last (its `Err`) and the tail of every node's log.
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        every: Duration,
        mut probe: impl FnMut(&Cluster) -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match probe(self) {
                Ok(v) => return v,
                Err(last) => last,
            };
            if Instant::now() >= deadline {
                panic!("{last} within {timeout:?}\n{}", self.logs_tail(30));
            }
            std::thread::sleep(every);
        }
    }

    /// Sends `req` to every running node in turn, a round every `every`, until one answers it
    /// in a way `done` accepts, and returns that answer. After `timeout` it panics with the last
    /// answer (or error) and the logs.
    pub fn call_any(
        &self,
        req: &Value,
        timeout: Duration,
        every: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for(timeout, every, |c| {
            let mut last = String::from("no node is running");
            for i in c.running() {
                match c.call(i, req.clone()) {
                    Ok(r) if done(&r) => return Ok(r),
                    Ok(r) => last = r.to_string(),
                    Err(e) => last = e.to_string(),
                }
            }
            Err(format!("{req} not done (last answer: {last})"))
        })
    }

    /// The proxy node `from` dials node `to` through (a proxied cluster only).
    pub fn proxy(&self, from: usize, to: usize) -> &Proxy {
        self.proxies
            .get(&(from, to))
            .unwrap_or_else(|| panic!("no proxy for n{} -> n{}", from + 1, to + 1))
    }

    /// Every proxy, by (from, to).
    pub fn proxies(&self) -> impl Iterator<Item = (&(usize, usize), &Proxy)> {
        self.proxies.iter()
    }

    /// The last `lines` lines of every node's log, for a failure message.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let text = std::fs::read_to_string(&n.log).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let tail = &all[all.len().saturating_sub(lines)..];
            out.push_str(&format!("--- {} log (last {} lines)\n", n.name, tail.len()));
            for l in tail {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in node: a script that writes its command line to its log and sleeps.
    fn fake_node(dir: &std::path::Path) -> PathBuf {
        let bin = dir.join("fake-node");
        std::fs::write(&bin, "#!/bin/sh\necho \"$@\" >&2\nexec sleep 600\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[test]
    fn nodes_get_their_own_addresses_and_die_with_the_cluster_even_on_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = fake_node(tmp.path());
        let c = Launch::new(&bin)
            .ids(|i| (i + 1).to_string())
            .args(&["--extra", "x"])
            .proxied(true)
            .start(3);
        let pids: Vec<u32> = (0..3).map(|i| c.pid(i).unwrap()).collect();
        let ips: std::collections::BTreeSet<_> =
            c.nodes.iter().map(|n| n.client_addr.ip()).collect();
        assert_eq!(ips.len(), 3, "nodes share an IP");
        for n in &c.nodes {
            assert_eq!(n.client_addr.ip(), n.peer_addr.ip());
            assert_ne!(n.client_addr, n.peer_addr);
        }
        assert_eq!(c.proxies().count(), 6);
        assert!(c.nodes[0]
            .peers_arg
            .contains(&format!("1={}", c.nodes[0].peer_addr)));
        assert!(c.nodes[0]
            .peers_arg
            .contains(&format!("2={}", c.proxy(0, 1).addr)));
        // The command line, as the node saw it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let log = loop {
            let log = std::fs::read_to_string(&c.nodes[2].log).unwrap_or_default();
            if !log.is_empty() || std::time::Instant::now() > deadline {
                break log;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert!(log.starts_with("--id 3 --client-addr "), "{log}");
        assert!(log.trim_end().ends_with("--extra x"), "{log}");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _c = c;
            panic!("a test fails");
        }));
        assert!(r.is_err());
        for p in pids {
            assert!(!crate::procs::alive(p), "node {p} outlived its cluster");
        }
    }
}
