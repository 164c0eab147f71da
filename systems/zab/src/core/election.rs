//! Fast leader election (ZooKeeper's FastLeaderElection), as a pure state machine.
//!
//! A LOOKING server votes for (leader id, last zxid, epoch) within an election round (the logical
//! clock). Votes compare by epoch, then zxid, then server id. A server adopts a better vote and
//! rebroadcasts it; it decides when a quorum holds the same vote in its round. A server that
//! hears from a quorum of servers that have already left the election (FOLLOWING/LEADING) for
//! the same leader, the leader itself among them and LEADING, joins that leader instead of
//! disturbing it.

use super::txn::NodeId;
use super::zxid::Zxid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A vote for a leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub leader: NodeId,
    /// The candidate's last logged zxid.
    pub zxid: Zxid,
    /// The candidate's currentEpoch.
    pub epoch: u32,
}

impl Vote {
    /// ZooKeeper's totalOrderPredicate: epoch, then zxid, then server id.
    pub fn better_than(&self, other: &Vote) -> bool {
        (self.epoch, self.zxid, self.leader) > (other.epoch, other.zxid, other.leader)
    }

    /// The predicate before ZOOKEEPER-1419's fix: the id breaks a zxid tie whatever the
    /// epochs, so a vote of a lower epoch can beat one of a higher epoch that beats it back.
    pub fn better_than_zk1419(&self, other: &Vote) -> bool {
        self.epoch > other.epoch
            || (self.epoch == other.epoch && self.zxid > other.zxid)
            || (self.zxid == other.zxid && self.leader > other.leader)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    Looking,
    Following,
    Leading,
}

/// One election message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub state: ServerState,
    pub vote: Vote,
    /// The sender's logical clock (election round).
    pub round: u64,
}

/// What the election wants done after a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElectionAction {
    /// Send our current notification to every other server.
    Broadcast,
    /// Send our current notification to this server only (it is in an older round).
    Reply(NodeId),
    /// The election ended: follow or lead this server.
    Decided(NodeId),
}

/// The election state of one server.
#[derive(Clone, Debug)]
pub struct Election {
    /// The logical clock.
    pub round: u64,
    /// Our current (or, outside an election, final) vote.
    pub vote: Vote,
    /// Votes of LOOKING servers in our round (ours included).
    recv: BTreeMap<NodeId, Vote>,
    /// Votes of servers that left the election.
    out: BTreeMap<NodeId, (Vote, ServerState)>,
    /// ZOOKEEPER-1419: compare votes by the pre-fix, non-total predicate.
    pub zk1419: bool,
}

impl Election {
    pub fn new(own: Vote) -> Self {
        Election {
            round: 0,
            vote: own,
            recv: BTreeMap::new(),
            out: BTreeMap::new(),
            zk1419: false,
        }
    }

    /// Whether vote `a` beats vote `b`: the one guard of the vote order.
    fn beats(&self, a: &Vote, b: &Vote) -> bool {
        if self.zk1419 {
            a.better_than_zk1419(b)
        } else {
            a.better_than(b)
        }
    }

    /// Starts a new election: next round, vote for ourselves.
    pub fn start(&mut self, me: NodeId, own: Vote) {
        self.round += 1;
        self.vote = own;
        self.recv.clear();
        self.out.clear();
        self.recv.insert(me, own);
    }

    /// Our notification as a LOOKING server.
    pub fn notification(&self) -> Notification {
        Notification {
            state: ServerState::Looking,
            vote: self.vote,
            round: self.round,
        }
    }

