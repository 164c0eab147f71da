//! The coordinator of two-phase commit, a pure state machine: client transactions, votes,
//! acknowledgements, queries and ticks in; a [`CoordReady`] out (records to persist, then
//! messages to send, then client replies — in that order, so no participant and no client
//! hears of a commit before it is durable).
//!
//! Each client transaction is run as one or more attempts (fresh [`TxnId`]s). An attempt
//! prepares every shard it touches and waits for the votes: all yes — it persists a `Commit`
//! record, replies, and sends the decision until every participant acknowledges (then an
//! `End` record lets it forget); any no or a vote missing at the deadline — it aborts without
//! a record (presumed abort: a transaction the log does not show committed is aborted) and
//! tells the participants. An attempt refused because a shard's keys were locked is retried
//! after a short random backoff while the client's deadline allows; any other abort is the
//! client's definite answer. After a restart the coordinator starts a new epoch, resends the
//! decisions its log holds unfinished, and answers every query about an unknown transaction
//! with abort. It pings every shard each resend interval and calls itself serving (in `status`)
//! only while every shard answers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::bugs::{Bug, Bugs};
use crate::core::types::{Body, CoordRecord, Message, MicroOp, NodeId, TxnId};

/// The shell's handle for a client request.
pub type ReqId = u64;

/// The reason word of a vote refused because a key was locked (the attempt is retried).
pub const CONFLICT: &str = "conflict";

#[derive(Clone, Debug)]
pub struct CoordConfig {
    pub id: NodeId,
    /// The participants, shard 0 first.
    pub shards: Vec<NodeId>,
    /// Ticks an attempt waits for its votes before it aborts.
    pub vote_ticks: u64,
    /// Ticks between resends of an unacknowledged commit.
    pub resend_ticks: u64,
    /// Ticks a client transaction may take in all (its attempts included).
    pub request_ticks: u64,
    pub bugs: Bugs,
}

/// A client's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Committed: every micro-op with its read value filled in.
    Committed(Vec<Value>),
    /// Certainly not committed, and why; `rejected` when a shard refused the operation itself
    /// (a negative balance, a type error) rather than for a lock or a timeout.
    Aborted { reason: String, rejected: bool },
}

/// What the shell carries out, in order.
#[derive(Debug, Default)]
pub struct CoordReady {
    pub records: Vec<CoordRecord>,
    pub messages: Vec<Message>,
    pub replies: Vec<(ReqId, Outcome)>,
}

/// What the log held at start.
#[derive(Clone, Debug, Default)]
pub struct CoordDurable {
    pub epoch: u64,
    /// Committed and not yet ended.
    pub committing: BTreeMap<TxnId, Vec<NodeId>>,
}

impl CoordDurable {
    pub fn apply(&mut self, r: &CoordRecord) {
        match r {
            CoordRecord::Epoch(e) => self.epoch = self.epoch.max(*e),
            CoordRecord::Commit { txn, participants } => {
                self.committing.insert(*txn, participants.clone());
            }
            CoordRecord::End(t) => {
                self.committing.remove(t);
            }
        }
    }
}

struct Request {
    ops: Vec<MicroOp>,
    deadline: u64,
    /// When to start the next attempt (none while one runs).
    retry_at: Option<u64>,
    last_reason: String,
}

struct Attempt {
    req: ReqId,
    /// Each shard's micro-op positions in the request.
    parts: BTreeMap<NodeId, Vec<usize>>,
    votes: BTreeMap<NodeId, (bool, Vec<Value>, String)>,
    deadline: u64,
}

struct Committing {
    unacked: BTreeSet<NodeId>,
    resend_at: u64,
}

/// The coordinator.
pub struct Coordinator {
    cfg: CoordConfig,
    epoch: u64,
    next_seq: u64,
    now: u64,
    rng: u64,
    requests: BTreeMap<ReqId, Request>,
    attempts: BTreeMap<TxnId, Attempt>,
    committing: BTreeMap<TxnId, Committing>,
    commits: u64,
    /// When each shard was last heard from.
    heard: BTreeMap<NodeId, u64>,
    ready: CoordReady,
}

/// FNV-1a: the shard of a key, the same on every build and machine.
pub fn shard_of(key: &str, shards: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % shards.max(1) as u64) as usize
}

impl Coordinator {
    /// Starts from the log's state: a new epoch (its record first in the first ready) and the
    /// unfinished commits to resend.
    pub fn new(cfg: CoordConfig, durable: CoordDurable, seed: u64) -> Coordinator {
        let epoch = durable.epoch + 1;
        let mut c = Coordinator {
            epoch,
            next_seq: 0,
            now: 0,
            rng: seed | 1,
            requests: BTreeMap::new(),
            attempts: BTreeMap::new(),
            committing: BTreeMap::new(),
            commits: 0,
            heard: BTreeMap::new(),
            ready: CoordReady::default(),
            cfg,
        };
        c.ready.records.push(CoordRecord::Epoch(epoch));
        for (txn, parts) in durable.committing {
            for p in &parts {
                c.send(*p, Body::Decision { txn, commit: true });
            }
            c.committing.insert(
                txn,
                Committing {
                    unacked: parts.into_iter().collect(),
                    resend_at: c.cfg.resend_ticks,
                },
            );
        }
        c
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.ready.messages.push(Message {
            from: self.cfg.id,
            to,
            body,
        });
    }

