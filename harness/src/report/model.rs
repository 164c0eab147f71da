//! The page's data, computed once from what a report is made of (a history, its results.json,
//! the run's test.json and node logs): the verdicts, each anomaly with its time, nodes, faults
//! and witness operations, the fault windows and every node's roles. The renderers only draw
//! what is here, so this is what the unit tests check.

use super::faults::{self, Window};
use super::nodelog::{LogLine, NodeLog};
use super::roles::{self, Span};
use checkers::consistency::{Ladder, Model};
use checkers::Validity;
use histories::{History, OpStatus, Operation};
use serde_json::Value;
use std::collections::BTreeSet;

/// At most this many anomalies are explained one by one; the others are counted.
pub const MAX_ANOMALIES: usize = 50;
/// Node log lines shown per node around an anomaly.
pub const LOG_LINES: usize = 12;
/// Anomalies whose node log lines are shown.
pub const MAX_LOGGED: usize = 10;

/// What a report is made of.
pub struct Input<'a> {
    /// The page's title: the run's test name and time, or the history file's name.
    pub title: String,
    /// Where it came from: the run directory or the history file.
    pub source: String,
    pub history: &'a History,
    /// results.json's shape: `{valid, checkers: {name: {valid, anomalies, stats, explanation}}}`.
    pub results: &'a Value,
    /// The run's test.json, when there is a run.
    pub test: Option<&'a Value>,
    /// The nodes' logs, parsed on the history's clock.
    pub node_logs: Vec<NodeLog>,
}

/// One checker's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckerRow {
    pub name: String,
    /// `valid`, `invalid` or `unknown`.
    pub valid: &'static str,
    pub explanation: String,
    pub anomalies: usize,
}

/// An operation named by an anomaly.
#[derive(Debug, Clone, PartialEq)]
pub struct Witness {
    /// Its position in `History::ops`, when it was found there.
    pub op: Option<usize>,
    pub line: usize,
    pub ret_line: Option<usize>,
    pub process: u64,
    pub f: String,
    /// `process 6 read 3 -> 299 (ok)`.
    pub text: String,
    /// What a read returned, or what the operation wrote (`[from, to]` for a cas).
    pub value: Value,
    pub status: String,
    pub node: Option<String>,
    pub call: Option<u64>,
    pub ret: Option<u64>,
}

/// One anomaly, ready to be explained.
#[derive(Debug, Clone)]
pub struct AnomalyView {
    /// `a1`, `a2`, … (the page's anchors).
    pub id: String,
    pub checker: String,
    pub kind: String,
    pub key: Option<String>,
    /// The checker's sentence.
    pub explanation: String,
    pub witness: Vec<Witness>,
    /// From the first witness invocation to the last witness completion (ns), if timed.
    pub span: Option<(u64, u64)>,
    /// The nodes that served the witness operations, in order of first appearance.
    pub nodes: Vec<String>,
    /// Indices into [`Page::faults`] of the faults in force during the span.
    pub faults: Vec<usize>,
    /// The last fault that ended before the span began, when none was in force.
    pub previous_fault: Option<usize>,
    /// Node log lines around the span, per node (only for the first [`MAX_LOGGED`]).
    pub logs: Vec<(String, Vec<LogLine>)>,
}

/// What the run was: seed, rerun command, options.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub name: String,
    pub seed: Option<u64>,
    pub rerun: Option<String>,
    pub system: String,
    pub workload: String,
    pub nemesis: String,
    /// test.json without the bulky cluster description, pretty-printed.
    pub options: String,
}

/// Everything the page shows.
pub struct Page<'a> {
    pub title: String,
    pub source: String,
    pub history: &'a History,
    pub verdict: &'static str,
    pub explanation: String,
    pub checkers: Vec<CheckerRow>,
    /// The consistency ladder's summary (`strongest model satisfied: …`), or the transaction
    /// checker's strongest model.
    pub strongest: Option<String>,
    pub anomalies: Vec<AnomalyView>,
    /// All anomalies, including those past [`MAX_ANOMALIES`].
    pub anomalies_total: usize,
    pub faults: Vec<Window>,
    pub nodes: Vec<String>,
    pub roles: Vec<Span>,
    /// Whether the node logs could be placed on the history's clock.
    pub logs_timed: bool,
    /// The time of the history's last event (ns).
    pub end: u64,
    /// Operations by outcome: ok, fail, info.
    pub counts: [usize; 3],
    pub run: Option<RunInfo>,
}

/// `true`/`false`/`"unknown"` as a word.
pub fn validity_word(v: &Value) -> &'static str {
    match v {
        Value::Bool(true) => "valid",
        Value::Bool(false) => "invalid",
        _ => "unknown",
    }
}

