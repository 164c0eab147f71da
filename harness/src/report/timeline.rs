//! The operation timeline (Jepsen's timeline.html, Porcupine's bars): one lane per client
//! process — processes whose lifetimes do not overlap share a lane, as a retired process's
//! successor does — each operation a bar from invocation to completion, coloured by outcome,
//! fault windows shaded, witnesses highlighted, the node on hover.
//!
//! Large histories are drawn in detail only around the anomalies; the whole run is then
//! aggregated into time buckets per lane (counts by outcome in each bucket's tooltip), which
//! keeps a 100,000-operation page small and quick to open.

use super::escape::clip;
use super::faults::secs;
use super::lanes::{Bar, Chart, Shade};
use super::model::{AnomalyView, Page};
use histories::{History, OpStatus, Operation};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Up to this many operations the whole run is drawn one bar per operation.
pub const DETAIL_LIMIT: usize = 3000;
/// Operations drawn around one anomaly, at most (beside its witnesses).
pub const WINDOW_OPS: usize = 400;
/// Anomalies that get a timeline of their own.
pub const MAX_WINDOWS: usize = 10;
/// Buckets of the aggregated timeline.
const BUCKETS: usize = 300;
/// Lanes of the aggregated timeline, at most (more are folded).
const MAX_LANES: usize = 100;

/// Lanes for client processes: a process takes the first lane free since its previous
/// occupant's last operation ended (greedy interval colouring, in order of first invocation).
pub fn process_lanes(h: &History) -> (HashMap<u64, usize>, usize) {
    let mut spans: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for o in &h.ops {
        let end = o.ret_time.unwrap_or(u64::MAX);
        let e = spans.entry(o.process).or_insert((o.call_time, end));
        e.0 = e.0.min(o.call_time);
        e.1 = if e.1 == u64::MAX || end == u64::MAX {
            u64::MAX
        } else {
            e.1.max(end)
        };
    }
    let mut order: Vec<(u64, (u64, u64))> = spans.into_iter().collect();
    order.sort_by_key(|(p, (s, _))| (*s, *p));
    let mut free_at: Vec<u64> = Vec::new();
    let mut lane_of = HashMap::new();
    for (p, (s, e)) in order {
        let lane = match free_at.iter().position(|f| *f < s) {
            Some(l) => l,
            None => {
                free_at.push(0);
                free_at.len() - 1
            }
        };
        free_at[lane] = e;
        lane_of.insert(p, lane);
    }
    (lane_of, free_at.len())
}

/// A bar's tooltip: lines, process, operation, outcome, node, times.
fn op_title(o: &Operation) -> String {
    let lines = match o.ret_line {
        Some(r) => format!("lines {}–{r}", o.call_line),
        None => format!("line {}", o.call_line),
    };
    let node = o
        .node
        .as_deref()
        .map(|n| format!(" · on {n}"))
        .unwrap_or_default();
    let err = o
        .error
        .as_deref()
        .map(|e| format!(" · {e}"))
        .unwrap_or_default();
    let times = match o.ret_time {
        Some(r) => format!("{:.4}–{:.4} s", o.call_time as f64 / 1e9, r as f64 / 1e9),
        None => format!("from {:.4} s, never completed", o.call_time as f64 / 1e9),
    };
    format!(
        "{lines} · {}{node}{err} · {times}",
        clip(&o.describe(), 200)
    )
}

fn class_of(s: OpStatus) -> &'static str {
    match s {
        OpStatus::Ok => "ok",
        OpStatus::Fail => "fail",
        OpStatus::Info => "info",
    }
}

/// The fault windows as shades of a chart over the whole run.
pub fn overview_shades(page: &Page) -> Vec<Shade> {
    page.faults
        .iter()
        .map(|w| Shade {
            start: w.start,
            end: w.end.unwrap_or(page.end),
            title: format!("{} ({})", w.what, w.span_text()),
            class: if w.instant { "mark" } else { "fault" },
        })
        .collect()
}

