//! One checking path: the suite runs the checkers a history needs — or the ones asked for by
//! name — and returns the `checkers` map of results.json (Contract 3): for each checker
//! `{valid, anomalies, stats, explanation}`, the same whichever command asked (`faultline
//! check`, `analyze` or `test`).
//!
//! Every checker is one [`Checker`] in [`CHECKERS`], the one registration point: its name (on
//! the command line and in results.json), whether it runs on a history by default, and how it
//! checks. Adding one (set-full, counter, bank, txn, …) is one file with an `impl Checker` and one
//! line in [`CHECKERS`].
//!
//! Verdicts of the consistency ladder (linearizable ⊂ zookeeper ⊂ sequential ⊂ causal-memory,
//! causal-convergence ⊂ causal) are combined through [`Ladder`]: a model left undecided by its
//! own checker but implied by a stronger model found valid counts as valid.

mod linearizable;
mod models;
mod txn;

pub use linearizable::{infer_model, Linearizable};
pub use models::LadderModel;

use crate::consistency::{Ladder, Model, ModelReport};
use crate::linear::{self, ModelKind};
use crate::{Anomaly, Validity};
use histories::History;
use serde::Serialize;
use serde_json::{Map, Value};
use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::time::Duration;

/// How the checkers may spend their budget, and choices the user made.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sequential model of the linearizability checker; `None`: inferred from the history
    /// ([`infer_model`]).
    pub model: Option<ModelKind>,
    /// Time budget per key (linearizable) and per model (sequential, zookeeper).
    pub timeout: Duration,
    /// Memory budget per key of the linearizability checker, in bytes.
    pub max_bytes: usize,
    /// Stop the linearizability checker at the first illegal key.
    pub fail_fast: bool,
    /// Let the linearizability checker take the zone test where it applies.
    pub zone: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            model: None,
            timeout: Duration::from_secs(60),
            max_bytes: 1 << 30,
            fail_fast: false,
            zone: true,
        }
    }
}

/// Why the suite could not check a history: the history (or the request) is bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuiteError {
    /// The history's operations do not fit a checker that was asked for (or chosen).
    #[error("{0}")]
    DoesNotFit(String),
    /// No registered checker runs on these operations by default.
    #[error("no checker runs on a history of {functions} operations by default; name one with --consistency ({})", names().join(", "))]
    NoChecker { functions: String },
    #[error("unknown checker {0:?}; expected one of {known}", known = names().join(", "))]
    UnknownChecker(String),
    #[error("--consistency needs at least one checker")]
    Empty,
}

/// What the suite knows about a history when it chooses checkers: computed once, shared by
/// every checker's [`Checker::by_default`].
pub struct Shape<'h> {
    pub history: &'h History,
    /// Every operation's `f`.
    pub functions: BTreeSet<&'h str>,
    /// The sequential model the user asked for (`--model`), if any.
    pub model: Option<ModelKind>,
    differentiated: OnceCell<bool>,
}

impl<'h> Shape<'h> {
    pub fn of(history: &'h History) -> Shape<'h> {
        Shape {
            history,
            functions: history.ops.iter().map(|o| o.f.as_str()).collect(),
            model: None,
            differentiated: OnceCell::new(),
        }
    }

    /// The shape, knowing which model the user asked for.
    pub fn with_model(mut self, model: Option<ModelKind>) -> Shape<'h> {
        self.model = model;
        self
    }

    /// Whether every operation's `f` is one of `fs`.
    pub fn only(&self, fs: &[&str]) -> bool {
        self.functions.iter().all(|f| fs.contains(f))
    }

    /// Whether the history is a register history with unique written values per key (what the
    /// models below linearizability decide).
    pub fn differentiated(&self) -> bool {
        *self.differentiated.get_or_init(|| {
            crate::consistency::applicable(self.history).len() > 1
                && crate::memory::Memory::from_history(self.history).is_ok()
        })
    }
}

/// What one checker found, as results.json holds it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckerReport {
    pub valid: Validity,
    pub anomalies: Vec<Anomaly>,
    /// Sizes, counters and times.
    pub stats: Value,
    /// One sentence: what holds, what went wrong, or why it is unknown.
    pub explanation: String,
    /// The checker's own report, for the command line's text.
    #[serde(skip)]
    pub detail: Detail,
}

/// A checker's own report, kept beside the common shape.
#[derive(Debug, Clone, Default)]
pub enum Detail {
    Linear(linear::Report),
    Model(ModelReport),
    #[default]
    None,
}

/// A checker the suite can run.
pub trait Checker: Sync {
    /// Its name on the command line and in results.json.
    fn name(&self) -> &'static str;
    /// Its model on the consistency ladder, if it has one.
    fn ladder_model(&self) -> Option<Model> {
        None
    }
    /// Whether it runs on this history when no checker is asked for by name.
    fn by_default(&self, shape: &Shape) -> bool;
    /// Checks the history. An error says why the history does not fit this checker.
    fn check(&self, h: &History, opts: &Options) -> Result<CheckerReport, SuiteError>;
}

