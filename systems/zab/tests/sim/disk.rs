//! A simulated server's disk, written by the core's barrier rules (`core/peer/effects.rs`)
//! and nothing stronger: durable writes wait in segments split at `Sync`; a sync makes whole
//! segments durable, in order; a crash keeps the durable ones, any subset of the first pending
//! segment (log writes as a prefix of their order) and nothing after it. Sends marked
//! `After::Durable` are held until every write emitted before them is durable.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zab::{DataTree, Effect, Entry, Message, NodeId, Zxid};

/// What survives a crash.
#[derive(Clone, Default)]
pub struct Disk {
    pub accepted: u32,
    pub current: u32,
    pub updating: Option<u32>,
    pub snapshot: Option<(Zxid, DataTree)>,
    pub log: Vec<Entry>,
}

impl Disk {
    /// Performs one durable write.
    fn apply(&mut self, e: Effect) -> Result<(), String> {
        match e {
            Effect::PersistAcceptedEpoch(a) => self.accepted = a,
            Effect::PersistCurrentEpoch(c) => self.current = c,
            Effect::PersistUpdatingEpoch(u) => self.updating = u,
            Effect::Append(es) => {
                for en in es {
                    if self.log.last().is_some_and(|l| l.zxid >= en.zxid) {
                        return Err(format!("appended {} out of order", en.zxid));
                    }
                    self.log.push(en);
                }
            }
            Effect::Truncate(z) => self.log.retain(|e| e.zxid <= z),
            Effect::InstallSnapshot { zxid, tree } => {
                self.snapshot = Some((zxid, tree));
                self.log.clear();
            }
            other => unreachable!("not a durable write: {other:?}"),
        }
        Ok(())
    }
}

/// Log writes are one sequential file: a crash keeps a prefix of them.
fn is_log_write(e: &Effect) -> bool {
    matches!(
        e,
        Effect::Append(_) | Effect::Truncate(_) | Effect::InstallSnapshot { .. }
    )
}

/// A deliberately wrong executor, to show the simulation fails when a barrier is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrongBarrier {
    /// Sends marked `After::Durable` leave at once (ACKs before the fsync).
    DurableSendsLeaveAtOnce,
    /// `Sync` is ignored: a crash may keep any subset of every pending write.
    WritesIgnoreSync,
}

/// Writes and sends waiting for durability.
#[derive(Default)]
pub struct Pending {
    /// Durable writes not yet on disk, split at barriers.
    segments: Vec<Vec<Effect>>,
    /// A barrier was emitted after the last segment's writes.
    sealed: bool,
    /// Held sends, with the write count each waits for.
    held: Vec<(u64, NodeId, Message)>,
    /// Writes taken from the peer, and writes on disk.
    pub written: u64,
    pub synced: u64,
}

impl Pending {
    pub fn write(&mut self, e: Effect) {
        if self.sealed || self.segments.is_empty() {
            self.segments.push(Vec::new());
            self.sealed = false;
        }
        self.segments.last_mut().expect("pushed").push(e);
        self.written += 1;
    }

    pub fn barrier(&mut self, wrong: Option<WrongBarrier>) {
        if wrong != Some(WrongBarrier::WritesIgnoreSync) && !self.segments.is_empty() {
            self.sealed = true;
        }
    }

    /// A send: returned if it may leave now, held otherwise.
    pub fn send(
        &mut self,
        to: NodeId,
        msg: Message,
        durable: bool,
        wrong: Option<WrongBarrier>,
    ) -> Option<(NodeId, Message)> {
        let ignore = wrong == Some(WrongBarrier::DurableSendsLeaveAtOnce);
        if durable && !ignore && self.synced < self.written {
            self.held.push((self.written, to, msg));
            return None;
        }
        Some((to, msg))
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.held.is_empty()
    }

    /// Makes the first `k` segments durable; returns the sends that may now leave.
    pub fn sync(&mut self, k: usize, disk: &mut Disk) -> Result<Vec<(NodeId, Message)>, String> {
        let k = k.min(self.segments.len());
        for seg in self.segments.drain(..k) {
            for e in seg {
                disk.apply(e)?;
                self.synced += 1;
            }
        }
        if self.segments.is_empty() {
            self.sealed = false;
        }
        let synced = self.synced;
        let (go, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(need, _, _)| *need <= synced);
        self.held = keep;
        Ok(go.into_iter().map(|(_, to, m)| (to, m)).collect())
    }

    /// The segment count (for a partial sync).
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// A crash: what of the first pending segment reached the disk is chosen at random;
    /// everything later, and every held send, is lost. Returns how many writes were lost.
    pub fn crash(&mut self, disk: &mut Disk, rng: &mut ChaCha8Rng) -> Result<usize, String> {
        let mut lost = 0;
        let mut segments = std::mem::take(&mut self.segments).into_iter();
        if let Some(first) = segments.next() {
            let logs = first.iter().filter(|e| is_log_write(e)).count();
            let keep_logs = rng.gen_range(0..=logs);
            let mut seen_logs = 0;
            for e in first {
                let keep = if is_log_write(&e) {
                    seen_logs += 1;
                    seen_logs <= keep_logs
                } else {
                    rng.gen_bool(0.5)
                };
                if keep {
                    disk.apply(e)?;
                } else {
                    lost += 1;
                }
            }
        }
        lost += segments.map(|s| s.len()).sum::<usize>();
        self.held.clear();
        *self = Pending::default();
        Ok(lost)
    }
}
