//! Targeted scenarios of the pure core on a tiny in-process network: pre-vote, check-quorum,
//! lease-based vote rejection, fast back-off, ReadIndex on a deposed leader, compaction and
//! InstallSnapshot; and, for the bugs that random simulation seeds rarely expose, the exposing
//! schedule of each bug's historical original (../../shared/research/bug-zoo.md), checked by
//! `raft::core::invariants::Checker` with the bug on (it must break the named invariant) and
//! off (the same schedule must pass).

use std::collections::{HashMap, HashSet};

use raft::bugs::{Bug, Bugs};
use raft::core::invariants::{Checker, Invariant, Violation};
use raft::core::{Body, Config, Entry, HardState, Index, Message, NodeId, Raft, ReadState, Role};

struct Net {
    nodes: Vec<Raft>,
    bugs: Bugs,
    max_entries: usize,
    /// Isolated nodes: nothing in or out.
    cut: HashSet<NodeId>,
    /// Cut links, one way: (from, to).
    blocked: HashSet<(NodeId, NodeId)>,
    /// Paused nodes (SIGSTOP): no ticks, no Ready handled, messages to them wait.
    paused: HashSet<NodeId>,
    /// Nodes whose clock stands still (no ticks) while they go on handling messages.
    frozen: HashSet<NodeId>,
    waiting: Vec<Message>,
    /// Messages the scenario holds back (for delays) until it delivers them itself.
    hold: Option<fn(&Message) -> bool>,
    held: Vec<Message>,
    /// What each node synced (term, vote; entries).
    durable: Vec<(HardState, Vec<Entry>)>,
    /// Each node's applied index and a digest of what it applied.
    apps: Vec<(Index, u64)>,
    checker: Checker,
    /// The first invariant broken, if any.
    violation: Option<Violation>,
    rejections: usize,
    reads: Vec<(NodeId, ReadState)>,
    failed_reads: usize,
    /// Reads asked through `read`: ctx -> what they must reflect; then served ones' contexts.
    reads_began: HashMap<u64, Index>,
    confirmed: Vec<(NodeId, Index, Index)>,
    served: Vec<u64>,
}

fn config(id: NodeId, n: u64) -> Config {
    Config {
        id,
        voters: (1..=n).collect(),
        election_ticks_min: 10,
        election_ticks_max: 20,
        heartbeat_ticks: 2,
        max_entries_per_msg: 4,
        max_inflight: 4,
        bugs: Bugs::NONE,
    }
}

impl Net {
    fn new(n: u64) -> Net {
        Net::with_bugs(n, Bugs::NONE)
    }

    fn with_bugs(n: u64, bugs: Bugs) -> Net {
        let states = vec![(HardState::default(), vec![]); n as usize];
        Net::from_states(bugs, 4, states)
    }

    /// Nodes restarted from the given synced states, sending at most `max_entries` per append.
    fn from_states(bugs: Bugs, max_entries: usize, states: Vec<(HardState, Vec<Entry>)>) -> Net {
        let n = states.len() as u64;
        let nodes = states
            .iter()
            .enumerate()
            .map(|(k, (hs, entries))| {
                let id = k as NodeId + 1;
                let mut cfg = config(id, n);
                cfg.bugs = bugs;
                cfg.max_entries_per_msg = max_entries;
                Raft::new(cfg, *hs, None, entries.clone(), id * 7919)
            })
            .collect();
        Net {
            nodes,
            bugs,
            max_entries,
            cut: HashSet::new(),
            blocked: HashSet::new(),
            paused: HashSet::new(),
            frozen: HashSet::new(),
            waiting: vec![],
            hold: None,
            held: vec![],
            durable: states,
            apps: vec![(0, 0); n as usize],
            checker: Checker::new(),
            violation: None,
            rejections: 0,
            reads: vec![],
            failed_reads: 0,
            reads_began: HashMap::new(),
            confirmed: vec![],
            served: vec![],
        }
    }

    fn node(&mut self, id: NodeId) -> &mut Raft {
        &mut self.nodes[(id - 1) as usize]
    }