/// One bar per operation of `ops` (ids into `page.history.ops`) within `[t0, t1]`; witnesses
/// highlighted and labelled with their history line.
fn op_chart(
    page: &Page,
    id: &str,
    ops: &[usize],
    t0: u64,
    t1: u64,
    witness: &HashSet<usize>,
) -> Chart {
    let h = page.history;
    let (lane_of, _) = process_lanes(h);
    // Only the lanes in use, in lane order.
    let mut used: Vec<usize> = ops.iter().map(|&i| lane_of[&h.ops[i].process]).collect();
    used.sort_unstable();
    used.dedup();
    let row: HashMap<usize, usize> = used.iter().enumerate().map(|(r, l)| (*l, r)).collect();
    let mut names: Vec<Vec<u64>> = vec![Vec::new(); used.len()];
    let mut bars = Vec::with_capacity(ops.len());
    for &i in ops {
        let o = &h.ops[i];
        let r = row[&lane_of[&o.process]];
        if !names[r].contains(&o.process) {
            names[r].push(o.process);
        }
        let wit = witness.contains(&i);
        bars.push(Bar {
            lane: r,
            start: o.call_time,
            end: o.ret_time.unwrap_or(t1),
            class: if wit {
                format!("{} wit", class_of(o.status))
            } else {
                class_of(o.status).to_string()
            },
            title: op_title(o),
            label: wit.then(|| format!("line {}", o.call_line)),
        });
    }
    // Witnesses last, so that they are drawn on top.
    bars.sort_by_key(|b| b.class.ends_with("wit"));
    Chart {
        id: id.to_string(),
        lanes: names.iter().map(|ps| lane_name(ps)).collect(),
        t0,
        t1,
        bars,
        shades: overview_shades(page),
    }
}

