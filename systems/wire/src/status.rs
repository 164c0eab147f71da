//! The `status` response (Contract 2): what every node says about itself, typed, so that the
//! harness finds a leader (to kill it, to isolate it, to know the cluster is ready) by reading
//! fields rather than guessing between names.
//!
//! ```text
//! → {"id":1,"op":"status"}
//! ← {"id":1,"ok":true,"node":"n2","role":"leader","term":4,"leader":"n2","commit":17,…}     raft
//! ← {"id":1,"ok":true,"node":2,"role":"leading","epoch":3,"leader":2,"commit":8589934593,
//!    "serving":true,…}                                                                       zab
//! ```
//!
//! The common part is typed: the node's id, its [`Role`], its leadership generation
//! ([`Generation`]: Raft's `term` or ZAB's `epoch`, one key or the other), the leader it believes
//! in and its commit point. Each protocol keeps its own vocabulary (Raft's `leader`/`follower`,
//! ZooKeeper's `leading`/`following`/`looking`); [`Role::is_leader`] is the one question the
//! harness asks of it. Whatever else a node reports (Raft's `applied`, ZAB's `last_zxid`, …) is
//! kept in [`Status::extra`].

use crate::{code, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A node's answer to `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id as its command line gives it (`"n1"` for raft, `1` for zab).
    pub node: NodeRef,
    pub role: Role,
    /// The leadership generation: `term` or `epoch`.
    #[serde(flatten)]
    pub generation: Generation,
    /// The leader this node believes in (itself when it leads), `null` when it knows none.
    pub leader: Option<NodeRef>,
    /// The commit point: Raft's commit index, ZAB's last committed zxid.
    pub commit: u64,
    /// Whether a node in a leading role takes client requests yet (a ZAB leader does only once
    /// a quorum has synchronized with it). Absent: it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<bool>,
    /// Everything else the node reports, by field name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A node id on the wire: a name or a number, written back as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NodeRef {
    Number(u64),
    Name(String),
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Number(n) => write!(f, "{n}"),
            NodeRef::Name(s) => f.write_str(s),
        }
    }
}

/// A node's role, in its protocol's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Raft: leads its term.
    Leader,
    /// Raft: follows (or waits for) a leader.
    Follower,
    /// Raft: campaigns for votes.
    Candidate,
    /// Raft: asks whether it could win before campaigning (pre-vote).
    PreCandidate,
    /// ZAB: leads its epoch.
    Leading,
    /// ZAB: follows a leader.
    Following,
    /// ZAB: looks for a leader (election).
    Looking,
    /// Two-phase commit: the transaction coordinator (the one node clients talk to).
    Coordinator,
    /// Two-phase commit: a participant holding one shard.
    Participant,
}

impl Role {
    /// Whether the role is the protocol's leader.
    pub fn is_leader(self) -> bool {
        matches!(self, Role::Leader | Role::Leading | Role::Coordinator)
    }

    /// The role as the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::PreCandidate => "pre-candidate",
            Role::Leading => "leading",
            Role::Following => "following",
            Role::Looking => "looking",
            Role::Coordinator => "coordinator",
            Role::Participant => "participant",
        }
    }
}

/// The leadership generation a node is in: one field of the response, named for its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// Raft's term.
    Term(u64),
    /// ZAB's (current) epoch.
    Epoch(u64),
}

impl Generation {
    pub fn value(self) -> u64 {
        match self {
            Generation::Term(t) | Generation::Epoch(t) => t,
        }
    }
}

/// Why a response is not a status.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The node answered with an error.
    #[error("the node answered status with {code}: {message}")]
    Refused { code: String, message: String },
    /// The node answered, but not with the fields of Contract 2's status.
    #[error("the node's status lacks or mistypes a field of Contract 2: {0}")]
    Malformed(#[source] serde_json::Error),
}

impl Status {
    /// Whether the node leads and takes requests: the node faults aimed at "the leader" hit.
    pub fn leads(&self) -> bool {
        self.role.is_leader() && self.serving.unwrap_or(true)
    }

