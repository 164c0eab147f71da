//! Deterministic simulation of ZAB ensembles built from the pure peer core.
//!
//! The network loses, reorders and duplicates messages and is partitioned at random; servers
//! crash and restart from what their simulated disk holds. The disk ([`disk`]) obeys the
//! core's barriers and nothing more: a write is durable only once the simulation syncs it,
//! which it does late and in part; a crash keeps any subset of what the barriers leave
//! unordered; sends that wait for durability are held until then, all others leave at once.
//! After every step the [`checker`] verifies its named invariants. Each seed ends by healing
//! everything and requiring progress.
#![allow(dead_code)]

pub mod checker;
pub mod disk;

use checker::{violation, Checked, Checker, Invariant};
use disk::{Disk, Pending, WrongBarrier};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use zab::bug::{Bug, BugSet};
use zab::{After, Config, DataTree, Durable, Effect, Input, Message, NodeId, Peer, Txn, Zxid};

pub struct SimNode {
    pub peer: Option<Peer>,
    pub disk: Disk,
    pub pending: Pending,
    pub last_applied: Zxid,
}

/// What a run exercised (to show the simulation is not vacuous).
#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    pub diff: u64,
    pub trunc: u64,
    pub snap: u64,
    /// Crashes that lost writes not yet durable.
    pub crashes_mid_step: u64,
    pub gaps_and_duplicates: u64,
    /// Sends held for durability.
    pub held: u64,
}

pub struct Sim {
    pub rng: ChaCha8Rng,
    pub nodes: BTreeMap<NodeId, SimNode>,
    pub voters: Vec<NodeId>,
    pub net: Vec<(NodeId, NodeId, Message)>,
    pub blocked: BTreeSet<(NodeId, NodeId)>,
    pub checker: Checker,
    next_req: u64,
    retryable: Vec<(Txn, Option<String>)>,
    loss: f64,
    dup: f64,
    /// How often a step's writes are synced right after it (in chaos).
    p_sync: f64,
    pub committed_log_max: usize,
    pub bugs: BugSet,
    /// Servers whose disk is synced only by explicit `sync` calls (targeted scenarios).
    pub manual_sync: BTreeSet<NodeId>,
    pub wrong: Option<WrongBarrier>,
    pub trace: Vec<String>,
    pub stats: Stats,
}

pub const CHAOS_STEPS: usize = 3000;

/// Ensemble size of a seed.
pub fn size(seed: u64) -> usize {
    [5, 3, 3][(seed % 3) as usize]
}

/// One seed: chaos, then progress.
pub fn run_seed(seed: u64, bugs: &[Bug], wrong: Option<WrongBarrier>) -> Checked {
    let mut sim = Sim::with_bugs(seed, size(seed), bugs.iter().copied().collect());
    sim.wrong = wrong;
    sim.chaos(CHAOS_STEPS)?;
    sim.progress()
}

fn model(id: NodeId, e: String) -> checker::Violation {
    checker::Violation {
        invariant: Invariant::Model,
        detail: format!("n{id}: {e}"),
    }
}

impl Sim {
    pub fn new(seed: u64, n: usize) -> Sim {
        Sim::with_bugs(seed, n, BugSet::new())
    }

    pub fn with_bugs(seed: u64, n: usize, bugs: BugSet) -> Sim {
        Sim::with_disks(seed, vec![Disk::default(); n], bugs)
    }

