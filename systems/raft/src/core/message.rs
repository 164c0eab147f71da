//! The messages Raft nodes exchange.

use serde::{Deserialize, Serialize};

use super::types::{Entry, Index, NodeId, Snapshot, Term};

/// One message between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    /// The sender's term (for a pre-vote request: the term it would campaign in).
    pub term: Term,
    pub body: Body,
}

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Would you vote for me in `term` (the sender's term + 1)? Changes no state on either side.
    PreVote {
        last_index: Index,
        last_term: Term,
    },
    PreVoteResp {
        granted: bool,
    },
    /// Vote for me in `term`.
    Vote {
        last_index: Index,
        last_term: Term,
    },
    VoteResp {
        granted: bool,
    },
    /// Append `entries` after (`prev_index`, `prev_term`); the leader's commit index rides along.
    Append {
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        commit: Index,
    },
    /// On success `index` is the last index known to match the leader; on rejection it is the
    /// rejected `prev_index`, and (`hint_index`, `hint_term`) say where the logs may match.
    AppendResp {
        success: bool,
        index: Index,
        hint_index: Index,
        hint_term: Term,
    },
    /// Leader liveness, commit propagation and the ReadIndex confirmation round `read_seq`.
    /// `matched` is how far the leader knows the follower's log to match its own: the
    /// follower may take the leader's `commit` only up to there.
    Heartbeat {
        commit: Index,
        matched: Index,
        read_seq: u64,
    },
    HeartbeatResp {
        read_seq: u64,
    },
    /// The leader's snapshot for a follower behind its compacted log; answered by `AppendResp`.
    InstallSnapshot {
        snapshot: Snapshot,
    },
    /// A follower forwards client proposals to its leader.
    Propose {
        entries: Vec<Vec<u8>>,
    },
    /// A follower asks the leader for a read index for its read `ctx`.
    ReadIndex {
        ctx: u64,
    },
    /// The leader's confirmed read index for a follower's read.
    ReadIndexResp {
        ctx: u64,
        index: Index,
    },
}

impl Body {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Body::PreVote { .. } => "pre-vote",
            Body::PreVoteResp { .. } => "pre-vote-resp",
            Body::Vote { .. } => "vote",
            Body::VoteResp { .. } => "vote-resp",
            Body::Append { .. } => "append",
            Body::AppendResp { .. } => "append-resp",
            Body::Heartbeat { .. } => "heartbeat",
            Body::HeartbeatResp { .. } => "heartbeat-resp",
            Body::InstallSnapshot { .. } => "install-snapshot",
            Body::Propose { .. } => "propose",
            Body::ReadIndex { .. } => "read-index",
            Body::ReadIndexResp { .. } => "read-index-resp",
        }
    }
}
