//! The cores' recovery rules, step by step: a coordinator that goes away after the votes leaves
//! its participants blocked (in doubt, keys locked, every other transaction on those keys
//! refused) until it returns; back, it finishes the commit its log holds, or answers abort for a
//! transaction its log does not show committed (presumed abort).

use super::*;
use crate::bugs::Bugs;
use serde_json::json;

fn coordinator(log: &[CoordRecord]) -> Coordinator {
    let mut d = CoordDurable::default();
    log.iter().for_each(|r| d.apply(r));
    let cfg = CoordConfig {
        id: 1,
        shards: vec![2, 3],
        vote_ticks: 20,
        resend_ticks: 5,
        request_ticks: 50,
        bugs: Bugs::NONE,
    };
    Coordinator::new(cfg, d, 7)
}

fn participant(id: NodeId, log: &[PartRecord]) -> Participant {
    let mut d = PartDurable::default();
    log.iter().for_each(|r| d.apply(r));
    let cfg = PartConfig {
        id,
        coordinator: 1,
        query_ticks: 5,
    };
    Participant::new(cfg, d)
}

/// Two keys on different shards, and the opening of both at 10.
fn keys() -> (String, String) {
    let a = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| shard_of(k, 2) == 0)
        .unwrap();
    let b = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| shard_of(k, 2) == 1)
        .unwrap();
    (a, b)
}

struct World {
    c: Coordinator,
    clog: Vec<CoordRecord>,
    p: BTreeMap<NodeId, (Participant, Vec<PartRecord>)>,
    replies: Vec<(ReqId, Outcome)>,
}

use std::collections::BTreeMap;

impl World {
    fn new() -> World {
        let mut w = World {
            c: coordinator(&[]),
            clog: Vec::new(),
            p: BTreeMap::new(),
            replies: Vec::new(),
        };
        for id in [2, 3] {
            w.p.insert(id, (participant(id, &[]), Vec::new()));
        }
        w
    }

    /// Runs every ready until quiet, delivering messages `deliver` lets through.
    fn settle(&mut self, deliver: impl Fn(&Message) -> bool) {
        loop {
            let mut msgs = Vec::new();
            let r = self.c.take_ready();
            self.clog.extend(r.records);
            self.replies.extend(r.replies);
            msgs.extend(r.messages);
            for (p, log) in self.p.values_mut() {
                let r = p.take_ready();
                log.extend(r.records);
                msgs.extend(r.messages);
            }
            if msgs.is_empty() {
                return;
            }
            for m in msgs.into_iter().filter(|m| deliver(m)) {
                match m.to {
                    1 => self.c.step(m),
                    id => self.p.get_mut(&id).unwrap().0.step(m),
                }
            }
        }
    }

    fn tick(&mut self, deliver: impl Fn(&Message) -> bool + Copy) {
        self.c.tick();
        for (p, _) in self.p.values_mut() {
            p.tick();
        }
        self.settle(deliver);
    }

    fn in_doubt(&self) -> Vec<usize> {
        self.p.values().map(|(p, _)| p.status().in_doubt).collect()
    }
}

fn all(_: &Message) -> bool {
    true
}

fn open_and_transfer(w: &mut World, a: &str, b: &str) {
    w.c.submit(
        1,
        vec![
            MicroOp::Init(a.into(), json!(10)),
            MicroOp::Init(b.into(), json!(10)),
        ],
    );
    w.settle(all);
    assert!(matches!(w.replies.last(), Some((1, Outcome::Committed(_)))));
    w.c.submit(
        2,
        vec![MicroOp::Add(a.into(), -4), MicroOp::Add(b.into(), 4)],
    );
}

#[test]
fn a_coordinator_down_after_its_commit_blocks_the_shards_until_it_finishes_it() {
    let (a, b) = keys();
    let mut w = World::new();
    open_and_transfer(&mut w, &a, &b);
    // The votes arrive and the commit is logged, then the coordinator dies before any
    // participant hears of it.
    w.settle(|m| !matches!(m.body, Body::Decision { .. }));
    assert!(matches!(w.replies.last(), Some((2, Outcome::Committed(_)))));
    assert_eq!(w.in_doubt(), vec![1, 1]);
    // Blocked: they ask, nobody answers, and another transaction on those keys is refused.
    for _ in 0..20 {
        w.tick(|m| m.to != 1 && m.from != 1);
    }
    assert_eq!(w.in_doubt(), vec![1, 1]);
    w.c = coordinator(&w.clog);
    w.c.submit(3, vec![MicroOp::R(a.clone())]);
    // (It retries on the conflict until the request's deadline.)
    let held = |m: &Message| !matches!(m.body, Body::Decision { commit: true, .. });
    for _ in 0..60 {
        w.tick(held);
    }
    assert_eq!(w.in_doubt(), vec![1, 1]);
    match w.replies.last() {
        Some((
            3,
            Outcome::Aborted {
                reason,
                rejected: false,
            },
        )) => {
            assert!(reason.contains("conflict"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Back for good: it resends the logged commit (and answers the queries) and the shards
    // apply it.
    for _ in 0..10 {
        w.tick(all);
    }
    assert_eq!(w.in_doubt(), vec![0, 0]);
    let (p2, p3) = (&w.p[&2].0, &w.p[&3].0);
    let balance = |p: &Participant, k: &str| p.store().get(k).cloned();
    assert_eq!(balance(p2, &a), Some(json!(6)));
    assert_eq!(balance(p3, &b), Some(json!(14)));
    assert_eq!(w.c.status().committing, 0, "every shard acknowledged");
}

#[test]
fn a_coordinator_that_never_decided_answers_abort_after_its_restart() {
    let (a, b) = keys();
    let mut w = World::new();
    open_and_transfer(&mut w, &a, &b);
    // The shards prepare and vote, but no vote reaches the coordinator before it dies.
    w.settle(|m| !matches!(m.body, Body::Vote { .. }));
    assert_eq!(w.in_doubt(), vec![1, 1]);
    // A restarted participant is still in doubt: its log holds the prepare.
    let log3 = w.p[&3].1.clone();
    w.p.insert(3, (participant(3, &log3), log3));
    assert_eq!(w.in_doubt(), vec![1, 1]);
    w.c = coordinator(&w.clog);
    assert_eq!(w.c.status().epoch, 2);
    for _ in 0..6 {
        w.tick(all);
    }
    assert_eq!(w.in_doubt(), vec![0, 0]);
    assert!(w.c.serving(), "every shard answers its pings");
    for _ in 0..40 {
        w.tick(|m| m.from != 3);
    }
    assert!(!w.c.serving(), "shard 3 has been silent");
    let (p2, p3) = (&w.p[&2].0, &w.p[&3].0);
    assert_eq!(p2.store().get(&a), Some(&json!(10)));
    assert_eq!(p3.store().get(&b), Some(&json!(10)));
    assert_eq!(p2.status().locked_keys + p3.status().locked_keys, 0);
}
