//! One Multi-Paxos node as a pure state machine: every node is an acceptor and a learner; a
//! node whose election timer fires runs phase 1 (prepare/promise) for every slot from its
//! first unchosen one on, and once a majority promised it is the distinguished proposer
//! (leader) of its ballot: it re-proposes, for every slot its promises report, the value of
//! the highest ballot accepted there (a no-op for holes), then runs phase 2 (accept/accepted)
//! for each new command in the next free slot.
//!
//! A slot is chosen when a majority accepted it at the leader's ballot; the leader's chosen
//! prefix rides on every Accept (which doubles as the heartbeat). An acceptor marks a slot
//! chosen from that prefix only when what it accepted there carries the leader's ballot (a
//! leader proposes one value per slot per ballot); a lagging node learns the other chosen
//! values from the leader (`Learn`). Chosen slots are handed out in order.
//!
//! Followers that heard their leader within the minimum election timeout ignore other nodes'
//! prepares, and a leader that hears no majority within the maximum election timeout steps
//! down: both only shape liveness, never safety. Leases are off: reads are log entries.
//!
//! The order of a [`Ready`]: persist its records (fsync), then send its messages, then apply
//! its chosen values. The bug switches ([`crate::bugs`]) are single lines at the guards they
//! weaken.

use std::collections::{BTreeMap, BTreeSet};

use super::types::{Accepted, Ballot, Body, Durable, Message, NodeId, Record, Slot, Value};
use crate::bugs::{Bug, Bugs};

/// At most this many chosen values in one `Learn`, and retransmitted accepts per heartbeat.
const BATCH: usize = 512;

/// A node's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// Every member, this node included.
    pub members: Vec<NodeId>,
    pub election_ticks_min: u32,
    pub election_ticks_max: u32,
    pub heartbeat_ticks: u32,
    pub bugs: Bugs,
}

/// What a node is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

/// `propose` on a node that is not the leader; `leader` is the one it believes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this node is not the leader")]
pub struct NotLeader {
    pub leader: Option<NodeId>,
}

/// The effects to carry out, in order: `records` durable, then `messages` out, then `apply`.
#[derive(Debug, Default)]
pub struct Ready {
    pub records: Vec<Record>,
    pub messages: Vec<Message>,
    /// Newly chosen slots, contiguous and in order.
    pub apply: Vec<(Slot, Value)>,
    /// The node stopped leading: its proposals not yet applied may or may not be chosen.
    pub stepped_down: bool,
}

/// A node's view, for `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub role: Role,
    pub promised: Ballot,
    pub leader: Option<NodeId>,
    /// Every slot up to here is chosen.
    pub chosen: Slot,
    /// The highest slot this node accepted a value in.
    pub last_accepted: Slot,
}

/// What one promise reports: the accepted values and the known chosen values.
type Report = (Vec<(Slot, Accepted)>, Vec<(Slot, Value)>);

struct Campaign {
    ballot: Ballot,
    from_slot: Slot,
    promises: BTreeMap<NodeId, Report>,
}

struct Lead {
    ballot: Ballot,
    next_slot: Slot,
    /// Proposed, not yet chosen: the value and who accepted it.
    pending: BTreeMap<Slot, (Value, BTreeSet<NodeId>)>,
    /// Proposed since the last `Ready`, not yet sent.
    unsent: Vec<(Slot, Value)>,
    /// Peers heard from in the current check-quorum window, and the window's age in ticks.
    heard: BTreeSet<NodeId>,
    window: u32,
}

enum State {
    Follower,
    Candidate(Campaign),
    Leader(Lead),
}

/// One node.
pub struct Paxos {
    cfg: Config,
    promised: Ballot,
    accepted: BTreeMap<Slot, Accepted>,
    chosen: BTreeMap<Slot, Value>,
    /// Every slot up to here is chosen.
    prefix: Slot,
    /// Every slot up to here was handed out in a `Ready`.
    applied: Slot,
    max_round: u64,
    state: State,
    leader: Option<NodeId>,
    since_heard: u32,
    election_deadline: u32,
    heartbeat_elapsed: u32,
    rng: u64,
    ready: Ready,
}

