//! The I/O shell: one thread owns the process's core (coordinator or participant) and its
//! durable log. It takes peer messages and client requests from one queue, ticks the core and
//! carries out each ready: one write and one fsync for its records, then its messages, then
//! (coordinator) the client replies.
//!
//! Clients send transactions (`txn`, and `read`/`write` as one-micro-op transactions) to the
//! coordinator; a participant refuses them at once with a definite `unavailable` naming the
//! coordinator. Every process answers `status`: its role, the coordinator's epoch, and how
//! many transactions are voting, committing or (participant) in doubt; the coordinator is
//! `serving` only while every shard answers its pings.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use raft::transport::{Outbound, PeerMessage};
use serde_json::{json, Value as Json};
use wire::server::Reply;
use wire::{code, Op, Request, Response};

use crate::bugs::Bugs;
use crate::core::{
    CoordConfig, CoordDurable, CoordRecord, Coordinator, Message, MicroOp, NodeId, Outcome,
    PartConfig, PartDurable, PartRecord, Participant,
};
use crate::storage::Log;

impl PeerMessage for Message {
    fn to(&self) -> raft::core::NodeId {
        self.to
    }
}

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
    pub coordinator: NodeId,
    /// The participants, shard 0 first.
    pub shards: Vec<NodeId>,
    /// The members this node links to, and the addresses to dial.
    pub peers: Vec<(NodeId, String)>,
    pub data_dir: PathBuf,
    pub tick: Duration,
    pub vote_ticks: u64,
    pub request_ticks: u64,
    pub resend_ticks: u64,
    pub bugs: Bugs,
}

/// What a pending request answers with.
enum Kind {
    Read,
    Write,
    Txn,
}

enum Role {
    Coordinator(Coordinator, Log<CoordRecord>),
    Participant(Participant, Log<PartRecord>),
}

/// The core thread's state.
pub struct Node {
    cfg: NodeConfig,
    role: Role,
    next_req: u64,
    pending: HashMap<u64, (u64, Kind, Reply)>,
}

impl Node {
    /// Recovers the node from its data directory.
    pub fn open(cfg: NodeConfig) -> anyhow::Result<Node> {
        use anyhow::Context;
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
        let role = if cfg.id == cfg.coordinator {
            let (log, rec) = Log::<CoordRecord>::open(&cfg.data_dir)?;
            let mut d = CoordDurable::default();
            rec.records.iter().for_each(|r| d.apply(r));
            tracing::info!(
                epoch = d.epoch,
                unfinished_commits = d.committing.len(),
                torn_bytes = rec.truncated_bytes,
                "coordinator recovered from {}",
                cfg.data_dir.display()
            );
            let core = CoordConfig {
                id: cfg.id,
                shards: cfg.shards.clone(),
                vote_ticks: cfg.vote_ticks,
                resend_ticks: cfg.resend_ticks,
                request_ticks: cfg.request_ticks,
                bugs: cfg.bugs,
            };
            Role::Coordinator(Coordinator::new(core, d, rand::random()), log)
        } else {
            let (log, rec) = Log::<PartRecord>::open(&cfg.data_dir)?;
            let mut d = PartDurable::default();
            rec.records.iter().for_each(|r| d.apply(r));
            tracing::info!(
                in_doubt = d.prepared.len(),
                applied = d.applied,
                torn_bytes = rec.truncated_bytes,
                "participant recovered from {}",
                cfg.data_dir.display()
            );
            let core = PartConfig {
                id: cfg.id,
                coordinator: cfg.coordinator,
                query_ticks: cfg.resend_ticks,
            };
            Role::Participant(Participant::new(core, d), log)
        };
        Ok(Node {
            cfg,
            role,
            next_req: 0,
            pending: HashMap::new(),
        })
    }

