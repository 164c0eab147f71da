//! A participant of two-phase commit (one shard), a pure state machine: prepares, decisions
//! and ticks in; a [`PartReady`] out (records to persist, then messages to send).
//!
//! A prepare locks the transaction's keys (no waiting: a key held by another transaction makes
//! it vote no with [`CONFLICT`], and the coordinator retries), executes its micro-ops against
//! the store, persists a `Prepared` record with the effect and only then votes yes. From then
//! on the participant is in doubt: it may neither commit nor abort alone, and its keys stay
//! locked until the decision comes. A decision is persisted (a `Decided` record) before it is
//! applied and acknowledged. An in-doubt participant asks the coordinator every
//! `query_ticks`; after a restart its log's undecided prepares are in doubt again, their keys
//! locked again. A shard that votes no aborts at once; a decision for a transaction it never
//! prepared changes nothing (presumed abort: it is acknowledged and dropped).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::core::coordinator::CONFLICT;
use crate::core::types::{execute, Body, Effect, Message, NodeId, PartRecord, TxnId};

#[derive(Clone, Debug)]
pub struct PartConfig {
    pub id: NodeId,
    pub coordinator: NodeId,
    /// Ticks between queries about an in-doubt transaction.
    pub query_ticks: u64,
}

/// What the shell carries out, in order; `outcomes` is what this shard decided for each
/// transaction, for the logs and the simulation's atomicity check.
#[derive(Debug, Default)]
pub struct PartReady {
    pub records: Vec<PartRecord>,
    pub messages: Vec<Message>,
    pub outcomes: Vec<(TxnId, bool)>,
}

/// What the log held at start.
#[derive(Clone, Debug, Default)]
pub struct PartDurable {
    pub store: BTreeMap<String, Value>,
    pub prepared: BTreeMap<TxnId, Effect>,
    pub decided: HashMap<TxnId, bool>,
    pub applied: u64,
}

impl PartDurable {
    pub fn apply(&mut self, r: &PartRecord) {
        match r {
            PartRecord::Prepared { txn, effect } => {
                self.prepared.insert(*txn, effect.clone());
            }
            PartRecord::Decided { txn, commit } => {
                if let Some(e) = self.prepared.remove(txn) {
                    if *commit {
                        self.store.extend(e.writes);
                        self.applied += 1;
                    }
                }
                self.decided.insert(*txn, *commit);
            }
        }
    }
}

struct InDoubt {
    effect: Effect,
    query_at: u64,
}

/// The participant.
pub struct Participant {
    cfg: PartConfig,
    now: u64,
    store: BTreeMap<String, Value>,
    locks: BTreeMap<String, TxnId>,
    prepared: BTreeMap<TxnId, InDoubt>,
    /// Every decision known, and every no vote (an abort).
    decided: HashMap<TxnId, bool>,
    applied: u64,
    ready: PartReady,
}

impl Participant {
    /// Starts from the log's state; its undecided prepares are in doubt, their keys locked.
    pub fn new(cfg: PartConfig, d: PartDurable) -> Participant {
        let mut p = Participant {
            now: 0,
            store: d.store,
            locks: BTreeMap::new(),
            prepared: BTreeMap::new(),
            decided: d.decided,
            applied: d.applied,
            ready: PartReady::default(),
            cfg,
        };
        for (txn, effect) in d.prepared {
            p.lock(txn, &effect);
            p.prepared.insert(
                txn,
                InDoubt {
                    effect,
                    query_at: 0,
                },
            );
        }
        p
    }

    fn lock(&mut self, txn: TxnId, e: &Effect) {
        for k in &e.keys {
            self.locks.insert(k.clone(), txn);
        }
    }

    fn send(&mut self, body: Body) {
        self.ready.messages.push(Message {
            from: self.cfg.id,
            to: self.cfg.coordinator,
            body,
        });
    }

    fn vote_no(&mut self, txn: TxnId, reason: String) {
        if self.decided.insert(txn, false).is_none() {
            self.ready.outcomes.push((txn, false));
        }
        self.send(Body::Vote {
            txn,
            yes: false,
            reads: Vec::new(),
            reason,
        });
    }