    fn record(&mut self, r: Result<(), Violation>) {
        if let (Err(v), None) = (r, &self.violation) {
            self.violation = Some(v);
        }
    }

    fn observe(&mut self, id: NodeId) {
        let r = self.checker.observe(&self.nodes[(id - 1) as usize]);
        self.record(r);
    }

    /// Kill -9 and restart at once from what the node synced.
    fn crash(&mut self, id: NodeId) {
        let k = (id - 1) as usize;
        let (hs, entries) = self.durable[k].clone();
        let mut cfg = config(id, self.nodes.len() as u64);
        cfg.bugs = self.bugs;
        cfg.max_entries_per_msg = self.max_entries;
        self.nodes[k] = Raft::new(cfg, hs, None, entries, id * 104_729);
        self.apps[k] = (0, 0);
        self.confirmed.retain(|(n, _, _)| *n != id);
        self.checker.restarted(id, 0);
    }

    /// A read at `id` that must reflect every commit made so far.
    fn read(&mut self, id: NodeId, ctx: u64) {
        let began = self.checker.read_began();
        self.node(id).read_index(ctx).unwrap();
        self.reads_began.insert(ctx, began);
    }

    fn deliverable(&self, m: &Message) -> bool {
        !self.cut.contains(&m.from)
            && !self.cut.contains(&m.to)
            && !self.blocked.contains(&(m.from, m.to))
    }

    /// Hands `m` to its node now (held back while the node is paused).
    fn deliver(&mut self, m: Message) {
        if self.paused.contains(&m.to) {
            self.waiting.push(m);
            return;
        }
        if let Body::AppendResp { success: false, .. } = m.body {
            self.rejections += 1;
        }
        let to = m.to;
        self.node(to).step(m);
        self.observe(to);
    }

    /// Handles one node's Ready as the shell does: sync, send, apply, serve reads.
    fn handle_ready(&mut self, k: usize) -> Vec<Message> {
        let id = k as NodeId + 1;
        if self.paused.contains(&id) || !self.nodes[k].has_ready() {
            return vec![];
        }
        let rd = self.nodes[k].ready();
        let d = &mut self.durable[k];
        if let Some(hs) = rd.hard_state {
            d.0 = hs;
        }
        if let Some(first) = rd.entries.first() {
            d.1.retain(|e| e.index < first.index);
            d.1.extend(rd.entries.iter().cloned());
        }
        for e in &rd.committed {
            let (_, h) = self.apps[k];
            let h = h.rotate_left(5) ^ raft::core::invariants::data_hash(&e.data) ^ e.index;
            self.apps[k] = (e.index, h);
            let r = self.checker.applied(id, e.index, &e.data, h);
            self.record(r);
        }
        for x in &rd.reads {
            self.reads.push((id, *x));
            if let Some(began) = self.reads_began.remove(&x.ctx) {
                self.confirmed.push((id, x.index, began));
                self.served.push(x.ctx);
            }
        }
        let applied = self.apps[k].0;
        let mut results = vec![];
        self.confirmed.retain(|&(n, point, began)| {
            let due = n == id && point <= applied;
            if due {
                results.push(began);
            }
            !due
        });
        for began in results {
            let r = self.checker.read_served(began, applied);
            self.record(r);
        }
        self.failed_reads += rd.failed_reads.len();
        self.nodes[k].advance(&rd);
        self.observe(id);
        rd.messages
    }

    /// Runs ready/advance and delivers messages until nothing moves (or an invariant broke:
    /// a buggy cluster may then never settle).
    fn settle(&mut self) {
        for _ in 0..1000 {
            if self.violation.is_some() {
                return;
            }
            let mut msgs: Vec<Message> = Vec::new();
            for k in 0..self.nodes.len() {
                msgs.extend(self.handle_ready(k));
            }
            let busy = (0..self.nodes.len())
                .any(|k| !self.paused.contains(&(k as NodeId + 1)) && self.nodes[k].has_ready());
            if msgs.is_empty() && !busy {
                return;
            }
            for m in msgs {
                if !self.deliverable(&m) {
                    continue;
                }
                if self.hold.is_some_and(|h| h(&m)) {
                    self.held.push(m);
                    continue;
                }
                self.deliver(m);
            }
        }
        let st: Vec<_> = self.nodes.iter().map(|r| r.status()).collect();
        panic!("the network did not settle: {st:?}");
    }

