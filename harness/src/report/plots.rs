//! Jepsen's performance graphs as SVG: latency over time (a scatter by outcome on a log
//! scale, with p50/p95/p99/max lines of ok operations) and throughput over time (operations
//! completed per second by outcome), fault windows shaded and anomalies marked.
//!
//! Above [`SCATTER_LIMIT`] operations the scatter is binned (one dot per time × latency cell
//! and outcome, sized by its count), so the page stays small whatever the history's size.

use super::escape::push_esc;
use super::faults::secs;
use super::lanes::ticks;
use super::model::Page;
use histories::OpStatus;
use std::fmt::Write;

/// Up to this many operations, one dot each.
pub const SCATTER_LIMIT: usize = 4000;
const W: f64 = 1000.0;
const H: f64 = 260.0;
/// Left and bottom margins for the axes' labels.
const ML: f64 = 56.0;
const MB: f64 = 24.0;
const MT: f64 = 18.0;
const TIME_BUCKETS: usize = 100;

struct Frame {
    end: u64,
}

impl Frame {
    fn x(&self, t: u64) -> f64 {
        ML + (t.min(self.end) as f64 / self.end.max(1) as f64) * (W - ML - 8.0)
    }
}

fn status_index(s: OpStatus) -> usize {
    match s {
        OpStatus::Ok => 0,
        OpStatus::Fail => 1,
        OpStatus::Info => 2,
    }
}

const CLASSES: [&str; 3] = ["ok", "fail", "info"];

fn open_svg(s: &mut String, id: &str, label: &str) {
    let _ = write!(
        s,
        "<svg class=\"plot\" id=\"{id}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{label}\">"
    );
}

/// Fault shading, anomaly marks and the time axis.
fn background(s: &mut String, page: &Page, f: &Frame) {
    for w in &page.faults {
        let (a, b) = (f.x(w.start), f.x(w.end.unwrap_or(page.end)));
        let _ = write!(
            s,
            "<rect class=\"{}\" x=\"{a:.1}\" y=\"{MT}\" width=\"{:.1}\" height=\"{:.1}\"><title>",
            if w.instant { "mark" } else { "fault" },
            (b - a).max(1.0),
            H - MT - MB
        );
        push_esc(s, &format!("{} ({})", w.what, w.span_text()));
        s.push_str("</title></rect>");
    }
    for a in &page.anomalies {
        if let Some((t, _)) = a.span {
            let x = f.x(t);
            let _ = write!(
                s,
                "<line class=\"amark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{MT}\" y2=\"{:.1}\"><title>anomaly {} at {}</title></line>",
                H - MB,
                a.id,
                secs(t)
            );
        }
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{ML}\" x2=\"{W}\" y1=\"{y}\" y2=\"{y}\"/>",
        y = H - MB
    );
    for (t, text) in ticks(0, page.end) {
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{text}</text>",
            f.x(t),
            H - 6.0
        );
    }
}

fn legend(s: &mut String, items: &[(&str, &str)]) {
    let mut x = ML + 4.0;
    for (class, text) in items {
        let _ = write!(
            s,
            "<rect class=\"{class} key\" x=\"{x:.0}\" y=\"3\" width=\"10\" height=\"10\"/><text class=\"tick\" x=\"{:.0}\" y=\"12\">{text}</text>",
            x + 14.0
        );
        x += 24.0 + text.len() as f64 * 6.5;
    }
}

