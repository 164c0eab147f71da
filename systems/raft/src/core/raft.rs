//! The Raft state machine: ticks, messages and proposals in; a `Ready` of effects out.
//!
//! No I/O, no clock: time is `tick()`, randomness is a seeded ChaCha stream. The shell drives it:
//!
//! 1. feed any number of `tick`, `step`, `propose`, `read_index` calls;
//! 2. `ready()`: persist `hard_state`, `snapshot` and `entries` (fsync), then send `messages`,
//!    then restore `snapshot` into the state machine, apply `committed` in order and serve
//!    `reads` once applied;
//! 3. `advance(&ready)`: the entries are now stable (a leader counts itself only now).

use std::collections::{BTreeMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::log::RaftLog;
use super::message::{Body, Message};
use super::progress::{Progress, State};
use super::types::{Entry, HardState, Index, NodeId, ReadFailure, ReadState, Role, Snapshot, Term};
use crate::bugs::{Bug, Bugs};

/// The core's parameters.
#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// Every voter, this node included.
    pub voters: Vec<NodeId>,
    /// Election timeout range in ticks; a follower campaigns after a random timeout in it.
    pub election_ticks_min: u32,
    pub election_ticks_max: u32,
    pub heartbeat_ticks: u32,
    /// Most entries in one append message.
    pub max_entries_per_msg: usize,
    /// Most appends in flight to one follower while streaming.
    pub max_inflight: usize,
    /// The re-introduced bugs switched on (`--bug`; `Bugs::NONE` is the correct build). Each
    /// is tested at the one guard it weakens; see `crate::bugs`.
    pub bugs: Bugs,
}

/// Why a proposal or read was refused without being proposed: no leader is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no leader is known")]
pub struct NoLeader;

/// Effects for the shell, in the order it must carry them out (see the module docs).
#[derive(Debug, Default)]
pub struct Ready {
    pub hard_state: Option<HardState>,
    pub snapshot: Option<Snapshot>,
    /// To append; `entries[0].index` cuts any persisted entries at or after it.
    pub entries: Vec<Entry>,
    pub messages: Vec<Message>,
    pub committed: Vec<Entry>,
    pub reads: Vec<ReadState>,
    pub failed_reads: Vec<ReadFailure>,
    stable_to: Index,
}

impl Ready {
    /// Whether anything must be written and synced before the messages go out.
    pub fn must_sync(&self) -> bool {
        self.hard_state.is_some() || self.snapshot.is_some() || !self.entries.is_empty()
    }
}

/// A ReadIndex confirmation round: its sequence number and the tick (of this node's own clock)
/// at which its heartbeats went out.
#[derive(Clone, Copy, Debug)]
struct ReadRound {
    seq: u64,
    sent_at: u64,
}

/// A read waiting for its heartbeat round.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    seq: u64,
    index: Index,
    from: NodeId,
    ctx: u64,
}

/// A snapshot of the core's externally visible state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub id: NodeId,
    pub role: Role,
    pub term: Term,
    pub leader: Option<NodeId>,
    pub commit: Index,
    pub applied: Index,
    pub last_index: Index,
    pub snapshot_index: Index,
}

/// One Raft node's consensus state.
pub struct Raft {
    cfg: Config,
    rng: ChaCha8Rng,
    term: Term,
    vote: Option<NodeId>,
    role: Role,
    leader: Option<NodeId>,
    log: RaftLog,
    persisted_hs: HardState,
    /// Ticks seen since this node started (its own clock; it stops while the process is paused).
    ticks: u64,
    election_elapsed: u32,
    randomized_timeout: u32,
    heartbeat_elapsed: u32,
    votes: BTreeMap<NodeId, bool>,
    progress: BTreeMap<NodeId, Progress>,
    msgs: Vec<Message>,
    /// Proposals a follower will forward to its leader with the next `ready`.
    forward: Vec<Vec<u8>>,
    /// The leader has new entries to send.
    bcast_pending: bool,
    read_seq: u64,
    read_round_pending: bool,
    /// Confirmation rounds sent and not yet confirmed by a quorum.
    read_rounds: VecDeque<ReadRound>,
    /// When (own ticks) the newest round a quorum confirmed was sent: the start of the lease a
    /// leader would hold if it trusted its clock (only `--bug lease-read` serves reads on it).
    lease_from: Option<u64>,
    /// Whether this node was the leader when it last handed out a `Ready`, i.e. as far as the
    /// shell's current batch of client writes knows (`--bug term-stamp` trusts it).
    led_at_ready: bool,
    pending_reads: VecDeque<PendingRead>,
    /// Reads that arrived before this leader committed an entry of its term.
    reads_before_commit: Vec<(NodeId, u64)>,
    ready_reads: Vec<ReadState>,
    failed_reads: Vec<ReadFailure>,
}