    fn ticks(&mut self, n: usize) {
        for _ in 0..n {
            for k in 0..self.nodes.len() {
                let id = k as NodeId + 1;
                if !self.paused.contains(&id) && !self.frozen.contains(&id) {
                    self.nodes[k].tick();
                    self.observe(k as NodeId + 1);
                }
            }
            self.settle();
        }
    }

    /// Resumes a paused node: it reads what waited in its socket.
    fn resume(&mut self, id: NodeId) {
        self.paused.remove(&id);
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|m| m.to == id);
        self.waiting = rest;
        for m in mine {
            self.deliver(m);
        }
    }

    /// Delivers the held messages that `pick` chooses (in order; links cut since they were
    /// sent do not stop them), keeping the rest held.
    fn release(&mut self, pick: impl Fn(&Message) -> bool) {
        let (go, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|m| pick(m));
        self.held = keep;
        for m in go {
            self.deliver(m);
        }
    }

    fn leader(&self) -> Option<NodeId> {
        let ls: Vec<&Raft> = self
            .nodes
            .iter()
            .filter(|r| r.role() == Role::Leader)
            .collect();
        // The leader of the highest term, if any.
        ls.iter().max_by_key(|r| r.term()).map(|r| r.id())
    }

    fn elect(&mut self) -> NodeId {
        for _ in 0..200 {
            self.ticks(1);
            if let Some(l) = self.leader() {
                return l;
            }
        }
        panic!("no leader elected");
    }

    /// Ticks until `id` leads (others may be kept from campaigning by cutting them).
    fn elect_node(&mut self, id: NodeId) {
        for _ in 0..300 {
            if self.node(id).role() == Role::Leader {
                return;
            }
            self.ticks(1);
        }
        panic!("node {id} was not elected");
    }

    fn invariant(&self) -> Option<Invariant> {
        self.violation.as_ref().map(|v| v.invariant)
    }
}

/// Runs `schedule` on a cluster built by `build` with `bug` on, which must break `broken`,
/// and off, which must pass.
fn scenario(bug: Bug, broken: Invariant, build: impl Fn(Bugs) -> Net, schedule: impl Fn(&mut Net)) {
    let name = raft::bugs::name(bug);
    let mut with = build(Bugs::only(bug));
    schedule(&mut with);
    assert_eq!(
        with.invariant(),
        Some(broken),
        "--bug {name}: {:?}",
        with.violation
    );
    eprintln!("--bug {name}: {}", with.violation.unwrap());
    let mut without = build(Bugs::NONE);
    schedule(&mut without);
    assert_eq!(without.violation, None, "the correct build, same schedule");
}

fn others(n: u64, but: NodeId) -> Vec<NodeId> {
    (1..=n).filter(|&x| x != but).collect()
}

#[test]
fn pre_vote_keeps_a_rejoining_node_from_disrupting_the_leader() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let term = net.node(leader).term();
    let x = if leader == 1 { 2 } else { 1 };
    net.cut.insert(x);
    net.ticks(300);
    assert_eq!(
        net.node(x).term(),
        term,
        "an isolated node must not raise its term (pre-vote)"
    );
    net.cut.clear();
    net.ticks(50);
    assert_eq!(net.leader(), Some(leader));
    assert_eq!(net.node(leader).term(), term);
    assert_eq!(net.node(x).leader(), Some(leader));
}

#[test]
fn check_quorum_makes_an_isolated_leader_step_down() {
    let mut net = Net::new(5);
    let leader = net.elect();
    net.cut.insert(leader);
    net.ticks(45);
    assert_ne!(
        net.node(leader).role(),
        Role::Leader,
        "a leader without a quorum must step down"
    );
    // The majority elected another leader meanwhile.
    let l2 = net.leader().expect("the majority has a leader");
    assert_ne!(l2, leader);
}