    /// Runs until the input queue closes. Returns an error only when stable storage fails,
    /// after which the node must not go on.
    pub fn run(mut self, inbox: Receiver<Input>, out: Outbound<Message>) -> anyhow::Result<()> {
        let tick = self.cfg.tick;
        let mut next_tick = Instant::now() + tick;
        loop {
            // The coordinator's new epoch is durable before anything else happens.
            self.carry_out(&out)?;
            let wait = next_tick.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(wait) {
                Ok(i) => self.handle(i),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            for _ in 0..4096 {
                match inbox.try_recv() {
                    Ok(i) => self.handle(i),
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            let mut ticks = 0;
            while now >= next_tick && ticks < 5 {
                match &mut self.role {
                    Role::Coordinator(c, _) => c.tick(),
                    Role::Participant(p, _) => p.tick(),
                }
                next_tick += tick;
                ticks += 1;
            }
            if now >= next_tick {
                next_tick = now + tick;
            }
        }
    }

    fn carry_out(&mut self, out: &Outbound<Message>) -> anyhow::Result<()> {
        match &mut self.role {
            Role::Coordinator(c, log) => {
                while c.has_ready() {
                    let r = c.take_ready();
                    log.append(&r.records)?;
                    r.messages.into_iter().for_each(|m| out.send(m));
                    for (req, outcome) in r.replies {
                        if let Some((id, kind, reply)) = self.pending.remove(&req) {
                            let _ = reply.send(answer(id, kind, outcome));
                        }
                    }
                }
            }
            Role::Participant(p, log) => {
                while p.has_ready() {
                    let r = p.take_ready();
                    log.append(&r.records)?;
                    r.messages.into_iter().for_each(|m| out.send(m));
                    for (txn, commit) in r.outcomes {
                        tracing::info!(%txn, commit, "decision");
                    }
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Peer(m) => match &mut self.role {
                Role::Coordinator(c, _) => c.step(m),
                Role::Participant(p, _) => p.step(m),
            },
            Input::Client { req, reply } => self.handle_client(req, reply),
        }
    }

    fn status(&self) -> wire::Status {
        let mut extra = serde_json::Map::new();
        let coordinator = wire::NodeRef::Name(self.cfg.names[&self.cfg.coordinator].clone());
        let mut serving = None;
        let (role, epoch, commit) = match &self.role {
            Role::Coordinator(c, _) => {
                let s = c.status();
                serving = Some(s.serving);
                extra.insert("voting".into(), json!(s.voting));
                extra.insert("committing".into(), json!(s.committing));
                extra.insert("requests".into(), json!(s.requests));
                extra.insert("shards".into(), json!(self.cfg.shards.len()));
                (wire::Role::Coordinator, s.epoch, s.commits)
            }
            Role::Participant(p, _) => {
                let s = p.status();
                extra.insert("in_doubt".into(), json!(s.in_doubt));
                extra.insert("locked_keys".into(), json!(s.locked_keys));
                extra.insert("keys".into(), json!(s.keys));
                (wire::Role::Participant, 0, s.applied)
            }
        };
        wire::Status {
            node: wire::NodeRef::Name(self.cfg.name.clone()),
            role,
            generation: wire::Generation::Epoch(epoch),
            leader: Some(coordinator),
            commit,
            serving,
            extra,
        }
    }

    fn handle_client(&mut self, req: Request, reply: Reply) {
        let id = req.id;
        let (kind, ops) = match req.op {
            Op::Status => {
                let _ = reply.send(self.status().into_response(id));
                return;
            }
            Op::Read { key } => (Kind::Read, vec![MicroOp::R(key)]),
            Op::Write { key, value } => (Kind::Write, vec![MicroOp::W(key, value)]),
            Op::Txn { txn } => match txn.iter().map(MicroOp::parse).collect() {
                Ok(ops) => (Kind::Txn, ops),
                Err(e) => return bad_request(&reply, id, &e),
            },
            other => {
                let message = format!(
                    "twopc-node does not support {:?}; it serves txn, read, write and status",
                    other.name()
                );
                return bad_request(&reply, id, &message);
            }
        };
        let Role::Coordinator(c, _) = &mut self.role else {
            let _ = reply.send(Response::err(
                Some(id),
                code::UNAVAILABLE,
                true,
                format!(
                    "{} is a participant; send transactions to the coordinator {}",
                    self.cfg.name, self.cfg.names[&self.cfg.coordinator]
                ),
            ));
            return;
        };
        self.next_req += 1;
        self.pending.insert(self.next_req, (id, kind, reply));
        c.submit(self.next_req, ops);
    }
}

/// The client's response to a decided transaction.
fn answer(id: u64, kind: Kind, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Committed(mops) => match kind {
            Kind::Txn => Response::ok_with(id, "txn", Json::Array(mops)),
            Kind::Write => Response::ok(id),
            Kind::Read => {
                let v = mops
                    .first()
                    .and_then(|m| m.get(2))
                    .cloned()
                    .unwrap_or(Json::Null);
                Response::ok_with(id, "value", v)
            }
        },
        Outcome::Aborted { reason, rejected } => {
            let c = if rejected { "txn_rejected" } else { "aborted" };
            Response::err(Some(id), c, true, reason)
        }
    }
}

/// Answers a malformed request: a definite `bad_request`.
fn bad_request(reply: &Reply, id: u64, message: &str) {
    let _ = reply.send(Response::err(Some(id), code::BAD_REQUEST, true, message));
}
