//! systems/raft's `raft-node`: a Raft key-value store speaking Contract 2's read/write/cas and
//! txn. Nodes are named on their command lines as the harness names them (`n1`, `n2`, …).

use super::{spread, Binary, Clients, System, EVERY_WORKLOAD};
use workloads::client::{ClientOptions, Endpoint, RaftClient};
use workloads::WorkloadKind;

pub struct Raft;

impl System for Raft {
    fn name(&self) -> &'static str {
        "raft"
    }

    fn binary(&self) -> Option<Binary> {
        Some(Binary::Cargo {
            bin: "raft-node",
            package: "raft",
        })
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        EVERY_WORKLOAD
    }

    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients {
        spread(endpoints, move |ep| RaftClient::new(ep, opts.op_timeout))
    }
}
