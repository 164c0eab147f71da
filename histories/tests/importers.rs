//! Importers: Jepsen EDN (line and vector forms), Porcupine etcd and kv logs, and detection.

use histories::{detect_format, load_str, Format, OpStatus, Process};
use serde_json::json;

#[test]
fn jepsen_edn_one_map_per_line() {
    let text = r#"{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}
{:type :info, :f :start, :value nil, :process :nemesis, :time 11}
{:type :ok, :f :write, :value 3, :process 0, :time 20}
{:type :invoke, :f :cas, :value [3 4], :process 1, :time 30}
{:type :info, :f :cas, :value [3 4], :process 1, :time 40, :error :timeout}
"#;
    assert_eq!(detect_format(text), Some(Format::Edn));
    let (_, h) = load_str(text, None).unwrap();
    assert_eq!(h.ops.len(), 2);
    assert_eq!(h.nemesis.len(), 1);
    assert_eq!(h.nemesis[0].process, Process::Nemesis);
    assert_eq!(h.ops[1].input, json!([3, 4]));
    assert_eq!(h.ops[1].status, OpStatus::Info);
    assert_eq!(h.ops[1].error.as_deref(), Some("timeout"));
}

#[test]
fn jepsen_edn_vector_with_line_numbers() {
    let text = "[{:type :invoke, :f :read, :process 0}\n {:type :ok, :f :read, :value 1, :process 0}\n {:type :ok, :f :read, :process 7}]\n";
    let err = load_str(text, Some(Format::Edn)).unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
    let ok =
        "[{:type :invoke, :f :read, :process 0}\n {:type :ok, :f :read, :value 1, :process 0}]";
    let (_, h) = load_str(ok, None).unwrap();
    assert_eq!(h.ops[0].output, json!(1));
}

#[test]
fn porcupine_etcd_semantics() {
    let text = "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\nINFO  jepsen.util - 2\t:fail\t:cas\t[3 0]\n\
INFO  jepsen.util - 4   :invoke :write  3\nINFO  jepsen.util - 4   :info   :write  :timed-out\n\
INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:fail\t:read\t:timed-out\n\
INFO  jepsen.core - something else\nINFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tnil\n";
    assert_eq!(detect_format(text), Some(Format::PorcupineEtcd));
    let (_, h) = load_str(text, None).unwrap();
    let st: Vec<_> = h.ops.iter().map(|o| o.status).collect();
    assert_eq!(
        st,
        vec![OpStatus::Fail, OpStatus::Info, OpStatus::Info, OpStatus::Ok]
    );
    assert_eq!(h.ops[0].input, json!([3, 0]));
    assert_eq!(h.ops[3].output, json!(null));
}

#[test]
fn porcupine_kv_detected() {
    let text = "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n{:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n";
    assert_eq!(detect_format(text), Some(Format::PorcupineKv));
    let (_, h) = load_str(text, None).unwrap();
    assert_eq!(h.ops[0].key.as_deref(), Some("0"));
    assert_eq!(h.ops[0].input, json!("x 0 0 y"));
}

#[test]
fn jsonl_detected() {
    assert_eq!(detect_format("{\"index\":0}"), Some(Format::Jsonl));
}

