//! Where a node lives: its name, loopback address, ports and directories inside the run directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct NodeLayout {
    /// 0-based position in the cluster.
    pub index: usize,
    /// `n1`, `n2`, …
    pub name: String,
    /// The node's own loopback address, 127.0.0.(10 + index).
    pub host: IpAddr,
    pub client_addr: SocketAddr,
    pub peer_addr: SocketAddr,
    /// `nodes/<name>` in the run directory.
    pub dir: PathBuf,
    pub data_dir: PathBuf,
    /// The node's stdout and stderr, appended across restarts.
    pub log_path: PathBuf,
}

impl NodeLayout {
    /// Lays out node `index`: a free client port and a free peer port on its own loopback
    /// address, and its directories (created).
    pub fn new(index: usize, run_dir: &Path) -> std::io::Result<NodeLayout> {
        let name = format!("n{}", index + 1);
        let host = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + (index as u8 % 240)));
        let dir = run_dir.join("nodes").join(&name);
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)?;
        Ok(NodeLayout {
            index,
            name,
            host,
            client_addr: free_port(host)?,
            peer_addr: free_port(host)?,
            log_path: dir.join("node.log"),
            dir,
            data_dir,
        })
    }
}

/// A port free on `host` right now (the kernel's choice for port 0).
fn free_port(host: IpAddr) -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind((host, 0))?;
    l.local_addr()
}