#[test]
fn a_node_that_hears_from_its_leader_ignores_higher_term_campaigns() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let f = if leader == 1 { 2 } else { 1 };
    let c = 6 - leader - f;
    let term = net.node(f).term();
    let last_index = net.node(c).log().last_index() + 100;
    net.node(f).step(Message {
        from: c,
        to: f,
        term: term + 5,
        body: Body::Vote {
            last_index,
            last_term: term + 4,
        },
    });
    assert_eq!(net.node(f).term(), term, "the lease must shield the term");
    let rd = net.node(f).ready();
    assert!(
        !rd.messages
            .iter()
            .any(|m| matches!(m.body, Body::VoteResp { granted: true })),
        "no vote while the leader is alive"
    );
}

#[test]
fn a_lagging_follower_is_found_with_few_rejections_and_catches_up() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let f = if leader == 1 { 2 } else { 1 };
    net.cut.insert(f);
    for i in 0..200 {
        net.node(leader)
            .propose(format!("x{i}").into_bytes())
            .unwrap();
        net.settle();
    }
    net.rejections = 0;
    net.cut.clear();
    net.ticks(40);
    let last = net.node(leader).log().last_index();
    assert_eq!(net.node(f).log().last_index(), last);
    assert_eq!(net.node(f).log().commit, last);
    assert!(net.rejections <= 3, "{} rejections", net.rejections);
}

#[test]
fn a_deposed_leader_never_confirms_a_read() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.ticks(5);
    net.cut.insert(leader);
    net.node(leader).read_index(42).unwrap();
    net.ticks(60);
    assert!(
        !net.reads.iter().any(|(n, r)| *n == leader && r.ctx == 42),
        "an isolated leader confirmed a read"
    );
    assert_eq!(
        net.failed_reads, 1,
        "the read fails when the leader steps down"
    );
    // A healthy leader confirms reads.
    net.cut.clear();
    net.ticks(30);
    let l2 = net.leader().unwrap();
    net.node(l2).read_index(43).unwrap();
    net.ticks(5);
    assert!(net.reads.iter().any(|(n, r)| *n == l2 && r.ctx == 43));
}

#[test]
fn a_follower_behind_the_compacted_log_gets_the_snapshot() {
    let mut net = Net::new(3);
    let leader = net.elect();
    let f = if leader == 1 { 2 } else { 1 };
    net.cut.insert(f);
    for i in 0..50 {
        net.node(leader)
            .propose(format!("y{i}").into_bytes())
            .unwrap();
        net.settle();
    }
    let applied = net.node(leader).log().applied;
    net.node(leader).compact(applied, b"state".to_vec());
    assert_eq!(net.node(leader).log().snapshot_index(), applied);
    net.cut.clear();
    // Drive the follower by hand to see the snapshot arrive in its Ready.
    let mut installed = false;
    for _ in 0..40 {
        for r in net.nodes.iter_mut() {
            r.tick();
        }
        for _ in 0..50 {
            let mut msgs = Vec::new();
            for r in net.nodes.iter_mut() {
                if r.has_ready() {
                    let rd = r.ready();
                    if let (true, Some(s)) = (r.id() == f, &rd.snapshot) {
                        installed = true;
                        assert_eq!(s.data, b"state");
                    }
                    msgs.extend(rd.messages.iter().cloned());
                    r.advance(&rd);
                }
            }
            for m in msgs {
                let to = m.to;
                net.node(to).step(m);
            }
        }
    }
    assert!(installed, "the follower never received the snapshot");
    let (fc, lc) = (net.node(f).log().commit, net.node(leader).log().commit);
    assert_eq!(fc, lc, "the follower caught up after the snapshot");
}

