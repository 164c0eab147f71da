//! Apache ZooKeeper (Debian's `zookeeper` package, 3.8) as a system under test. Each node is
//! `java … org.apache.zookeeper.server.quorum.QuorumPeerMain <node dir>/zoo.cfg`, started as the
//! JVM itself (no shell in between) so that kill and pause signals reach it. Its snapshots and
//! transaction log live in the node's data directory (on the fault filesystem under
//! `lose-unsynced`), with the `myid` file ZooKeeper reads its server id from.
//!
//! Peer traffic passes through the harness's proxy: every node gets its own `zoo.cfg` whose
//! `server.N=` line for itself has its real quorum and election ports, and whose lines for the
//! other servers name the proxy's listeners for (this node → that server), one per port. Status
//! comes from the four-letter words `srvr` (mode and zxid) and `conf` (server id) on the client
//! port.

use super::{spread, Binary, BoxFuture, Clients, Peer, StatusError, System};
use crate::control::{ControlError, NodeLayout};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workloads::client::{ClientOptions, ConnError, Endpoint, ZooKeeperClient};
use workloads::WorkloadKind;

/// The ZooKeeper server's jar (its manifest's Class-Path names the jars it needs).
const SERVER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// slf4j's simple logger: ZooKeeper's log lines on stderr, so in the node's log.
const LOG_JAR: &str = "/usr/share/java/slf4j-simple.jar";
const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
const DEBIAN_PACKAGE: &str = "zookeeper";

/// ZooKeeper's tick: sessions, syncs and elections are counted in ticks.
const TICK_MS: u64 = 200;
/// Ticks a follower may take to connect and sync to a new leader.
const INIT_LIMIT: u64 = 10;
/// Ticks a follower may lag behind its leader before either gives up on the other.
const SYNC_LIMIT: u64 = 5;

pub struct ZooKeeper;

/// The classpath of the server: its jar, and the simple logger when it is installed.
fn classpath() -> String {
    if Path::new(LOG_JAR).is_file() {
        format!("{SERVER_JAR}:{LOG_JAR}")
    } else {
        SERVER_JAR.to_string()
    }
}

/// Node `node`'s zoo.cfg: its own ports for itself, the proxy's for every peer.
pub fn zoo_cfg(node: &NodeLayout, peers: &[Peer]) -> String {
    let data = node.data_dir.display();
    let mut s = format!(
        "# written by faultline for {name}\n\
         tickTime={TICK_MS}\n\
         initLimit={INIT_LIMIT}\n\
         syncLimit={SYNC_LIMIT}\n\
         dataDir={data}\n\
         dataLogDir={data}\n\
         clientPortAddress={chost}\n\
         clientPort={cport}\n\
         maxClientCnxns=0\n\
         4lw.commands.whitelist=*\n\
         admin.enableServer=false\n\
         standaloneEnabled=false\n\
         reconfigEnabled=false\n\
         quorumListenOnAllIPs=false\n\
         # transaction log files grow by 1 MiB, not 64 (they live on the fault filesystem)\n\
         preAllocSize=1024\n\
         # a snapshot every ~1000 transactions, so runs exercise snapshots and log truncation\n\
         snapCount=1000\n\
         autopurge.purgeInterval=0\n\
         # election connections give up after 1 s, not 5 (a partitioned peer)\n\
         cnxTimeout=1000\n",
        name = node.name,
        chost = node.client_addr.ip(),
        cport = node.client_addr.port(),
    );
    // A server line has one host for both ports: the proxy listens on 127.0.0.1 for every link,
    // and a node's own ports are on its own address.
    let mut servers: Vec<(usize, SocketAddr, SocketAddr)> = peers
        .iter()
        .filter_map(|p| Some((p.index, *p.addrs.first()?, *p.addrs.get(1)?)))
        .collect();
    if let [quorum, election, ..] = node.peer_addrs[..] {
        servers.push((node.index, quorum, election));
    }
    servers.sort_unstable_by_key(|s| s.0);
    for (index, quorum, election) in servers {
        let _ = writeln!(
            s,
            "server.{}={}:{}:{}",
            index + 1,
            quorum.ip(),
            quorum.port(),
            election.port()
        );
    }
    s
}

/// What `srvr` says: the mode and the last zxid, or that the server does not serve (it looks
/// for a leader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srvr {
    pub mode: Option<String>,
    pub zxid: u64,
}

/// Reads `srvr`'s answer.
pub fn parse_srvr(text: &str) -> Srvr {
    let mut out = Srvr {
        mode: None,
        zxid: 0,
    };
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("Mode:") {
            out.mode = Some(m.trim().to_string());
        } else if let Some(z) = line.strip_prefix("Zxid:") {
            let z = z.trim();
            out.zxid = z
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .or_else(|| z.parse().ok())
                .unwrap_or(0);
        }
    }
    out
}

/// The server id `conf` gives (`serverId=N`).
pub fn parse_server_id(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("serverId="))
        .and_then(|v| v.trim().parse().ok())
}

