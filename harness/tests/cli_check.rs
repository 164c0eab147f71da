//! `faultline check` end to end: verdicts and exit codes (Contract 4), JSON output, and one clear
//! error with its line number and exit code 254 for each kind of malformed input.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Output;
use testkit::faultline::run as faultline;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A JSONL history from (type, process, f, key, value) rows.
fn jsonl(rows: &[(&str, u64, &str, &str, &str)]) -> String {
    rows.iter()
        .enumerate()
        .map(|(i, (t, p, f, k, v))| {
            format!(r#"{{"index":{i},"time":{},"type":"{t}","process":{p},"f":"{f}","key":"{k}","value":{v}}}"#, i * 10) + "\n"
        })
        .collect()
}

const VALID: &[(&str, u64, &str, &str, &str)] = &[
    ("invoke", 0, "write", "x", "1"),
    ("ok", 0, "write", "x", "1"),
    ("invoke", 1, "read", "x", "null"),
    ("ok", 1, "read", "x", "1"),
    ("invoke", 0, "cas", "y", "[null, 2]"),
    ("ok", 0, "cas", "y", "[null, 2]"),
];

const STALE: &[(&str, u64, &str, &str, &str)] = &[
    ("invoke", 0, "write", "x", "1"),
    ("ok", 0, "write", "x", "1"),
    ("invoke", 0, "write", "x", "2"),
    ("ok", 0, "write", "x", "2"),
    ("invoke", 1, "read", "x", "null"),
    ("ok", 1, "read", "x", "1"),
];

#[test]
fn valid_history_exits_0() {
    let f = write("valid.jsonl", &jsonl(VALID));
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("linearizable"), "{out}");
}

#[test]
fn stale_read_exits_1_and_is_explained() {
    let f = write("stale.jsonl", &jsonl(STALE));
    let o = faultline(&["check", f.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("NOT linearizable"), "{out}");
    assert!(out.contains("key \"x\""), "{out}");
    assert!(out.contains("line"), "{out}");
}

#[test]
fn json_output_has_the_contract_fields() {
    let f = write("stale2.jsonl", &jsonl(STALE));
    let g = write("valid2.jsonl", &jsonl(VALID));
    let o = faultline(&["check", "--json", f.to_str().unwrap(), g.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "several files: 1 if any is invalid");
    let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], Value::Bool(false));
    assert_eq!(lines[1]["valid"], Value::Bool(true));
    for l in &lines {
        assert!(l["file"].is_string());
        assert!(l["check_seconds"].is_number());
        let keys = l["keys"].as_array().unwrap();
        assert!(!keys.is_empty());
        for k in keys {
            assert!(k["key"].is_string() && k["seconds"].is_number() && k["ops"].is_number());
            assert!(k["valid"].is_boolean() || k["valid"] == "unknown");
        }
    }
    let a = &lines[0]["anomalies"][0];
    assert_eq!(a["key"], "x");
    assert!(a["explanation"].as_str().unwrap().len() > 20);
    assert!(!a["ops"].as_array().unwrap().is_empty());
}

#[test]
fn an_undecided_key_is_unknown_and_exits_2() {
    // Thirty concurrent writes of distinct values, then reads of 1, 2 and 1 again, one after
    // the other: impossible, since 1 is written once, but the search must try every subset and
    // order of the other writes to know it, which a 1 MiB memory budget cannot hold. (The zone
    // test, which would decide it at once, is switched off.)
    let vals: Vec<String> = (1..=30).map(|v: u64| v.to_string()).collect();
    let mut rows: Vec<(&str, u64, &str, &str, &str)> = Vec::new();
    for p in 0..30u64 {
        rows.push(("invoke", p, "write", "k", &vals[p as usize]));
    }
    for p in 0..30u64 {
        rows.push(("ok", p, "write", "k", &vals[p as usize]));
    }
    for v in ["1", "2", "1"] {
        rows.push(("invoke", 99, "read", "k", "null"));
        rows.push(("ok", 99, "read", "k", v));
    }
    let text = jsonl(&rows);
    let f = write("big.jsonl", &text);
    let o = faultline(&[
        "check",
        f.to_str().unwrap(),
        "--memory-mb",
        "1",
        "--no-zone",
        "--consistency",
        "linearizable",
    ]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stdout));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("undecided"), "{out}");
}

