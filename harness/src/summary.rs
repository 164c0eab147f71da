//! The run's summary: operations by type, availability in and out of fault windows, latency
//! quantiles — all computed from the history alone.
//!
//! Availability is the share of operations the system served: `ok`, or a cas that failed
//! definitely because it found another value (`cas_mismatch`). Timeouts, refusals (no leader,
//! not serving) and broken connections count as unavailable.

use histories::{History, OpStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A time window during which a fault was in force, in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    pub start: u64,
    pub end: Option<u64>,
    pub what: String,
}

/// Whether a nemesis event starts a fault window (`start-…`, `kill`, `pause`) or ends every open
/// one (`stop-…`, `restart`, `resume`, `heal-all`).
fn starts_window(f: &str) -> bool {
    f.starts_with("start-") || f == "kill" || f == "pause"
}

fn ends_window(f: &str) -> bool {
    f.starts_with("stop-") || ["restart", "resume", "heal-all"].contains(&f)
}

/// The fault windows recorded by the nemesis.
pub fn fault_windows(h: &History) -> Vec<FaultWindow> {
    let mut out: Vec<FaultWindow> = Vec::new();
    for ev in &h.nemesis {
        if starts_window(&ev.f) && ev.error.is_none() {
            let nodes = || {
                ev.value
                    .get("nodes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            };
            let what = match (ev.f.strip_prefix("start-"), ev.value.get("kind")) {
                (Some(k), Some(kind)) => format!("{k} {}", kind.as_str().unwrap_or("?")),
                (Some("leader"), _) => format!(
                    "leader {}",
                    ev.value
                        .get("schedule")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                ),
                (Some(k), None) => format!("{k} {}", nodes()),
                (None, _) => format!("{} {}", ev.f, nodes()),
            };
            out.push(FaultWindow {
                start: ev.time,
                end: None,
                what,
            });
        } else if ends_window(&ev.f) {
            for w in out.iter_mut().filter(|w| w.end.is_none()) {
                w.end = Some(ev.time);
            }
        }
    }
    out
}

fn in_window(t: u64, ws: &[FaultWindow]) -> bool {
    ws.iter()
        .any(|w| t >= w.start && w.end.is_none_or(|e| t < e))
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e6
}

/// The summary as JSON (for results.json) and as text (for the terminal).
pub fn summarize(h: &History) -> (Value, String) {
    let windows = fault_windows(h);
    let mut by_f: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    let mut avail = [[0u64; 2]; 2]; // [outside, inside][ok, total]
    let mut lat: Vec<u64> = Vec::new();
    for op in &h.ops {
        let c = by_f.entry(op.f.clone()).or_default();
        match op.status {
            OpStatus::Ok => c[0] += 1,
            OpStatus::Fail => c[1] += 1,
            OpStatus::Info => c[2] += 1,
        }
        let inside = in_window(op.call_time, &windows) as usize;
        avail[inside][1] += 1;
        // Available: the system answered. A cas that found another value was served.
        let served = op.status == OpStatus::Ok
            || (op.status == OpStatus::Fail
                && op.error.as_deref() == Some(wire::code::CAS_MISMATCH));
        if served {
            avail[inside][0] += 1;
        }
        if op.status == OpStatus::Ok {
            if let Some(r) = op.ret_time {
                lat.push(r.saturating_sub(op.call_time));
            }
        }
    }
    lat.sort_unstable();
    let pct = |a: [u64; 2]| {
        if a[1] == 0 {
            None
        } else {
            Some(a[0] as f64 / a[1] as f64)
        }
    };
    let lat_json = json!({
        "p50": quantile(&lat, 0.5), "p90": quantile(&lat, 0.9), "p99": quantile(&lat, 0.99),
        "max": quantile(&lat, 1.0), "count": lat.len(),
    });
    let json = json!({
        "operations": h.ops.len(),
        "by_f": by_f.iter().map(|(f, c)| (f.clone(), json!({"ok": c[0], "fail": c[1], "info": c[2]}))).collect::<serde_json::Map<_,_>>(),
        "availability": {
            "outside_faults": pct(avail[0]), "outside_ops": avail[0][1],
            "during_faults": pct(avail[1]), "during_ops": avail[1][1],
        },
        "latency_ms": lat_json,
        "fault_windows": windows.iter().map(|w| json!({
            "what": w.what, "start_s": w.start as f64 / 1e9, "end_s": w.end.map(|e| e as f64 / 1e9)
        })).collect::<Vec<_>>(),
    });
    let mut t = String::new();
    t.push_str(&format!("operations: {}\n", h.ops.len()));
    for (f, c) in &by_f {
        t.push_str(&format!(
            "  {f:<6} ok {:>7}  fail {:>6}  info {:>6}\n",
            c[0], c[1], c[2]
        ));
    }
    let show = |a: [u64; 2]| match pct(a) {
        Some(p) => format!("{:.1}% served of {}", p * 100.0, a[1]),
        None => "no operations".into(),
    };
    t.push_str(&format!(
        "availability: outside faults {}; during faults {}\n",
        show(avail[0]),
        show(avail[1])
    ));
    t.push_str(&format!(
        "latency of ok operations (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n",
        quantile(&lat, 0.5),
        quantile(&lat, 0.9),
        quantile(&lat, 0.99),
        quantile(&lat, 1.0)
    ));
    if !windows.is_empty() {
        let list: Vec<String> = windows
            .iter()
            .map(|w| format!("{} at {:.1}s", w.what, w.start as f64 / 1e9))
            .collect();
        t.push_str(&format!("faults: {}\n", list.join("; ")));
    }
    (json, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_splits_on_fault_windows() {
        let lines = [
            r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"a","value":null}"#,
            r#"{"index":1,"time":1000000,"type":"ok","process":0,"f":"read","key":"a","value":null}"#,
            r#"{"index":2,"time":2000000,"type":"info","process":"nemesis","f":"kill","value":{"nodes":["n1"]}}"#,
            r#"{"index":3,"time":3000000,"type":"invoke","process":0,"f":"write","key":"a","value":1}"#,
            r#"{"index":4,"time":4000000,"type":"info","process":0,"f":"write","key":"a","value":1}"#,
            r#"{"index":5,"time":5000000,"type":"info","process":"nemesis","f":"restart","value":{"nodes":["n1"]}}"#,
            r#"{"index":6,"time":6000000,"type":"invoke","process":3,"f":"write","key":"a","value":2}"#,
            r#"{"index":7,"time":9000000,"type":"ok","process":3,"f":"write","key":"a","value":2}"#,
        ];
        let h = histories::parse_jsonl(&lines.join("\n")).unwrap();
        let (j, t) = summarize(&h);
        assert_eq!(j["availability"]["outside_faults"], 1.0);
        assert_eq!(j["availability"]["during_faults"], 0.0);
        assert_eq!(j["by_f"]["write"]["info"], 1);
        assert_eq!(j["latency_ms"]["max"], 3.0);
        assert!(t.contains("kill n1 at 0.0s"), "{t}");
    }
}
