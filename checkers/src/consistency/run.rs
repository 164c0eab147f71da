//! Running the consistency checkers by model name: what `faultline check --consistency` calls.

use super::{Model, ModelReport};
use crate::causal::{self, CausalModel};
use crate::sequential::{self, Budget};
use crate::zookeeper;
use histories::History;

/// Runs the checker of `model`. `None` for [`Model::Linearizable`], whose checker
/// ([`crate::linear::check`]) has its own options and report.
pub fn check_model(h: &History, model: Model, budget: &Budget) -> Option<ModelReport> {
    Some(match model {
        Model::Linearizable => return None,
        Model::Zookeeper => zookeeper::check(h, budget),
        Model::Sequential => sequential::check(h, budget),
        Model::CausalMemory => causal::check(h, CausalModel::CausalMemory),
        Model::CausalConvergence => causal::check(h, CausalModel::CausalConvergence),
        Model::Causal => causal::check(h, CausalModel::Causal),
    })
}

/// The models that apply to the history's operations (the default of `--consistency`): all
/// six when every operation is a register `read`, `write`, `cas` or `sync`; otherwise only
/// linearizable (whose checker knows other data types).
pub fn applicable(h: &History) -> Vec<Model> {
    let register = h
        .ops
        .iter()
        .all(|o| matches!(o.f.as_str(), "read" | "write" | "cas" | "sync"));
    if register && !h.ops.is_empty() {
        Model::ALL.to_vec()
    } else {
        vec![Model::Linearizable]
    }
}

/// Parses a `--consistency` list such as `sequential,causal`; the error is one sentence.
pub fn parse_models(list: &str) -> Result<Vec<Model>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let m: Model = name.parse()?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.is_empty() {
        return Err("--consistency needs at least one model".into());
    }
    Ok(out)
}
