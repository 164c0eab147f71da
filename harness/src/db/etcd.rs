//! etcd 3.4 (Debian's `etcd-server`): members run as local processes with their data in the
//! node's data directory (under lose-unsynced's FUSE layer when that fault is on) and their log
//! in the node log; clients speak the v3 JSON gateway (workloads/src/client/etcd.rs).
//!
//! # Peer traffic through the proxy
//!
//! etcd derives member ids from the `--initial-cluster` peer URLs (and the cluster token), so
//! every member must be told the same URL for each peer: the proxy's one-listener-per-pair
//! scheme cannot work. Instead each member's advertised peer URL is its own shared proxy
//! listener ([`PeerRouting::SharedByHeader`]), and the proxy tells the sending member of each
//! connection from the `X-Server-From` header etcd's rafthttp puts on every stream, pipeline and
//! snapshot request. Its value is the sender's member id in hex, computed here as etcd 3.4's
//! `membership.NewMember` does: the first 8 bytes (big-endian) of the sha1 of the member's
//! sorted peer URLs, concatenated, followed by the cluster token. Each member listens for peers
//! on its own address (`--listen-peer-urls`) and never on the advertised one.
//!
//! # Command line
//!
//! Short timings, so that faults turn into elections within a run: a heartbeat every 100 ms and
//! an election timeout of 1 s. A restarted member finds its WAL and ignores the bootstrap flags.

use super::{spread, Binary, BoxFuture, Clients, PeerRouting, StatusError, System};
use crate::control::NodeLayout;
use crate::db::Peer;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use wire::{Generation, NodeRef, Role};
use workloads::client::{etcd_status, ClientOptions, Endpoint, EtcdClient};
use workloads::WorkloadKind;

/// The `--initial-cluster-token` of every run (each run starts with empty data directories).
pub const CLUSTER_TOKEN: &str = "faultline";
const HEARTBEAT_MS: u64 = 100;
const ELECTION_MS: u64 = 1000;

pub struct Etcd;

/// The peer URL a member is known by.
fn peer_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// etcd 3.4's id of a member bootstrapped with `peer_urls` in a cluster named `token`.
pub fn member_id(peer_urls: &[String], token: &str) -> u64 {
    let mut urls = peer_urls.to_vec();
    urls.sort();
    let mut h = sha1_smol::Sha1::new();
    h.update(urls.concat().as_bytes());
    h.update(token.as_bytes());
    let d = h.digest().bytes();
    u64::from_be_bytes(d[..8].try_into().expect("sha1 has 20 bytes"))
}

/// Each member's id in hex (etcd's `types.ID` form), when member i is known at `listeners[i]`.
fn sender_ids(listeners: &[SocketAddr]) -> Vec<String> {
    listeners
        .iter()
        .map(|&a| format!("{:x}", member_id(&[peer_url(a)], CLUSTER_TOKEN)))
        .collect()
}

impl System for Etcd {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn binary(&self) -> Option<Binary> {
        Some(Binary::Installed {
            bin: "etcd",
            debian_package: "etcd-server",
        })
    }

    fn clock_faults(&self) -> Result<(), &'static str> {
        // Checked 2026-12-03: under LD_PRELOAD=libfaketimeMT.so.1 FAKETIME=+100d, etcd 3.4.23 still
        // logs today's date.
        Err("etcd is a Go program, whose runtime reads the clock through the kernel's vDSO and never through libc, so libfaketime cannot move it")
    }

    /// etcd (3.4, Debian's) never fsyncs the directories it creates: `member/`, `member/snap`
    /// with its bbolt file, and the first WAL segment's entry in `member/wal` (renamed into
    /// place, the parent fsynced, the segment's own directory not). Under POSIX's names every
    /// lose-unsynced crash erases the whole member; the member then refuses to start ("member
    /// … has already been bootstrapped") while its peers answer, or rejoins with an empty log
    /// when they do not, which is the known class of etcd-io/etcd#6368 and #22340 and not
    /// what the fault is for. Names durable at once, as ext4's journal makes them, leave the
    /// fault losing what etcd wrote and did not fsync.
    fn fault_fs_names(&self) -> faultfs::Names {
        faultfs::Names::AtOnce
    }

    fn election_timeout_ms(&self) -> u64 {
        ELECTION_MS
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        &[WorkloadKind::Register, WorkloadKind::Set, WorkloadKind::Kv]
    }

    fn peer_routing(&self) -> PeerRouting {
        PeerRouting::SharedByHeader {
            header: "X-Server-From",
            sender_ids,
        }
    }

    /// `peers` includes the member itself (shared listeners), at its advertised peer URL.
    fn node_args(&self, node: &NodeLayout, peers: &[Peer], extra: &[String]) -> Vec<String> {
        let initial = peers
            .iter()
            .map(|p| format!("{}={}", p.name, peer_url(p.addr)))
            .collect::<Vec<_>>()
            .join(",");
        let advertised = peers
            .iter()
            .find(|p| p.index == node.index)
            .map_or(node.peer_addr, |p| p.addr);
        let client = format!("http://{}", node.client_addr);
        let mut args: Vec<String> = [
            "--name",
            &node.name,
            "--data-dir",
            &node.data_dir.display().to_string(),
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &peer_url(node.peer_addr),
            "--initial-advertise-peer-urls",
            &peer_url(advertised),
            "--initial-cluster",
            &initial,
            "--initial-cluster-token",
            CLUSTER_TOKEN,
            "--initial-cluster-state",
            "new",
            "--heartbeat-interval",
            &HEARTBEAT_MS.to_string(),
            "--election-timeout",
            &ELECTION_MS.to_string(),
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().cloned());
        args
    }

    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients {
        spread(endpoints, move |ep| {
            EtcdClient::new(ep, opts.op_timeout, opts.etcd_serializable_reads)
        })
    }

    /// `/v3/maintenance/status` (leader id, raft term and index) with the member list naming
    /// the ids: a member leads when the leader it reports is itself.
    fn status(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<wire::Status, StatusError>> {
        Box::pin(async move {
            let s = etcd_status(addr, timeout)
                .await
                .map_err(|e| StatusError::Other(e.to_string()))?;
            let name = |id: u64| {
                NodeRef::Name(
                    s.name_of(id)
                        .map_or_else(|| format!("{id:x}"), str::to_string),
                )
            };
            let mut extra = serde_json::Map::new();
            extra.insert("member_id".into(), json!(format!("{:x}", s.member_id)));
            extra.insert("revision".into(), json!(s.revision));
            Ok(wire::Status {
                node: name(s.member_id),
                role: if s.leader == s.member_id {
                    Role::Leader
                } else {
                    Role::Follower
                },
                generation: Generation::Term(s.raft_term),
                leader: (s.leader != 0).then(|| name(s.leader)),
                commit: s.raft_index,
                serving: None,
                extra,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_etcds() {
        // From a real etcd 3.4.23: --initial-advertise-peer-urls http://127.0.0.1:23801
        // --initial-cluster-token tok; /v3/cluster/member/list said ID 4627081221937520288.
        assert_eq!(
            member_id(&["http://127.0.0.1:23801".into()], "tok"),
            4627081221937520288
        );
        let ids = sender_ids(&[
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        ]);
        assert_ne!(ids[0], ids[1]);
        assert!(ids.iter().all(|i| u64::from_str_radix(i, 16).is_ok()));
    }
}
