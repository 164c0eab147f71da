//! Which workload a run uses, and the per-worker invocation generators it makes.

use crate::{op, Mix, WorkloadError};
use histories::Event;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Single-key read/write/cas on rotating keys, unique written values.
    Register,
    /// Unique adds to one set, then final reads from every node.
    Set,
    /// Reads and unique-value writes over a few fixed keys, with multi-key reads.
    Kv,
    /// Transactions of reads and appends to lists over rotating keys (Elle's list-append).
    ListAppend,
    /// Transactions of reads and unique writes to registers over rotating keys (Elle's
    /// rw-register).
    RwRegister,
    /// Transfers between accounts and reads of every balance, each one transaction (Jepsen's
    /// bank).
    Bank,
}

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Register => "register",
            WorkloadKind::Set => "set",
            WorkloadKind::Kv => "kv",
            WorkloadKind::ListAppend => "list-append",
            WorkloadKind::RwRegister => "rw-register",
            WorkloadKind::Bank => "bank",
        }
    }
}

impl FromStr for WorkloadKind {
    type Err = WorkloadError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "register" => WorkloadKind::Register,
            "set" => WorkloadKind::Set,
            "kv" => WorkloadKind::Kv,
            "list-append" => WorkloadKind::ListAppend,
            "rw-register" => WorkloadKind::RwRegister,
            "bank" => WorkloadKind::Bank,
            other => return Err(WorkloadError::UnknownWorkload(other.to_string())),
        })
    }
}

/// A workload and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    pub kind: WorkloadKind,
    pub mix: Mix,
    /// register, list-append, rw-register: about how many operations (micro-ops) each key
    /// gets before it is replaced.
    pub ops_per_key: u64,
    /// register: how many workers share a key at a time (Jepsen's threads per key). Few
    /// writers per key make a cas's expected value likely current, and keep each key's
    /// history narrow for the linearizability search.
    #[serde(default = "default_workers_per_key")]
    pub workers_per_key: u64,
    /// kv: how many keys.
    pub keys: u64,
    /// kv: the share (percent) of reads that read every key.
    pub multi_read_percent: u32,
    pub concurrency: u64,
}

impl WorkloadSpec {
    pub fn new(kind: WorkloadKind, concurrency: u64) -> Self {
        WorkloadSpec {
            kind,
            mix: Mix::default(),
            ops_per_key: 100,
            workers_per_key: default_workers_per_key(),
            keys: 5,
            multi_read_percent: 30,
            concurrency: concurrency.max(1),
        }
    }

    /// Worker `worker`'s invocation sequence: a function of the seed and the worker's index only.
    pub fn generator(&self, seed: u64, worker: u64) -> Box<dyn OpGen> {
        let rng = ChaCha8Rng::seed_from_u64(
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(worker.wrapping_mul(0xbf58_476d_1ce4_e5b9))
                ^ 0x776f_726b,
        );
        match self.kind {
            WorkloadKind::Register => {
                Box::new(crate::register::RegisterGen::new(self, seed, worker, rng))
            }
            WorkloadKind::Set => Box::new(crate::set::SetGen::new(self, worker)),
            WorkloadKind::Kv => Box::new(crate::kv::KvGen::new(self, worker, rng)),
            WorkloadKind::ListAppend => Box::new(crate::txn::TxnGen::new(self, worker, rng, true)),
            WorkloadKind::RwRegister => Box::new(crate::txn::TxnGen::new(self, worker, rng, false)),
            WorkloadKind::Bank => Box::new(crate::bank::BankGen::new(self, rng)),
        }
    }

    /// The final reads: `(node index, invocation)` pairs, given every worker's generator as
    /// it stood when the main phase ended.
    pub fn final_reads(&self, gens: &[Box<dyn OpGen>], nodes: usize) -> Vec<(usize, Event)> {
        let nodes = nodes.max(1);
        match self.kind {
            WorkloadKind::Register => {
                let mut keys: Vec<String> = gens.iter().filter_map(|g| g.current_key()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter()
                    .enumerate()
                    .map(|(i, k)| (i % nodes, op::read(k)))
                    .collect()
            }
            WorkloadKind::Kv => (0..nodes)
                .flat_map(|n| (0..self.keys).map(move |k| (n, op::read(crate::kv::key_name(k)))))
                .collect(),
            WorkloadKind::Set => (0..nodes)
                .map(|n| (n, op::invocation("read", None, serde_json::Value::Null)))
                .collect(),
            // One last read of every balance once the cluster has recovered.
            WorkloadKind::Bank => vec![(0, crate::bank::read_all())],
            // Transactions check themselves: no final reads.
            WorkloadKind::ListAppend | WorkloadKind::RwRegister => Vec::new(),
        }
    }
}

fn default_workers_per_key() -> u64 {
    2
}

/// One worker's invocation sequence.
pub trait OpGen: Send {
    /// The next invocation (its process is set by the worker that issues it).
    fn next_op(&mut self) -> Event;
    /// The key the worker is on (for final reads).
    fn current_key(&self) -> Option<String> {
        None
    }
}
