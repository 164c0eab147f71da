//! Systems under test as descriptors (Jepsen's `db` + `client`): everything the harness knows
//! about a system lives in one module here, behind [`System`] — its binary and package, each
//! node's command line and id scheme, its client, the workloads that client speaks, its bug
//! switches and how to read a node's `status`.
//!
//! Adding a system is one descriptor file here (listed in [`SYSTEMS`]) plus its client in
//! workloads/src/client/. Nothing else in the harness names a system.

mod etcd;
mod noop;
mod paxos;
mod raft;
mod twopc;
mod zab;
mod zookeeper;

use crate::control::{locate_binary, locate_installed, ControlError, NodeLayout};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use workloads::client::{call_once, BoxClient, ClientOptions, Endpoint};
use workloads::WorkloadKind;

/// Every system `faultline test --system` accepts, in the order `--help` lists them.
pub static SYSTEMS: &[&dyn System] = &[
    &raft::Raft,
    &zab::Zab,
    &paxos::Paxos,
    &twopc::Twopc,
    &etcd::Etcd,
    &zookeeper::ZooKeeper,
    &noop::Noop,
];

/// The descriptor named `name`.
pub fn find(name: &str) -> Result<&'static dyn System, DbError> {
    SYSTEMS
        .iter()
        .copied()
        .find(|s| s.name() == name)
        .ok_or_else(|| DbError::UnknownSystem {
            name: name.to_string(),
            known: names(),
        })
}

/// The known systems' names, comma-separated.
pub fn names() -> String {
    SYSTEMS
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every workload there is, for a system whose client speaks them all.
pub const EVERY_WORKLOAD: &[WorkloadKind] = &[
    WorkloadKind::Register,
    WorkloadKind::Set,
    WorkloadKind::Kv,
    WorkloadKind::ListAppend,
    WorkloadKind::RwRegister,
];

/// A system's node program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// Built from this workspace: the cargo package that builds it and the binary's name.
    Cargo {
        bin: &'static str,
        package: &'static str,
    },
    /// Installed on the machine (etcd, java): found in `--bin-dir` or on `PATH`; when absent the
    /// error names the Debian package that provides it.
    Installed {
        bin: &'static str,
        debian_package: &'static str,
    },
}

impl Binary {
    /// The program's file name.
    pub fn bin(&self) -> &'static str {
        match self {
            Binary::Cargo { bin, .. } | Binary::Installed { bin, .. } => bin,
        }
    }

    /// Where the program is: for a cargo binary see [`locate_binary`]; an installed one is looked
    /// for in `dir`, then on `PATH`.
    pub fn locate(&self, dir: Option<&Path>) -> Result<PathBuf, ControlError> {
        match *self {
            Binary::Cargo { bin, package } => locate_binary(bin, package, dir),
            Binary::Installed {
                bin,
                debian_package,
            } => locate_installed(bin, debian_package, dir),
        }
    }
}

/// One peer a node dials: its position, name and the addresses to dial (the proxy's), one per
/// peer port of the system (see [`System::peer_ports`]); `addr` is the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub index: usize,
    pub name: String,
    pub addr: SocketAddr,
    pub addrs: Vec<SocketAddr>,
}

/// One re-introducible bug, as the node's `--list-bugs` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bug {
    pub name: String,
    /// What it breaks.
    pub breaks: String,
}

/// Makes the client of worker or final read `n` (spread over the nodes by the descriptor).
pub type Clients = Arc<dyn Fn(usize) -> BoxClient + Send + Sync>;

/// A boxed future (descriptors are trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What went wrong with a system's descriptor or its binary.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unknown system {name:?}: known systems are {known}")]
    UnknownSystem { name: String, known: String },
    #[error("the {system} system does not run the {workload} workload: it runs {supported}")]
    UnsupportedWorkload {
        system: &'static str,
        workload: &'static str,
        supported: String,
    },
    #[error("the {system} system has no bug {bug:?}: its bugs are {known}")]
    UnknownBug {
        system: &'static str,
        bug: String,
        known: String,
    },
    #[error("cannot run {} --list-bugs: {source}", .binary.display())]
    ListBugs {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} --list-bugs failed ({status}): {stderr}", .binary.display())]
    ListBugsFailed {
        binary: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{} --list-bugs printed {line:?}, not a name, a tab and what it breaks", .binary.display())]
    BadBugLine { binary: PathBuf, line: String },
}

impl DbError {
    /// Whether the user asked for something that does not exist (bad arguments) rather than the
    /// harness failing to run a binary.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            DbError::UnknownSystem { .. }
                | DbError::UnsupportedWorkload { .. }
                | DbError::UnknownBug { .. }
        )
    }
}

