//! The transaction workloads, after Elle's generators: `list-append` (micro-ops
//! `["r", k, null]` and `["append", k, v]`) and `rw-register` (`["r", k, null]` and
//! `["w", k, v]`). Each transaction has 1–4 micro-ops, half reads, over a small set of active
//! keys that rotates (a key retires after about `ops_per_key` micro-ops, so lists stay short);
//! every appended or written value is unique (worker `w`'s i-th value is
//! `i * concurrency + w + 1`). Workers rotate keys on their own counts, so they share keys
//! while they progress at similar rates.

use crate::{op, OpGen, WorkloadSpec};
use histories::Event;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// How many keys are active at once.
pub const ACTIVE_KEYS: u64 = 3;

pub struct TxnGen {
    /// `append` or `w`.
    write_f: &'static str,
    worker: u64,
    concurrency: u64,
    ops_per_key: u64,
    /// Micro-ops generated so far by this worker.
    mops: u64,
    values: u64,
    rng: ChaCha8Rng,
}

impl TxnGen {
    pub fn new(spec: &WorkloadSpec, worker: u64, rng: ChaCha8Rng, list: bool) -> Self {
        TxnGen {
            write_f: if list { "append" } else { "w" },
            worker,
            concurrency: spec.concurrency,
            // Micro-ops per key per worker before it retires, so that all workers together
            // give each key about `ops_per_key`.
            ops_per_key: (spec.ops_per_key / spec.concurrency).max(4),
            mops: 0,
            values: 0,
            rng,
        }
    }

    fn key(&mut self) -> String {
        let epoch = self.mops / (self.ops_per_key * ACTIVE_KEYS).max(1);
        let slot = self.rng.gen_range(0..ACTIVE_KEYS);
        format!("{}", epoch * ACTIVE_KEYS + slot)
    }
}

impl OpGen for TxnGen {
    fn next_op(&mut self) -> Event {
        let n = self.rng.gen_range(1..=4);
        let mut mops: Vec<Value> = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.key();
            self.mops += 1;
            if self.rng.gen_bool(0.5) {
                mops.push(json!(["r", key, null]));
            } else {
                self.values += 1;
                let v = (self.values - 1) * self.concurrency + self.worker + 1;
                mops.push(json!([self.write_f, key, v]));
            }
        }
        op::invocation("txn", None, Value::Array(mops))
    }
}

#[cfg(test)]
mod tests {
    use crate::{WorkloadKind, WorkloadSpec};
    use std::collections::HashSet;

    #[test]
    fn unique_values_rotating_keys_and_one_to_four_micro_ops() {
        for kind in [WorkloadKind::ListAppend, WorkloadKind::RwRegister] {
            let spec = WorkloadSpec::new(kind, 4);
            let mut values = HashSet::new();
            let mut keys = HashSet::new();
            for w in 0..4 {
                let mut g = spec.generator(7, w);
                for _ in 0..500 {
                    let e = g.next_op();
                    assert_eq!(e.f, "txn");
                    let mops = e.value.as_array().unwrap();
                    assert!((1..=4).contains(&mops.len()));
                    for m in mops {
                        keys.insert(m[1].as_str().unwrap().to_string());
                        match m[0].as_str().unwrap() {
                            "r" => assert!(m[2].is_null()),
                            f => {
                                assert_eq!(
                                    f,
                                    if kind == WorkloadKind::ListAppend {
                                        "append"
                                    } else {
                                        "w"
                                    }
                                );
                                assert!(
                                    values.insert(m[2].as_u64().unwrap()),
                                    "{m} repeats a value"
                                );
                            }
                        }
                    }
                }
                // The same seed and worker give the same sequence.
                let (mut a, mut b) = (spec.generator(7, w), spec.generator(7, w));
                assert_eq!(a.next_op(), b.next_op());
            }
            assert!(keys.len() > 3, "keys rotate: {keys:?}");
        }
    }
}