impl Paxos {
    /// A node recovered from its durable state; every chosen slot is handed out again (the
    /// state machine is rebuilt from the chosen log).
    pub fn new(cfg: Config, durable: Durable, seed: u64) -> Paxos {
        let max_round = durable
            .accepted
            .values()
            .map(|a| a.ballot.round)
            .max()
            .unwrap_or(0)
            .max(durable.promised.round);
        let mut p = Paxos {
            promised: durable.promised,
            accepted: durable.accepted,
            chosen: durable.chosen,
            prefix: 0,
            applied: 0,
            max_round,
            state: State::Follower,
            leader: None,
            since_heard: 0,
            election_deadline: 0,
            heartbeat_elapsed: 0,
            rng: seed | 1,
            ready: Ready::default(),
            cfg,
        };
        p.advance_prefix();
        p.reset_election_timer();
        p
    }

    fn majority(&self) -> usize {
        self.cfg.members.len() / 2 + 1
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        let me = self.cfg.id;
        self.cfg.members.iter().copied().filter(move |&m| m != me)
    }

    fn reset_election_timer(&mut self) {
        // xorshift64: the core draws its own timeouts from its seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let span = self
            .cfg
            .election_ticks_max
            .saturating_sub(self.cfg.election_ticks_min)
            + 1;
        self.election_deadline = self.cfg.election_ticks_min + (self.rng % span as u64) as u32;
        self.since_heard = 0;
    }

    fn send(&mut self, to: NodeId, body: Body) {
        self.ready.messages.push(Message {
            from: self.cfg.id,
            to,
            body,
        });
    }

    /// Raises the promise to `b` (durably, unless `promise-not-durable`).
    fn promise(&mut self, b: Ballot) {
        if b > self.promised {
            self.promised = b;
            self.max_round = self.max_round.max(b.round);
            if !self.cfg.bugs.has(Bug::PromiseNotDurable) {
                self.ready.records.push(Record::Promise(b));
            }
        }
    }

    fn accept(&mut self, slot: Slot, ballot: Ballot, value: Value) {
        self.accepted.insert(
            slot,
            Accepted {
                ballot,
                value: value.clone(),
            },
        );
        self.ready.records.push(Record::Accept {
            slot,
            ballot,
            value,
        });
    }

    fn learn(&mut self, slot: Slot, value: Value) {
        if slot == 0 || self.chosen.contains_key(&slot) {
            return;
        }
        self.chosen.insert(slot, value.clone());
        self.ready.records.push(Record::Chosen { slot, value });
        self.advance_prefix();
    }

    fn advance_prefix(&mut self) {
        while self.chosen.contains_key(&(self.prefix + 1)) {
            self.prefix += 1;
        }
    }

    fn become_follower(&mut self, leader: Option<NodeId>) {
        if matches!(self.state, State::Leader(_)) {
            self.ready.stepped_down = true;
        }
        self.state = State::Follower;
        self.leader = leader;
    }

    /// One tick of the logical clock.
    pub fn tick(&mut self) {
        self.heartbeat_elapsed += 1;
        let beat = self.heartbeat_elapsed >= self.cfg.heartbeat_ticks;
        if beat {
            self.heartbeat_elapsed = 0;
        }
        if let State::Leader(l) = &mut self.state {
            l.window += 1;
            if l.window >= self.cfg.election_ticks_max {
                let lost = l.heard.len() + 1 < self.cfg.members.len() / 2 + 1;
                l.heard.clear();
                l.window = 0;
                if lost {
                    self.become_follower(None);
                    self.reset_election_timer();
                    return;
                }
            }
            if beat {
                self.heartbeat();
            }
            return;
        }
        self.since_heard += 1;
        if self.since_heard >= self.election_deadline {
            self.campaign();
        } else if beat {
            if let State::Candidate(c) = &self.state {
                let (ballot, from_slot) = (c.ballot, c.from_slot);
                let missing: Vec<NodeId> = self
                    .peers()
                    .filter(|p| !c.promises.contains_key(p))
                    .collect();
                for p in missing {
                    self.send(p, Body::Prepare { ballot, from_slot });
                }
            }
        }
    }

