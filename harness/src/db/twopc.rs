//! systems/twopc's `twopc-node`: a sharded key-value store with two-phase commit. Node `n1` is
//! the coordinator (twopc-node's default: the first member name) and every other node holds
//! one shard; clients send every transaction to the coordinator, so all of them talk to `n1`,
//! and faults on the coordinator–participant links are what the proxy cuts. The `status` of
//! each node says its role (coordinator or participant) and, for a participant, how many
//! transactions it holds in doubt.

use super::{Binary, Clients, System};
use std::sync::Arc;
use workloads::client::{BoxClient, ClientOptions, Endpoint, TwopcClient};
use workloads::WorkloadKind;

pub struct Twopc;

impl System for Twopc {
    fn name(&self) -> &'static str {
        "twopc"
    }

    fn binary(&self) -> Option<Binary> {
        Some(Binary::Cargo {
            bin: "twopc-node",
            package: "twopc",
        })
    }

    /// twopc-node's vote timeout.
    fn election_timeout_ms(&self) -> u64 {
        500
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        &[
            WorkloadKind::Bank,
            WorkloadKind::ListAppend,
            WorkloadKind::RwRegister,
        ]
    }

    fn clients(&self, endpoints: Vec<Endpoint>, opts: ClientOptions) -> Clients {
        let coordinator = endpoints.first().cloned().unwrap_or_else(|| Endpoint {
            name: "none".into(),
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        });
        Arc::new(move |_| BoxClient::new(TwopcClient::new(coordinator.clone(), opts.op_timeout)))
    }
}
