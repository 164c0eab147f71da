//! Causal consistency (CC), causal memory (CM) and causal convergence (CCv) of differentiated
//! read/write histories, decided through the bad patterns of Bouajjani, Enea, Guerraoui and
//! Hamza, "On verifying causal consistency" (POPL 2017):
//!
//! - CC fails iff the history has CyclicCO, WriteCOInitRead, ThinAirRead or WriteCORead;
//! - CCv fails iff CC fails or CyclicCF (conflict order plus causal order is cyclic);
//! - CM fails iff CC fails or WriteHBInitRead or CyclicHB (in some process's view).
//!
//! The causal order is (program order ∪ reads-from)⁺, represented by vector clocks over
//! processes ([`crate::memory::Clocks`]), never by a transitive closure; over linked chains
//! when the processes are too many ([`crate::memory::Memory::from_history_linked`]), where only
//! a valid verdict is one.

mod convergence;
mod cuts;
mod memory_view;
mod order;
mod patterns;

use crate::consistency::{Model, ModelReport};
use crate::memory::Memory;
use crate::Anomaly;
use histories::History;
use serde_json::json;
use std::time::Instant;

/// At most this many anomalies per pattern are reported.
pub const MAX_PER_PATTERN: usize = 8;

/// Which of the three causal models to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CausalModel {
    Causal,
    CausalMemory,
    CausalConvergence,
}

impl CausalModel {
    pub fn model(self) -> Model {
        match self {
            CausalModel::Causal => Model::Causal,
            CausalModel::CausalMemory => Model::CausalMemory,
            CausalModel::CausalConvergence => Model::CausalConvergence,
        }
    }
}

/// Checks `h` against one causal model.
pub fn check(h: &History, model: CausalModel) -> ModelReport {
    let start = Instant::now();
    let m = match Memory::from_history(h) {
        Ok(m) => m,
        Err(e) => return ModelReport::unknown(model.model(), e.0, json!({})),
    };
    check_memory(h, &m, model, start)
}

/// Checks the memory view `m` of `h` against one causal model. Over linked chains
/// ([`Memory::from_history_linked`]) only a valid verdict is one; a violation is unknown.
pub fn check_memory(h: &History, m: &Memory, model: CausalModel, start: Instant) -> ModelReport {
    let anomalies = violations(h, m, model);
    let stats = json!({
        "operations": m.len(),
        "processes": if m.linked { h.processes() } else { m.chains.len() },
        "linked_chains": m.linked.then_some(m.chains.len()),
        "keys": m.keys.len(),
        "millis": start.elapsed().as_millis() as u64,
    });
    if anomalies.is_empty() {
        ModelReport::valid(model.model(), stats)
    } else if m.linked {
        ModelReport::unknown(model.model(), m.linked_reason(h.processes()), stats)
    } else {
        ModelReport::invalid(model.model(), anomalies, stats)
    }
}

/// Every bad pattern of `model` found in `m` (empty: the model holds).
pub fn violations(h: &History, m: &Memory, model: CausalModel) -> Vec<Anomaly> {
    let mut out = patterns::thin_air(h, m);
    let co = match order::causal_order(h, m) {
        Ok(co) => co,
        Err(a) => {
            out.push(*a);
            return out;
        }
    };
    out.extend(patterns::write_co_init_read(h, m, &co));
    out.extend(patterns::write_co_read(h, m, &co));
    match model {
        CausalModel::Causal => {}
        CausalModel::CausalConvergence => out.extend(convergence::cyclic_cf(h, m, &co)),
        CausalModel::CausalMemory => out.extend(memory_view::happens_before(h, m, &co)),
    }
    out
}
