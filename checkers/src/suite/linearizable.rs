//! The linearizability checker ([`crate::linear`]) as the suite runs it: the sequential model
//! inferred from the operations unless one is given, the budgets of [`Options`], and its
//! per-key report summarized as `{valid, anomalies, stats, explanation}`.

use super::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::linear::{self, ModelKind};
use crate::Validity;
use histories::History;
use serde_json::json;

/// Linearizability against a sequential model.
pub struct Linearizable;

/// The model a history's operations call for: porcupine-kv for get/put/append, kv when
/// operations carry keys, cas-register when there is a cas, else register.
pub fn infer_model(h: &History) -> ModelKind {
    if h.ops
        .iter()
        .any(|o| matches!(o.f.as_str(), "get" | "put" | "append"))
    {
        ModelKind::PorcupineKv
    } else if h.ops.iter().any(|o| o.key.is_some()) {
        ModelKind::Kv
    } else if h.ops.iter().any(|o| o.f == "cas") {
        ModelKind::CasRegister
    } else {
        ModelKind::Register
    }
}

impl Checker for Linearizable {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn ladder_model(&self) -> Option<crate::consistency::Model> {
        Some(crate::consistency::Model::Linearizable)
    }

    /// Every history whose operations one of the sequential models knows.
    fn by_default(&self, shape: &Shape) -> bool {
        shape.only(infer_model(shape.history).functions())
    }

    fn check(&self, h: &History, opts: &Options) -> Result<CheckerReport, SuiteError> {
        let mut o = linear::Options::new(opts.model.unwrap_or_else(|| infer_model(h)));
        o.timeout = opts.timeout;
        o.max_bytes = opts.max_bytes;
        o.fail_fast = opts.fail_fast;
        o.zone = opts.zone;
        let rep = linear::check(h, &o).map_err(SuiteError::DoesNotFit)?;
        let anomalies: Vec<_> = rep.anomalies().cloned().collect();
        let undecided: Vec<&str> = rep
            .keys
            .iter()
            .filter(|k| k.valid == Validity::Unknown)
            .map(|k| k.key.as_str())
            .collect();
        let explanation = match rep.valid {
            Validity::Valid => format!(
                "linearizable: all {} keys have a legal order ({} model)",
                rep.keys.len(),
                rep.model
            ),
            Validity::Invalid => format!(
                "not linearizable: {}",
                anomalies
                    .first()
                    .map(|a| a.explanation.as_str())
                    .unwrap_or_default()
            ),
            Validity::Unknown => format!(
                "linearizability undecided for keys {} within the checker's budget",
                undecided.join(", ")
            ),
        };
        Ok(CheckerReport {
            valid: rep.valid,
            anomalies,
            stats: json!({
                "model": rep.model,
                "keys": rep.keys.len(),
                "check_seconds": rep.check_seconds,
                "explain_seconds": rep.explain_seconds,
                "undecided_keys": undecided,
            }),
            explanation,
            detail: Detail::Linear(rep),
        })
    }
}
