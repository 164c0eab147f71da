//! The I/O shell: one thread owns the Paxos core, the key-value state machine (raft's
//! [`raft::kv`]) and the durable log. It takes peer messages and client requests from one
//! queue, feeds them to the core in batches and carries out each [`Ready`]: one write and one
//! fsync for its records, then its messages, then applying the chosen slots in order and
//! answering the clients whose commands they hold.
//!
//! Every client operation, reads included, is a command in the log, so answers are
//! linearizable; only the leader proposes, the others refuse at once (a definite
//! `unavailable` naming the leader they believe in).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use raft::kv::{Command, Kv, KvOp, MicroOp, Origin, Outcome};
use raft::transport::Outbound;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc::UnboundedSender;
use wire::{code, Op, Request, Response};

use crate::bugs::Bugs;
use crate::core::{Config, Message, NodeId, Paxos, Ready, Role, Value};
use crate::storage::Log;

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
    pub request_timeout: Duration,
    pub bugs: Bugs,
}

/// What a pending request answers with once its command applies.
enum Kind {
    Write,
    /// A read: a one-micro-op transaction; the answer is its value.
    Read,
    Txn,
}

struct Pending {
    id: u64,
    kind: Kind,
    reply: Reply,
    deadline: Instant,
}

/// The core thread's state.
pub struct Node {
    cfg: NodeConfig,
    paxos: Paxos,
    kv: Kv,
    log: Log,
    incarnation: u64,
    next_seq: u64,
    pending: HashMap<u64, Pending>,
}

impl Node {
    /// Recovers the node from its data directory.
    pub fn open(cfg: NodeConfig) -> anyhow::Result<Node> {
        use anyhow::Context;
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
        let (log, rec) = Log::open(&cfg.data_dir)?;
        tracing::info!(
            promised = %rec.durable.promised,
            accepted = rec.durable.accepted.len(),
            chosen = rec.durable.chosen.len(),
            torn_bytes = rec.truncated_bytes,
            "recovered from {}",
            cfg.data_dir.display()
        );
        let core = Config {
            id: cfg.id,
            members: cfg.names.keys().copied().collect(),
            election_ticks_min: cfg.election_ticks_min,
            election_ticks_max: cfg.election_ticks_max,
            heartbeat_ticks: cfg.heartbeat_ticks,
            bugs: cfg.bugs,
        };
        Ok(Node {
            paxos: Paxos::new(core, rec.durable, rand::random()),
            cfg,
            kv: Kv::default(),
            log,
            incarnation: rand::random(),
            next_seq: 0,
            pending: HashMap::new(),
        })
    }

