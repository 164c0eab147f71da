//! The page itself: one self-contained HTML file (inline CSS, a little inline script for
//! zooming, inline SVG; nothing from the network), opened straight from the file system.
//!
//! Sections: the verdicts (every checker, the strongest model satisfied), the anomalies (see
//! [`super::anomalies`]), the timeline, latency and throughput, the nodes' roles, the faults,
//! and how to run it again (seed, rerun command, options). The script only zooms charts; the
//! page reads the same without it. When the script has run it sets `data-script="ok"` on the
//! root element, and any script error sets `data-script-error` (tests read both).

use super::escape::{clip, esc};
use super::faults::secs;
use super::lanes::{Bar, Chart};
use super::model::Page;
use super::roles::Role;
use super::{anomalies, plots, timeline};
use std::fmt::Write;

const CSS: &str = r#"
:root{--ok:#5aa55a;--fail:#d9534f;--info:#f0ad4e;--fault:rgba(90,90,200,.16);--anom:rgba(255,0,0,.13)}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1400px;padding:0 18px 40px;color:#222}
h1{font-size:22px;margin:16px 0 4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}
h3{font-size:16px;margin:18px 0 6px}h4{margin:10px 0 4px}h5{margin:8px 0 2px}
.src{color:#666;font-size:12px;word-break:break-all}
.banner{padding:8px 12px;border-radius:4px;font-size:15px;margin:8px 0}
.banner.valid{background:#e4f4e4;border:1px solid var(--ok)}.banner.invalid{background:#fbe5e4;border:1px solid var(--fail)}
.banner.unknown{background:#fdf2df;border:1px solid var(--info)}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.valid,td.ok{color:#2d7a2d}td.invalid,td.fail{color:#b52b27;font-weight:600}td.unknown,td.info{color:#a86a00}
.optext{font-family:ui-monospace,monospace;word-break:break-all}
.anomaly{border-left:4px solid var(--fail);padding:2px 14px 6px;margin:14px 0;background:#fffafa}
.anomaly .by{font-weight:normal;color:#666;font-size:13px}.what{font-size:15px}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px;max-height:420px}
.ln{color:#999}
.chart{margin:6px 0 10px}.zoom{font-size:12px;color:#555;margin-bottom:2px}.zoom button{margin-left:3px}.hint{color:#999}
.chart-body{display:flex;border:1px solid #ddd}
.lane-names{flex:0 0 150px;font-size:11px;border-right:1px solid #ddd;background:#fafafa;padding-bottom:18px}
.lane-names div{height:18px;line-height:18px;padding:0 4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.scroll{flex:1;overflow-x:auto;overflow-y:hidden}.inner{position:relative;width:100%;min-width:100%}
svg.bars{display:block;width:100%}
.labels span{position:absolute;font-size:10px;line-height:18px;padding-left:2px;white-space:nowrap;pointer-events:none;font-weight:600}
.axis{position:relative;height:18px;border-top:1px solid #ccc;font-size:10px;color:#555}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap;top:2px}.axis span:first-child{transform:none}
svg rect.ok,svg circle.ok{fill:var(--ok)}svg rect.fail,svg circle.fail{fill:var(--fail)}svg rect.info,svg circle.info{fill:var(--info)}
svg rect.agg{opacity:.75}
svg rect.wit{stroke:#000;stroke-width:2.5px;vector-effect:non-scaling-stroke}
svg rect.fault{fill:var(--fault)}svg rect.anomaly{fill:var(--anom)}svg rect.mark{fill:rgba(90,90,200,.5)}
svg line.sep{stroke:#eee;vector-effect:non-scaling-stroke}
svg rect.leader{fill:#3b73b9}svg rect.down{fill:#555}svg rect.paused{fill:#999}
.labels span.leader{color:#fff}
svg.plot{width:100%;height:auto;display:block;border:1px solid #ddd;margin:6px 0}
svg.plot .tick{font-size:11px;fill:#555}svg.plot line.grid{stroke:#eee}svg.plot line.axis{stroke:#999}
svg.plot line.amark{stroke:#c00;stroke-width:1.5;stroke-dasharray:4 3}
svg.plot circle{opacity:.6}
svg.plot polyline{fill:none;stroke-width:1.6}
.q50{stroke:#333}.q95{stroke:#7a4fa3}.q99{stroke:#c04a8a}.qmax{stroke:#999;stroke-dasharray:3 3}
polyline.rate.ok{stroke:var(--ok)}polyline.rate.fail{stroke:var(--fail)}polyline.rate.info{stroke:var(--info)}
rect.key.q50{fill:#333}rect.key.q95{fill:#7a4fa3}rect.key.q99{fill:#c04a8a}rect.key.qmax{fill:#999}
rect.key.ok{fill:var(--ok)}rect.key.fail{fill:var(--fail)}rect.key.info{fill:var(--info)}
.legend span{display:inline-block;width:11px;height:11px;margin:0 3px 0 10px;vertical-align:-1px}
.legend .ok{background:var(--ok)}.legend .fail{background:var(--fail)}.legend .info{background:var(--info)}
.legend .fault{background:var(--fault);border:1px solid #99c}.legend .wit{border:2px solid #000}.legend .anom{background:var(--anom)}
.legend .leader{background:#3b73b9}.legend .down{background:#555}.legend .paused{background:#999}
.note{color:#666;font-size:13px}
"#;

const SCRIPT: &str = r#"
window.addEventListener('error',function(e){document.documentElement.setAttribute('data-script-error',String(e.message))});
(function(){
function zoom(c,f){var sc=c.querySelector('.scroll'),inner=c.querySelector('.inner');
var mid=(sc.scrollLeft+sc.clientWidth/2)/Math.max(sc.scrollWidth,1);var z=parseFloat(c.getAttribute('data-z')||'1');
z=f===0?1:Math.min(Math.max(z*f,1),500);c.setAttribute('data-z',String(z));inner.style.width=(z*100)+'%';
sc.scrollLeft=mid*sc.scrollWidth-sc.clientWidth/2;}
var charts=document.querySelectorAll('.chart');
for(var i=0;i<charts.length;i++){(function(c){
var bs=c.querySelectorAll('button[data-zoom]');
for(var j=0;j<bs.length;j++){(function(b){b.addEventListener('click',function(){zoom(c,parseFloat(b.getAttribute('data-zoom')))})})(bs[j]);}
c.querySelector('.scroll').addEventListener('wheel',function(e){if(e.ctrlKey){e.preventDefault();zoom(c,e.deltaY<0?1.25:0.8)}},{passive:false});
})(charts[i]);}
document.documentElement.setAttribute('data-script','ok');
})();
"#;

fn legend(items: &[(&str, &str)]) -> String {
    let mut s = String::from("<div class=\"legend note\">");
    for (class, text) in items {
        let _ = write!(s, "<span class=\"{class}\"></span>{text}");
    }
    s.push_str("</div>");
    s
}

/// The whole page.
pub fn page(p: &Page) -> String {
    let mut s = String::with_capacity(1 << 20);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"><title>{} — faultline report</title><style>{CSS}</style></head><body>\n",
        esc(&p.title)
    );
    header(&mut s, p);
    verdicts(&mut s, p);
    let _ = write!(s, "<h2 id=\"anomalies\">Anomalies</h2>");
    if p.anomalies.is_empty() {
        s.push_str("<p>No anomaly found.</p>");
    } else {
        if p.anomalies_total > p.anomalies.len() {
            let _ = write!(
                s,
                "<p class=\"note\">{} anomalies; the first {} are explained here (all of them are in results.json).</p>",
                p.anomalies_total,
                p.anomalies.len()
            );
        }
        for (i, a) in p.anomalies.iter().enumerate() {
            s.push_str(&anomalies::render(p, a, i));
        }
    }
    timeline_section(&mut s, p);
    s.push_str("<h2 id=\"latency\">Latency</h2><p class=\"note\">Each completed operation at its invocation time, by outcome (log scale); lines: p50, p95, p99 and max of ok operations per time slice. Shaded: faults; dashed red: anomalies.</p>");
    s.push_str(&plots::latency(p));
    s.push_str("<h2 id=\"throughput\">Throughput</h2><p class=\"note\">Operations completed per second, by outcome.</p>");
    s.push_str(&plots::throughput(p));
    nodes_section(&mut s, p);
    faults_section(&mut s, p);
    run_section(&mut s, p);
    let _ = writeln!(
        s,
        "<footer class=\"note\"><p>faultline {} · this page is self-contained and loads nothing from the network.</p></footer><script>{SCRIPT}</script></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

fn header(s: &mut String, p: &Page) {
    let _ = write!(
        s,
        "<header id=\"top\"><h1>{}</h1><div class=\"src\">{}</div>",
        esc(&p.title),
        esc(&p.source)
    );
    let word = match p.verdict {
        "valid" => "VALID",
        "invalid" => "INVALID",
        _ => "UNKNOWN",
    };
    let _ = write!(
        s,
        "<div class=\"banner {}\" id=\"verdict\"><b>{word}</b> — {}</div><nav>",
        p.verdict,
        esc(&clip(&p.explanation, 2000))
    );
    if !p.anomalies.is_empty() {
        s.push_str("<a href=\"#a1\"><b>jump to the first anomaly</b></a>");
    }
    for (id, name) in [
        ("verdicts", "verdicts"),
        ("anomalies", "anomalies"),
        ("timeline", "timeline"),
        ("latency", "latency"),
        ("throughput", "throughput"),
        ("nodes", "nodes"),
        ("faults", "faults"),
        ("run", "rerun"),
    ] {
        let _ = write!(s, "<a href=\"#{id}\">{name}</a>");
    }
    s.push_str("</nav></header>\n");
}

fn verdicts(s: &mut String, p: &Page) {
    s.push_str("<h2 id=\"verdicts\">Verdicts</h2>");
    if let Some(st) = &p.strongest {
        let _ = write!(s, "<p class=\"strongest\"><b>{}</b></p>", esc(st));
    }
    s.push_str("<table><thead><tr><th>checker</th><th>verdict</th><th>anomalies</th><th>explanation</th></tr></thead><tbody>");
    for c in &p.checkers {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"{v}\">{v}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            c.anomalies,
            esc(&clip(&c.explanation, 1500)),
            v = c.valid
        );
    }
    if p.checkers.is_empty() {
        s.push_str("<tr><td colspan=\"4\">not checked</td></tr>");
    }
    s.push_str("</tbody></table>");
    let _ = writeln!(
        s,
        "<p class=\"note\">{} operations ({} ok, {} fail, {} info) by {} processes over {}; {} nemesis events.</p>",
        p.history.ops.len(),
        p.counts[0],
        p.counts[1],
        p.counts[2],
        p.history.processes(),
        secs(p.end),
        p.history.nemesis.len()
    );
}

fn timeline_section(s: &mut String, p: &Page) {
    s.push_str("<h2 id=\"timeline\">Timeline</h2>");
    if p.history.ops.len() > timeline::DETAIL_LIMIT {
        let _ = write!(
            s,
            "<p class=\"note\">{} operations: the whole run is aggregated into time slices per lane (hover for counts; the colour is the worst outcome in the slice); witnesses are drawn one by one, and each anomaly above has a detailed timeline of its own.</p>",
            p.history.ops.len()
        );
    } else {
        s.push_str("<p class=\"note\">One lane per client process (processes that never overlap share one); each bar runs from invocation to completion. Hover a bar for its history lines, operation and node.</p>");
    }
    s.push_str(&legend(&[
        ("ok", "ok"),
        ("fail", "fail"),
        ("info", "info (unknown)"),
        ("wit", "witness"),
        ("fault", "fault in force"),
        ("anom", "anomaly"),
    ]));
    s.push_str(&timeline::overview(p).render());
}

fn nodes_section(s: &mut String, p: &Page) {
    s.push_str("<h2 id=\"nodes\">Nodes</h2>");
    if p.nodes.is_empty() {
        s.push_str("<p>The history names no nodes.</p>");
        return;
    }
    if !p.logs_timed {
        s.push_str("<p class=\"note\">No node log could be placed on the history's clock; leaders are not shown, only faults.</p>");
    }
    s.push_str(&legend(&[
        ("leader", "leader (term or epoch)"),
        ("down", "down (killed)"),
        ("paused", "paused"),
        ("fault", "fault in force"),
    ]));
    let lane: std::collections::HashMap<&str, usize> = p
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let bars = p
        .roles
        .iter()
        .filter_map(|r| {
            Some(Bar {
                lane: *lane.get(r.node.as_str())?,
                start: r.start,
                end: r.end,
                class: match r.role {
                    Role::Leader(_) => "leader",
                    Role::Down => "down",
                    Role::Paused => "paused",
                }
                .into(),
                title: format!(
                    "{}: {} from {} to {}",
                    r.node,
                    r.label(),
                    secs(r.start),
                    secs(r.end)
                ),
                label: match r.role {
                    Role::Leader(Some((w, t))) => Some(format!("{w} {t}")),
                    _ => None,
                },
            })
        })
        .collect();
    let mut chart = Chart {
        id: "roles".into(),
        lanes: p.nodes.clone(),
        t0: 0,
        t1: p.end,
        bars,
        shades: Vec::new(),
    };
    chart.shades = timeline::overview_shades(p);
    s.push_str(&chart.render());
}

fn faults_section(s: &mut String, p: &Page) {
    s.push_str("<h2 id=\"faults\">Faults</h2>");
    if p.faults.is_empty() {
        s.push_str("<p>No fault was injected.</p>");
        return;
    }
    s.push_str("<table><thead><tr><th>fault</th><th>from</th><th>to</th><th>nodes hit</th></tr></thead><tbody>");
    for w in &p.faults {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.what),
            secs(w.start),
            if w.instant {
                "(instant)".into()
            } else {
                w.end.map(secs).unwrap_or_else(|| "the end".into())
            },
            esc(&w.nodes.join(" "))
        );
    }
    s.push_str("</tbody></table>\n");
}

fn run_section(s: &mut String, p: &Page) {
    s.push_str("<h2 id=\"run\">Run it again</h2>");
    let Some(r) = &p.run else {
        let _ = write!(
            s,
            "<p>A history file, not a stored run. Check it again with:</p><pre>faultline check {}</pre>",
            esc(&p.source)
        );
        return;
    };
    let _ = write!(
        s,
        "<p>Test <b>{}</b>: system {}, workload {}, nemesis {}; seed <b>{}</b>.</p>",
        esc(&r.name),
        esc(&r.system),
        esc(&r.workload),
        esc(&r.nemesis),
        r.seed
            .map(|x| x.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    if let Some(cmd) = &r.rerun {
        let _ = write!(s, "<p>The same seed gives the same operations and the same fault schedule:</p><pre id=\"rerun\">{}</pre>", esc(cmd));
    }
    let _ = writeln!(
        s,
        "<p>Check the stored history again: <code>faultline analyze {}</code></p><details><summary>Every option (test.json)</summary><pre>{}</pre></details>",
        esc(&p.source),
        esc(&r.options)
    );
}
