//! FOLLOWING: a learner's side of discovery (FOLLOWERINFO, LEADERINFO, ACKEPOCH),
//! synchronization (DIFF / TRUNC / SNAP, NEWLEADER, UPTODATE) and broadcast (log PROPOSALs,
//! ACK them once durable, apply COMMITs, forward client writes).

use super::{After, Effect, Input, Peer, Role};
use crate::bug::Bug;
use crate::core::election::ServerState;
use crate::core::message::{Forwarded, LeadPacket, LearnPacket, Message};
use crate::core::sync_plan::SyncMode;
use crate::core::tree::TxnOk;
use crate::core::txn::{Entry, NodeId};
use crate::core::zxid::Zxid;
use rand::Rng;

#[derive(Clone, Debug)]
pub(super) enum FollowerPhase {
    /// FOLLOWERINFO sent, waiting for LEADERINFO.
    Connecting,
    /// ACKEPOCH sent, waiting for DIFF/TRUNC/SNAP.
    AwaitingSync,
    /// Receiving the synchronization; proposals are held until NEWLEADER.
    Syncing {
        mode: SyncMode,
        pending: Vec<Entry>,
        commit: Zxid,
    },
    /// NEWLEADER acknowledged, waiting for UPTODATE.
    AwaitingUpToDate,
    Broadcast,
}

#[derive(Clone, Debug)]
pub(super) struct Follower {
    pub(super) leader: NodeId,
    session: u64,
    next_seq: u64,
    epoch: u32,
    pub(super) phase: FollowerPhase,
    started: u64,
    last_heard: u64,
    forward_seq: u64,
    /// Client writes of this batch, forwarded at its end.
    forwards: Vec<Forwarded>,
    /// Proposals were logged (or a PING asked): one ACK at the end of the batch.
    ack_due: bool,
}

impl Peer {
    pub(super) fn enter_following(&mut self, leader: NodeId) -> Role {
        tracing::info!(id = self.cfg.id, leader, "FOLLOWING");
        let session = self.rng.gen();
        let f = Follower {
            leader,
            session,
            next_seq: 0,
            epoch: 0,
            phase: FollowerPhase::Connecting,
            started: self.now,
            last_heard: self.now,
            forward_seq: 0,
            forwards: Vec::new(),
            ack_due: false,
        };
        // Discovery step 1: FOLLOWERINFO carries our acceptedEpoch.
        let info = LearnPacket::FollowerInfo {
            accepted_epoch: self.accepted,
            last_zxid: self.reported_last(),
        };
        let f = Box::new(f);
        self.learn_send(&f, info, After::Durable);
        Role::Following(f)
    }

    /// The last zxid we tell a leader we hold: our log's end, from which the leader decides
    /// DIFF or TRUNC. ZOOKEEPER-2845 reports the retained in-memory tree's instead.
    fn reported_last(&self) -> Zxid {
        if self.cfg.bugs.contains(&Bug::Zk2845) {
            self.tree_last
        } else {
            self.last_zxid()
        }
    }

    /// Sends the leader a packet of our session. Everything but forwarded client writes
    /// waits for durability: it reports this server's epochs or log.
    fn learn_send(&mut self, f: &Follower, packet: LearnPacket, after: After) {
        let msg = Message::Learn {
            session: f.session,
            packet,
        };
        self.out.send(f.leader, msg, after);
    }

    /// The end of a batch: the batch's client writes go to the leader in one packet (they
    /// claim nothing about our disk, so they need not wait for it), then one cumulative ACK
    /// of everything logged, which does.
    pub(super) fn follower_end_batch(&mut self, f: &mut Follower) {
        if !f.forwards.is_empty() {
            let items = std::mem::take(&mut f.forwards);
            let seq = f.forward_seq;
            f.forward_seq += 1;
            self.learn_send(f, LearnPacket::Forward { seq, items }, After::Now);
        }
        if std::mem::take(&mut f.ack_due) {
            let zxid = self.last_zxid();
            // The broadcast barrier: an ACK says "durably logged".
            self.learn_send(f, LearnPacket::Ack { zxid }, After::Durable);
        }
    }

