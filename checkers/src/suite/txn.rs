//! The transaction checker's isolation models as the suite runs them: one checker per model
//! (`--consistency serializable,snapshot-isolation`, …); on a history of `txn` operations,
//! strict-serializable runs by default and reports the strongest model satisfied as well.

use super::{Checker, CheckerReport, Options, Shape, SuiteError};
use crate::txn::{self, IsolationModel};
use crate::Validity;
use histories::History;
use serde_json::json;

/// One isolation model of [`crate::txn`].
pub struct Isolation(pub IsolationModel);

/// Every isolation model, strongest first, for [`super::CHECKERS`].
pub static MODELS: [Isolation; 10] = [
    Isolation(IsolationModel::StrictSerializable),
    Isolation(IsolationModel::StrongSessionSerializable),
    Isolation(IsolationModel::Serializable),
    Isolation(IsolationModel::StrongSessionSnapshotIsolation),
    Isolation(IsolationModel::SnapshotIsolation),
    Isolation(IsolationModel::RepeatableRead),
    Isolation(IsolationModel::StrongSessionReadCommitted),
    Isolation(IsolationModel::ReadCommitted),
    Isolation(IsolationModel::StrongSessionReadUncommitted),
    Isolation(IsolationModel::ReadUncommitted),
];

impl Checker for Isolation {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn by_default(&self, shape: &Shape) -> bool {
        // Transactions spelled as Knossos spells them are its multi-register's (linearizable).
        self.0 == IsolationModel::StrictSerializable
            && shape.only(&["txn"])
            && !super::linearizable::knossos_txns(shape.history)
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        // The default checker decides every model (they share one inference) to name the
        // strongest satisfied; one asked for by name decides only itself.
        let models = if self.0 == IsolationModel::StrictSerializable {
            IsolationModel::ALL.to_vec()
        } else {
            vec![self.0]
        };
        let r = txn::check(
            h,
            &txn::Options {
                models,
                ..txn::Options::default()
            },
        )
        .map_err(SuiteError::DoesNotFit)?;
        let own = r.models.iter().find(|v| v.model == self.0);
        let valid = own.map_or(Validity::Unknown, |v| v.valid);
        let name = self.0.name();
        let mut explanation = match (valid, own) {
            (Validity::Valid, _) => format!("{name}: valid"),
            (Validity::Invalid, Some(v)) => {
                let cycle = r
                    .anomalies
                    .iter()
                    .find(|a| v.because.contains(&a.kind))
                    .and_then(|a| a.details.get("cycle").and_then(|c| c.as_str()))
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                format!("{name}: invalid — {}{cycle}", v.because.join(", "))
            }
            (_, v) => format!(
                "{name}: unknown ({})",
                v.and_then(|v| v.reason.as_deref()).unwrap_or("")
            ),
        };
        if r.models.len() > 1 {
            explanation.push_str(&format!("; {}", r.summary));
        }
        let mut stats = r.stats.clone();
        stats["workload"] = json!(r.workload);
        stats["models"] = json!(r
            .models
            .iter()
            .map(|v| (v.model.name().to_string(), v.valid.to_json()))
            .collect::<serde_json::Map<_, _>>());
        stats["strongest"] = json!(r.strongest);
        if !r.unfinished.is_empty() {
            stats["unfinished"] = json!(r.unfinished);
        }
        // Only the anomalies that rule this model out.
        let anomalies = r
            .anomalies
            .iter()
            .filter(|a| own.is_some_and(|v| v.because.contains(&a.kind)))
            .cloned()
            .collect();
        Ok(CheckerReport {
            valid,
            anomalies,
            stats,
            explanation,
            detail: super::Detail::None,
        })
    }
}
