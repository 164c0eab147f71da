//! ZooKeeper's consistency model: one total order of all operations that respects each
//! session's (process's) order and the real-time order among updates (writes, cas, syncs).
//! Reads may be stale, but never go backwards within a session, and a read after a sync sees
//! every update that completed before the sync was invoked.
//!
//! When every write that took effect carries the `zxid` ZooKeeper assigned it, the update
//! order is known and the check is linear ([`zxid`]). Otherwise it falls back to the sequential
//! engine with real-time edges among updates ([`crate::sequential::decide`]); where the writes
//! of a key all carry the znode `version` the server assigned, consecutive versions are added as
//! order constraints ([`versions`]).

mod versions;
mod zxid;

use crate::consistency::{Model, ModelReport};
use crate::memory::Memory;
use crate::sequential::{decide, Budget};
use histories::History;
use serde_json::json;

/// Checks `h` against ZooKeeper's model.
pub fn check(h: &History, budget: &Budget) -> ModelReport {
    let mut m = match Memory::from_history(h) {
        Ok(m) => m,
        Err(e) => return ModelReport::unknown(Model::Zookeeper, e.0, json!({})),
    };
    if let Some(z) = zxid::zxids(h, &m) {
        let r = zxid::check(h, &m, &z);
        return crate::sequential::unless_linked(h, &m, r);
    }
    let mut rt = m.add_realtime_barriers(h, false);
    let known = versions::version_edges(h, &m);
    let version_edges = known.len();
    rt.extend(known);
    let mut r = decide(h, &m, rt, budget, Model::Zookeeper);
    r.stats["method"] = json!("search");
    r.stats["version_edges"] = json!(version_edges);
    crate::sequential::unless_linked(h, &m, r)
}