    /// The response carrying this status to request `id`.
    pub fn into_response(self, id: u64) -> Response {
        let body = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            // A struct of plain fields always serializes as an object.
            _ => Map::new(),
        };
        Response {
            id: Some(id),
            ok: true,
            error: None,
            body,
        }
    }

    /// Reads a status from a node's response.
    pub fn from_response(r: &Response) -> Result<Status, StatusError> {
        if !r.ok {
            let (code, message) = match &r.error {
                Some(e) => (e.code.clone(), e.message.clone()),
                None => (code::BAD_REQUEST.to_string(), String::new()),
            };
            return Err(StatusError::Refused { code, message });
        }
        serde_json::from_value(Value::Object(r.body.clone())).map_err(StatusError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_response;
    use serde_json::json;

    #[test]
    fn raft_and_zab_shapes_read_and_write_back_unchanged() {
        let raft = json!({"id":1,"ok":true,"node":"n2","role":"leader","term":4,"leader":"n2",
            "commit":17,"applied":17,"last_index":18,"snapshot_index":0});
        let zab = json!({"id":1,"ok":true,"node":2,"role":"leading","serving":false,"epoch":3,
            "accepted_epoch":3,"leader":2,"last_zxid":5,"zxid":4,"commit":4});
        for line in [raft, zab] {
            let r = parse_response(line.to_string().as_bytes()).unwrap();
            let s = Status::from_response(&r).unwrap();
            let back = serde_json::to_value(s.clone().into_response(1)).unwrap();
            assert_eq!(back, line);
            assert!(s.role.is_leader());
        }
        let r = parse_response(br#"{"id":1,"ok":true,"node":2,"role":"leading","serving":false,"epoch":3,"leader":2,"commit":4}"#).unwrap();
        let s = Status::from_response(&r).unwrap();
        assert_eq!(s.generation, Generation::Epoch(3));
        assert_eq!(s.leader, Some(NodeRef::Number(2)));
        assert!(
            !s.leads(),
            "a zab leader that does not serve yet is not the target"
        );
        let r = parse_response(
            br#"{"id":1,"ok":true,"node":"n1","role":"follower","term":9,"leader":null,"commit":0}"#,
        )
        .unwrap();
        let s = Status::from_response(&r).unwrap();
        assert_eq!((s.generation.value(), s.leads()), (9, false));
        assert_eq!(s.leader, None);
    }

    #[test]
    fn a_twopc_coordinator_leads_only_while_serving_and_participants_never_do() {
        let r = parse_response(br#"{"id":1,"ok":true,"node":"n1","role":"coordinator","epoch":2,"leader":"n1","commit":5,"serving":false,"voting":0}"#).unwrap();
        let s = Status::from_response(&r).unwrap();
        assert!(s.role.is_leader() && !s.leads());
        assert_eq!(s.role.as_str(), "coordinator");
        let r = parse_response(br#"{"id":1,"ok":true,"node":"n2","role":"participant","epoch":0,"leader":"n1","commit":5,"in_doubt":1}"#).unwrap();
        let s = Status::from_response(&r).unwrap();
        assert!(!s.role.is_leader());
        assert_eq!(s.extra["in_doubt"], json!(1));
    }

    #[test]
    fn refusals_and_missing_fields_are_errors() {
        let r = Response::err(Some(1), code::UNAVAILABLE, true, "shutting down");
        assert!(matches!(
            Status::from_response(&r),
            Err(StatusError::Refused { .. })
        ));
        for body in [
            r#"{"id":1,"ok":true,"node":"n1","role":"leader","leader":null,"commit":0}"#,
            r#"{"id":1,"ok":true,"node":"n1","role":"boss","term":1,"leader":null,"commit":0}"#,
            r#"{"id":1,"ok":true,"node":"n1","role":"leader","term":1,"leader":null}"#,
        ] {
            let r = parse_response(body.as_bytes()).unwrap();
            assert!(
                matches!(Status::from_response(&r), Err(StatusError::Malformed(_))),
                "{body}"
            );
        }
    }
}
