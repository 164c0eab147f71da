//! Single protocol steps of the pure peer, driven by hand.

use zab::bug::BugSet;
use zab::{
    Config, Durable, Effect, Entry, Input, LeadPacket, LearnPacket, Message, Notification, Peer,
    ServerState, StartError, Txn, Vote, Zxid,
};

fn cfg(id: u64) -> Config {
    Config {
        id,
        voters: vec![1, 2, 3],
        election_resend: 3,
        init_limit: 10,
        sync_limit: 5,
        committed_log_max: 100,
        bugs: BugSet::new(),
    }
}

fn entry(e: u32, c: u32) -> Entry {
    Entry {
        zxid: Zxid::new(e, c),
        txn: Txn::Sync,
        origin: None,
        rid: None,
    }
}

/// A peer (id 2) made to follow server 1 through the join-an-established-leader path; returns
/// it and its learner session.
fn follower_of_1(durable: Durable) -> (Peer, u64) {
    let mut p = Peer::new(cfg(2), durable, 7).unwrap();
    p.take_effects();
    let vote = Vote {
        leader: 1,
        zxid: Zxid::ZERO,
        epoch: 5,
    };
    for (from, state) in [(3, ServerState::Following), (1, ServerState::Leading)] {
        p.step(Input::Message {
            from,
            msg: Message::Notification(Notification {
                state,
                vote,
                round: 9,
            }),
        });
    }
    assert_eq!(p.state(), ServerState::Following);
    let session = p
        .take_effects()
        .into_iter()
        .find_map(|e| match e {
            Effect::Send {
                to: 1,
                msg:
                    Message::Learn {
                        session,
                        packet: LearnPacket::FollowerInfo { .. },
                    },
                ..
            } => Some(session),
            _ => None,
        })
        .expect("FOLLOWERINFO sent to the leader");
    (p, session)
}

fn lead(p: &mut Peer, session: u64, seq: u64, packet: LeadPacket) -> Vec<Effect> {
    p.step(Input::Message {
        from: 1,
        msg: Message::Lead {
            session,
            seq,
            packet,
        },
    });
    p.take_effects()
}

fn ack_epoch(effects: &[Effect]) -> Option<(u32, Zxid, bool)> {
    effects.iter().find_map(|e| match e {
        Effect::Send {
            msg:
                Message::Learn {
                    packet:
                        LearnPacket::AckEpoch {
                            current_epoch,
                            last_zxid,
                            counts,
                        },
                    ..
                },
            ..
        } => Some((*current_epoch, *last_zxid, *counts)),
        _ => None,
    })
}

#[test]
fn follower_rejects_a_leader_below_its_accepted_epoch() {
    let (mut p, s) = follower_of_1(Durable {
        accepted_epoch: 6,
        current_epoch: 4,
        ..Durable::default()
    });
    let fx = lead(&mut p, s, 0, LeadPacket::LeaderInfo { epoch: 5 });
    assert_eq!(p.state(), ServerState::Looking);
    assert!(ack_epoch(&fx).is_none());
}

#[test]
fn new_epoch_is_persisted_before_a_counting_ackepoch_and_a_known_one_does_not_count() {
    let (mut p, s) = follower_of_1(Durable {
        accepted_epoch: 4,
        current_epoch: 4,
        log: vec![entry(4, 1)],
        ..Durable::default()
    });
    let fx = lead(&mut p, s, 0, LeadPacket::LeaderInfo { epoch: 7 });
    let persist = fx
        .iter()
        .position(|e| *e == Effect::PersistAcceptedEpoch(7));
    let ack = fx.iter().position(|e| matches!(e, Effect::Send { .. }));
    assert!(persist.unwrap() < ack.unwrap(), "{fx:?}");
    assert_eq!(ack_epoch(&fx), Some((4, Zxid::new(4, 1), true)));
    // After a restart with acceptedEpoch 7, the same epoch is acknowledged without counting.
    let (mut p, s) = follower_of_1(Durable {
        accepted_epoch: 7,
        current_epoch: 4,
        log: vec![entry(4, 1)],
        ..Durable::default()
    });
    let fx = lead(&mut p, s, 0, LeadPacket::LeaderInfo { epoch: 7 });
    assert_eq!(ack_epoch(&fx), Some((4, Zxid::new(4, 1), false)));
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::PersistAcceptedEpoch(_))));
}