    /// Handles a notification while LOOKING. `own` is our own candidacy (to compare against
    /// when a newer round resets the vote); `quorum(n)` says whether `n` servers are a quorum.
    pub fn on_notification(
        &mut self,
        me: NodeId,
        own: Vote,
        from: NodeId,
        n: Notification,
        quorum: impl Fn(usize) -> bool,
    ) -> Vec<ElectionAction> {
        let mut actions = Vec::new();
        match n.state {
            ServerState::Looking => {
                if n.round > self.round {
                    // A newer round: join it, starting again from the better of our own
                    // candidacy and the sender's vote.
                    self.round = n.round;
                    self.recv.clear();
                    self.vote = if self.beats(&n.vote, &own) {
                        n.vote
                    } else {
                        own
                    };
                    self.recv.insert(me, self.vote);
                    actions.push(ElectionAction::Broadcast);
                } else if n.round < self.round {
                    // The sender is behind: tell it where we are; its vote does not count.
                    actions.push(ElectionAction::Reply(from));
                    return actions;
                } else if self.beats(&n.vote, &self.vote) {
                    self.vote = n.vote;
                    self.recv.insert(me, self.vote);
                    actions.push(ElectionAction::Broadcast);
                }
                self.recv.insert(from, n.vote);
                let agreeing = self.recv.values().filter(|v| **v == self.vote).count();
                if quorum(agreeing) {
                    actions.push(ElectionAction::Decided(self.vote.leader));
                }
            }
            ServerState::Following | ServerState::Leading => {
                // Someone already left the election: is there an established leader to join?
                self.out.insert(from, (n.vote, n.state));
                let leader = n.vote.leader;
                let supporters = self
                    .out
                    .values()
                    .filter(|(v, _)| v.leader == leader)
                    .count();
                let leader_leads = matches!(
                    self.out.get(&leader),
                    Some((v, ServerState::Leading)) if v.leader == leader
                );
                if leader != me && leader_leads && quorum(supporters) {
                    self.vote = n.vote;
                    actions.push(ElectionAction::Decided(leader));
                }
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(leader: NodeId, zxid: u64, epoch: u32) -> Vote {
        Vote {
            leader,
            zxid: Zxid(zxid),
            epoch,
        }
    }

    #[test]
    fn votes_compare_by_epoch_then_zxid_then_id() {
        assert!(v(1, 0, 2).better_than(&v(3, 9, 1)));
        assert!(v(1, 5, 1).better_than(&v(3, 4, 1)));
        assert!(v(3, 5, 1).better_than(&v(1, 5, 1)));
        assert!(!v(1, 5, 1).better_than(&v(1, 5, 1)));
    }

    #[test]
    fn the_zk1419_predicate_is_not_an_order() {
        // Same zxid: epoch 2 beats epoch 1, and the higher id of epoch 1 beats it back.
        let (a, b) = (v(1, 5, 2), v(3, 5, 1));
        assert!(a.better_than(&b) && !b.better_than(&a));
        assert!(a.better_than_zk1419(&b) && b.better_than_zk1419(&a));
    }

    #[test]
    fn adopts_better_vote_and_decides_on_quorum() {
        let q = |n: usize| n >= 2;
        let own = v(1, 5, 1);
        let mut e = Election::new(own);
        e.start(1, own);
        let n = Notification {
            state: ServerState::Looking,
            vote: v(2, 6, 1),
            round: 1,
        };
        let a = e.on_notification(1, own, 2, n, q);
        assert_eq!(
            a,
            vec![ElectionAction::Broadcast, ElectionAction::Decided(2)]
        );
        // Older rounds are answered, not counted.
        let mut e = Election::new(own);
        e.start(1, own);
        e.start(1, own);
        let a = e.on_notification(1, own, 3, Notification { round: 1, ..n }, q);
        assert_eq!(a, vec![ElectionAction::Reply(3)]);
    }

    #[test]
    fn joins_an_established_leader_only_with_quorum_and_leader_leading() {
        let q = |n: usize| n >= 2;
        let own = v(3, 0, 0);
        let mut e = Election::new(own);
        e.start(3, own);
        let f = Notification {
            state: ServerState::Following,
            vote: v(1, 9, 2),
            round: 4,
        };
        assert!(e.on_notification(3, own, 2, f, q).is_empty());
        let l = Notification {
            state: ServerState::Leading,
            ..f
        };
        assert_eq!(
            e.on_notification(3, own, 1, l, q),
            vec![ElectionAction::Decided(1)]
        );
    }
}
