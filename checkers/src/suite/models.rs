//! The checkers of the models below linearizability (zookeeper, sequential, causal memory,
//! causal convergence, causal) as the suite runs them: by default on register histories with
//! unique written values per key, which is what they decide.

use super::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::consistency::{check_model, Model};
use crate::sequential::Budget;
use crate::Validity;
use histories::History;

/// One model of the consistency ladder other than linearizability.
pub struct LadderModel(pub Model);

impl Checker for LadderModel {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn ladder_model(&self) -> Option<Model> {
        Some(self.0)
    }

    fn by_default(&self, shape: &Shape) -> bool {
        shape.differentiated()
    }

    fn check(&self, h: &History, opts: &Options) -> Result<CheckerReport, SuiteError> {
        let budget = Budget {
            time: opts.timeout,
            ..Budget::default()
        };
        let Some(r) = check_model(h, self.0, &budget) else {
            return Err(SuiteError::DoesNotFit(format!(
                "{} is not one of the ladder's models below linearizability",
                self.0
            )));
        };
        let name = self.0.name();
        let explanation = match r.valid {
            Validity::Valid => format!("{name}: valid"),
            Validity::Invalid => format!(
                "{name}: invalid — {}",
                r.anomalies
                    .first()
                    .map(|a| a.explanation.as_str())
                    .unwrap_or_default()
            ),
            Validity::Unknown => format!("{name}: unknown ({})", r.reason.as_deref().unwrap_or("")),
        };
        Ok(CheckerReport {
            valid: r.valid,
            anomalies: r.anomalies.clone(),
            stats: r.stats.clone(),
            explanation,
            detail: Detail::Model(r),
        })
    }
}