    pub(super) fn follower_step(&mut self, mut f: Box<Follower>, input: Input) -> Role {
        match input {
            Input::Tick => {
                let synced = matches!(f.phase, FollowerPhase::Broadcast);
                if !synced && self.now - f.started > self.cfg.init_limit {
                    return self.enter_looking("leader did not synchronize us within initLimit");
                }
                if self.now - f.last_heard > self.cfg.sync_limit {
                    return self.enter_looking("no word from the leader within syncLimit");
                }
                Role::Following(f)
            }
            Input::Message {
                from,
                msg: Message::Notification(n),
            } => {
                if n.state == ServerState::Looking && from != self.cfg.id {
                    self.notify(from, ServerState::Following);
                }
                Role::Following(f)
            }
            Input::Message {
                from,
                msg:
                    Message::Lead {
                        session,
                        seq,
                        packet,
                    },
            } => {
                if from != f.leader || session != f.session || seq < f.next_seq {
                    return Role::Following(f); // another session, or a duplicate
                }
                if seq > f.next_seq {
                    return self.enter_looking("gap in the leader's stream");
                }
                f.next_seq += 1;
                f.last_heard = self.now;
                self.follower_packet(f, packet)
            }
            Input::Message { .. } => Role::Following(f),
            Input::Request { req, txn, rid } => {
                if matches!(f.phase, FollowerPhase::Broadcast) {
                    // Writes reaching a follower are forwarded to the leader.
                    self.inflight.insert(req);
                    f.forwards.push(Forwarded { req, txn, rid });
                } else {
                    self.out.output(Effect::Unavailable {
                        req,
                        reason: "the server is still synchronizing with its leader",
                    });
                }
                Role::Following(f)
            }
        }
    }

