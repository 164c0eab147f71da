//! The register workload: read/write/cas on keys that rotate, so that each key's history stays
//! small enough for a linearizability search; written values are unique across the run.
//!
//! Workers share keys in groups of `workers_per_key` (Jepsen's threads per key): with ten
//! workers on one key a cas rarely guesses the current value (about 6% succeeded), while two
//! writers per key let most guesses be right, so cas paths get exercised.

use crate::{op, Mix, OpGen, WorkloadSpec};
use histories::Event;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// Workers `g * per_key .. (g + 1) * per_key` form group `g`; a group's `k`-th key is
/// `k * groups + g`. Worker `w`'s `i`-th operation goes to its group's key `i / per_worker`,
/// where `per_worker` is the key's operation budget divided among the group; so every key gets
/// about `ops_per_key` operations however the workers' speeds differ. Values are
/// `i * concurrency + w + 1`: unique, never null.
///
/// Which function operation `(w, i)` performs is a hash of the seed, `w` and `i`, so every worker
/// can tell what any other worker does at any position without talking to it or to the system.
/// A cas uses that to expect a value that is likely current: one written by a worker of its
/// group at the latest position before its own where one writes. The invocation sequence stays
/// a function of the seed and the worker alone.
pub struct RegisterGen {
    rng: ChaCha8Rng,
    mix: Mix,
    seed: u64,
    worker: u64,
    concurrency: u64,
    /// This worker's group: its index, its first worker and its size.
    group: u64,
    group_start: u64,
    group_size: u64,
    groups: u64,
    per_worker: u64,
    i: u64,
    key: u64,
}

/// splitmix64: a well-mixed hash of one word.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl RegisterGen {
    pub fn new(spec: &WorkloadSpec, seed: u64, worker: u64, rng: ChaCha8Rng) -> Self {
        let per_key = spec.workers_per_key.clamp(1, spec.concurrency);
        let groups = spec.concurrency.div_ceil(per_key);
        let group = worker / per_key;
        let group_start = group * per_key;
        let group_size = per_key.min(spec.concurrency - group_start);
        RegisterGen {
            rng,
            mix: spec.mix,
            seed,
            worker,
            concurrency: spec.concurrency,
            group,
            group_start,
            group_size,
            groups,
            per_worker: (spec.ops_per_key / group_size).max(1),
            i: 0,
            key: 0,
        }
    }

    /// The function of operation `i` of worker `w`.
    fn function(&self, w: u64, i: u64) -> &'static str {
        let h = mix64(mix64(self.seed ^ 0x7265_6769_7374_6572).wrapping_add(mix64(w)) ^ i);
        let m = self.mix;
        let total = (m.read + m.write + m.cas).max(1) as u64;
        let x = (h % total) as u32;
        if x < m.read {
            "read"
        } else if x < m.read + m.write {
            "write"
        } else {
            "cas"
        }
    }

    /// The value written by operation `i` of worker `w` (if it writes).
    fn value(&self, w: u64, i: u64) -> u64 {
        i * self.concurrency + w + 1
    }

    /// A value likely to be current on this key: written by a worker of the group (this one
    /// included) at the latest position before `i` on the same key where one writes; absent
    /// (null) if none has written this key yet.
    fn expected(&mut self, i: u64) -> Value {
        let key_start = (i / self.per_worker) * self.per_worker;
        let mut j = i;
        while j > key_start {
            j -= 1;
            let writers: Vec<u64> = (self.group_start..self.group_start + self.group_size)
                .filter(|&w| self.function(w, j) != "read")
                .collect();
            if let Some(&w) = writers.choose(&mut self.rng) {
                return json!(self.value(w, j));
            }
        }
        Value::Null
    }

    fn key_name(&self) -> String {
        (self.key * self.groups + self.group).to_string()
    }
}

impl OpGen for RegisterGen {
    fn next_op(&mut self) -> Event {
        let i = self.i;
        self.key = i / self.per_worker;
        let key = self.key_name();
        let f = self.function(self.worker, i);
        let value = match f {
            "read" => Value::Null,
            "write" => json!(self.value(self.worker, i)),
            _ => {
                // Now and then expect absence (or a value long gone) to exercise failing cas.
                let from = if self.rng.gen_bool(0.85) {
                    self.expected(i)
                } else {
                    Value::Null
                };
                json!([from, self.value(self.worker, i)])
            }
        };
        self.i += 1;
        op::invocation(f, Some(key), value)
    }

    fn current_key(&self) -> Option<String> {
        (self.i > 0).then(|| self.key_name())
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
                let written = match inv.f.as_str() {
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
    fn cas_expects_values_that_some_worker_writes_to_the_same_key() {
        let spec = WorkloadSpec::new(WorkloadKind::Register, 5);
        let all: Vec<Vec<Event>> = (0..5)
            .map(|w| {
                let mut g = spec.generator(9, w);
                (0..200).map(|_| g.next_op()).collect()
            })
            .collect();
        let mut written: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
        for inv in all.iter().flatten() {
            let v = match inv.f.as_str() {
                "write" => inv.value.as_u64(),
                "cas" => inv.value[1].as_u64(),
                _ => None,
            };
            if let Some(v) = v {
                written
                    .entry(inv.key.clone().unwrap())
                    .or_default()
                    .insert(v);
            }
        }
        let (mut cas, mut expecting_a_value) = (0, 0);
        for inv in all.iter().flatten().filter(|i| i.f == "cas") {
            cas += 1;
            if let Some(from) = inv.value[0].as_u64() {
                expecting_a_value += 1;
                assert!(
                    written[inv.key.as_ref().unwrap()].contains(&from),
                    "{inv:?}"
                );
            }
        }
        assert!(
            cas > 50 && expecting_a_value * 2 > cas,
            "{expecting_a_value} of {cas}"
        );
    }

    #[test]
    fn workers_share_keys_in_groups_of_workers_per_key() {
        for (concurrency, per_key) in [(10, 2), (10, 3), (5, 1), (4, 10)] {
            let mut spec = WorkloadSpec::new(WorkloadKind::Register, concurrency);
            spec.workers_per_key = per_key;
            let mut users: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
            for w in 0..concurrency {
                let mut g = spec.generator(3, w);
                for _ in 0..300 {
                    users.entry(g.next_op().key.unwrap()).or_default().insert(w);
                }
            }
            let widest = users.values().map(HashSet::len).max().unwrap() as u64;
            assert_eq!(
                widest,
                per_key.min(concurrency),
                "{concurrency} workers, {per_key} per key"
            );
        }
    }

    #[test]
    fn same_seed_same_sequence_per_worker() {
        let spec = WorkloadSpec::new(WorkloadKind::Register, 4);
        let a: Vec<Event> = {
            let mut g = spec.generator(7, 2);
            (0..50).map(|_| g.next_op()).collect()
        };
        let b: Vec<Event> = {
            let mut g = spec.generator(7, 2);
            (0..50).map(|_| g.next_op()).collect()
        };
        let c: Vec<Event> = {
            let mut g = spec.generator(8, 2);
            (0..50).map(|_| g.next_op()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        let fs: HashSet<&str> = a.iter().map(|i| i.f.as_str()).collect();
        assert_eq!(fs.len(), 3);
    }
}