    /// Runs until the input queue closes. Returns an error only when stable storage fails,
    /// after which the node must not go on.
    pub fn run(mut self, inbox: Receiver<Input>, out: Outbound<Message>) -> anyhow::Result<()> {
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
                self.paxos.tick();
                next_tick += tick;
                ticks += 1;
            }
            if now >= next_tick {
                next_tick = now + tick;
            }
            if ticks > 0 {
                self.expire(now);
            }
            while self.paxos.has_ready() {
                let ready = self.paxos.take_ready();
                self.carry_out(ready, &out)?;
            }
        }
    }

    fn name_of(&self, id: Option<NodeId>) -> Option<wire::NodeRef> {
        id.and_then(|i| self.cfg.names.get(&i))
            .map(|n| wire::NodeRef::Name(n.clone()))
    }

    /// The answer to `status`: the generation is the promised ballot's round.
    fn status(&self) -> wire::Status {
        let s = self.paxos.status();
        let role = match s.role {
            Role::Leader => wire::Role::Leader,
            Role::Follower => wire::Role::Follower,
            Role::Candidate => wire::Role::Candidate,
        };
        let mut extra = serde_json::Map::new();
        extra.insert("ballot".into(), json!(s.promised.to_string()));
        extra.insert("applied".into(), json!(self.kv.applied));
        extra.insert("last_accepted".into(), json!(s.last_accepted));
        wire::Status {
            node: wire::NodeRef::Name(self.cfg.name.clone()),
            role,
            generation: wire::Generation::Term(s.promised.round),
            leader: self.name_of(s.leader),
            commit: s.chosen,
            serving: None,
            extra,
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Peer(m) => self.paxos.step(m),
            Input::Client { req, reply } => self.handle_client(req, reply),
        }
    }

    fn handle_client(&mut self, req: Request, reply: Reply) {
        let id = req.id;
        let (kind, op) = match req.op {
            Op::Status => {
                let _ = reply.send(self.status().into_response(id));
                return;
            }
            Op::Read { key } => (
                Kind::Read,
                KvOp::Txn {
                    mops: vec![MicroOp::R(key)],
                },
            ),
            Op::Write { key, value } => (Kind::Write, KvOp::Write { key, value }),
            Op::Cas { key, from, to } => (Kind::Write, KvOp::Cas { key, from, to }),
            Op::Txn { txn } => {
                match txn
                    .iter()
                    .map(MicroOp::parse)
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(mops) if !mops.is_empty() => (Kind::Txn, KvOp::Txn { mops }),
                    Ok(_) => return bad_request(&reply, id, "a txn needs at least one micro-op"),
                    Err(e) => return bad_request(&reply, id, &e),
                }
            }
            other => {
                let message = format!(
                    "paxos-node does not support {:?}; it serves read, write, cas, txn and status",
                    other.name()
                );
                return bad_request(&reply, id, &message);
            }
        };
        let seq = self.next_seq + 1;
        let cmd = Command {
            origin: Origin {
                node: self.cfg.id,
                incarnation: self.incarnation,
                seq,
            },
            rid: req.rid,
            op,
        };
        match self.paxos.propose(cmd.encode()) {
            Ok(_) => {
                self.next_seq = seq;
                self.pending.insert(
                    seq,
                    Pending {
                        id,
                        kind,
                        reply,
                        deadline: Instant::now() + self.cfg.request_timeout,
                    },
                );
            }
            Err(e) => {
                let hint = match self.name_of(e.leader) {
                    Some(wire::NodeRef::Name(n)) => format!("the leader is {n}"),
                    _ => "no leader is known".to_string(),
                };
                let _ = reply.send(Response::err(
                    Some(id),
                    code::UNAVAILABLE,
                    true,
                    format!("{e}; {hint}; the request was not proposed"),
                ));
            }
        }
    }

    /// Answers the requests whose deadline passed. Their fate is unknown.
    fn expire(&mut self, now: Instant) {
        let ms = self.cfg.request_timeout.as_millis();
        self.pending.retain(|_, p| {
            if p.deadline > now {
                return true;
            }
            let _ = p.reply.send(Response::err(
                Some(p.id),
                code::TIMEOUT,
                false,
                format!("not chosen within {ms} ms; it may still take effect"),
            ));
            false
        });
    }

    fn carry_out(&mut self, ready: Ready, out: &Outbound<Message>) -> anyhow::Result<()> {
        if !ready.records.is_empty() {
            self.log.put(&ready.records);
            self.log.sync()?;
        }
        for m in ready.messages {
            out.send(m);
        }
        for (slot, value) in &ready.apply {
            self.apply(*slot, value);
        }
        if ready.stepped_down {
            for (_, p) in self.pending.drain() {
                let _ = p.reply.send(Response::err(
                    Some(p.id),
                    code::LEADERSHIP_LOST,
                    false,
                    "this node stopped leading before the request was chosen; it may still take effect",
                ));
            }
        }
        Ok(())
    }

    fn apply(&mut self, slot: u64, value: &Value) {
        let data = match value {
            Value::Noop => return self.kv.skip(slot),
            Value::Cmd(d) => d,
        };
        let cmd = match Command::decode(data) {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(slot, "skipping an undecodable command: {err}");
                return self.kv.skip(slot);
            }
        };
        let outcome = self.kv.apply(slot, &cmd);
        if cmd.origin.node != self.cfg.id || cmd.origin.incarnation != self.incarnation {
            return;
        }
        let Some(p) = self.pending.remove(&cmd.origin.seq) else {
            return;
        };
        let r = match (outcome, p.kind) {
            (Outcome::Ok, _) => Response::ok(p.id),
            (Outcome::Txn { results }, Kind::Read) => {
                let v = results
                    .first()
                    .and_then(|r| r.get(2))
                    .cloned()
                    .unwrap_or(Json::Null);
                Response::ok_with(p.id, "value", v)
            }
            (Outcome::Txn { results }, _) => Response::ok_with(p.id, "txn", Json::Array(results)),
            (Outcome::TxnRejected { message }, _) => {
                Response::err(Some(p.id), "txn_rejected", true, message)
            }
            (Outcome::CasMismatch { current }, _) => {
                let key = match &cmd.op {
                    KvOp::Cas { key, .. } | KvOp::Write { key, .. } => key.as_str(),
                    KvOp::Txn { .. } => "txn",
                };
                Response::err(
                    Some(p.id),
                    code::CAS_MISMATCH,
                    true,
                    format!("{key} is {current}"),
                )
            }
        };
        let _ = p.reply.send(r);
    }
}

/// Answers a malformed request: a definite `bad_request`.
fn bad_request(reply: &Reply, id: u64, message: &str) {
    let _ = reply.send(Response::err(Some(id), code::BAD_REQUEST, true, message));
}
