//! Deterministic simulation of the Multi-Paxos core: three or five nodes (by the seed) on a simulated network that
//! loses, duplicates, delays and reorders messages; partitions; crashes that keep exactly what
//! the node made durable, and restarts from it; clients writing and reading one register
//! through the leaders. Each seed's run is checked for agreement (no two nodes ever apply
//! different values in one slot), for linearizability of the clients' history (a brute-force
//! search, Wing & Gong, over the small history) and, once faults stop, for progress (a last
//! write is chosen everywhere).
//!
//! Each bug of `paxos-node --list-bugs` has a test that switches it on and finds a seed on
//! which the simulation breaks; the same seeds with no bug are the control, which must pass.
//! The fault and client schedule comes from a random stream of its own, so it is the same with
//! the bug on and off; only the network's draws follow the messages the nodes send.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use paxos::bugs::{Bug, Bugs};
use paxos::core::{Config, Durable, Message, NodeId, Paxos, Role, Slot, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Simulated time units per core tick.
const TICK: u64 = 10;
const FAULT_PHASE: u64 = 30_000;
const END: u64 = 45_000;
/// A client request not answered within this long is indefinite.
const TIMEOUT: u64 = 800;
const MAX_OPS: usize = 60;

/// One client operation on the register.
#[derive(Clone, Debug)]
struct Op {
    invoke: u64,
    /// `None`: indefinite (it may or may not have taken effect).
    complete: Option<u64>,
    /// A write of this value, or a read (`None`).
    write: Option<u64>,
    /// A completed read's result.
    read: Option<Option<u64>>,
}

struct SimNode {
    core: Option<Paxos>,
    durable: Durable,
    incarnation: u64,
    /// The register as this node's applied log has it.
    register: Option<u64>,
    paused: bool,
}

struct InFlight {
    at: u64,
    seq: u64,
    msg: Message,
}

struct Sim {
    n: u64,
    bugs: Bugs,
    nodes: BTreeMap<NodeId, SimNode>,
    net: Vec<InFlight>,
    net_seq: u64,
    cut: BTreeSet<(NodeId, NodeId)>,
    net_rng: ChaCha8Rng,
    /// The first value any node applied in each slot.
    log: BTreeMap<Slot, Value>,
    ops: Vec<Op>,
    /// Open requests: op index → (node, incarnation, invoke time).
    pending: BTreeMap<usize, (NodeId, u64, u64)>,
    violation: Option<String>,
    now: u64,
}

fn config(id: NodeId, n: u64, bugs: Bugs) -> Config {
    Config {
        id,
        members: (1..=n).collect(),
        election_ticks_min: 15,
        election_ticks_max: 30,
        heartbeat_ticks: 5,
        bugs,
    }
}

/// A command: the op's index and, for a write, its value.
fn encode(op: usize, write: Option<u64>) -> Vec<u8> {
    let mut v = (op as u64).to_le_bytes().to_vec();
    if let Some(w) = write {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v
}

fn decode(d: &[u8]) -> (usize, Option<u64>) {
    let op = u64::from_le_bytes(d[..8].try_into().unwrap()) as usize;
    let w = (d.len() == 16).then(|| u64::from_le_bytes(d[8..16].try_into().unwrap()));
    (op, w)
}

impl Sim {
    fn new(seed: u64, n: u64, bugs: Bugs) -> Sim {
        let nodes = (1..=n)
            .map(|id| {
                let core = Paxos::new(config(id, n, bugs), Durable::default(), seed * 31 + id);
                (
                    id,
                    SimNode {
                        core: Some(core),
                        durable: Durable::default(),
                        incarnation: 0,
                        register: None,
                        paused: false,
                    },
                )
            })
            .collect();
        Sim {
            n,
            bugs,
            nodes,
            net: Vec::new(),
            net_seq: 0,
            cut: BTreeSet::new(),
            net_rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
            log: BTreeMap::new(),
            ops: Vec::new(),
            pending: BTreeMap::new(),
            violation: None,
            now: 0,
        }
    }

    fn fail(&mut self, v: String) {
        if self.violation.is_none() {
            self.violation = Some(v);
        }
    }

    /// Carries out node `id`'s effects as the shell does: persist, send, apply.
    fn drain(&mut self, id: NodeId) {
        loop {
            let n = self.nodes.get_mut(&id).unwrap();
            let Some(core) = n.core.as_mut() else { return };
            if !core.has_ready() {
                return;
            }
            let ready = core.take_ready();
            for r in &ready.records {
                n.durable.apply(r);
            }
            let inc = n.incarnation;
            for m in ready.messages {
                self.transmit(m);
            }
            for (slot, value) in ready.apply {
                self.apply(id, inc, slot, value);
            }
            if ready.stepped_down {
                self.pending.retain(|_, (node, _, _)| *node != id);
            }
        }
    }

    fn transmit(&mut self, m: Message) {
        if self.cut.contains(&(m.from, m.to)) || self.net_rng.gen_bool(0.05) {
            return;
        }
        let copies = if self.net_rng.gen_bool(0.02) { 2 } else { 1 };
        for _ in 0..copies {
            let at = self.now + self.net_rng.gen_range(1..40);
            self.net_seq += 1;
            self.net.push(InFlight {
                at,
                seq: self.net_seq,
                msg: m.clone(),
            });
        }
    }

    fn apply(&mut self, id: NodeId, inc: u64, slot: Slot, value: Value) {
        match self.log.get(&slot) {
            Some(v) if *v != value => {
                let msg = format!(
                    "agreement: n{id} applied {value:?} in slot {slot}, another node {v:?}"
                );
                self.fail(msg);
            }
            Some(_) => {}
            None => {
                self.log.insert(slot, value.clone());
            }
        }
        let Value::Cmd(d) = value else { return };
        if d.len() < 8 {
            return; // background load, outside the checked history
        }
        let (op, write) = decode(&d);
        let n = self.nodes.get_mut(&id).unwrap();
        let before = n.register;
        if let Some(w) = write {
            n.register = Some(w);
        }
        if self
            .pending
            .get(&op)
            .is_some_and(|(node, i, _)| *node == id && *i == inc)
        {
            self.pending.remove(&op);
            let o = &mut self.ops[op];
            o.complete = Some(self.now);
            if o.write.is_none() {
                o.read = Some(before);
            }
        }
    }

    fn deliver_due(&mut self) {
        let now = self.now;
        let mut due: Vec<InFlight> = Vec::new();
        let mut i = 0;
        while i < self.net.len() {
            if self.net[i].at <= now {
                due.push(self.net.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|f| (f.at, f.seq));
        for f in due {
            let to = f.msg.to;
            let n = self.nodes.get_mut(&to).unwrap();
            if n.paused {
                // A paused process reads its socket later.
                self.net.push(InFlight { at: now + 1, ..f });
                continue;
            }
            if let Some(core) = n.core.as_mut() {
                core.step(f.msg);
                self.drain(to);
            }
        }
    }

    fn crash(&mut self, id: NodeId) {
        let n = self.nodes.get_mut(&id).unwrap();
        n.core = None;
        n.paused = false;
        self.pending.retain(|_, (node, _, _)| *node != id);
    }

    fn restart(&mut self, id: NodeId, seed: u64) {
        let (bugs, size) = (self.bugs, self.n);
        let n = self.nodes.get_mut(&id).unwrap();
        if n.core.is_some() {
            return;
        }
        n.incarnation += 1;
        n.register = None;
        n.core = Some(Paxos::new(config(id, size, bugs), n.durable.clone(), seed));
        self.drain(id);
    }

    fn client_op(&mut self, node: NodeId, write: bool) {
        let idx = self.ops.len();
        let n = self.nodes.get_mut(&node).unwrap();
        let Some(core) = n.core.as_mut().filter(|_| !n.paused) else {
            return;
        };
        let w = write.then_some(idx as u64 + 1);
        if core.propose(encode(idx, w)).is_err() {
            return; // refused: definitely not proposed, not part of the history
        }
        let inc = n.incarnation;
        self.ops.push(Op {
            invoke: self.now,
            complete: None,
            write: w,
            read: None,
        });
        self.pending.insert(idx, (node, inc, self.now));
        self.drain(node);
    }

    fn leader(&self) -> Option<NodeId> {
        self.nodes.iter().find_map(|(id, n)| {
            let c = n.core.as_ref()?;
            (c.status().role == Role::Leader && !n.paused).then_some(*id)
        })
    }
}

/// Runs one seed; `Ok` has the number of completed client ops and of chosen slots, `Err`
/// names the first violation.
fn run(seed: u64, bugs: Bugs) -> Result<(usize, usize), String> {
    let nodes = 3 + 2 * (seed % 2);
    let mut sim = Sim::new(seed, nodes, bugs);
    let mut sched = ChaCha8Rng::seed_from_u64(seed);
    let mut next_fault = 1_000;
    let mut next_bounce = 1_000;
    while sim.now < END {
        sim.now += 1;
        let now = sim.now;
        if now.is_multiple_of(TICK) {
            let ids: Vec<NodeId> = sim.nodes.keys().copied().collect();
            for id in ids {
                let n = sim.nodes.get_mut(&id).unwrap();
                if n.paused {
                    continue;
                }
                if let Some(c) = n.core.as_mut() {
                    c.tick();
                    sim.drain(id);
                }
            }
            sim.pending
                .retain(|_, (_, _, invoked)| now.saturating_sub(*invoked) < TIMEOUT);
        }
        sim.deliver_due();
        if now < FAULT_PHASE && now >= next_fault {
            next_fault = now + sched.gen_range(200..1_000);
            match sched.gen_range(0..12) {
                0..=2 => {
                    // A random partition into two sides.
                    sim.cut.clear();
                    let side: Vec<bool> = (0..nodes).map(|_| sched.gen_bool(0.5)).collect();
                    for a in 1..=nodes {
                        for b in 1..=nodes {
                            if side[(a - 1) as usize] != side[(b - 1) as usize] {
                                sim.cut.insert((a, b));
                            }
                        }
                    }
                }
                3 => {
                    // Isolate the leader.
                    sim.cut.clear();
                    if let Some(l) = sim.leader() {
                        for b in 1..=nodes {
                            if b != l {
                                sim.cut.insert((l, b));
                                sim.cut.insert((b, l));
                            }
                        }
                    }
                }
                4 => sim.cut.clear(),
                5 | 6 => {
                    let id = if sched.gen_bool(0.5) {
                        sim.leader().unwrap_or(1)
                    } else {
                        sched.gen_range(1..=nodes)
                    };
                    sim.crash(id);
                }
                7 => {
                    let id = sched.gen_range(1..=nodes);
                    let s = sched.gen();
                    sim.restart(id, s);
                }
                8 => {
                    let id = sched.gen_range(1..=nodes);
                    let n = sim.nodes.get_mut(&id).unwrap();
                    n.paused = !n.paused;
                }
                10 | 11 => {
                    // kill -9 and an immediate restart, of a node other than the leader.
                    let id = sched.gen_range(1..=nodes);
                    let s = sched.gen();
                    if sim.leader() != Some(id) {
                        sim.crash(id);
                        sim.restart(id, s);
                    }
                }
                _ => {
                    for id in 1..=nodes {
                        let s = sched.gen();
                        sim.restart(id, s);
                    }
                }
            }
            // Never more than a minority down: a majority can always make progress after a heal.
            let down: Vec<NodeId> = sim
                .nodes
                .iter()
                .filter(|(_, n)| n.core.is_none())
                .map(|(i, _)| *i)
                .collect();
            for id in down.into_iter().skip(((nodes - 1) / 2) as usize) {
                let s = sched.gen();
                sim.restart(id, s);
            }
        }
        if now < FAULT_PHASE && now >= next_bounce {
            // Frequent kill -9 with an immediate restart (what the kill nemesis does).
            next_bounce = now + sched.gen_range(50..400);
            let id = sched.gen_range(1..=nodes);
            let s = sched.gen();
            if sim.nodes[&id].core.is_some() {
                sim.crash(id);
                sim.restart(id, s);
            }
        }
        if now == FAULT_PHASE {
            sim.cut.clear();
            for id in 1..=nodes {
                sim.nodes.get_mut(&id).unwrap().paused = false;
                let s = sched.gen();
                sim.restart(id, s);
            }
        }
        if now < FAULT_PHASE
            && now.is_multiple_of(97)
            && sim.ops.len() < MAX_OPS
            && sim.pending.len() < 3
        {
            let node = sched.gen_range(1..=nodes);
            let write = sched.gen_bool(0.5);
            // Clients find the leader half the time (as a client following leader hints does).
            let target = if sched.gen_bool(0.5) {
                sim.leader().unwrap_or(node)
            } else {
                node
            };
            sim.client_op(target, write);
        }
        if now < FAULT_PHASE && now.is_multiple_of(23) {
            // Background load on another key: keeps slots in flight through every fault.
            let node = sched.gen_range(1..=nodes);
            if let Some(c) = sim.nodes.get_mut(&node).unwrap().core.as_mut() {
                if c.propose(vec![0]).is_ok() {
                    sim.drain(node);
                }
            }
        }
        if let Some(v) = sim.violation.take() {
            return Err(format!("seed {seed}: {v}"));
        }
    }
    // Progress: after the heal, a last write is chosen and applied everywhere.
    let idx = sim.ops.len();
    let mut proposed = false;
    for _ in 0..10_000 {
        sim.now += 1;
        if sim.now.is_multiple_of(TICK) {
            for id in 1..=nodes {
                if let Some(c) = sim.nodes.get_mut(&id).unwrap().core.as_mut() {
                    c.tick();
                }
                sim.drain(id);
            }
            if !proposed {
                if let Some(l) = sim.leader() {
                    sim.client_op(l, true);
                    proposed = sim.ops.len() > idx;
                }
            }
        }
        sim.deliver_due();
    }
    if let Some(v) = sim.violation.take() {
        return Err(format!("seed {seed}: {v}"));
    }
    let everywhere = sim
        .nodes
        .values()
        .all(|n| n.register == Some(idx as u64 + 1));
    // (Its proposer may have been deposed meanwhile and a successor chosen it: no answer then.)
    if !proposed || !everywhere {
        let views: Vec<String> = sim
            .nodes
            .iter()
            .map(|(id, n)| {
                format!(
                    "n{id}: {:?} register {:?}",
                    n.core.as_ref().map(|c| c.status()),
                    n.register
                )
            })
            .collect();
        return Err(format!(
            "seed {seed}: the last write after the heal was not applied everywhere ({} proposed: {proposed}; {} slots chosen; {})",
            idx + 1,
            sim.log.len(),
            views.join("; ")
        ));
    }
    sim.ops.pop();
    linearizable(&sim.ops).map_err(|e| format!("seed {seed}: {e}"))?;
    let completed = sim.ops.iter().filter(|o| o.complete.is_some()).count();
    Ok((completed, sim.log.len()))
}

/// Wing & Gong's search: some order of the ops, consistent with real time, in which every
/// completed read returns the last write before it. Indefinite writes may be left out;
/// indefinite reads say nothing.
fn linearizable(ops: &[Op]) -> Result<(), String> {
    let ops: Vec<&Op> = ops
        .iter()
        .filter(|o| o.write.is_some() || o.complete.is_some())
        .collect();
    assert!(ops.len() <= 64);
    let all_done: u64 = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.complete.is_some())
        .fold(0, |m, (i, _)| m | 1 << i);
    let mut seen = HashSet::new();
    fn search(
        ops: &[&Op],
        done: u64,
        value: Option<u64>,
        all: u64,
        seen: &mut HashSet<(u64, Option<u64>)>,
    ) -> bool {
        if done & all == all {
            return true;
        }
        if !seen.insert((done, value)) {
            return false;
        }
        // The earliest completion among the ops not yet placed bounds what may come next.
        let horizon = ops
            .iter()
            .enumerate()
            .filter(|(i, _)| done & (1 << i) == 0)
            .filter_map(|(_, o)| o.complete)
            .min()
            .unwrap_or(u64::MAX);
        for (i, o) in ops.iter().enumerate() {
            if done & (1 << i) != 0 || o.invoke > horizon {
                continue;
            }
            let next = match (o.write, o.read) {
                (Some(w), _) => Some(w),
                (None, Some(r)) if r == value => value,
                _ => continue,
            };
            if search(ops, done | 1 << i, next, all, seen) {
                return true;
            }
        }
        false
    }
    if search(&ops, 0, None, all_done, &mut seen) {
        Ok(())
    } else {
        Err(format!(
            "linearizability: no legal order of {} register ops",
            ops.len()
        ))
    }
}

const SEEDS: u64 = 60;

/// How many of `n` seeds catch each bug (run with `--ignored --nocapture` to measure).
#[test]
#[ignore]
fn measure_detection() {
    let n = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for (name, bug, _) in paxos::bugs::ALL {
        let hits = (0..n)
            .filter(|s| run(*s, Bugs::only(*bug)).is_err())
            .count();
        eprintln!("{name}: caught on {hits} of {n} seeds");
    }
}

#[test]
fn the_correct_build_keeps_agreement_linearizability_and_progress_on_every_seed() {
    let (mut ops, mut slots) = (0, 0);
    for seed in 0..SEEDS {
        let (o, s) = run(seed, Bugs::NONE).unwrap_or_else(|e| panic!("{e}"));
        ops += o;
        slots += s;
    }
    eprintln!("{SEEDS} seeds: {ops} client ops completed, {slots} slots chosen");
    // Not a vacuous pass: the faults leave the clients most of their operations.
    assert!(ops > SEEDS as usize * MAX_OPS / 2, "{ops} ops completed");
}

/// The first seed on which `bug` breaks the run, checking the same seeds without it pass.
fn caught(bug: Bug) -> String {
    for seed in 0..SEEDS {
        if let Err(e) = run(seed, Bugs::only(bug)) {
            run(seed, Bugs::NONE).unwrap_or_else(|c| panic!("control failed too: {c}"));
            eprintln!("{bug:?} caught: {e}");
            return e;
        }
    }
    panic!("{bug:?} went unnoticed in {SEEDS} seeds");
}

#[test]
fn bug_accept_lower_ballot_is_caught() {
    caught(Bug::AcceptLowerBallot);
}

#[test]
fn bug_promise_not_durable_is_caught() {
    caught(Bug::PromiseNotDurable);
}

#[test]
fn bug_ignore_accepted_is_caught() {
    caught(Bug::IgnoreAccepted);
}

/// The brute-force checker itself tells a stale read from a legal one.
#[test]
fn the_register_search_rejects_a_stale_read_and_accepts_concurrency() {
    let w = |invoke, complete, v| Op {
        invoke,
        complete,
        write: Some(v),
        read: None,
    };
    let r = |invoke, complete, v: Option<u64>| Op {
        invoke,
        complete: Some(complete),
        write: None,
        read: Some(v),
    };
    assert!(linearizable(&[w(0, Some(1), 1), w(2, Some(3), 2), r(4, 5, Some(1))]).is_err());
    assert!(linearizable(&[w(0, Some(1), 1), w(2, Some(6), 2), r(4, 5, Some(1))]).is_ok());
    assert!(linearizable(&[w(0, None, 1), r(4, 5, None), r(6, 7, Some(1))]).is_ok());
    assert!(linearizable(&[w(0, None, 1), r(4, 5, Some(1)), r(6, 7, None)]).is_err());
}