impl Raft {
    /// A node restarting from stable storage (all empty for a new node).
    pub fn new(
        cfg: Config,
        hard_state: HardState,
        snapshot: Option<Snapshot>,
        entries: Vec<Entry>,
        seed: u64,
    ) -> Self {
        assert!(
            cfg.voters.contains(&cfg.id),
            "the voters must include the node itself"
        );
        let log = RaftLog::restore(snapshot, entries);
        let mut r = Raft {
            rng: ChaCha8Rng::seed_from_u64(seed),
            term: hard_state.term,
            vote: hard_state.vote,
            role: Role::Follower,
            leader: None,
            log,
            persisted_hs: hard_state,
            ticks: 0,
            election_elapsed: 0,
            randomized_timeout: 0,
            heartbeat_elapsed: 0,
            votes: BTreeMap::new(),
            progress: BTreeMap::new(),
            msgs: Vec::new(),
            forward: Vec::new(),
            bcast_pending: false,
            read_seq: 0,
            read_round_pending: false,
            read_rounds: VecDeque::new(),
            lease_from: None,
            led_at_ready: false,
            pending_reads: VecDeque::new(),
            reads_before_commit: Vec::new(),
            ready_reads: Vec::new(),
            failed_reads: Vec::new(),
            cfg,
        };
        r.reset_election_timer();
        r
    }