    /// Starts phase 1 with a ballot above every one seen.
    fn campaign(&mut self) {
        self.reset_election_timer();
        let ballot = Ballot {
            round: self.max_round.max(self.promised.round) + 1,
            node: self.cfg.id,
        };
        if matches!(self.state, State::Leader(_)) {
            self.ready.stepped_down = true;
        }
        self.leader = None;
        self.promise(ballot);
        let from_slot = self.prefix + 1;
        let own = self.report(from_slot);
        let mut promises = BTreeMap::new();
        promises.insert(self.cfg.id, own);
        self.state = State::Candidate(Campaign {
            ballot,
            from_slot,
            promises,
        });
        let peers: Vec<NodeId> = self.peers().collect();
        for p in peers {
            self.send(p, Body::Prepare { ballot, from_slot });
        }
        self.maybe_lead();
    }

    /// What this acceptor accepted, and knows chosen, at or after `from_slot`.
    fn report(&self, from_slot: Slot) -> Report {
        let accepted = self
            .accepted
            .range(from_slot..)
            .map(|(s, a)| (*s, a.clone()))
            .collect();
        let chosen = self
            .chosen
            .range(from_slot..)
            .map(|(s, v)| (*s, v.clone()))
            .collect();
        (accepted, chosen)
    }

    /// Becomes the leader once a majority promised: adopts what the promises report.
    fn maybe_lead(&mut self) {
        let State::Candidate(c) = &self.state else {
            return;
        };
        if c.promises.len() < self.majority() {
            return;
        }
        let State::Candidate(c) = std::mem::replace(&mut self.state, State::Follower) else {
            unreachable!("checked above");
        };
        let mut highest: BTreeMap<Slot, Accepted> = BTreeMap::new();
        let mut last = self.prefix;
        for (accepted, chosen) in c.promises.into_values() {
            for (s, v) in chosen {
                last = last.max(s);
                self.learn(s, v);
            }
            for (s, a) in accepted {
                last = last.max(s);
                if highest.get(&s).is_none_or(|h| a.ballot > h.ballot) {
                    highest.insert(s, a);
                }
            }
        }
        let ballot = c.ballot;
        let mut lead = Lead {
            ballot,
            next_slot: last + 1,
            pending: BTreeMap::new(),
            unsent: Vec::new(),
            heard: BTreeSet::new(),
            window: 0,
        };
        for s in c.from_slot..=last {
            if self.chosen.contains_key(&s) {
                continue;
            }
            let value = match highest.remove(&s) {
                // The one line Paxos's safety rests on: adopt the highest accepted value.
                Some(a) if !self.cfg.bugs.has(Bug::IgnoreAccepted) => a.value,
                _ => Value::Noop,
            };
            self.accept(s, ballot, value.clone());
            lead.pending
                .insert(s, (value.clone(), BTreeSet::from([self.cfg.id])));
            lead.unsent.push((s, value));
        }
        self.state = State::Leader(lead);
        self.leader = Some(self.cfg.id);
        self.heartbeat_elapsed = 0;
        self.check_chosen();
    }

