//! Fault windows from the nemesis events of a history: when each fault was in force, what it
//! was in words (`partition isolate-leader {n3} | {n1 n2 n4 n5}`), and which nodes it hit.
//!
//! A start (`start-partition`, `kill`, `pause`, or any `start-X`) opens a window; the matching
//! heal (`stop-partition`, `restart`, `resume`, `stop-X`) or the final `heal-all` closes it. A
//! window still open at the end of the history lasts to its end. An action journaled with an
//! error changed nothing (or not all of it) and is kept as an event, not a window. Other actions
//! (`restart-all`) are instants.

use histories::{Event, History};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A span of time during which a fault was in force, or an instant action.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Nanoseconds since the test started.
    pub start: u64,
    /// When it was healed; `None` when it lasted to the end of the history.
    pub end: Option<u64>,
    /// In words: `partition isolate-leader {n1} | {n2 n3}`, `kill n2`.
    pub what: String,
    /// The nemesis action (`start-partition`, `kill`, …).
    pub f: String,
    /// The nodes it hit (for a partition: every node on the smaller side).
    pub nodes: Vec<String>,
    /// An instant (restart-all, a failed action) rather than a span.
    pub instant: bool,
    /// The journaled error of a failed action.
    pub error: Option<String>,
}

impl Window {
    /// Whether the window overlaps `[a, b]`.
    pub fn overlaps(&self, a: u64, b: u64) -> bool {
        self.start <= b && self.end.is_none_or(|e| e >= a)
    }

    /// `from 2.0 s to 4.0 s`, or `from 2.0 s` when it was never healed.
    pub fn span_text(&self) -> String {
        match (self.instant, self.end) {
            (true, _) => format!("at {}", secs(self.start)),
            (false, Some(e)) => format!("from {} to {}", secs(self.start), secs(e)),
            (false, None) => format!("from {} to the end", secs(self.start)),
        }
    }
}

/// `12.3 s`.
pub fn secs(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The heal that closes windows opened by `f`.
fn heal_of(f: &str) -> Option<String> {
    Some(match f {
        "start-partition" => "stop-partition".into(),
        "kill" => "restart".into(),
        "pause" => "resume".into(),
        f => format!("stop-{}", f.strip_prefix("start-")?),
    })
}

/// The fault windows and instants of `h`, in time order. `all_nodes` names the cluster's nodes
/// (to describe partitions); nodes named by the events are added to it.
pub fn windows(h: &History, all_nodes: &[String]) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for ev in &h.nemesis {
        let f = ev.f.as_str();
        if heal_of(f).is_some() && ev.error.is_none() && !empty_grudge(ev) {
            let (what, nodes) = describe(ev, all_nodes);
            open.push(out.len());
            out.push(Window {
                start: ev.time,
                end: None,
                what,
                f: f.to_string(),
                nodes,
                instant: false,
                error: None,
            });
            continue;
        }
        let closes: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| {
                f == "heal-all"
                    || (heal_of(&out[i].f).as_deref() == Some(f)
                        && closes_nodes(ev, &out[i].nodes, &out[i].f))
            })
            .collect();
        if !closes.is_empty() {
            for i in &closes {
                out[*i].end = Some(ev.time);
            }
            open.retain(|i| !closes.contains(i));
            if ev.error.is_none() {
                continue;
            }
        }
        if ev.error.is_some() || !is_heal(f) {
            let (what, nodes) = describe(ev, all_nodes);
            out.push(Window {
                start: ev.time,
                end: Some(ev.time),
                what,
                f: f.to_string(),
                nodes,
                instant: true,
                error: ev.error.clone(),
            });
        }
    }
    out.sort_by_key(|w| w.start);
    out
}

fn is_heal(f: &str) -> bool {
    matches!(f, "stop-partition" | "restart" | "resume" | "heal-all") || f.starts_with("stop-")
}

fn empty_grudge(ev: &Event) -> bool {
    ev.f == "start-partition"
        && ev
            .value
            .get("grudge")
            .and_then(Value::as_object)
            .is_some_and(|g| {
                g.values()
                    .all(|v| v.as_array().is_none_or(|a| a.is_empty()))
            })
}

