//! Parsers that no input crashes: JSONL, Jepsen EDN and Porcupine's logs (and the format
//! detection in front of them) on random text and on random corruptions of valid histories,
//! with a fixed proptest budget. Each returns a history or an error naming a line; none panics.

use histories::{load_str, parse_jepsen_edn, parse_jsonl, parse_porcupine_etcd, Format};
use proptest::prelude::*;

const JSONL: &str = "{\"index\":0,\"time\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":\"x\",\"value\":1}\n{\"index\":1,\"time\":5,\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"key\":\"x\",\"value\":1}\n{\"index\":2,\"time\":6,\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"x\",\"value\":null}\n{\"index\":3,\"time\":9,\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"x\",\"value\":1}\n";

const EDN: &str = "; comment\n[#jepsen.history.Op{:index 0, :time 10, :type :invoke, :process 0, :f :txn,\n  :value [[:w 0 1]]}\n {:index 1 :time 20 :type :ok :process 0 :f :txn :value [[:w 0 1]]}\n #_ {:discarded true}\n {:index 2, :time 15, :type :invoke, :process 1, :f :read, :value #{1 2N 3/4 \\c \"s\\n\"}}\n {:index 3, :type :ok, :process 1, :f :read, :value {0 10, :a/b nil}}]\n";

const PORCUPINE: &str = "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t1\n";

/// A valid history with random edits: bytes replaced, inserted (often EDN/JSON punctuation)
/// or removed, and the text cut short.
fn corrupted(seed: &'static str) -> impl Strategy<Value = String> {
    let edit = (
        any::<usize>(),
        0u8..3,
        prop::sample::select(b"{}[]()#:;\\\"\n ,0-N/^_".to_vec()),
        any::<u8>(),
    );
    (prop::collection::vec(edit, 0..8), any::<usize>()).prop_map(move |(edits, cut)| {
        let mut b = seed.as_bytes().to_vec();
        for (at, kind, punct, byte) in edits {
            let i = at % (b.len() + 1);
            match kind {
                0 if i < b.len() => b[i] = byte,
                1 => b.insert(i, punct),
                _ if i < b.len() => {
                    b.remove(i);
                }
                _ => {}
            }
        }
        b.truncate(cut % (b.len() + 2));
        String::from_utf8_lossy(&b).into_owned()
    })
}

/// Every parser on one text: a history, or an error sentence that names a line.
fn no_crash(text: &str) {
    for r in [
        parse_jsonl(text),
        parse_jepsen_edn(text),
        parse_porcupine_etcd(text),
        load_str(text, None).map(|x| x.1),
        load_str(text, Some(Format::Edn)).map(|x| x.1),
    ] {
        if let Err(e) = r {
            let msg = e.to_string();
            assert!(!msg.trim().is_empty(), "an empty error for {text:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text(text in "\\PC{0,200}") {
        no_crash(&text);
    }

    #[test]
    fn edn_like_text(text in "[\\[\\](){}#:;\\\\\"^_ ,\n0-9a-z.NM/+-]{0,200}") {
        no_crash(&text);
    }

    #[test]
    fn corrupted_jsonl(text in corrupted(JSONL)) {
        no_crash(&text);
    }

    #[test]
    fn corrupted_edn(text in corrupted(EDN)) {
        no_crash(&text);
    }

    #[test]
    fn corrupted_porcupine(text in corrupted(PORCUPINE)) {
        no_crash(&text);
    }
}

#[test]
fn deep_nesting_and_huge_numbers_are_errors_or_strings_not_crashes() {
    no_crash(&"[".repeat(100_000));
    no_crash(&format!(
        "{{:type :ok :process 0 :f :read :value {}}}",
        "9".repeat(5000)
    ));
    no_crash(&format!(
        "{{\"index\":0,\"time\":{},\"type\":\"invoke\"}}",
        "9".repeat(400)
    ));
    no_crash("{:type :invoke :process 18446744073709551616 :f :read}");
    assert!(
        parse_jepsen_edn(EDN).is_ok(),
        "{:?}",
        parse_jepsen_edn(EDN).err()
    );
    assert!(parse_jsonl(JSONL).is_ok());
    assert!(parse_porcupine_etcd(PORCUPINE).is_ok());
}
