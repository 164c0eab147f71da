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
