//! LEADING: discovery (a quorum's FOLLOWERINFO → a new epoch → LEADERINFO → ACKEPOCH),
//! synchronizing each learner (DIFF / TRUNC / SNAP, NEWLEADER; established on a quorum of
//! NEWLEADER ACKs, then UPTODATE) and broadcast (propose, COMMIT what a quorum logged durably).

use super::effects::Outbox;
use super::{After, Effect, Input, Peer, Role};
use crate::bug::Bug;
use crate::core::election::ServerState;
use crate::core::message::{Forwarded, LeadPacket, LearnPacket, Message};
use crate::core::sync_plan::{self, SyncPlan};
use crate::core::tree::TxnOk;
use crate::core::txn::{Entry, NodeId, Origin, Txn};
use crate::core::zxid::Zxid;
use std::collections::BTreeMap;

/// Synchronization packets wait for durability: they present our epoch and history as the
/// learner's new truth, and NEWLEADER's ACKs count our own copy of it.
const SYNC: After = After::Durable;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum LeaderPhase {
    Discovery,
    AwaitEpochAcks,
    AwaitNewLeaderAcks,
    Broadcast,
}

/// The leader's view of one learner (ZooKeeper's LearnerHandler).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HandleState {
    /// FOLLOWERINFO received.
    Info,
    /// LEADERINFO sent.
    InfoSent,
    /// ACKEPOCH received.
    EpochAcked,
    /// Synchronization and NEWLEADER sent; proposals are forwarded from now on.
    Synced,
    /// NEWLEADER acknowledged.
    NewLeaderAcked,
    /// UPTODATE sent.
    UpToDate,
}

#[derive(Clone, Debug)]
struct Handle {
    session: u64,
    next_seq: u64,
    accepted_epoch: u32,
    last_zxid: Zxid,
    state: HandleState,
    /// Its ACKEPOCH counts towards the quorum (it accepted our epoch for the first time).
    counts: bool,
    /// The last proposal sent to it (from the synchronization on).
    sent_upto: Zxid,
    acked: Zxid,
    last_heard: u64,
    forward_next: u64,
}

#[derive(Clone, Debug)]
pub(super) struct Leader {
    pub(super) phase: LeaderPhase,
    pub(super) epoch: u32,
    handles: BTreeMap<NodeId, Handle>,
    started: u64,
    next_counter: u32,
}

impl Peer {
    pub(super) fn enter_leading(&mut self) -> Role {
        tracing::info!(id = self.cfg.id, "LEADING");
        let mut l = Box::new(Leader {
            phase: LeaderPhase::Discovery,
            epoch: 0,
            handles: BTreeMap::new(),
            started: self.now,
            next_counter: 1,
        });
        if !self.leader_advance(&mut l) {
            return self.enter_looking("a follower is ahead of us");
        }
        Role::Leading(l)
    }

    /// A sync is a proposal like any write, so a deposed leader cannot answer it; under
    /// ZOOKEEPER-1675 the leader answers it from its own commit point instead.
    fn answers_sync_locally(&self, txn: &Txn) -> bool {
        *txn == Txn::Sync && self.cfg.bugs.contains(&Bug::Zk1675)
    }

    /// Sends a learner the next packet of its session's stream.
    fn lead_send(out: &mut Outbox, to: NodeId, h: &mut Handle, packet: LeadPacket, after: After) {
        let msg = Message::Lead {
            session: h.session,
            seq: h.next_seq,
            packet,
        };
        h.next_seq += 1;
        out.send(to, msg, after);
    }

