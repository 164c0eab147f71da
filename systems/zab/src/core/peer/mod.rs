//! The ZAB peer: a pure state machine (messages, ticks and client requests in; effects out).
//!
//! Phases, as in ZooKeeper: LOOKING (fast leader election) → discovery (FOLLOWERINFO /
//! LEADERINFO / ACKEPOCH) → synchronization (DIFF / TRUNC / TRUNC+DIFF / SNAP, NEWLEADER, ACK,
//! UPTODATE) → broadcast (PROPOSAL / ACK / COMMIT). Every protocol step is a named branch below.
//!
//! Effects and the barriers that order them: [`effects`]. One file per role, as in ZooKeeper:
//! [`looking`] (fast leader election), [`follower`] (a learner's discovery, synchronization
//! and broadcast), [`leader`] (discovery, synchronizing learners, proposing and committing).

mod effects;
mod follower;
mod leader;
mod looking;

pub use effects::{After, Effect};

use super::election::{Election, Notification, ServerState, Vote};
use super::message::Message;
use super::sync_plan::SyncMode;
use super::tree::DataTree;
use super::txn::{Entry, NodeId, Txn};
use super::zxid::Zxid;
use crate::bug::{Bug, BugSet};
use effects::Outbox;
use follower::{Follower, FollowerPhase};
use leader::{Leader, LeaderPhase};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, VecDeque};

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
    out: Outbox,
    last_sync: Option<SyncMode>,
    established: Option<u32>,
    /// ACKs arrived whose commits are decided at the end of the batch.
    commit_pending: bool,
    /// ZooKeeper's lastProcessedZxid of the in-memory database: a restart replays the whole
    /// log into it (so it starts at the log's end); commits, TRUNC and SNAP move it. Reported
    /// to a leader instead of the log's end only under ZOOKEEPER-2845.
    tree_last: Zxid,
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
            out: Outbox::new(last_logged.max(log_start)),
            last_sync: None,
            established: None,
            commit_pending: false,
            tree_last: Zxid::ZERO,
            cfg,
        };
        peer.election.zk1419 = peer.cfg.bugs.contains(&Bug::Zk1419);
        peer.tree_last = peer.last_zxid();
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
            Role::Following(mut f) => {
                self.follower_end_batch(&mut f);
                Role::Following(f)
            }
            other => other,
        };
    }

    /// The effects produced since the last call, in order (see [`effects`] for the barriers).
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out.effects)
    }

    /// The shell reports that the first `n` durable writes this peer ever emitted (counted
    /// from its start, [`Effect::is_write`]) are on disk. Held sends may then leave; a leader
    /// counts its own copy of the proposals they logged towards commits.
    pub fn persisted(&mut self, n: u64) {
        self.out.persisted(n);
        let role = std::mem::replace(&mut self.role, Role::Looking);
        self.role = match role {
            Role::Leading(mut l) if l.phase == LeaderPhase::Broadcast => {
                self.try_commit(&mut l);
                Role::Leading(l)
            }
            other => other,
        };
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
        // A vote claims nothing that must be durable first: a server elected on a log it then
        // loses in a crash restarts, and its NEWLEADER waits for its own history anyway.
        self.out.send(to, Message::Notification(n), After::Now);
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
            self.out.output(Effect::Applied(entry));
            if let Some(o) = origin {
                // A reply answers a commit, and a commit rests on a quorum of durable copies:
                // it need not wait for this server's disk.
                if o.node == self.cfg.id && self.inflight.remove(&o.req) {
                    self.out.output(Effect::Reply {
                        req: o.req,
                        zxid,
                        result,
                    });
                }
            }
        }
        self.committed = z;
        self.tree_last = self.tree_last.max(z);
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
}
