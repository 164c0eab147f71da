//! `faultline check` on transaction histories: strict-serializable by default with the
//! strongest isolation satisfied, isolation models chosen with --consistency, Elle's paper
//! example (Jepsen EDN) caught as G-single, malformed micro-ops as bad input (254).

use serde_json::Value;
use std::path::PathBuf;
use testkit::faultline::run as faultline;

fn write(name: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-cli-txn-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const PAPER: &str = r#"{:index 0 :type :invoke :process 0 :f :txn :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 1 :type :ok :process 0 :f :txn :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 2 :type :invoke :process 1 :f :txn :value [[:append 255 8] [:r 253 nil]]}
{:index 3 :type :ok :process 1 :f :txn :value [[:append 255 8] [:r 253 [1 3 4]]]}
{:index 4 :type :invoke :process 2 :f :txn :value [[:append 256 4] [:r 255 nil] [:r 256 nil] [:r 253 nil]]}
{:index 5 :type :ok :process 2 :f :txn :value [[:append 256 4] [:r 255 [2 3 4 5 8]] [:r 256 [1 2 4]] [:r 253 [1 3 4]]]}
{:index 6 :type :invoke :process 3 :f :txn :value [[:append 250 10] [:r 253 nil] [:r 255 nil] [:append 256 3]]}
{:index 7 :type :ok :process 3 :f :txn :value [[:append 250 10] [:r 253 [1 3 4]] [:r 255 [2 3 4 5]] [:append 256 3]]}
"#;

#[test]
fn the_paper_example_is_caught_and_explained() {
    let f = write("paper.edn", PAPER);
    let o = faultline(&["check", f.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("strict-serializable: invalid — G-single"),
        "{out}"
    );
    assert!(
        out.contains("strongest isolation satisfied: strong-session-read-committed"),
        "{out}"
    );
    assert!(out.contains("without T2's 8"), "{out}");
    // Chosen models: read committed holds, so that alone exits 0.
    let o = faultline(&[
        "check",
        "--consistency",
        "read-committed",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = faultline(&[
        "check",
        "--json",
        "--consistency",
        "snapshot-isolation,read-committed",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checkers"]["snapshot-isolation"]["valid"], false);
    assert_eq!(v["checkers"]["read-committed"]["valid"], true);
    let a = &v["checkers"]["snapshot-isolation"]["anomalies"][0];
    assert_eq!(a["kind"], "G-single");
    assert_eq!(a["details"]["edges"].as_array().unwrap().len(), 3);
}

#[test]
fn a_serializable_history_is_valid_and_bad_micro_ops_are_bad_input() {
    let ok = write(
        "ok.jsonl",
        r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"txn","value":[["append","x",1]]}
{"index":1,"time":1,"type":"ok","process":0,"f":"txn","value":[["append","x",1]]}
{"index":2,"time":2,"type":"invoke","process":1,"f":"txn","value":[["r","x",null]]}
{"index":3,"time":3,"type":"ok","process":1,"f":"txn","value":[["r","x",[1]]]}
"#,
    );
    let o = faultline(&["check", ok.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("strongest isolation satisfied: strict-serializable"),
        "{out}"
    );
    let bad = write(
        "bad.jsonl",
        r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"txn","value":[["inc","x",1]]}
{"index":1,"time":1,"type":"ok","process":0,"f":"txn","value":[["inc","x",1]]}
"#,
    );
    let o = faultline(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(254));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2: micro-op 1 is"), "{err}");
}
