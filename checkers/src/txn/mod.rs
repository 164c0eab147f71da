//! Transactional isolation, Elle-style (Kingsbury and Alvaro, VLDB 2020; Adya's G-classes):
//! from a history of `txn` operations over list-append or rw-register keys, infer the version
//! order of each key, build the dependency graph (ww, wr, rw, process and real-time orders),
//! find and classify its cycles, add the non-cycle anomalies, and decide each isolation model.
//!
//! Each model's verdict is decided from the strongly connected components of its own graph
//! (linear time, whatever the size); the search for cycles of particular classes inside large
//! components only sharpens the explanation and runs within a budget. Where inference leaves
//! a key's version order open, [`completion`] looks for an order that keeps the model's graph
//! acyclic before calling it satisfied.
//!
//! ```
//! use checkers::txn::{check, Options, IsolationModel};
//! let jsonl = r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["r","y",null]]}
//! {"index":1,"time":1,"type":"invoke","process":1,"f":"txn","value":[["append","y",1],["r","x",null]]}
//! {"index":2,"time":2,"type":"ok","process":0,"f":"txn","value":[["append","x",1],["r","y",[]]]}
//! {"index":3,"time":3,"type":"ok","process":1,"f":"txn","value":[["append","y",1],["r","x",[]]]}
//! "#;
//! let h = histories::parse_jsonl(jsonl).unwrap();
//! let r = check(&h, &Options::default()).unwrap();
//! // Write skew: snapshot isolation allows it (with sessions too), serializability does not.
//! assert_eq!(r.strongest, vec![IsolationModel::StrongSessionSnapshotIsolation]);
//! assert!(r.anomaly_types.contains(&"G2-item".to_string()));
//! ```

mod completion;
mod cycles;
mod explain;
mod findings;
mod graph;
mod list_append;
mod models;
mod rw_register;
mod versions;
mod view;

pub use models::{CycleClass, IsolationModel, Variant};
pub use view::{KeyType, TxnHistory};

use crate::{Anomaly, Validity};
use completion::Completion;
use explain::Explainer;
use graph::EdgeList;
use histories::{History, OpStatus};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Instant;

/// What to check and how hard to look.
#[derive(Debug, Clone)]
pub struct Options {
    /// The models to decide (all of them by default).
    pub models: Vec<IsolationModel>,
    /// Steps (transactions visited) the class search may take in all.
    pub cycle_budget: u64,
    /// Combinations of open version orders the completion search may try per model.
    pub completion_limit: usize,
    /// Cycles kept per class, and findings per kind.
    pub per_kind: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            models: IsolationModel::ALL.to_vec(),
            cycle_budget: 2_000_000,
            completion_limit: 20_000,
            per_kind: 4,
        }
    }
}

/// One model's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ModelVerdict {
    pub model: IsolationModel,
    pub valid: Validity,
    /// The anomaly kinds (cycle classes, non-cycle kinds) that rule it out.
    pub because: Vec<String>,
    /// Why it is unknown, or how it was decided when that took a search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The transaction checker's answer.
#[derive(Debug, Clone, Serialize)]
pub struct TxnReport {
    /// Over the requested models: invalid if any is violated, else unknown if any is unknown.
    pub valid: Validity,
    /// "list-append", "rw-register" or "mixed".
    pub workload: &'static str,
    pub models: Vec<ModelVerdict>,
    /// The strongest models satisfied (among those checked).
    pub strongest: Vec<IsolationModel>,
    pub summary: String,
    pub anomaly_types: Vec<String>,
    pub anomalies: Vec<Anomaly>,
    /// Searches that ran out of budget, each saying what was proven.
    pub unfinished: Vec<String>,
    pub stats: Value,
}

impl TxnReport {
    fn refused(models: &[IsolationModel], reason: String, workload: &'static str) -> TxnReport {
        TxnReport {
            valid: Validity::Unknown,
            workload,
            models: models
                .iter()
                .map(|&m| ModelVerdict {
                    model: m,
                    valid: Validity::Unknown,
                    because: Vec::new(),
                    reason: Some(reason.clone()),
                })
                .collect(),
            strongest: Vec::new(),
            summary: format!("undecided: {reason}"),
            anomaly_types: Vec::new(),
            anomalies: Vec::new(),
            unfinished: Vec::new(),
            stats: Value::Null,
        }
    }

    pub fn verdict(&self, m: IsolationModel) -> Option<Validity> {
        self.models.iter().find(|v| v.model == m).map(|v| v.valid)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A human-readable account: each model's verdict, the ladder, and each anomaly with its
    /// transactions and one line per edge.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for m in &self.models {
            s.push_str(&format!("  {}: {}", m.model, m.valid.as_str()));
            if !m.because.is_empty() {
                s.push_str(&format!(" ({})", m.because.join(", ")));
            }
            if let Some(r) = &m.reason {
                s.push_str(&format!(" — {r}"));
            }
            s.push('\n');
        }
        s.push_str(&format!("  {}\n", self.summary));
        for a in &self.anomalies {
            if a.explanation.starts_with(&a.kind) {
                s.push_str(&format!("  {}\n", a.explanation));
            } else {
                s.push_str(&format!("  {}: {}\n", a.kind, a.explanation));
            }
            for o in &a.ops {
                s.push_str(&format!("    {}\n", o.text));
            }
            if let Some(edges) = a.details.get("edges").and_then(|e| e.as_array()) {
                for e in edges {
                    if let Some(t) = e.get("explanation").and_then(|t| t.as_str()) {
                        s.push_str(&format!("    - {t}\n"));
                    }
                }
            }
        }
        for u in &self.unfinished {
            s.push_str(&format!("  note: {u}\n"));
        }
        s
    }
}

