//! The register workload: read/write/cas on keys that rotate, so that each key's history stays
//! small enough for a linearizability search; written values are unique across the run.

use crate::{Invocation, Mix, OpGen, WorkloadSpec};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// Worker `w`'s `i`-th operation goes to key `i / per_worker`, where `per_worker` is the key's
/// operation budget divided among the workers; so every key gets about `ops_per_key` operations
/// however the workers' speeds differ. Values are `i * concurrency + w + 1`: unique, never null.
pub struct RegisterGen {
    rng: ChaCha8Rng,
    mix: Mix,
    worker: u64,
    concurrency: u64,
    per_worker: u64,
    i: u64,
    /// Values this worker wrote to its current key (cas takes its expected value from them).
    written: Vec<u64>,
    key_index: u64,
}

impl RegisterGen {
    pub fn new(spec: &WorkloadSpec, worker: u64, rng: ChaCha8Rng) -> Self {
        RegisterGen {
            rng,
            mix: spec.mix,
            worker,
            concurrency: spec.concurrency,
            per_worker: (spec.ops_per_key / spec.concurrency).max(1),
            i: 0,
            written: Vec::new(),
            key_index: 0,
        }
    }

    fn unique(&self) -> u64 {
        self.i * self.concurrency + self.worker + 1
    }
}

impl OpGen for RegisterGen {
    fn next_op(&mut self) -> Invocation {
        let key_index = self.i / self.per_worker;
        if key_index != self.key_index {
            self.key_index = key_index;
            self.written.clear();
        }
        let key = key_index.to_string();
        let f = self.mix.draw(&mut self.rng);
        let value = match f {
            "read" => Value::Null,
            "write" => {
                let v = self.unique();
                self.written.push(v);
                json!(v)
            }
            _ => {
                // Expect a value this worker wrote here, or absence on a key it never wrote.
                let from = match self.written.choose(&mut self.rng) {
                    Some(v) if self.rng.gen_bool(0.8) => json!(v),
                    _ => Value::Null,
                };
                let to = self.unique();
                self.written.push(to);
                json!([from, to])
            }
        };
        self.i += 1;
        Invocation {
            f,
            key: Some(key),
            value,
        }
    }

    fn current_key(&self) -> Option<String> {
        (self.i > 0).then(|| self.key_index.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WorkloadKind, WorkloadSpec};
    use std::collections::{BTreeMap, HashSet};

    #[test]
    fn keys_rotate_with_bounded_ops_and_values_are_unique() {
        let spec = WorkloadSpec::new(WorkloadKind::Register, 10);
        let mut per_key: BTreeMap<String, u64> = BTreeMap::new();
        let mut values = HashSet::new();
        for w in 0..10 {
            let mut g = spec.generator(1, w);
            for _ in 0..95 {
                let inv = g.next_op();
                *per_key.entry(inv.key.clone().unwrap()).or_default() += 1;
                let written = match inv.f {
                    "write" => Some(inv.value.clone()),
                    "cas" => Some(inv.value[1].clone()),
                    _ => None,
                };
                if let Some(v) = written {
                    assert!(
                        values.insert(v.as_u64().unwrap()),
                        "value {v} written twice"
                    );
                }
            }
        }
        assert_eq!(per_key.len(), 10);
        assert!(per_key.values().all(|&n| n <= 100), "{per_key:?}");
    }

    #[test]
    fn same_seed_same_sequence_per_worker() {
        let spec = WorkloadSpec::new(WorkloadKind::Register, 4);
        let a: Vec<Invocation> = {
            let mut g = spec.generator(7, 2);
            (0..50).map(|_| g.next_op()).collect()
        };
        let b: Vec<Invocation> = {
            let mut g = spec.generator(7, 2);
            (0..50).map(|_| g.next_op()).collect()
        };
        let c: Vec<Invocation> = {
            let mut g = spec.generator(8, 2);
            (0..50).map(|_| g.next_op()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        let fs: HashSet<&str> = a.iter().map(|i| i.f).collect();
        assert_eq!(fs.len(), 3);
    }
}
