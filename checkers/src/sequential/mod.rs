//! Sequential consistency of multi-key register histories: one total order of all operations
//! that respects each process's program order and the register semantics, ignoring real time.
//!
//! Sequential consistency is not compositional by key, so this reasons across keys:
//! 1. the history must be differentiated ([`crate::memory`]);
//! 2. necessary conditions: causal convergence and plain causal consistency
//!    ([`crate::causal`]); causal memory's patterns name a violation saturation finds;
//! 3. guided searches (real time among all operations, then among updates), each over its own
//!    saturated graph: an order found there is a sequential order, and most histories from real
//!    stores are decided here, the first guide running alongside step 2;
//! 4. otherwise a constraint graph of program order and reads-from, saturated with the orders
//!    reads force ([`saturation`]) — a cycle is a violation — and a search for a total order
//!    over what saturation leaves open ([`search`]), within a [`Budget`]; when the budget runs
//!    out the verdict is unknown.

mod saturation;
mod search;

pub use saturation::saturate;
pub use search::{search, Budget, SearchOutcome};

use crate::causal::{self, CausalModel};
use crate::consistency::{anomaly, Model, ModelReport};
use crate::memory::{explain_path, Edge, Graph, Memory};
use histories::History;
use serde_json::json;
use std::time::Instant;

/// Checks `h` for sequential consistency.
pub fn check(h: &History, budget: &Budget) -> ModelReport {
    let m = match Memory::from_history(h) {
        Ok(m) => m,
        Err(e) => return ModelReport::unknown(Model::Sequential, e.0, json!({})),
    };
    check_memory(h, &m, budget)
}

/// Checks the memory view `m` of `h` for sequential consistency. Over linked chains
/// ([`Memory::from_history_linked`]) an order found is a sequential order (it respects more
/// than program order), but a violation is unknown.
pub fn check_memory(h: &History, m: &Memory, budget: &Budget) -> ModelReport {
    let r = decide(h, m, Vec::new(), budget, Model::Sequential);
    unless_linked(h, m, r)
}

/// A report found over linked chains: invalid becomes unknown (see [`Memory::linked_reason`]).
pub fn unless_linked(h: &History, m: &Memory, r: ModelReport) -> ModelReport {
    if m.linked && r.valid == crate::Validity::Invalid {
        let mut stats = r.stats;
        stats["linked_chains"] = json!(m.chains.len());
        return ModelReport::unknown(r.model, m.linked_reason(h.processes()), stats);
    }
    r
}