fn validity_of(v: &Value) -> Validity {
    match v {
        Value::Bool(true) => Validity::Valid,
        Value::Bool(false) => Validity::Invalid,
        _ => Validity::Unknown,
    }
}

impl<'a> Page<'a> {
    pub fn build(input: &Input<'a>) -> Page<'a> {
        let h = input.history;
        let end = last_time(h);
        let nodes = node_names(h, input.test);
        let faults = faults::windows(h, &nodes);
        let roles = roles::spans(&nodes, &input.node_logs, &faults, end);
        let checkers_map = input.results.get("checkers").and_then(Value::as_object);
        let mut checkers = Vec::new();
        let mut anomalies = Vec::new();
        let mut total = 0;
        for (name, c) in checkers_map.into_iter().flatten() {
            let list = c.get("anomalies").and_then(Value::as_array);
            let n = list.map_or(0, Vec::len);
            checkers.push(CheckerRow {
                name: name.clone(),
                valid: validity_word(c.get("valid").unwrap_or(&Value::Null)),
                explanation: str_of(c.get("explanation")),
                anomalies: n,
            });
            for a in list.into_iter().flatten() {
                total += 1;
                if anomalies.len() < MAX_ANOMALIES {
                    anomalies.push(anomaly_view(h, name, a, anomalies.len() + 1));
                }
            }
        }
        for (i, a) in anomalies.iter_mut().enumerate() {
            place(a, &faults);
            if i < MAX_LOGGED {
                a.logs = logs_around(a, &input.node_logs);
            }
        }
        let counts = h.ops.iter().fold([0; 3], |mut c, o| {
            c[match o.status {
                OpStatus::Ok => 0,
                OpStatus::Fail => 1,
                OpStatus::Info => 2,
            }] += 1;
            c
        });
        Page {
            title: input.title.clone(),
            source: input.source.clone(),
            history: h,
            verdict: validity_word(input.results.get("valid").unwrap_or(&Value::Null)),
            explanation: str_of(input.results.get("explanation")),
            strongest: strongest(checkers_map),
            checkers,
            anomalies,
            anomalies_total: total,
            faults,
            nodes,
            roles,
            logs_timed: input
                .node_logs
                .iter()
                .any(|l| l.lines.iter().any(|l| l.time.is_some())),
            end,
            counts,
            run: input.test.map(run_info),
        }
    }

    /// The role span of `node` at time `t`, if any.
    pub fn role_at(&self, node: &str, t: u64) -> Option<&Span> {
        self.roles
            .iter()
            .find(|s| s.node == node && s.start <= t && t <= s.end)
    }
}

fn str_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// The time of the last event: the latest invocation or completion, or nemesis action.
pub fn last_time(h: &History) -> u64 {
    let ops = h
        .ops
        .iter()
        .map(|o| o.ret_time.unwrap_or(o.call_time))
        .max()
        .unwrap_or(0);
    let nem = h.nemesis.iter().map(|e| e.time).max().unwrap_or(0);
    ops.max(nem).max(1)
}

/// The cluster's nodes: test.json's, else every node the history names.
fn node_names(h: &History, test: Option<&Value>) -> Vec<String> {
    let from_test: Vec<String> = test
        .and_then(|t| t.pointer("/cluster/nodes"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|n| n.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !from_test.is_empty() {
        return from_test;
    }
    let mut set: BTreeSet<String> = h.ops.iter().filter_map(|o| o.node.clone()).collect();
    for e in &h.nemesis {
        for n in e
            .value
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            set.insert(n.to_string());
        }
    }
    let mut v: Vec<String> = set.into_iter().collect();
    // n2 before n10.
    v.sort_by_key(|n| {
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        (n.len(), digits.parse::<u64>().unwrap_or(0), n.clone())
    });
    v
}

/// The operation an anomaly's op reference names: by its index when that index's line
/// matches, else by its invocation line.
fn find_op<'h>(h: &'h History, r: &Value) -> Option<&'h Operation> {
    let line = r.get("line").and_then(Value::as_u64).map(|l| l as usize);
    if let Some(i) = r.get("op").and_then(Value::as_u64) {
        if let Some(o) = h.ops.get(i as usize) {
            if line.is_none_or(|l| l == o.call_line) {
                return Some(o);
            }
        }
    }
    let line = line?;
    let i = h.ops.partition_point(|o| o.call_line < line);
    h.ops.get(i).filter(|o| o.call_line == line)
}

