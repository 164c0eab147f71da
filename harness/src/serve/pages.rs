//! The pages `faultline serve` makes: the index of runs and campaigns (newest first, coloured
//! by verdict, filterable by test and verdict with plain query parameters), and a listing of
//! any directory of the store (a run's files, a campaign's detection matrix inline).

use super::files::percent_encode;
use super::runs::{CampaignEntry, RunEntry};
use crate::report::escape::esc;
use std::fmt::Write;
use std::path::Path;

const CSS: &str = r#"body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1300px;padding:0 18px 40px;color:#222}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f6f6f6}
tr.valid td.v{background:#e4f4e4}tr.invalid td.v{background:#fbe5e4;font-weight:600}
tr.unknown td.v{background:#fdf2df}tr.unchecked td.v{color:#888}
form{margin:8px 0}pre{background:#f7f7f7;padding:8px;overflow:auto}.note{color:#666}"#;

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — faultline</title><style>{CSS}</style></head><body>",
        esc(title)
    )
}

/// A query parameter's value (`?test=a&verdict=invalid`).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| super::files::percent_decode(&v.replace('+', " ")).unwrap_or_default())
    })
}

/// The index: runs (filtered by `test` and `verdict` when given) and campaigns.
pub fn index(store: &Path, runs: &[RunEntry], campaigns: &[CampaignEntry], query: &str) -> String {
    let test = query_param(query, "test").filter(|s| !s.is_empty());
    let verdict = query_param(query, "verdict").filter(|s| !s.is_empty());
    let mut s = head("runs");
    let _ = write!(
        s,
        "<h1>faultline runs</h1><p class=\"note\">store {}</p>",
        esc(&store.display().to_string())
    );
    let mut tests: Vec<&str> = runs.iter().map(|r| r.test.as_str()).collect();
    tests.sort_unstable();
    tests.dedup();
    s.push_str("<form method=\"get\" action=\"/\">test <select name=\"test\"><option value=\"\">all</option>");
    for t in &tests {
        let sel = if test.as_deref() == Some(*t) {
            " selected"
        } else {
            ""
        };
        let _ = write!(s, "<option value=\"{0}\"{sel}>{0}</option>", esc(t));
    }
    s.push_str("</select> verdict <select name=\"verdict\"><option value=\"\">all</option>");
    for v in ["invalid", "unknown", "valid", "unchecked"] {
        let sel = if verdict.as_deref() == Some(v) {
            " selected"
        } else {
            ""
        };
        let _ = write!(s, "<option{sel}>{v}</option>");
    }
    s.push_str("</select> <button type=\"submit\">filter</button></form>");
    let shown: Vec<&RunEntry> = runs
        .iter()
        .filter(|r| test.as_deref().is_none_or(|t| r.test == t))
        .filter(|r| verdict.as_deref().is_none_or(|v| r.verdict == v))
        .collect();
    let _ = write!(
        s,
        "<h2>Runs</h2><p class=\"note\">{} of {} runs, newest first.</p>",
        shown.len(),
        runs.len()
    );
    s.push_str("<table id=\"runs\"><thead><tr><th>started (UTC)</th><th>test</th><th>verdict</th><th>system</th><th>workload</th><th>nemesis</th><th>seed</th><th>duration</th><th>operations</th><th>files</th></tr></thead><tbody>");
    for r in shown {
        let href = percent_encode(&r.rel);
        let report = if r.has_report {
            format!("<a href=\"/files/{href}/report.html\">report</a> · ")
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<tr class=\"{v}\"><td><a href=\"/files/{href}/\">{}</a></td><td>{}</td><td class=\"v\">{v}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{report}<a href=\"/files/{href}/history.jsonl\">history</a> · <a href=\"/files/{href}/log.txt\">log</a> · <a href=\"/files/{href}/test.json\">test.json</a> · <a href=\"/files/{href}/nodes/\">nodes</a> · <a href=\"/download/{href}.tar.gz\">.tar.gz</a></td></tr>",
            esc(&r.time),
            esc(&r.test),
            esc(&r.system),
            esc(&r.workload),
            esc(&r.nemesis),
            r.seed.map(|x| x.to_string()).unwrap_or_default(),
            r.duration.map(|d| format!("{d:.1} s")).unwrap_or_default(),
            r.operations.map(|x| x.to_string()).unwrap_or_default(),
            v = r.verdict,
        );
    }
    s.push_str("</tbody></table><h2>Campaigns</h2>");
    if campaigns.is_empty() {
        s.push_str("<p class=\"note\">No campaign in this store.</p>");
    } else {
        s.push_str("<table id=\"campaigns\"><thead><tr><th>started (UTC)</th><th>files</th></tr></thead><tbody>");
        for c in campaigns {
            let href = percent_encode(&c.rel);
            let files: Vec<String> = c
                .files
                .iter()
                .map(|f| {
                    format!(
                        "<a href=\"/files/{href}/{}\">{}</a>",
                        percent_encode(f),
                        esc(f)
                    )
                })
                .collect();
            let _ = write!(
                s,
                "<tr><td><a href=\"/files/{href}/\">{}</a></td><td>{}</td></tr>",
                esc(&c.time),
                files.join(" · ")
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</body></html>\n");
    s
}

/// A directory of the store: its entries, a download link, and a campaign's detection matrix
/// (detection.md) inline.
pub fn listing(root: &Path, dir: &Path) -> String {
    let rel = dir
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = head(if rel.is_empty() { "store" } else { &rel });
    let _ = write!(
        s,
        "<p><a href=\"/\">all runs</a></p><h1>{}</h1>",
        esc(if rel.is_empty() { "store" } else { &rel })
    );
    if !rel.is_empty() {
        let _ = write!(
            s,
            "<p><a href=\"/download/{}.tar.gz\">download as .tar.gz</a></p>",
            percent_encode(&rel)
        );
    }
    if let Ok(md) = std::fs::read_to_string(dir.join("detection.md")) {
        let _ = write!(s, "<h2>Detection matrix</h2><pre>{}</pre>", esc(&md));
    }
    let mut entries: Vec<(String, bool, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let md = std::fs::metadata(e.path()).ok();
            (
                e.file_name().to_string_lossy().into_owned(),
                md.as_ref().is_some_and(|m| m.is_dir()),
                md.map_or(0, |m| m.len()),
            )
        })
        .collect();
    entries.sort();
    s.push_str("<table><thead><tr><th>name</th><th>size</th></tr></thead><tbody>");
    if !rel.is_empty() {
        s.push_str("<tr><td><a href=\"../\">..</a></td><td></td></tr>");
    }
    for (name, is_dir, len) in entries {
        let slash = if is_dir { "/" } else { "" };
        let _ = write!(
            s,
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{}</td></tr>",
            percent_encode(&name),
            esc(&name),
            if is_dir {
                String::new()
            } else {
                len.to_string()
            }
        );
    }
    s.push_str("</tbody></table></body></html>\n");
    s
}
