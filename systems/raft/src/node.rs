//! The I/O shell's heart: one thread owns the Raft core, the key-value state machine and the
//! write-ahead log. It takes peer messages and client requests from one queue, feeds them to the
//! core in batches, and carries out each `Ready`: one write and one fsync for the whole batch
//! (group commit), then the messages, then applying and answering clients.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use wire::{code, Op, Request, Response};

use crate::bugs::{Bug, Bugs};
use crate::core::{Config, Entry, Index, Message, NodeId, Raft, Role, Snapshot};
use crate::kv::{Command, Kv, KvOp, MicroOp, Origin, Outcome};
use crate::storage::{snapshot, wal::Wal};
use crate::transport::Outbound;

/// How often `--bug unsynced-ack` fsyncs the log (the correct build syncs every `Ready`).
const UNSYNCED_ACK_INTERVAL: Duration = Duration::from_millis(500);

/// Where a client's response goes: its connection's writer.
pub type Reply = UnboundedSender<Response>;

/// Everything the core thread reacts to.
pub enum Input {
    Peer(Message),
    Client { req: Request, reply: Reply },
}

/// A node's settings, from the command line.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub name: String,
    pub id: NodeId,
    /// Every member's numeric id and name (this node included).
    pub names: BTreeMap<NodeId, String>,
    /// The other members' ids and the peer addresses to dial.
    pub peers: Vec<(NodeId, String)>,
    pub data_dir: PathBuf,
    pub tick: Duration,
    pub election_ticks_min: u32,
    pub election_ticks_max: u32,
    pub heartbeat_ticks: u32,
    pub snapshot_threshold: u64,
    pub request_timeout: Duration,
    /// The re-introduced bugs switched on (`--bug`); `Bugs::NONE` for the correct build.
    pub bugs: Bugs,
}

struct PendingWrite {
    id: u64,
    reply: Reply,
    deadline: Instant,
    /// `--bug txn-local-reads`: the transaction's results as read locally on arrival.
    local_reads: Option<Vec<Value>>,
    /// `--bug txn-split`: the results of the transaction's first entry.
    first_part: Vec<Value>,
}

struct PendingRead {
    id: u64,
    key: String,
    reply: Reply,
    deadline: Instant,
}

/// The core thread's state.
pub struct Node {
    cfg: NodeConfig,
    raft: Raft,
    kv: Kv,
    wal: Wal,
    incarnation: u64,
    next_seq: u64,
    next_ctx: u64,
    writes: HashMap<u64, PendingWrite>,
    /// Reads waiting for their read index.
    reads: HashMap<u64, PendingRead>,
    /// Reads with a read index, waiting for the state machine to apply it.
    confirmed_reads: Vec<(Index, PendingRead)>,
    /// When the log was last synced (for `--bug unsynced-ack`).
    last_sync: Instant,
    /// `--bug txn-split`: for each first half (by sequence number) the rest of the
    /// transaction and its rid, proposed once the first half applies.
    split_rest: HashMap<u64, (Vec<MicroOp>, Option<String>)>,
    /// Second halves to propose after the current `Ready` is done.
    deferred: Vec<(Option<String>, Vec<MicroOp>, PendingWrite)>,
}

impl Node {
    /// Recovers the node from its data directory.
    pub fn open(cfg: NodeConfig) -> anyhow::Result<Node> {
        use anyhow::Context;
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
        let snap = snapshot::load(&cfg.data_dir)?;
        let kv = match &snap {
            Some(s) => Kv::decode(&s.data).with_context(|| {
                format!("the snapshot in {} does not decode", cfg.data_dir.display())
            })?,
            None => Kv::default(),
        };
        let (wal, rec) = Wal::open(&cfg.data_dir)?;
        tracing::info!(
            term = rec.hard_state.term,
            vote = ?rec.hard_state.vote,
            entries = rec.entries.len(),
            snapshot = snap.as_ref().map_or(0, |s| s.index),
            torn_bytes = rec.truncated_bytes,
            "recovered from {}",
            cfg.data_dir.display()
        );
        let core_cfg = Config {
            id: cfg.id,
            voters: cfg.names.keys().copied().collect(),
            election_ticks_min: cfg.election_ticks_min,
            election_ticks_max: cfg.election_ticks_max,
            heartbeat_ticks: cfg.heartbeat_ticks,
            max_entries_per_msg: 512,
            max_inflight: 64,
            bugs: cfg.bugs,
        };
        let raft = Raft::new(core_cfg, rec.hard_state, snap, rec.entries, rand::random());
        Ok(Node {
            cfg,
            raft,
            kv,
            wal,
            incarnation: rand::random(),
            next_seq: 0,
            next_ctx: 0,
            writes: HashMap::new(),
            reads: HashMap::new(),
            confirmed_reads: Vec::new(),
            last_sync: Instant::now(),
            split_rest: HashMap::new(),
            deferred: Vec::new(),
        })
    }

