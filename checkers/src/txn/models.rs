//! The isolation models (Adya's PL levels and their strong-session and real-time variants):
//! which dependency graph must be acyclic under each, which non-cycle anomalies and cycle
//! classes each proscribes, and which models each implies (the ladder).
//!
//! With item reads only (no predicates), repeatable-read (PL-2.99) and serializable (PL-3)
//! proscribe the same cycles; serializable and snapshot isolation add internal consistency
//! (Cerone et al.'s INT), as Elle does. Snapshot isolation is checked as Adya/Elle's generalized
//! SI: no cycle in which every anti-dependency follows a ww/wr edge (Cerone and Gotsman).

use super::graph::{EdgeKind, DATA, WW_WR};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IsolationModel {
    StrictSerializable,
    StrongSessionSerializable,
    Serializable,
    StrongSessionSnapshotIsolation,
    SnapshotIsolation,
    RepeatableRead,
    StrongSessionReadCommitted,
    ReadCommitted,
    StrongSessionReadUncommitted,
    ReadUncommitted,
}

use IsolationModel::*;

/// What a model requires of the dependency graph.
#[derive(Debug, Clone, Copy)]
pub struct GraphSpec {
    /// Edge kinds whose union must be acyclic (without `rw` in extension models).
    pub mask: u8,
    /// Extension models (snapshot isolation): `rw` edges may follow an edge of `mask`;
    /// the relation (mask ; rw?) must be acyclic.
    pub extension: bool,
}

/// The base class of a dependency cycle, from worst to mildest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CycleClass {
    G0,
    G1c,
    GSingle,
    GNonadjacent,
    G2Item,
}

/// Which order edges a cycle needs besides data dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    Data,
    Process,
    Realtime,
}

impl CycleClass {
    pub fn name(self, v: Variant) -> String {
        let base = match self {
            CycleClass::G0 => "G0",
            CycleClass::G1c => "G1c",
            CycleClass::GSingle => "G-single",
            CycleClass::GNonadjacent => "G-nonadjacent",
            CycleClass::G2Item => "G2-item",
        };
        match v {
            Variant::Data => base.to_string(),
            Variant::Process => format!("{base}-process"),
            Variant::Realtime => format!("{base}-realtime"),
        }
    }

    /// What the class means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            CycleClass::G0 => "a cycle of write-write dependencies (write cycle)",
            CycleClass::G1c => {
                "a cycle of write-write and write-read dependencies (circular information flow)"
            }
            CycleClass::GSingle => {
                "a cycle with exactly one read-write anti-dependency (read skew)"
            }
            CycleClass::GNonadjacent => "a cycle whose anti-dependencies are never adjacent",
            CycleClass::G2Item => {
                "a cycle with adjacent anti-dependencies (anti-dependency cycle, e.g. write skew)"
            }
        }
    }
}