#[test]
fn a_divergent_suffix_is_skipped_by_term_hints_and_overwritten() {
    use raft::core::Entry;
    let e = |index: u64, term: u64| Entry {
        term,
        index,
        data: format!("{index}@{term}").into_bytes(),
    };
    let good: Vec<Entry> = std::iter::once(e(1, 1))
        .chain((2..=50).map(|i| e(i, 3)))
        .collect();
    let stale: Vec<Entry> = std::iter::once(e(1, 1))
        .chain((2..=60).map(|i| e(i, 2)))
        .collect();
    let hs = HardState {
        term: 3,
        vote: None,
    };
    let mut net = Net::new(3);
    net.nodes = vec![
        Raft::new(config(1, 3), hs, None, good.clone(), 1),
        Raft::new(config(2, 3), hs, None, good, 2),
        Raft::new(config(3, 3), hs, None, stale, 3),
    ];
    let leader = net.elect();
    assert_ne!(leader, 3, "a stale log cannot win");
    net.ticks(20);
    let last = net.node(leader).log().last_index();
    let n3 = net.node(3).log().clone();
    assert_eq!(n3.last_index(), last);
    assert_eq!(n3.term(30), Some(3), "the stale suffix was overwritten");
    assert!(
        net.rejections <= 2,
        "{} rejections: the term hint should skip the whole stale term",
        net.rejections
    );
}

#[test]
fn a_vote_goes_out_only_in_the_ready_that_persists_it() {
    let mut r = Raft::new(config(1, 3), HardState::default(), None, vec![], 1);
    r.step(Message {
        from: 2,
        to: 1,
        term: 1,
        body: Body::Vote {
            last_index: 0,
            last_term: 0,
        },
    });
    let rd = r.ready();
    assert!(rd
        .messages
        .iter()
        .any(|m| matches!(m.body, Body::VoteResp { granted: true })));
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 1,
            vote: Some(2)
        }),
        "the vote must be persisted before the response is sent"
    );
    assert!(rd.must_sync());
}

#[test]
fn a_leader_counts_its_own_entries_only_once_persisted() {
    let mut cfg = config(1, 1);
    cfg.voters = vec![1];
    let mut r = Raft::new(cfg, HardState::default(), None, vec![], 1);
    for _ in 0..30 {
        r.tick();
        if r.role() == Role::Leader {
            break;
        }
    }
    assert_eq!(r.role(), Role::Leader);
    let rd = r.ready();
    assert_eq!(
        r.log().commit,
        0,
        "nothing commits before the no-op is persisted"
    );
    r.advance(&rd);
    assert_eq!(r.log().commit, 1);
    r.propose(b"x".to_vec()).unwrap();
    let rd = r.ready();
    assert_eq!(rd.entries.len(), 1);
    assert!(rd.committed.is_empty() || rd.committed.iter().all(|e| e.index < 2));
    assert_eq!(r.log().commit, 1);
    r.advance(&rd);
    assert_eq!(r.log().commit, 2);
    let rd = r.ready();
    assert_eq!(rd.committed.last().map(|e| e.index), Some(2));
}

#[test]
fn a_leader_pipelines_appends_to_a_follower_it_is_streaming_to() {
    let mut net = Net::new(3);
    let leader = net.elect();
    net.ticks(3);
    for i in 0..10 {
        net.node(leader)
            .propose(format!("p{i}").into_bytes())
            .unwrap();
    }
    let rd = net.node(leader).ready();
    let f = if leader == 1 { 2 } else { 1 };
    let appends: Vec<usize> = rd
        .messages
        .iter()
        .filter(|m| m.to == f)
        .filter_map(|m| match &m.body {
            Body::Append { entries, .. } => Some(entries.len()),
            _ => None,
        })
        .collect();
    // 10 entries, at most 4 per message, sent back to back without waiting for answers.
    assert_eq!(appends, vec![4, 4, 2], "{appends:?}");
}

// ----- the exposing schedules of the bugs that random seeds rarely hit -----

/// etcd#20418's family: a leader serves a read on its lease after a pause longer than an
/// election timeout; meanwhile the others elected a new leader and committed a write.
#[test]
fn lease_read_after_a_pause_is_stale() {
    scenario(
        Bug::LeaseRead,
        Invariant::StaleRead,
        |bugs| Net::with_bugs(5, bugs),
        |net| {
            let l = net.elect();
            net.ticks(3);
            net.read(l, 1);
            net.settle();
            net.paused.insert(l);
            net.ticks(60);
            let l2 = net.leader().filter(|&x| x != l).expect("a new leader");
            net.node(l2).propose(b"w".to_vec()).unwrap();
            net.ticks(3);
            // The old leader wakes up; a client's read reaches it before the peers' news.
            net.paused.remove(&l);
            net.read(l, 2);
            net.settle();
            net.resume(l);
            net.ticks(5);
        },
    );
}