    /// Moves the leader through its phases as far as the learners' answers allow. Returns
    /// false when it must give up.
    fn leader_advance(&mut self, l: &mut Leader) -> bool {
        loop {
            match l.phase {
                LeaderPhase::Discovery => {
                    let infos = 1 + l.handles.len();
                    if !self.quorum(infos) {
                        return true;
                    }
                    // The new epoch: the maximum acceptedEpoch of the quorum, plus one.
                    let max = l
                        .handles
                        .values()
                        .map(|h| h.accepted_epoch)
                        .chain([self.accepted])
                        .max()
                        .unwrap_or(0);
                    l.epoch = max + 1;
                    self.accepted = l.epoch;
                    self.out.write_epoch(Effect::PersistAcceptedEpoch(l.epoch));
                    l.phase = LeaderPhase::AwaitEpochAcks;
                    let epoch = l.epoch;
                    for (&id, h) in l.handles.iter_mut() {
                        if h.state == HandleState::Info {
                            Self::lead_send(
                                &mut self.out,
                                id,
                                h,
                                LeadPacket::LeaderInfo { epoch },
                                // Discovery barrier: our acceptedEpoch is durable first.
                                After::Durable,
                            );
                            h.state = HandleState::InfoSent;
                        }
                    }
                }
                LeaderPhase::AwaitEpochAcks => {
                    let acks = 1 + l
                        .handles
                        .values()
                        .filter(|h| h.state >= HandleState::EpochAcked && h.counts)
                        .count();
                    if !self.quorum(acks) {
                        return true;
                    }
                    self.current_epoch = l.epoch;
                    self.out.write_epoch(Effect::PersistCurrentEpoch(l.epoch));
                    l.phase = LeaderPhase::AwaitNewLeaderAcks;
                    let ids: Vec<NodeId> = l
                        .handles
                        .iter()
                        .filter(|(_, h)| h.state == HandleState::EpochAcked)
                        .map(|(&id, _)| id)
                        .collect();
                    for id in ids {
                        self.sync_learner(l, id);
                    }
                }
                LeaderPhase::AwaitNewLeaderAcks => {
                    let acks = 1 + l
                        .handles
                        .values()
                        .filter(|h| h.state >= HandleState::NewLeaderAcked)
                        .count();
                    if !self.quorum(acks) {
                        return true;
                    }
                    // Established: our whole initial history is committed.
                    l.phase = LeaderPhase::Broadcast;
                    self.established = Some(l.epoch);
                    tracing::info!(id = self.cfg.id, epoch = l.epoch, "leader established");
                    self.commit_to(self.last_zxid());
                    let commit = self.committed;
                    for (&id, h) in l.handles.iter_mut() {
                        if h.state == HandleState::NewLeaderAcked {
                            Self::lead_send(
                                &mut self.out,
                                id,
                                h,
                                LeadPacket::UpToDate { commit },
                                After::Now,
                            );
                            h.state = HandleState::UpToDate;
                        }
                    }
                    return true;
                }
                LeaderPhase::Broadcast => return true,
            }
        }
    }

    /// Synchronizes one learner (after its ACKEPOCH) and starts forwarding proposals to it.
    fn sync_learner(&mut self, l: &mut Leader, id: NodeId) {
        let Some(h) = l.handles.get_mut(&id) else {
            return;
        };
        let diff_inside_window = self.cfg.bugs.contains(&Bug::Zk1154);
        let plan = sync_plan::plan(&self.log, self.log_start, h.last_zxid, diff_inside_window);
        let base = match plan {
            SyncPlan::Diff { from } => {
                Self::lead_send(&mut self.out, id, h, LeadPacket::Diff, SYNC);
                from
            }
            SyncPlan::Trunc { to } => {
                Self::lead_send(&mut self.out, id, h, LeadPacket::Trunc { zxid: to }, SYNC);
                to
            }
            SyncPlan::Snap => {
                let snap = LeadPacket::Snap {
                    zxid: self.committed,
                    tree: self.tree.clone(),
                };
                Self::lead_send(&mut self.out, id, h, snap, SYNC);
                self.committed
            }
        };
        let from = self.log.partition_point(|e| e.zxid <= base);
        for i in from..self.log.len() {
            let entry = self.log[i].clone();
            Self::lead_send(&mut self.out, id, h, LeadPacket::Proposal { entry }, SYNC);
        }
        if self.committed > base {
            let zxid = self.committed;
            Self::lead_send(&mut self.out, id, h, LeadPacket::Commit { zxid }, SYNC);
        }
        let zxid = Zxid::new(l.epoch, 0);
        Self::lead_send(&mut self.out, id, h, LeadPacket::NewLeader { zxid }, SYNC);
        h.sent_upto = self.last_zxid();
        h.state = HandleState::Synced;
    }

    fn propose(&mut self, l: &mut Leader, txn: Txn, origin: Origin, rid: Option<String>) {
        let zxid = Zxid::new(l.epoch, l.next_counter);
        l.next_counter += 1;
        let entry = Entry {
            zxid,
            txn,
            origin: Some(origin),
            rid,
        };
        self.log.push_back(entry.clone());
        self.out.write(Effect::Append(vec![entry]));
        // The PROPOSAL goes out with the others of this batch (see `flush_proposals`).
        self.try_commit(l);
    }