    /// An ensemble whose servers start from these disks (server i + 1 from `disks[i]`).
    pub fn with_disks(seed: u64, disks: Vec<Disk>, bugs: BugSet) -> Sim {
        let n = disks.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let voters: Vec<NodeId> = (1..=n as u64).collect();
        let loss = [0.0, 0.02, 0.1][rng.gen_range(0..3)];
        let dup = [0.0, 0.05][rng.gen_range(0..2)];
        let committed_log_max = rng.gen_range(2..12);
        let p_sync = [1.0, 0.8, 0.4][rng.gen_range(0..3)];
        let mut sim = Sim {
            rng,
            nodes: BTreeMap::new(),
            voters: voters.clone(),
            net: Vec::new(),
            blocked: BTreeSet::new(),
            checker: Checker::default(),
            next_req: 1,
            retryable: Vec::new(),
            loss,
            dup,
            p_sync,
            committed_log_max,
            bugs,
            manual_sync: BTreeSet::new(),
            wrong: None,
            trace: Vec::new(),
            stats: Stats::default(),
        };
        for (id, disk) in voters.into_iter().zip(disks) {
            sim.nodes.insert(
                id,
                SimNode {
                    peer: None,
                    disk,
                    pending: Pending::default(),
                    last_applied: Zxid::ZERO,
                },
            );
            sim.start(id).expect("a fresh server starts");
        }
        sim
    }

    pub fn start(&mut self, id: NodeId) -> Checked {
        let cfg = Config {
            id,
            voters: self.voters.clone(),
            election_resend: 3,
            init_limit: 12,
            sync_limit: 6,
            committed_log_max: self.committed_log_max,
            bugs: self.bugs.clone(),
        };
        let seed = self.rng.gen();
        let node = self.nodes.get_mut(&id).unwrap();
        let d = &node.disk;
        let durable = Durable {
            accepted_epoch: d.accepted,
            current_epoch: d.current,
            updating_epoch: d.updating,
            snapshot: d.snapshot.clone(),
            log: d.log.clone(),
        };
        let snap = d.snapshot.as_ref().map(|(z, _)| *z).unwrap_or_default();
        if snap != Zxid::ZERO && !self.checker.chain.contains_key(&snap) {
            return violation(
                Invariant::Agreement,
                format!("n{id} restarts from snapshot {snap}, never committed"),
            );
        }
        let peer = match Peer::new(cfg, durable, seed) {
            Ok(p) => p,
            Err(e) => return violation(Invariant::Recovery, format!("n{id} cannot restart: {e}")),
        };
        node.peer = Some(peer);
        node.pending = Pending::default();
        node.last_applied = snap;
        self.trace.push(format!("start n{id}"));
        self.drain(id)
    }

    /// A crash: writes not yet durable are lost as the barriers allow, held sends are lost.
    pub fn crash(&mut self, id: NodeId) -> Checked {
        let node = self.nodes.get_mut(&id).unwrap();
        if node.peer.take().is_none() {
            return Ok(());
        }
        let lost = node
            .pending
            .crash(&mut node.disk, &mut self.rng)
            .map_err(|e| model(id, e))?;
        if lost > 0 {
            self.stats.crashes_mid_step += 1;
        }
        self.trace.push(format!("crash n{id} (lost {lost} writes)"));
        Ok(())
    }

    /// Executes node `id`'s effects by the barrier rules.
    pub fn drain(&mut self, id: NodeId) -> Checked {
        let node = self.nodes.get_mut(&id).unwrap();
        let Some(peer) = node.peer.as_mut() else {
            return Ok(());
        };
        let effects = peer.take_effects();
        for e in effects {
            let node = self.nodes.get_mut(&id).unwrap();
            match e {
                Effect::Send { to, msg, after } => {
                    let durable = after == After::Durable;
                    match node.pending.send(to, msg, durable, self.wrong) {
                        Some((to, msg)) => self.net.push((id, to, msg)),
                        None => self.stats.held += 1,
                    }
                }
                Effect::Sync => node.pending.barrier(self.wrong),
                Effect::Truncate(z) => {
                    self.trace.push(format!("n{id} truncates to {z}"));
                    node.pending.write(Effect::Truncate(z));
                }
                Effect::InstallSnapshot { zxid, tree } => {
                    if zxid != Zxid::ZERO && !self.checker.chain.contains_key(&zxid) {
                        return violation(
                            Invariant::Agreement,
                            format!("n{id} got a SNAP at {zxid}, never committed"),
                        );
                    }
                    node.last_applied = zxid;
                    node.pending.write(Effect::InstallSnapshot { zxid, tree });
                }
                e if e.is_write() => node.pending.write(e),
                Effect::Applied(en) => {
                    if !self.checker.chain.contains_key(&en.zxid) {
                        self.trace.push(format!("n{id} first to apply {}", en.zxid));
                    }
                    let prev = node.last_applied;
                    node.last_applied = en.zxid;
                    self.checker.applied(id, prev, &en)?;
                }
                Effect::Reply { req, zxid, .. } => self.checker.replied(id, req, zxid)?,
                Effect::Unavailable { req, .. } | Effect::Abandoned { req } => {
                    self.checker.refused.insert(req);
                }
                other => unreachable!("{other:?}"),
            }
        }
        Ok(())
    }