/// Why a node's status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No answer: the node is down, paused or cut off.
    #[error(transparent)]
    Unreachable(#[from] workloads::client::ConnError),
    #[error(transparent)]
    Status(#[from] wire::StatusError),
    /// A system not reached by Contract 2 (etcd): its descriptor's sentence.
    #[error("{0}")]
    Other(String),
}

/// How the proxy tells which node a peer connection comes from.
#[derive(Debug, Clone, Copy)]
pub enum PeerRouting {
    /// One listener per ordered pair of nodes (and peer port): node a dials the (a, b) listener
    /// to reach b, so the listener names the sender.
    PerPair,
    /// One listener per node, shared by every sender, for a system whose nodes must all be told
    /// the same peer addresses (etcd: member ids hash the peer URLs). A sender names itself in a
    /// request header `header` of its peer traffic, with value `sender_ids(listeners)[i]` for
    /// node i, where `listeners[i]` is node i's shared listener. The `peers` given to
    /// [`System::prepare_node`] and [`System::node_args`] then include the node itself, at its own
    /// shared listener (the address every other node reaches it at).
    SharedByHeader {
        header: &'static str,
        sender_ids: fn(&[SocketAddr]) -> Vec<String>,
    },
}

/// A system under test.
pub trait System: Send + Sync {
    /// Its `--system` name.
    fn name(&self) -> &'static str;

    /// Its node binary; `None` for a system that runs inside the harness (it has no nodes, so it
    /// takes no faults).
    fn binary(&self) -> Option<Binary>;

    /// Where its node program is on this machine (`dir` is `--bin-dir`); `None` for a system
    /// without nodes. A system whose nodes need more than one file (a JVM and its jars) checks
    /// the rest here too.
    fn program(&self, dir: Option<&Path>) -> Result<Option<PathBuf>, ControlError> {
        self.binary().map(|b| b.locate(dir)).transpose()
    }

    /// How many peer ports a node listens on (ZooKeeper: quorum and election). The proxy
    /// forwards each ordered pair of nodes once per port; [`NodeLayout::peer_addrs`] and
    /// [`Peer::addrs`] have this many addresses.
    fn peer_ports(&self) -> usize {
        1
    }

    /// How the proxy tells the sender of a peer connection.
    fn peer_routing(&self) -> PeerRouting {
        PeerRouting::PerPair
    }

    /// Writes what node `node` needs in its directories before it first starts (a config file,
    /// an id file), knowing the `peers` it dials. Called once per run, after the layout.
    fn prepare_node(&self, node: &NodeLayout, peers: &[Peer]) -> std::io::Result<()> {
        let _ = (node, peers);
        Ok(())
    }

    /// The longest a follower waits for its leader with the command line the harness gives it:
    /// the unit of the leader-aimed fault schedules' times.
    fn election_timeout_ms(&self) -> u64 {
        300
    }

    /// When the names its nodes create in their data directories become durable under the
    /// `lose-unsynced` fault: by default only at an fsync of their directory (POSIX).
    fn fault_fs_names(&self) -> faultfs::Names {
        faultfs::Names::AtDirectoryFsync
    }

    /// Whether clock faults reach its nodes: libfaketime moves the clock of a program that reads
    /// it through libc. `Err` says why not.
    fn clock_faults(&self) -> Result<(), &'static str> {
        Ok(())
    }

    /// The workloads its client speaks.
    /// `faultline test` arguments under which the system promises linearizable reads: a
    /// campaign runs every cell with them, so that any history the checkers reject is a finding
    /// (zab's local reads are only sequentially consistent without sync).
    fn linearizable_args(&self) -> &'static [&'static str] {
        &[]
    }

    fn workloads(&self) -> &'static [WorkloadKind];

    /// Node `index`'s id as its command line and its `status` give it (`name` is `n1`, `n2`, …);
    /// by default the name itself.
    fn node_id(&self, index: usize, name: &str) -> String {
        let _ = index;
        name.to_string()
    }

    /// Node `node`'s command line: it dials `peers`; `extra` goes last.
    fn node_args(&self, node: &NodeLayout, peers: &[Peer], extra: &[String]) -> Vec<String> {
        let peer_list = peers
            .iter()
            .map(|p| format!("{}={}", self.node_id(p.index, &p.name), p.addr))
            .collect::<Vec<_>>()
            .join(",");
        let mut args = vec![
            "--id".to_string(),
            self.node_id(node.index, &node.name),
            "--client-addr".into(),
            node.client_addr.to_string(),
            "--peer-addr".into(),
            node.peer_addr.to_string(),
            "--peers".into(),
            peer_list,
            "--data-dir".into(),
            node.data_dir.display().to_string(),
        ];
        args.extend(extra.iter().cloned());
        args
    }

    /// The bugs `binary` can switch on (its `--list-bugs`, one a line: name, a tab, what it
    /// breaks); none for an installed program (etcd, ZooKeeper), which has no such switches.
    fn bugs(&self, binary: &Path) -> Result<Vec<Bug>, DbError> {
        match self.binary() {
            Some(Binary::Installed { .. }) => Ok(Vec::new()),
            _ => list_bugs(binary),
        }
    }

    /// The node arguments that switch `bug` on.
    fn bug_args(&self, bug: &str) -> Vec<String> {
        vec![format!("--bug={bug}")]
    }

    /// The clients of a run whose nodes clients reach at `endpoints` (empty for an in-process
    /// system).
    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients;

    /// A node's answer to `status`, typed.
    fn status(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<wire::Status, StatusError>> {
        Box::pin(async move {
            let r = call_once(addr, wire::Op::Status, timeout)
                .await
                .map_err(StatusError::Unreachable)?;
            Ok(wire::Status::from_response(&r)?)
        })
    }
}

