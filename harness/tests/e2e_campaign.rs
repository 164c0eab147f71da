//! `faultline campaign` end to end: child runs past their deadline are killed and recorded as
//! unknown while the campaign goes on; shards cover the matrix exactly once and `campaign
//! merge` joins them; junit.xml parses with an XML library into the testsuite/testcase/failure
//! structure; and a bug cell's anomaly comes from the checkers' verdict in the run's
//! results.json.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testkit::faultline::*;
use testkit::procs::alive;

/// Runs `faultline campaign ARGS --store STORE --bin-dir …`; returns the output and the
/// campaign directory.
fn campaign(store: &Path, args: &[&str]) -> (Output, PathBuf) {
    let out = Command::new(faultline())
        .arg("campaign")
        .args(args)
        .arg("--store")
        .arg(store)
        .arg("--bin-dir")
        .arg(bin_dir())
        .output()
        .expect("faultline runs");
    let dir = newest_campaign(store)
        .unwrap_or_else(|| panic!("no campaign directory\n{}", describe(&out)));
    (out, dir)
}

fn newest_campaign(store: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(store.join("campaigns"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (suite name, [(testcase name, child element names)]) of a junit.xml, parsed with roxmltree.
/// Per testsuite: its name and, per testcase, its name and the messages of its failures.
type Suites = Vec<(String, Vec<(String, Vec<String>)>)>;

fn junit_structure(path: &Path) -> Suites {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("junit.xml is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    root.children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|s| {
            let cases = s
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .map(|c| {
                    let kids = c
                        .children()
                        .filter(|n| n.is_element())
                        .map(|n| n.tag_name().name().to_string())
                        .collect();
                    (c.attribute("name").unwrap().to_string(), kids)
                })
                .collect();
            (s.attribute("name").unwrap().to_string(), cases)
        })
        .collect()
}

#[test]
fn runs_past_their_deadline_are_killed_recorded_unknown_and_the_campaign_goes_on() {
    let store = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let (out, dir) = campaign(
        store.path(),
        &[
            "--system",
            "raft",
            "--workload",
            "register,set",
            "--seeds",
            "2",
            "--time-limit",
            "30",
            "--deadline",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    // Four runs of 30 s each, every one stopped at 2 s.
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    let c = json(&dir.join("campaign.json"));
    let cells = c["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for cell in cells {
        assert_eq!(cell["status"], "unknown");
        let runs = cell["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "every run was tried: {cell}");
        for r in runs {
            assert_eq!(r["verdict"], "unknown");
            assert!(r["reason"].as_str().unwrap().contains("deadline"), "{r}");
            assert!(r["duration_s"].as_f64().unwrap() < 10.0, "{r}");
        }
    }
    // No node outlives its killed run: every node's directory is in this store.
    let mine: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&*store.path().to_string_lossy()))
                .unwrap_or(false)
        })
        .filter(|pid| alive(*pid))
        .collect();
    assert!(mine.is_empty(), "processes left behind: {mine:?}");
    // Unknown runs are JUnit errors.
    for (_, cases) in junit_structure(&dir.join("junit.xml")) {
        for (_, kids) in cases {
            assert!(kids.contains(&"error".to_string()), "{kids:?}");
        }
    }
}

#[test]
fn shards_cover_the_matrix_once_and_merge_joins_them() {
    let store = tempfile::tempdir().unwrap();
    let args = |shard: &'static str| {
        vec![
            "--system",
            "raft,zab",
            "--workload",
            "register,set",
            "--nemesis",
            "default,pause",
            "--time-limit",
            "30",
            "--deadline",
            "1",
            "--parallel",
            "2",
            "--shard",
            shard,
        ]
    };
    let mut dirs = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let (out, dir) = campaign(store.path(), &args(shard));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let c = json(&dir.join("campaign.json"));
        assert_eq!(c["matrix"]["cells_total"], 8);
        ids.extend(
            c["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        dirs.push(dir);
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (8, 8), "{ids:?}");
    let merged = store.path().join("merged");
    let out = Command::new(faultline())
        .args(["campaign", "merge", "--out"])
        .arg(&merged)
        .args(&dirs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let m = json(&merged.join("campaign.json"));
    let merged_ids: BTreeSet<String> = m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(merged_ids, unique.into_iter().cloned().collect());
    assert_eq!(m["merged_from"].as_array().unwrap().len(), 3);
    let suites = junit_structure(&merged.join("junit.xml"));
    assert_eq!(suites.len(), 8);
    assert!(merged.join("detection.md").is_file() && merged.join("detection.json").is_file());
    // A shard given twice is refused: a cell would be counted twice.
    let out = Command::new(faultline())
        .args(["campaign", "merge", "--out"])
        .arg(store.path().join("twice"))
        .args([&dirs[0], &dirs[0]])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("merge each shard once"));
}

#[test]
fn bad_arguments_get_one_sentence_and_254() {
    let store = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["--system", "etcdx"], "--system"),
        (vec!["--workload", "nope"], "--workload"),
        (vec!["--nemesis", "flood"], "flood"),
        (vec!["--bug", "no-such-bug"], "no-such-bug"),
        (vec!["--shard", "3/2"], "I/N"),
        (vec!["--seeds", "0"], "--seeds"),
        (vec!["--time-limit=-1"], "--time-limit"),
    ] {
        let out = Command::new(faultline())
            .arg("campaign")
            .args(&args)
            .arg("--store")
            .arg(store.path())
            .arg("--bin-dir")
            .arg(bin_dir())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(254), "{args:?}: {err}");
        assert!(
            err.contains(says) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    let out = Command::new(faultline())
        .args(["campaign", "merge"])
        .arg(store.path().join("nothing-here"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("campaign directory"));
}

/// A sample of the zoo through the whole pipeline: each bug cell's run is invalid by a
/// checker's verdict in its results.json, the campaign names that checker, the anomaly's
/// sentence and when it happened; the correct build's cell stays valid; exit 0.
#[test]
fn a_sample_of_bugs_is_found_by_the_checkers_verdict() {
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = campaign(
        store.path(),
        &[
            "--system",
            "raft",
            "--workload",
            "register",
            "--nemesis",
            "partition",
            "--bug",
            "none,local-read",
            "--time-limit",
            "12",
            "--parallel",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let c = json(&dir.join("campaign.json"));
    let cells = c["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for cell in cells {
        assert_eq!(cell["status"], "pass", "{cell}");
        let run = &cell["runs"][0];
        let results = json(&dir.join(run["dir"].as_str().unwrap()).join("results.json"));
        if cell["bug"] == "none" {
            assert_eq!(run["verdict"], "valid", "{run}");
            assert_eq!(results["valid"], Value::Bool(true));
            continue;
        }
        assert_eq!(run["verdict"], "invalid", "{run}");
        let checker = run["caught_by"].as_str().unwrap();
        assert_eq!(
            results["checkers"][checker]["valid"],
            Value::Bool(false),
            "{checker} did not reject the run: {results}"
        );
        assert!(!run["anomaly"].as_str().unwrap().is_empty(), "{run}");
        let t = run["time_to_detect_s"].as_f64().unwrap();
        assert!((0.0..20.0).contains(&t), "{run}");
    }
    let d = std::fs::read_to_string(dir.join("detection.md")).unwrap();
    assert!(d.contains("| raft | local-read | 1 of 1 |"), "{d}");
}