/// Every checker, in the order the suite runs and reports them. The one registration point.
pub static CHECKERS: &[&dyn Checker] = &[
    &Linearizable,
    &LadderModel(Model::Zookeeper),
    &LadderModel(Model::Sequential),
    &LadderModel(Model::CausalMemory),
    &LadderModel(Model::CausalConvergence),
    &LadderModel(Model::Causal),
    &crate::set::SetChecker,
    &crate::workload::set_full::SetFull,
    &crate::workload::counter::Counter,
    &crate::workload::bank::Bank,
    &crate::workload::unique_ids::UniqueIds,
    &crate::workload::long_fork::LongFork,
    &crate::liveness::Liveness,
    &txn::MODELS[0],
    &txn::MODELS[1],
    &txn::MODELS[2],
    &txn::MODELS[3],
    &txn::MODELS[4],
    &txn::MODELS[5],
    &txn::MODELS[6],
    &txn::MODELS[7],
    &txn::MODELS[8],
    &txn::MODELS[9],
];

/// The registered checkers' names.
pub fn names() -> Vec<&'static str> {
    CHECKERS.iter().map(|c| c.name()).collect()
}

/// Parses a comma-separated list of checker names (`--consistency sequential,causal`).
pub fn parse_list(list: &str) -> Result<Vec<&'static dyn Checker>, SuiteError> {
    let mut out: Vec<&'static dyn Checker> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let c = *CHECKERS
            .iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| SuiteError::UnknownChecker(name.to_string()))?;
        if !out.iter().any(|o| o.name() == c.name()) {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Err(SuiteError::Empty);
    }
    Ok(out)
}

/// The checkers that run on `h` when none is asked for by name (`model`: the one `--model`
/// named, which makes the linearizability checker run).
pub fn defaults(h: &History, model: Option<ModelKind>) -> Vec<&'static dyn Checker> {
    let shape = Shape::of(h).with_model(model);
    CHECKERS
        .iter()
        .copied()
        .filter(|c| c.by_default(&shape))
        .collect()
}

/// Everything the suite found.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// The verdict over every checker that ran (ladder models as the ladder propagates them).
    pub valid: Validity,
    /// Each checker's report, in [`CHECKERS`] order.
    pub checkers: Vec<(&'static str, CheckerReport)>,
    /// The ladder, when more than one of its models was checked.
    pub ladder: Option<Ladder>,
}

impl SuiteReport {
    /// The `checkers` map of results.json.
    pub fn checkers_json(&self) -> Value {
        let mut m = Map::new();
        for (name, r) in &self.checkers {
            m.insert(
                (*name).to_string(),
                serde_json::to_value(r).unwrap_or(Value::Null),
            );
        }
        Value::Object(m)
    }

    /// One checker's report.
    pub fn get(&self, name: &str) -> Option<&CheckerReport> {
        self.checkers.iter().find(|(n, _)| *n == name).map(|x| &x.1)
    }

    /// Every checker's explanation, joined into one line.
    pub fn explanation(&self) -> String {
        self.checkers
            .iter()
            .map(|(_, r)| r.explanation.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Checks `h` with `which` (in [`CHECKERS`] order), or with [`defaults`] when `None`.
pub fn check(
    h: &History,
    which: Option<&[&'static dyn Checker]>,
    opts: &Options,
) -> Result<SuiteReport, SuiteError> {
    let chosen: Vec<&'static dyn Checker> = match which {
        Some(w) => w.to_vec(),
        None => defaults(h, opts.model),
    };
    if chosen.is_empty() {
        let functions: Vec<&str> = Shape::of(h).functions.into_iter().collect();
        return Err(SuiteError::NoChecker {
            functions: functions.join("/"),
        });
    }
    let mut checkers = Vec::new();
    for c in CHECKERS
        .iter()
        .filter(|c| chosen.iter().any(|x| x.name() == c.name()))
    {
        checkers.push((c.name(), c.check(h, opts)?));
    }
    let verdicts: Vec<(Model, Validity)> = checkers
        .iter()
        .filter_map(|(name, r)| ladder_model(name).map(|m| (m, r.valid)))
        .collect();
    let ladder = (!verdicts.is_empty()).then(|| Ladder::from_verdicts(&verdicts));
    let valid = checkers.iter().fold(Validity::Valid, |acc, (name, r)| {
        let propagated = ladder
            .as_ref()
            .zip(ladder_model(name))
            .and_then(|(l, m)| l.models.iter().find(|e| e.model == m))
            .map_or(r.valid, |e| e.valid);
        acc.and(propagated)
    });
    Ok(SuiteReport {
        valid,
        checkers,
        ladder: ladder.filter(|_| verdicts.len() > 1),
    })
}

fn ladder_model(name: &str) -> Option<Model> {
    CHECKERS
        .iter()
        .find(|c| c.name() == name)
        .and_then(|c| c.ladder_model())
}
