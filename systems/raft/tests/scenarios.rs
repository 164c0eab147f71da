//! Targeted scenarios of the pure core on a tiny in-process network: pre-vote, check-quorum,
//! lease-based vote rejection, fast back-off, ReadIndex on a deposed leader, compaction and
//! InstallSnapshot.

use std::collections::HashSet;

use raft::core::{Body, Config, HardState, Message, NodeId, Raft, ReadState, Role};

struct Net {
    nodes: Vec<Raft>,
    cut: HashSet<NodeId>,
    rejections: usize,
    reads: Vec<(NodeId, ReadState)>,
    failed_reads: usize,
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
        bug_no_figure8: false,
    }
}

impl Net {
    fn new(n: u64) -> Net {
        let nodes = (1..=n)
            .map(|id| Raft::new(config(id, n), HardState::default(), None, vec![], id * 7919))
            .collect();
        Net {
            nodes,
            cut: HashSet::new(),
            rejections: 0,
            reads: vec![],
            failed_reads: 0,
        }
    }

    fn node(&mut self, id: NodeId) -> &mut Raft {
        &mut self.nodes[(id - 1) as usize]
    }

    /// Runs ready/advance and delivers messages until nothing moves.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut msgs: Vec<Message> = Vec::new();
            for r in self.nodes.iter_mut() {
                if r.has_ready() {
                    let rd = r.ready();
                    msgs.extend(rd.messages.iter().cloned());
                    for x in &rd.reads {
                        self.reads.push((r.id(), *x));
                    }
                    self.failed_reads += rd.failed_reads.len();
                    r.advance(&rd);
                }
            }
            if msgs.is_empty() && !self.nodes.iter().any(|r| r.has_ready()) {
                return;
            }
            for m in msgs {
                if self.cut.contains(&m.from) || self.cut.contains(&m.to) {
                    continue;
                }
                if let Body::AppendResp { success: false, .. } = m.body {
                    self.rejections += 1;
                }
                let to = m.to;
                self.node(to).step(m);
            }
        }
        panic!("the network did not settle");
    }

    fn ticks(&mut self, n: usize) {
        for _ in 0..n {
            for r in self.nodes.iter_mut() {
                r.tick();
            }
            self.settle();
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