    // ----- accessors -----

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }
    pub fn term(&self) -> Term {
        self.term
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    pub fn log(&self) -> &RaftLog {
        &self.log
    }
    /// The hard state to keep on stable storage: the term and the vote in it.
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            // The one guard of `--bug vote-not-durable`: the vote must be persisted with the
            // term (and before any vote response goes out), or a restart forgets it.
            vote: if self.cfg.bugs.has(Bug::VoteNotDurable) {
                None
            } else {
                self.vote
            },
        }
    }

    fn bug(&self, bug: Bug) -> bool {
        self.cfg.bugs.has(bug)
    }
    pub fn status(&self) -> Status {
        Status {
            id: self.cfg.id,
            role: self.role,
            term: self.term,
            leader: self.leader,
            commit: self.log.commit,
            applied: self.log.applied,
            last_index: self.log.last_index(),
            snapshot_index: self.log.snapshot_index(),
        }
    }

    /// The leader's replication state per follower (empty unless leader).
    pub fn progress(&self) -> &BTreeMap<NodeId, Progress> {
        &self.progress
    }

    fn quorum(&self) -> usize {
        self.cfg.voters.len() / 2 + 1
    }

    fn peers(&self) -> Vec<NodeId> {
        self.cfg
            .voters
            .iter()
            .copied()
            .filter(|&v| v != self.cfg.id)
            .collect()
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.msgs.push(Message {
            from: self.cfg.id,
            to,
            term: self.term,
            body,
        });
    }

    fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        self.randomized_timeout = self.rng.gen_range(
            self.cfg.election_ticks_min
                ..=self.cfg.election_ticks_max.max(self.cfg.election_ticks_min),
        );
    }

    // ----- role changes -----

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        if term > self.term {
            self.term = term;
            self.vote = None;
        }
        if self.role == Role::Leader {
            tracing::info!(id = self.cfg.id, term = self.term, "stepping down");
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.reset_election_timer();
        self.drop_reads();
    }

    fn drop_reads(&mut self) {
        for r in self.pending_reads.drain(..) {
            if r.from == self.cfg.id {
                self.failed_reads.push(ReadFailure { ctx: r.ctx });
            }
        }
        for (from, ctx) in std::mem::take(&mut self.reads_before_commit) {
            if from == self.cfg.id {
                self.failed_reads.push(ReadFailure { ctx });
            }
        }
        self.read_round_pending = false;
        self.read_rounds.clear();
        self.lease_from = None;
    }

    fn campaign(&mut self) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.reset_election_timer();
        self.votes.clear();
        self.votes.insert(self.cfg.id, true);
        self.drop_reads();
        if self.votes_granted() >= self.quorum() {
            self.become_candidate();
            return;
        }
        let (li, lt) = (self.log.last_index(), self.log.last_term());
        for p in self.peers() {
            self.msgs.push(Message {
                from: self.cfg.id,
                to: p,
                term: self.term + 1,
                body: Body::PreVote {
                    last_index: li,
                    last_term: lt,
                },
            });
        }
    }

    fn become_candidate(&mut self) {
        self.term += 1;
        self.vote = Some(self.cfg.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.reset_election_timer();
        self.votes.clear();
        self.votes.insert(self.cfg.id, true);
        if self.votes_granted() >= self.quorum() {
            self.become_leader();
            return;
        }
        let (li, lt) = (self.log.last_index(), self.log.last_term());
        for p in self.peers() {
            self.send(
                p,
                Body::Vote {
                    last_index: li,
                    last_term: lt,
                },
            );
        }
    }

    fn become_leader(&mut self) {
        tracing::info!(id = self.cfg.id, term = self.term, "became leader");
        self.role = Role::Leader;
        self.leader = Some(self.cfg.id);
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        let next = self.log.last_index() + 1;
        self.progress = self
            .peers()
            .into_iter()
            .map(|p| (p, Progress::new(next)))
            .collect();
        self.read_seq = 0;
        self.pending_reads.clear();
        self.reads_before_commit.clear();
        self.read_rounds.clear();
        self.lease_from = None;
        // A new leader's no-op: once it commits, the leader's commit index is the cluster's.
        // (`--bug no-noop` skips it, and `leader_read` then does not wait for it either.)
        if !self.bug(Bug::NoNoop) {
            self.log.push(self.term, Vec::new());
        }
        self.bcast_append();
    }

    fn votes_granted(&self) -> usize {
        self.votes.values().filter(|&&g| g).count()
    }

    fn votes_rejected(&self) -> usize {
        self.votes.values().filter(|&&g| !g).count()
    }

    // ----- inputs -----

    /// One unit of time.
    pub fn tick(&mut self) {
        self.ticks += 1;
        match self.role {
            Role::Leader => {
                self.heartbeat_elapsed += 1;
                if self.heartbeat_elapsed >= self.cfg.heartbeat_ticks {
                    self.heartbeat_elapsed = 0;
                    self.bcast_heartbeat();
                }
                for pr in self.progress.values_mut() {
                    if let State::Snapshot { index, ticks } = pr.state {
                        if ticks + 1 >= self.cfg.election_ticks_max {
                            // The snapshot or its answer was lost: probe again.
                            pr.become_probe();
                        } else {
                            pr.state = State::Snapshot {
                                index,
                                ticks: ticks + 1,
                            };
                        }
                    }
                }
                self.election_elapsed += 1;
                if self.election_elapsed >= self.cfg.election_ticks_min {
                    self.election_elapsed = 0;
                    // Check quorum: step down unless a majority was heard from lately.
                    let active = 1 + self.progress.values().filter(|p| p.active).count();
                    if active < self.quorum() {
                        tracing::info!(
                            id = self.cfg.id,
                            term = self.term,
                            "lost contact with a quorum"
                        );
                        let t = self.term;
                        self.become_follower(t, None);
                        return;
                    }
                    for pr in self.progress.values_mut() {
                        pr.active = false;
                    }
                }
            }
            _ => {
                self.election_elapsed += 1;
                if self.election_elapsed >= self.randomized_timeout {
                    self.campaign();
                }
            }
        }
    }

    /// Proposes a command (non-empty). A follower forwards it to the leader it knows.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<(), NoLeader> {
        debug_assert!(!data.is_empty());
        match (self.role, self.leader) {
            _ if self.appends_writes() => {
                self.log.push(self.term, data);
                self.bcast_pending = true;
                Ok(())
            }
            (_, Some(_)) => {
                self.forward.push(data);
                Ok(())
            }
            _ => Err(NoLeader),
        }
    }

    /// Whether client writes go into this node's log: only a leader's, stamped with its term.
    /// `--bug term-stamp` also lets a leader deposed during the current batch (since its last
    /// `Ready`) append them, stamped with the newer term it just learned (hashicorp/raft#695).
    fn appends_writes(&self) -> bool {
        self.role == Role::Leader || (self.led_at_ready && self.bug(Bug::TermStamp))
    }

    /// Asks for a linearizable read point for the read `ctx` (answered in `Ready::reads` or
    /// `Ready::failed_reads`).
    pub fn read_index(&mut self, ctx: u64) -> Result<(), NoLeader> {
        if self.bug(Bug::LocalRead) {
            // The bug: any node answers at once from what it has applied.
            self.ready_reads.push(ReadState {
                ctx,
                index: self.log.applied,
            });
            return Ok(());
        }
        match (self.role, self.leader) {
            (Role::Leader, _) => {
                let id = self.cfg.id;
                self.leader_read(id, ctx);
                Ok(())
            }
            (_, Some(l)) => {
                self.send(l, Body::ReadIndex { ctx });
                Ok(())
            }
            _ => Err(NoLeader),
        }
    }

    /// A message from a peer.
    pub fn step(&mut self, m: Message) {
        if m.to != self.cfg.id || !self.cfg.voters.contains(&m.from) || m.from == self.cfg.id {
            return;
        }
        if m.term > self.term {
            let in_lease =
                self.leader.is_some() && self.election_elapsed < self.cfg.election_ticks_min;
            match m.body {
                Body::PreVote { .. } | Body::Vote { .. } if in_lease => {
                    // Check quorum: a node that hears from a live leader ignores campaigns.
                    return;
                }
                Body::PreVote { .. } => {}
                Body::PreVoteResp { granted: true } => {}
                Body::Append { .. } | Body::Heartbeat { .. } | Body::InstallSnapshot { .. } => {
                    self.become_follower(m.term, Some(m.from));
                }
                _ => self.become_follower(m.term, None),
            }
        } else if m.term < self.term
            && !(self.bug(Bug::StaleVoteCount) && matches!(m.body, Body::VoteResp { .. }))
        {
            // Messages of older terms are answered or dropped here; only a stale vote grant
            // passes with `--bug stale-vote-count` (xraft#33), to be counted below.
            match m.body {
                Body::Append { .. } | Body::Heartbeat { .. } | Body::InstallSnapshot { .. } => {
                    // Tell a stale leader about the newer term.
                    self.send(
                        m.from,
                        Body::AppendResp {
                            success: false,
                            index: 0,
                            hint_index: 0,
                            hint_term: 0,
                        },
                    );
                }
                Body::PreVote { .. } => self.send(m.from, Body::PreVoteResp { granted: false }),
                _ => {}
            }
            return;
        }
        match m.body {
            Body::PreVote {
                last_index,
                last_term,
            } => {
                let granted = m.term > self.term && self.up_to_date(last_index, last_term);
                self.msgs.push(Message {
                    from: self.cfg.id,
                    to: m.from,
                    term: if granted { m.term } else { self.term },
                    body: Body::PreVoteResp { granted },
                });
            }
            Body::Vote {
                last_index,
                last_term,
            } => {
                let can_vote =
                    self.vote == Some(m.from) || (self.vote.is_none() && self.leader.is_none());
                let granted = can_vote && self.up_to_date(last_index, last_term);
                if granted {
                    self.vote = Some(m.from);
                    self.election_elapsed = 0;
                }
                self.send(m.from, Body::VoteResp { granted });
            }
            Body::PreVoteResp { granted } => {
                // Grants carry the campaign term (ours + 1); a rejection carries the voter's term.
                if self.role != Role::PreCandidate || (granted && m.term != self.term + 1) {
                    return;
                }
                self.votes.insert(m.from, granted);
                if self.votes_granted() >= self.quorum() {
                    self.become_candidate();
                } else if self.votes_rejected() >= self.quorum() {
                    let t = self.term;
                    self.become_follower(t, None);
                }
            }
            Body::VoteResp { granted } => {
                if self.role != Role::Candidate {
                    return;
                }
                self.votes.insert(m.from, granted);
                if self.votes_granted() >= self.quorum() {
                    self.become_leader();
                } else if self.votes_rejected() >= self.quorum() {
                    let t = self.term;
                    self.become_follower(t, None);
                }
            }
            Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            } => {
                self.follow(m.from);
                self.handle_append(m.from, prev_index, prev_term, entries, commit);
            }
            Body::Heartbeat {
                commit,
                matched,
                read_seq,
            } => {
                self.follow(m.from);
                self.log.commit_from_leader(commit, matched, self.cfg.bugs);
                self.send(m.from, Body::HeartbeatResp { read_seq });
            }
            Body::InstallSnapshot { snapshot } => {
                self.follow(m.from);
                self.handle_snapshot(m.from, snapshot);
            }
            Body::AppendResp {
                success,
                index,
                hint_index,
                hint_term,
            } => self.handle_append_resp(m.from, success, index, hint_index, hint_term),
            Body::HeartbeatResp { read_seq } => self.handle_heartbeat_resp(m.from, read_seq),
            Body::Propose { entries } => {
                if self.appends_writes() {
                    for data in entries.into_iter().filter(|d| !d.is_empty()) {
                        self.log.push(self.term, data);
                    }
                    self.bcast_pending = true;
                }
            }
            Body::ReadIndex { ctx } => {
                if self.role == Role::Leader {
                    self.leader_read(m.from, ctx);
                }
            }
            Body::ReadIndexResp { ctx, index } => {
                self.ready_reads.push(ReadState { ctx, index });
            }
        }
    }

    /// A message from the leader of our term arrived.
    fn follow(&mut self, leader: NodeId) {
        if self.role != Role::Follower || self.leader != Some(leader) {
            let t = self.term;
            self.become_follower(t, Some(leader));
        }
        self.election_elapsed = 0;
    }

    fn handle_append(
        &mut self,
        from: NodeId,
        mut prev_index: Index,
        mut prev_term: Term,
        mut entries: Vec<Entry>,
        commit: Index,
    ) {
        let local_commit = self.log.commit;
        if prev_index < local_commit {
            // Entries up to our commit index are already settled: skip them.
            let last = prev_index + entries.len() as u64;
            if last <= local_commit {
                self.send(
                    from,
                    Body::AppendResp {
                        success: true,
                        index: local_commit,
                        hint_index: 0,
                        hint_term: 0,
                    },
                );
                return;
            }
            let skip = (local_commit - prev_index) as usize;
            prev_term = entries[skip - 1].term;
            prev_index = local_commit;
            entries.drain(..skip);
        }
        match self
            .log
            .maybe_append(prev_index, prev_term, &entries, commit, self.cfg.bugs)
        {
            Some(last) => self.send(
                from,
                Body::AppendResp {
                    success: true,
                    index: last,
                    hint_index: 0,
                    hint_term: 0,
                },
            ),
            None => {
                let hint_index = self
                    .log
                    .find_conflict_by_term(prev_index.min(self.log.last_index()), prev_term);
                let hint_term = self.log.term(hint_index).unwrap_or(0);
                self.send(
                    from,
                    Body::AppendResp {
                        success: false,
                        index: prev_index,
                        hint_index,
                        hint_term,
                    },
                );
            }
        }
    }

    fn handle_snapshot(&mut self, from: NodeId, snapshot: Snapshot) {
        let index = if snapshot.index <= self.log.commit {
            self.log.commit
        } else if self.log.term(snapshot.index) == Some(snapshot.term) {
            self.log.commit = snapshot.index;
            snapshot.index
        } else {
            tracing::info!(
                id = self.cfg.id,
                index = snapshot.index,
                "installing a snapshot from the leader"
            );
            let i = snapshot.index;
            self.log.install(snapshot);
            i
        };
        self.send(
            from,
            Body::AppendResp {
                success: true,
                index,
                hint_index: 0,
                hint_term: 0,
            },
        );
    }

    fn handle_append_resp(
        &mut self,
        from: NodeId,
        success: bool,
        index: Index,
        hint_index: Index,
        hint_term: Term,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.active = true;
        if success {
            if pr.on_success(index) && self.maybe_commit() {
                self.bcast_append_with_commit();
            } else {
                self.send_append(from, false);
            }
        } else {
            let hint = if hint_term > 0 {
                self.log.find_conflict_by_term(hint_index, hint_term)
            } else {
                hint_index
            };
            let pr = self.progress.get_mut(&from).expect("checked above");
            if pr.on_reject(index, hint) {
                self.send_append(from, false);
            }
        }
    }

    fn handle_heartbeat_resp(&mut self, from: NodeId, read_seq: u64) {
        if self.role != Role::Leader {
            return;
        }
        let last = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.active = true;
        pr.read_ack = pr.read_ack.max(read_seq);
        if pr.matched < last {
            match pr.state {
                State::Probe { .. } => pr.state = State::Probe { paused: false },
                State::Replicate => {
                    // Appends may have been lost: free a slot and send (possibly empty) so the
                    // follower's answer reveals a gap.
                    pr.inflight.pop_front();
                }
                State::Snapshot { .. } => {}
            }
            self.send_append(from, true);
        }
        self.release_reads();
    }

    /// Whether a candidate's last log entry (`last_index`, `last_term`) is at least as up to
    /// date as ours; `--bug vote-ignores-term` compares the indexes alone.
    fn up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        if self.bug(Bug::VoteIgnoresTerm) {
            last_index >= self.log.last_index()
        } else {
            self.log.is_up_to_date(last_index, last_term)
        }
    }

    // ----- leader machinery -----

    /// Commits the highest index a quorum has stored, if it is of the current term (the
    /// Figure 8 rule: older entries commit only with it). Returns whether commit advanced.
    fn maybe_commit(&mut self) -> bool {
        let mut matched: Vec<Index> = self.progress.values().map(|p| p.matched).collect();
        matched.push(self.log.stable);
        matched.sort_unstable_by(|a, b| b.cmp(a));
        // The highest index stored on a quorum: the quorum-th highest match. `--bug
        // quorum-off-by-one` takes the (n/2)-th, one node short of a majority.
        let rank = if self.bug(Bug::QuorumOffByOne) {
            (self.cfg.voters.len() / 2).max(1)
        } else {
            self.quorum()
        };
        let n = matched[rank - 1];
        let own_term = self.log.term(n) == Some(self.term);
        if n > self.log.commit && (own_term || self.bug(Bug::NoFigure8)) {
            self.log.commit = n;
            if !self.reads_before_commit.is_empty() {
                for (from, ctx) in std::mem::take(&mut self.reads_before_commit) {
                    self.leader_read(from, ctx);
                }
            }
            return true;
        }
        false
    }

    /// Sends what `to` needs: while streaming, append after append up to the in-flight limit
    /// (pipelining); while probing, one append.
    fn send_append(&mut self, to: NodeId, allow_empty: bool) {
        let mut allow_empty = allow_empty;
        while self.send_one_append(to, allow_empty) {
            allow_empty = false;
            let last = self.log.last_index();
            match self.progress.get(&to) {
                Some(pr) if pr.state == State::Replicate && pr.next <= last => {}
                _ => break,
            }
        }
    }

    /// Sends one append (or the snapshot); returns whether it sent entries while streaming.
    fn send_one_append(&mut self, to: NodeId, allow_empty: bool) -> bool {
        let last = self.log.last_index();
        let commit = self.log.commit;
        let max_inflight = self.cfg.max_inflight;
        let max_entries = self.cfg.max_entries_per_msg as u64;
        let Some(pr) = self.progress.get_mut(&to) else {
            return false;
        };
        if !pr.can_send(max_inflight) {
            return false;
        }
        let prev_index = pr.next - 1;
        let Some(prev_term) = self.log.term(prev_index) else {
            // Compacted away: send the snapshot.
            let Some(snapshot) = self.log.snapshot().cloned() else {
                return false;
            };
            pr.state = State::Snapshot {
                index: snapshot.index,
                ticks: 0,
            };
            pr.next = snapshot.index + 1;
            pr.inflight.clear();
            self.send(to, Body::InstallSnapshot { snapshot });
            return false;
        };
        let hi = last.min(pr.next + max_entries - 1);
        let entries = self.log.slice(pr.next, hi);
        if entries.is_empty() && !allow_empty && !matches!(pr.state, State::Probe { .. }) {
            return false;
        }
        let streamed = pr.state == State::Replicate && !entries.is_empty();
        match pr.state {
            State::Replicate => {
                if let Some(e) = entries.last() {
                    pr.next = e.index + 1;
                    pr.inflight.push_back(e.index);
                }
            }
            State::Probe { .. } => pr.state = State::Probe { paused: true },
            State::Snapshot { .. } => {}
        }
        self.send(
            to,
            Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            },
        );
        streamed
    }

    fn bcast_append(&mut self) {
        for p in self.peers() {
            self.send_append(p, false);
        }
        self.bcast_pending = false;
    }

    fn bcast_append_with_commit(&mut self) {
        for p in self.peers() {
            self.send_append(p, true);
        }
    }

    fn bcast_heartbeat(&mut self) {
        let commit = self.log.commit;
        let read_seq = self.read_seq;
        let targets: Vec<(NodeId, Index)> = self
            .progress
            .iter()
            .map(|(&p, pr)| (p, pr.matched))
            .collect();
        for (p, matched) in targets {
            self.send(
                p,
                Body::Heartbeat {
                    commit,
                    matched,
                    read_seq,
                },
            );
        }
    }

    fn leader_read(&mut self, from: NodeId, ctx: u64) {
        if self.log.term(self.log.commit) != Some(self.term) && !self.bug(Bug::NoNoop) {
            // Until an entry of this term commits, the leader's commit index may be stale.
            self.reads_before_commit.push((from, ctx));
            return;
        }
        let index = self.log.commit;
        if self.quorum() == 1 || (self.bug(Bug::LeaseRead) && self.holds_lease()) {
            self.deliver_read(from, ctx, index);
            return;
        }
        self.pending_reads.push_back(PendingRead {
            seq: self.read_seq + 1,
            index,
            from,
            ctx,
        });
        self.read_round_pending = true;
    }

    fn deliver_read(&mut self, from: NodeId, ctx: u64, index: Index) {
        if from == self.cfg.id {
            self.ready_reads.push(ReadState { ctx, index });
        } else {
            self.send(from, Body::ReadIndexResp { ctx, index });
        }
    }

    /// Whether a quorum confirmed, less than an election timeout ago by this node's own clock,
    /// a round sent by this leader: no other leader can have been elected since, *if* its
    /// ticks kept pace with real time. They stop while the process is paused and slow down
    /// with its clock, so the correct build never serves a read on this lease; only `--bug
    /// lease-read` does (etcd#20418's family, raft-rs `LeaseBased`).
    fn holds_lease(&self) -> bool {
        self.lease_from
            .is_some_and(|from| self.ticks < from + self.cfg.election_ticks_min as u64)
    }

    /// Releases the reads whose heartbeat round a quorum confirmed.
    fn release_reads(&mut self) {
        if self.pending_reads.is_empty() && self.read_rounds.is_empty() {
            return;
        }
        let mut acks: Vec<u64> = self.progress.values().map(|p| p.read_ack).collect();
        acks.push(self.read_seq);
        acks.sort_unstable_by(|a, b| b.cmp(a));
        let confirmed = acks[self.quorum() - 1];
        while let Some(r) = self.read_rounds.front().copied() {
            if r.seq > confirmed {
                break;
            }
            self.lease_from = Some(r.sent_at);
            self.read_rounds.pop_front();
        }
        while self
            .pending_reads
            .front()
            .is_some_and(|r| r.seq <= confirmed)
        {
            let r = self.pending_reads.pop_front().expect("checked");
            self.deliver_read(r.from, r.ctx, r.index);
        }
    }

    // ----- output -----

    /// Whether `ready()` would return anything.
    pub fn has_ready(&self) -> bool {
        !self.msgs.is_empty()
            || !self.forward.is_empty()
            || self.bcast_pending
            || self.read_round_pending
            || self.hard_state() != self.persisted_hs
            || self.log.pending_snapshot
            || self.log.stable < self.log.last_index()
            || self.log.applied < self.log.commit
            || !self.ready_reads.is_empty()
            || !self.failed_reads.is_empty()
    }

    /// Takes the effects accumulated since the last call.
    pub fn ready(&mut self) -> Ready {
        if self.role == Role::Leader {
            if self.bcast_pending {
                self.bcast_append();
            }
            if self.read_round_pending {
                self.read_round_pending = false;
                self.read_seq += 1;
                self.read_rounds.push_back(ReadRound {
                    seq: self.read_seq,
                    sent_at: self.ticks,
                });
                self.heartbeat_elapsed = 0;
                self.bcast_heartbeat();
            }
        } else {
            self.bcast_pending = false;
            self.read_round_pending = false;
        }
        if !self.forward.is_empty() {
            let entries = std::mem::take(&mut self.forward);
            if let (Role::Follower, Some(l)) = (self.role, self.leader) {
                self.send(l, Body::Propose { entries });
            }
        }
        self.led_at_ready = self.role == Role::Leader;
        let hs = self.hard_state();
        let hard_state = (hs != self.persisted_hs).then_some(hs);
        let snapshot = if self.log.pending_snapshot {
            self.log.pending_snapshot = false;
            self.log.snapshot().cloned()
        } else {
            None
        };
        let entries = self.log.slice(self.log.stable + 1, self.log.last_index());
        let committed = self.log.slice(self.log.applied + 1, self.log.commit);
        self.log.applied = self.log.applied.max(self.log.commit);
        Ready {
            hard_state,
            snapshot,
            entries,
            messages: std::mem::take(&mut self.msgs),
            committed,
            reads: std::mem::take(&mut self.ready_reads),
            failed_reads: std::mem::take(&mut self.failed_reads),
            stable_to: self.log.last_index(),
        }
    }

    /// The shell has persisted everything in `ready`.
    pub fn advance(&mut self, ready: &Ready) {
        if let Some(hs) = ready.hard_state {
            self.persisted_hs = hs;
        }
        if ready.stable_to <= self.log.last_index() {
            self.log.stable = self.log.stable.max(ready.stable_to);
        }
        if self.role == Role::Leader && self.maybe_commit() {
            self.bcast_append_with_commit();
        }
    }

    /// The shell has saved a snapshot of the state machine at `index` (<= applied); entries up
    /// to it are dropped from the log.
    pub fn compact(&mut self, index: Index, data: Vec<u8>) {
        let Some(term) = self.log.term(index) else {
            return;
        };
        self.log.compact(Snapshot { index, term, data });
    }
}
