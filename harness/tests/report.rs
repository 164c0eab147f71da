//! The anomaly report and `faultline serve`, end to end: a real `faultline test` against a raft
//! cluster with `--bug local-read` (stale reads from an isolated leader) writes a report.html
//! that names the anomaly, its witness lines and the fault in force; headless Chromium renders
//! it (and serve's pages) without script errors; hostile history values stay text; `serve`
//! answers real HTTP requests and refuses paths outside the store.
//!
//! The Chromium parts print "skipped: …" and pass when /usr/bin/chromium is missing
//! (`apt-get install chromium`; .ci/run installs it).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use testkit::faultline::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// One real invalid run, shared by the tests of this file: (store, run directory).
fn invalid_run() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        // Kept after the tests for a look (replaced by the next run of them).
        let store = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-e2e-store");
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&store).unwrap();
        let (out, run) = run_test(
            &store,
            &[
                "--system",
                "raft",
                "--workload",
                "register",
                "--nemesis",
                "partition",
                "--nodes",
                "3",
                "--concurrency",
                "6",
                "--time-limit",
                "8",
                "--nemesis-interval",
                "2",
                "--rate",
                "150",
                "--seed",
                "7",
                "--node-arg=--bug=local-read",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        (store, run)
    })
}

fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).is_file() {
        Some(CHROMIUM)
    } else {
        println!("skipped: {CHROMIUM} is missing (apt-get install chromium)");
        None
    }
}

/// Runs `cmd`, killing it after `limit`; returns (stdout, stderr).
fn run_bounded(mut cmd: Command, limit: Duration) -> (String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.wait();
    (t_out.join().unwrap(), t_err.join().unwrap())
}