    /// Makes the first `k` pending segments of `id` durable (all with `usize::MAX`), releases
    /// the sends that waited for them and tells the peer.
    pub fn sync(&mut self, id: NodeId, k: usize) -> Checked {
        let node = self.nodes.get_mut(&id).unwrap();
        let Some(peer) = node.peer.as_mut() else {
            return Ok(());
        };
        if node.pending.is_empty() {
            return Ok(());
        }
        let go = node
            .pending
            .sync(k, &mut node.disk)
            .map_err(|e| model(id, e))?;
        peer.persisted(node.pending.synced);
        for (to, msg) in go {
            self.net.push((id, to, msg));
        }
        self.drain(id)
    }

    pub fn step_node(&mut self, id: NodeId, input: Input, may_crash: bool) -> Checked {
        // Batches of one or more inputs, as the shell makes them (in chaos).
        let end_batch = !may_crash || self.rng.gen_bool(0.6);
        let Some(peer) = self.nodes.get_mut(&id).unwrap().peer.as_mut() else {
            return Ok(());
        };
        if let Input::Message {
            msg: Message::Lead { packet, .. },
            ..
        } = &input
        {
            match packet {
                zab::LeadPacket::Diff => self.stats.diff += 1,
                zab::LeadPacket::Trunc { .. } => self.stats.trunc += 1,
                zab::LeadPacket::Snap { .. } => self.stats.snap += 1,
                _ => {}
            }
        }
        let before = (peer.state(), peer.leader(), peer.serving());
        let what = match &input {
            Input::Tick => "tick".to_string(),
            Input::Message { from, msg } => format!("from n{from}: {msg:?}"),
            Input::Request { req, .. } => format!("request {req}"),
        };
        peer.step(input);
        if end_batch {
            peer.end_batch();
        }
        let after = (peer.state(), peer.leader(), peer.serving());
        if before != after {
            let what: String = what.chars().take(160).collect();
            self.trace
                .push(format!("n{id}: {before:?} -> {after:?} on {what}"));
        }
        self.drain(id)?;
        // The disk catches up now, later, or partly (a barrier at a time).
        if self.manual_sync.contains(&id) {
            // The scenario syncs this server itself.
        } else if !may_crash || self.rng.gen_bool(self.p_sync) {
            self.sync(id, usize::MAX)?;
        } else if self.rng.gen_bool(0.3) {
            let segs = self.nodes[&id].pending.segments();
            let k = self.rng.gen_range(0..=segs);
            self.sync(id, k)?;
        }
        if may_crash && self.rng.gen_bool(0.003) {
            self.crash(id)?;
        }
        self.check()
    }

    pub fn check(&mut self) -> Checked {
        for (&id, n) in &self.nodes {
            let Some(p) = &n.peer else { continue };
            if let Some(e) = p.established_epoch() {
                self.checker.leader(e, id)?;
            }
            if p.committed() > p.last_zxid() {
                return violation(Invariant::Model, format!("n{id} committed beyond its log"));
            }
        }
        Ok(())
    }

