//! Deterministic simulation of the Raft core: a simulated network with partitions, loss,
//! duplication, reordering and delay; pauses (SIGSTOP) and clock skew; crashes that lose
//! everything not yet persisted; and clients whose writes time out and whose reads are served
//! as the shell serves them. After every step `raft::core::invariants::Checker` checks election
//! safety, log matching, leader completeness, committed entries, state machine safety, stale
//! reads and definite failures; once faults stop, the cluster must commit within a bound.
//!
//! Each bug of `raft-node --list-bugs` has a test here that switches it on, finds a seed on
//! which the simulation breaks the invariant the bug's historical original broke (by name),
//! and runs the same seeds and fault schedules with the bug off as a control that must pass.
//! The fault schedule (faults, client operations, which node persists when) comes from a random
//! stream of its own, so it is the same with the bug on and off; only the network's draws
//! (delays, loss, duplication, order) follow the messages the nodes send.

use std::collections::HashMap;
use std::ops::Range;

use raft::bugs::{self, Bug, Bugs};
use raft::core::invariants::{Checker, Invariant, Violation};
use raft::core::{Config, Entry, HardState, Index, Message, NodeId, Raft, Role, Snapshot};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What survives a crash: exactly what the node synced.
#[derive(Clone, Default)]
struct Durable {
    hs: HardState,
    snapshot: Option<Snapshot>,
    entries: Vec<Entry>,
}

impl Durable {
    fn write(&mut self, hs: Option<HardState>, entries: &[Entry]) {
        if let Some(hs) = hs {
            self.hs = hs;
        }
        if let Some(first) = entries.first() {
            self.entries.retain(|e| e.index < first.index);
            self.entries.extend(entries.iter().cloned());
        }
    }
}

/// The simulated application: a hash chain over the applied entries.
#[derive(Clone, Copy, Default)]
struct App {
    index: Index,
    hash: u64,
}