impl std::fmt::Debug for dyn System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks that `system` runs `workload`.
pub fn check_workload(system: &dyn System, workload: WorkloadKind) -> Result<(), DbError> {
    if system.workloads().contains(&workload) {
        return Ok(());
    }
    Err(DbError::UnsupportedWorkload {
        system: system.name(),
        workload: workload.name(),
        supported: system
            .workloads()
            .iter()
            .map(|w| w.name())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Checks that `bugs` are all bugs of `system` (whose node binary is `binary`).
pub fn check_bugs(system: &dyn System, binary: &Path, bugs: &[String]) -> Result<(), DbError> {
    if bugs.is_empty() {
        return Ok(());
    }
    let known = system.bugs(binary)?;
    for b in bugs {
        if !known.iter().any(|k| &k.name == b) {
            return Err(DbError::UnknownBug {
                system: system.name(),
                bug: b.clone(),
                known: known
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

/// Runs `binary --list-bugs` and reads its lines.
pub fn list_bugs(binary: &Path) -> Result<Vec<Bug>, DbError> {
    let out = std::process::Command::new(binary)
        .arg("--list-bugs")
        .output()
        .map_err(|source| DbError::ListBugs {
            binary: binary.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(DbError::ListBugsFailed {
            binary: binary.to_path_buf(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    parse_bug_list(&String::from_utf8_lossy(&out.stdout)).map_err(|line| DbError::BadBugLine {
        binary: binary.to_path_buf(),
        line,
    })
}

/// The lines of a `--list-bugs` output; `Err` names the first line that is not `name\twhat`.
fn parse_bug_list(text: &str) -> Result<Vec<Bug>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('\t') {
            Some((name, breaks)) if !name.trim().is_empty() => Ok(Bug {
                name: name.trim().to_string(),
                breaks: breaks.trim().to_string(),
            }),
            _ => Err(l.to_string()),
        })
        .collect()
}

/// The clients of a system whose nodes all take the same client, worker `n` on node `n mod
/// nodes` (none when there are no endpoints: every client then gets a connection error).
fn spread<C, F>(endpoints: Vec<Endpoint>, make: F) -> Clients
where
    C: workloads::client::Client + 'static,
    F: Fn(Endpoint) -> C + Send + Sync + 'static,
{
    Arc::new(move |n| {
        let ep = endpoints.get(n % endpoints.len().max(1)).cloned();
        BoxClient::new(make(ep.unwrap_or_else(|| Endpoint {
            name: "none".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        })))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_systems_name_the_known_ones() {
        let e = find("mysql").unwrap_err();
        assert!(e.is_bad_input());
        assert_eq!(
            e.to_string(),
            "unknown system \"mysql\": known systems are raft, zab, paxos, twopc, etcd, zookeeper, noop"
        );
        for s in SYSTEMS {
            assert_eq!(find(s.name()).unwrap().name(), s.name());
        }
    }

    #[test]
    fn bug_lists_are_name_tab_description() {
        let l = parse_bug_list("local-read\treads skip ReadIndex\n\nZOOKEEPER-335\tagreement: x\n")
            .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].name, "ZOOKEEPER-335");
        assert_eq!(l[0].breaks, "reads skip ReadIndex");
        assert_eq!(
            parse_bug_list("local-read reads skip").unwrap_err(),
            "local-read reads skip"
        );
    }

    #[test]
    fn workloads_a_system_lacks_are_refused_by_name() {
        let zab = find("zab").unwrap();
        let e = check_workload(zab, WorkloadKind::ListAppend).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the zab system does not run the list-append workload: it runs register, set, kv"
        );
        assert!(check_workload(find("raft").unwrap(), WorkloadKind::ListAppend).is_ok());
    }
}