/// hashicorp/raft#661, akka-raft#56: a voter crashes after voting and forgets its vote;
/// a second candidate's request of the same term, delayed, then wins it too.
#[test]
fn a_forgotten_vote_elects_two_leaders_in_one_term() {
    scenario(
        Bug::VoteNotDurable,
        Invariant::ElectionSafety,
        |bugs| Net::with_bugs(3, bugs),
        |net| {
            // Nodes 1 and 2 cannot reach each other; node 3's vote decides. Its vote requests
            // are held back until both 1 and 2 are candidates of term 1.
            net.blocked.extend([(1, 2), (2, 1)]);
            net.hold = Some(|m| matches!(m.body, Body::Vote { .. }) && m.to == 3);
            net.frozen.insert(3);
            for (x, y) in [(1, 2), (2, 1)] {
                // x's clock runs until it campaigns in term 1; y's stands still meanwhile.
                net.frozen.insert(y);
                net.frozen.remove(&x);
                for _ in 0..40 {
                    if net.node(x).role() == Role::Candidate {
                        break;
                    }
                    net.ticks(1);
                }
            }
            net.frozen.extend([1, 2]);
            let st: Vec<_> = net.nodes.iter().map(|r| r.status()).collect();
            assert!(
                (1..=2).all(|x| net.node(x).role() == Role::Candidate && net.node(x).term() == 1),
                "{st:?}"
            );
            // 3 votes for 1, which wins; 3 crashes before 1's first append reaches it.
            net.hold = Some(|m| m.to == 3 && (matches!(m.body, Body::Vote { .. }) || m.from == 1));
            net.release(|m| m.from == 1 && matches!(m.body, Body::Vote { .. }));
            net.settle();
            assert_eq!(net.node(1).role(), Role::Leader);
            net.crash(3);
            net.release(|m| m.from == 2);
            net.settle();
            net.hold = None;
            net.frozen.clear();
            net.ticks(5);
        },
    );
}

/// xraft#33: a candidate counts a vote granted in its previous term's campaign, so it leads a
/// term in which the other candidate also won a real majority.
#[test]
fn a_stale_vote_grant_elects_two_leaders_in_one_term() {
    scenario(
        Bug::StaleVoteCount,
        Invariant::ElectionSafety,
        |bugs| Net::with_bugs(3, bugs),
        |net| {
            // Node 1 campaigns in term 1 while 3 is unreachable; 2's grant is delayed.
            net.cut.insert(3);
            net.frozen.extend([2, 3]);
            net.hold = Some(|m| matches!(m.body, Body::VoteResp { .. }) && m.from == 2);
            for _ in 0..40 {
                if net.node(1).role() == Role::Candidate {
                    break;
                }
                net.ticks(1);
            }
            assert_eq!(
                (net.node(1).role(), net.node(1).term()),
                (Role::Candidate, 1)
            );
            // It campaigns again (term 2); its requests to 2 are now held as well.
            net.hold = Some(|m| {
                (matches!(m.body, Body::VoteResp { .. }) && m.from == 2)
                    || (m.from == 1 && m.to == 2 && !matches!(m.body, Body::PreVote { .. }))
            });
            for _ in 0..40 {
                if net.node(1).term() == 2 && net.node(1).role() == Role::Candidate {
                    break;
                }
                net.ticks(1);
            }
            assert_eq!(
                (net.node(1).role(), net.node(1).term()),
                (Role::Candidate, 2)
            );
            // The late grant of term 1 arrives.
            net.release(|m| matches!(m.body, Body::VoteResp { .. }));
            // Node 2 campaigns in term 2 and wins with 3, which 1 cannot reach.
            net.cut.clear();
            net.blocked.extend([(1, 3), (3, 1)]);
            net.frozen.clear();
            net.frozen.insert(1);
            for _ in 0..60 {
                if net.node(2).role() == Role::Leader || net.violation.is_some() {
                    break;
                }
                net.ticks(1);
            }
            assert_eq!(net.node(2).term(), 2, "node 2 campaigns in term 2");
        },
    );
}

