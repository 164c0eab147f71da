//! Linearizability checking against sequential models.
//!
//! The history is split by key (P-compositionality) and keys are checked in parallel. Each key
//! takes the zone test when its precondition holds (reads and writes only, unique written
//! values), and the general search otherwise. Each key has a time and a memory budget; a key not
//! decided within them is `unknown` and named, never guessed.

pub mod explain;
pub mod machine;
pub mod memo;
pub mod model;
pub mod search;
pub mod values;
pub mod witness;
pub mod zone;

pub use model::{ModelKind, ALL as MODELS};

use crate::{Anomaly, Validity};
use histories::{History, Operation};
use rayon::prelude::*;
use search::{Limits, Outcome};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    pub model: ModelKind,
    /// Time budget per key.
    pub timeout: Duration,
    /// Memory budget per key, in bytes (memo table and interned values).
    pub max_bytes: usize,
    /// Stop at the first illegal key; other keys are then left undecided.
    pub fail_fast: bool,
    /// Use the zone test where it applies (on by default; off to force the search).
    pub zone: bool,
    /// Time allowed for shrinking violations to small witnesses, shared by all keys (each key
    /// gets at most a second of it). A witness not fully shrunk is still a true witness.
    pub explain_budget: Duration,
}

impl Options {
    pub fn new(model: ModelKind) -> Self {
        Options {
            model,
            timeout: Duration::from_secs(60),
            max_bytes: 1 << 30,
            fail_fast: false,
            zone: true,
            explain_budget: Duration::from_secs(2),
        }
    }
}

/// The result for one key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyResult {
    pub key: String,
    pub valid: Validity,
    pub seconds: f64,
    /// Operations of this key in the history (before fail / unobservable info ops were removed).
    pub ops: usize,
    /// `zone`, `search`, or `skipped` (fail-fast stopped before deciding it).
    pub method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<Anomaly>,
    /// Configurations explored by the search (0 for the zone test).
    pub explored: u64,
    pub memo_bytes: usize,
    /// Time spent shrinking and explaining a violation (not part of `seconds`).
    pub explain_seconds: f64,
}

/// The result for a history.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub valid: Validity,
    pub model: &'static str,
    /// Time to decide every key, in seconds, wall clock, keys in parallel (parsing and
    /// explanations excluded).
    pub check_seconds: f64,
    /// Time spent shrinking violations to small witnesses and explaining them.
    pub explain_seconds: f64,
    pub keys: Vec<KeyResult>,
}

impl Report {
    pub fn anomalies(&self) -> impl Iterator<Item = &Anomaly> {
        self.keys.iter().filter_map(|k| k.anomaly.as_ref())
    }
}

/// Checks a history. `Err` is a sentence saying why the history does not fit the model.
pub fn check(history: &History, opts: &Options) -> Result<Report, String> {
    let start = Instant::now();
    // Every operation must fit the model: a mismatch is an error, not a verdict.
    for op in &history.ops {
        model::fits(opts.model, op)?;
    }
    // Largest keys first so that parallel workers finish together. Each key is prepared inside
    // its worker, so only the keys being checked hold their tables.
    let mut by_key: Vec<(String, Vec<&Operation>)> = history.by_key().into_iter().collect();
    by_key.sort_by_key(|(_, ops)| std::cmp::Reverse(ops.len()));
    let cancel = AtomicBool::new(false);
    let decided: Vec<(KeyResult, Option<Pending>)> = by_key
        .into_par_iter()
        .map(|(key, ops)| {
            let n = ops.len();
            if opts.fail_fast && cancel.load(Ordering::Relaxed) {
                return (skipped(key, n), None);
            }
            let p = match model::prepare(opts.model, &ops) {
                Ok(p) => p,
                Err(e) => return (undecided(key, n, e), None),
            };
            drop(ops);
            let r = check_key(&history.ops, key, n, p, opts, &cancel);
            if r.0.valid == Validity::Invalid && opts.fail_fast {
                cancel.store(true, Ordering::Relaxed);
            }
            r
        })
        .collect();
    let check_seconds = start.elapsed().as_secs_f64();
    // Explain the violations: shrink each to a small witness, in parallel across keys.
    let t_explain = Instant::now();
    let explain_deadline = t_explain + opts.explain_budget;
    let mut keys: Vec<KeyResult> = decided
        .into_par_iter()
        .map(|(mut r, pending)| {
            if let Some(Pending {
                mut prepared,
                best,
                stuck,
                frontier,
            }) = pending
            {
                let t = Instant::now();
                r.anomaly = Some(explain::search_anomaly(
                    &history.ops,
                    &prepared.ops,
                    &mut prepared.values,
                    &r.key,
                    &best,
                    witness::Hints {
                        stuck,
                        frontier,
                        check_steps: r.explored,
                    },
                    explain_deadline.min(Instant::now() + Duration::from_secs(1)),
                ));
                r.explain_seconds = t.elapsed().as_secs_f64();
            }
            r
        })
        .collect();
    let explain_seconds = t_explain.elapsed().as_secs_f64();
    if opts.fail_fast && keys.iter().any(|k| k.valid == Validity::Invalid) {
        for k in keys
            .iter_mut()
            .filter(|k| k.valid == Validity::Unknown && k.reason.as_deref() == Some("cancelled"))
        {
            *k = skipped(std::mem::take(&mut k.key), k.ops);
        }
    }
    keys.sort_by_key(|k| natural_key(&k.key));
    let valid = keys
        .iter()
        .filter(|k| k.method != "skipped")
        .fold(Validity::Valid, |acc, k| acc.and(k.valid));
    Ok(Report {
        valid,
        model: opts.model.name(),
        check_seconds,
        explain_seconds,
        keys,
    })
}