/// Latency of every completed operation against its invocation time.
pub fn latency(page: &Page) -> String {
    let h = page.history;
    let f = Frame { end: page.end };
    let pts: Vec<(u64, f64, usize)> = h
        .ops
        .iter()
        .filter_map(|o| {
            let r = o.ret_time?;
            let ms = (r.saturating_sub(o.call_time) as f64 / 1e6).max(1e-3);
            Some((o.call_time, ms, status_index(o.status)))
        })
        .collect();
    let mut s = String::with_capacity(64 * pts.len().min(SCATTER_LIMIT) + 4096);
    open_svg(&mut s, "latency", "latency over time");
    background(&mut s, page, &f);
    let (lo, hi) = pts
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = if pts.is_empty() {
        (0.1, 10.0)
    } else {
        (lo, hi)
    };
    let (llo, lhi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let y = |ms: f64| H - MB - (ms.log10() - llo) / (lhi - llo) * (H - MB - MT);
    let mut d = llo;
    while d <= lhi {
        let ms = 10f64.powf(d);
        let yy = y(ms);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{ML}\" x2=\"{W}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text class=\"tick\" x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            ML - 4.0,
            yy + 4.0,
            fmt_ms(ms)
        );
        d += 1.0;
    }
    if pts.len() <= SCATTER_LIMIT {
        for (t, ms, k) in &pts {
            let _ = write!(
                s,
                "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.6\"/>",
                CLASSES[*k],
                f.x(*t),
                y(*ms)
            );
        }
    } else {
        // Binned: (time cell, latency cell, outcome) -> count.
        let mut cells: std::collections::HashMap<(u32, u32, usize), u32> = Default::default();
        for (t, ms, k) in &pts {
            let cx = (f.x(*t) / 3.0) as u32;
            let cy = (y(*ms) / 3.0) as u32;
            *cells.entry((cx, cy, *k)).or_default() += 1;
        }
        let mut cells: Vec<_> = cells.into_iter().collect();
        cells.sort_unstable();
        for ((cx, cy, k), n) in cells {
            let _ = write!(
                s,
                "<circle class=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{:.1}\"><title>{n}</title></circle>",
                CLASSES[k],
                cx * 3 + 1,
                cy * 3 + 1,
                (1.2 + (n as f64).log10()).min(4.0)
            );
        }
    }
    // Quantile lines of ok operations.
    let width = (page.end / TIME_BUCKETS as u64).max(1);
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); TIME_BUCKETS + 1];
    for (t, ms, k) in &pts {
        if *k == 0 {
            buckets[((*t / width) as usize).min(TIME_BUCKETS)].push(*ms);
        }
    }
    for b in &mut buckets {
        b.sort_by(f64::total_cmp);
    }
    for (q, class) in [(0.5, "q50"), (0.95, "q95"), (0.99, "q99"), (1.0, "qmax")] {
        let mut path = String::new();
        for (i, b) in buckets.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
            let v = b[(((b.len() - 1) as f64) * q).round() as usize];
            let _ = write!(
                path,
                "{:.1},{:.1} ",
                f.x(i as u64 * width + width / 2),
                y(v)
            );
        }
        let _ = write!(s, "<polyline class=\"{class}\" points=\"{path}\"/>");
    }
    legend(
        &mut s,
        &[
            ("ok", "ok"),
            ("fail", "fail"),
            ("info", "info"),
            ("q50", "p50"),
            ("q95", "p95"),
            ("q99", "p99"),
            ("qmax", "max"),
        ],
    );
    s.push_str("</svg>\n");
    s
}

/// `0.1 ms`, `10 ms`, `10 s`.
fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.0} s", ms / 1000.0)
    } else if ms >= 1.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms} ms")
    }
}

/// Operations completed per second, by outcome (an operation that never completed is counted
/// as info at its invocation).
pub fn throughput(page: &Page) -> String {
    let h = page.history;
    let f = Frame { end: page.end };
    let width = (page.end / TIME_BUCKETS as u64).max(1);
    let mut counts = vec![[0u32; 3]; TIME_BUCKETS + 1];
    for o in &h.ops {
        let t = o.ret_time.unwrap_or(o.call_time);
        counts[((t / width) as usize).min(TIME_BUCKETS)][status_index(o.status)] += 1;
    }
    let per_s = |n: u32| n as f64 / (width as f64 / 1e9);
    let top = counts
        .iter()
        .flat_map(|c| c.iter().map(|&n| per_s(n)))
        .fold(1.0f64, f64::max);
    let top = nice_ceil(top);
    let y = |r: f64| H - MB - r / top * (H - MB - MT);
    let mut s = String::with_capacity(8192);
    open_svg(&mut s, "throughput", "throughput over time");
    background(&mut s, page, &f);
    for i in 0..=4 {
        let r = top * i as f64 / 4.0;
        let yy = y(r);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{ML}\" x2=\"{W}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text class=\"tick\" x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{r:.0}/s</text>",
            ML - 4.0,
            yy + 4.0
        );
    }
    for (k, class) in CLASSES.iter().enumerate() {
        let mut path = String::new();
        for (i, c) in counts.iter().enumerate() {
            let _ = write!(
                path,
                "{:.1},{:.1} ",
                f.x(i as u64 * width + width / 2),
                y(per_s(c[k]))
            );
        }
        let _ = write!(s, "<polyline class=\"rate {class}\" points=\"{path}\"/>");
    }
    legend(&mut s, &[("ok", "ok"), ("fail", "fail"), ("info", "info")]);
    s.push_str("</svg>\n");
    s
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceil(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|x| *x >= v)
        .unwrap_or(10.0 * mag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceil(1.0), 1.0);
        assert_eq!(nice_ceil(130.0), 200.0);
        assert_eq!(nice_ceil(501.0), 1000.0);
    }
}