fn malformed(name: &str, text: &str, line: usize, needle: &str) {
    let f = write(name, text);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 254, "{name}: {}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&format!("line {line}")), "{name}: {e}");
    assert!(e.contains(needle), "{name}: {e}");
    assert_eq!(e.trim().lines().count(), 1, "one sentence: {e}");
}

const INV: &str =
    r#"{"index":0,"time":1,"type":"invoke","process":0,"f":"write","key":"x","value":1}"#;

#[test]
fn not_json_is_254() {
    malformed("notjson.jsonl", &format!("{INV}\n{{oops\n"), 2, "not JSON");
}

#[test]
fn missing_field_is_254() {
    malformed(
        "missing.jsonl",
        r#"{"index":0,"type":"invoke","process":0,"f":"read"}"#,
        1,
        "missing field `time`",
    );
}

#[test]
fn mistyped_field_is_254() {
    malformed(
        "mistyped.jsonl",
        r#"{"index":0,"time":"x","type":"invoke","process":0,"f":"read"}"#,
        1,
        "`time` is a string",
    );
}

#[test]
fn completion_without_invocation_is_254() {
    malformed(
        "orphan.jsonl",
        r#"{"index":0,"time":1,"type":"ok","process":4,"f":"read","value":1}"#,
        1,
        "no outstanding invocation",
    );
}

#[test]
fn second_outstanding_operation_is_254() {
    let t = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":2,"type":"invoke","process":0,"f":"read","key":"x","value":null}"#
    );
    malformed("twice.jsonl", &t, 2, "still outstanding");
}

#[test]
fn mismatched_completion_is_254() {
    let t = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":2,"type":"ok","process":0,"f":"read","key":"x","value":1}"#
    );
    malformed("mismatch.jsonl", &t, 2, "does not match its invocation");
}

#[test]
fn time_going_backwards_is_254() {
    let t = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":0,"type":"ok","process":0,"f":"write","key":"x","value":1}"#
    );
    malformed("backwards.jsonl", &t, 2, "time goes backwards");
}

#[test]
fn index_out_of_sequence_is_254() {
    let t = format!(
        "{INV}\n{}\n",
        r#"{"index":7,"time":2,"type":"ok","process":0,"f":"write","key":"x","value":1}"#
    );
    malformed("index.jsonl", &t, 2, "index is 7");
}

#[test]
fn unreadable_file_and_bad_arguments_are_254() {
    let o = faultline(&["check", "/nonexistent/history.jsonl"]);
    assert_eq!(code(&o), 254);
    assert!(stderr(&o).contains("/nonexistent/history.jsonl"));
    let f = write("ok.jsonl", &jsonl(VALID));
    let o = faultline(&["check", f.to_str().unwrap(), "--model", "bank"]);
    assert_eq!(code(&o), 254);
    assert!(stderr(&o).contains("unknown model"));
    let o = faultline(&["check", f.to_str().unwrap(), "--format", "xml"]);
    assert_eq!(code(&o), 254);
    let o = faultline(&["check", f.to_str().unwrap(), "--model", "porcupine-kv"]);
    assert_eq!(
        code(&o),
        254,
        "a model that does not fit the operations is bad input"
    );
    assert!(
        stderr(&o).contains("not part of the porcupine-kv model"),
        "{}",
        stderr(&o)
    );
    let o = faultline(&["check"]);
    assert_eq!(code(&o), 254);
}

