//! The report's size and time for histories of 1,000, 10,000 and 100,000 operations (BENCHMARKS.md):
//! a generated register history (10 processes over 5 nodes, keys rotating every 100 operations,
//! 1% info, a partition every 10 s for 5 s, one stale read every 10,000 operations (the first
//! at operation 550) so that the
//! page has anomalies to draw) is checked through the suite, then rendered; the median of 5
//! renders is printed with the page's size. With `--chromium`, each page is also loaded in
//! headless Chromium (`--dump-dom`, which returns once the page has loaded and its script ran)
//! and timed against an empty page, so that the difference is the page's own cost.
//!
//!     cargo run --release -p harness --example report_bench -- [--chromium] [OPS...]

use harness::report::{render, Input};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn history(n: usize) -> String {
    let mut s = String::with_capacity(n * 220);
    let (mut idx, mut t) = (0u64, 0u64);
    let mut value: std::collections::HashMap<usize, Option<u64>> = Default::default();
    let mut prev: std::collections::HashMap<usize, Option<u64>> = Default::default();
    let line = |s: &mut String, idx: &mut u64, body: String| {
        let _ = writeln!(s, "{{\"index\":{idx},{body}}}");
        *idx += 1;
    };
    let mut next_fault = 10_000_000_000u64;
    let mut stale_due = false;
    let mut healed_at = None;
    for i in 0..n {
        t += 1_000_000; // one operation per millisecond
        if t >= next_fault && healed_at.is_none() {
            let iso = format!("n{}", 1 + (i / 7) % 5);
            let body = format!("\"time\":{t},\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start-partition\",\"value\":{{\"kind\":\"isolate-one\",\"grudge\":{{\"{iso}\":[\"x\"]}}}}");
            line(&mut s, &mut idx, body);
            healed_at = Some(t + 5_000_000_000);
        }
        if healed_at.is_some_and(|h| t >= h) {
            let body = format!("\"time\":{t},\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"stop-partition\",\"value\":{{\"grudge\":{{}}}}");
            line(&mut s, &mut idx, body);
            healed_at = None;
            next_fault = t + 5_000_000_000;
        }
        if i % 10_000 == 550 {
            stale_due = true;
        }
        let p = i % 10;
        let key = i / 100;
        let node = format!("n{}", 1 + p % 5);
        let cur = *value.get(&key).unwrap_or(&None);
        let (f, inv, out) = if i % 3 == 0 {
            ("write", json!(i), json!(i))
        } else {
            // A stale read every 10,000 operations: the value before the current one.
            let v = if stale_due && prev.get(&key).is_some_and(|p| p.is_some()) {
                stale_due = false;
                *prev.get(&key).unwrap_or(&None)
            } else {
                cur
            };
            ("read", json!(null), json!(v))
        };
        let _ = writeln!(s, "{{\"index\":{idx},\"time\":{t},\"type\":\"invoke\",\"process\":{p},\"f\":\"{f}\",\"key\":\"{key}\",\"value\":{inv}}}");
        idx += 1;
        let kind = if i % 100 == 50 && f == "write" {
            "info"
        } else {
            "ok"
        };
        let _ = writeln!(s, "{{\"index\":{idx},\"time\":{},\"type\":\"{kind}\",\"process\":{p},\"f\":\"{f}\",\"key\":\"{key}\",\"value\":{out},\"node\":\"{node}\"}}", t + 400_000 + (i as u64 % 7) * 50_000);
        idx += 1;
        if f == "write" {
            prev.insert(key, cur);
            value.insert(key, Some(i as u64));
        }
        // A process whose op ended in info is retired: the others carry on (kept simple: the
        // same id, as a fresh worker would be, since operations never overlap here).
    }
    s
}

fn chromium_ms(file: &Path) -> Option<f64> {
    let bin = "/usr/bin/chromium";
    if !Path::new(bin).is_file() {
        return None;
    }
    let profile = std::env::temp_dir().join("faultline-report-bench-profile");
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let out = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1400,2600",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(format!("file://{}", file.display()))
            .output()
            .ok()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let dom = String::from_utf8_lossy(&out.stdout);
        if !dom.contains("</html>") {
            return None;
        }
        best = best.min(ms);
    }
    Some(best)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_chromium = args.iter().any(|a| a == "--chromium");
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let dir = std::env::temp_dir().join("faultline-report-bench");
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let empty = dir.join("empty.html");
    std::fs::write(&empty, "<!DOCTYPE html><html><body></body></html>").expect("write");
    let base = if with_chromium {
        chromium_ms(&empty)
    } else {
        None
    };
    println!("| operations | anomalies | render (median of 5) | page size | Chromium load (best of 3, minus an empty page's {}) |", base.map(|b| format!("{b:.0} ms")).unwrap_or_else(|| "—".into()));
    println!("|---|---|---|---|---|");
    for n in sizes {
        let text = history(n);
        let h = histories::load_str(&text, Some(histories::Format::Jsonl))
            .expect("a valid history")
            .1;
        let report = checkers::suite::check(&h, None, &Default::default()).expect("checkable");
        let results = json!({"valid": report.valid, "checkers": report.checkers_json(), "explanation": report.explanation()});
        let input = Input {
            title: format!("generated, {n} operations"),
            source: "generated".into(),
            history: &h,
            results: &results,
            test: None,
            node_logs: Vec::new(),
        };
        let mut times = Vec::new();
        let mut page = String::new();
        for _ in 0..5 {
            let t = Instant::now();
            page = render(&input);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let anomalies: usize = report.checkers.iter().map(|(_, r)| r.anomalies.len()).sum();
        let file = dir.join(format!("report-{n}.html"));
        std::fs::write(&file, &page).expect("write the page");
        let load = if with_chromium {
            chromium_ms(&file)
                .zip(base)
                .map(|(a, b)| format!("{:.0} ms", (a - b).max(0.0)))
        } else {
            None
        };
        println!(
            "| {n} | {anomalies} | {:.1} ms | {:.2} MB | {} |",
            times[2],
            page.len() as f64 / 1e6,
            load.unwrap_or_else(|| "—".into())
        );
    }
}
