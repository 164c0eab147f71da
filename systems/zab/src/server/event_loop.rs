//! The event loop: feeds ticks, peer messages and client commands to the pure [`Peer`] and
//! executes its effects by the barriers the core put on them (`core/peer/effects.rs`). Group
//! commit: everything that arrived while the previous batch was being made durable is fed in
//! at once, and its log writes share one fsync.

use super::client::{self, Command, ReadOp};
use super::peer_net::{LinkTimeouts, PeerNet};
use crate::bug::BugSet;
use crate::core::message::Message;
use crate::core::peer::{After, Config, Effect, Input, Peer};
use crate::core::tree::{Stat, TxnOk, TxnResult};
use crate::core::txn::NodeId;
use crate::core::zxid::Zxid;
use crate::storage::{snapshot, DataDir};
use anyhow::Context;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use wire::{code, Response};

/// Everything `zab-node` is told on its command line.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: NodeId,
    pub client_addr: SocketAddr,
    pub peer_addr: SocketAddr,
    /// Every server's peer address (this one's may be omitted).
    pub peers: BTreeMap<NodeId, SocketAddr>,
    pub data_dir: PathBuf,
    pub tick: Duration,
    pub init_limit: u64,
    pub sync_limit: u64,
    pub snap_count: u64,
    pub committed_log_max: usize,
    pub request_timeout: Duration,
    pub bugs: BugSet,
}

pub fn stat_json(s: &Stat) -> Value {
    json!({"version": s.version, "czxid": s.czxid.0, "mzxid": s.mzxid.0, "cversion": s.cversion})
}

fn txn_response(zxid: Zxid, result: TxnResult) -> Response {
    match result {
        Ok(TxnOk::Created { path, stat }) => Response::ok(0)
            .with("path", json!(path))
            .with("stat", stat_json(&stat)),
        Ok(TxnOk::Set { stat }) => Response::ok(0).with("stat", stat_json(&stat)),
        Ok(TxnOk::Deleted) | Ok(TxnOk::Synced) => Response::ok(0),
        Err(e) => Response::err(None, e.code(), true, e.to_string()),
    }
    .with("zxid", json!(zxid.0))
}

struct WaitingRead {
    min_zxid: Zxid,
    deadline: Instant,
    read: ReadOp,
    reply: oneshot::Sender<Response>,
}

struct Node {
    cfg: NodeConfig,
    peer: Peer,
    dir: DataDir,
    net: PeerNet,
    pending: HashMap<u64, oneshot::Sender<Response>>,
    next_req: u64,
    waiting: Vec<WaitingRead>,
    applied_since_snap: u64,
    snap_threshold: u64,
    snapshotting: bool,
    snap_done: mpsc::Sender<Result<Option<Zxid>, String>>,
    /// Durable writes executed since the start (reported to the peer: `Peer::persisted`).
    writes_done: u64,
}

