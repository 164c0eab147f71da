//! systems/paxos's `paxos-node`: a Multi-Paxos key-value store speaking the same Contract 2
//! read/write/cas/txn as raft-node, with the same command line, so raft's client serves it.
//! Nodes are named on their command lines as the harness names them (`n1`, `n2`, …).

use super::{spread, Binary, Clients, System, EVERY_WORKLOAD};
use workloads::client::{ClientOptions, Endpoint, RaftClient};
use workloads::WorkloadKind;

pub struct Paxos;

impl System for Paxos {
    fn name(&self) -> &'static str {
        "paxos"
    }

    fn binary(&self) -> Option<Binary> {
        Some(Binary::Cargo {
            bin: "paxos-node",
            package: "paxos",
        })
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        EVERY_WORKLOAD
    }

    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients {
        spread(endpoints, move |ep| RaftClient::new(ep, opts.op_timeout))
    }
}
