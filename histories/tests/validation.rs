//! Every kind of malformed history is reported with its line number, all at once, without panics.

use histories::{parse_jsonl, HistoryError, JournalWriter, OpStatus, NEVER};

fn errors(text: &str) -> Vec<(usize, String)> {
    match parse_jsonl(text) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(HistoryError::Malformed { errors, .. }) => {
            errors.into_iter().map(|e| (e.line, e.message)).collect()
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

const INV: &str =
    r#"{"index":0,"time":1,"type":"invoke","process":0,"f":"write","key":"x","value":1}"#;

#[test]
fn not_json() {
    let e = errors(&format!("{INV}\n{{\"index\":1,\n"));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, 2);
    assert!(e[0].1.contains("not JSON"), "{}", e[0].1);
}

#[test]
fn missing_field() {
    let e = errors(r#"{"index":0,"type":"invoke","process":0,"f":"read"}"#);
    assert_eq!(e[0].0, 1);
    assert!(e[0].1.contains("missing field `time`"), "{}", e[0].1);
}

#[test]
fn mistyped_field() {
    let e = errors(r#"{"index":0,"time":"soon","type":"invoke","process":0,"f":"read"}"#);
    assert!(e[0].1.contains("`time` is a string"), "{}", e[0].1);
    let e = errors(r#"{"index":0,"time":1,"type":"invoke","process":-1,"f":"read"}"#);
    assert!(e[0].1.contains("`process`"), "{}", e[0].1);
    let e = errors(r#"{"index":0,"time":1,"type":"begin","process":1,"f":"read"}"#);
    assert!(e[0].1.contains("`type`"), "{}", e[0].1);
}

#[test]
fn completion_without_invocation() {
    let e = errors(r#"{"index":0,"time":1,"type":"ok","process":3,"f":"read","value":1}"#);
    assert_eq!(e[0].0, 1);
    assert!(e[0].1.contains("no outstanding invocation"), "{}", e[0].1);
}

#[test]
fn second_outstanding_operation() {
    let text = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":2,"type":"invoke","process":0,"f":"read","key":"x","value":null}"#
    );
    let e = errors(&text);
    assert_eq!(e[0].0, 2);
    assert!(e[0].1.contains("still outstanding"), "{}", e[0].1);
}

#[test]
fn completion_that_does_not_match() {
    let text = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":2,"type":"ok","process":0,"f":"write","key":"y","value":1}"#
    );
    let e = errors(&text);
    assert_eq!(e[0].0, 2);
    assert!(
        e[0].1.contains("does not match its invocation"),
        "{}",
        e[0].1
    );
    let text = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":2,"type":"ok","process":0,"f":"cas","key":"x","value":1}"#
    );
    assert!(errors(&text)[0].1.contains("does not match"));
}

#[test]
fn time_going_backwards() {
    let text = format!(
        "{INV}\n{}\n",
        r#"{"index":1,"time":0,"type":"ok","process":0,"f":"write","key":"x","value":1}"#
    );
    let e = errors(&text);
    assert_eq!(e[0].0, 2);
    assert!(e[0].1.contains("time goes backwards"), "{}", e[0].1);
}

#[test]
fn index_out_of_sequence() {
    let text = format!(
        "{INV}\n{}\n",
        r#"{"index":5,"time":2,"type":"ok","process":0,"f":"write","key":"x","value":1}"#
    );
    let e = errors(&text);
    assert_eq!(e[0].0, 2);
    assert!(e[0].1.contains("index is 5"), "{}", e[0].1);
}

#[test]
fn every_malformed_line_is_reported() {
    let text = "nope\n[1]\n{\"index\":0}\n";
    let e = errors(text);
    assert_eq!(e.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn pairs_and_treats_uncompleted_as_info() {
    let text = [
        INV,
        r#"{"index":1,"time":2,"type":"info","process":"nemesis","f":"start-partition","value":{"kind":"halves"}}"#,
        r#"{"index":2,"time":3,"type":"invoke","process":1,"f":"read","key":"x","value":null}"#,
        r#"{"index":3,"time":4,"type":"ok","process":0,"f":"write","key":"x","value":1,"node":"n1","term":3}"#,
        r#"{"index":4,"time":5,"type":"invoke","process":2,"f":"cas","key":"x","value":[1,2]}"#,
        r#"{"index":5,"time":6,"type":"fail","process":2,"f":"cas","key":"x","value":[1,2],"error":"cas_mismatch"}"#,
    ]
    .join("\n");
    let h = parse_jsonl(&text).unwrap();
    assert_eq!(h.ops.len(), 3);
    assert_eq!(h.nemesis.len(), 1);
    assert_eq!(h.ops[0].status, OpStatus::Ok);
    assert_eq!(h.ops[0].ret, 3);
    assert_eq!(h.ops[0].node.as_deref(), Some("n1"));
    assert_eq!(h.ops[0].meta["term"], 3);
    assert_eq!(h.ops[1].status, OpStatus::Info);
    assert_eq!(h.ops[1].ret, NEVER);
    assert_eq!(h.ops[2].status, OpStatus::Fail);
    assert_eq!(h.ops[2].error.as_deref(), Some("cas_mismatch"));
}

#[test]
fn journal_round_trips() {
    let dir = std::env::temp_dir().join(format!("faultline-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.jsonl");
    let h = parse_jsonl(INV).unwrap();
    let mut w = JournalWriter::create(&path).unwrap();
    let mut ev = histories::Event::from_json(serde_json::from_str(INV).unwrap()).unwrap();
    w.append(&mut ev).unwrap();
    ev.kind = histories::EventType::Ok;
    ev.time = 9;
    w.append(&mut ev).unwrap();
    // Flushed already: readable before the writer is dropped.
    let back = histories::read_jsonl(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(back.ops.len(), 1);
    assert_eq!(back.ops[0].status, OpStatus::Ok);
    assert_eq!(back.ops[0].input, h.ops[0].input);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "\u{0}\u{1}",
        "{}",
        "{\"index\":18446744073709551616}",
        "[[[[",
        "{\"index\":0,\"time\":0,\"type\":\"ok\",\"process\":\"x\",\"f\":1}",
        "null",
        "\"str\"",
        "1e999",
    ];
    for s in samples {
        let _ = parse_jsonl(s);
        let _ = histories::load_str(s, None);
        let _ = histories::parse_jepsen_edn(s);
        let _ = histories::parse_porcupine_etcd(s);
    }
}

#[test]
fn a_torn_last_line_is_left_out_and_reported() {
    let done = r#"{"index":1,"time":2,"type":"ok","process":0,"f":"write","key":"x","value":1}"#;
    let text = format!("{INV}\n{done}\n{{\"index\":2,\"time\":3,\"type\":\"inv");
    for h in [
        parse_jsonl(&text).unwrap(),
        histories::read_jsonl(text.as_bytes()).unwrap(),
    ] {
        assert_eq!(h.ops.len(), 1);
        assert_eq!(h.ops[0].status, OpStatus::Ok);
        let t = h.torn.expect("the torn line is reported");
        assert_eq!((t.line, t.bytes), (3, 31));
        assert!(t.to_string().contains("line 3 is incomplete"), "{t}");
    }
    // A whole last line without its newline is not torn.
    let h = parse_jsonl(&format!("{INV}\n{done}")).unwrap();
    assert_eq!((h.ops.len(), h.torn), (1, None));
}

#[test]
fn a_cut_line_that_is_not_the_last_or_is_the_only_one_is_an_error() {
    // Not the last: it has a newline after it.
    let e = errors(&format!("{INV}\n{{\"index\":1,\"ti\n{INV}\n"));
    assert_eq!(e[0].0, 2);
    // The only line of the file: nothing was journaled whole, so this is not a journal.
    let e = errors("{\"index\":0,\"ti");
    assert_eq!(e[0].0, 1);
    assert!(e[0].1.contains("not JSON"), "{}", e[0].1);
}
