//! A cluster of local node processes behind the harness's proxy.

use super::{ControlError, NodeLayout, NodeProcess};
use crate::db::{Peer, PeerRouting, System};
use crate::proxy::Proxy;
use nemeses::{ClusterError, Grudge};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use workloads::client::Endpoint;

pub struct LocalCluster {
    pub system: &'static dyn System,
    names: Vec<String>,
    nodes: Vec<Mutex<NodeProcess>>,
    proxy: Proxy,
    layouts: Vec<NodeLayout>,
}

fn lock(m: &Mutex<NodeProcess>) -> std::sync::MutexGuard<'_, NodeProcess> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LocalCluster {
    /// Lays out `n` nodes in `run_dir`, starts the proxy, and prepares (does not start) the nodes.
    pub async fn create(
        system: &'static dyn System,
        binary: PathBuf,
        n: usize,
        run_dir: &Path,
        extra_args: &[String],
    ) -> Result<LocalCluster, ControlError> {
        let mut layouts = Vec::new();
        let net = super::layout::cluster_net();
        for i in 0..n {
            layouts.push(
                NodeLayout::new(i, net, run_dir, system.peer_ports()).map_err(|source| {
                    ControlError::Layout {
                        node: i + 1,
                        dir: run_dir.to_path_buf(),
                        source,
                    }
                })?,
            );
        }
        let names: Vec<String> = layouts.iter().map(|l| l.name.clone()).collect();
        let peers: Vec<Vec<SocketAddr>> = layouts.iter().map(|l| l.peer_addrs.clone()).collect();
        let routing = system.peer_routing();
        let proxy = match routing {
            PeerRouting::PerPair => Proxy::start_ports(&names, &peers).await,
            PeerRouting::SharedByHeader { header, sender_ids } => {
                let first: Vec<SocketAddr> = layouts.iter().map(|l| l.peer_addr).collect();
                Proxy::start_shared(&names, &first, header, sender_ids).await
            }
        }
        .map_err(ControlError::ProxyStart)?;
        let shared = matches!(routing, PeerRouting::SharedByHeader { .. });
        let mut nodes = Vec::new();
        for l in &layouts {
            let mine: Vec<Peer> = layouts
                .iter()
                .filter(|o| shared || o.index != l.index)
                .filter_map(|o| {
                    let addrs = if o.index == l.index {
                        proxy.shared_address(o.index).into_iter().collect()
                    } else {
                        proxy.addresses(l.index, o.index)
                    };
                    Some(Peer {
                        index: o.index,
                        name: o.name.clone(),
                        addr: *addrs.first()?,
                        addrs,
                    })
                })
                .collect();
            system
                .prepare_node(l, &mine)
                .map_err(|source| ControlError::Prepare {
                    node: l.name.clone(),
                    dir: l.dir.clone(),
                    source,
                })?;
            let args = system.node_args(l, &mine, extra_args);
            nodes.push(Mutex::new(NodeProcess::new(
                l.clone(),
                binary.clone(),
                args,
            )));
        }
        Ok(LocalCluster {
            system,
            names,
            nodes,
            proxy,
            layouts,
        })
    }

    pub fn layouts(&self) -> &[NodeLayout] {
        &self.layouts
    }

    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Where clients reach each node (directly, not through the proxy).
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.layouts
            .iter()
            .map(|l| Endpoint {
                name: l.name.clone(),
                addr: l.client_addr,
            })
            .collect()
    }

    fn index(&self, node: &str) -> Result<usize, ControlError> {
        self.names
            .iter()
            .position(|n| n == node)
            .ok_or_else(|| ControlError::NodeNotFound(node.to_string()))
    }

    /// Sets extra environment for node `i`'s later starts.
    pub fn set_node_env(&self, i: usize, env: Vec<(String, String)>) {
        lock(&self.nodes[i]).set_env(env);
    }

    pub fn start_all(&self) -> Result<(), ControlError> {
        for n in &self.nodes {
            lock(n).start()?;
        }
        Ok(())
    }

    /// Stops every node (resuming paused ones first), waiting up to `grace` each.
    pub fn stop_all(&self, grace: Duration) {
        for n in &self.nodes {
            lock(n).stop(grace);
        }
    }

    /// Stops every node (SIGTERM, SIGKILL after `grace`), then starts them all again.
    pub fn restart_all(&self, grace: Duration) -> Result<(), ControlError> {
        self.stop_all(grace);
        self.start_all()
    }

    /// Kills every node at once (for emergencies).
    pub fn kill_all(&self) {
        for n in &self.nodes {
            let _ = lock(n).kill();
        }
    }

    /// Process ids of the nodes now running.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(|n| lock(n).pid()).collect()
    }

    pub fn is_running(&self, i: usize) -> bool {
        lock(&self.nodes[i]).is_running()
    }

    /// A node's answer to the `status` op, as its descriptor reads it.
    pub async fn status(&self, i: usize, timeout: Duration) -> Result<wire::Status, ControlError> {
        self.system
            .status(self.layouts[i].client_addr, timeout)
            .await
            .map_err(|source| ControlError::Status {
                node: self.names[i].clone(),
                source,
            })
    }

    /// Every node's status, `None` where it did not answer with one.
    pub async fn statuses(&self, timeout: Duration) -> Vec<Option<wire::Status>> {
        let mut set = tokio::task::JoinSet::new();
        for (i, l) in self.layouts.iter().enumerate() {
            let status = self.system.status(l.client_addr, timeout);
            set.spawn(async move { (i, status.await) });
        }
        let mut out = vec![None; self.layouts.len()];
        while let Some(Ok((i, r))) = set.join_next().await {
            out[i] = r.ok();
        }
        out
    }

    /// The node that leads and serves, with the highest term or epoch among those that do.
    pub async fn find_leader(&self) -> Option<String> {
        let st = self.statuses(Duration::from_millis(500)).await;
        st.iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().filter(|s| s.leads()).map(|s| (i, s)))
            .max_by_key(|(i, s)| (s.generation.value(), std::cmp::Reverse(*i)))
            .map(|(i, _)| self.names[i].clone())
    }

    /// Waits until every running node answers `status` and one of them leads. Returns the leader.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<String, ControlError> {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.statuses(Duration::from_millis(500)).await;
            let answered = st.iter().filter(|s| s.is_some()).count();
            if answered == self.layouts.len() {
                if let Some(l) = self.find_leader().await {
                    return Ok(l);
                }
            }
            if Instant::now() >= deadline {
                let missing: Vec<String> = st
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.is_none())
                    .map(|(i, _)| self.names[i].clone())
                    .collect();
                return Err(if missing.is_empty() {
                    ControlError::NoLeader(timeout)
                } else {
                    ControlError::NoAnswer { missing, timeout }
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Names, addresses, proxy links and command lines, for test.json.
    pub fn describe(&self) -> Value {
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                let n = lock(n);
                json!({
                    "name": n.layout.name,
                    "host": n.layout.host.to_string(),
                    "client_addr": n.layout.client_addr.to_string(),
                    "peer_addr": n.layout.peer_addr.to_string(),
                    "peer_addrs": n.layout.peer_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    "data_dir": n.layout.data_dir.display().to_string(),
                    "log": n.layout.log_path.display().to_string(),
                    "command": n.command_line(),
                })
            })
            .collect();
        let links: Vec<Value> = self
            .proxy
            .links()
            .iter()
            .map(|l| json!({"from": self.names[l.from], "to": self.names[l.to], "port": l.port, "listen": l.listen.to_string(), "target": l.target.to_string()}))
            .collect();
        json!({"system": self.system.name(), "nodes": nodes, "proxy_links": links})
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

impl nemeses::Cluster for LocalCluster {
    fn node_names(&self) -> Vec<String> {
        self.names.clone()
    }

    async fn set_grudge(&self, grudge: &Grudge) -> Result<(), ClusterError> {
        Ok(self.proxy.set_grudge(grudge).map_err(ControlError::from)?)
    }

    async fn kill(&self, node: &str) -> Result<(), ClusterError> {
        let i = self.index(node)?;
        Ok(lock(&self.nodes[i]).kill()?)
    }

    async fn start(&self, node: &str) -> Result<(), ClusterError> {
        let i = self.index(node)?;
        Ok(lock(&self.nodes[i]).start()?)
    }

    async fn pause(&self, node: &str) -> Result<(), ClusterError> {
        let i = self.index(node)?;
        Ok(lock(&self.nodes[i]).pause()?)
    }

    async fn resume(&self, node: &str) -> Result<(), ClusterError> {
        let i = self.index(node)?;
        Ok(lock(&self.nodes[i]).resume()?)
    }

    async fn leader(&self) -> Option<String> {
        self.find_leader().await
    }

    async fn synchronizing(&self, node: &str) -> Option<bool> {
        let i = self.index(node).ok()?;
        let s = self.status(i, Duration::from_millis(200)).await.ok()?;
        let elected = !matches!(
            s.role,
            wire::Role::Candidate | wire::Role::PreCandidate | wire::Role::Looking
        );
        s.serving.map(|serving| elected && !serving)
    }
}
