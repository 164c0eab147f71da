//! The ladder linearizable ⊂ zookeeper ⊂ sequential ⊂ causal-memory, causal-convergence ⊂
//! causal: from per-model verdicts, which models hold, which fail, and the strongest held.

use super::Model;
use crate::Validity;
use serde::Serialize;

/// What is known about one model after propagating along the ladder.
#[derive(Debug, Clone, Serialize)]
pub struct LadderEntry {
    pub model: Model,
    /// The verdict after propagation (a checked model's own verdict, or what a stronger
    /// satisfied / weaker violated model implies; `unknown` if nothing is known).
    pub valid: Validity,
    /// Whether that verdict comes from this model's own checker.
    pub checked: bool,
}

/// The ladder summary.
#[derive(Debug, Clone, Serialize)]
pub struct Ladder {
    pub models: Vec<LadderEntry>,
    /// The strongest models satisfied (two when causal memory and causal convergence both hold
    /// and sequential does not).
    pub strongest: Vec<Model>,
    /// Models with a contradiction between checkers (a stronger model valid, a weaker one
    /// invalid): a checker bug, reported rather than hidden.
    pub contradictions: Vec<String>,
    pub summary: String,
}

impl Ladder {
    /// Combines per-model verdicts. Models not given are inferred where the ladder allows.
    pub fn from_verdicts(verdicts: &[(Model, Validity)]) -> Ladder {
        let given = |m: Model| verdicts.iter().find(|(x, _)| *x == m).map(|(_, v)| *v);
        let mut models = Vec::new();
        let mut contradictions = Vec::new();
        for m in Model::ALL {
            let holds = verdicts
                .iter()
                .any(|&(x, v)| v == Validity::Valid && x.stronger_or_equal(m));
            let fails = verdicts
                .iter()
                .any(|&(x, v)| v == Validity::Invalid && m.stronger_or_equal(x));
            if holds && fails {
                contradictions.push(format!(
                    "{m} is implied by a model found valid and implies a model found invalid"
                ));
            }
            let valid = match (given(m), holds, fails) {
                (Some(v), _, _) if v != Validity::Unknown => v,
                (_, true, false) => Validity::Valid,
                (_, false, true) => Validity::Invalid,
                _ => Validity::Unknown,
            };
            models.push(LadderEntry {
                model: m,
                valid,
                checked: given(m).is_some(),
            });
        }
        let holds = |m: Model| {
            models
                .iter()
                .any(|e| e.model == m && e.valid == Validity::Valid)
        };
        let strongest: Vec<Model> = Model::ALL
            .into_iter()
            .filter(|&m| holds(m))
            .filter(|&m| {
                !Model::ALL
                    .into_iter()
                    .any(|s| s != m && s.stronger_or_equal(m) && holds(s))
            })
            .collect();
        let fail: Vec<&str> = models
            .iter()
            .filter(|e| e.valid == Validity::Invalid)
            .map(|e| e.model.name())
            .collect();
        let unknown: Vec<&str> = models
            .iter()
            .filter(|e| e.valid == Validity::Unknown && e.checked)
            .map(|e| e.model.name())
            .collect();
        let mut summary = if strongest.is_empty() {
            "no model of the ladder is known to hold".to_string()
        } else {
            format!(
                "strongest model satisfied: {}",
                strongest
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        };
        if !fail.is_empty() {
            summary.push_str(&format!("; violated: {}", fail.join(", ")));
        }
        if !unknown.is_empty() {
            summary.push_str(&format!("; undecided: {}", unknown.join(", ")));
        }
        if !contradictions.is_empty() {
            summary.push_str(&format!(
                "; contradictory verdicts: {}",
                contradictions.join("; ")
            ));
        }
        Ladder {
            models,
            strongest,
            contradictions,
            summary,
        }
    }
}