/// Runs a node until a fatal error (an unusable data directory, a failed disk write).
pub async fn run(cfg: NodeConfig) -> anyhow::Result<()> {
    let (dir, durable) = DataDir::open(&cfg.data_dir)
        .with_context(|| format!("cannot open data directory {}", cfg.data_dir.display()))?;
    let mut voters: Vec<NodeId> = cfg.peers.keys().copied().collect();
    if !voters.contains(&cfg.id) {
        voters.push(cfg.id);
    }
    voters.sort_unstable();
    let core_cfg = Config {
        id: cfg.id,
        voters,
        election_resend: 4,
        init_limit: cfg.init_limit,
        sync_limit: cfg.sync_limit,
        committed_log_max: cfg.committed_log_max,
        bugs: cfg.bugs.clone(),
    };
    let peer = Peer::new(core_cfg, durable, rand::random())
        .with_context(|| format!("refusing to start from {}", cfg.data_dir.display()))?;
    tracing::info!(
        id = cfg.id,
        epoch = peer.current_epoch(),
        last_zxid = %peer.last_zxid(),
        "recovered from the data directory"
    );
    let peer_listener = TcpListener::bind(cfg.peer_addr)
        .await
        .with_context(|| format!("cannot listen for peers on {}", cfg.peer_addr))?;
    let client_listener = TcpListener::bind(cfg.client_addr)
        .await
        .with_context(|| format!("cannot listen for clients on {}", cfg.client_addr))?;
    let (peer_tx, mut peer_rx) = mpsc::channel::<(NodeId, Message)>(1 << 16);
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<Command>(1 << 16);
    let (snap_tx, mut snap_rx) = mpsc::channel(4);
    let link = LinkTimeouts {
        connect: cfg.tick * 10,
        write: (cfg.tick * cfg.sync_limit as u32).max(Duration::from_millis(500)),
        // Only to reclaim connections whose sender gave up on them (it redials on a stall).
        idle_read: Duration::from_secs(30),
    };
    let net = PeerNet::start(cfg.id, peer_listener, &cfg.peers, peer_tx, link);
    tokio::spawn(client::serve(client_listener, cmd_tx, cfg.request_timeout));
    tracing::info!(id = cfg.id, client = %cfg.client_addr, peer = %cfg.peer_addr, "zab-node up");

    let mut node = Node {
        snap_threshold: threshold(cfg.snap_count),
        cfg,
        peer,
        dir,
        net,
        pending: HashMap::new(),
        next_req: rand::thread_rng().gen::<u64>() >> 2,
        waiting: Vec::new(),
        applied_since_snap: 0,
        snapshotting: false,
        snap_done: snap_tx,
        writes_done: 0,
    };
    node.flush()?;
    let mut ticker = tokio::time::interval(node.cfg.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                node.peer.step(Input::Tick);
                node.on_tick();
            }
            Some((from, msg)) = peer_rx.recv() => node.peer.step(Input::Message { from, msg }),
            Some(cmd) = cmd_rx.recv() => node.command(cmd),
            Some(done) = snap_rx.recv() => node.snapshot_done(done)?,
        }
        // Group commit: take in everything else that is already waiting.
        for _ in 0..4096 {
            let mut idle = true;
            if let Ok((from, msg)) = peer_rx.try_recv() {
                node.peer.step(Input::Message { from, msg });
                idle = false;
            }
            if let Ok(cmd) = cmd_rx.try_recv() {
                node.command(cmd);
                idle = false;
            }
            if idle {
                break;
            }
        }
        node.peer.end_batch();
        node.flush()?;
    }
}

fn threshold(snap_count: u64) -> u64 {
    let half = (snap_count / 2).max(1);
    rand::thread_rng().gen_range(half..=snap_count.max(half))
}