fn anomaly_view(h: &History, checker: &str, a: &Value, n: usize) -> AnomalyView {
    let witness: Vec<Witness> = a
        .get("ops")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let op = find_op(h, r);
            Witness {
                op: op.map(|o| o.id),
                line: r.get("line").and_then(Value::as_u64).unwrap_or(0) as usize,
                ret_line: r
                    .get("ret_line")
                    .and_then(Value::as_u64)
                    .map(|l| l as usize),
                process: r.get("process").and_then(Value::as_u64).unwrap_or(0),
                f: str_of(r.get("f")),
                text: str_of(r.get("text")),
                value: r.get("value").cloned().unwrap_or(Value::Null),
                status: str_of(r.get("status")),
                node: op.and_then(|o| o.node.clone()),
                call: op.map(|o| o.call_time),
                ret: op.and_then(|o| o.ret_time),
            }
        })
        .collect();
    let calls = witness.iter().filter_map(|w| w.call);
    let span = calls.clone().min().map(|s| {
        let e = witness
            .iter()
            .filter_map(|w| w.ret.or(w.call))
            .max()
            .unwrap_or(s);
        (s, e.max(s))
    });
    let mut nodes: Vec<String> = Vec::new();
    for n in witness.iter().filter_map(|w| w.node.as_ref()) {
        if !nodes.contains(n) {
            nodes.push(n.clone());
        }
    }
    AnomalyView {
        id: format!("a{n}"),
        checker: checker.to_string(),
        kind: str_of(a.get("kind")),
        key: a.get("key").and_then(Value::as_str).map(str::to_string),
        explanation: str_of(a.get("explanation")),
        witness,
        span,
        nodes,
        faults: Vec::new(),
        previous_fault: None,
        logs: Vec::new(),
    }
}

/// Ties an anomaly to the faults in force during its span.
fn place(a: &mut AnomalyView, faults: &[Window]) {
    let Some((s, e)) = a.span else { return };
    a.faults = faults
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.instant && w.overlaps(s, e))
        .map(|(i, _)| i)
        .collect();
    if a.faults.is_empty() {
        a.previous_fault = faults
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.instant && w.end.is_some_and(|x| x < s))
            .map(|(i, _)| i)
            .next_back();
    }
}

fn logs_around(a: &AnomalyView, logs: &[NodeLog]) -> Vec<(String, Vec<LogLine>)> {
    let Some((s, e)) = a.span else {
        return Vec::new();
    };
    let (s, e) = (s as i64, e as i64);
    let mut out = Vec::new();
    for log in logs {
        let lines: Vec<LogLine> = log
            .around(s - 2_000_000_000, e + 1_000_000_000, e, LOG_LINES)
            .into_iter()
            .cloned()
            .collect();
        if !lines.is_empty() {
            out.push((log.node.clone(), lines));
        }
    }
    out
}

/// The strongest model satisfied: from the consistency ladder's checkers, else from the
/// transaction checker's stats.
fn strongest(checkers: Option<&serde_json::Map<String, Value>>) -> Option<String> {
    let checkers = checkers?;
    let verdicts: Vec<(Model, Validity)> = checkers
        .iter()
        .filter_map(|(name, c)| {
            let m: Model = name.parse().ok()?;
            Some((m, validity_of(c.get("valid")?)))
        })
        .collect();
    if !verdicts.is_empty() {
        return Some(Ladder::from_verdicts(&verdicts).summary);
    }
    checkers.values().find_map(|c| {
        let s = c.pointer("/stats/strongest")?;
        let names: Vec<String> = match s {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => return None,
        };
        Some(if names.is_empty() {
            "no isolation model checked is known to hold".to_string()
        } else {
            format!("strongest model satisfied: {}", names.join(" and "))
        })
    })
}

fn run_info(t: &Value) -> RunInfo {
    let mut options = t.clone();
    if let Some(m) = options.as_object_mut() {
        m.remove("cluster");
        m.remove("plan");
    }
    let s = |k: &str| t.get(k).map(|v| str_of(Some(v))).unwrap_or_default();
    let workload = match t.get("workload") {
        Some(Value::Object(w)) => w
            .get("kind")
            .map(|k| str_of(Some(k)))
            .unwrap_or_else(|| Value::Object(w.clone()).to_string()),
        v => str_of(v),
    };
    RunInfo {
        name: s("name"),
        seed: t.get("seed").and_then(Value::as_u64),
        rerun: t.get("rerun").and_then(Value::as_str).map(str::to_string),
        system: s("system"),
        workload,
        nemesis: s("nemesis"),
        options: serde_json::to_string_pretty(&options).unwrap_or_default(),
    }
}
