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
    /// The first of `peer_addrs`.
    pub peer_addr: SocketAddr,
    /// Every peer port the node listens on (see `System::peer_ports`), all different.
    pub peer_addrs: Vec<SocketAddr>,
    /// `nodes/<name>` in the run directory.
    pub dir: PathBuf,
    pub data_dir: PathBuf,
    /// The node's stdout and stderr, appended across restarts.
    pub log_path: PathBuf,
}

impl NodeLayout {
    /// Lays out node `index` of a cluster whose loopback block is `net` (see [`cluster_net`]):
    /// its own address 127.a.b.(10 + index), a free client port and `peer_ports` (at least one)
    /// free peer ports there, and its directories (created).
    pub fn new(
        index: usize,
        net: (u8, u8),
        run_dir: &Path,
        peer_ports: usize,
    ) -> std::io::Result<NodeLayout> {
        let name = format!("n{}", index + 1);
        let host = IpAddr::V4(Ipv4Addr::new(127, net.0, net.1, 10 + (index % 240) as u8));
        let dir = run_dir.join("nodes").join(&name);
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)?;
        // Every port is picked while the earlier ones are still held, so they all differ.
        let mut held = vec![TcpListener::bind((host, 0))?];
        for _ in 0..peer_ports.max(1) {
            held.push(TcpListener::bind((host, 0))?);
        }
        let addrs = held
            .iter()
            .map(TcpListener::local_addr)
            .collect::<std::io::Result<Vec<_>>>()?;
        drop(held);
        let client_addr = addrs[0];
        let peer_addrs = addrs[1..].to_vec();
        let peer_addr = peer_addrs[0];
        Ok(NodeLayout {
            index,
            name,
            host,
            client_addr,
            peer_addr,
            peer_addrs,
            log_path: dir.join("node.log"),
            dir,
            data_dir,
        })
    }
}

/// The environment variable that fixes a run's loopback block (`a.b` for 127.a.b.0/24):
/// `faultline campaign --parallel N` gives each of its concurrent runs a block of its own.
pub const NET_ENV: &str = "FAULTLINE_LOOPBACK_NET";

/// A loopback block (127.a.b.0/24) for one cluster: the one [`NET_ENV`] names, else one different
/// for concurrent runs (drawn from the process id and the clock), so that clusters of parallel
/// tests never compete for a port and a restarted node finds its port free. Linux routes all of
/// 127.0.0.0/8 to the loopback device.
pub fn cluster_net() -> (u8, u8) {
    if let Some(net) = std::env::var(NET_ENV).ok().and_then(|v| parse_net(&v)) {
        return net;
    }
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let x = std::process::id()
        .wrapping_mul(2_654_435_761)
        .wrapping_add(nanos)
        .wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(40_503));
    // a in 1..=254 keeps clear of 127.0.0.x (used by everything else) and of 127.255.
    (1 + (x % 254) as u8, ((x >> 8) % 256) as u8)
}

/// `a.b` with a in 1..=254 (clear of 127.0.0.x and 127.255), b in 0..=255.
pub fn parse_net(s: &str) -> Option<(u8, u8)> {
    let (a, b) = s.trim().split_once('.')?;
    let a: u8 = a.parse().ok()?;
    let b: u8 = b.parse().ok()?;
    (1..=254).contains(&a).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_port_of_a_node_differs() {
        let d = tempfile::tempdir().unwrap();
        let l = NodeLayout::new(2, (9, 9), d.path(), 2).unwrap();
        assert_eq!(l.name, "n3");
        assert_eq!(l.peer_addrs.len(), 2);
        assert_eq!(l.peer_addr, l.peer_addrs[0]);
        let mut ports = vec![
            l.client_addr.port(),
            l.peer_addrs[0].port(),
            l.peer_addrs[1].port(),
        ];
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 3);
        assert!(l.data_dir.is_dir());
    }

    #[test]
    fn loopback_blocks_parse_only_in_range() {
        assert_eq!(parse_net("3.200"), Some((3, 200)));
        assert_eq!(parse_net("0.5"), None);
        assert_eq!(parse_net("255.5"), None);
        assert_eq!(parse_net("7"), None);
        assert_eq!(parse_net("7.300"), None);
    }
}