/// The typed status of a node whose `srvr` said `srvr` and whose `conf` gave `id`.
pub fn status_of(srvr: &Srvr, id: Option<u64>) -> wire::Status {
    let role = match srvr.mode.as_deref() {
        Some("leader") | Some("standalone") => wire::Role::Leading,
        Some("follower") | Some("observer") => wire::Role::Following,
        _ => wire::Role::Looking,
    };
    let node = wire::NodeRef::Number(id.unwrap_or(0));
    let mut extra = serde_json::Map::new();
    extra.insert("zxid".into(), format!("0x{:x}", srvr.zxid).into());
    if let Some(m) = &srvr.mode {
        extra.insert("mode".into(), m.clone().into());
    }
    wire::Status {
        leader: role.is_leader().then(|| node.clone()),
        node,
        role,
        generation: wire::Generation::Epoch(srvr.zxid >> 32),
        commit: srvr.zxid,
        serving: None,
        extra,
    }
}

/// Sends the four-letter word `cmd` to `addr` and reads the answer to its end.
async fn four_letter(addr: SocketAddr, cmd: &str, timeout: Duration) -> Result<String, ConnError> {
    let talk = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|source| ConnError::Connect { addr, source })?;
        s.write_all(cmd.as_bytes()).await.map_err(ConnError::Send)?;
        let mut buf = Vec::new();
        s.take(1 << 20)
            .read_to_end(&mut buf)
            .await
            .map_err(ConnError::Receive)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    tokio::time::timeout(timeout, talk)
        .await
        .unwrap_or(Err(ConnError::Timeout { addr, timeout }))
}

impl System for ZooKeeper {
    fn name(&self) -> &'static str {
        "zookeeper"
    }

    fn binary(&self) -> Option<Binary> {
        Some(Binary::Installed {
            bin: "java",
            debian_package: DEBIAN_PACKAGE,
        })
    }

    /// java, and ZooKeeper's jar.
    fn program(&self, dir: Option<&Path>) -> Result<Option<PathBuf>, ControlError> {
        let java = self.binary().map(|b| b.locate(dir)).transpose()?;
        if !Path::new(SERVER_JAR).is_file() {
            return Err(ControlError::NotInstalledFile {
                what: "ZooKeeper's server jar",
                path: SERVER_JAR.into(),
                debian_package: DEBIAN_PACKAGE,
            });
        }
        Ok(java)
    }

    /// Quorum and election.
    fn peer_ports(&self) -> usize {
        2
    }

    fn prepare_node(&self, node: &NodeLayout, peers: &[Peer]) -> std::io::Result<()> {
        std::fs::write(node.dir.join("zoo.cfg"), zoo_cfg(node, peers))?;
        std::fs::write(node.data_dir.join("myid"), format!("{}\n", node.index + 1))
    }

    /// A follower gives up on its leader after syncLimit ticks, then elects.
    fn election_timeout_ms(&self) -> u64 {
        SYNC_LIMIT * TICK_MS * 2
    }

    /// Local reads may be stale; sync before each read is ZooKeeper's way to fresher ones.
    fn linearizable_args(&self) -> &'static [&'static str] {
        &["--sync-reads"]
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        &[WorkloadKind::Register, WorkloadKind::Set, WorkloadKind::Kv]
    }

    fn node_id(&self, index: usize, _name: &str) -> String {
        (index + 1).to_string()
    }

    /// JVM options, then `--node-arg`s (more JVM options, such as `-Dzookeeper.x=y`), then the
    /// main class and the node's zoo.cfg.
    fn node_args(&self, node: &NodeLayout, _peers: &[Peer], extra: &[String]) -> Vec<String> {
        let mut args = vec![
            "-Xmx256m".to_string(),
            "-XX:+UseSerialGC".into(),
            "-XX:TieredStopAtLevel=1".into(),
            "-Djava.awt.headless=true".into(),
            // Elections back off to 1 s between rounds, not 60.
            "-Dzookeeper.fastleader.maxNotificationInterval=1000".into(),
            "-Dorg.slf4j.simpleLogger.showDateTime=true".into(),
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS".into(),
            "-cp".into(),
            classpath(),
        ];
        args.extend(extra.iter().cloned());
        args.push(MAIN_CLASS.into());
        args.push(node.dir.join("zoo.cfg").display().to_string());
        args
    }

    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients {
        spread(endpoints, move |ep| {
            ZooKeeperClient::new(ep, opts.op_timeout, opts.sync_reads)
        })
    }

    fn status(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<wire::Status, StatusError>> {
        Box::pin(async move {
            let srvr = parse_srvr(&four_letter(addr, "srvr", timeout).await?);
            let id = four_letter(addr, "conf", timeout)
                .await
                .ok()
                .and_then(|t| parse_server_id(&t));
            Ok(status_of(&srvr, id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_gives_the_mode_and_the_epoch() {
        let t = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
                 Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\n\
                 Outstanding: 0\nZxid: 0x300000007\nMode: leader\nNode count: 5\n";
        let s = parse_srvr(t);
        assert_eq!(s.mode.as_deref(), Some("leader"));
        assert_eq!(s.zxid, 0x3_0000_0007);
        let st = status_of(&s, Some(2));
        assert!(st.leads());
        assert_eq!(st.generation, wire::Generation::Epoch(3));
        assert_eq!(st.leader, Some(wire::NodeRef::Number(2)));
        let f = status_of(&parse_srvr("Zxid: 0x200000001\nMode: follower\n"), Some(1));
        assert!(!f.leads());
        assert_eq!(f.role, wire::Role::Following);
        let l = parse_srvr("This ZooKeeper instance is not currently serving requests\n");
        assert_eq!(l.mode, None);
        assert_eq!(status_of(&l, None).role, wire::Role::Looking);
        assert_eq!(parse_server_id("clientPort=1\nserverId=3\n"), Some(3));
    }
}
