//! The set workload: every worker adds unique elements and now and then reads the whole set
//! (one operation in [`READ_EVERY`]), so reads during the run can be stale; the final phase
//! reads the whole set from every node.

use crate::{op, OpGen, WorkloadSpec};
use histories::Event;
use serde_json::json;

/// One operation in this many is a read of the whole set (each read returns every element so
/// far, so reads are kept rare enough that the history stays small).
pub const READ_EVERY: u64 = 50;

/// Worker `w` adds `i * concurrency + w`, for `i` = 0, 1, 2, …, and reads the set as its
/// operation number `READ_EVERY - 1`, `2 * READ_EVERY - 1`, …
pub struct SetGen {
    worker: u64,
    concurrency: u64,
    i: u64,
    n: u64,
}

impl SetGen {
    pub fn new(spec: &WorkloadSpec, worker: u64) -> Self {
        SetGen {
            worker,
            concurrency: spec.concurrency,
            i: 0,
            // Workers read at different moments, not all at once.
            n: worker % READ_EVERY,
        }
    }
}

impl OpGen for SetGen {
    fn next_op(&mut self) -> Event {
        self.n += 1;
        if self.n.is_multiple_of(READ_EVERY) {
            return op::invocation("read", None, serde_json::Value::Null);
        }
        let e = self.i * self.concurrency + self.worker;
        self.i += 1;
        op::invocation("add", None, json!(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkloadKind;

    #[test]
    fn adds_unique_elements_and_reads_now_and_then() {
        let spec = WorkloadSpec::new(WorkloadKind::Set, 3);
        let mut seen = std::collections::HashSet::new();
        let mut reads = 0;
        for w in 0..3 {
            let mut g = SetGen::new(&spec, w);
            for _ in 0..(READ_EVERY * 4) {
                let e = g.next_op();
                match e.f.as_str() {
                    "add" => assert!(seen.insert(e.value.as_u64().unwrap())),
                    "read" => reads += 1,
                    f => panic!("unexpected f {f}"),
                }
            }
        }
        assert_eq!(reads, 12);
    }
}
