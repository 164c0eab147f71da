//! The simulation's checker: the invariants ZAB promises, each with a name, checked over every
//! applied transaction, every reply and every established leader.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use zab::{Entry, NodeId, Txn, Zxid};

/// An invariant the simulation checks, by the name a bug report would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invariant {
    /// At most one established leader per epoch.
    ElectionSafety,
    /// Only submitted transactions are applied.
    Integrity,
    /// One transaction per zxid, one chain of commits, equal trees at equal commit points.
    Agreement,
    /// Every server applies the committed transactions in the same order.
    TotalOrder,
    /// A committed (or acknowledged) transaction is missing from a server's history.
    CommittedLost,
    /// A `sync` answered at a point older than a write acknowledged before it was issued.
    StaleReadAfterSync,
    /// A retried request (same rid) took effect twice.
    AtMostOnce,
    /// A server refused to restart from its own disk.
    Recovery,
    /// No leader was established within the limit, with a quorum connected.
    NoLeader,
    /// A leader was established but no write committed within the limit.
    NoProgress,
    /// The simulation's own model was broken (e.g. the core appended out of order).
    Model,
}

impl Invariant {
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionSafety => "election safety",
            Invariant::Integrity => "integrity",
            Invariant::Agreement => "agreement (divergent data trees)",
            Invariant::TotalOrder => "total order",
            Invariant::CommittedLost => "committed transaction lost",
            Invariant::StaleReadAfterSync => "stale read after sync",
            Invariant::AtMostOnce => "at-most-once",
            Invariant::Recovery => "recovery",
            Invariant::NoLeader => "liveness: no leader elected",
            Invariant::NoProgress => "liveness: no write committed",
            Invariant::Model => "simulation model",
        }
    }
}

/// A broken invariant and what broke it.
#[derive(Clone, Debug)]
pub struct Violation {
    pub invariant: Invariant,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant.name(), self.detail)
    }
}

pub type Checked<T = ()> = Result<T, Violation>;

pub fn violation<T>(invariant: Invariant, detail: impl Into<String>) -> Checked<T> {
    Err(Violation {
        invariant,
        detail: detail.into(),
    })
}

#[derive(Default)]
pub struct Checker {
    /// zxid → (entry, the zxid applied just before it).
    pub chain: BTreeMap<Zxid, (Entry, Zxid)>,
    pub leaders: BTreeMap<u32, NodeId>,
    pub submitted: HashMap<u64, Txn>,
    /// The zxids of acknowledged writes (sync replies are checked, not recorded).
    pub acked: BTreeSet<Zxid>,
    /// Requests answered with a definite refusal or an unknown outcome.
    pub refused: BTreeSet<u64>,
    /// Request id → the zxid of the first committed transaction that carried it.
    pub rid_first: HashMap<String, Zxid>,
    pub rid_of: HashMap<u64, String>,
    /// A sync request → the newest write acknowledged to any client before it was issued.
    pub sync_floor: HashMap<u64, Zxid>,
}

impl Checker {
    pub fn applied(&mut self, node: NodeId, prev: Zxid, e: &Entry) -> Checked {
        let z = e.zxid;
        if z <= prev {
            return violation(
                Invariant::TotalOrder,
                format!("n{node} applied {z} after {prev}: order violated"),
            );
        }
        let Some(o) = e.origin else {
            return violation(Invariant::Integrity, "applied an entry without origin");
        };
        match self.submitted.get(&o.req) {
            Some(t) if *t == e.txn => {}
            _ => {
                return violation(
                    Invariant::Integrity,
                    format!("n{node} applied {z} = {e:?}, which no client submitted"),
                )
            }
        }
        if let Some((known, pred)) = self.chain.get(&z) {
            if known != e {
                return violation(
                    Invariant::Agreement,
                    format!("agreement: n{node} applied {e:?} at {z}, others {known:?}"),
                );
            }
            if *pred != prev {
                if prev < *pred {
                    return violation(
                        Invariant::CommittedLost,
                        format!(
                            "n{node} applied {z} right after {prev}, skipping committed {pred}"
                        ),
                    );
                }
                return violation(
                    Invariant::TotalOrder,
                    format!("total order: n{node} applied {z} after {prev}, others after {pred}"),
                );
            }
            return Ok(());
        }
        if prev != Zxid::ZERO && !self.chain.contains_key(&prev) {
            return violation(
                Invariant::Agreement,
                format!("n{node} applied {z} after {prev}, which was never committed"),
            );
        }
        if let Some((w, _)) = self.chain.range(prev..z).find(|(w, _)| **w > prev) {
            return violation(
                Invariant::CommittedLost,
                format!("n{node} skipped committed {w} between {prev} and {z}"),
            );
        }
        if let Some((s, (_, spred))) = self.chain.range(z..).next() {
            if *spred < z {
                return violation(
                    Invariant::Agreement,
                    format!(
                        "n{node} committed {z}, but {s} was committed right after {spred}: divergence"
                    ),
                );
            }
        }
        self.chain.insert(z, (e.clone(), prev));
        if let Some(rid) = &e.rid {
            self.rid_first.entry(rid.clone()).or_insert(z);
        }
        Ok(())
    }

    /// A reply to a request with a client request id reports the first transaction that
    /// carried that id: a retry is applied at most once. A reply to a sync is at or after
    /// every write acknowledged before the sync was issued.
    pub fn replied(&mut self, node: NodeId, req: u64, zxid: Zxid) -> Checked {
        if let Some(floor) = self.sync_floor.get(&req) {
            if zxid < *floor {
                return violation(
                    Invariant::StaleReadAfterSync,
                    format!(
                        "n{node} answered sync {req} at {zxid}, but write {floor} was acknowledged before it was issued"
                    ),
                );
            }
            return Ok(());
        }
        self.acked.insert(zxid);
        if let Some(rid) = self.rid_of.get(&req) {
            let first = self.rid_first.get(rid).copied();
            if first != Some(zxid) {
                return violation(
                    Invariant::AtMostOnce,
                    format!(
                        "request {req} ({rid}) answered with {zxid}, first applied at {first:?}"
                    ),
                );
            }
        }
        Ok(())
    }

    pub fn leader(&mut self, epoch: u32, id: NodeId) -> Checked {
        let l = *self.leaders.entry(epoch).or_insert(id);
        if l != id {
            return violation(
                Invariant::ElectionSafety,
                format!("two established leaders in epoch {epoch}: n{l} and n{id}"),
            );
        }
        Ok(())
    }
}
