//! The ZAB peer: a pure state machine (messages, ticks and client requests in; effects out).
//!
//! Phases, as in ZooKeeper: LOOKING (fast leader election) → discovery (FOLLOWERINFO /
//! LEADERINFO / ACKEPOCH) → synchronization (DIFF / TRUNC / TRUNC+DIFF / SNAP, NEWLEADER, ACK,
//! UPTODATE) → broadcast (PROPOSAL / ACK / COMMIT). Every protocol step is a named branch below.
//!
//! Effect contract for the shell: effects are executed in order, and every durable effect
//! (`Persist*`, `Append`, `Truncate`, `InstallSnapshot`) is on disk (fsynced) before any later
//! `Send` or `Reply` is executed. A shell may group durable effects of several steps under one
//! fsync as long as nothing that follows them goes out first.

use super::election::{Election, ElectionAction, Notification, ServerState, Vote};
use super::message::{Forwarded, LeadPacket, LearnPacket, Message};
use super::sync_plan::{self, SyncMode, SyncPlan};
use super::tree::{DataTree, TxnResult};
use super::txn::{Entry, NodeId, Origin, Txn};
use super::zxid::Zxid;
use crate::bug::{Bug, BugSet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Static configuration of a peer. Times are in ticks.
#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// Every voting server, this one included.
    pub voters: Vec<NodeId>,
    /// A LOOKING server re-sends its notification this often.
    pub election_resend: u64,
    /// Discovery plus synchronization must finish within this many ticks.
    pub init_limit: u64,
    /// A follower that has not heard from its leader, or a leader that has not heard from a
    /// quorum, for this many ticks gives up and goes LOOKING.
    pub sync_limit: u64,
    /// How many committed proposals the peer keeps in memory for DIFF (ZooKeeper's
    /// commitLogCount); a learner behind this window gets a SNAP.
    pub committed_log_max: usize,
    pub bugs: BugSet,
}

/// What survives a crash: epoch files, the newest snapshot and the log after it.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    /// Present when a crash interrupted a NEWLEADER between logging the synchronized history
    /// and recording the new currentEpoch.
    pub updating_epoch: Option<u32>,
    pub snapshot: Option<(Zxid, DataTree)>,
    /// Logged proposals in zxid order (entries at or below the snapshot are ignored).
    pub log: Vec<Entry>,
}

/// The start-up sanity checks failed: the data directory is inconsistent.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("currentEpoch {current} is below the epoch {logged} of the last logged zxid {zxid}")]
    CurrentBelowLogged {
        current: u32,
        logged: u32,
        zxid: Zxid,
    },
    #[error("acceptedEpoch {accepted} is below currentEpoch {current}")]
    AcceptedBelowCurrent { accepted: u32, current: u32 },
    #[error("the log is not in increasing zxid order at {0}")]
    LogOutOfOrder(Zxid),
}