impl IsolationModel {
    pub const ALL: [IsolationModel; 10] = [
        StrictSerializable,
        StrongSessionSerializable,
        Serializable,
        StrongSessionSnapshotIsolation,
        SnapshotIsolation,
        RepeatableRead,
        StrongSessionReadCommitted,
        ReadCommitted,
        StrongSessionReadUncommitted,
        ReadUncommitted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrictSerializable => "strict-serializable",
            StrongSessionSerializable => "strong-session-serializable",
            Serializable => "serializable",
            StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            SnapshotIsolation => "snapshot-isolation",
            RepeatableRead => "repeatable-read",
            StrongSessionReadCommitted => "strong-session-read-committed",
            ReadCommitted => "read-committed",
            StrongSessionReadUncommitted => "strong-session-read-uncommitted",
            ReadUncommitted => "read-uncommitted",
        }
    }

    /// The models this one directly implies.
    pub fn implies(self) -> &'static [IsolationModel] {
        match self {
            StrictSerializable => &[StrongSessionSerializable],
            StrongSessionSerializable => &[Serializable, StrongSessionSnapshotIsolation],
            Serializable => &[RepeatableRead, SnapshotIsolation],
            StrongSessionSnapshotIsolation => &[SnapshotIsolation, StrongSessionReadCommitted],
            SnapshotIsolation | RepeatableRead => &[ReadCommitted],
            StrongSessionReadCommitted => &[ReadCommitted, StrongSessionReadUncommitted],
            ReadCommitted | StrongSessionReadUncommitted => &[ReadUncommitted],
            ReadUncommitted => &[],
        }
    }

    /// Whether every history satisfying `self` satisfies `weaker` (reflexive).
    pub fn stronger_or_equal(self, weaker: IsolationModel) -> bool {
        self == weaker || self.implies().iter().any(|m| m.stronger_or_equal(weaker))
    }

    fn session(self) -> bool {
        matches!(
            self,
            StrictSerializable
                | StrongSessionSerializable
                | StrongSessionSnapshotIsolation
                | StrongSessionReadCommitted
                | StrongSessionReadUncommitted
        )
    }

    /// The graph that must be acyclic.
    pub fn graph(self) -> GraphSpec {
        let po = if self.session() {
            EdgeKind::Process.bit()
        } else {
            0
        };
        let rt = if self == StrictSerializable {
            EdgeKind::Realtime.bit()
        } else {
            0
        };
        let (mask, extension) = match self {
            StrictSerializable | StrongSessionSerializable | Serializable | RepeatableRead => {
                (DATA, false)
            }
            StrongSessionSnapshotIsolation | SnapshotIsolation => (WW_WR, true),
            StrongSessionReadCommitted | ReadCommitted => (WW_WR, false),
            StrongSessionReadUncommitted | ReadUncommitted => (EdgeKind::Ww.bit(), false),
        };
        GraphSpec {
            mask: mask | po | rt,
            extension,
        }
    }

    /// Whether a cycle of this class and variant rules the model out.
    pub fn proscribes_cycle(self, c: CycleClass, v: Variant) -> bool {
        let by_variant = match v {
            Variant::Data => true,
            Variant::Process => self.session(),
            Variant::Realtime => self == StrictSerializable,
        };
        let spec = self.graph();
        let by_class = match c {
            CycleClass::G0 => true,
            CycleClass::G1c => spec.mask & EdgeKind::Wr.bit() != 0,
            CycleClass::GSingle | CycleClass::GNonadjacent => {
                spec.extension || spec.mask & EdgeKind::Rw.bit() != 0
            }
            CycleClass::G2Item => spec.mask & EdgeKind::Rw.bit() != 0,
        };
        by_variant && by_class
    }

    /// Whether a non-cycle anomaly (by its name, see `Finding::kind`) rules the model out.
    pub fn proscribes_finding(self, kind: &str) -> bool {
        let at_least_rc = !matches!(self, ReadUncommitted | StrongSessionReadUncommitted);
        let si_or_ser = matches!(
            self,
            StrictSerializable
                | StrongSessionSerializable
                | Serializable
                | StrongSessionSnapshotIsolation
                | SnapshotIsolation
        );
        match kind {
            "duplicate-elements" | "garbage-read" => true,
            "G1a" | "G1b" | "dirty-update" | "incompatible-order" => at_least_rc,
            "lost-update" => si_or_ser || self == RepeatableRead,
            "internal" => si_or_ser,
            _ => true,
        }
    }
}

impl fmt::Display for IsolationModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for IsolationModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let canonical = match s {
            "strong-serializable" => "strict-serializable",
            "PL-3" | "conflict-serializable" => "serializable",
            "PL-SI" | "si" => "snapshot-isolation",
            "PL-2.99" => "repeatable-read",
            "PL-2" => "read-committed",
            "PL-1" => "read-uncommitted",
            "PL-SS" => "strict-serializable",
            other => other,
        };
        IsolationModel::ALL
            .into_iter()
            .find(|m| m.name() == canonical)
            .ok_or_else(|| {
                format!(
                    "unknown isolation model \"{s}\"; expected one of {}",
                    IsolationModel::ALL.map(|m| m.name()).join(", ")
                )
            })
    }
}

impl Serialize for IsolationModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
