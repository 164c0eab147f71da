//! The lane chart: one row per lane (a client process, a node), bars on a time axis, fault
//! windows shaded, zoomable and scrollable. The operation timeline and the node roles chart
//! are both drawn with it.
//!
//! The bars are an SVG stretched to the width of a scrollable box (`preserveAspectRatio=none`,
//! strokes that do not scale); zooming widens the box's content. Text — lane names, tick
//! labels, bar labels — is HTML placed by percentages, so it never stretches. Each bar's
//! tooltip is its SVG `<title>` (no script needed).

use super::escape::{esc, push_esc};
use std::fmt::Write;

/// Height of a lane, in pixels.
const LANE: u32 = 18;
/// Width of the SVG's coordinate system.
const W: f64 = 1000.0;

/// A bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub lane: usize,
    pub start: u64,
    pub end: u64,
    /// CSS classes: `ok`, `fail`, `info`, `wit`, `leader`, …
    pub class: String,
    /// The tooltip (plain text; escaped when drawn).
    pub title: String,
    /// Text shown at the bar's start (plain text).
    pub label: Option<String>,
}

/// A shaded window.
#[derive(Debug, Clone)]
pub struct Shade {
    pub start: u64,
    pub end: u64,
    pub title: String,
    /// `fault` or `anomaly`.
    pub class: &'static str,
}

/// A whole chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// The element id (for zoom controls).
    pub id: String,
    pub lanes: Vec<String>,
    pub t0: u64,
    pub t1: u64,
    pub bars: Vec<Bar>,
    pub shades: Vec<Shade>,
}

impl Chart {
    fn x(&self, t: u64) -> f64 {
        let span = self.t1.saturating_sub(self.t0).max(1) as f64;
        (t.clamp(self.t0, self.t1) - self.t0) as f64 / span * W
    }

    /// The chart as HTML.
    pub fn render(&self) -> String {
        let h = (self.lanes.len() as u32).max(1) * LANE;
        let mut s = String::with_capacity(256 + self.bars.len() * 160);
        let _ = write!(
            s,
            "<div class=\"chart\" id=\"{id}\"><div class=\"zoom\">zoom <button type=\"button\" data-zoom=\"2\">+</button><button type=\"button\" data-zoom=\"0.5\">−</button><button type=\"button\" data-zoom=\"0\">reset</button> <span class=\"hint\">(or Ctrl + wheel; scroll sideways)</span></div><div class=\"chart-body\"><div class=\"lane-names\" style=\"height:{h}px\">",
            id = esc(&self.id)
        );
        for l in &self.lanes {
            let _ = write!(s, "<div title=\"{0}\">{0}</div>", esc(l));
        }
        let _ = write!(
            s,
            "</div><div class=\"scroll\"><div class=\"inner\"><svg class=\"bars\" viewBox=\"0 0 {W} {h}\" preserveAspectRatio=\"none\" style=\"height:{h}px\" role=\"img\">"
        );
        for sh in &self.shades {
            let (a, b) = (self.x(sh.start), self.x(sh.end));
            let _ = write!(
                s,
                "<rect class=\"{}\" x=\"{a:.3}\" y=\"0\" width=\"{:.3}\" height=\"{h}\"><title>",
                sh.class,
                (b - a).max(0.4)
            );
            push_esc(&mut s, &sh.title);
            s.push_str("</title></rect>");
        }
        for (i, _) in self.lanes.iter().enumerate().skip(1) {
            let _ = write!(
                s,
                "<line class=\"sep\" x1=\"0\" x2=\"{W}\" y1=\"{y}\" y2=\"{y}\"/>",
                y = i as u32 * LANE
            );
        }
        for b in &self.bars {
            let (a, e) = (self.x(b.start), self.x(b.end));
            let _ = write!(
                s,
                "<rect class=\"{}\" x=\"{a:.3}\" y=\"{}\" width=\"{:.3}\" height=\"{}\"><title>",
                esc(&b.class),
                b.lane as u32 * LANE + 2,
                (e - a).max(0.25),
                LANE - 4
            );
            push_esc(&mut s, &b.title);
            s.push_str("</title></rect>");
        }
        s.push_str("</svg><div class=\"labels\">");
        for b in self.bars.iter().filter(|b| b.label.is_some()) {
            let _ = write!(
                s,
                "<span class=\"{}\" style=\"left:{:.3}%;top:{}px\">",
                esc(&b.class),
                self.x(b.start) / W * 100.0,
                b.lane as u32 * LANE
            );
            push_esc(&mut s, b.label.as_deref().unwrap_or(""));
            s.push_str("</span>");
        }
        s.push_str("</div><div class=\"axis\">");
        for (t, text) in ticks(self.t0, self.t1) {
            let _ = write!(
                s,
                "<span style=\"left:{:.3}%\">{}</span>",
                self.x(t) / W * 100.0,
                esc(&text)
            );
        }
        s.push_str("</div></div></div></div></div>\n");
        s
    }
}

/// About ten round tick times within `[t0, t1]`, labelled in seconds.
pub fn ticks(t0: u64, t1: u64) -> Vec<(u64, String)> {
    let span = t1.saturating_sub(t0).max(1) as f64;
    let raw = span / 10.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0);
    let decimals = (-(step / 1e9).log10().floor()).max(0.0) as usize;
    let mut out = Vec::new();
    let mut t = (t0 as f64 / step).ceil() * step;
    while t <= t1 as f64 && out.len() < 40 {
        out.push((t as u64, format!("{:.*} s", decimals, t / 1e9)));
        t += step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_seconds() {
        let t = ticks(0, 10_000_000_000);
        assert_eq!(t.first().unwrap().1, "0 s");
        assert_eq!(t.last().unwrap().1, "10 s");
        assert_eq!(t.len(), 11);
        let t = ticks(2_000_000_000, 2_050_000_000);
        assert_eq!(t[1].1, "2.005 s");
    }

    #[test]
    fn bars_and_labels_escape_their_text() {
        let c = Chart {
            id: "t".into(),
            lanes: vec!["<b>".into()],
            t0: 0,
            t1: 100,
            bars: vec![Bar {
                lane: 0,
                start: 10,
                end: 20,
                class: "ok".into(),
                title: "</title><script>x</script>".into(),
                label: Some("<i>".into()),
            }],
            shades: vec![],
        };
        let html = c.render();
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("<i>"));
        assert!(html.contains("&lt;/title&gt;&lt;script&gt;"));
        assert!(html.contains("x=\"100.000\""), "{html}");
    }
}