    /// Broadcast: sends every learner the proposals it has not been sent yet, as one PROPOSALS
    /// packet per batch. Called before any other packet goes to a learner, so its stream stays
    /// in zxid order.
    pub(super) fn flush_proposals(&mut self, l: &mut Leader) {
        let last = self.last_zxid();
        for (&id, h) in l.handles.iter_mut() {
            if h.state < HandleState::Synced || h.sent_upto >= last {
                continue;
            }
            let from = self.log.partition_point(|e| e.zxid <= h.sent_upto);
            let entries: Vec<Entry> = self.log.range(from..).cloned().collect();
            h.sent_upto = last;
            if !entries.is_empty() {
                Self::lead_send(
                    &mut self.out,
                    id,
                    h,
                    LeadPacket::Proposals { entries },
                    After::Now,
                );
            }
        }
    }

    /// COMMIT the longest prefix a quorum (the leader included) has acknowledged.
    pub(super) fn try_commit(&mut self, l: &mut Leader) {
        if l.phase != LeaderPhase::Broadcast {
            return;
        }
        let mut acks: Vec<Zxid> = l
            .handles
            .values()
            .filter(|h| h.state >= HandleState::Synced)
            .map(|h| h.acked)
            // Our own copy counts once it is durable (the shell said so: `persisted`).
            .chain([self.out.durable_log_end(self.last_zxid())])
            .collect();
        acks.sort_unstable_by(|a, b| b.cmp(a));
        let q = self.quorum_size();
        if acks.len() < q {
            return;
        }
        let z = acks[q - 1].min(self.last_zxid());
        if z <= self.committed {
            return;
        }
        // Every learner must have been sent what it is told is committed.
        self.flush_proposals(l);
        self.commit_to(z);
        for (&id, h) in l.handles.iter_mut() {
            if h.state >= HandleState::Synced {
                Self::lead_send(
                    &mut self.out,
                    id,
                    h,
                    LeadPacket::Commit { zxid: z },
                    After::Now,
                );
            }
        }
    }

    pub(super) fn leader_step(&mut self, mut l: Box<Leader>, input: Input) -> Role {
        match input {
            Input::Tick => {
                if l.phase != LeaderPhase::Broadcast {
                    if self.now - l.started > self.cfg.init_limit {
                        return self.enter_looking("no quorum synchronized within initLimit");
                    }
                    return Role::Leading(l);
                }
                let now = self.now;
                let mut live = 1;
                self.flush_proposals(&mut l);
                for (&id, h) in l.handles.iter_mut() {
                    if h.state >= HandleState::Synced {
                        Self::lead_send(&mut self.out, id, h, LeadPacket::Ping, After::Now);
                    }
                    if h.state >= HandleState::NewLeaderAcked
                        && now - h.last_heard <= self.cfg.sync_limit
                    {
                        live += 1;
                    }
                }
                if !self.quorum(live) {
                    return self.enter_looking("lost the quorum");
                }
                Role::Leading(l)
            }
            Input::Message {
                from,
                msg: Message::Notification(n),
            } => {
                if n.state == ServerState::Looking && from != self.cfg.id {
                    self.notify(from, ServerState::Leading);
                }
                Role::Leading(l)
            }
            Input::Message {
                from,
                msg: Message::Learn { session, packet },
            } => {
                if from == self.cfg.id || !self.cfg.voters.contains(&from) {
                    return Role::Leading(l);
                }
                self.leader_packet(l, from, session, packet)
            }
            Input::Message { .. } => Role::Leading(l),
            Input::Request { req, txn, rid } => {
                if l.phase == LeaderPhase::Broadcast && self.answers_sync_locally(&txn) {
                    // ZOOKEEPER-1675: no quorum round; our commit point may be stale.
                    let zxid = self.committed;
                    let result = Ok(TxnOk::Synced);
                    self.out.output(Effect::Reply { req, zxid, result });
                } else if l.phase == LeaderPhase::Broadcast {
                    self.inflight.insert(req);
                    let origin = Origin {
                        node: self.cfg.id,
                        req,
                    };
                    self.propose(&mut l, txn, origin, rid);
                } else {
                    self.out.output(Effect::Unavailable {
                        req,
                        reason: "the leader is not established yet",
                    });
                }
                Role::Leading(l)
            }
        }
    }

