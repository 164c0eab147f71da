//! The linearizability checker ([`crate::linear`]) as the suite runs it: the sequential model
//! inferred from the operations unless one is given, the budgets of [`Options`], and its
//! per-key report summarized as `{valid, anomalies, stats, explanation}`.

use super::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::linear::{self, ModelKind};
use crate::Validity;
use histories::History;
use serde_json::{json, Value};

/// Linearizability against a sequential model.
pub struct Linearizable;

/// The model a history's operations call for: porcupine-kv for get/put/append, mutex for
/// acquire/release, unordered-queue for enqueue/dequeue, multi-register for `txn`s spelled as
/// Knossos spells them (`[read k v]`/`[write k v]`), set for adds, kv when operations carry
/// keys, cas-register when there is a cas, else register.
pub fn infer_model(h: &History) -> ModelKind {
    let any = |fs: &[&str]| h.ops.iter().any(|o| fs.contains(&o.f.as_str()));
    if any(&["get", "put", "append"]) {
        ModelKind::PorcupineKv
    } else if any(&["acquire", "release"]) {
        ModelKind::Mutex
    } else if any(&["enqueue", "dequeue"]) {
        ModelKind::UnorderedQueue
    } else if any(&["txn"]) && knossos_txns(h) {
        ModelKind::MultiRegister
    } else if any(&["add"]) {
        ModelKind::Set
    } else if h.ops.iter().any(|o| o.key.is_some()) {
        ModelKind::Kv
    } else if any(&["cas"]) {
        ModelKind::CasRegister
    } else {
        ModelKind::Register
    }
}

/// Whether every operation is a `txn` whose micro-ops are spelled as Knossos's multi-register
/// spells them, `[read k v]` / `[write k v]` (Elle's are `r`, `w`, `append`).
pub fn knossos_txns(h: &History) -> bool {
    let knossos = |v: &Value| {
        v.as_array().is_some_and(|ms| {
            ms.iter().all(|m| {
                matches!(
                    m.as_array().and_then(|a| a.first()).and_then(Value::as_str),
                    Some("read" | "write")
                )
            })
        })
    };
    !h.ops.is_empty()
        && h.ops
            .iter()
            .all(|o| o.f == "txn" && (knossos(&o.input) || knossos(&o.output)))
}

/// Whether an operation's value is a list of micro-ops (`[[:r k v] …]`): a transaction, not a
/// register value.
fn micro_ops(v: &Value) -> bool {
    v.as_array().is_some_and(|ms| {
        !ms.is_empty()
            && ms.iter().all(|m| {
                m.as_array()
                    .is_some_and(|a| a.len() == 3 && a[0].is_string())
            })
    })
}

impl Checker for Linearizable {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn ladder_model(&self) -> Option<crate::consistency::Model> {
        Some(crate::consistency::Model::Linearizable)
    }

    /// Every history whose operations one of the sequential models knows, and any history when
    /// `--model` names one — except set histories (adds and whole-set reads), which the set
    /// checkers take unless the set model is asked for, and read/write histories whose values
    /// are micro-op lists (long-fork's transactions).
    fn by_default(&self, shape: &Shape) -> bool {
        if shape.model.is_some() {
            return true;
        }
        let m = infer_model(shape.history);
        shape.only(m.functions())
            && m != ModelKind::Set
            && (m == ModelKind::MultiRegister
                || !shape
                    .history
                    .ops
                    .iter()
                    .any(|o| micro_ops(&o.input) || micro_ops(&o.output)))
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
