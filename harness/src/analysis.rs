//! Checking a run's history with the checkers that fit its workload, and writing results.json.

use crate::set_checker;
use checkers::linear::{self, ModelKind};
use checkers::Validity;
use histories::History;
use serde_json::{json, Value};
use std::time::Duration;
use workloads::WorkloadKind;

pub struct Analysis {
    pub valid: Validity,
    /// The whole of results.json.
    pub results: Value,
    /// The summary and verdict as text.
    pub text: String,
}

/// Checks `h` (a history of `workload`) and summarizes it.
pub fn analyze(h: &History, workload: WorkloadKind, check_timeout: Duration) -> Analysis {
    let (summary, summary_text) = crate::summary::summarize(h);
    let mut checkers_json = serde_json::Map::new();
    let mut valid = Validity::Valid;
    let mut explanations = Vec::new();
    match workload {
        WorkloadKind::Register | WorkloadKind::Kv => {
            let mut opts = linear::Options::new(ModelKind::Kv);
            opts.timeout = check_timeout;
            match linear::check(h, &opts) {
                Ok(rep) => {
                    valid = valid.and(rep.valid);
                    let anomalies: Vec<_> = rep.anomalies().cloned().collect();
                    let undecided: Vec<&str> = rep
                        .keys
                        .iter()
                        .filter(|k| k.valid == Validity::Unknown)
                        .map(|k| k.key.as_str())
                        .collect();
                    explanations.push(match rep.valid {
                        Validity::Valid => format!(
                            "linearizable: all {} keys have a legal order (kv model of cas-registers)",
                            rep.keys.len()
                        ),
                        Validity::Invalid => format!(
                            "not linearizable: {}",
                            anomalies.first().map(|a| a.explanation.clone()).unwrap_or_default()
                        ),
                        Validity::Unknown => format!(
                            "linearizability undecided for keys {} within the checker's budget",
                            undecided.join(", ")
                        ),
                    });
                    checkers_json.insert(
                        "linearizable".into(),
                        json!({
                            "valid": rep.valid,
                            "anomalies": anomalies,
                            "stats": {
                                "model": rep.model,
                                "keys": rep.keys.len(),
                                "check_seconds": rep.check_seconds,
                                "undecided_keys": undecided,
                            }
                        }),
                    );
                }
                Err(e) => {
                    valid = valid.and(Validity::Unknown);
                    explanations.push(format!("linearizability not checked: {e}"));
                    checkers_json.insert(
                        "linearizable".into(),
                        json!({"valid": Validity::Unknown, "anomalies": [], "stats": {"error": e}}),
                    );
                }
            }
        }
        WorkloadKind::Set => {
            let r = set_checker::check(h);
            valid = valid.and(r.valid);
            explanations.push(r.explanation.clone());
            checkers_json.insert(
                "set".into(),
                json!({"valid": r.valid, "anomalies": r.anomalies, "stats": r.stats}),
            );
        }
    }
    if workload == WorkloadKind::Kv {
        // The kv workload is the input of the weaker models too: say which of them hold.
        let budget = checkers::sequential::Budget {
            time: check_timeout,
            ..Default::default()
        };
        let reports = [
            checkers::sequential::check(h, &budget),
            checkers::causal::check(h, checkers::causal::CausalModel::Causal),
        ];
        for r in reports {
            let name = r.model.name();
            explanations.push(match r.valid {
                Validity::Valid => format!("{name}: valid"),
                Validity::Invalid => format!(
                    "{name}: invalid — {}",
                    r.anomalies
                        .first()
                        .map(|a| a.explanation.clone())
                        .unwrap_or_default()
                ),
                Validity::Unknown => {
                    format!("{name}: unknown ({})", r.reason.clone().unwrap_or_default())
                }
            });
            valid = valid.and(r.valid);
            checkers_json.insert(name.to_string(), r.to_json());
        }
    }
    let explanation = explanations.join("; ");
    let text = format!(
        "{summary_text}verdict: {} — {explanation}\n",
        valid.as_str().to_uppercase()
    );
    let results = json!({
        "valid": valid,
        "checkers": checkers_json,
        "explanation": explanation,
        "summary": summary,
    });
    Analysis {
        valid,
        results,
        text,
    }
}