/// Checks a history of `txn` operations. `Err` is one sentence about malformed input (not a
/// transaction history, a malformed micro-op); histories the inference cannot read (values
/// not unique per key) get an `unknown` report saying why.
pub fn check(h: &History, opts: &Options) -> Result<TxnReport, String> {
    let t0 = Instant::now();
    let th = view::TxnHistory::from_history(h)?;
    let has = |ty: KeyType| th.key_types.contains(&ty);
    let workload = match (has(KeyType::List), has(KeyType::Register)) {
        (true, true) => "mixed",
        (false, true) => "rw-register",
        _ => "list-append",
    };
    let n = th.txns.len();
    let mut in_graph: Vec<bool> = th.txns.iter().map(|t| t.status == OpStatus::Ok).collect();
    if let Err(e) = list_append::mark_observed(&th, &mut in_graph)
        .and_then(|_| rw_register::mark_observed(&th, &mut in_graph))
    {
        return Ok(TxnReport::refused(&opts.models, e, workload));
    }
    let list = match list_append::infer(&th, &in_graph) {
        Ok(l) => l,
        Err(e) => return Ok(TxnReport::refused(&opts.models, e, workload)),
    };
    let reg = match rw_register::infer(&th, &in_graph) {
        Ok(r) => r,
        Err(e) => return Ok(TxnReport::refused(&opts.models, e, workload)),
    };
    let mut versions = list.versions;
    versions.extend(reg.versions);
    let mut found = list.findings;
    found.extend(reg.findings);
    let t_infer = t0.elapsed();

    let mut edges = EdgeList::default();
    for kv in &versions {
        kv.known_edges(&mut edges);
    }
    graph::process_edges(&th, &in_graph, &mut edges);
    graph::realtime_edges(&th, &in_graph, &mut edges);
    edges.dedup();
    let g = graph::build(n, &edges);
    let t_graph = t0.elapsed();

    let search = cycles::search(&g, opts.cycle_budget, opts.per_kind);
    let t_search = t0.elapsed();
    let ex = Explainer::new(h, &th, &versions);

    // Anomalies: classified cycles, then findings (a few of each kind).
    let mut anomalies: Vec<Anomaly> = Vec::new();
    let mut classes: Vec<(CycleClass, Variant)> = Vec::new();
    let cycle_anomaly = |anomalies: &mut Vec<Anomaly>,
                         classes: &mut Vec<(CycleClass, Variant)>,
                         cl: CycleClass,
                         va: Variant,
                         steps: &[explain::Step]| {
        let kind = cl.name(va);
        if anomalies.iter().filter(|a| a.kind == kind).count() < opts.per_kind {
            anomalies.push(ex.cycle(&kind, cl.meaning(), steps, ""));
        }
        if !classes.contains(&(cl, va)) {
            classes.push((cl, va));
        }
    };
    for c in &search.cycles {
        let steps = explain::steps(&g, &c.edges, None);
        cycle_anomaly(&mut anomalies, &mut classes, c.class, c.variant, &steps);
    }
    let mut finding_kinds: Vec<&'static str> = Vec::new();
    for f in &found {
        if anomalies.iter().filter(|a| a.kind == f.kind()).count() < opts.per_kind {
            anomalies.push(ex.finding(f));
        }
        if !finding_kinds.contains(&f.kind()) {
            finding_kinds.push(f.kind());
        }
    }

    // Verdicts, strongest model first.
    let mut verdicts: Vec<ModelVerdict> = Vec::new();
    let mut completions = 0usize;
    for m in IsolationModel::ALL {
        if !opts.models.contains(&m) {
            continue;
        }
        let mut because: Vec<String> = finding_kinds
            .iter()
            .filter(|k| m.proscribes_finding(k))
            .map(|k| k.to_string())
            .collect();
        let spec = m.graph();
        if let Some(c) = cycles::model_cycle(&g, spec) {
            let (cl, va) = cycles::classify(&g, &c);
            if !classes.contains(&(cl, va)) {
                let steps = explain::steps(&g, &c, None);
                cycle_anomaly(&mut anomalies, &mut classes, cl, va, &steps);
            }
        }
        for &(cl, va) in &classes {
            if m.proscribes_cycle(cl, va) {
                because.push(cl.name(va));
            }
        }
        if !because.is_empty() {
            verdicts.push(ModelVerdict {
                model: m,
                valid: Validity::Invalid,
                because,
                reason: None,
            });
            continue;
        }
        let implied = verdicts
            .iter()
            .any(|v| v.valid == Validity::Valid && v.model.stronger_or_equal(m));
        if implied {
            verdicts.push(ModelVerdict {
                model: m,
                valid: Validity::Valid,
                because,
                reason: None,
            });
            continue;
        }
        completions += 1;
        let v = match completion::complete(n, &edges, &g, &versions, spec, opts.completion_limit)
        {
            Completion::Holds { searched } => ModelVerdict {
                model: m,
                valid: Validity::Valid,
                because,
                reason: searched.then(|| {
                    "the first completion of open version orders made a cycle; a search found one that does not".to_string()
                }),
            },
            Completion::Unknown(r) => ModelVerdict {
                model: m,
                valid: Validity::Unknown,
                because,
                reason: Some(r),
            },
            Completion::Fails {
                keys,
                combinations,
                branches,
            } => {
                let names: Vec<&str> = keys.iter().map(|&k| th.key(versions[k].key)).collect();
                for b in &branches {
                    let (cl, va) = cycles::classify(&b.graph, &b.cycle);
                    let steps = explain::steps(&b.graph, &b.cycle, Some(&edges));
                    let orders: Vec<String> = b
                        .orders
                        .iter()
                        .map(|(k, o)| {
                            let kv = &versions[*k];
                            format!(
                                "{} ordered {}",
                                th.key(kv.key),
                                o.iter()
                                    .map(|&p| ex_value(&th, kv, p))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })
                        .collect();
                    let prefix = format!(
                        "no order of the writes to {} avoids a cycle for {} ({} orders tried); with {}: ",
                        names.join(", "),
                        m,
                        combinations,
                        orders.join("; ")
                    );
                    let kind = format!("{}-every-order", cl.name(va));
                    anomalies.push(ex.cycle(&kind, cl.meaning(), &steps, &prefix));
                    because.push(kind);
                }
                because.dedup();
                ModelVerdict {
                    model: m,
                    valid: Validity::Invalid,
                    because,
                    reason: Some(format!(
                        "every order of the writes to {} makes a cycle ({combinations} orders tried)",
                        names.join(", ")
                    )),
                }
            }
        };
        verdicts.push(v);
    }
    let t_models = t0.elapsed();

    let holds = |m: IsolationModel| {
        verdicts
            .iter()
            .any(|v| v.model == m && v.valid == Validity::Valid)
    };
    let strongest: Vec<IsolationModel> = IsolationModel::ALL
        .into_iter()
        .filter(|&m| holds(m))
        .filter(|&m| {
            !IsolationModel::ALL
                .into_iter()
                .any(|s| s != m && s.stronger_or_equal(m) && holds(s))
        })
        .collect();
    let requested: Vec<ModelVerdict> = verdicts
        .into_iter()
        .filter(|v| opts.models.contains(&v.model))
        .collect();
    let valid = requested
        .iter()
        .fold(Validity::Valid, |a, v| a.and(v.valid));
    let mut anomaly_types: Vec<String> = anomalies.iter().map(|a| a.kind.clone()).collect();
    anomaly_types.sort();
    anomaly_types.dedup();
    let violated: Vec<&str> = requested
        .iter()
        .filter(|v| v.valid == Validity::Invalid)
        .map(|v| v.model.name())
        .collect();
    let mut summary = if strongest.is_empty() {
        "no isolation model holds".to_string()
    } else {
        format!(
            "strongest isolation satisfied: {}",
            strongest
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(" and ")
        )
    };
    if !violated.is_empty() {
        summary.push_str(&format!("; violated: {}", violated.join(", ")));
    }
    let unknown: Vec<&str> = requested
        .iter()
        .filter(|v| v.valid == Validity::Unknown)
        .map(|v| v.model.name())
        .collect();
    if !unknown.is_empty() {
        summary.push_str(&format!("; undecided: {}", unknown.join(", ")));
    }
    let committed = in_graph.iter().filter(|&&x| x).count();
    let stats = json!({
        "transactions": n,
        "in_graph": committed,
        "keys": th.keys.len(),
        "edges": g.edge_count(),
        "cycle_search_steps": search.steps,
        "completions": completions,
        "infer_seconds": t_infer.as_secs_f64(),
        "graph_seconds": (t_graph - t_infer).as_secs_f64(),
        "search_seconds": (t_search - t_graph).as_secs_f64(),
        "models_seconds": (t_models - t_search).as_secs_f64(),
    });
    Ok(TxnReport {
        valid,
        workload,
        models: requested,
        strongest,
        summary,
        anomaly_types,
        anomalies,
        unfinished: search.unfinished,
        stats,
    })
}

fn ex_value(th: &TxnHistory, kv: &versions::KeyVersions, p: u32) -> String {
    th.value(kv.versions[p as usize].value).to_string()
}

/// Parses a comma-separated list of isolation models; the error is one sentence.
pub fn parse_models(list: &str) -> Result<Vec<IsolationModel>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let m: IsolationModel = name.parse()?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.is_empty() {
        return Err("at least one isolation model is needed".into());
    }
    Ok(out)
}