#[test]
fn newleader_is_acknowledged_only_after_history_and_epoch_are_durable() {
    let (mut p, s) = follower_of_1(Durable::default());
    lead(&mut p, s, 0, LeadPacket::LeaderInfo { epoch: 3 });
    lead(&mut p, s, 1, LeadPacket::Diff);
    lead(&mut p, s, 2, LeadPacket::Proposal { entry: entry(2, 1) });
    lead(&mut p, s, 3, LeadPacket::Proposal { entry: entry(2, 2) });
    lead(
        &mut p,
        s,
        4,
        LeadPacket::Commit {
            zxid: Zxid::new(2, 1),
        },
    );
    let fx = lead(
        &mut p,
        s,
        5,
        LeadPacket::NewLeader {
            zxid: Zxid::new(3, 0),
        },
    );
    let pos = |f: &dyn Fn(&Effect) -> bool| fx.iter().position(f).unwrap();
    let marker = pos(&|e| *e == Effect::PersistUpdatingEpoch(Some(3)));
    let append = pos(&|e| *e == Effect::Append(vec![entry(2, 1), entry(2, 2)]));
    let current = pos(&|e| *e == Effect::PersistCurrentEpoch(3));
    let unmark = pos(&|e| *e == Effect::PersistUpdatingEpoch(None));
    let ack = pos(&|e| {
        matches!(
            e,
            Effect::Send {
                msg: Message::Learn {
                    packet: LearnPacket::AckNewLeader { .. },
                    ..
                },
                ..
            }
        )
    });
    assert!(
        marker < append && append < current && current < unmark && unmark < ack,
        "{fx:?}"
    );
    // The barriers: the history is durable before currentEpoch is written, and the ACK waits
    // for both.
    assert!(
        fx[append..current].contains(&Effect::Sync),
        "no barrier between the history and currentEpoch: {fx:?}"
    );
    assert!(
        matches!(
            fx[ack],
            Effect::Send {
                after: zab::After::Durable,
                ..
            }
        ),
        "{fx:?}"
    );
    // Only the committed prefix is applied; not serving before UPTODATE.
    assert_eq!(p.committed(), Zxid::new(2, 1));
    assert!(!p.serving());
    lead(
        &mut p,
        s,
        6,
        LeadPacket::UpToDate {
            commit: Zxid::new(2, 2),
        },
    );
    assert!(p.serving());
    assert_eq!(p.committed(), Zxid::new(2, 2));
    assert_eq!(p.current_epoch(), 3);
    assert_eq!(p.last_sync().map(|m| m.name()), Some("diff"));
}

#[test]
fn a_gap_in_the_leaders_stream_sends_the_follower_back_to_looking() {
    let (mut p, s) = follower_of_1(Durable::default());
    lead(&mut p, s, 0, LeadPacket::LeaderInfo { epoch: 1 });
    lead(&mut p, s, 2, LeadPacket::Diff);
    assert_eq!(p.state(), ServerState::Looking);
}

#[test]
fn trunc_rolls_back_an_uncommitted_tail_durably() {
    let (mut p, s) = follower_of_1(Durable {
        accepted_epoch: 2,
        current_epoch: 2,
        log: vec![entry(2, 1), entry(2, 2), entry(2, 3)],
        ..Durable::default()
    });
    lead(&mut p, s, 0, LeadPacket::LeaderInfo { epoch: 3 });
    let fx = lead(
        &mut p,
        s,
        1,
        LeadPacket::Trunc {
            zxid: Zxid::new(2, 1),
        },
    );
    assert!(fx.contains(&Effect::Truncate(Zxid::new(2, 1))), "{fx:?}");
    assert_eq!(p.last_zxid(), Zxid::new(2, 1));
    lead(&mut p, s, 2, LeadPacket::Proposal { entry: entry(3, 1) });
    lead(
        &mut p,
        s,
        3,
        LeadPacket::NewLeader {
            zxid: Zxid::new(3, 0),
        },
    );
    assert_eq!(p.last_sync().map(|m| m.name()), Some("trunc+diff"));
}

#[test]
fn leader_gives_up_when_a_counting_follower_is_ahead() {
    // Server 1 leads: elected by server 2's vote.
    let mut l = Peer::new(
        cfg(1),
        Durable {
            accepted_epoch: 1,
            current_epoch: 1,
            log: vec![entry(1, 1)],
            ..Durable::default()
        },
        3,
    )
    .unwrap();
    l.take_effects();
    let vote = Vote {
        leader: 1,
        zxid: Zxid::new(1, 1),
        epoch: 1,
    };
    let round = 1;
    l.step(Input::Message {
        from: 2,
        msg: Message::Notification(Notification {
            state: ServerState::Looking,
            vote,
            round,
        }),
    });
    assert_eq!(l.state(), ServerState::Leading);
    l.step(Input::Message {
        from: 2,
        msg: Message::Learn {
            session: 11,
            packet: LearnPacket::FollowerInfo {
                accepted_epoch: 1,
                last_zxid: Zxid::new(1, 5),
            },
        },
    });
    let fx = l.take_effects();
    assert!(fx.contains(&Effect::PersistAcceptedEpoch(2)), "{fx:?}");
    l.step(Input::Message {
        from: 2,
        msg: Message::Learn {
            session: 11,
            packet: LearnPacket::AckEpoch {
                current_epoch: 1,
                last_zxid: Zxid::new(1, 5),
                counts: true,
            },
        },
    });
    assert_eq!(l.state(), ServerState::Looking);
    assert!(!l.take_effects().contains(&Effect::PersistCurrentEpoch(2)));
}

#[test]
fn start_up_checks_refuse_inconsistent_epochs() {
    let e = Peer::new(
        cfg(1),
        Durable {
            accepted_epoch: 3,
            current_epoch: 2,
            log: vec![entry(3, 1)],
            ..Durable::default()
        },
        1,
    )
    .err()
    .unwrap();
    assert!(matches!(
        e,
        StartError::CurrentBelowLogged {
            current: 2,
            logged: 3,
            ..
        }
    ));
    // The same state after a crash inside NEWLEADER (updatingEpoch marker) is accepted.
    assert!(Peer::new(
        cfg(1),
        Durable {
            accepted_epoch: 4,
            current_epoch: 2,
            updating_epoch: Some(4),
            log: vec![entry(3, 1)],
            ..Durable::default()
        },
        1,
    )
    .is_ok());
    let e = Peer::new(
        cfg(1),
        Durable {
            accepted_epoch: 1,
            current_epoch: 2,
            ..Durable::default()
        },
        1,
    )
    .err()
    .unwrap();
    assert_eq!(
        e,
        StartError::AcceptedBelowCurrent {
            accepted: 1,
            current: 2
        }
    );
}
