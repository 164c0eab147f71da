//! `zab-node`: one server of a ZooKeeper-style ensemble replicated by ZAB.

use anyhow::Context;
use clap::Parser;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zab::bug::{Bug, BugSet};
use zab::server::{run, NodeConfig};

#[derive(Parser, Debug)]
#[command(
    name = "zab-node",
    about = "One server of a ZooKeeper-style ensemble replicated by ZAB."
)]
struct Args {
    /// This server's id (a positive integer, unique in the ensemble).
    #[arg(long, required_unless_present = "list_bugs")]
    id: Option<u64>,
    /// Address for client connections (Contract 2, JSON lines).
    #[arg(long, required_unless_present = "list_bugs")]
    client_addr: Option<SocketAddr>,
    /// Address for connections from the other servers.
    #[arg(long, required_unless_present = "list_bugs")]
    peer_addr: Option<SocketAddr>,
    /// Every server's peer address as a comma-separated list of id=host:port (this server's
    /// entry may be omitted). The addresses may be proxies.
    #[arg(long, required_unless_present = "list_bugs")]
    peers: Option<String>,
    /// Data directory (epoch files, transaction log, snapshots).
    #[arg(long, required_unless_present = "list_bugs")]
    data_dir: Option<PathBuf>,
    /// Length of a tick in milliseconds.
    #[arg(long, default_value_t = 50)]
    tick_ms: u64,
    /// Ticks a leader and its followers have to finish discovery and synchronization.
    #[arg(long, default_value_t = 40)]
    init_limit: u64,
    /// Ticks without word from the leader (or from a quorum, for the leader) before giving up.
    #[arg(long, default_value_t = 20)]
    sync_limit: u64,
    /// Snapshot every snapCount/2..snapCount transactions (randomized, as ZooKeeper does).
    /// ZooKeeper's default: a snapshot writes the whole tree, so its cost per transaction is
    /// the tree's size over snapCount.
    #[arg(long, default_value_t = 100_000)]
    snap_count: u64,
    /// Committed proposals kept in memory for DIFF; learners further behind get a SNAP.
    #[arg(long, default_value_t = 500)]
    committed_log_max: usize,
    /// Milliseconds a client request may wait for its outcome before `timeout`.
    #[arg(long, default_value_t = 5000)]
    request_timeout_ms: u64,
    /// Re-introduce a historical bug (repeatable); `--list-bugs` names them.
    #[arg(long = "bug")]
    bugs: Vec<String>,
    /// Print the bugs `--bug` accepts, one a line (name, a tab, what it breaks), and exit.
    #[arg(long, exclusive = true)]
    list_bugs: bool,
}

fn parse_peers(s: &str) -> anyhow::Result<BTreeMap<u64, SocketAddr>> {
    let mut out = BTreeMap::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (id, addr) = item
            .split_once('=')
            .with_context(|| format!("--peers entry {item:?} is not of the form id=host:port"))?;
        let id: u64 = id
            .trim()
            .parse()
            .with_context(|| format!("--peers entry {item:?} has a non-numeric id"))?;
        let addr: SocketAddr = addr
            .trim()
            .parse()
            .with_context(|| format!("--peers entry {item:?} has an invalid address"))?;
        if out.insert(id, addr).is_some() {
            anyhow::bail!("--peers names server {id} twice");
        }
    }
    Ok(out)
}

fn config(a: Args) -> anyhow::Result<NodeConfig> {
    let mut bugs = BugSet::new();
    for b in &a.bugs {
        bugs.insert(b.parse::<Bug>()?);
    }
    let need = |name: &str| anyhow::anyhow!("{name} is required (see --help)");
    let peers = parse_peers(a.peers.as_deref().ok_or_else(|| need("--peers"))?)?;
    if a.tick_ms == 0 || a.init_limit == 0 || a.sync_limit == 0 || a.snap_count == 0 {
        anyhow::bail!("--tick-ms, --init-limit, --sync-limit and --snap-count must be positive");
    }
    Ok(NodeConfig {
        id: a.id.ok_or_else(|| need("--id"))?,
        client_addr: a.client_addr.ok_or_else(|| need("--client-addr"))?,
        peer_addr: a.peer_addr.ok_or_else(|| need("--peer-addr"))?,
        peers,
        data_dir: a.data_dir.ok_or_else(|| need("--data-dir"))?,
        tick: Duration::from_millis(a.tick_ms),
        init_limit: a.init_limit,
        sync_limit: a.sync_limit,
        snap_count: a.snap_count,
        committed_log_max: a.committed_log_max.max(1),
        request_timeout: Duration::from_millis(a.request_timeout_ms.max(1)),
        bugs,
    })
}

fn main() {
    let args = Args::parse();
    if args.list_bugs {
        print!("{}", zab::bug::list());
        return;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zab-node: {e:#}");
            std::process::exit(2);
        }
    };
    if !cfg.bugs.is_empty() {
        tracing::warn!(bugs = ?cfg.bugs, "re-introduced bugs are switched on");
    }
    // The event loop runs on this thread (`block_on`), blocking in its fsyncs; the workers run
    // the network and client tasks meanwhile.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zab-node: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(cfg)) {
        eprintln!("zab-node: {e:#}");
        std::process::exit(1);
    }
}
