//! The verdict of one consistency model on one history.

use crate::memory::{Memory, Node};
use crate::{Anomaly, OpRef, Validity};
use histories::History;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A consistency model of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    Linearizable,
    Zookeeper,
    Sequential,
    CausalMemory,
    CausalConvergence,
    Causal,
}

impl Model {
    pub const ALL: [Model; 6] = [
        Model::Linearizable,
        Model::Zookeeper,
        Model::Sequential,
        Model::CausalMemory,
        Model::CausalConvergence,
        Model::Causal,
    ];

    /// The name used on the command line and in results.json.
    pub fn name(self) -> &'static str {
        match self {
            Model::Linearizable => "linearizable",
            Model::Zookeeper => "zookeeper",
            Model::Sequential => "sequential",
            Model::CausalMemory => "causal-memory",
            Model::CausalConvergence => "causal-convergence",
            Model::Causal => "causal",
        }
    }

    /// Models this one directly implies (one step down the ladder).
    pub fn implies(self) -> &'static [Model] {
        match self {
            Model::Linearizable => &[Model::Zookeeper],
            Model::Zookeeper => &[Model::Sequential],
            Model::Sequential => &[Model::CausalMemory, Model::CausalConvergence],
            Model::CausalMemory | Model::CausalConvergence => &[Model::Causal],
            Model::Causal => &[],
        }
    }

    /// Whether a history satisfying `self` always satisfies `weaker` (reflexive).
    pub fn stronger_or_equal(self, weaker: Model) -> bool {
        self == weaker || self.implies().iter().any(|m| m.stronger_or_equal(weaker))
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Model, String> {
        Model::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown consistency model \"{s}\"; expected one of {}",
                    Model::ALL.map(|m| m.name()).join(", ")
                )
            })
    }
}

impl Serialize for Model {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One model's verdict on one history.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub model: Model,
    pub valid: Validity,
    /// Every violation found (capped), each naming its pattern or cycle.
    pub anomalies: Vec<Anomaly>,
    /// Why the verdict is unknown, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sizes and counters (operations considered, edges, search states, time).
    pub stats: Value,
}

impl ModelReport {
    pub fn valid(model: Model, stats: Value) -> ModelReport {
        ModelReport {
            model,
            valid: Validity::Valid,
            anomalies: Vec::new(),
            reason: None,
            stats,
        }
    }

    pub fn unknown(model: Model, reason: impl Into<String>, stats: Value) -> ModelReport {
        ModelReport {
            model,
            valid: Validity::Unknown,
            anomalies: Vec::new(),
            reason: Some(reason.into()),
            stats,
        }
    }

    pub fn invalid(model: Model, anomalies: Vec<Anomaly>, stats: Value) -> ModelReport {
        ModelReport {
            model,
            valid: Validity::Invalid,
            anomalies,
            reason: None,
            stats,
        }
    }

    /// A human-readable account: verdict, reason, and each anomaly with its sentences.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}: {}", self.model, self.valid.as_str());
        if let Some(r) = &self.reason {
            s.push_str(&format!(" ({r})"));
        }
        s.push('\n');
        for a in &self.anomalies {
            s.push_str(&format!("  {}: {}\n", a.kind, a.explanation));
            if let Some(steps) = a.details.get("edges").and_then(|e| e.as_array()) {
                for st in steps {
                    if let Some(t) = st.get("explanation").and_then(|t| t.as_str()) {
                        s.push_str(&format!("    - {t}\n"));
                    }
                }
            }
            for o in &a.ops {
                s.push_str(&format!("    op {} (line {}): {}\n", o.op, o.line, o.text));
            }
        }
        s
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Builds an anomaly from memory nodes.
pub fn anomaly(
    h: &History,
    m: &Memory,
    kind: &str,
    key: Option<u32>,
    nodes: &[Node],
    explanation: String,
    details: Value,
) -> Anomaly {
    Anomaly {
        kind: kind.to_string(),
        key: key.and_then(|k| m.keys.get(k as usize).cloned()),
        ops: nodes
            .iter()
            .filter_map(|&n| m.operation(h, n))
            .map(OpRef::of)
            .collect(),
        explanation,
        details,
    }
}
