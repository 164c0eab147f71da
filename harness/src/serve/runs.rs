//! What the store holds, for the index: every run (`<test>/<time>/` with a test.json) with its
//! verdict, system, workload, nemesis and duration, and every campaign
//! (`campaigns/<time>/`), newest first.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// One stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// The path below the store: `<test>/<time>`.
    pub rel: String,
    pub test: String,
    pub time: String,
    /// `valid`, `invalid`, `unknown`, or `unchecked` (no results.json).
    pub verdict: &'static str,
    pub system: String,
    pub workload: String,
    pub nemesis: String,
    pub seed: Option<u64>,
    /// Seconds from the start of the run to its last log line (the time limit when there is
    /// no log).
    pub duration: Option<f64>,
    pub operations: Option<u64>,
    pub has_report: bool,
}

/// One campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEntry {
    pub rel: String,
    pub time: String,
    /// Files it holds (campaign.json, junit.xml, detection.md, …).
    pub files: Vec<String>,
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

fn dirs(p: &Path) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    v.sort();
    v
}

/// The seconds in a log.txt's last `[   8.682s] …` line.
fn last_log_seconds(p: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(p).ok()?;
    let line = text.lines().rev().find(|l| l.starts_with('['))?;
    let inner = line.get(1..line.find(']')?)?.trim().trim_end_matches('s');
    inner.parse().ok()
}

fn str_at(v: &Value, ptr: &str) -> String {
    match v.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    }
}

/// Every run of the store, newest first.
pub fn runs(root: &Path) -> Vec<RunEntry> {
    let mut out = Vec::new();
    for (test, tdir) in dirs(root) {
        if test == "campaigns" || test == "latest" {
            continue;
        }
        for (time, rdir) in dirs(&tdir) {
            let Some(t) = read_json(&rdir.join("test.json")) else {
                continue;
            };
            let results = read_json(&rdir.join("results.json"));
            let verdict = match results.as_ref().and_then(|r| r.get("valid")) {
                Some(Value::Bool(true)) => "valid",
                Some(Value::Bool(false)) => "invalid",
                Some(_) => "unknown",
                None => "unchecked",
            };
            let workload = match t.get("workload") {
                Some(Value::Object(w)) => w
                    .get("kind")
                    .map(|k| k.to_string().trim_matches('"').to_string())
                    .unwrap_or_default(),
                _ => str_at(&t, "/workload"),
            };
            out.push(RunEntry {
                rel: format!("{test}/{time}"),
                test: test.clone(),
                time,
                verdict,
                system: str_at(&t, "/system"),
                workload,
                nemesis: str_at(&t, "/nemesis"),
                seed: t.get("seed").and_then(Value::as_u64),
                duration: last_log_seconds(&rdir.join("log.txt"))
                    .or_else(|| t.get("time_limit_s").and_then(Value::as_f64)),
                operations: results
                    .as_ref()
                    .and_then(|r| r.pointer("/summary/operations"))
                    .and_then(Value::as_u64),
                has_report: rdir.join("report.html").is_file(),
            });
        }
    }
    // Newest first: run directories are named by their UTC start time.
    out.sort_by(|a, b| b.time.cmp(&a.time).then(a.test.cmp(&b.test)));
    out
}

/// Every campaign of the store, newest first.
pub fn campaigns(root: &Path) -> Vec<CampaignEntry> {
    let mut out: Vec<CampaignEntry> = dirs(&root.join("campaigns"))
        .into_iter()
        .map(|(time, dir)| {
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            CampaignEntry {
                rel: format!("campaigns/{time}"),
                time,
                files,
            }
        })
        .collect();
    out.sort_by(|a, b| b.time.cmp(&a.time));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_listed_newest_first_with_their_verdicts() {
        let d = tempfile::tempdir().unwrap();
        let mk = |rel: &str, valid: Option<&str>| {
            let p = d.path().join(rel);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("test.json"), r#"{"system":"raft","workload":{"kind":"register"},"nemesis":"partition","seed":7,"time_limit_s":8}"#).unwrap();
            if let Some(v) = valid {
                std::fs::write(
                    p.join("results.json"),
                    format!(r#"{{"valid":{v},"summary":{{"operations":12}}}}"#),
                )
                .unwrap();
            }
            std::fs::write(
                p.join("log.txt"),
                "[    0.000s] test\n[    9.250s] verdict\n",
            )
            .unwrap();
        };
        mk("a/20261202T070000.000", Some("true"));
        mk("b/20261202T080000.000", Some("false"));
        mk("a/20261202T090000.000", None);
        std::fs::create_dir_all(d.path().join("a/not-a-run")).unwrap();
        std::fs::create_dir_all(d.path().join("campaigns/20261202T100000.000")).unwrap();
        std::fs::write(
            d.path().join("campaigns/20261202T100000.000/junit.xml"),
            "<x/>",
        )
        .unwrap();
        let r = runs(d.path());
        let got: Vec<(&str, &str)> = r.iter().map(|r| (r.rel.as_str(), r.verdict)).collect();
        assert_eq!(
            got,
            [
                ("a/20261202T090000.000", "unchecked"),
                ("b/20261202T080000.000", "invalid"),
                ("a/20261202T070000.000", "valid"),
            ]
        );
        assert_eq!(r[1].workload, "register");
        assert_eq!(r[1].duration, Some(9.25));
        assert_eq!(r[1].operations, Some(12));
        let c = campaigns(d.path());
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].files, ["junit.xml"]);
    }
}