/// A pretty-printed Jepsen history as `jepsen.store` writes one and people hand-edit it: a
/// leading comment, one list over many lines, maps spread over several lines, `#_` discards,
/// tagged records, namespaced keywords, sets, characters, escapes, big integers, ratios and
/// symbols in values.
const PRETTY: &str = r#"; history.edn of a set test, pretty-printed
; (comments before the history)
(#jepsen.history.Op{:index 0,
                    :time 1000,
                    :type :invoke,
                    :process 0,
                    :f :add,
                    :value 1}
 {:index 1, :time 2000, :type :invoke, :process 1, :f :add,
  :value 2,
  :jepsen.generator/context #{:a :b}}   ; a namespaced keyword and a set
 #_ {:index 99, :type :ok, :process 5, :f :add}   ; a discarded event
 {:index 2
  :time 3000
  :type :ok
  :process 0
  :f :add
  :value 1
  :note "tab\there \"quoted\" \u00e9"
  :initial \a
  :big 123456789012345678901234567890N
  :ratio 22/7
  :sym some.ns/thing
  :when #inst "2026-12-02T10:00:00.000-00:00"}
 {:index 3, :time 4000, :type :info, :process 1, :f :add, :value 2, :error [:timeout "no reply"]}
 {:index 4, :time 5000, :type :invoke, :process 3, :f :read, :value nil}
 {:index 5, :time 6000, :type :ok, :process 3, :f :read, :value #{1 2}}
)
; trailing comment
"#;

#[test]
fn jepsen_edn_pretty_printed_with_every_syntax_form() {
    assert_eq!(detect_format(PRETTY), Some(Format::Edn));
    let (_, h) = load_str(PRETTY, None).unwrap();
    assert_eq!(h.ops.len(), 3);
    assert_eq!(h.events, 6);
    let add1 = &h.ops[0];
    assert_eq!((add1.call_line, add1.ret_line), (3, Some(13)));
    assert_eq!(add1.meta["note"], json!("tab\there \"quoted\" é"));
    assert_eq!(add1.meta["initial"], json!("a"));
    assert_eq!(
        add1.meta["big"],
        json!("123456789012345678901234567890"),
        "a big integer JSON cannot hold is kept as text"
    );
    assert_eq!(add1.meta["ratio"], json!("22/7"));
    assert_eq!(add1.meta["sym"], json!("some.ns/thing"));
    assert_eq!(add1.meta["when"], json!("2026-12-02T10:00:00.000-00:00"));
    let add2 = &h.ops[1];
    assert_eq!(add2.call_line, 9);
    assert_eq!(add2.meta["jepsen.generator/context"], json!(["a", "b"]));
    assert_eq!(add2.status, OpStatus::Info);
    assert_eq!(add2.error.as_deref(), Some(r#"["timeout","no reply"]"#));
    assert_eq!(h.ops[2].output, json!([1, 2]));
    assert_eq!(h.ops[2].ret_line, Some(27));
    assert!(h.time_reversals.is_none());
}

#[test]
fn jepsen_edn_one_map_per_line_after_comments_and_maps_over_lines() {
    let text = ";; generated\n\n{:type :invoke, :f :write, :value 1, :process 0}\n{:type :ok,\n :f :write,\n :value 1,\n :process 0}\n{:type :invoke :f :read :process 1} {:type :ok :f :read :value 1 :process 1}\n";
    let (_, h) = load_str(text, None).unwrap();
    assert_eq!(h.ops.len(), 2);
    assert_eq!((h.ops[0].call_line, h.ops[0].ret_line), (3, Some(4)));
    assert_eq!((h.ops[1].call_line, h.ops[1].ret_line), (8, Some(8)));
}

#[test]
fn jepsen_edn_errors_name_the_line_in_the_file() {
    // An event map that is never closed: the line where it opened.
    let text = "[{:type :invoke, :f :read, :process 0}\n\n {:type :ok, :f :read,\n  :process 0\n";
    let err = load_str(text, Some(Format::Edn)).unwrap_err().to_string();
    assert!(
        err.contains("line 3") && err.contains("never closed"),
        "{err}"
    );
    // Closed by the wrong bracket: where, and where the map opened.
    let err = load_str(&format!("{text}]"), Some(Format::Edn))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 5: is not EDN: ']' closes a map that opened on line 3"),
        "{err}"
    );
    // A bad field on the fourth line of a pretty-printed vector.
    let text = "[{:type :invoke, :f :read, :process 0}\n {:type :ok, :f :read, :process 0}\n {:type :invoke, :f :read, :process 1}\n {:type :bogus,\n  :f :read, :process 1}]";
    let err = load_str(text, Some(Format::Edn)).unwrap_err().to_string();
    assert!(
        err.contains("line 4") && err.contains(":type is :bogus"),
        "{err}"
    );
    // Not a map at all.
    let err = load_str("[1 2]", Some(Format::Edn))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1: expected an EDN map"), "{err}");
}

/// Jepsen stamps `:time` on different threads: in index order times may go backwards. Such a
/// history is ordered by `:index` (whatever the file order), checked, and the reversals counted
/// once; faultline's own JSONL keeps rejecting them.
#[test]
fn times_going_backwards_are_counted_not_rejected_and_index_orders_events() {
    // File order differs from index order; in index order two times go backwards.
    let text = "{:index 2, :time 300, :type :ok, :process 0, :f :write, :value 1}\n\
{:index 0, :time 100, :type :invoke, :process 0, :f :write, :value 1}\n\
{:index 1, :time 400, :type :invoke, :process 1, :f :read}\n\
{:index 3, :time 350, :type :invoke, :process 2, :f :write, :value 2}\n\
{:index 4, :time 200, :type :ok, :process 1, :f :read, :value 1}\n\
{:index 5, :time 500, :type :ok, :process 2, :f :write, :value 2}\n";
    let (_, h) = load_str(text, None).unwrap();
    let r = h.time_reversals.expect("reversals are reported");
    assert_eq!(r.count, 3);
    assert_eq!(
        r.first_line, 1,
        "the index-2 event (line 1) comes after time 400"
    );
    assert!(
        r.to_string().contains("times go backwards at 3 events"),
        "{r}"
    );
    // Real-time precedence follows index order: the write (index 0..2) precedes the read's
    // completion (index 4), and the read (index 1..4) overlaps the second write (3..5).
    let w = &h.ops[0];
    assert_eq!(
        (w.f.as_str(), w.call, w.ret, w.call_line),
        ("write", 0, 2, 2)
    );
    let rd = &h.ops[1];
    assert_eq!((rd.f.as_str(), rd.call, rd.ret), ("read", 1, 4));
    // Duplicate indices are an error naming both lines.
    let dup = "{:index 0, :type :invoke, :process 0, :f :read}\n{:index 0, :type :ok, :process 0, :f :read}\n";
    let err = load_str(dup, None).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("line 1"), "{err}");
    // JSONL stays strict.
    let jsonl = "{\"index\":0,\"time\":5,\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"index\":1,\"time\":4,\"type\":\"ok\",\"process\":0,\"f\":\"read\"}\n";
    let err = load_str(jsonl, None).unwrap_err().to_string();
    assert!(err.contains("time goes backwards"), "{err}");
}