    /// One unit of time: queries about in-doubt transactions.
    pub fn tick(&mut self) {
        self.now += 1;
        let now = self.now;
        let mut ask = Vec::new();
        for (txn, d) in self.prepared.iter_mut() {
            if d.query_at <= now {
                d.query_at = now + self.cfg.query_ticks;
                ask.push(*txn);
            }
        }
        for txn in ask {
            self.send(Body::Query { txn });
        }
    }

    /// A message from the coordinator.
    pub fn step(&mut self, m: Message) {
        if m.from != self.cfg.coordinator {
            return;
        }
        match m.body {
            Body::Prepare { txn, ops } => self.on_prepare(txn, ops),
            Body::Decision { txn, commit } => self.on_decision(txn, commit),
            Body::Ping => self.send(Body::Pong),
            Body::Vote { .. } | Body::Ack { .. } | Body::Query { .. } | Body::Pong => {}
        }
    }

    fn on_prepare(&mut self, txn: TxnId, ops: Vec<crate::core::types::MicroOp>) {
        if let Some(d) = self.prepared.get(&txn) {
            let reads = d.effect.reads.clone();
            return self.send(Body::Vote {
                txn,
                yes: true,
                reads,
                reason: String::new(),
            });
        }
        match self.decided.get(&txn) {
            Some(false) => return self.vote_no(txn, "already aborted".into()),
            Some(true) => return,
            None => {}
        }
        if let Some(k) = ops
            .iter()
            .map(|o| o.key())
            .find(|k| self.locks.get(*k).is_some_and(|t| *t != txn))
        {
            tracing::debug!(%txn, key = k, "key locked; voting no");
            return self.vote_no(txn, CONFLICT.into());
        }
        let effect = match execute(&self.store, &ops) {
            Ok(e) => e,
            Err(why) => return self.vote_no(txn, why),
        };
        self.lock(txn, &effect);
        self.ready.records.push(PartRecord::Prepared {
            txn,
            effect: effect.clone(),
        });
        let reads = effect.reads.clone();
        self.prepared.insert(
            txn,
            InDoubt {
                effect,
                query_at: self.now + self.cfg.query_ticks,
            },
        );
        self.send(Body::Vote {
            txn,
            yes: true,
            reads,
            reason: String::new(),
        });
    }

    fn on_decision(&mut self, txn: TxnId, commit: bool) {
        let Some(d) = self.prepared.remove(&txn) else {
            // Never prepared here (or already decided): nothing to apply. A commit is
            // acknowledged so the coordinator can finish; an abort needs no answer.
            if commit {
                if self.decided.get(&txn) == Some(&false) {
                    tracing::error!(%txn, "told to commit a transaction this shard voted against");
                }
                self.send(Body::Ack { txn });
            } else if self.decided.insert(txn, false).is_none() {
                self.ready.outcomes.push((txn, false));
            }
            return;
        };
        for k in &d.effect.keys {
            if self.locks.get(k) == Some(&txn) {
                self.locks.remove(k);
            }
        }
        self.ready.records.push(PartRecord::Decided { txn, commit });
        if commit {
            self.store.extend(d.effect.writes);
            self.applied += 1;
        }
        self.decided.insert(txn, commit);
        self.ready.outcomes.push((txn, commit));
        if commit {
            self.send(Body::Ack { txn });
        }
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.records.is_empty()
            || !self.ready.messages.is_empty()
            || !self.ready.outcomes.is_empty()
    }

    pub fn take_ready(&mut self) -> PartReady {
        std::mem::take(&mut self.ready)
    }

    /// The shard's store (for tests and the simulation).
    pub fn store(&self) -> &BTreeMap<String, Value> {
        &self.store
    }

    /// What `status` reports.
    pub fn status(&self) -> PartStatus {
        PartStatus {
            in_doubt: self.prepared.len(),
            locked_keys: self.locks.len(),
            applied: self.applied,
            keys: self.store.len(),
        }
    }
}

/// A participant's figures for `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartStatus {
    /// Prepared transactions whose decision it does not know (their keys are locked).
    pub in_doubt: usize,
    pub locked_keys: usize,
    /// Commits applied.
    pub applied: u64,
    pub keys: usize,
}
