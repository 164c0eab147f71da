//! The kv workload: reads and unique-value writes over a few fixed keys; a share of the reads
//! read every key, one after another in one process (a multi-key read as process order), which is
//! what the sequential and causal checkers need across keys.

use crate::{op, Mix, OpGen, WorkloadSpec};
use histories::Event;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::VecDeque;

pub fn key_name(k: u64) -> String {
    format!("k{k}")
}

pub struct KvGen {
    rng: ChaCha8Rng,
    mix: Mix,
    worker: u64,
    concurrency: u64,
    keys: u64,
    multi: u32,
    i: u64,
    queued: VecDeque<Event>,
}

impl KvGen {
    pub fn new(spec: &WorkloadSpec, worker: u64, rng: ChaCha8Rng) -> Self {
        KvGen {
            rng,
            mix: Mix { cas: 0, ..spec.mix },
            worker,
            concurrency: spec.concurrency,
            keys: spec.keys.max(1),
            multi: spec.multi_read_percent,
            i: 0,
            queued: VecDeque::new(),
        }
    }
}

impl OpGen for KvGen {
    fn next_op(&mut self) -> Event {
        if let Some(q) = self.queued.pop_front() {
            return q;
        }
        let mix = if self.mix.read + self.mix.write == 0 {
            Mix {
                read: 1,
                write: 1,
                cas: 0,
            }
        } else {
            self.mix
        };
        let f = mix.draw(&mut self.rng);
        let key = key_name(self.rng.gen_range(0..self.keys));
        self.i += 1;
        if f == "read" {
            if self.rng.gen_range(0..100) < self.multi {
                let mut ks: Vec<u64> = (0..self.keys).collect();
                ks.shuffle(&mut self.rng);
                self.queued = ks.into_iter().map(|k| op::read(key_name(k))).collect();
                return self.queued.pop_front().expect("at least one key");
            }
            return op::read(key);
        }
        let v = self.i * self.concurrency + self.worker + 1;
        op::invocation(
            "write",
            Some(key),
            if v == 0 { Value::Null } else { json!(v) },
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::{WorkloadKind, WorkloadSpec};

    #[test]
    fn multi_key_reads_read_every_key_in_a_row() {
        let spec = WorkloadSpec::new(WorkloadKind::Kv, 3);
        let mut g = spec.generator(3, 1);
        let ops: Vec<_> = (0..300).map(|_| g.next_op()).collect();
        assert!(ops.iter().all(|o| o.f == "read" || o.f == "write"));
        let mut run = 0;
        let mut longest = 0;
        let mut seen = std::collections::HashSet::new();
        for o in &ops {
            if o.f == "read" {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
                assert!(seen.insert(o.value.as_u64().unwrap()));
            }
        }
        assert!(longest >= 5);
    }
}
