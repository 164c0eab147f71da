//! What the peer asks its shell to do, and the barriers that order it.
//!
//! The peer emits [`Effect`]s in order. The core, not the shell, decides what must be durable
//! before what; a shell is a plain executor of these rules, and the simulation
//! (`tests/simulation.rs`) crashes and reorders everywhere they allow:
//!
//! 1. **Durable writes** (`Persist*`, `Append`, `Truncate`, `InstallSnapshot`) are executed in
//!    emission order. Between two [`Effect::Sync`] barriers they may reach the disk in any
//!    order: a crash keeps any subset of them (log writes — appends, truncations, snapshot
//!    installs — as a prefix of their order, since the log is one sequential file).
//! 2. **`Sync`**: every durable write emitted before it is on disk before any durable write
//!    emitted after it starts.
//! 3. **Outputs** (`Send`, `Reply`, `Unavailable`, `Abandoned`, `Applied`) carry no barrier of
//!    their own except a `Send` marked [`After::Durable`], which leaves only once every durable
//!    write emitted before it is on disk. Everything else may leave at once, before the
//!    durable writes emitted before it. Sends to one server keep their emission order: a send
//!    that follows a held one to the same server is itself marked `After::Durable`.
//! 4. The shell reports progress with [`Peer::persisted`](super::Peer::persisted)`(n)`: the
//!    first `n` durable writes ever emitted are on disk. A leader counts its own copy of a
//!    proposal towards a commit only from then on (ZooKeeper's leader acknowledges itself from
//!    its SyncRequestProcessor), so a commit — and the reply that answers it — always rests on
//!    a quorum of durable copies.
//!
//! The barriers the protocol needs (each a named choice in the role files): an ACK, a NEWLEADER
//! ACK, an ACKEPOCH and every synchronization packet wait for durability; the synchronized
//! history is durable before currentEpoch is written (a `Sync` between them); epoch files are
//! followed by a `Sync`. Broadcast traffic (PROPOSALs, COMMITs, pings, UPTODATE), forwarded
//! client writes, election notifications and client replies do not wait.

use super::super::message::Message;
use super::super::tree::{DataTree, TxnResult};
use super::super::txn::{Entry, NodeId};
use super::super::zxid::Zxid;
use std::collections::{BTreeMap, VecDeque};

/// When a message may leave, relative to the durable writes emitted before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// At once: it claims nothing about this server's disk.
    Now,
    /// Once every durable write emitted before it is on disk.
    Durable,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Send {
        to: NodeId,
        msg: Message,
        after: After,
    },
    PersistAcceptedEpoch(u32),
    PersistCurrentEpoch(u32),
    /// Durably write (Some) or remove (None) the updatingEpoch marker around NEWLEADER.
    PersistUpdatingEpoch(Option<u32>),
    /// Durably append proposals to the log.
    Append(Vec<Entry>),
    /// Durably remove every logged proposal above this zxid.
    Truncate(Zxid),
    /// Durably replace snapshot and log with this committed tree.
    InstallSnapshot {
        zxid: Zxid,
        tree: DataTree,
    },
    /// A write barrier: the durable writes before it are on disk before any after it starts.
    Sync,
    /// A committed transaction was applied to the tree.
    Applied(Entry),
    /// A local request was committed and applied.
    Reply {
        req: u64,
        zxid: Zxid,
        result: TxnResult,
    },
    /// A local request was certainly not proposed (definite).
    Unavailable {
        req: u64,
        reason: &'static str,
    },
    /// A local request's fate is unknown: this server left its role while it was in flight.
    Abandoned {
        req: u64,
    },
}

impl Effect {
    /// Whether this is a durable write (counted by [`Peer::persisted`](super::Peer::persisted)).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Effect::PersistAcceptedEpoch(_)
                | Effect::PersistCurrentEpoch(_)
                | Effect::PersistUpdatingEpoch(_)
                | Effect::Append(_)
                | Effect::Truncate(_)
                | Effect::InstallSnapshot { .. }
        )
    }
}

