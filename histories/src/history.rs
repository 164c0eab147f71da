//! A whole history: operations and nemesis events.

use crate::{Event, Operation, TornLine};
use std::collections::BTreeMap;

/// A validated, paired history.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Client operations in invocation order.
    pub ops: Vec<Operation>,
    /// Nemesis events in file order.
    pub nemesis: Vec<Event>,
    /// How many events (lines carrying an event) were read.
    pub events: usize,
    /// A JSONL file's last line, cut short by a writer that died, which was left out.
    pub torn: Option<TornLine>,
}

impl History {
    /// The number of distinct client processes.
    pub fn processes(&self) -> usize {
        let mut ps: Vec<u64> = self.ops.iter().map(|o| o.process).collect();
        ps.sort_unstable();
        ps.dedup();
        ps.len()
    }

    /// Operations grouped by key (operations without a key under the empty string), in
    /// invocation order within each key, keys sorted.
    pub fn by_key(&self) -> BTreeMap<String, Vec<&Operation>> {
        let mut m: BTreeMap<String, Vec<&Operation>> = BTreeMap::new();
        for op in &self.ops {
            m.entry(op.key.clone().unwrap_or_default())
                .or_default()
                .push(op);
        }
        m
    }
}