fn chromium_cmd(bin: &str, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,2600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM Chromium builds from `url` after its scripts ran, and a screenshot of it saved as
/// `shot` (under the target's tmp directory). Asserts that no script error happened.
fn render(bin: &str, url: &str, shot: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut dump = chromium_cmd(bin, profile.path());
    dump.arg("--virtual-time-budget=3000")
        .arg("--dump-dom")
        .arg(url);
    let (dom, log) = run_bounded(dump, Duration::from_secs(90));
    assert!(dom.contains("</html>"), "no DOM for {url}: {log}");
    for l in log.lines() {
        assert!(
            !(l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error"))),
            "a script error on {url}: {l}"
        );
    }
    assert!(
        !dom.contains("data-script-error=\""),
        "script error on {url}"
    );
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(shot);
    let mut s = chromium_cmd(bin, profile.path());
    s.arg(format!("--screenshot={}", path.display())).arg(url);
    let _ = run_bounded(s, Duration::from_secs(90));
    assert!(path.is_file(), "no screenshot of {url}");
    println!("screenshot of {url}: {}", path.display());
    dom
}

#[test]
fn a_real_invalid_run_has_a_report_naming_the_anomaly_its_witnesses_and_the_fault() {
    let (_, run) = invalid_run();
    let html = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    let r = results(run);
    let lin = &r["checkers"]["linearizable"];
    assert_eq!(lin["valid"], Value::Bool(false));
    let first = &lin["anomalies"][0];
    // The anomaly's sentence (escaped as the page escapes text) and its witness lines.
    let sentence = harness::report::escape::esc(first["explanation"].as_str().unwrap());
    assert!(
        html.contains(&sentence),
        "the anomaly's sentence is missing"
    );
    for op in first["ops"].as_array().unwrap() {
        let line = op["line"].as_u64().unwrap();
        assert!(
            html.contains(&format!("<tr data-op=\"{}\"><td>{line}</td>", op["op"])),
            "witness line {line} missing"
        );
    }
    assert!(html.contains("A stale read"), "no plain-language headline");
    // The fault in force: the run's only partitions isolate a node, named with its sides.
    assert!(
        html.contains("Faults in force: during partition isolate-"),
        "no active fault named"
    );
    assert!(html.contains(" | {"), "the partition's sides are not named");
    // Node logs were placed on the history's clock: a leader is drawn, log lines shown.
    assert!(r["journal"]["start_unix_ms"].as_f64().unwrap() > 1.7e12);
    assert!(
        html.contains("class=\"leader\""),
        "no leader on the roles chart"
    );
    assert!(html.contains("Node log lines around it"));
    assert!(html.contains("became leader"));
    // Rerun command and seed.
    assert!(html.contains("--seed 7"));
    // `faultline report` rebuilds the same page from the stored files.
    std::fs::remove_file(run.join("report.html")).unwrap();
    let out = Command::new(faultline())
        .arg("report")
        .arg(run)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let again = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_eq!(again.len(), html.len());
}

#[test]
fn chromium_renders_the_report_of_a_real_invalid_run() {
    let Some(bin) = chromium() else { return };
    let (_, run) = invalid_run();
    let url = format!("file://{}", run.join("report.html").display());
    let dom = render(bin, &url, "report-invalid-run.png");
    assert!(
        dom.contains("data-script=\"ok\""),
        "the page's script did not run"
    );
    assert!(dom.contains("A stale read"));
    let r = results(run);
    let line = r["checkers"]["linearizable"]["anomalies"][0]["ops"][0]["line"]
        .as_u64()
        .unwrap();
    assert!(
        dom.contains(&format!("line {line}")),
        "witness label missing"
    );
    // A timeline was drawn: bars of operations in the overview's SVG.
    let tl = dom.find("id=\"timeline\"").expect("timeline section");
    assert!(
        dom[tl..].contains("<rect class=\"ok\""),
        "no bars in the timeline"
    );
    assert!(dom.contains("id=\"latency\"") && dom.contains("<polyline"));
}

/// A register history that is not linearizable, its key, values and error hostile markup.
const HOSTILE: &str = "</script><img src=x onerror=alert(1)>";

fn hostile_history() -> String {
    let k = serde_json::to_string(HOSTILE).unwrap();
    let v1 = serde_json::to_string(&format!("{HOSTILE}1")).unwrap();
    let v2 = serde_json::to_string(&format!("{HOSTILE}2")).unwrap();
    [
        format!(r#"{{"index":0,"time":0,"type":"invoke","process":0,"f":"write","key":{k},"value":{v1}}}"#),
        format!(r#"{{"index":1,"time":10,"type":"ok","process":0,"f":"write","key":{k},"value":{v1},"node":{k}}}"#),
        format!(r#"{{"index":2,"time":20,"type":"invoke","process":1,"f":"write","key":{k},"value":{v2}}}"#),
        format!(r#"{{"index":3,"time":30,"type":"ok","process":1,"f":"write","key":{k},"value":{v2},"node":"n2"}}"#),
        format!(r#"{{"index":4,"time":40,"type":"invoke","process":0,"f":"read","key":{k},"value":null}}"#),
        format!(r#"{{"index":5,"time":50,"type":"ok","process":0,"f":"read","key":{k},"value":{v1},"node":"n1"}}"#),
        format!(r#"{{"index":6,"time":60,"type":"info","process":"nemesis","f":"kill","value":{{"nodes":[{k}]}}}}"#),
        format!(r#"{{"index":7,"time":70,"type":"invoke","process":2,"f":"write","key":{k},"value":{v1}}}"#),
        format!(r#"{{"index":8,"time":80,"type":"fail","process":2,"f":"write","key":{k},"value":{v1},"error":{k}}}"#),
    ]
    .join("\n")
        + "\n"
}

#[test]
fn hostile_values_in_a_history_are_shown_as_text() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("hostile.jsonl");
    std::fs::write(&h, hostile_history()).unwrap();
    let out_html = d.path().join("report.html");
    let out = Command::new(faultline())
        .arg("check")
        .arg(&h)
        .arg("--report")
        .arg(&out_html)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let html = std::fs::read_to_string(&out_html).unwrap();
    assert!(
        !html.contains("<img"),
        "markup from the history reached the page"
    );
    assert_eq!(
        html.matches("</script>").count(),
        1,
        "only the page's own script ends"
    );
    assert!(html.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("A stale read"));
    if let Some(bin) = chromium() {
        let dom = render(
            bin,
            &format!("file://{}", out_html.display()),
            "report-hostile.png",
        );
        assert!(dom.contains("data-script=\"ok\""));
        // In the DOM the values are text nodes: serialized escaped, never an <img> element.
        assert!(!dom.contains("<img"), "an <img> element was created");
        assert!(dom.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    }
    // More than one file with --report is refused with one sentence.
    let out = Command::new(faultline())
        .arg("check")
        .arg(&h)
        .arg(&h)
        .arg("--report")
        .arg(&out_html)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one FILE"));
}

/// `faultline serve` on a store, stopped when dropped.
struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start(store: &Path) -> Serve {
        let mut child = Command::new(faultline())
            .arg("serve")
            .arg(store)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Serve { child, addr }
    }

    /// A raw HTTP/1.0 GET of `target` exactly as written (no client normalizes it): status,
    /// headers, body.
    fn get(&self, target: &str) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(s, "GET {target} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response");
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap();
        (status, head, buf[split + 4..].to_vec())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_lists_runs_serves_their_files_and_nothing_outside_the_store() {
    let (store, run) = invalid_run();
    let rel = run
        .strip_prefix(std::fs::canonicalize(store).unwrap())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // A symbolic link leading out of the store must not be followed out.
    let _ = std::os::unix::fs::symlink("/etc", store.join("escape"));
    let srv = Serve::start(store);
    let (code, _, body) = srv.get("/");
    assert_eq!(code, 200);
    let index = String::from_utf8_lossy(&body);
    assert!(
        index.contains(&format!("/files/{rel}/report.html")),
        "{index}"
    );
    assert!(index.contains("<td class=\"v\">invalid</td>"));
    assert!(index.contains("<td>raft</td><td>register</td><td>partition</td><td>7</td>"));
    let (_, _, body) = srv.get("/?verdict=valid");
    assert!(
        !String::from_utf8_lossy(&body).contains(&rel),
        "the filter kept an invalid run"
    );
    let (_, _, body) = srv.get("/?verdict=invalid&test=raft-register-partition");
    assert!(String::from_utf8_lossy(&body).contains(&rel));

    let (code, head, body) = srv.get(&format!("/files/{rel}/report.html"));
    assert_eq!(code, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    assert_eq!(body, std::fs::read(run.join("report.html")).unwrap());
    let (code, head, _) = srv.get(&format!("/files/{rel}/history.jsonl"));
    assert_eq!(code, 200);
    assert!(
        head.contains("text/plain") && head.contains("nosniff"),
        "{head}"
    );
    let (code, _, body) = srv.get(&format!("/files/{rel}/"));
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&body).contains("test.json"));
    let (code, _, _) = srv.get("/files/latest/test.json");
    assert_eq!(code, 200, "store/latest is inside the store");
    let (code, head, body) = srv.get(&format!("/download/{rel}.tar.gz"));
    assert_eq!(code, 200, "{head}");
    assert_eq!(&body[..2], &[0x1f, 0x8b], "not gzip");
    let mut names = String::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&body[..]));
    for e in tar.entries().unwrap() {
        names.push_str(&e.unwrap().path().unwrap().to_string_lossy());
        names.push('\n');
    }
    assert!(
        names.contains("/history.jsonl") && names.contains("/nodes/n1/node.log"),
        "{names}"
    );

    for bad in [
        "/files/../../../../etc/passwd",
        "/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/latest/..%2f..%2f..%2f..%2fetc/passwd",
        "/files/escape/passwd",
        "/download/escape.tar.gz",
        "/download/..%2f..%2f..%2fetc.tar.gz",
    ] {
        let (code, _, body) = srv.get(bad);
        assert_eq!(code, 403, "{bad} was not refused");
        assert!(
            !String::from_utf8_lossy(&body).contains("root:"),
            "{bad} leaked"
        );
    }
    assert_eq!(srv.get("/files/none").0, 404);
    assert_eq!(srv.get("/nothing").0, 404);

    if let Some(bin) = chromium() {
        let dom = render(bin, &format!("http://{}/", srv.addr), "serve-index.png");
        assert!(dom.contains("<table id=\"runs\""));
        assert!(dom.contains(&rel));
        let dom = render(
            bin,
            &format!("http://{}/files/{rel}/report.html", srv.addr),
            "serve-run-report.png",
        );
        assert!(dom.contains("data-script=\"ok\""));
        assert!(dom.contains("A stale read"));
    }
}