/// The Raft paper's Figure 8 (logcabin#44): a leader of term 4 commits index 2 of term 2 by
/// counting replicas; it crashes before its own entry spreads, and the node holding index 2 of
/// term 3 wins term 5 without the committed entry.
#[test]
fn figure_8_a_leader_without_a_committed_entry_is_elected() {
    let e = |index: u64, term: u64| Entry {
        term,
        index,
        data: format!("{index}@{term}").into_bytes(),
    };
    let hs = |term: u64, vote: u64| HardState {
        term,
        vote: Some(vote),
    };
    scenario(
        Bug::NoFigure8,
        Invariant::LeaderCompleteness,
        |bugs| {
            Net::from_states(
                bugs,
                1,
                vec![
                    (hs(2, 1), vec![e(1, 1), e(2, 2)]),
                    (hs(2, 1), vec![e(1, 1), e(2, 2)]),
                    (hs(3, 5), vec![e(1, 1)]),
                    (hs(3, 5), vec![e(1, 1)]),
                    (hs(3, 5), vec![e(1, 1), e(2, 3)]),
                ],
            )
        },
        |net| {
            // (d) S1 wins term 4 with S2 and S3 and replicates index 2 to S3, but its own
            // entry (index 3) reaches only S2.
            net.cut.extend([4, 5]);
            net.frozen.extend([2, 3]);
            net.hold = Some(|m| {
                m.from == 1
                    && m.to == 3
                    && matches!(&m.body, Body::Append { entries, .. } if entries.iter().any(|e| e.index >= 3))
            });
            net.elect_node(1);
            assert_eq!(net.node(1).term(), 4);
            // Its first probe of S3 (prev 2, [3]) is rejected, S3 lacking index 2, which then
            // goes out alone and is stored; the append of index 3 stays held.
            net.release(|m| m.to == 3);
            net.ticks(2);
            assert_eq!(net.node(3).log().last_index(), 2);
            // (e) S1 crashes; S5 wins with S3 and S4.
            net.cut.clear();
            net.cut.insert(1);
            net.frozen.clear();
            net.frozen.insert(2);
            for _ in 0..200 {
                if net.node(5).role() == Role::Leader || net.violation.is_some() {
                    break;
                }
                net.ticks(1);
            }
            assert!(net.node(5).role() == Role::Leader || net.violation.is_some());
        },
    );
}

/// hashicorp/raft#695: a leader cut off by a partition hears the new leader's heartbeat and,
/// in the same batch, a client write, which it appends stamped with the new term.
#[test]
fn a_deposed_leader_stamping_the_new_term_breaks_log_matching() {
    scenario(
        Bug::TermStamp,
        Invariant::LogMatching,
        |bugs| Net::with_bugs(3, bugs),
        |net| {
            let l = net.elect();
            for x in [b"a", b"b"] {
                net.node(l).propose(x.to_vec()).unwrap();
            }
            net.ticks(3);
            for o in others(3, l) {
                net.blocked.extend([(l, o), (o, l)]);
            }
            net.frozen.insert(l);
            net.node(l).propose(b"y".to_vec()).unwrap();
            net.settle();
            let mut l2 = None;
            for _ in 0..100 {
                l2 = net.leader().filter(|&x| x != l);
                if l2.is_some() {
                    break;
                }
                net.ticks(1);
            }
            let l2 = l2.expect("a new leader");
            net.node(l2).propose(b"w".to_vec()).unwrap();
            net.ticks(2);
            // Heal; the old leader's batch holds the new leader's heartbeat, then a write.
            net.blocked.clear();
            net.hold = Some(|m| matches!(m.body, Body::Heartbeat { .. }));
            net.ticks(3);
            net.hold = None;
            net.release(|m| m.to == l);
            net.node(l).propose(b"x".to_vec()).unwrap();
            net.observe(l);
            net.frozen.clear();
            net.ticks(10);
        },
    );
}
