//! Messages between servers.
//!
//! Leader→learner traffic of one learner session is a numbered stream (`session`, `seq`): the
//! learner accepts it strictly in order and treats a gap as a broken connection, as ZooKeeper
//! treats its TCP stream. Learner→leader messages carry the session; ACKs are cumulative.

use super::election::Notification;
use super::tree::DataTree;
use super::txn::{Entry, Txn};
use super::zxid::Zxid;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// Fast leader election.
    Notification(Notification),
    /// Leader → learner, in order within the learner's session.
    Lead {
        session: u64,
        seq: u64,
        packet: LeadPacket,
    },
    /// Learner → leader.
    Learn { session: u64, packet: LearnPacket },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadPacket {
    /// Discovery: the new epoch (max acceptedEpoch of a quorum, plus one).
    LeaderInfo {
        epoch: u32,
    },
    /// Synchronization: the proposals after the learner's last zxid follow.
    Diff,
    /// Synchronization: drop every logged proposal above `zxid`; proposals may follow (TRUNC+DIFF).
    Trunc {
        zxid: Zxid,
    },
    /// Synchronization: replace everything with the leader's committed tree at `zxid`.
    Snap {
        zxid: Zxid,
        tree: DataTree,
    },
    Proposal {
        entry: Entry,
    },
    /// Broadcast: the proposals of one leader batch, in zxid order.
    Proposals {
        entries: Vec<Entry>,
    },
    /// Everything up to `zxid` is committed (cumulative).
    Commit {
        zxid: Zxid,
    },
    /// End of synchronization: make it durable, adopt the epoch, acknowledge.
    NewLeader {
        zxid: Zxid,
    },
    /// A quorum acknowledged NEWLEADER: serve clients. Everything up to `commit` is committed.
    UpToDate {
        commit: Zxid,
    },
    Ping,
    /// The answer to a forwarded sync the leader did not propose (ZOOKEEPER-1675 only).
    Synced {
        req: u64,
    },
    /// A forwarded request the leader will not propose (it is not serving): a definite refusal.
    Reject {
        req: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnPacket {
    FollowerInfo {
        accepted_epoch: u32,
        last_zxid: Zxid,
    },
    /// `counts` is false when the learner had already accepted this epoch before: it may
    /// join, but its acknowledgement does not count towards the leader's quorum.
    AckEpoch {
        current_epoch: u32,
        last_zxid: Zxid,
        counts: bool,
    },
    /// NEWLEADER acknowledged: the synchronized log and the new currentEpoch are durable.
    AckNewLeader { last_zxid: Zxid },
    /// Everything up to `zxid` is durably logged (cumulative; also the answer to a PING).
    Ack { zxid: Zxid },
    /// The client writes a follower received in one batch, in order.
    Forward { seq: u64, items: Vec<Forwarded> },
}

/// One client write forwarded to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forwarded {
    pub req: u64,
    pub txn: Txn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
}
