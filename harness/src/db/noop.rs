//! `noop`: an in-process map behind a mutex — no nodes, no network, no replication, no faults.
//! It measures what the harness itself costs (journaling, generators, rate limiting).

use super::{Binary, Clients, System, EVERY_WORKLOAD};
use std::sync::Arc;
use workloads::client::{BoxClient, ClientOptions, Endpoint, MemorySystem};
use workloads::WorkloadKind;

pub struct Noop;

impl System for Noop {
    fn name(&self) -> &'static str {
        "noop"
    }

    fn binary(&self) -> Option<Binary> {
        None
    }

    fn workloads(&self) -> &'static [WorkloadKind] {
        EVERY_WORKLOAD
    }

    fn clients(&self, _endpoints: Vec<Endpoint>, _opts: ClientOptions) -> Clients {
        let system = MemorySystem::default();
        Arc::new(move |_| BoxClient::new(system.client()))
    }
}