#[test]
fn porcupine_and_jepsen_formats_are_detected() {
    let etcd = "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t0\n";
    let f = write("etcd.log", etcd);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "read of 0 that nobody wrote");
    assert!(String::from_utf8_lossy(&o.stdout).contains("porcupine-etcd"));
    let edn = "{:type :invoke, :f :write, :value 1, :process 0}\n{:type :ok, :f :write, :value 1, :process 0}\n{:type :invoke, :f :read, :value nil, :process 1}\n{:type :ok, :f :read, :value 1, :process 1}\n";
    let f = write("h.edn", edn);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Real-shaped Jepsen histories that faultline once rejected with 254: a pretty-printed list
/// after comments (maps over several lines, tagged records, `#_`), and one whose `:time`s go
/// backwards in `:index` order. Both are checked (0 or 1), the second with one warning.
#[test]
fn pretty_printed_jepsen_edn_and_times_going_backwards_are_checked() {
    let pretty = "; a Knossos-style history\n; written by hand\n(#jepsen.history.Op{:index 0, :time 10,\n   :type :invoke, :process 0, :f :write, :value 1}\n {:index 1, :time 20,\n  :type :ok, :process 0, :f :write, :value 1}\n #_ {:index 7 :type :ok}\n {:index 2, :time 30, :type :invoke,\n  :process 1, :f :read, :value nil}\n {:index 3, :time 40, :type :ok,\n  :process 1, :f :read, :value 2}) ; a read of 2 nobody wrote\n";
    let f = write("pretty.edn", pretty);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("NOT linearizable") && out.contains("line 8"),
        "{out}"
    );
    let valid = pretty.replace(":value 2}", ":value 1}");
    let f = write("pretty-valid.edn", &valid);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Index order 0..5 with times 100, 300, 250, 400, 350, 500: two go backwards. The read
    // (index 2..4) follows the write (0..1) in index order whatever the times say.
    let backwards = "{:index 0, :time 100, :type :invoke, :process 0, :f :write, :value 1}\n\
{:index 1, :time 300, :type :ok, :process 0, :f :write, :value 1}\n\
{:index 2, :time 250, :type :invoke, :process 1, :f :read, :value nil}\n\
{:index 3, :time 400, :type :invoke, :process 0, :f :write, :value 2}\n\
{:index 4, :time 350, :type :ok, :process 1, :f :read, :value 1}\n\
{:index 5, :time 500, :type :ok, :process 0, :f :write, :value 2}\n";
    let f = write("backwards.edn", backwards);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.matches("warning").count(), 1, "one warning: {e}");
    assert!(e.contains("times go backwards at 2 events"), "{e}");
    let o = faultline(&["check", "--json", f.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["time_reversals"]["count"], 2);
    // By its times the read (250..350) overlaps the write of 1 (100..300), so it could read
    // the initial nil; in index order the write completed first, so that read is stale.
    let stale = backwards.replace(":f :read, :value 1}", ":f :read, :value nil}");
    let f = write("backwards-bad.edn", &stale);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// Store buffering: each process writes one key and then reads the other's initial value.
const STORE_BUFFERING: &[(&str, u64, &str, &str, &str)] = &[
    ("invoke", 1, "write", "x", "1"),
    ("invoke", 2, "write", "y", "1"),
    ("ok", 1, "write", "x", "1"),
    ("ok", 2, "write", "y", "1"),
    ("invoke", 1, "read", "y", "null"),
    ("invoke", 2, "read", "x", "null"),
    ("ok", 1, "read", "y", "null"),
    ("ok", 2, "read", "x", "null"),
];

#[test]
fn consistency_models_and_the_ladder() {
    let f = write("sb.jsonl", &jsonl(STORE_BUFFERING));
    // Default: every model that applies; sequential and linearizable fail, causal holds.
    let o = faultline(&["check", "--json", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["checkers"];
    assert_eq!(c["linearizable"]["valid"], Value::Bool(false));
    assert_eq!(c["sequential"]["valid"], Value::Bool(false));
    assert_eq!(c["causal"]["valid"], Value::Bool(true));
    assert!(v["ladder"]["summary"]
        .as_str()
        .unwrap()
        .contains("causal-memory"));
    // Only the models asked for decide the exit code.
    let o = faultline(&[
        "check",
        f.to_str().unwrap(),
        "--consistency",
        "causal,causal-memory",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let o = faultline(&["check", f.to_str().unwrap(), "--consistency", "sequential"]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("program order"), "{out}");
    let o = faultline(&["check", f.to_str().unwrap(), "--consistency", "strict"]);
    assert_eq!(code(&o), 254);
}

/// A set history: adds of 1, 2 (acknowledged) and 3 (unknown), then final reads of the whole set.
fn set_history(final_reads: &[&str]) -> String {
    let mut rows = vec![
        r#""type":"invoke","process":0,"f":"add","value":1"#.to_string(),
        r#""type":"ok","process":0,"f":"add","value":1"#.to_string(),
        r#""type":"invoke","process":1,"f":"add","value":2"#.to_string(),
        r#""type":"ok","process":1,"f":"add","value":2"#.to_string(),
        r#""type":"invoke","process":2,"f":"add","value":3"#.to_string(),
        r#""type":"info","process":2,"f":"add","value":3,"error":"timeout""#.to_string(),
    ];
    for (i, read) in final_reads.iter().enumerate() {
        let p = 10 + i;
        rows.push(format!(
            r#""type":"invoke","process":{p},"f":"read","value":null"#
        ));
        rows.push(format!(
            r#""type":"ok","process":{p},"f":"read","value":{read},"node":"n{}""#,
            i + 1
        ));
    }
    rows.iter()
        .enumerate()
        .map(|(i, r)| format!("{{\"index\":{i},\"time\":{},{r}}}\n", i * 10))
        .collect()
}

#[test]
fn a_set_history_is_checked_by_the_set_checker() {
    // Every acknowledged add is in every final read (the unknown add may or may not be).
    let f = write("set-ok.jsonl", &set_history(&["[1,2,3]", "[2,1]"]));
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let o = faultline(&["check", "--json", f.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checkers"]["set"]["valid"], Value::Bool(true), "{v}");
    assert_eq!(v["checkers"]["set"]["stats"]["acknowledged"], 2, "{v}");
    assert!(v["checkers"].get("linearizable").is_none(), "{v}");

    // n2's final read misses the acknowledged 2: lost.
    let f = write("set-lost.jsonl", &set_history(&["[1,2]", "[1,3]"]));
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("lost"), "{out}");
    assert!(out.contains("n2"), "{out}");
    let o = faultline(&["check", "--json", f.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let set = &v["checkers"]["set"];
    assert_eq!(set["valid"], Value::Bool(false), "{v}");
    assert_eq!(set["anomalies"][0]["kind"], "lost", "{v}");
    assert_eq!(set["stats"]["lost"], 1, "{v}");
}

/// Knossos's other models through the CLI: inferred from the operations (mutex, unordered
/// queue, multi-register), or named with --model (fifo-queue, set), each with exit 0 or 1.
#[test]
fn knossos_models_are_inferred_or_named() {
    let mutex = "[{:type :invoke, :f :acquire, :process 0}\n {:type :ok, :f :acquire, :process 0}\n {:type :invoke, :f :release, :process 0}\n {:type :ok, :f :release, :process 0}\n {:type :invoke, :f :acquire, :process 1}\n {:type :ok, :f :acquire, :process 1}]\n";
    let f = write("mutex.edn", mutex);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("mutex model"));
    // Without the release, process 1's acquire is a double grant.
    let bad = "[{:type :invoke, :f :acquire, :process 0}\n {:type :ok, :f :acquire, :process 0}\n {:type :invoke, :f :acquire, :process 1}\n {:type :ok, :f :acquire, :process 1}]\n";
    let f = write("mutex-bad.edn", bad);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("the mutex is not linearizable"), "{out}");

    let queue = "{:type :invoke, :f :enqueue, :value 1, :process 0}\n{:type :ok, :f :enqueue, :value 1, :process 0}\n{:type :invoke, :f :enqueue, :value 2, :process 0}\n{:type :ok, :f :enqueue, :value 2, :process 0}\n{:type :invoke, :f :dequeue, :process 1}\n{:type :ok, :f :dequeue, :value 2, :process 1}\n";
    let f = write("queue.edn", queue);
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "unordered by default: {}", stderr(&o));
    let o = faultline(&["check", "--model", "fifo-queue", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    let regs = "{:type :invoke, :f :txn, :value [[:write :x 1] [:write :y 2]], :process 0}\n{:type :ok, :f :txn, :value [[:write :x 1] [:write :y 2]], :process 0}\n{:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1}\n{:type :ok, :f :txn, :value [[:read :x 1] [:read :y 2]], :process 1}\n";
    let f = write("regs.edn", regs);
    let o = faultline(&["check", "--json", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], "multi-register", "{v}");
    let f = write(
        "regs-bad.edn",
        &regs.replace("[:read :y 2]", "[:read :y 3]"),
    );
    let o = faultline(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    // A set history runs the set checker by default; --model set adds linearizability, which
    // also catches a read that lacks an add acknowledged before it began.
    let f = write("set-model.jsonl", &set_history(&["[1,2,3]", "[2,1]"]));
    let o = faultline(&["check", "--model", "set", "--json", f.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["checkers"]["linearizable"]["valid"],
        Value::Bool(false),
        "the second read lost 3 after the first saw it: {v}"
    );
    let o = faultline(&["check", "--model", "nonsense", f.to_str().unwrap()]);
    assert_eq!(code(&o), 254);
    assert!(stderr(&o).contains("fifo-queue"), "{}", stderr(&o));
}

/// Jepsen's workload histories, written by hand in the shapes its tests write: each checker
/// is chosen by the `f`s (or named with --checker), exit 0 on the valid one and 1 on the one
/// with its anomaly, and a checker named for a history it does not fit is refused with 254.
#[test]
fn jepsen_workload_histories_are_checked_by_their_checkers() {
    let edn = |rows: &[&str]| -> String {
        rows.iter()
            .enumerate()
            .map(|(i, r)| format!("{{:index {i}, :time {}, {r}}}\n", i * 1_000_000))
            .collect()
    };
    let check = |name: &str, text: &str, want: i32, checker: &str, kind: Option<&str>| {
        let f = write(name, text);
        let o = faultline(&["check", "--json", f.to_str().unwrap()]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert_eq!(code(&o), want, "{name}: {v} {}", stderr(&o));
        let r = &v["checkers"][checker];
        assert_eq!(r["valid"], Value::Bool(want == 0), "{name}: {v}");
        if let Some(k) = kind {
            assert!(
                r["anomalies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["kind"] == k),
                "{name}: no {k}: {v}"
            );
        }
        v
    };
    // set-full: reads (sets, as Jepsen writes them) while elements are added.
    let set_full = [
        ":type :invoke, :process 0, :f :add, :value 0",
        ":type :ok, :process 0, :f :add, :value 0",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value #{0}",
        ":type :invoke, :process 0, :f :add, :value 1",
        ":type :ok, :process 0, :f :add, :value 1",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value #{0 1}",
    ];
    let v = check("set-full.edn", &edn(&set_full), 0, "set-full", None);
    assert_eq!(v["checkers"]["set-full"]["stats"]["stable_count"], 2, "{v}");
    let lost = edn(&set_full).replace("#{0 1}", "#{1}");
    let v = check("set-full-lost.edn", &lost, 1, "set-full", Some("lost"));
    assert_eq!(v["checkers"]["set-full"]["stats"]["lost"], json!(["0"]));
    let f = write("set-full-named.edn", &edn(&set_full));
    let o = faultline(&["check", "--checker", "set-full", f.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("set-full: 2 of 2 elements stable"));

    // counter: :add increments and :read values.
    let counter = [
        ":type :invoke, :process 0, :f :add, :value 1",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value 1",
        ":type :ok, :process 0, :f :add, :value 1",
        ":type :invoke, :process 0, :f :add, :value 2",
        ":type :ok, :process 0, :f :add, :value 2",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value 3",
    ];
    check("counter.edn", &edn(&counter), 0, "counter", None);
    let low = edn(&counter).replace(":value 3}", ":value 2}");
    check("counter-low.edn", &low, 1, "counter", Some("read-too-low"));
    let high = edn(&counter).replace(":value 3}", ":value 4}");
    check(
        "counter-high.edn",
        &high,
        1,
        "counter",
        Some("read-too-high"),
    );

    // bank: transfers {:from :to :amount}, reads {account balance}.
    let bank = [
        ":type :invoke, :process 0, :f :transfer, :value {:from 0, :to 1, :amount 5}",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value {0 10, 1 10}",
        ":type :ok, :process 0, :f :transfer, :value {:from 0, :to 1, :amount 5}",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value {0 5, 1 15}",
        ":type :invoke, :process 1, :f :read, :value nil",
        ":type :ok, :process 1, :f :read, :value {0 5, 1 15}",
    ];
    check("bank.edn", &edn(&bank), 0, "bank", None);
    let total = edn(&bank).replacen("{0 5, 1 15}", "{0 5, 1 16}", 1);
    check("bank-total.edn", &total, 1, "bank", Some("wrong-total"));
    let negative = edn(&bank).replacen("{0 5, 1 15}", "{0 -5, 1 25}", 1);
    check(
        "bank-neg.edn",
        &negative,
        1,
        "bank",
        Some("negative-balance"),
    );
    let nil = edn(&bank).replacen("{0 5, 1 15}", "{0 nil, 1 15}", 1);
    check("bank-nil.edn", &nil, 1, "bank", Some("nil-balance"));

    // unique-ids: :generate returns ids.
    let ids = [
        ":type :invoke, :process 0, :f :generate, :value nil",
        ":type :invoke, :process 1, :f :generate, :value nil",
        ":type :ok, :process 0, :f :generate, :value 1",
        ":type :ok, :process 1, :f :generate, :value 2",
    ];
    check("ids.edn", &edn(&ids), 0, "unique-ids", None);
    let dup = edn(&ids).replace(":value 2}", ":value 1}");
    check("ids-dup.edn", &dup, 1, "unique-ids", Some("duplicated"));

    // long-fork: :txn inserts [[:w k 1]] and group reads [[:r k nil] …].
    let fork = [
        ":type :invoke, :process 0, :f :txn, :value [[:w 0 1]]",
        ":type :invoke, :process 1, :f :txn, :value [[:w 1 1]]",
        ":type :invoke, :process 2, :f :txn, :value [[:r 0 nil] [:r 1 nil]]",
        ":type :ok, :process 2, :f :txn, :value [[:r 0 1] [:r 1 nil]]",
        ":type :invoke, :process 3, :f :txn, :value [[:r 1 nil] [:r 0 nil]]",
        ":type :ok, :process 3, :f :txn, :value [[:r 1 1] [:r 0 1]]",
        ":type :ok, :process 0, :f :txn, :value [[:w 0 1]]",
        ":type :ok, :process 1, :f :txn, :value [[:w 1 1]]",
    ];
    check("fork.edn", &edn(&fork), 0, "long-fork", None);
    let forked = edn(&fork).replace("[[:r 1 1] [:r 0 1]]", "[[:r 1 1] [:r 0 nil]]");
    check("fork-bad.edn", &forked, 1, "long-fork", Some("long-fork"));

    // A checker named for a history it does not fit: one sentence, 254.
    let f = write("counter-as-bank.edn", &edn(&counter));
    let o = faultline(&["check", "--checker", "bank", f.to_str().unwrap()]);
    assert_eq!(code(&o), 254);
    assert!(
        stderr(&o).contains("bank checks transfers"),
        "{}",
        stderr(&o)
    );
}