/// Whether a heal event closes a window over `nodes` (a restart names the nodes it restarts).
fn closes_nodes(ev: &Event, nodes: &[String], opened_by: &str) -> bool {
    if !matches!(opened_by, "kill" | "pause") {
        return true;
    }
    match event_nodes(ev) {
        Some(healed) => nodes.iter().all(|n| healed.contains(n)) || nodes.is_empty(),
        None => true,
    }
}

fn event_nodes(ev: &Event) -> Option<Vec<String>> {
    ev.value.get("nodes").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

/// An event in words, and the nodes it hit.
fn describe(ev: &Event, all_nodes: &[String]) -> (String, Vec<String>) {
    let mut text = match ev.f.as_str() {
        "start-partition" => {
            let kind = ev.value.get("kind").and_then(Value::as_str).unwrap_or("");
            let g = ev.value.get("grudge").cloned().unwrap_or(Value::Null);
            let (shape, minority) = describe_grudge(&g, all_nodes);
            let text = format!("partition {kind} {shape}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            return finish(ev, text, minority);
        }
        "restart-all" => "restart of every node".to_string(),
        "heal-all" => "heal of every fault".to_string(),
        // The harness's wait for a leader after the final heal (the liveness checker's record);
        // a failed wait keeps its error below.
        "recover" => match ev.value.get("leader").and_then(Value::as_str) {
            Some(l) => format!("recovered: {l} leads"),
            None => "no leader after the final heal".to_string(),
        },
        f => f.to_string(),
    };
    let nodes = event_nodes(ev).unwrap_or_default();
    if !nodes.is_empty() && ev.f != "restart-all" && ev.f != "heal-all" {
        text.push(' ');
        text.push_str(&nodes.join(" "));
    } else if let Some(t) = ev.value.get("target").and_then(Value::as_str) {
        text.push_str(&format!(" ({t})"));
    }
    finish(ev, text, nodes)
}

fn finish(ev: &Event, mut text: String, nodes: Vec<String>) -> (String, Vec<String>) {
    if let Some(e) = &ev.error {
        text.push_str(&format!(" (failed: {e})"));
    }
    (text, nodes)
}

/// A grudge (`{receiver: [senders it drops]}`) in words: its components when it splits the
/// cluster cleanly (`{n3} | {n1 n2 n4 n5}`, smallest first), else what each node still hears
/// (`n1 hears n2 n5; …`). Also the nodes on the smaller side (for a clean split), or every node
/// that lost a link.
pub fn describe_grudge(g: &Value, all_nodes: &[String]) -> (String, Vec<String>) {
    let mut nodes: BTreeSet<String> = all_nodes.iter().cloned().collect();
    let mut drops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(m) = g.as_object() {
        for (to, froms) in m {
            nodes.insert(to.clone());
            let set = drops.entry(to.clone()).or_default();
            for f in froms
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                nodes.insert(f.to_string());
                set.insert(f.to_string());
            }
        }
    }
    if drops.values().all(BTreeSet::is_empty) {
        return ("(no link cut)".into(), Vec::new());
    }
    let hears = |n: &String| -> BTreeSet<String> {
        let d = drops.get(n);
        nodes
            .iter()
            .filter(|m| d.is_none_or(|d| !d.contains(*m)))
            .cloned()
            .collect()
    };
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for n in &nodes {
        let h = hears(n);
        if !groups.contains(&h) {
            groups.push(h);
        }
    }
    let clean = groups.iter().all(|g| g.iter().all(|n| hears(n) == *g))
        && groups.iter().map(BTreeSet::len).sum::<usize>() == nodes.len();
    if clean {
        groups.sort_by_key(|g| (g.len(), g.iter().next().cloned()));
        let text = groups
            .iter()
            .map(|g| format!("{{{}}}", g.iter().cloned().collect::<Vec<_>>().join(" ")))
            .collect::<Vec<_>>()
            .join(" | ");
        return (text, groups[0].iter().cloned().collect());
    }
    let mut hit = Vec::new();
    let parts: Vec<String> = nodes
        .iter()
        .filter(|n| drops.get(*n).is_some_and(|d| !d.is_empty()))
        .map(|n| {
            hit.push(n.clone());
            let others: Vec<String> = hears(n).into_iter().filter(|m| m != n).collect();
            format!(
                "{n} hears {}",
                if others.is_empty() {
                    "nobody".into()
                } else {
                    others.join(" ")
                }
            )
        })
        .collect();
    (parts.join("; "), hit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn a_clean_split_is_named_by_its_components() {
        let g = json!({"n3": ["n1","n2","n4","n5"], "n1": ["n3"], "n2": ["n3"], "n4": ["n3"], "n5": ["n3"]});
        let (t, hit) = describe_grudge(&g, &nodes(5));
        assert_eq!(t, "{n3} | {n1 n2 n4 n5}");
        assert_eq!(hit, ["n3"]);
    }

    #[test]
    fn a_ring_is_named_by_what_each_node_hears() {
        // n1 and n3 cannot hear each other; n2 hears both (a bridge).
        let g = json!({"n1": ["n3"], "n3": ["n1"]});
        let (t, hit) = describe_grudge(&g, &nodes(3));
        assert_eq!(t, "n1 hears n2; n3 hears n2");
        assert_eq!(hit, ["n1", "n3"]);
    }

    #[test]
    fn windows_open_and_close_on_their_heals() {
        let lines = [
            r#"{"index":0,"time":1000000000,"type":"info","process":"nemesis","f":"start-partition","value":{"kind":"isolate-leader","grudge":{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]}}}"#,
            r#"{"index":1,"time":2000000000,"type":"info","process":"nemesis","f":"stop-partition","value":{"grudge":{}}}"#,
            r#"{"index":2,"time":3000000000,"type":"info","process":"nemesis","f":"kill","value":{"target":"one","nodes":["n2"]}}"#,
            r#"{"index":3,"time":3500000000,"type":"info","process":"nemesis","f":"pause","value":{"target":"leader","nodes":[]},"error":"no node reports itself as leader"}"#,
            r#"{"index":4,"time":4000000000,"type":"info","process":"nemesis","f":"restart","value":{"nodes":["n2"]}}"#,
            r#"{"index":5,"time":5000000000,"type":"info","process":"nemesis","f":"pause","value":{"nodes":["n3"]}}"#,
            r#"{"index":6,"time":6000000000,"type":"info","process":"nemesis","f":"heal-all","value":{"nodes":["n1","n2","n3"]}}"#,
            r#"{"index":7,"time":6100000000,"type":"info","process":"nemesis","f":"restart-all","value":{"nodes":["n1","n2","n3"]}}"#,
        ];
        let h = histories::parse_jsonl(&lines.join("\n")).unwrap();
        let w = windows(&h, &nodes(3));
        let got: Vec<(u64, Option<u64>, &str, bool)> = w
            .iter()
            .map(|w| {
                (
                    w.start / 100_000_000,
                    w.end.map(|e| e / 100_000_000),
                    w.what.as_str(),
                    w.instant,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    10,
                    Some(20),
                    "partition isolate-leader {n1} | {n2 n3}",
                    false
                ),
                (30, Some(40), "kill n2", false),
                (
                    35,
                    Some(35),
                    "pause (leader) (failed: no node reports itself as leader)",
                    true
                ),
                (50, Some(60), "pause n3", false),
                (61, Some(61), "restart of every node", true),
            ]
        );
        assert!(w[0].overlaps(1_500_000_000, 1_600_000_000));
        assert!(!w[0].overlaps(2_100_000_000, 2_600_000_000));
        assert_eq!(w[0].span_text(), "from 1.00 s to 2.00 s");
    }

    #[test]
    fn an_unhealed_fault_lasts_to_the_end() {
        let lines = [
            r#"{"index":0,"time":1000000000,"type":"info","process":"nemesis","f":"start-clock-skew","value":{"nodes":["n1"]}}"#,
        ];
        let h = histories::parse_jsonl(&lines.join("\n")).unwrap();
        let w = windows(&h, &[]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].end, None);
        assert_eq!(w[0].what, "start-clock-skew n1");
        assert!(w[0].overlaps(5_000_000_000, 6_000_000_000));
    }
}