pub enum Input {
    Tick,
    Message {
        from: NodeId,
        msg: Message,
    },
    /// A client write (or sync) received by this server, with a server-local request id and
    /// the client's optional globally unique request id (applied at most once).
    Request {
        req: u64,
        txn: Txn,
        rid: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Send {
        to: NodeId,
        msg: Message,
    },
    PersistAcceptedEpoch(u32),
    PersistCurrentEpoch(u32),
    /// Durably write (Some) or remove (None) the updatingEpoch marker around NEWLEADER.
    PersistUpdatingEpoch(Option<u32>),
    /// Durably append proposals to the log.
    Append(Vec<Entry>),
    /// Durably remove every logged proposal above this zxid.
    Truncate(Zxid),
    /// Durably replace snapshot and log with this committed tree.
    InstallSnapshot {
        zxid: Zxid,
        tree: DataTree,
    },
    /// A committed transaction was applied to the tree.
    Applied(Entry),
    /// A local request was committed and applied.
    Reply {
        req: u64,
        zxid: Zxid,
        result: TxnResult,
    },
    /// A local request was certainly not proposed (definite).
    Unavailable {
        req: u64,
        reason: &'static str,
    },
    /// A local request's fate is unknown: this server left its role while it was in flight.
    Abandoned {
        req: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LeaderPhase {
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
struct Leader {
    phase: LeaderPhase,
    epoch: u32,
    handles: BTreeMap<NodeId, Handle>,
    started: u64,
    next_counter: u32,
}

#[derive(Clone, Debug)]
enum FollowerPhase {
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
struct Follower {
    leader: NodeId,
    session: u64,
    next_seq: u64,
    epoch: u32,
    phase: FollowerPhase,
    started: u64,
    last_heard: u64,
    forward_seq: u64,
    /// Client writes of this batch, forwarded at its end.
    forwards: Vec<Forwarded>,
}

#[derive(Clone, Debug)]
enum Role {
    Looking,
    Following(Box<Follower>),
    Leading(Box<Leader>),
}

/// One ZAB server.
pub struct Peer {
    cfg: Config,
    rng: ChaCha8Rng,
    now: u64,
    accepted: u32,
    current_epoch: u32,
    /// Proposals after `log_start`, ascending. Entries up to `committed` are the committed-log
    /// window [minCommittedLog, maxCommittedLog]; the rest are outstanding.
    log: VecDeque<Entry>,
    log_start: Zxid,
    committed: Zxid,
    tree: DataTree,
    role: Role,
    election: Election,
    last_election_send: u64,
    /// Local requests in flight (proposed or forwarded).
    inflight: BTreeSet<u64>,
    effects: Vec<Effect>,
    last_sync: Option<SyncMode>,
    established: Option<u32>,
    /// ACKs arrived whose commits are decided at the end of the batch.
    commit_pending: bool,
}

impl Peer {
    /// Restores a peer from its durable state, after the start-up sanity checks, and starts
    /// LOOKING.
    pub fn new(cfg: Config, durable: Durable, seed: u64) -> Result<Peer, StartError> {
        let (log_start, tree) = durable.snapshot.unwrap_or_default();
        let mut log = VecDeque::new();
        for e in durable.log {
            if e.zxid <= log_start {
                continue;
            }
            if log.back().is_some_and(|l: &Entry| l.zxid >= e.zxid) {
                return Err(StartError::LogOutOfOrder(e.zxid));
            }
            log.push_back(e);
        }
        // The check concerns the transaction log: a snapshot received by SNAP may be of a
        // newer epoch than ours until NEWLEADER (it holds only committed transactions).
        let last_logged = log.back().map(|e| e.zxid).unwrap_or(Zxid::ZERO);
        let last = last_logged;
        let tolerate_stale_current = cfg.bugs.contains(&Bug::Zk335)
            || durable.updating_epoch.is_some_and(|u| u >= last.epoch());
        if durable.current_epoch < last.epoch() && !tolerate_stale_current {
            return Err(StartError::CurrentBelowLogged {
                current: durable.current_epoch,
                logged: last.epoch(),
                zxid: last,
            });
        }
        if durable.accepted_epoch < durable.current_epoch {
            return Err(StartError::AcceptedBelowCurrent {
                accepted: durable.accepted_epoch,
                current: durable.current_epoch,
            });
        }
        let own = Vote {
            leader: cfg.id,
            zxid: log.back().map(|e| e.zxid).unwrap_or(log_start),
            epoch: durable.current_epoch,
        };
        let mut peer = Peer {
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0,
            accepted: durable.accepted_epoch,
            current_epoch: durable.current_epoch,
            log,
            log_start,
            committed: log_start,
            tree,
            role: Role::Looking,
            election: Election::new(own),
            last_election_send: 0,
            inflight: BTreeSet::new(),
            effects: Vec::new(),
            last_sync: None,
            established: None,
            commit_pending: false,
            cfg,
        };
        peer.role = peer.enter_looking("started");
        Ok(peer)
    }

    /// Feeds one input.
    pub fn step(&mut self, input: Input) {
        if matches!(input, Input::Tick) {
            self.now += 1;
            self.end_batch();
        }
        let role = std::mem::replace(&mut self.role, Role::Looking);
        self.role = match role {
            Role::Looking => self.looking_step(input),
            Role::Following(f) => self.follower_step(f, input),
            Role::Leading(l) => self.leader_step(l, input),
        };
    }

    /// Ends a batch of inputs: a leader sends the batch's proposals (one packet per learner) and
    /// decides the commits the batch's ACKs allow (once per batch rather than once per ACK); a
    /// follower forwards the batch's client writes in one packet. Ticks do it too.
    pub fn end_batch(&mut self) {
        self.commit_pending = false;
        let role = std::mem::replace(&mut self.role, Role::Looking);
        self.role = match role {
            Role::Leading(mut l) if l.phase == LeaderPhase::Broadcast => {
                self.flush_proposals(&mut l);
                self.try_commit(&mut l);
                Role::Leading(l)
            }
            Role::Following(mut f) if !f.forwards.is_empty() => {
                // Writes reaching a follower are forwarded to the leader, one packet a batch.
                let items = std::mem::take(&mut f.forwards);
                let seq = f.forward_seq;
                f.forward_seq += 1;
                self.learn_send(&f, LearnPacket::Forward { seq, items });
                Role::Following(f)
            }
            other => other,
        };
    }

    /// The effects produced since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }

    pub fn state(&self) -> ServerState {
        match self.role {
            Role::Looking => ServerState::Looking,
            Role::Following(_) => ServerState::Following,
            Role::Leading(_) => ServerState::Leading,
        }
    }

    /// The leader this server believes in.
    pub fn leader(&self) -> Option<NodeId> {
        match &self.role {
            Role::Looking => None,
            Role::Following(f) => Some(f.leader),
            Role::Leading(_) => Some(self.cfg.id),
        }
    }

    /// Whether the server serves clients: an established leader, or a follower after UPTODATE.
    pub fn serving(&self) -> bool {
        match &self.role {
            Role::Looking => false,
            Role::Following(f) => matches!(f.phase, FollowerPhase::Broadcast),
            Role::Leading(l) => l.phase == LeaderPhase::Broadcast,
        }
    }

    /// The epoch this server leads with the support of a quorum (NEWLEADER acknowledged).
    pub fn established_epoch(&self) -> Option<u32> {
        match &self.role {
            Role::Leading(l) if l.phase == LeaderPhase::Broadcast => Some(l.epoch),
            _ => None,
        }
    }

    pub fn accepted_epoch(&self) -> u32 {
        self.accepted
    }

    pub fn current_epoch(&self) -> u32 {
        self.current_epoch
    }

    pub fn last_zxid(&self) -> Zxid {
        self.log.back().map(|e| e.zxid).unwrap_or(self.log_start)
    }

    /// The commit point: every transaction up to it is applied to the tree.
    pub fn committed(&self) -> Zxid {
        self.committed
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// How this server was last synchronized with a leader.
    pub fn last_sync(&self) -> Option<SyncMode> {
        self.last_sync
    }

    /// minCommittedLog's predecessor: the oldest zxid a learner can DIFF from.
    pub fn log_start(&self) -> Zxid {
        self.log_start
    }

    // ---------------------------------------------------------------- helpers

    fn quorum(&self, n: usize) -> bool {
        n * 2 > self.cfg.voters.len()
    }

    fn quorum_size(&self) -> usize {
        self.cfg.voters.len() / 2 + 1
    }

    fn send(&mut self, to: NodeId, msg: Message) {
        self.effects.push(Effect::Send { to, msg });
    }

    fn own_vote(&self) -> Vote {
        Vote {
            leader: self.cfg.id,
            zxid: self.last_zxid(),
            epoch: self.current_epoch,
        }
    }

    fn others(&self) -> Vec<NodeId> {
        self.cfg
            .voters
            .iter()
            .copied()
            .filter(|&v| v != self.cfg.id)
            .collect()
    }

    fn notify(&mut self, to: NodeId, state: ServerState) {
        let n = Notification {
            state,
            vote: self.election.vote,
            round: self.election.round,
        };
        self.send(to, Message::Notification(n));
    }

    fn broadcast_notification(&mut self) {
        self.last_election_send = self.now;
        for p in self.others() {
            self.notify(p, ServerState::Looking);
        }
    }

    /// Commits (and applies, in zxid order) everything logged up to `z`.
    fn commit_to(&mut self, z: Zxid) {
        let z = z.min(self.last_zxid());
        if z <= self.committed {
            return;
        }
        let from = self.log.partition_point(|e| e.zxid <= self.committed);
        let to = self.log.partition_point(|e| e.zxid <= z);
        for i in from..to {
            let entry = self.log[i].clone();
            let (zxid, result) = self.tree.apply_entry(&entry);
            let origin = entry.origin;
            self.effects.push(Effect::Applied(entry));
            if let Some(o) = origin {
                if o.node == self.cfg.id && self.inflight.remove(&o.req) {
                    self.effects.push(Effect::Reply {
                        req: o.req,
                        zxid,
                        result,
                    });
                }
            }
        }
        self.committed = z;
        // Trim the committed-log window to its configured size.
        let committed_count = self.log.partition_point(|e| e.zxid <= self.committed);
        if committed_count > self.cfg.committed_log_max {
            for _ in 0..committed_count - self.cfg.committed_log_max {
                if let Some(e) = self.log.pop_front() {
                    self.log_start = e.zxid;
                }
            }
        }
    }

    fn truncate_log(&mut self, z: Zxid) {
        while self.log.back().is_some_and(|e| e.zxid > z) {
            self.log.pop_back();
        }
    }

    // ---------------------------------------------------------------- LOOKING

    fn enter_looking(&mut self, reason: &str) -> Role {
        tracing::info!(id = self.cfg.id, reason, "going LOOKING");
        for req in std::mem::take(&mut self.inflight) {
            self.effects.push(Effect::Abandoned { req });
        }
        let own = self.own_vote();
        self.election.start(self.cfg.id, own);
        self.broadcast_notification();
        if self.quorum(1) {
            // A one-server ensemble elects itself.
            return self.enter_leading();
        }
        Role::Looking
    }

    fn looking_step(&mut self, input: Input) -> Role {
        match input {
            Input::Tick => {
                if self.now - self.last_election_send >= self.cfg.election_resend {
                    self.broadcast_notification();
                }
                Role::Looking
            }
            Input::Message {
                from,
                msg: Message::Notification(n),
            } => {
                if !self.cfg.voters.contains(&from) || from == self.cfg.id {
                    return Role::Looking;
                }
                let own = self.own_vote();
                let voters = self.cfg.voters.len();
                let actions = self
                    .election
                    .on_notification(self.cfg.id, own, from, n, |c| c * 2 > voters);
                for a in actions {
                    match a {
                        ElectionAction::Broadcast => self.broadcast_notification(),
                        ElectionAction::Reply(to) => self.notify(to, ServerState::Looking),
                        ElectionAction::Decided(l) if l == self.cfg.id => {
                            return self.enter_leading()
                        }
                        ElectionAction::Decided(l) => return self.enter_following(l),
                    }
                }
                Role::Looking
            }
            Input::Message { .. } => Role::Looking,
            Input::Request { req, .. } => {
                self.effects.push(Effect::Unavailable {
                    req,
                    reason: "the server is LOOKING for a leader",
                });
                Role::Looking
            }
        }
    }

    // ---------------------------------------------------------------- FOLLOWING

    fn enter_following(&mut self, leader: NodeId) -> Role {
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
        };
        // Discovery step 1: FOLLOWERINFO carries our acceptedEpoch.
        let info = LearnPacket::FollowerInfo {
            accepted_epoch: self.accepted,
            last_zxid: self.last_zxid(),
        };
        self.send(
            leader,
            Message::Learn {
                session,
                packet: info,
            },
        );
        Role::Following(Box::new(f))
    }

    fn learn_send(&mut self, f: &Follower, packet: LearnPacket) {
        self.send(
            f.leader,
            Message::Learn {
                session: f.session,
                packet,
            },
        );
    }

    fn follower_step(&mut self, mut f: Box<Follower>, input: Input) -> Role {
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
                    self.effects.push(Effect::Unavailable {
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
                    self.effects.push(Effect::PersistAcceptedEpoch(epoch));
                }
                f.epoch = epoch;
                // Discovery step 3: ACKEPOCH with currentEpoch and last zxid.
                let ack = LearnPacket::AckEpoch {
                    current_epoch: self.current_epoch,
                    last_zxid: self.last_zxid(),
                    counts,
                };
                self.learn_send(&f, ack);
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
                self.effects.push(Effect::Truncate(zxid));
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
                self.effects.push(Effect::InstallSnapshot { zxid, tree });
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
                let durable: Vec<Entry> = if self.cfg.bugs.contains(&Bug::Zk3911) {
                    // ZOOKEEPER-3911: only the proposals already committed are logged.
                    pending
                        .iter()
                        .filter(|e| e.zxid <= commit)
                        .cloned()
                        .collect()
                } else {
                    pending.clone()
                };
                // The history first, then currentEpoch (a server must never claim an epoch
                // whose history it lacks). The updatingEpoch marker, written before and removed
                // after, tells the start-up check that a crash in between is not corruption.
                self.effects
                    .push(Effect::PersistUpdatingEpoch(Some(f.epoch)));
                if !durable.is_empty() {
                    self.effects.push(Effect::Append(durable));
                }
                self.current_epoch = f.epoch;
                if !self.cfg.bugs.contains(&Bug::Zk335) {
                    self.effects.push(Effect::PersistCurrentEpoch(f.epoch));
                }
                self.effects.push(Effect::PersistUpdatingEpoch(None));
                self.log.extend(pending);
                self.last_sync = Some(mode);
                self.commit_to(commit);
                let ack = LearnPacket::AckNewLeader {
                    last_zxid: self.last_zxid(),
                };
                self.learn_send(&f, ack);
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
            // Broadcast: PROPOSAL → log durably → ACK.
            (
                phase @ (FollowerPhase::AwaitingUpToDate | FollowerPhase::Broadcast),
                LeadPacket::Proposal { entry },
            ) => {
                if entry.zxid <= self.last_zxid() {
                    return self.enter_looking("proposal at or below our last zxid");
                }
                let zxid = entry.zxid;
                self.log.push_back(entry.clone());
                self.effects.push(Effect::Append(vec![entry]));
                self.learn_send(&f, LearnPacket::Ack { zxid });
                f.phase = phase;
            }
            // Broadcast: a batch of PROPOSALs → log durably → one (cumulative) ACK.
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
                let zxid = self.last_zxid();
                self.effects.push(Effect::Append(entries));
                self.learn_send(&f, LearnPacket::Ack { zxid });
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
                let zxid = self.last_zxid();
                self.learn_send(&f, LearnPacket::Ack { zxid });
                f.phase = phase;
            }
            (phase, LeadPacket::Reject { req }) => {
                if self.inflight.remove(&req) {
                    self.effects.push(Effect::Unavailable {
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

    // ---------------------------------------------------------------- LEADING

    fn enter_leading(&mut self) -> Role {
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

    fn lead_send(effects: &mut Vec<Effect>, to: NodeId, h: &mut Handle, packet: LeadPacket) {
        let msg = Message::Lead {
            session: h.session,
            seq: h.next_seq,
            packet,
        };
        h.next_seq += 1;
        effects.push(Effect::Send { to, msg });
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
                    self.effects.push(Effect::PersistAcceptedEpoch(l.epoch));
                    l.phase = LeaderPhase::AwaitEpochAcks;
                    let epoch = l.epoch;
                    for (&id, h) in l.handles.iter_mut() {
                        if h.state == HandleState::Info {
                            Self::lead_send(
                                &mut self.effects,
                                id,
                                h,
                                LeadPacket::LeaderInfo { epoch },
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
                    self.effects.push(Effect::PersistCurrentEpoch(l.epoch));
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
                                &mut self.effects,
                                id,
                                h,
                                LeadPacket::UpToDate { commit },
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
        let plan = sync_plan::plan(&self.log, self.log_start, h.last_zxid);
        let base = match plan {
            SyncPlan::Diff { from } => {
                Self::lead_send(&mut self.effects, id, h, LeadPacket::Diff);
                from
            }
            SyncPlan::Trunc { to } => {
                Self::lead_send(&mut self.effects, id, h, LeadPacket::Trunc { zxid: to });
                to
            }
            SyncPlan::Snap => {
                let snap = LeadPacket::Snap {
                    zxid: self.committed,
                    tree: self.tree.clone(),
                };
                Self::lead_send(&mut self.effects, id, h, snap);
                self.committed
            }
        };
        let from = self.log.partition_point(|e| e.zxid <= base);
        for i in from..self.log.len() {
            let entry = self.log[i].clone();
            Self::lead_send(&mut self.effects, id, h, LeadPacket::Proposal { entry });
        }
        if self.committed > base {
            let zxid = self.committed;
            Self::lead_send(&mut self.effects, id, h, LeadPacket::Commit { zxid });
        }
        let zxid = Zxid::new(l.epoch, 0);
        Self::lead_send(&mut self.effects, id, h, LeadPacket::NewLeader { zxid });
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
        self.effects.push(Effect::Append(vec![entry]));
        // The PROPOSAL goes out with the others of this batch (see `flush_proposals`).
        self.try_commit(l);
    }

    /// Broadcast: sends every learner the proposals it has not been sent yet, as one PROPOSALS
    /// packet per batch. Called before any other packet goes to a learner, so its stream stays
    /// in zxid order.
    fn flush_proposals(&mut self, l: &mut Leader) {
        let last = self.last_zxid();
        for (&id, h) in l.handles.iter_mut() {
            if h.state < HandleState::Synced || h.sent_upto >= last {
                continue;
            }
            let from = self.log.partition_point(|e| e.zxid <= h.sent_upto);
            let entries: Vec<Entry> = self.log.range(from..).cloned().collect();
            h.sent_upto = last;
            if !entries.is_empty() {
                Self::lead_send(&mut self.effects, id, h, LeadPacket::Proposals { entries });
            }
        }
    }

    /// COMMIT the longest prefix a quorum (the leader included) has acknowledged.
    fn try_commit(&mut self, l: &mut Leader) {
        if l.phase != LeaderPhase::Broadcast {
            return;
        }
        let mut acks: Vec<Zxid> = l
            .handles
            .values()
            .filter(|h| h.state >= HandleState::Synced)
            .map(|h| h.acked)
            .chain([self.last_zxid()])
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
                Self::lead_send(&mut self.effects, id, h, LeadPacket::Commit { zxid: z });
            }
        }
    }

    fn leader_step(&mut self, mut l: Box<Leader>, input: Input) -> Role {
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
                        Self::lead_send(&mut self.effects, id, h, LeadPacket::Ping);
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
                if l.phase == LeaderPhase::Broadcast {
                    self.inflight.insert(req);
                    let origin = Origin {
                        node: self.cfg.id,
                        req,
                    };
                    self.propose(&mut l, txn, origin, rid);
                } else {
                    self.effects.push(Effect::Unavailable {
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
                    &mut self.effects,
                    from,
                    &mut h,
                    LeadPacket::LeaderInfo { epoch },
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
                        Self::lead_send(&mut self.effects, from, h, p);
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
                        self.propose(&mut l, txn, Origin { node: from, req }, rid);
                    }
                } else {
                    for Forwarded { req, .. } in items {
                        Self::lead_send(&mut self.effects, from, h, LeadPacket::Reject { req });
                    }
                }
            }
        }
        Role::Leading(l)
    }
}