fn lane_name(ps: &[u64]) -> String {
    match ps {
        [p] => format!("process {p}"),
        [p, rest @ ..] if rest.len() <= 2 => format!(
            "process {p}, {}",
            rest.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [p, rest @ ..] => format!("process {p} +{}", rest.len()),
        [] => String::new(),
    }
}

/// The whole run: one bar per operation when it is small, else aggregated.
pub fn overview(page: &Page) -> Chart {
    let h = page.history;
    let witness: HashSet<usize> = page
        .anomalies
        .iter()
        .flat_map(|a| a.witness.iter().filter_map(|w| w.op))
        .collect();
    if h.ops.len() <= DETAIL_LIMIT {
        let all: Vec<usize> = (0..h.ops.len()).collect();
        return op_chart(page, "timeline", &all, 0, page.end, &witness);
    }
    aggregated(page, &witness)
}

fn aggregated(page: &Page, witness: &HashSet<usize>) -> Chart {
    let h = page.history;
    let (lane_of, lanes) = process_lanes(h);
    let lanes = lanes.clamp(1, MAX_LANES);
    let width = (page.end / BUCKETS as u64).max(1);
    // counts[lane][bucket] = [ok, fail, info]
    let mut counts = vec![vec![[0u32; 3]; BUCKETS + 1]; lanes];
    let mut names: Vec<(u64, u64, usize)> = vec![(u64::MAX, 0, 0); lanes];
    for o in &h.ops {
        let l = lane_of[&o.process] % lanes;
        let b = ((o.call_time / width) as usize).min(BUCKETS);
        counts[l][b][match o.status {
            OpStatus::Ok => 0,
            OpStatus::Fail => 1,
            OpStatus::Info => 2,
        }] += 1;
        let n = &mut names[l];
        n.0 = n.0.min(o.process);
        n.1 = n.1.max(o.process);
        n.2 += 1;
    }
    let mut bars = Vec::new();
    for (l, row) in counts.iter().enumerate() {
        for (b, c) in row.iter().enumerate() {
            let total = c[0] + c[1] + c[2];
            if total == 0 {
                continue;
            }
            let class = if c[2] > 0 {
                "agg info"
            } else if c[1] > 0 {
                "agg fail"
            } else {
                "agg ok"
            };
            let start = b as u64 * width;
            bars.push(Bar {
                lane: l,
                start,
                end: start + width,
                class: class.into(),
                title: format!(
                    "{total} operations invoked {}–{}: {} ok, {} fail, {} info",
                    secs(start),
                    secs(start + width),
                    c[0],
                    c[1],
                    c[2]
                ),
                label: None,
            });
        }
    }
    for &i in witness {
        let o = &h.ops[i];
        bars.push(Bar {
            lane: lane_of[&o.process] % lanes,
            start: o.call_time,
            end: o.ret_time.unwrap_or(page.end),
            class: format!("{} wit", class_of(o.status)),
            title: op_title(o),
            label: Some(format!("line {}", o.call_line)),
        });
    }
    Chart {
        id: "timeline".into(),
        lanes: names
            .iter()
            .map(|(lo, hi, _)| match (lo, hi) {
                (lo, hi) if lo == hi => format!("process {lo}"),
                (lo, _) if *lo == u64::MAX => String::new(),
                (lo, hi) => format!("processes {lo}…{hi}"),
            })
            .collect(),
        t0: 0,
        t1: page.end,
        bars,
        shades: overview_shades(page),
    }
}

/// The operations around an anomaly: those of its key (every operation when it has none)
/// whose invocation is near its witnesses' — at most [`WINDOW_OPS`] beside the witnesses.
pub fn around(page: &Page, a: &AnomalyView) -> Option<Chart> {
    let (s, e) = a.span?;
    let h = page.history;
    let candidates: Vec<usize> = h
        .ops
        .iter()
        .filter(|o| a.key.is_none() || o.key == a.key)
        .map(|o| o.id)
        .collect();
    let witness: HashSet<usize> = a.witness.iter().filter_map(|w| w.op).collect();
    let first = candidates.partition_point(|&i| h.ops[i].call_time < s);
    let last = candidates.partition_point(|&i| h.ops[i].call_time <= e);
    let inside = last - first;
    let context = WINDOW_OPS.saturating_sub(inside.min(WINDOW_OPS)) / 2;
    let lo = first.saturating_sub(context.max(20));
    let hi = (last + context.max(20)).min(candidates.len());
    let mut ops: Vec<usize> = candidates[lo..hi].to_vec();
    if ops.len() > WINDOW_OPS + witness.len() {
        // The span itself holds too many: keep the witnesses and an even sample.
        let step = ops.len().div_ceil(WINDOW_OPS);
        ops = ops
            .iter()
            .enumerate()
            .filter(|(k, i)| k % step == 0 || witness.contains(i))
            .map(|(_, i)| *i)
            .collect();
    }
    for w in &witness {
        if !ops.contains(w) {
            ops.push(*w);
        }
    }
    let t0 = ops
        .iter()
        .map(|&i| h.ops[i].call_time)
        .min()
        .unwrap_or(s)
        .min(s);
    let last_call = ops.iter().map(|&i| h.ops[i].call_time).max().unwrap_or(e);
    let t1 = ops
        .iter()
        .filter_map(|&i| h.ops[i].ret_time)
        .max()
        .unwrap_or(e)
        .max(e)
        .max(last_call)
        .min(last_call.max(e) + (e - s).max(50_000_000));
    let pad = (t1 - t0) / 50;
    let mut c = op_chart(
        page,
        &format!("{}-timeline", a.id),
        &ops,
        t0.saturating_sub(pad),
        t1 + pad,
        &witness,
    );
    c.shades.push(Shade {
        start: s,
        end: e,
        title: format!("anomaly {} ({}–{})", a.id, secs(s), secs(e)),
        class: "anomaly",
    });
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_share_a_lane_only_when_they_do_not_overlap() {
        let lines = [
            r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"read","value":null}"#,
            r#"{"index":1,"time":1,"type":"invoke","process":1,"f":"read","value":null}"#,
            r#"{"index":2,"time":2,"type":"info","process":0,"f":"read","value":null}"#,
            r#"{"index":3,"time":3,"type":"invoke","process":2,"f":"read","value":null}"#,
            r#"{"index":4,"time":4,"type":"ok","process":1,"f":"read","value":null}"#,
            r#"{"index":5,"time":5,"type":"ok","process":2,"f":"read","value":null}"#,
        ];
        let h = histories::parse_jsonl(&lines.join("\n")).unwrap();
        let (lanes, n) = process_lanes(&h);
        assert_eq!(n, 2);
        assert_eq!(lanes[&0], 0);
        assert_eq!(lanes[&1], 1);
        // Process 2 starts after process 0 retired (its info at time 2): it takes lane 0.
        assert_eq!(lanes[&2], 0);
    }
}
