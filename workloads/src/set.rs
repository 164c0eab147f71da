//! The set workload: every worker adds unique elements; the final phase reads the whole set
//! from every node.

use crate::{op, OpGen, WorkloadSpec};
use histories::Event;
use serde_json::json;

/// Worker `w` adds `i * concurrency + w`, for `i` = 0, 1, 2, …
pub struct SetGen {
    worker: u64,
    concurrency: u64,
    i: u64,
}

impl SetGen {
    pub fn new(spec: &WorkloadSpec, worker: u64) -> Self {
        SetGen {
            worker,
            concurrency: spec.concurrency,
            i: 0,
        }
    }
}

impl OpGen for SetGen {
    fn next_op(&mut self) -> Event {
        let e = self.i * self.concurrency + self.worker;
        self.i += 1;
        op::invocation("add", None, json!(e))
    }
}