impl Node {
    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Write { txn, rid, reply } => {
                let req = self.next_req;
                self.next_req += 1;
                self.pending.insert(req, reply);
                self.peer.step(Input::Request { req, txn, rid });
            }
            Command::Read {
                read,
                min_zxid,
                reply,
            } => {
                // Answered at the end of this batch (`serve_reads`), from committed state.
                let deadline = Instant::now() + self.cfg.request_timeout / 2;
                self.waiting.push(WaitingRead {
                    min_zxid,
                    deadline,
                    read,
                    reply,
                });
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
        }
    }

    fn unavailable(&self) -> Response {
        let why = match self.peer.state() {
            crate::ServerState::Looking => "the server is LOOKING for a leader",
            _ => "the server is synchronizing with its leader",
        };
        Response::err(None, code::UNAVAILABLE, true, why)
    }

    fn read(&self, read: &ReadOp) -> Response {
        let tree = self.peer.tree();
        let zxid = json!(self.peer.committed().0);
        match read {
            ReadOp::Get(path) => match tree.get(path) {
                Some(n) => Response::ok(0)
                    .with("data", n.data.clone())
                    .with("stat", stat_json(&n.stat)),
                None => Response::err(None, code::NO_NODE, true, format!("{path} does not exist")),
            },
            ReadOp::Children(path) => match tree.get(path) {
                Some(n) => Response::ok(0).with(
                    "children",
                    json!(n.children.iter().map(|c| &**c).collect::<Vec<&str>>()),
                ),
                None => Response::err(None, code::NO_NODE, true, format!("{path} does not exist")),
            },
        }
        .with("zxid", zxid)
    }

    /// The answer to `status` (Contract 2's typed [`wire::Status`]), in ZooKeeper's words.
    fn status(&self) -> Response {
        let p = &self.peer;
        let role = match p.state() {
            crate::ServerState::Looking => wire::Role::Looking,
            crate::ServerState::Following => wire::Role::Following,
            crate::ServerState::Leading => wire::Role::Leading,
        };
        let mut extra = serde_json::Map::new();
        extra.insert("accepted_epoch".into(), json!(p.accepted_epoch()));
        extra.insert("last_zxid".into(), json!(p.last_zxid().0));
        extra.insert("zxid".into(), json!(p.committed().0));
        extra.insert("min_committed_log".into(), json!(p.log_start().0));
        extra.insert("last_sync".into(), json!(p.last_sync().map(|m| m.name())));
        extra.insert("znodes".into(), json!(p.tree().len()));
        wire::Status {
            node: wire::NodeRef::Number(self.cfg.id),
            role,
            generation: wire::Generation::Epoch(u64::from(p.current_epoch())),
            leader: p.leader().map(wire::NodeRef::Number),
            commit: p.committed().0,
            serving: Some(p.serving()),
            extra,
        }
        .into_response(0)
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let committed = self.peer.committed();
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].deadline <= now {
                let w = self.waiting.swap_remove(i);
                let _ = w.reply.send(Response::err(
                    None,
                    code::STALE_SESSION,
                    true,
                    format!(
                        "this server has applied up to zxid {}, behind the session's {}",
                        committed.0, w.min_zxid.0
                    ),
                ));
            } else {
                i += 1;
            }
        }
        self.pending.retain(|_, tx| !tx.is_closed());
    }

    /// Executes the peer's effects, and those its progress reports produce, until none is
    /// left; then answers waiting reads and maybe takes a snapshot.
    fn flush(&mut self) -> anyhow::Result<()> {
        loop {
            let effects = self.peer.take_effects();
            if effects.is_empty() {
                break;
            }
            self.execute(effects)?;
        }
        self.serve_reads();
        self.maybe_snapshot();
        Ok(())
    }

    /// Executes one batch of effects by the core's barriers (`core/peer/effects.rs`): every
    /// output not marked `After::Durable` leaves at once; the durable writes run in order, a
    /// `Sync` being an fsync, and the batch ends with one; then the peer hears how far its
    /// writes are durable, and the held sends leave, in order.
    fn execute(&mut self, effects: Vec<Effect>) -> anyhow::Result<()> {
        let mut writes = Vec::new();
        let mut held = Vec::new();
        for e in effects {
            match e {
                Effect::Send {
                    after: After::Durable,
                    ..
                } => held.push(e),
                e if e.is_write() || e == Effect::Sync => writes.push(e),
                e => self.deliver(e),
            }
        }
        if !writes.is_empty() {
            // Reads answer committed state, which never waits for this server's disk.
            self.serve_reads();
            // Disk writes run right here, blocking the event loop's thread (zab-node runs the
            // loop on its main thread, outside the runtime's workers): the workers keep the
            // network and client tasks moving (and queuing the next batch) meanwhile.
            self.write(writes)
                .context("cannot persist to the data directory")?;
        }
        for e in held {
            self.deliver(e);
        }
        Ok(())
    }

    /// Runs durable writes in order (consecutive appends as one write) and fsyncs at every
    /// barrier and at the end; then tells the peer.
    fn write(&mut self, writes: Vec<Effect>) -> anyhow::Result<()> {
        let count = writes.iter().filter(|e| e.is_write()).count() as u64;
        let mut appends: Vec<crate::core::txn::Entry> = Vec::new();
        for e in writes {
            if let Effect::Append(entries) = e {
                appends.extend(entries);
                continue;
            }
            if !appends.is_empty() {
                self.dir.log.append(&std::mem::take(&mut appends))?;
            }
            match e {
                Effect::PersistAcceptedEpoch(a) => self.dir.persist_accepted(a)?,
                Effect::PersistCurrentEpoch(c) => self.dir.persist_current(c)?,
                Effect::PersistUpdatingEpoch(u) => self.dir.persist_updating(u)?,
                Effect::Truncate(z) => self.dir.log.truncate(z)?,
                Effect::InstallSnapshot { zxid, tree } => self.dir.install_snapshot(zxid, &tree)?,
                Effect::Sync => self.dir.log.sync()?,
                _ => unreachable!("only durable writes and barriers are passed here"),
            }
        }
        if !appends.is_empty() {
            self.dir.log.append(&appends)?;
        }
        self.dir.log.sync()?;
        self.writes_done += count;
        self.peer.persisted(self.writes_done);
        Ok(())
    }

    /// Sends a message, answers a client or counts an applied transaction.
    fn deliver(&mut self, e: Effect) {
        match e {
            Effect::Send { to, msg, .. } => self.net.send(to, &msg),
            Effect::Applied(_) => self.applied_since_snap += 1,
            Effect::Reply { req, zxid, result } => {
                if let Some(tx) = self.pending.remove(&req) {
                    let _ = tx.send(txn_response(zxid, result));
                }
            }
            Effect::Unavailable { req, reason } => {
                if let Some(tx) = self.pending.remove(&req) {
                    let _ = tx.send(Response::err(None, code::UNAVAILABLE, true, reason));
                }
            }
            Effect::Abandoned { req } => {
                if let Some(tx) = self.pending.remove(&req) {
                    let _ = tx.send(Response::err(
                        None,
                        code::LEADERSHIP_LOST,
                        false,
                        "the server left its role while the write was in flight; it may or may not commit",
                    ));
                }
            }
            _ => {}
        }
    }

    /// Answers the reads of this batch, and those that waited for this server to catch up with
    /// their session's zxid; a server that does not serve refuses them.
    fn serve_reads(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        if !self.peer.serving() {
            for w in std::mem::take(&mut self.waiting) {
                let _ = w.reply.send(self.unavailable());
            }
            return;
        }
        let committed = self.peer.committed();
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.min_zxid <= committed);
        self.waiting = rest;
        for w in ready {
            let _ = w.reply.send(self.read(&w.read));
        }
    }

    /// Every snapCount/2..snapCount applied transactions, snapshot the committed tree in the
    /// background and start a new log segment.
    fn maybe_snapshot(&mut self) {
        if self.snapshotting || self.applied_since_snap < self.snap_threshold {
            return;
        }
        self.snapshotting = true;
        self.applied_since_snap = 0;
        self.snap_threshold = threshold(self.cfg.snap_count);
        let zxid = self.peer.committed();
        let tree = self.peer.tree().clone();
        let dir = self.dir.snap_dir();
        let done = self.snap_done.clone();
        self.dir.log.roll();
        tracing::info!(%zxid, "taking a snapshot");
        tokio::task::spawn_blocking(move || {
            let r = snapshot::write(&dir, zxid, &tree)
                .and_then(|_| snapshot::purge(&dir, 3))
                .map_err(|e| e.to_string());
            let _ = done.blocking_send(r);
        });
    }

    fn snapshot_done(&mut self, r: Result<Option<Zxid>, String>) -> anyhow::Result<()> {
        self.snapshotting = false;
        match r {
            Ok(Some(oldest)) => {
                // Log segments wholly covered by the oldest kept snapshot are not needed.
                self.dir.log.purge_through(oldest)?;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(anyhow::anyhow!("cannot write a snapshot: {e}")),
        }
    }
}