    fn leader_packet(
        &mut self,
        mut l: Box<Leader>,
        from: NodeId,
        session: u64,
        packet: LearnPacket,
    ) -> Role {
        if let LearnPacket::FollowerInfo {
            accepted_epoch,
            last_zxid,
        } = packet
        {
            // Discovery step 1 (leader side): a learner connects (or reconnects).
            if l.handles.get(&from).is_some_and(|h| h.session == session) {
                return Role::Leading(l); // duplicate
            }
            if l.phase > LeaderPhase::Discovery && accepted_epoch > l.epoch {
                // The learner accepted a newer epoch and can never follow us: abdicate, so that
                // the next election picks an epoch above it.
                return self.enter_looking("a learner accepted an epoch above ours");
            }
            let mut h = Handle {
                session,
                next_seq: 0,
                accepted_epoch,
                last_zxid,
                state: HandleState::Info,
                counts: false,
                sent_upto: Zxid::ZERO,
                acked: Zxid::ZERO,
                last_heard: self.now,
                forward_next: 0,
            };
            if l.phase > LeaderPhase::Discovery {
                let epoch = l.epoch;
                Self::lead_send(
                    &mut self.out,
                    from,
                    &mut h,
                    LeadPacket::LeaderInfo { epoch },
                    After::Durable,
                );
                h.state = HandleState::InfoSent;
            }
            l.handles.insert(from, h);
            if !self.leader_advance(&mut l) {
                return self.enter_looking("a follower is ahead of us");
            }
            return Role::Leading(l);
        }
        let now = self.now;
        let Some(h) = l.handles.get_mut(&from) else {
            return Role::Leading(l);
        };
        if h.session != session {
            return Role::Leading(l); // an old session
        }
        h.last_heard = now;
        match packet {
            LearnPacket::FollowerInfo { .. } => unreachable!("handled above"),
            // Discovery step 3 (leader side): ACKEPOCH. Give up if the learner is ahead.
            LearnPacket::AckEpoch {
                current_epoch,
                last_zxid,
                counts,
            } => {
                if h.state != HandleState::InfoSent {
                    return Role::Leading(l);
                }
                if counts && (current_epoch, last_zxid) > (self.current_epoch, self.last_zxid()) {
                    return self.enter_looking("a follower is more up to date than us");
                }
                h.counts = counts;
                h.last_zxid = last_zxid;
                h.state = HandleState::EpochAcked;
                if l.phase >= LeaderPhase::AwaitNewLeaderAcks {
                    self.sync_learner(&mut l, from);
                }
                if !self.leader_advance(&mut l) {
                    return self.enter_looking("a follower is ahead of us");
                }
            }
            // Synchronization: the learner acknowledged NEWLEADER.
            LearnPacket::AckNewLeader { last_zxid } => {
                if h.state != HandleState::Synced {
                    return Role::Leading(l);
                }
                h.state = HandleState::NewLeaderAcked;
                h.acked = h.acked.max(last_zxid);
                if l.phase == LeaderPhase::Broadcast {
                    // Proposals of this batch first, so that UPTODATE's commit point never
                    // runs ahead of what the learner has been sent.
                    self.flush_proposals(&mut l);
                    let commit = self.committed;
                    if let Some(h) = l.handles.get_mut(&from) {
                        let p = LeadPacket::UpToDate { commit };
                        Self::lead_send(&mut self.out, from, h, p, After::Now);
                        h.state = HandleState::UpToDate;
                    }
                    self.try_commit(&mut l);
                } else if !self.leader_advance(&mut l) {
                    return self.enter_looking("a follower is ahead of us");
                }
            }
            // Broadcast: ACK (cumulative).
            LearnPacket::Ack { zxid } => {
                if h.state >= HandleState::Synced && zxid > h.acked {
                    h.acked = zxid;
                    self.commit_pending = true;
                }
            }
            LearnPacket::Forward { seq, items } => {
                if seq < h.forward_next {
                    return Role::Leading(l); // duplicate
                }
                h.forward_next = seq + 1;
                if l.phase == LeaderPhase::Broadcast && h.state >= HandleState::NewLeaderAcked {
                    for Forwarded { req, txn, rid } in items {
                        if self.answers_sync_locally(&txn) {
                            self.flush_proposals(&mut l);
                            if let Some(h) = l.handles.get_mut(&from) {
                                let p = LeadPacket::Synced { req };
                                Self::lead_send(&mut self.out, from, h, p, After::Now);
                            }
                            continue;
                        }
                        self.propose(&mut l, txn, Origin { node: from, req }, rid);
                    }
                } else {
                    for Forwarded { req, .. } in items {
                        Self::lead_send(
                            &mut self.out,
                            from,
                            h,
                            LeadPacket::Reject { req },
                            After::Now,
                        );
                    }
                }
            }
        }
        Role::Leading(l)
    }
}
