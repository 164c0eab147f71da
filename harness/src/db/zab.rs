//! systems/zab's `zab-node`: a ZooKeeper-style ZAB ensemble of znodes; its client keeps
//! registers and sets in znodes. Nodes are numbered on their command lines (`1`, `2`, …), as
//! ZooKeeper's server ids are.

use super::{spread, Binary, Clients, System};
use workloads::client::{ClientOptions, Endpoint, ZabClient};
use workloads::WorkloadKind;

pub struct Zab;

impl System for Zab {
    fn name(&self) -> &'static str {
        "zab"
    }

    fn binary(&self) -> Option<Binary> {
        Some(Binary::Cargo {
            bin: "zab-node",
            package: "zab",
        })
    }

    /// zab-node's sync limit: 20 ticks of 50 ms.
    fn election_timeout_ms(&self) -> u64 {
        1000
    }

    /// Local reads may be stale; sync before each read makes them linearizable.
    fn linearizable_args(&self) -> &'static [&'static str] {
        &["--sync-reads"]
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        &[WorkloadKind::Register, WorkloadKind::Set, WorkloadKind::Kv]
    }

    fn node_id(&self, index: usize, _name: &str) -> String {
        (index + 1).to_string()
    }

    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients {
        spread(endpoints, move |ep| {
            ZabClient::new(ep, opts.op_timeout, opts.sync_reads)
        })
    }
}