/// A log write not yet reported durable: what the durable log ends at once it is, and what it
/// may be trusted to hold meanwhile.
#[derive(Clone, Copy, Debug)]
struct LogMark {
    index: u64,
    ends_at: Zxid,
    /// A truncation or snapshot install caps what the durable log is known to hold until it is
    /// itself durable.
    cap: Option<Zxid>,
}

/// The peer's outbox: effects in emission order, plus the bookkeeping the barriers need.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    pub(super) effects: Vec<Effect>,
    /// Durable writes emitted so far.
    written: u64,
    /// Durable writes the shell reported on disk.
    persisted: u64,
    /// Servers with a held send, and the write count it waits for.
    held: BTreeMap<NodeId, u64>,
    marks: VecDeque<LogMark>,
    /// The log's end as of the last durable log write reported.
    durable_end: Zxid,
}

impl Outbox {
    pub(super) fn new(durable_end: Zxid) -> Outbox {
        Outbox {
            durable_end,
            ..Outbox::default()
        }
    }

    /// Queues a durable write. `log_end` is where the log ends after it (for log writes).
    pub(super) fn write(&mut self, e: Effect) {
        debug_assert!(e.is_write());
        let index = self.written;
        let mark = match &e {
            Effect::Append(entries) => entries.last().map(|l| LogMark {
                index,
                ends_at: l.zxid,
                cap: None,
            }),
            Effect::Truncate(z) => Some(LogMark {
                index,
                ends_at: *z,
                cap: Some(*z),
            }),
            Effect::InstallSnapshot { zxid, .. } => Some(LogMark {
                index,
                ends_at: *zxid,
                cap: Some(Zxid::ZERO),
            }),
            _ => None,
        };
        self.marks.extend(mark);
        self.written += 1;
        self.effects.push(e);
    }

    /// Queues an epoch file write followed by a barrier: nothing written after an epoch file
    /// may reach the disk before it (ZooKeeper writes them synchronously).
    pub(super) fn write_epoch(&mut self, e: Effect) {
        self.write(e);
        self.sync();
    }

    /// A write barrier (dropped when nothing is waiting to be durable).
    pub(super) fn sync(&mut self) {
        if self.persisted < self.written && self.effects.last() != Some(&Effect::Sync) {
            self.effects.push(Effect::Sync);
        }
    }

    /// Queues a message to `to`.
    pub(super) fn send(&mut self, to: NodeId, msg: Message, after: After) {
        let pending = self.persisted < self.written;
        let after = if !pending {
            After::Now
        } else if after == After::Durable || self.held.contains_key(&to) {
            self.held.insert(to, self.written);
            After::Durable
        } else {
            After::Now
        };
        self.effects.push(Effect::Send { to, msg, after });
    }

    /// Queues any other output.
    pub(super) fn output(&mut self, e: Effect) {
        debug_assert!(!e.is_write() && !matches!(e, Effect::Send { .. } | Effect::Sync));
        self.effects.push(e);
    }

    /// The shell reports the first `n` durable writes on disk.
    pub(super) fn persisted(&mut self, n: u64) {
        let n = n.min(self.written);
        if n <= self.persisted {
            return;
        }
        self.persisted = n;
        while self.marks.front().is_some_and(|m| m.index < n) {
            let m = self.marks.pop_front().expect("checked");
            self.durable_end = m.ends_at;
        }
        self.held.retain(|_, need| *need > n);
    }

    /// How far the log is durable and holds what it holds in memory, given where the
    /// in-memory log ends.
    pub(super) fn durable_log_end(&self, log_end: Zxid) -> Zxid {
        self.marks
            .iter()
            .filter_map(|m| m.cap)
            .fold(self.durable_end.min(log_end), std::cmp::min)
    }
}
