//! `faultline test`, `faultline check` and `faultline analyze` check a history through one path
//! (checkers::suite): for one stored run they write the same `checkers` map, and both readers
//! accept a journal whose last line was cut by a harness that died mid-write.

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use testkit::faultline::{describe, run as faultline};

/// The map with every timing (`*_seconds`, `millis`) removed: what must agree between two checks.
fn without_timings(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !(k.ends_with("seconds") || k.ends_with("millis")))
                .map(|(k, v)| (k.clone(), without_timings(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_timings).collect()),
        other => other.clone(),
    }
}

fn results(run: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

/// `check --json` on the run's history: its `checkers` map.
fn check_map(run: &Path) -> (Output, Value) {
    let o = faultline(&[
        "check",
        "--json",
        run.join("history.jsonl").to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check --json printed no JSON ({e}): {}", describe(&o)));
    (o, without_timings(&v["checkers"]))
}

#[test]
fn check_analyze_and_test_write_the_same_checkers_map_and_accept_a_torn_last_line() {
    let store = tempfile::tempdir().unwrap();
    let o = faultline(&[
        "test",
        "--system",
        "noop",
        "--nemesis",
        "none",
        "--workload",
        "register",
        "--concurrency",
        "4",
        "--time-limit",
        "1",
        "--rate",
        "400",
        "--seed",
        "3",
        "--store",
        store.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let run = std::fs::canonicalize(store.path().join("latest")).unwrap();
    let from_test = without_timings(&results(&run)["checkers"]);
    // A register history with unique values: linearizability and every weaker model.
    let names: Vec<&String> = from_test.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "causal",
            "causal-convergence",
            "causal-memory",
            "linearizable",
            "sequential",
            "zookeeper"
        ]
    );
    let (o, from_check) = check_map(&run);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(from_check, from_test, "check and test disagree");

    // Cut the journal inside its last line, as a harness killed mid-write leaves it.
    let path = run.join("history.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines = text.lines().count();
    let last_start = text.trim_end().rfind('\n').unwrap() + 1;
    std::fs::write(&path, &text[..last_start + 20]).unwrap();

    let o = faultline(&["analyze", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("line {lines} is incomplete")),
        "analyze does not name the torn line: {err}"
    );
    let from_analyze = without_timings(&results(&run)["checkers"]);
    let (o, from_check) = check_map(&run);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("line {lines} is incomplete")),
        "{}",
        describe(&o)
    );
    assert_eq!(from_check, from_analyze, "check and analyze disagree");
    assert_eq!(from_analyze.as_object().unwrap().len(), 6);
}
