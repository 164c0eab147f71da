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
    /// An imported history whose times go backwards in event order (never a JSONL journal,
    /// which must keep its times in order).
    pub time_reversals: Option<TimeReversals>,
}

/// Where an imported history's `time`s go backwards in event order. Jepsen stamps times on
/// different threads, so its index order and time order can disagree; faultline then takes
/// real-time precedence from the event order (`:index`, else file order), which is how every
/// checker reads a history anyway, and says so once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeReversals {
    /// How many events have a time earlier than some event before them.
    pub count: usize,
    /// The first such event's line, its time and the latest time before it.
    pub first_line: usize,
    pub time: u64,
    pub before: u64,
}

impl std::fmt::Display for TimeReversals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "times go backwards at {} event{} (first on line {}: {} after {}); real-time order is taken from the order of events (:index, else the file), not from their times",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.first_line,
            self.time,
            self.before
        )
    }
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