fn natural_key(k: &str) -> (u8, u64, String) {
    match k.parse::<u64>() {
        Ok(n) => (0, n, String::new()),
        Err(_) => (1, 0, k.to_string()),
    }
}

fn undecided(key: String, n: usize, reason: String) -> KeyResult {
    KeyResult {
        valid: Validity::Unknown,
        method: "search",
        reason: Some(reason),
        ..skipped(key, n)
    }
}

fn skipped(key: String, n: usize) -> KeyResult {
    KeyResult {
        key,
        valid: Validity::Unknown,
        seconds: 0.0,
        ops: n,
        method: "skipped",
        reason: Some("not checked: --fail-fast stopped at an illegal key".into()),
        anomaly: None,
        explored: 0,
        memo_bytes: 0,
        explain_seconds: 0.0,
    }
}

/// A required read or cas of a register that needs a value (other than the initial one) which no
/// write or cas invoked before it returned could have produced: a violation found in O(n)
/// without search.
fn unproducible(ops: &[model::POp], values: &model::Values) -> Option<usize> {
    use model::Kind;
    if values.strings {
        return None;
    }
    // earliest invocation of an operation producing each value
    let mut first: std::collections::HashMap<model::Val, u64> = std::collections::HashMap::new();
    for o in ops {
        if let Kind::Write(v) | Kind::Cas(_, v) = o.kind {
            let e = first.entry(v).or_insert(o.call);
            *e = (*e).min(o.call);
        }
    }
    ops.iter().enumerate().find_map(|(i, o)| {
        let need = match o.kind {
            Kind::Read(v) | Kind::Cas(v, _) if o.required && v != 0 => v,
            _ => return None,
        };
        match first.get(&need) {
            Some(&c) if c < o.ret => None,
            _ => Some(i),
        }
    })
}

/// A violation found by the search, to be explained after every key is decided.
struct Pending {
    prepared: model::Prepared,
    best: Vec<usize>,
    stuck: usize,
    /// How far the search got (see [`Outcome::Illegal`]); `NEVER` when unknown.
    frontier: u64,
}

fn check_key(
    hist: &[Operation],
    key: String,
    n: usize,
    mut p: model::Prepared,
    opts: &Options,
    cancel: &AtomicBool,
) -> (KeyResult, Option<Pending>) {
    let t0 = Instant::now();
    let mut r = KeyResult {
        key,
        valid: Validity::Valid,
        seconds: 0.0,
        ops: n,
        method: "search",
        reason: None,
        anomaly: None,
        explored: 0,
        memo_bytes: 0,
        explain_seconds: 0.0,
    };
    if opts.zone && zone::applies(&p.ops) {
        r.method = "zone";
        if let Err(v) = zone::check(&p.ops) {
            r.valid = Validity::Invalid;
            r.anomaly = Some(explain::zone_anomaly(hist, &p.ops, &p.values, &r.key, &v));
        }
        r.seconds = t0.elapsed().as_secs_f64();
        return (r, None);
    }
    if let Some(i) = unproducible(&p.ops, &p.values) {
        r.valid = Validity::Invalid;
        r.seconds = t0.elapsed().as_secs_f64();
        return (
            r,
            Some(Pending {
                prepared: p,
                best: Vec::new(),
                stuck: i,
                frontier: histories::NEVER,
            }),
        );
    }
    let limits = Limits {
        deadline: t0 + opts.timeout,
        max_bytes: opts.max_bytes,
        cancel: Some(cancel),
        max_steps: u64::MAX,
    };
    let (outcome, stats) = search::search(&p.ops, &mut p.values, limits);
    r.explored = stats.steps;
    r.memo_bytes = stats.memo_bytes;
    r.seconds = t0.elapsed().as_secs_f64();
    match outcome {
        Outcome::Linearizable(_) => (r, None),
        Outcome::Illegal {
            best,
            stuck,
            frontier,
        } => {
            r.valid = Validity::Invalid;
            (
                r,
                Some(Pending {
                    prepared: p,
                    best,
                    stuck,
                    frontier,
                }),
            )
        }
        Outcome::Unknown(why) => {
            r.valid = Validity::Unknown;
            r.reason = Some(why);
            (r, None)
        }
    }
}