    fn follower_packet(&mut self, mut f: Box<Follower>, packet: LeadPacket) -> Role {
        let phase = std::mem::replace(&mut f.phase, FollowerPhase::Connecting);
        match (phase, packet) {
            // Discovery step 2: LEADERINFO. Reject a leader below our acceptedEpoch. An epoch
            // we already accepted (from any leader) is acknowledged without counting towards
            // the leader's ACKEPOCH quorum, as in ZooKeeper (Zab 1.0): so no two leaders can
            // gather a quorum for one epoch.
            (FollowerPhase::Connecting, LeadPacket::LeaderInfo { epoch }) => {
                if epoch < self.accepted {
                    return self.enter_looking("leader's epoch is below our acceptedEpoch");
                }
                let counts = epoch > self.accepted;
                if counts {
                    self.accepted = epoch;
                    self.out.write_epoch(Effect::PersistAcceptedEpoch(epoch));
                }
                f.epoch = epoch;
                // Discovery step 3: ACKEPOCH with currentEpoch and last zxid.
                let ack = LearnPacket::AckEpoch {
                    current_epoch: self.current_epoch,
                    last_zxid: self.reported_last(),
                    counts,
                };
                // A promise never to follow an older epoch: it waits for acceptedEpoch.
                self.learn_send(&f, ack, After::Durable);
                f.phase = FollowerPhase::AwaitingSync;
            }
            // Synchronization: DIFF.
            (FollowerPhase::AwaitingSync, LeadPacket::Diff) => {
                f.phase = FollowerPhase::Syncing {
                    mode: SyncMode::Diff,
                    pending: Vec::new(),
                    commit: Zxid::ZERO,
                };
            }
            // Synchronization: TRUNC (roll back an uncommitted tail).
            (FollowerPhase::AwaitingSync, LeadPacket::Trunc { zxid }) => {
                if zxid < self.committed {
                    return self.enter_looking("TRUNC below our commit point");
                }
                self.truncate_log(zxid);
                self.tree_last = zxid;
                self.out.write(Effect::Truncate(zxid));
                f.phase = FollowerPhase::Syncing {
                    mode: SyncMode::Trunc,
                    pending: Vec::new(),
                    commit: Zxid::ZERO,
                };
            }
            // Synchronization: SNAP (the whole committed tree).
            (FollowerPhase::AwaitingSync, LeadPacket::Snap { zxid, tree }) => {
                self.log.clear();
                self.log_start = zxid;
                self.committed = zxid;
                self.tree = tree.clone();
                self.tree_last = zxid;
                if !self.cfg.bugs.contains(&Bug::Zk3642) {
                    // The SNAP is durable before anything is logged on top of it.
                    self.out.write(Effect::InstallSnapshot { zxid, tree });
                }
                f.phase = FollowerPhase::Syncing {
                    mode: SyncMode::Snap,
                    pending: Vec::new(),
                    commit: zxid,
                };
            }
            (
                FollowerPhase::Syncing {
                    mut mode,
                    mut pending,
                    commit,
                },
                LeadPacket::Proposal { entry },
            ) => {
                let last = pending.last().map(|e| e.zxid).unwrap_or(self.last_zxid());
                if entry.zxid <= last {
                    if self.cfg.bugs.contains(&Bug::Zk2845) && pending.is_empty() {
                        // A DIFF from the stale point we reported resends what we hold; like
                        // ZooKeeper's log, we take it again without complaint.
                        f.phase = FollowerPhase::Syncing {
                            mode,
                            pending,
                            commit,
                        };
                        return Role::Following(f);
                    }
                    return self.enter_looking("out-of-order proposal during synchronization");
                }
                if mode == SyncMode::Trunc {
                    mode = SyncMode::TruncDiff;
                }
                pending.push(entry);
                f.phase = FollowerPhase::Syncing {
                    mode,
                    pending,
                    commit,
                };
            }
            (
                FollowerPhase::Syncing {
                    mode,
                    pending,
                    commit,
                },
                LeadPacket::Commit { zxid },
            ) => {
                f.phase = FollowerPhase::Syncing {
                    mode,
                    pending,
                    commit: commit.max(zxid),
                };
            }
            // NEWLEADER: make everything we were sent durable, and the new currentEpoch,
            // before acknowledging.
            (
                FollowerPhase::Syncing {
                    mode,
                    pending,
                    commit,
                },
                LeadPacket::NewLeader { zxid },
            ) => {
                if zxid.epoch() != f.epoch {
                    return self.enter_looking("NEWLEADER for another epoch");
                }
                // The history first, then currentEpoch (a server must never claim an epoch
                // whose history it lacks), then the ACK. The updatingEpoch marker, written
                // before and removed after, tells the start-up check that a crash in between
                // is not corruption.
                let epoch = f.epoch;
                let bugs = &self.cfg.bugs;
                let (epoch_first, ack_now) =
                    (bugs.contains(&Bug::Zk4643), bugs.contains(&Bug::Zk3911));
                let persist_epoch = !bugs.contains(&Bug::Zk335);
                self.out
                    .write_epoch(Effect::PersistUpdatingEpoch(Some(epoch)));
                if mode == SyncMode::Snap && bugs.contains(&Bug::Zk3642) {
                    // ZOOKEEPER-3642: the SNAP reaches the disk only now.
                    let (zxid, tree) = (self.log_start, self.tree.clone());
                    self.out.write(Effect::InstallSnapshot { zxid, tree });
                }
                if epoch_first && persist_epoch {
                    // ZOOKEEPER-4643: currentEpoch written before the synchronized history.
                    self.out.write_epoch(Effect::PersistCurrentEpoch(epoch));
                }
                if !pending.is_empty() {
                    self.out.write(Effect::Append(pending.clone()));
                    // The synchronization barrier: the history is durable before currentEpoch.
                    self.out.sync();
                }
                if !epoch_first && persist_epoch {
                    self.out.write_epoch(Effect::PersistCurrentEpoch(epoch));
                }
                self.current_epoch = epoch;
                self.out.write_epoch(Effect::PersistUpdatingEpoch(None));
                let synced_commits: Vec<Zxid> = pending
                    .iter()
                    .map(|e| e.zxid)
                    .take_while(|z| *z <= commit)
                    .collect();
                self.log.extend(pending);
                self.last_sync = Some(mode);
                self.commit_to(commit);
                if let (true, Some((_, holed))) = (
                    self.cfg.bugs.contains(&Bug::Zk4925),
                    synced_commits.split_last(),
                ) {
                    // ZOOKEEPER-4925: what was committed during the sync is applied but not
                    // kept in the history DIFFs are made from (all but its last entry, which
                    // our log needs to know where it ends).
                    self.log.retain(|e| !holed.contains(&e.zxid));
                }
                let ack = LearnPacket::AckNewLeader {
                    last_zxid: self.last_zxid(),
                };
                // The NEWLEADER barrier: the leader counts this ACK as a durable copy of its
                // whole history. ZOOKEEPER-3911 sends it before the history is durable.
                let after = if ack_now { After::Now } else { After::Durable };
                self.learn_send(&f, ack, after);
                f.phase = FollowerPhase::AwaitingUpToDate;
            }
            // UPTODATE: the leader is established; serve clients.
            (FollowerPhase::AwaitingUpToDate, LeadPacket::UpToDate { commit }) => {
                self.commit_to(commit);
                tracing::info!(
                    id = self.cfg.id,
                    leader = f.leader,
                    epoch = f.epoch,
                    mode = self.last_sync.map(|m| m.name()).unwrap_or("none"),
                    "synchronized"
                );
                f.phase = FollowerPhase::Broadcast;
            }
            // Broadcast: PROPOSAL → log → ACK at the end of the batch, once durable.
            (
                phase @ (FollowerPhase::AwaitingUpToDate | FollowerPhase::Broadcast),
                LeadPacket::Proposal { entry },
            ) => {
                if entry.zxid <= self.last_zxid() {
                    return self.enter_looking("proposal at or below our last zxid");
                }
                self.log.push_back(entry.clone());
                self.out.write(Effect::Append(vec![entry]));
                f.ack_due = true;
                f.phase = phase;
            }
            // Broadcast: a batch of PROPOSALs → log → one (cumulative) ACK, likewise.
            (
                phase @ (FollowerPhase::AwaitingUpToDate | FollowerPhase::Broadcast),
                LeadPacket::Proposals { entries },
            ) => {
                for e in &entries {
                    if e.zxid <= self.last_zxid() {
                        return self.enter_looking("proposal at or below our last zxid");
                    }
                    self.log.push_back(e.clone());
                }
                self.out.write(Effect::Append(entries));
                f.ack_due = true;
                f.phase = phase;
            }
            // Broadcast: COMMIT, applied in zxid order.
            (
                phase @ (FollowerPhase::AwaitingUpToDate | FollowerPhase::Broadcast),
                LeadPacket::Commit { zxid },
            ) => {
                self.commit_to(zxid);
                f.phase = phase;
            }
            (
                phase @ (FollowerPhase::AwaitingUpToDate | FollowerPhase::Broadcast),
                LeadPacket::Ping,
            ) => {
                f.ack_due = true;
                f.phase = phase;
            }
            // ZOOKEEPER-1675's leader answers a forwarded sync itself, in stream order, so
            // everything it had committed before has been applied here.
            (phase @ FollowerPhase::Broadcast, LeadPacket::Synced { req }) => {
                if self.inflight.remove(&req) {
                    self.out.output(Effect::Reply {
                        req,
                        zxid: self.committed,
                        result: Ok(TxnOk::Synced),
                    });
                }
                f.phase = phase;
            }
            (phase, LeadPacket::Reject { req }) => {
                if self.inflight.remove(&req) {
                    self.out.output(Effect::Unavailable {
                        req,
                        reason: "the leader is not serving",
                    });
                }
                f.phase = phase;
            }
            (_, _) => return self.enter_looking("unexpected packet from the leader"),
        }
        Role::Following(f)
    }
}