    /// Runs until the input queue closes. Returns an error only when stable storage fails, after
    /// which the node must not go on.
    pub fn run(mut self, inbox: Receiver<Input>, out: Outbound) -> anyhow::Result<()> {
        let tick = self.cfg.tick;
        let mut next_tick = Instant::now() + tick;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(wait) {
                Ok(i) => self.handle(i),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            for _ in 0..16384 {
                match inbox.try_recv() {
                    Ok(i) => self.handle(i),
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            let mut ticks = 0;
            while now >= next_tick && ticks < 5 {
                self.raft.tick();
                next_tick += tick;
                ticks += 1;
            }
            if now >= next_tick {
                next_tick = now + tick;
            }
            if ticks > 0 {
                self.expire(now);
            }
            self.process_ready(&out)?;
        }
    }

    fn name_of(&self, id: Option<NodeId>) -> Option<wire::NodeRef> {
        id.and_then(|i| self.cfg.names.get(&i))
            .map(|n| wire::NodeRef::Name(n.clone()))
    }

    /// The answer to `status` (Contract 2's typed [`wire::Status`]).
    fn status(&self) -> wire::Status {
        let s = self.raft.status();
        let role = match s.role {
            Role::Leader => wire::Role::Leader,
            Role::Follower => wire::Role::Follower,
            Role::Candidate => wire::Role::Candidate,
            Role::PreCandidate => wire::Role::PreCandidate,
        };
        let mut extra = serde_json::Map::new();
        extra.insert("applied".into(), json!(self.kv.applied));
        extra.insert("last_index".into(), json!(s.last_index));
        extra.insert("snapshot_index".into(), json!(s.snapshot_index));
        wire::Status {
            node: wire::NodeRef::Name(self.cfg.name.clone()),
            role,
            generation: wire::Generation::Term(s.term),
            leader: self.name_of(s.leader),
            commit: s.commit,
            serving: None,
            extra,
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Peer(m) => self.raft.step(m),
            Input::Client { req, reply } => self.handle_client(req, reply),
        }
    }

    fn handle_client(&mut self, req: Request, reply: Reply) {
        let deadline = Instant::now() + self.cfg.request_timeout;
        let id = req.id;
        let op = match req.op {
            Op::Status => {
                let _ = reply.send(self.status().into_response(id));
                return;
            }
            Op::Read { key } => {
                self.next_ctx += 1;
                let ctx = self.next_ctx;
                match self.raft.read_index(ctx) {
                    Ok(()) => {
                        self.reads.insert(
                            ctx,
                            PendingRead {
                                id,
                                key,
                                reply,
                                deadline,
                            },
                        );
                    }
                    Err(e) => refuse(&reply, id, format!("{e}; try again or another node")),
                }
                return;
            }
            Op::Write { key, value } => KvOp::Write { key, value },
            Op::Cas { key, from, to } => KvOp::Cas { key, from, to },
            Op::Txn { txn } => {
                let mops = match txn
                    .iter()
                    .map(MicroOp::parse)
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(m) if !m.is_empty() => m,
                    Ok(_) => {
                        return bad_request(&reply, id, "a txn needs at least one micro-op".into())
                    }
                    Err(e) => return bad_request(&reply, id, e),
                };
                if self.cfg.bugs.has(Bug::TxnSplit) && mops.len() > 1 {
                    return self.propose_split(req.rid, mops, id, reply, deadline);
                }
                let local_reads = self
                    .cfg
                    .bugs
                    .has(Bug::TxnLocalReads)
                    .then(|| self.kv.preview_txn(&mops));
                return self.propose(
                    req.rid,
                    KvOp::Txn { mops },
                    id,
                    reply,
                    deadline,
                    local_reads,
                );
            }
            other => {
                let _ = reply.send(Response::err(
                    Some(id),
                    code::BAD_REQUEST,
                    true,
                    format!(
                        "raft-node does not support {:?}; it serves read, write, cas, txn and status",
                        other.name()
                    ),
                ));
                return;
            }
        };
        self.propose(req.rid, op, id, reply, deadline, None);
    }

    /// Proposes one command and remembers whom to answer when it applies.
    fn propose(
        &mut self,
        rid: Option<String>,
        op: KvOp,
        id: u64,
        reply: Reply,
        deadline: Instant,
        local_reads: Option<Vec<Value>>,
    ) {
        let w = PendingWrite {
            id,
            reply,
            deadline,
            local_reads,
            first_part: Vec::new(),
        };
        if let Err((w, e)) = self.propose_pending(rid, op, w) {
            // Never proposed: it certainly will not take effect.
            refuse(&w.reply, w.id, format!("{e}; the request was not proposed"));
        }
    }

    fn propose_pending(
        &mut self,
        rid: Option<String>,
        op: KvOp,
        w: PendingWrite,
    ) -> Result<u64, (PendingWrite, String)> {
        let seq = self.next_seq + 1;
        let cmd = Command {
            origin: Origin {
                node: self.cfg.id,
                incarnation: self.incarnation,
                seq,
            },
            rid,
            op,
        };
        match self.raft.propose(cmd.encode()) {
            Ok(()) => {
                self.next_seq = seq;
                self.writes.insert(seq, w);
                Ok(seq)
            }
            Err(e) => Err((w, e.to_string())),
        }
    }

    /// `--bug txn-split`: proposes the transaction's first half; the rest is proposed as a
    /// second entry once the first applies, and the client is answered when that applies.
    fn propose_split(
        &mut self,
        rid: Option<String>,
        mut mops: Vec<MicroOp>,
        id: u64,
        reply: Reply,
        deadline: Instant,
    ) {
        let rest = mops.split_off(mops.len() / 2);
        let w = PendingWrite {
            id,
            reply,
            deadline,
            local_reads: None,
            first_part: Vec::new(),
        };
        let first_rid = rid.as_ref().map(|r| format!("{r}/1"));
        match self.propose_pending(first_rid, KvOp::Txn { mops }, w) {
            Ok(seq) => {
                self.split_rest
                    .insert(seq, (rest, rid.map(|r| format!("{r}/2"))));
            }
            Err((w, e)) => refuse(&w.reply, w.id, format!("{e}; the request was not proposed")),
        }
    }

    /// Proposes the second halves whose first halves applied (`--bug txn-split`). The first
    /// half took effect, so a second half that cannot be proposed is an indefinite failure.
    fn propose_deferred(&mut self) {
        for (rid, mops, w) in std::mem::take(&mut self.deferred) {
            if let Err((w, e)) = self.propose_pending(rid, KvOp::Txn { mops }, w) {
                let _ = w.reply.send(Response::err(
                    Some(w.id),
                    code::LEADERSHIP_LOST,
                    false,
                    format!("{e}; the transaction's first half has applied"),
                ));
            }
        }
    }

    /// Answers the requests whose deadline passed. Their fate is unknown.
    fn expire(&mut self, now: Instant) {
        let ms = self.cfg.request_timeout.as_millis();
        let definite = self.cfg.bugs.timeout_is_definite();
        self.writes.retain(|_, w| {
            if w.deadline > now {
                return true;
            }
            let _ = w.reply.send(Response::err(
                Some(w.id),
                code::TIMEOUT,
                definite,
                format!("not committed within {ms} ms; it may still take effect"),
            ));
            false
        });
        let expired = |r: &PendingRead| {
            if r.deadline > now {
                return false;
            }
            let _ = r.reply.send(Response::err(
                Some(r.id),
                code::TIMEOUT,
                false,
                format!("read not confirmed within {ms} ms"),
            ));
            true
        };
        self.reads.retain(|_, r| !expired(r));
        self.confirmed_reads.retain(|(_, r)| !expired(r));
    }

    fn process_ready(&mut self, out: &Outbound) -> anyhow::Result<()> {
        while self.raft.has_ready() {
            let mut ready = self.raft.ready();
            if let Some(s) = &ready.snapshot {
                self.install_snapshot(s)?;
            }
            if let Some(hs) = ready.hard_state {
                self.wal.put_hard_state(hs);
            }
            self.wal.put_entries(&ready.entries);
            if ready.must_sync() {
                if !self.cfg.bugs.syncs_lazily() {
                    self.wal.sync()?;
                } else if self.last_sync.elapsed() >= UNSYNCED_ACK_INTERVAL {
                    self.wal.sync()?;
                    self.last_sync = Instant::now();
                }
            }
            for m in std::mem::take(&mut ready.messages) {
                out.send(m);
            }
            for e in &ready.committed {
                self.apply(e);
            }
            for r in &ready.reads {
                if let Some(p) = self.reads.remove(&r.ctx) {
                    self.confirmed_reads.push((r.index, p));
                }
            }
            for f in &ready.failed_reads {
                if let Some(p) = self.reads.remove(&f.ctx) {
                    let _ = p.reply.send(Response::err(
                        Some(p.id),
                        code::LEADERSHIP_LOST,
                        false,
                        "leadership changed before the read was confirmed",
                    ));
                }
            }
            self.raft.advance(&ready);
            self.propose_deferred();
            self.serve_reads();
            self.maybe_snapshot()?;
        }
        Ok(())
    }

    fn install_snapshot(&mut self, s: &Snapshot) -> anyhow::Result<()> {
        let kv = Kv::decode(&s.data)
            .map_err(|e| anyhow::anyhow!("a received snapshot does not decode: {e}"))?;
        snapshot::save(&self.cfg.data_dir, s)?;
        self.wal.rewrite(self.raft.hard_state(), &[])?;
        self.kv = kv;
        tracing::info!(index = s.index, keys = self.kv.len(), "installed snapshot");
        Ok(())
    }

    fn apply(&mut self, e: &Entry) {
        if e.is_noop() {
            self.kv.skip(e.index);
            return;
        }
        let cmd = match Command::decode(&e.data) {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(index = e.index, "skipping an undecodable entry: {err}");
                self.kv.skip(e.index);
                return;
            }
        };
        let outcome = self.kv.apply(e.index, &cmd);
        if cmd.origin.node != self.cfg.id || cmd.origin.incarnation != self.incarnation {
            return;
        }
        if let Some((rest, rid)) = self.split_rest.remove(&cmd.origin.seq) {
            // A rejected first half is answered below like any transaction.
            if let Outcome::Txn { results } = &outcome {
                if let Some(mut w) = self.writes.remove(&cmd.origin.seq) {
                    w.first_part = results.clone();
                    self.deferred.push((rid, rest, w));
                }
                return;
            }
        }
        let Some(w) = self.writes.remove(&cmd.origin.seq) else {
            return;
        };
        let r = match outcome {
            Outcome::Ok => Response::ok(w.id),
            Outcome::Txn { results } => {
                let mut all = w.first_part;
                all.extend(w.local_reads.unwrap_or(results));
                Response::ok_with(w.id, "txn", Value::Array(all))
            }
            Outcome::TxnRejected { message } => {
                Response::err(Some(w.id), "txn_rejected", true, message)
            }
            Outcome::CasMismatch { current } => {
                let key = match &cmd.op {
                    KvOp::Cas { key, .. } | KvOp::Write { key, .. } => key.as_str(),
                    KvOp::Txn { .. } => "txn",
                };
                Response::err(
                    Some(w.id),
                    code::CAS_MISMATCH,
                    true,
                    format!("{key} is {current}"),
                )
            }
        };
        let _ = w.reply.send(r);
    }