    /// Proposes a command in the next free slot.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<Slot, NotLeader> {
        let me = self.cfg.id;
        let State::Leader(l) = &mut self.state else {
            return Err(NotLeader {
                leader: self.leader,
            });
        };
        let slot = l.next_slot;
        l.next_slot += 1;
        let ballot = l.ballot;
        let value = Value::Cmd(data);
        l.pending
            .insert(slot, (value.clone(), BTreeSet::from([me])));
        l.unsent.push((slot, value.clone()));
        self.accept(slot, ballot, value);
        self.check_chosen();
        Ok(slot)
    }

    /// The heartbeat: an Accept to every peer carrying the chosen prefix and the proposals it
    /// has not acknowledged yet.
    fn heartbeat(&mut self) {
        let State::Leader(l) = &self.state else {
            return;
        };
        let ballot = l.ballot;
        let peers: Vec<NodeId> = self.peers().collect();
        let mut out = Vec::new();
        for p in peers {
            let entries: Vec<(Slot, Value)> = l
                .pending
                .iter()
                .filter(|(_, (_, acks))| !acks.contains(&p))
                .take(BATCH)
                .map(|(s, (v, _))| (*s, v.clone()))
                .collect();
            out.push((p, entries));
        }
        let chosen = self.prefix;
        for (p, entries) in out {
            self.send(
                p,
                Body::Accept {
                    ballot,
                    entries,
                    chosen,
                },
            );
        }
    }

    /// Marks every pending slot a majority accepted as chosen.
    fn check_chosen(&mut self) {
        let majority = self.majority();
        let State::Leader(l) = &mut self.state else {
            return;
        };
        let done: Vec<Slot> = l
            .pending
            .iter()
            .filter(|(_, (_, acks))| acks.len() >= majority)
            .map(|(s, _)| *s)
            .collect();
        let mut learned = Vec::new();
        for s in done {
            if let Some((v, _)) = l.pending.remove(&s) {
                learned.push((s, v));
            }
        }
        for (s, v) in learned {
            self.learn(s, v);
        }
    }

    /// Handles one message.
    pub fn step(&mut self, m: Message) {
        let from = m.from;
        if from == self.cfg.id || !self.cfg.members.contains(&from) {
            return;
        }
        match m.body {
            Body::Prepare { ballot, from_slot } => self.on_prepare(from, ballot, from_slot),
            Body::Promise {
                ballot,
                accepted,
                chosen,
            } => {
                if let State::Candidate(c) = &mut self.state {
                    if c.ballot == ballot {
                        c.promises.insert(from, (accepted, chosen));
                        self.maybe_lead();
                    }
                }
            }
            Body::Accept {
                ballot,
                entries,
                chosen,
            } => self.on_accept(from, ballot, entries, chosen),
            Body::Accepted {
                ballot,
                slots,
                chosen,
            } => self.on_accepted(from, ballot, slots, chosen),
            Body::Nack { ballot, promised } => {
                self.max_round = self.max_round.max(promised.round);
                let mine = match &self.state {
                    State::Candidate(c) => Some(c.ballot),
                    State::Leader(l) => Some(l.ballot),
                    State::Follower => None,
                };
                if mine == Some(ballot) && promised > ballot {
                    self.become_follower(None);
                    self.reset_election_timer();
                }
            }
            Body::Learn { entries } => {
                for (s, v) in entries {
                    self.learn(s, v);
                }
            }
        }
    }

    fn on_prepare(&mut self, from: NodeId, ballot: Ballot, from_slot: Slot) {
        let sticky = match self.state {
            State::Leader(_) => true,
            State::Follower => {
                self.leader.is_some_and(|l| l != from)
                    && self.since_heard < self.cfg.election_ticks_min
            }
            State::Candidate(_) => false,
        };
        if sticky {
            return;
        }
        if ballot < self.promised {
            let promised = self.promised;
            self.send(from, Body::Nack { ballot, promised });
            return;
        }
        if ballot > self.promised {
            self.promise(ballot);
            self.become_follower(None);
            self.reset_election_timer();
        }
        let (accepted, chosen) = self.report(from_slot);
        self.send(
            from,
            Body::Promise {
                ballot,
                accepted,
                chosen,
            },
        );
    }

    fn on_accept(&mut self, from: NodeId, ballot: Ballot, entries: Vec<(Slot, Value)>, upto: Slot) {
        // The acceptor's guard: never accept below the promise.
        if ballot < self.promised && !self.cfg.bugs.has(Bug::AcceptLowerBallot) {
            let promised = self.promised;
            self.send(from, Body::Nack { ballot, promised });
            return;
        }
        if ballot >= self.promised {
            self.promise(ballot);
            if !matches!(self.state, State::Follower) || self.leader != Some(from) {
                self.become_follower(Some(from));
            }
            self.reset_election_timer();
        }
        let mut slots = Vec::with_capacity(entries.len());
        for (s, v) in entries {
            self.accept(s, ballot, v);
            slots.push(s);
        }
        let mut s = self.prefix + 1;
        while s <= upto {
            if !self.chosen.contains_key(&s) {
                match self.accepted.get(&s) {
                    Some(a) if a.ballot == ballot => {
                        let v = a.value.clone();
                        self.learn(s, v);
                    }
                    _ => break,
                }
            }
            s += 1;
        }
        let chosen = self.prefix;
        self.send(
            from,
            Body::Accepted {
                ballot,
                slots,
                chosen,
            },
        );
    }

    fn on_accepted(&mut self, from: NodeId, ballot: Ballot, slots: Vec<Slot>, theirs: Slot) {
        let State::Leader(l) = &mut self.state else {
            return;
        };
        if l.ballot != ballot {
            return;
        }
        l.heard.insert(from);
        let heartbeat_ack = slots.is_empty();
        for s in slots {
            if let Some((_, acks)) = l.pending.get_mut(&s) {
                acks.insert(from);
            }
        }
        self.check_chosen();
        if heartbeat_ack && theirs < self.prefix {
            let entries: Vec<(Slot, Value)> = self
                .chosen
                .range(theirs + 1..=self.prefix)
                .take(BATCH)
                .map(|(s, v)| (*s, v.clone()))
                .collect();
            self.send(from, Body::Learn { entries });
        }
    }

    /// Whether there is anything for the shell to do.
    pub fn has_ready(&self) -> bool {
        let unsent = matches!(&self.state, State::Leader(l) if !l.unsent.is_empty());
        unsent
            || self.applied < self.prefix
            || !self.ready.records.is_empty()
            || !self.ready.messages.is_empty()
            || self.ready.stepped_down
    }

    /// Takes the effects accumulated so far (see the module docs for their order).
    pub fn take_ready(&mut self) -> Ready {
        if let State::Leader(l) = &mut self.state {
            if !l.unsent.is_empty() {
                let entries = std::mem::take(&mut l.unsent);
                let ballot = l.ballot;
                let chosen = self.prefix;
                let peers: Vec<NodeId> = self.peers().collect();
                for p in peers {
                    self.send(
                        p,
                        Body::Accept {
                            ballot,
                            entries: entries.clone(),
                            chosen,
                        },
                    );
                }
            }
        }
        let mut r = std::mem::take(&mut self.ready);
        while self.applied < self.prefix {
            self.applied += 1;
            r.apply
                .push((self.applied, self.chosen[&self.applied].clone()));
        }
        r
    }

    /// The node's view.
    pub fn status(&self) -> Status {
        Status {
            role: match self.state {
                State::Follower => Role::Follower,
                State::Candidate(_) => Role::Candidate,
                State::Leader(_) => Role::Leader,
            },
            promised: self.promised,
            leader: self.leader,
            chosen: self.prefix,
            last_accepted: self.accepted.keys().next_back().copied().unwrap_or(0),
        }
    }

    /// The value this node knows chosen in `slot`.
    pub fn chosen(&self, slot: Slot) -> Option<&Value> {
        self.chosen.get(&slot)
    }
}
