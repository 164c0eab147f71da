//! The journal's figures for results.json: events, bytes, the writer thread's share of a core,
//! the deepest queue, and the process's peak memory before checking.

use crate::journal::JournalStats;
use serde_json::{json, Value};
use std::time::Duration;

pub(super) fn journal_json(s: &JournalStats, elapsed: Duration) -> Value {
    let secs = elapsed.as_secs_f64().max(1e-9);
    json!({
        "events": s.events,
        "bytes": s.bytes,
        "bytes_per_event": if s.events > 0 { s.bytes as f64 / s.events as f64 } else { 0.0 },
        "events_per_s": s.events as f64 / secs,
        "writer_cpu_s": s.writer_cpu.as_secs_f64(),
        "writer_cpu_share_of_one_core": s.writer_cpu.as_secs_f64() / secs,
        "max_queued": s.max_queued,
        "peak_rss_bytes_before_check": peak_rss_bytes(),
    })
}

/// The process's peak resident set so far (VmHWM), in bytes; taken before the history is read
/// back for checking, it bounds what running and journaling cost in memory.
fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