    fn random(&mut self, below: u64) -> u64 {
        // xorshift64*: deterministic per seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % below.max(1)
    }

    /// A client transaction. An empty one is answered at once.
    pub fn submit(&mut self, req: ReqId, ops: Vec<MicroOp>) {
        if ops.is_empty() {
            self.ready
                .replies
                .push((req, Outcome::Committed(Vec::new())));
            return;
        }
        self.requests.insert(
            req,
            Request {
                ops,
                deadline: self.now + self.cfg.request_ticks,
                retry_at: None,
                last_reason: String::new(),
            },
        );
        self.start_attempt(req);
    }

    fn start_attempt(&mut self, req: ReqId) {
        let Some(r) = self.requests.get_mut(&req) else {
            return;
        };
        r.retry_at = None;
        let mut parts: BTreeMap<NodeId, Vec<usize>> = BTreeMap::new();
        for (i, op) in r.ops.iter().enumerate() {
            let shard = self.cfg.shards[shard_of(op.key(), self.cfg.shards.len())];
            parts.entry(shard).or_default().push(i);
        }
        let prepares: Vec<(NodeId, Vec<MicroOp>)> = parts
            .iter()
            .map(|(p, idx)| (*p, idx.iter().map(|i| r.ops[*i].clone()).collect()))
            .collect();
        self.next_seq += 1;
        let txn = TxnId {
            epoch: self.epoch,
            seq: self.next_seq,
        };
        for (p, ops) in prepares {
            self.send(p, Body::Prepare { txn, ops });
        }
        self.attempts.insert(
            txn,
            Attempt {
                req,
                parts,
                votes: BTreeMap::new(),
                deadline: self.now + self.cfg.vote_ticks,
            },
        );
    }

