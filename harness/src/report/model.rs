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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stale read from n3 while a partition isolates it: write 1, write 2 (acknowledged),
    /// then n3 returns 1.
    const HISTORY: &str = r#"{"index":0,"time":1000000000,"type":"info","process":"nemesis","f":"start-partition","value":{"kind":"isolate-one","grudge":{"n3":["n1","n2"],"n1":["n3"],"n2":["n3"]}}}
{"index":1,"time":1100000000,"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"index":2,"time":1200000000,"type":"ok","process":0,"f":"write","key":"x","value":1,"node":"n1"}
{"index":3,"time":1300000000,"type":"invoke","process":1,"f":"write","key":"x","value":2}
{"index":4,"time":1400000000,"type":"ok","process":1,"f":"write","key":"x","value":2,"node":"n1"}
{"index":5,"time":1500000000,"type":"invoke","process":2,"f":"read","key":"x","value":null}
{"index":6,"time":1600000000,"type":"ok","process":2,"f":"read","key":"x","value":1,"node":"n3"}
{"index":7,"time":3000000000,"type":"info","process":"nemesis","f":"stop-partition","value":{"grudge":{}}}
{"index":8,"time":3100000000,"type":"invoke","process":0,"f":"read","key":"x","value":null}
{"index":9,"time":3200000000,"type":"fail","process":0,"f":"read","key":"x","value":null,"error":"not_leader"}
"#;

    #[test]
    fn an_anomaly_is_tied_to_its_time_nodes_fault_and_log_lines() {
        let h = histories::load_str(HISTORY, None).unwrap().1;
        let r = checkers::suite::check(&h, None, &Default::default()).unwrap();
        let results = json!({"valid": r.valid, "checkers": r.checkers_json(), "explanation": r.explanation()});
        let start = super::super::nodelog::leading_timestamp("2026-12-02T00:00:00Z");
        let log = NodeLog::parse(
            "n3",
            "2026-12-02T00:00:00.5Z  INFO raft: became leader id=3 term=1\n\
             2026-12-02T00:00:01.55Z  INFO raft: serving a local read\n\
             2026-12-02T00:00:09Z  INFO raft: much later\n",
            start,
        );
        let test = json!({"name": "t", "seed": 7, "rerun": "faultline test --seed 7", "system": "raft",
            "workload": {"kind": "register"}, "nemesis": "partition",
            "cluster": {"nodes": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}]}});
        let input = Input {
            title: "t".into(),
            source: "store/t/1".into(),
            history: &h,
            results: &results,
            test: Some(&test),
            node_logs: vec![log],
        };
        let p = Page::build(&input);
        assert_eq!(p.verdict, "invalid");
        assert_eq!(p.counts, [3, 1, 0]);
        assert_eq!(p.end, 3_200_000_000);
        assert_eq!(p.nodes, ["n1", "n2", "n3"]);
        assert!(
            p.strongest
                .as_deref()
                .unwrap()
                .contains("violated: linearizable"),
            "{:?}",
            p.strongest
        );
        let lin = p
            .checkers
            .iter()
            .find(|c| c.name == "linearizable")
            .unwrap();
        assert_eq!((lin.valid, lin.anomalies), ("invalid", 1));
        assert_eq!(p.anomalies.len(), 1);
        let a = &p.anomalies[0];
        assert_eq!(a.id, "a1");
        assert_eq!(a.key.as_deref(), Some("x"));
        let lines: Vec<usize> = a.witness.iter().map(|w| w.line).collect();
        assert!(
            lines.contains(&6),
            "the stale read (line 6) is a witness: {lines:?}"
        );
        let (s, e) = a.span.unwrap();
        assert!(s >= 1_100_000_000 && e == 1_600_000_000, "{s} {e}");
        assert!(a.nodes.contains(&"n3".to_string()));
        assert_eq!(a.faults, [0]);
        assert_eq!(p.faults[0].what, "partition isolate-one {n3} | {n1 n2}");
        assert_eq!(p.faults[0].nodes, ["n3"]);
        // The log line written during the anomaly is shown, the one long after it is not.
        let (node, lines) = &a.logs[0];
        assert_eq!(node, "n3");
        assert!(lines.iter().any(|l| l.text.contains("local read")));
        assert!(!lines.iter().any(|l| l.text.contains("much later")));
        // n3 led from 0.5 s until the end (no log line ends it).
        let role = p.role_at("n3", 1_600_000_000).unwrap();
        assert_eq!(role.label(), "leader (term 1)");
        let run = p.run.as_ref().unwrap();
        assert_eq!((run.seed, run.workload.as_str()), (Some(7), "register"));
        assert!(!run.options.contains("cluster"));
        // And the page says it in words.
        let html = super::super::html::page(&p);
        assert!(html.contains("A stale read on key x"));
        assert!(html.contains(
            "Faults in force: during partition isolate-one {n3} | {n1 n2}, from 1.00 s to 3.00 s."
        ));
        assert!(html.contains("line 6&#39;s read went to n3 (leader (term 1); hit by partition isolate-one {n3} | {n1 n2})"), "{html}");
    }
}
