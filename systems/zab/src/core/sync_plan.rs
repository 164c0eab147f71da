//! How the leader synchronizes a learner, from the learner's last zxid and the leader's
//! in-memory committed log window.

use super::txn::Entry;
use super::zxid::Zxid;
use serde::Serialize;
use std::collections::VecDeque;

/// The leader's decision for one learner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPlan {
    /// The learner's last zxid is in our history: send the proposals after it.
    Diff { from: Zxid },
    /// The learner has proposals we do not (an uncommitted tail of a former leader): roll it
    /// back to `to`, the largest zxid of ours below its last, then send what follows (TRUNC+DIFF).
    Trunc { to: Zxid },
    /// The learner is behind our committed-log window: send the whole tree.
    Snap,
}

/// The sync mode as reported by `status` (`last_sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SyncMode {
    #[serde(rename = "diff")]
    Diff,
    #[serde(rename = "trunc")]
    Trunc,
    #[serde(rename = "trunc+diff")]
    TruncDiff,
    #[serde(rename = "snap")]
    Snap,
}

impl SyncMode {
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Diff => "diff",
            SyncMode::Trunc => "trunc",
            SyncMode::TruncDiff => "trunc+diff",
            SyncMode::Snap => "snap",
        }
    }
}

/// Plans the synchronization of a learner whose last logged zxid is `peer_last`. `log` holds
/// the leader's proposals after `log_start` (ascending); `log_start` is minCommittedLog's
/// predecessor (a committed zxid: the snapshot base or the last trimmed entry).
/// `diff_inside_window` re-introduces ZOOKEEPER-1154: a learner whose last zxid lies inside
/// our history's range gets a DIFF whether or not that zxid is in our history.
pub fn plan(
    log: &VecDeque<Entry>,
    log_start: Zxid,
    peer_last: Zxid,
    diff_inside_window: bool,
) -> SyncPlan {
    if peer_last == log_start || log.binary_search_by_key(&peer_last, |e| e.zxid).is_ok() {
        return SyncPlan::Diff { from: peer_last };
    }
    let last = log.back().map(|e| e.zxid).unwrap_or(log_start);
    if diff_inside_window && log_start < peer_last && peer_last <= last {
        return SyncPlan::Diff { from: peer_last };
    }
    if peer_last < log_start {
        return SyncPlan::Snap;
    }
    let below = log.partition_point(|e| e.zxid < peer_last);
    let to = if below == 0 {
        log_start
    } else {
        log[below - 1].zxid
    };
    SyncPlan::Trunc { to }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::txn::Txn;

    fn log(zs: &[(u32, u32)]) -> VecDeque<Entry> {
        zs.iter()
            .map(|&(e, c)| Entry {
                zxid: Zxid::new(e, c),
                txn: Txn::Sync,
                origin: None,
                rid: None,
            })
            .collect()
    }

    #[test]
    fn diff_trunc_and_snap() {
        let l = log(&[(1, 3), (1, 4), (2, 1), (2, 2)]);
        let start = Zxid::new(1, 2);
        assert_eq!(
            plan(&l, start, Zxid::new(2, 2), false),
            SyncPlan::Diff {
                from: Zxid::new(2, 2)
            }
        );
        assert_eq!(
            plan(&l, start, Zxid::new(1, 4), false),
            SyncPlan::Diff {
                from: Zxid::new(1, 4)
            }
        );
        assert_eq!(
            plan(&l, start, start, false),
            SyncPlan::Diff { from: start }
        );
        // A former leader's uncommitted (1,5): roll back to (1,4), then diff.
        assert_eq!(
            plan(&l, start, Zxid::new(1, 5), false),
            SyncPlan::Trunc {
                to: Zxid::new(1, 4)
            }
        );
        // Ahead of everything we have.
        assert_eq!(
            plan(&l, start, Zxid::new(3, 1), false),
            SyncPlan::Trunc {
                to: Zxid::new(2, 2)
            }
        );
        assert_eq!(plan(&l, start, Zxid::new(1, 1), false), SyncPlan::Snap);
        assert_eq!(plan(&l, start, Zxid::ZERO, false), SyncPlan::Snap);
        assert_eq!(
            plan(&log(&[]), Zxid::ZERO, Zxid::ZERO, false),
            SyncPlan::Diff { from: Zxid::ZERO }
        );
        // ZOOKEEPER-1154: the uncommitted (1,5) inside our range gets a DIFF, not a TRUNC.
        assert_eq!(
            plan(&l, start, Zxid::new(1, 5), true),
            SyncPlan::Diff {
                from: Zxid::new(1, 5)
            }
        );
        assert_eq!(plan(&l, start, Zxid::new(1, 1), true), SyncPlan::Snap);
    }
}