    pub fn up(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.peer.is_some())
            .map(|(&id, _)| id)
            .collect()
    }

    /// A client request at `id`: a write (create / set / delete, most with a request id, some
    /// retries of an earlier one) or a sync.
    pub fn submit(&mut self, id: NodeId) -> Checked<u64> {
        self.submit_some(id, true)
    }

    /// Like `submit`, a sync only when `syncs`.
    pub fn submit_some(&mut self, id: NodeId, syncs: bool) -> Checked<u64> {
        let req = self.next_req;
        self.next_req += 1;
        let k = self.rng.gen_range(0..4);
        let txn = match self.rng.gen_range(0..if syncs { 10 } else { 9 }) {
            0..=1 => Txn::Create {
                path: format!("/k{k}"),
                data: req.into(),
                sequential: false,
            },
            2..=4 => Txn::Set {
                path: format!("/k{k}"),
                data: req.into(),
                version: -1,
            },
            5..=6 => Txn::Create {
                path: "/s".into(),
                data: req.into(),
                sequential: true,
            },
            7..=8 => Txn::Delete {
                path: format!("/k{k}"),
                version: -1,
            },
            _ => Txn::Sync,
        };
        let (txn, rid) = match self.retryable.len() {
            _ if txn == Txn::Sync => (txn, None),
            n if n > 0 && self.rng.gen_bool(0.15) => {
                self.retryable[self.rng.gen_range(0..n)].clone()
            }
            _ => {
                let rid = self.rng.gen_bool(0.7).then(|| format!("r{req}"));
                if let Some(r) = &rid {
                    self.retryable.push((txn.clone(), Some(r.clone())));
                }
                (txn, rid)
            }
        };
        if txn == Txn::Sync {
            let floor = self.checker.acked.last().copied().unwrap_or(Zxid::ZERO);
            self.checker.sync_floor.insert(req, floor);
        }
        self.checker.submitted.insert(req, txn.clone());
        if let Some(r) = &rid {
            self.checker.rid_of.insert(req, r.clone());
        }
        self.step_node(id, Input::Request { req, txn, rid }, false)?;
        Ok(req)
    }

    pub fn deliver_one(&mut self, faults: bool) -> Checked {
        if self.net.is_empty() {
            return Ok(());
        }
        // Links are FIFO, like TCP, except that in chaos a message now and then overtakes
        // the ones queued before it on its link (a reconnect delivering out of order).
        let i = self.rng.gen_range(0..self.net.len());
        let (f, t) = (self.net[i].0, self.net[i].1);
        let i = if faults && self.rng.gen_bool(0.02) {
            i
        } else {
            self.net
                .iter()
                .position(|m| m.0 == f && m.1 == t)
                .unwrap_or(i)
        };
        let (from, to, msg) = self.net.remove(i);
        if self.blocked.contains(&(from, to)) || (faults && self.rng.gen_bool(self.loss)) {
            return Ok(());
        }
        if faults && self.rng.gen_bool(self.dup) {
            self.stats.gaps_and_duplicates += 1;
            self.net.push((from, to, msg.clone()));
        }
        self.step_node(to, Input::Message { from, msg }, faults)
    }

    pub fn partition(&mut self, side: &[bool]) {
        self.blocked.clear();
        let n = side.len();
        for a in 0..n {
            for b in 0..n {
                if side[a] != side[b] {
                    self.blocked.insert((a as u64 + 1, b as u64 + 1));
                }
            }
        }
        self.trace.push(format!("partition {side:?}"));
    }

    pub fn chaos(&mut self, steps: usize) -> Checked {
        let n = self.voters.len();
        for _ in 0..steps {
            let r = self.rng.gen_range(0..1000);
            let up = self.up();
            let any_up = (!up.is_empty()).then(|| up[self.rng.gen_range(0..up.len())]);
            match (r, any_up) {
                (0..=479, _) => self.deliver_one(true)?,
                (480..=779, Some(id)) => self.step_node(id, Input::Tick, true)?,
                (780..=899, Some(id)) => {
                    self.submit(id)?;
                }
                (900..=914, Some(id)) => self.crash(id)?,
                (915..=944, _) => {
                    let down: Vec<NodeId> = self
                        .voters
                        .iter()
                        .copied()
                        .filter(|v| !up.contains(v))
                        .collect();
                    if !down.is_empty() {
                        let id = down[self.rng.gen_range(0..down.len())];
                        self.start(id)?;
                    }
                }
                (945..=959, _) => {
                    // A random partition into two sides.
                    let side: Vec<bool> = (0..n).map(|_| self.rng.gen_bool(0.5)).collect();
                    self.partition(&side);
                }
                (960..=974, _) => {
                    self.blocked.clear();
                    self.trace.push("heal".into());
                }
                (975..=984, Some(id)) => self.compact(id),
                (985..=992, Some(id)) => self.sync(id, usize::MAX)?,
                (993.., _) => {
                    for id in up {
                        self.step_node(id, Input::Tick, true)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Compacts a server's disk: snapshot its committed tree, drop the log below.
    pub fn compact(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).unwrap();
        let p = node.peer.as_ref().unwrap();
        let z = p.committed();
        if z != Zxid::ZERO && node.disk.log.iter().any(|e| e.zxid == z) {
            node.disk.snapshot = Some((z, p.tree().clone()));
            node.disk.log.retain(|e| e.zxid > z);
        }
    }

    /// Connects only a random quorum (the others crashed or cut off) and requires that a write
    /// then commits on every member of it; then heals everything and requires the same of all.
    pub fn progress(&mut self) -> Checked {
        let mut ids = self.voters.clone();
        for i in (1..ids.len()).rev() {
            let j = self.rng.gen_range(0..=i);
            ids.swap(i, j);
        }
        let quorum: Vec<NodeId> = ids[..self.voters.len() / 2 + 1].to_vec();
        self.blocked.clear();
        for id in self.voters.clone() {
            let inside = quorum.contains(&id);
            if inside || self.rng.gen_bool(0.5) {
                if self.nodes[&id].peer.is_none() {
                    self.start(id)?;
                }
            } else if self.nodes[&id].peer.is_some() {
                self.crash(id)?;
            }
            if !inside {
                for other in self.voters.clone() {
                    self.blocked.insert((id, other));
                    self.blocked.insert((other, id));
                }
            }
        }
        self.trace.push(format!("progress among {quorum:?}"));
        self.commit_among(&quorum)?;
        self.blocked.clear();
        for id in self.voters.clone() {
            if self.nodes[&id].peer.is_none() {
                self.start(id)?;
            }
        }
        self.trace.push("progress among all".into());
        let all = self.voters.clone();
        self.commit_among(&all)?;
        self.converged()
    }

    /// One fault-free round: every server ticks (its disk synced), then the network drains.
    pub fn quiet_round(&mut self) -> Checked {
        self.quiet_round_of(&self.voters.clone())
    }

    /// A fault-free round in which only `ids` tick (the others are paused).
    pub fn quiet_round_of(&mut self, ids: &[NodeId]) -> Checked {
        for &id in ids {
            if !self.manual_sync.contains(&id) {
                self.sync(id, usize::MAX)?;
            }
            self.step_node(id, Input::Tick, false)?;
        }
        let mut k = 0;
        while !self.net.is_empty() && k < 10_000 {
            self.deliver_one(false)?;
            k += 1;
        }
        Ok(())
    }

    /// Delivers every message in flight, fault-free, always to the first server of `order`
    /// that has one waiting (each link FIFO): a fixed schedule for targeted scenarios.
    pub fn deliver_by_receiver(&mut self, order: &[NodeId]) -> Checked {
        for _ in 0..10_000 {
            let Some(i) = order
                .iter()
                .find_map(|to| self.net.iter().position(|m| m.1 == *to))
            else {
                return Ok(());
            };
            let (from, to, msg) = self.net.remove(i);
            if !self.blocked.contains(&(from, to)) {
                self.step_node(to, Input::Message { from, msg }, false)?;
            }
        }
        Ok(())
    }

    /// The epoch some running server leads, established.
    pub fn established(&self) -> Option<(NodeId, u32)> {
        self.nodes.iter().find_map(|(&id, n)| {
            n.peer
                .as_ref()
                .and_then(|p| p.established_epoch())
                .map(|e| (id, e))
        })
    }

    /// Runs a fault-free network (but for `blocked`) until a write commits on all of `group`.
    pub fn commit_among(&mut self, group: &[NodeId]) -> Checked {
        let mut req: Option<u64> = None;
        let mut leader_seen = false;
        for _round in 0..400 {
            self.quiet_round()?;
            let all_serving = group
                .iter()
                .all(|id| self.nodes[id].peer.as_ref().is_some_and(|p| p.serving()));
            leader_seen |= group.iter().any(|id| {
                self.nodes[id]
                    .peer
                    .as_ref()
                    .is_some_and(|p| p.established_epoch().is_some())
            });
            match req {
                None if all_serving => {
                    let id = group[self.rng.gen_range(0..group.len())];
                    req = Some(self.submit_some(id, false)?);
                }
                Some(r) => {
                    let z = self
                        .checker
                        .chain
                        .iter()
                        .find(|(_, (e, _))| e.origin.map(|o| o.req) == Some(r))
                        .map(|(z, _)| *z);
                    if let Some(z) = z {
                        let everywhere = group.iter().all(|id| {
                            self.nodes[id]
                                .peer
                                .as_ref()
                                .is_some_and(|p| p.committed() >= z)
                        });
                        if everywhere {
                            return Ok(());
                        }
                    }
                    if !all_serving || self.checker.refused.contains(&r) {
                        // The write may have been abandoned by a re-election: try again.
                        req = None;
                    }
                }
                None => {}
            }
        }
        let (invariant, what) = if leader_seen {
            (Invariant::NoProgress, "no write committed")
        } else {
            (Invariant::NoLeader, "no leader established")
        };
        violation(
            invariant,
            format!(
                "{what} within 400 rounds with {group:?} connected (pending request {req:?}, {} messages in flight)",
                self.net.len()
            ),
        )
    }

    pub fn converged(&self) -> Checked {
        let max = self
            .nodes
            .values()
            .filter_map(|n| n.peer.as_ref().map(|p| p.committed()))
            .max()
            .unwrap();
        let trees: Vec<&DataTree> = self
            .nodes
            .values()
            .filter_map(|n| n.peer.as_ref())
            .filter(|p| p.committed() == max)
            .map(|p| p.tree())
            .collect();
        if trees.windows(2).any(|w| w[0] != w[1]) {
            return violation(
                Invariant::Agreement,
                format!("servers at commit point {max} hold different trees"),
            );
        }
        for z in &self.checker.acked {
            if !self.checker.chain.contains_key(z) {
                return violation(
                    Invariant::CommittedLost,
                    format!("acknowledged {z} is not committed"),
                );
            }
        }
        Ok(())
    }

    /// The last `n` trace lines and every server's state (printed on failure).
    pub fn report(&self, n: usize) -> String {
        let mut out: Vec<String> = self.trace.iter().rev().take(n).rev().cloned().collect();
        for (id, node) in &self.nodes {
            out.push(match &node.peer {
                Some(p) => format!(
                    "n{id}: {:?} leader={:?} serving={} epoch={} accepted={:?} last={} commit={} start={}",
                    p.state(), p.leader(), p.serving(), p.current_epoch(), p.accepted_epoch(),
                    p.last_zxid(), p.committed(), p.log_start()
                ),
                None => format!("n{id}: down"),
            });
        }
        out.join("\n")
    }
}