    /// One unit of time: vote deadlines, retries, commit resends.
    pub fn tick(&mut self) {
        self.now += 1;
        let late: Vec<TxnId> = self
            .attempts
            .iter()
            .filter(|(_, a)| a.deadline <= self.now)
            .map(|(t, _)| *t)
            .collect();
        for txn in late {
            self.vote_deadline(txn);
        }
        let retry: Vec<ReqId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.retry_at.is_some_and(|t| t <= self.now))
            .map(|(id, _)| *id)
            .collect();
        for req in retry {
            self.start_attempt(req);
        }
        let now = self.now;
        let mut resend = Vec::new();
        for (txn, c) in self.committing.iter_mut() {
            if c.resend_at <= now {
                c.resend_at = now + self.cfg.resend_ticks;
                resend.extend(c.unacked.iter().map(|p| (*txn, *p)));
            }
        }
        for (txn, p) in resend {
            self.send(p, Body::Decision { txn, commit: true });
        }
        if now.is_multiple_of(self.cfg.resend_ticks.max(1)) {
            for p in self.cfg.shards.clone() {
                self.send(p, Body::Ping);
            }
        }
    }

    /// Whether every shard answered within the last few resend intervals: until then
    /// transactions on the silent shards can only abort, so the coordinator does not call
    /// itself serving.
    pub fn serving(&self) -> bool {
        let window = 3 * self.cfg.resend_ticks.max(1);
        self.cfg
            .shards
            .iter()
            .all(|p| self.heard.get(p).is_some_and(|t| t + window >= self.now))
    }

    fn vote_deadline(&mut self, txn: TxnId) {
        let Some(a) = self.attempts.get(&txn) else {
            return;
        };
        // The bug: on a timeout, a majority (half, rounded up) of yes is enough.
        let ayes = a.votes.values().filter(|v| v.0).count();
        if self.cfg.bugs.has(Bug::CommitWithoutAllVotes) && ayes > 0 && ayes * 2 >= a.parts.len() {
            return self.commit(txn);
        }
        let missing: Vec<String> = a
            .parts
            .keys()
            .filter(|p| !a.votes.contains_key(p))
            .map(|p| p.to_string())
            .collect();
        let reason = format!(
            "participants {} did not vote within {} ticks (their keys may be held by an in-doubt transaction)",
            missing.join(", "),
            self.cfg.vote_ticks
        );
        self.abort(txn, reason, false, false);
    }

    /// A message from a participant.
    pub fn step(&mut self, m: Message) {
        if self.cfg.shards.contains(&m.from) {
            self.heard.insert(m.from, self.now);
        }
        match m.body {
            Body::Vote {
                txn,
                yes,
                reads,
                reason,
            } => self.on_vote(m.from, txn, yes, reads, reason),
            Body::Ack { txn } => {
                if let Some(c) = self.committing.get_mut(&txn) {
                    c.unacked.remove(&m.from);
                    if c.unacked.is_empty() {
                        self.committing.remove(&txn);
                        self.ready.records.push(CoordRecord::End(txn));
                    }
                }
            }
            Body::Query { txn } => {
                if self.attempts.contains_key(&txn) {
                    // Still voting: the decision will come.
                } else {
                    // Presumed abort: what the log does not show committed is aborted.
                    let commit = self.committing.contains_key(&txn);
                    self.send(m.from, Body::Decision { txn, commit });
                }
            }
            Body::Prepare { .. } | Body::Decision { .. } | Body::Ping | Body::Pong => {}
        }
    }

    fn on_vote(&mut self, from: NodeId, txn: TxnId, yes: bool, reads: Vec<Value>, reason: String) {
        let Some(a) = self.attempts.get_mut(&txn) else {
            if yes && !self.committing.contains_key(&txn) {
                // A late yes for an attempt already aborted: release its locks now.
                self.send(from, Body::Decision { txn, commit: false });
            }
            return;
        };
        if !a.parts.contains_key(&from) {
            return;
        }
        a.votes.insert(from, (yes, reads, reason.clone()));
        let n = a.parts.len();
        let ayes = a.votes.values().filter(|v| v.0).count();
        // The bug: once every vote is in, a majority (half, rounded up) of yes is enough.
        if self.cfg.bugs.has(Bug::CommitWithoutAllVotes) {
            if a.votes.len() < n {
                return;
            }
            if ayes * 2 >= n {
                return self.commit(txn);
            }
        }
        if !yes {
            let conflict = reason == CONFLICT;
            let why = format!("participant {from} voted no: {reason}");
            return self.abort(txn, why, conflict, !conflict);
        }
        if ayes == n {
            self.commit(txn);
        }
    }

    fn commit(&mut self, txn: TxnId) {
        let Some(a) = self.attempts.remove(&txn) else {
            return;
        };
        let participants: Vec<NodeId> = a.parts.keys().copied().collect();
        self.ready.records.push(CoordRecord::Commit {
            txn,
            participants: participants.clone(),
        });
        for p in &participants {
            self.send(*p, Body::Decision { txn, commit: true });
        }
        self.committing.insert(
            txn,
            Committing {
                unacked: participants.into_iter().collect(),
                resend_at: self.now + self.cfg.resend_ticks,
            },
        );
        self.commits += 1;
        if let Some(r) = self.requests.remove(&a.req) {
            let mut out: Vec<Value> = r.ops.iter().map(|op| op.to_wire(Value::Null)).collect();
            for (p, idx) in &a.parts {
                if let Some((true, reads, _)) = a.votes.get(p) {
                    for (i, v) in idx.iter().zip(reads) {
                        if matches!(r.ops[*i], MicroOp::R(_)) {
                            out[*i] = r.ops[*i].to_wire(v.clone());
                        }
                    }
                }
            }
            self.ready.replies.push((a.req, Outcome::Committed(out)));
        }
    }

    /// Aborts an attempt (no record: presumed abort); retries a conflict while time allows.
    fn abort(&mut self, txn: TxnId, reason: String, conflict: bool, rejected: bool) {
        let Some(a) = self.attempts.remove(&txn) else {
            return;
        };
        for p in a.parts.keys() {
            self.send(*p, Body::Decision { txn, commit: false });
        }
        let backoff = 1 + self.random(4);
        let now = self.now;
        let Some(r) = self.requests.get_mut(&a.req) else {
            return;
        };
        r.last_reason = reason;
        if conflict && now + backoff + 1 < r.deadline {
            r.retry_at = Some(now + backoff);
            return;
        }
        let r = self.requests.remove(&a.req).expect("present");
        self.ready.replies.push((
            a.req,
            Outcome::Aborted {
                reason: r.last_reason,
                rejected,
            },
        ));
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.records.is_empty()
            || !self.ready.messages.is_empty()
            || !self.ready.replies.is_empty()
    }

    pub fn take_ready(&mut self) -> CoordReady {
        std::mem::take(&mut self.ready)
    }

    /// What `status` reports.
    pub fn status(&self) -> CoordStatus {
        CoordStatus {
            epoch: self.epoch,
            voting: self.attempts.len(),
            committing: self.committing.len(),
            commits: self.commits,
            requests: self.requests.len(),
            serving: self.serving(),
        }
    }
}

/// The coordinator's figures for `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoordStatus {
    pub epoch: u64,
    /// Attempts waiting for votes.
    pub voting: usize,
    /// Commits not yet acknowledged by every participant.
    pub committing: usize,
    /// Commits decided since this start.
    pub commits: u64,
    /// Client transactions not yet answered.
    pub requests: usize,
    /// Whether every shard answered lately ([`Coordinator::serving`]).
    pub serving: bool,
}