    fn serve_reads(&mut self) {
        if self.confirmed_reads.is_empty() {
            return;
        }
        let applied = self.kv.applied;
        let kv = &self.kv;
        self.confirmed_reads.retain(|(index, r)| {
            if *index > applied {
                return true;
            }
            let _ = r
                .reply
                .send(Response::ok_with(r.id, "value", kv.read(&r.key)));
            false
        });
    }

    fn maybe_snapshot(&mut self) -> anyhow::Result<()> {
        let applied = self.kv.applied;
        let log = self.raft.log();
        if applied < log.snapshot_index() + self.cfg.snapshot_threshold || applied > log.applied {
            return Ok(());
        }
        let Some(term) = log.term(applied) else {
            return Ok(());
        };
        let data = self.kv.encode();
        let snap = Snapshot {
            index: applied,
            term,
            data,
        };
        snapshot::save(&self.cfg.data_dir, &snap)?;
        self.raft.compact(applied, snap.data);
        self.wal
            .rewrite(self.raft.hard_state(), self.raft.log().entries())?;
        tracing::info!(index = applied, "took a snapshot and compacted the log");
        Ok(())
    }
}

/// Answers a malformed request: a definite `bad_request`.
fn bad_request(reply: &Reply, id: u64, message: String) {
    let _ = reply.send(Response::err(Some(id), code::BAD_REQUEST, true, message));
}

/// Answers a request that was never proposed or registered: a definite `unavailable`.
fn refuse(reply: &Reply, id: u64, message: String) {
    let _ = reply.send(Response::err(Some(id), code::UNAVAILABLE, true, message));
}