/// The shared engine of sequential consistency and ZooKeeper's fallback: `extra` edges (such
/// as real-time order among updates) are added to program order and reads-from.
pub fn decide(
    h: &History,
    m: &Memory,
    extra: Vec<Edge>,
    budget: &Budget,
    model: Model,
) -> ModelReport {
    let start = Instant::now();
    let ops = m.nodes.iter().filter(|n| n.op.is_some()).count();
    let mut edges = m.rf_edges();
    edges.extend(extra);
    let third = Budget {
        time: budget.time / 3,
        states: budget.states / 3,
    };
    // 2. Necessary conditions: causal convergence (which includes plain causal consistency);
    // causal memory, costlier, only once saturation has found a violation, to name it.
    // 3. Guided searches, the first alongside the causal checks (two cores): most histories
    // worth checking come from stores that order updates in real time (and often everything).
    // An order that also respects real time among all operations, or among updates, is a
    // sequential order too; either constraint narrows the search to (nearly) one path when it
    // holds. Each may use a third of the budget. When one succeeds, the unguided saturation
    // below is never needed.
    let (necessary, first) = rayon::join(
        || causal::violations(h, m, CausalModel::CausalConvergence),
        || guided(h, m, &edges, true, &third),
    );
    if !necessary.is_empty() {
        return causal_invalid(model, necessary, ops, start);
    }
    tracing::debug!(
        millis = start.elapsed().as_millis() as u64,
        "causal checks and real-time guided search done"
    );
    let mut found = first.map(|f| (f, "real-time guided"));
    if found.is_none() && model != Model::Zookeeper {
        // ZooKeeper's own constraint is update order: the full search below is this guide.
        found = guided(h, m, &edges, false, &third).map(|f| (f, "update-order guided"));
    }
    if let Some(((states, guided_edges, rounds), label)) = found {
        let stats = json!({
            "operations": ops,
            "edges": guided_edges,
            "saturation_rounds": rounds,
            "search_states": states,
            "search": label,
            "millis": start.elapsed().as_millis() as u64,
        });
        return ModelReport::valid(model, stats);
    }
    // 4a. Saturation of program order and reads-from: a cycle is a violation.
    let mut g = Graph::new(m, edges);
    let rounds = match saturate(m, &mut g) {
        Ok(r) => r,
        Err(cycle) => {
            let named = causal::violations(h, m, CausalModel::CausalMemory);
            if !named.is_empty() {
                return causal_invalid(model, named, ops, start);
            }
            let (nodes, sentences, js) = explain_path(h, m, &cycle.0);
            let a = anomaly(
                h,
                m,
                "cycle",
                None,
                &nodes,
                format!(
                    "no total order can place these operations: each must come before the next, round a cycle: {}",
                    sentences.join("; ")
                ),
                json!({"edges": js}),
            );
            return ModelReport::invalid(
                model,
                vec![a],
                json!({"operations": ops, "stage": "saturation", "millis": start.elapsed().as_millis() as u64}),
            );
        }
    };
    tracing::debug!(
        millis = start.elapsed().as_millis() as u64,
        rounds,
        "saturated"
    );
    let mut stats = json!({
        "operations": ops,
        "edges": g.edges.len(),
        "saturation_rounds": rounds,
    });
    // 4b. The full search over what saturation leaves open.
    let rest = Budget {
        time: budget.time.saturating_sub(start.elapsed()),
        states: budget.states,
    };
    let outcome = search(h, m, &g, &rest);
    stats["search"] = json!("full");
    stats["millis"] = json!(start.elapsed().as_millis() as u64);
    match outcome {
        SearchOutcome::Found { states, .. } => {
            stats["search_states"] = json!(states);
            ModelReport::valid(model, stats)
        }
        SearchOutcome::Exhausted { states, anomaly } => {
            stats["search_states"] = json!(states);
            stats["stage"] = json!("search");
            ModelReport::invalid(model, vec![anomaly], stats)
        }
        SearchOutcome::OutOfBudget { states, placed } => {
            stats["search_states"] = json!(states);
            ModelReport::unknown(
                model,
                format!(
                    "the search for a total order ran out of its budget ({:?}, {} states) after placing at most {placed} of {ops} operations",
                    budget.time, budget.states
                ),
                stats,
            )
        }
    }
}

/// One guided search: `edges` plus real-time barriers (among all operations when `all`,
/// among updates otherwise), saturated, then searched. `Some((states, edges, rounds))` when it
/// found an order.
fn guided(
    h: &History,
    m: &Memory,
    edges: &[Edge],
    all: bool,
    budget: &Budget,
) -> Option<(u64, usize, usize)> {
    let mut guided = m.clone();
    let mut guided_edges = edges.to_vec();
    guided_edges.extend(guided.add_realtime_barriers(h, all));
    let mut ga = Graph::new(&guided, guided_edges);
    let rounds = saturate(&guided, &mut ga).ok()?;
    match search(h, &guided, &ga, budget) {
        SearchOutcome::Found { states, .. } => Some((states, ga.edges.len(), rounds)),
        _ => None,
    }
}

fn causal_invalid(
    model: Model,
    mut anomalies: Vec<crate::Anomaly>,
    ops: usize,
    start: Instant,
) -> ModelReport {
    for a in &mut anomalies {
        a.explanation = format!(
            "{} (a {} pattern; {model} implies causal memory and causal convergence)",
            a.explanation, a.kind
        );
    }
    ModelReport::invalid(
        model,
        anomalies,
        json!({"operations": ops, "stage": "causal", "millis": start.elapsed().as_millis() as u64}),
    )
}