fn mix(h: u64, index: Index, data: &[u8]) -> u64 {
    let mut x = h ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in data {
        x = (x ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    x.rotate_left(17)
}

fn encode_app(a: App) -> Vec<u8> {
    let mut v = a.index.to_le_bytes().to_vec();
    v.extend_from_slice(&a.hash.to_le_bytes());
    v
}

fn decode_app(d: &[u8]) -> App {
    App {
        index: u64::from_le_bytes(d[0..8].try_into().unwrap()),
        hash: u64::from_le_bytes(d[8..16].try_into().unwrap()),
    }
}

/// A write in flight: proposed at `node` (in its `incarnation`), answered when that node
/// applies it, or told it timed out at `deadline`.
struct PendingWrite {
    node: usize,
    incarnation: u64,
    deadline: u64,
}

/// What waits in a paused process's sockets, in arrival order.
enum Waiting {
    Msg(Message),
    Write(Vec<u8>),
    /// A read and what it must reflect (it began when the client sent it).
    Read(u64, Index),
}

struct Node {
    raft: Option<Raft>,
    inbox: Vec<Waiting>,
    durable: Durable,
    /// Written but not yet synced (`--bug unsynced-ack` syncs only every `LAZY_SYNC_TICKS`).
    unsynced: Vec<(Option<HardState>, Vec<Entry>)>,
    last_sync: u64,
    app: App,
    down_until: u64,
    paused_until: u64,
    incarnation: u64,
    /// Reads with a read point, served once the state machine reaches it: (point, began).
    confirmed_reads: Vec<(Index, Index)>,
}

struct InFlight {
    at: u64,
    msg: Message,
}

#[derive(Clone, Copy)]
struct Faults {
    loss: f64,
    dup: f64,
    max_delay: u64,
    /// Chance that a message is held up far longer, up to a few election timeouts (a slow or
    /// flaky link: retransmissions, a congested queue).
    slow: f64,
    crash: f64,
    partition: f64,
    /// Chance per tick that a node pauses (as under SIGSTOP: no ticks, messages wait).
    pause: f64,
    max_pause: u64,
    /// Chance that a running node misses a tick (clock skew).
    skip_tick: f64,
}

const CALM: Faults = Faults {
    loss: 0.0,
    dup: 0.0,
    max_delay: 1,
    slow: 0.0,
    crash: 0.0,
    partition: 0.0,
    pause: 0.0,
    max_pause: 1,
    skip_tick: 0.0,
};

/// A client write not applied by its node within this many ticks times out.
const REQUEST_TIMEOUT_TICKS: u64 = 60;
/// How often a lazily syncing node (`--bug unsynced-ack`) syncs: 500 ms in 10 ms ticks.
const LAZY_SYNC_TICKS: u64 = 50;
/// Ticks of faults per seed.
const FAULT_TICKS: u64 = 1500;

type Step = Result<(), Violation>;

struct Sim {
    /// The fault schedule: configuration, faults, client operations, persistence coin flips.
    sched: ChaCha8Rng,
    /// The network's draws: delays, loss, duplication, reordering.
    net_rng: ChaCha8Rng,
    seed: u64,
    now: u64,
    n: usize,
    nodes: Vec<Node>,
    net: Vec<InFlight>,
    /// group[i]: nodes in different groups cannot talk.
    group: Vec<u8>,
    cfg: Config,
    snapshot_every: u64,
    faults: Faults,
    checker: Checker,
    writes: HashMap<Vec<u8>, PendingWrite>,
    /// Reads waiting for their read point: ctx -> what they must reflect.
    reads: HashMap<u64, Index>,
    next_ctx: u64,
    next_payload: u64,
    reads_done: u64,
    steps: u64,
    installs: u64,
    crashes: u64,
    pauses: u64,
}

impl Sim {
    fn new(seed: u64, bugs: Bugs) -> Self {
        let mut sched = ChaCha8Rng::seed_from_u64(seed);
        let net_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b00);
        let n = if sched.gen_bool(0.5) { 3 } else { 5 };
        let cfg = Config {
            id: 1,
            voters: (1..=n as u64).collect(),
            election_ticks_min: 10,
            election_ticks_max: 20,
            heartbeat_ticks: 3,
            max_entries_per_msg: sched.gen_range(1..8),
            max_inflight: sched.gen_range(1..6),
            bugs,
        };
        let snapshot_every = sched.gen_range(5..30);
        let mut sim = Sim {
            sched,
            net_rng,
            seed,
            now: 0,
            n,
            nodes: Vec::new(),
            net: Vec::new(),
            group: vec![0; n],
            cfg,
            snapshot_every,
            faults: CALM,
            checker: Checker::new(),
            writes: HashMap::new(),
            reads: HashMap::new(),
            next_ctx: 0,
            next_payload: 0,
            reads_done: 0,
            steps: 0,
            installs: 0,
            crashes: 0,
            pauses: 0,
        };
        for i in 0..n {
            sim.nodes.push(Node {
                raft: None,
                inbox: Vec::new(),
                durable: Durable::default(),
                unsynced: Vec::new(),
                last_sync: 0,
                app: App::default(),
                down_until: 0,
                paused_until: 0,
                incarnation: 0,
                confirmed_reads: Vec::new(),
            });
            sim.start(i);
        }
        sim
    }

    fn id(i: usize) -> NodeId {
        i as NodeId + 1
    }

    fn bugs(&self) -> Bugs {
        self.cfg.bugs
    }

    fn paused(&self, i: usize) -> bool {
        self.nodes[i].paused_until > self.now
    }

    fn start(&mut self, i: usize) {
        let mut cfg = self.cfg.clone();
        cfg.id = Self::id(i);
        let node = &mut self.nodes[i];
        node.incarnation += 1;
        let d = node.durable.clone();
        let raft = Raft::new(
            cfg,
            d.hs,
            d.snapshot.clone(),
            d.entries,
            self.seed ^ (node.incarnation << 32) ^ i as u64,
        );
        node.app = d
            .snapshot
            .as_ref()
            .map_or(App::default(), |s| decode_app(&s.data));
        node.confirmed_reads.clear();
        self.checker.restarted(Self::id(i), raft.log().commit);
        node.raft = Some(raft);
    }

    fn crash(&mut self, i: usize, until: u64) {
        self.crashes += 1;
        let node = &mut self.nodes[i];
        node.raft = None;
        node.inbox.clear();
        node.unsynced.clear();
        node.down_until = until;
    }

    /// Checks the invariants that the last step on node `i` could have broken.
    fn check(&mut self, i: usize) -> Step {
        self.steps += 1;
        match self.nodes[i].raft.as_ref() {
            Some(raft) => self.checker.observe(raft),
            None => Ok(()),
        }
    }

    /// The shell's job: persist (sync), send, apply, answer, and maybe snapshot.
    fn flush(&mut self, i: usize) -> Step {
        let id = Self::id(i);
        if self.paused(i) {
            return Ok(());
        }
        let now = self.now;
        let lazily = self.bugs().syncs_lazily();
        let Some(raft) = self.nodes[i].raft.as_mut() else {
            return Ok(());
        };
        if !raft.has_ready() {
            return Ok(());
        }
        let ready = raft.ready();
        if let Some(s) = &ready.snapshot {
            // A received snapshot is written and synced at once, with the whole log.
            self.installs += 1;
            let restored = decode_app(&s.data);
            if restored.index != s.index {
                return Err(Violation::new(
                    Invariant::StateMachineSafety,
                    format!("snapshot at {} holds state of {}", s.index, restored.index),
                ));
            }
            if self
                .checker
                .state_at(s.index)
                .is_some_and(|h| h != restored.hash)
            {
                return Err(Violation::new(
                    Invariant::StateMachineSafety,
                    format!("snapshot {} differs from the state applied there", s.index),
                ));
            }
            let node = &mut self.nodes[i];
            node.unsynced.clear();
            if let Some(hs) = ready.hard_state {
                node.durable.hs = hs;
            }
            node.durable.snapshot = Some(s.clone());
            node.durable.entries.clear();
            node.app = restored;
        }
        let node = &mut self.nodes[i];
        node.unsynced
            .push((ready.hard_state, ready.entries.clone()));
        if ready.must_sync() && (!lazily || now >= node.last_sync + LAZY_SYNC_TICKS) {
            for (hs, entries) in std::mem::take(&mut node.unsynced) {
                node.durable.write(hs, &entries);
            }
            node.last_sync = now;
        }
        for m in &ready.messages {
            let delay = if self.net_rng.gen_bool(self.faults.slow) {
                self.net_rng.gen_range(10..60)
            } else {
                self.net_rng.gen_range(0..=self.faults.max_delay)
            };
            self.net.push(InFlight {
                at: now + 1 + delay,
                msg: m.clone(),
            });
        }
        // Apply in order (state machine safety), answering the writes proposed here.
        let incarnation = self.nodes[i].incarnation;
        for e in &ready.committed {
            let prev = self.nodes[i].app.index;
            if e.index != prev + 1 {
                return Err(Violation::new(
                    Invariant::StateMachineSafety,
                    format!("node {id} applied {} after {prev}", e.index),
                ));
            }
            let node = &mut self.nodes[i];
            node.app.hash = mix(node.app.hash, e.index, &e.data);
            node.app.index = e.index;
            let state = node.app.hash;
            self.checker.applied(id, e.index, &e.data, state)?;
            if self
                .writes
                .get(&e.data)
                .is_some_and(|w| w.node == i && w.incarnation == incarnation)
            {
                self.writes.remove(&e.data);
            }
        }
        for r in &ready.reads {
            if let Some(began) = self.reads.remove(&r.ctx) {
                self.nodes[i].confirmed_reads.push((r.index, began));
            }
        }
        for f in &ready.failed_reads {
            self.reads.remove(&f.ctx);
        }
        self.serve_reads(i)?;
        let app = self.nodes[i].app;
        let raft = self.nodes[i].raft.as_mut().expect("alive");
        raft.advance(&ready);
        let snap_index = raft.log().snapshot_index();
        if app.index >= snap_index + self.snapshot_every && app.index <= raft.log().applied {
            // Taking a snapshot rewrites (and syncs) the log.
            raft.compact(app.index, encode_app(app));
            let node = &mut self.nodes[i];
            let raft = node.raft.as_ref().expect("alive");
            node.unsynced.clear();
            node.durable.hs = raft.hard_state();
            node.durable.snapshot = raft.log().snapshot().cloned();
            node.durable.entries = raft.log().entries().to_vec();
        }
        self.check(i)
    }

    /// Serves the reads whose read point node `i`'s state machine has reached, from it.
    fn serve_reads(&mut self, i: usize) -> Step {
        let applied = self.nodes[i].app.index;
        let mut served = Vec::new();
        self.nodes[i].confirmed_reads.retain(|&(point, began)| {
            let ready = point <= applied;
            if ready {
                served.push(began);
            }
            !ready
        });
        for began in served {
            self.checker.read_served(began, applied)?;
            self.reads_done += 1;
        }
        Ok(())
    }

    fn propose(&mut self, i: usize) -> Step {
        self.next_payload += 1;
        let payload = format!("v{}", self.next_payload).into_bytes();
        if self.paused(i) {
            self.nodes[i].inbox.push(Waiting::Write(payload));
            return Ok(());
        }
        self.propose_payload(i, payload)
    }

    fn propose_payload(&mut self, i: usize, payload: Vec<u8>) -> Step {
        let incarnation = self.nodes[i].incarnation;
        let Some(r) = self.nodes[i].raft.as_mut() else {
            return Ok(());
        };
        match r.propose(payload.clone()) {
            Ok(()) => {
                let deadline = self.now + REQUEST_TIMEOUT_TICKS;
                self.writes.insert(
                    payload,
                    PendingWrite {
                        node: i,
                        incarnation,
                        deadline,
                    },
                );
            }
            // Never proposed: the client is told it definitely failed.
            Err(_) => self.checker.failed_definitely(&payload)?,
        }
        self.check(i)
    }

    /// Writes past their deadline get a timeout: indefinite, unless `--bug definite-timeout`.
    fn expire_writes(&mut self) -> Step {
        let now = self.now;
        let mut timed_out = Vec::new();
        let nodes = &self.nodes;
        self.writes.retain(|data, w| {
            if w.deadline > now {
                return true;
            }
            // A crashed node's clients saw the connection drop: an indefinite outcome.
            if nodes[w.node].incarnation == w.incarnation && nodes[w.node].raft.is_some() {
                timed_out.push(data.clone());
            }
            false
        });
        if self.bugs().timeout_is_definite() {
            for data in timed_out {
                self.checker.failed_definitely(&data)?;
            }
        }
        Ok(())
    }

    fn read(&mut self, i: usize) -> Step {
        self.next_ctx += 1;
        let ctx = self.next_ctx;
        let began = self.checker.read_began();
        if self.paused(i) {
            self.nodes[i].inbox.push(Waiting::Read(ctx, began));
            return Ok(());
        }
        self.read_from(i, ctx, began)
    }

    fn read_from(&mut self, i: usize, ctx: u64, began: Index) -> Step {
        if let Some(r) = self.nodes[i].raft.as_mut() {
            if r.read_index(ctx).is_ok() {
                self.reads.insert(ctx, began);
            }
        }
        self.check(i)
    }

    fn tick_all(&mut self) -> Step {
        for i in 0..self.n {
            if self.paused(i) || self.sched.gen_bool(self.faults.skip_tick) {
                continue;
            }
            if let Some(r) = self.nodes[i].raft.as_mut() {
                r.tick();
                self.check(i)?;
            }
        }
        Ok(())
    }

    fn deliver(&mut self) -> Step {
        let now = self.now;
        let mut due = Vec::new();
        let mut k = 0;
        while k < self.net.len() {
            if self.net[k].at <= now {
                due.push(self.net.swap_remove(k).msg);
            } else {
                k += 1;
            }
        }
        // Reorder among the messages due now.
        for j in (1..due.len()).rev() {
            let o = self.net_rng.gen_range(0..=j);
            due.swap(j, o);
        }
        for m in due {
            let (f, t) = ((m.from - 1) as usize, (m.to - 1) as usize);
            if self.paused(t) {
                // A paused process reads its socket later.
                self.nodes[t].inbox.push(Waiting::Msg(m));
                continue;
            }
            if self.group[f] != self.group[t] || self.net_rng.gen_bool(self.faults.loss) {
                continue;
            }
            if self.net_rng.gen_bool(self.faults.dup) {
                let at = now + 1 + self.net_rng.gen_range(0..=self.faults.max_delay);
                self.net.push(InFlight { at, msg: m.clone() });
            }
            if let Some(r) = self.nodes[t].raft.as_mut() {
                r.step(m);
                self.check(t)?;
            }
        }
        Ok(())
    }

    /// A node that woke from a pause handles what waited in its sockets: each connection's
    /// data in order (a peer's link, a client's), the connections interleaved at random, as
    /// the shell's reader tasks race to fill its queue.
    fn drain_inboxes(&mut self) -> Step {
        for i in 0..self.n {
            if self.paused(i) || self.nodes[i].inbox.is_empty() {
                continue;
            }
            let mut links: Vec<std::collections::VecDeque<Waiting>> = Vec::new();
            let mut peer_link: HashMap<NodeId, usize> = HashMap::new();
            for w in std::mem::take(&mut self.nodes[i].inbox) {
                let k = match &w {
                    Waiting::Msg(m) => *peer_link.entry(m.from).or_insert_with(|| {
                        links.push(Default::default());
                        links.len() - 1
                    }),
                    _ => {
                        links.push(Default::default());
                        links.len() - 1
                    }
                };
                links[k].push_back(w);
            }
            let mut order = Vec::new();
            while !links.is_empty() {
                let k = self.net_rng.gen_range(0..links.len());
                order.push(links[k].pop_front().expect("non-empty"));
                if links[k].is_empty() {
                    links.swap_remove(k);
                }
            }
            for w in order {
                match w {
                    Waiting::Msg(m) => {
                        if let Some(r) = self.nodes[i].raft.as_mut() {
                            r.step(m);
                            self.check(i)?;
                        }
                    }
                    Waiting::Write(payload) => self.propose_payload(i, payload)?,
                    Waiting::Read(ctx, began) => self.read_from(i, ctx, began)?,
                }
            }
        }
        Ok(())
    }

    /// One tick of faults, clients, clocks, network and persistence.
    fn step_faulty(&mut self) -> Step {
        let n = self.n;
        let faults = self.faults;
        self.now += 1;
        // Partitions come and go.
        if self.sched.gen_bool(faults.partition) {
            let kind = self.sched.gen_range(0..3);
            self.group.iter_mut().for_each(|g| *g = 0);
            match kind {
                0 => {}
                1 => {
                    let x = self.sched.gen_range(0..n);
                    self.group[x] = 1;
                }
                _ => {
                    for k in 0..n {
                        self.group[k] = self.sched.gen_range(0..2);
                    }
                }
            }
        }
        // Pauses, crashes (losing whatever was not synced) and restarts.
        for i in 0..n {
            if self.nodes[i].raft.is_none() {
                if self.now >= self.nodes[i].down_until {
                    self.start(i);
                }
            } else if self.sched.gen_bool(faults.pause) {
                self.pauses += 1;
                self.nodes[i].paused_until = self.now + self.sched.gen_range(1..faults.max_pause);
            } else if self.sched.gen_bool(faults.crash) {
                // Half the crashes restart at once (kill -9 and restart), half after a while.
                let down = if self.sched.gen_bool(0.5) {
                    1..4
                } else {
                    4..60
                };
                let until = self.now + self.sched.gen_range(down);
                self.crash(i, until);
            }
        }
        self.drain_inboxes()?;
        // Clients.
        if self.sched.gen_bool(0.3) {
            let i = self.sched.gen_range(0..n);
            self.propose(i)?;
        }
        if self.sched.gen_bool(0.1) {
            let i = self.sched.gen_range(0..n);
            self.read(i)?;
        }
        self.expire_writes()?;
        self.tick_all()?;
        self.deliver()?;
        for i in 0..n {
            // Sometimes a node runs on without handling its Ready (a crash now loses that work).
            if self.sched.gen_bool(0.75) {
                self.flush(i)?;
            }
        }
        Ok(())
    }

    /// Faults stop: heal, restart everyone, and demand a fresh commit applied everywhere.
    fn recover(&mut self) -> Step {
        let n = self.n;
        self.faults = CALM;
        self.group.iter_mut().for_each(|g| *g = 0);
        for i in 0..n {
            self.nodes[i].paused_until = 0;
            if self.nodes[i].raft.is_none() {
                self.start(i);
            }
        }
        let healed_at = self.now;
        // A slow configuration (one entry per append, one append in flight) may first need
        // to drain a backlog.
        let bound = 1000;
        let mut target: Option<Index> = None;
        loop {
            self.now += 1;
            if self.now > healed_at + bound {
                let st: Vec<_> = self
                    .nodes
                    .iter()
                    .map(|n| n.raft.as_ref().map(|r| r.status()))
                    .collect();
                return Err(Violation::new(
                    Invariant::Liveness,
                    format!("no commit applied everywhere {bound} ticks after healing: {st:?}"),
                ));
            }
            self.drain_inboxes()?;
            self.tick_all()?;
            self.deliver()?;
            for i in 0..n {
                self.flush(i)?;
            }
            // Propose at the leader once there is one; done once every node applied past it.
            let leader = (0..n).find(|&i| {
                self.nodes[i]
                    .raft
                    .as_ref()
                    .is_some_and(|r| r.role() == Role::Leader)
            });
            if let (Some(l), None) = (leader, target) {
                let last = self.nodes[l].raft.as_ref().unwrap().log().last_index();
                self.propose(l)?;
                target = Some(last + 1);
            }
            if let Some(t) = target {
                if self.nodes.iter().all(|nd| nd.app.index >= t) {
                    return Ok(());
                }
                if self.now.is_multiple_of(40) {
                    target = None; // the proposal may have been lost with a leader change; retry
                }
            }
        }
    }
}

/// Statistics of one run, to show the faults and features were exercised.
#[derive(Default)]
struct Stats {
    steps: u64,
    commits: u64,
    reads: u64,
    installs: u64,
    crashes: u64,
    pauses: u64,
    terms: u64,
}

impl Stats {
    fn add(&mut self, s: &Stats) {
        self.steps += s.steps;
        self.commits += s.commits;
        self.reads += s.reads;
        self.installs += s.installs;
        self.crashes += s.crashes;
        self.pauses += s.pauses;
        self.terms += s.terms;
    }
}

/// The fault mix of a seed: a third crash nodes often (Figure 8 schedules need leaders to
/// crash right after replicating), a third pause nodes often and long and skew their clocks
/// (leases), a third mix everything lightly.
fn faults_for(seed: u64, rng: &mut ChaCha8Rng) -> Faults {
    let mut f = Faults {
        loss: rng.gen_range(0.0..0.2),
        dup: rng.gen_range(0.0..0.1),
        max_delay: rng.gen_range(0..4),
        slow: rng.gen_range(0.0..0.01),
        crash: rng.gen_range(0.0..0.01),
        partition: rng.gen_range(0.0..0.03),
        pause: rng.gen_range(0.0..0.005),
        max_pause: 80,
        skip_tick: rng.gen_range(0.0..0.3),
    };
    match seed % 3 {
        0 => {
            f.crash = rng.gen_range(0.01..0.05);
            f.max_delay = rng.gen_range(1..6);
        }
        1 => {
            f.pause = rng.gen_range(0.005..0.02);
            f.max_pause = rng.gen_range(20..120);
            f.skip_tick = rng.gen_range(0.0..0.5);
        }
        _ => {}
    }
    f
}

/// Runs one seed: `fault_ticks` of faults, then recovery.
fn run_seed(seed: u64, fault_ticks: u64, bugs: Bugs) -> Result<Stats, Violation> {
    let mut sim = Sim::new(seed, bugs);
    sim.faults = faults_for(seed, &mut sim.sched);
    while sim.now < fault_ticks {
        sim.step_faulty()?;
    }
    sim.recover()?;
    Ok(Stats {
        steps: sim.steps,
        commits: sim.checker.max_commit(),
        reads: sim.reads_done,
        installs: sim.installs,
        crashes: sim.crashes,
        pauses: sim.pauses,
        terms: sim.checker.leader_terms() as u64,
    })
}

/// `RAFT_SIM_SEEDS=a..b` if set, else `default`.
fn seeds(default: Range<u64>) -> Range<u64> {
    std::env::var("RAFT_SIM_SEEDS")
        .ok()
        .and_then(|v| {
            let (a, b) = v.split_once("..")?;
            Some(a.parse::<u64>().ok()?..b.parse::<u64>().ok()?)
        })
        .unwrap_or(default)
}

#[test]
fn simulation_1000_seeds() {
    // RAFT_SIM_SEEDS=a..b runs other seeds (to hunt further, or to replay one failing seed).
    let range = seeds(0..1000);
    let n = range.end - range.start;
    let mut t = Stats::default();
    for seed in range {
        match run_seed(seed, FAULT_TICKS, Bugs::NONE) {
            Ok(s) => t.add(&s),
            Err(v) => panic!("seed {seed}: {v}"),
        }
    }
    eprintln!(
        "{n} seeds: {} checked steps, {} commits, {} reads served, {} snapshot installs, \
         {} crashes, {} pauses, {} leader terms",
        t.steps, t.commits, t.reads, t.installs, t.crashes, t.pauses, t.terms
    );
    // The workload and the faults must actually have exercised the cluster.
    if n >= 1000 {
        assert!(t.commits > n * 50, "too few commits: {}", t.commits);
        assert!(t.reads > n * 10, "too few reads: {}", t.reads);
        assert!(
            t.installs > n / 10,
            "too few snapshot installs: {}",
            t.installs
        );
        assert!(t.crashes > n, "too few crashes: {}", t.crashes);
        assert!(t.pauses > n, "too few pauses: {}", t.pauses);
        assert!(t.terms > n * 3, "too few elections: {}", t.terms);
    }
}

/// With `bug` on, some seed of `range` must break one of `broken` (the invariant, or the
/// closely related ones, that the bug's original broke), and every seed up to it must pass with
/// the bug off. Seeds on which the bug first breaks something else (often liveness: a
/// cluster wedged by the bug) are counted and shown, not taken as the catch. Returns the seed.
fn simulation_catches(bug: Bug, broken: &[Invariant], range: Range<u64>) -> u64 {
    let name = bugs::name(bug);
    let range = seeds(range);
    let mut other: Vec<(u64, Invariant)> = Vec::new();
    for seed in range.clone() {
        let Err(v) = run_seed(seed, FAULT_TICKS, Bugs::only(bug)) else {
            continue;
        };
        if !broken.contains(&v.invariant) {
            other.push((seed, v.invariant));
            continue;
        }
        for control in range.start..=seed {
            if let Err(v) = run_seed(control, FAULT_TICKS, Bugs::NONE) {
                panic!("control: seed {control} with no bug: {v}");
            }
        }
        eprintln!(
            "--bug {name}: seed {seed}: {v}; seeds {}..={seed} pass without it; earlier seeds \
             broke other invariants first: {other:?}",
            range.start
        );
        return seed;
    }
    panic!("--bug {name}: no seed in {range:?} broke {broken:?} (others: {other:?})");
}

use Invariant::*;

#[test]
fn simulation_catches_local_read() {
    simulation_catches(Bug::LocalRead, &[StaleRead], 0..200);
}

#[test]
fn simulation_catches_no_figure8() {
    // Committed entries of an older term are overwritten: the next leader lacks one, or a node
    // loses one it committed. Rare at random (5 seeds in 0..4000, the first 1280): see also
    // scenarios.rs, figure_8_a_leader_without_a_committed_entry_is_elected.
    simulation_catches(
        Bug::NoFigure8,
        &[LeaderCompleteness, CommittedEntryLost, StateMachineSafety],
        1200..1400,
    );
}

#[test]
fn simulation_catches_definite_timeout() {
    simulation_catches(Bug::DefiniteTimeout, &[DefiniteFailureTookEffect], 0..200);
}

#[test]
fn simulation_catches_unsynced_ack() {
    // A crash loses acknowledged entries (and votes): a committed entry is lost.
    simulation_catches(
        Bug::UnsyncedAck,
        &[LeaderCompleteness, CommittedEntryLost, StateMachineSafety],
        0..300,
    );
}

#[test]
fn simulation_catches_stale_vote_count() {
    // Rare at random (2 seeds in 0..1000, the first 394): see also scenarios.rs,
    // a_stale_vote_grant_elects_two_leaders_in_one_term.
    simulation_catches(Bug::StaleVoteCount, &[ElectionSafety], 300..500);
}

#[test]
fn simulation_catches_no_noop() {
    simulation_catches(Bug::NoNoop, &[StaleRead], 0..200);
}

#[test]
fn simulation_catches_follower_overcommit() {
    // The follower commits (and applies) a stale entry where another was committed.
    simulation_catches(
        Bug::FollowerOvercommit,
        &[StateMachineSafety, CommittedEntryLost],
        0..200,
    );
}

#[test]
fn simulation_catches_truncate_matching() {
    // An acknowledged entry the leader counted is dropped; once committed, it is lost.
    simulation_catches(
        Bug::TruncateMatching,
        &[LeaderCompleteness, CommittedEntryLost, StateMachineSafety],
        0..200,
    );
}

#[test]
fn simulation_catches_quorum_off_by_one() {
    // Commits on a minority: the next leader lacks them.
    simulation_catches(
        Bug::QuorumOffByOne,
        &[LeaderCompleteness, CommittedEntryLost, StateMachineSafety],
        0..200,
    );
}

#[test]
fn simulation_catches_vote_ignores_term() {
    // A longer stale log wins an election without the newer committed entries.
    simulation_catches(
        Bug::VoteIgnoresTerm,
        &[LeaderCompleteness, CommittedEntryLost, StateMachineSafety],
        0..300,
    );
}

#[test]
fn simulation_catches_term_stamp() {
    // 45 seeds in 0..1000 (the pause profile: writes wait in a paused leader's socket with the
    // new leader's heartbeat); see also scenarios.rs,
    // a_deposed_leader_stamping_the_new_term_breaks_log_matching.
    simulation_catches(Bug::TermStamp, &[LogMatching], 0..200);
}

#[test]
fn simulation_catches_lease_read() {
    // 14 seeds in 0..1000: a paused leader wakes up to reads that waited in its socket and
    // serves some before it reads the new leader's messages; see also scenarios.rs,
    // lease_read_after_a_pause_is_stale.
    simulation_catches(Bug::LeaseRead, &[StaleRead], 0..200);
}

// vote-not-durable: no seed in 0..4000 (a crashed voter must restart before a same-term
// request reaches it); its simulation test is the scenario
// scenarios.rs::a_forgotten_vote_elects_two_leaders_in_one_term.

/// Not a test: `RAFT_SIM_HUNT=NAME[,NAME] RAFT_SIM_SEEDS=a..b cargo test -p raft --test
/// simulation hunt -- --ignored --nocapture` prints, per bug, which seeds catch it and which
/// invariant each broke (to see how often random schedules expose a bug).
#[test]
#[ignore]
fn hunt() {
    let names = std::env::var("RAFT_SIM_HUNT").unwrap_or_default();
    for name in names.split(',').filter(|s| !s.is_empty()) {
        let bug = bugs::parse(name).unwrap();
        let mut found: HashMap<Invariant, Vec<u64>> = HashMap::new();
        let range = seeds(0..1000);
        for seed in range.clone() {
            if let Err(v) = run_seed(seed, FAULT_TICKS, Bugs::only(bug)) {
                found.entry(v.invariant).or_default().push(seed);
            }
        }
        let total: usize = found.values().map(Vec::len).sum();
        eprintln!("--bug {name}: {total} of {} seeds", range.end - range.start);
        for (inv, s) in &found {
            eprintln!(
                "  {inv:?}: {} seeds, first {:?}",
                s.len(),
                &s[..s.len().min(8)]
            );
        }
    }
}
