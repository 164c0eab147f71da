//! The consistency checkers refuse, with a reason, histories whose vector clocks would not fit
//! in memory, rather than crash.

use checkers::consistency::{check_model, Model};
use checkers::sequential::Budget;
use checkers::Validity;

#[test]
fn too_many_process_ids_for_vector_clocks_is_unknown_not_a_crash() {
    // 16,000 sequential writes and reads, each by a fresh process id (as after info completions),
    // would need vector clocks of 16,000 counters for each of 16,000 nodes: refused with a reason.
    let mut text = String::new();
    let mut i = 0;
    for p in 0..16_000u64 {
        let (f, v, out) = if p % 2 == 0 {
            ("write", p.to_string(), p.to_string())
        } else {
            ("read", "null".into(), (p - 1).to_string())
        };
        text += &format!("{{\"index\":{i},\"time\":{i},\"type\":\"invoke\",\"process\":{p},\"f\":\"{f}\",\"key\":\"k{}\",\"value\":{v}}}\n", p / 2);
        i += 1;
        text += &format!("{{\"index\":{i},\"time\":{i},\"type\":\"ok\",\"process\":{p},\"f\":\"{f}\",\"key\":\"k{}\",\"value\":{out}}}\n", p / 2);
        i += 1;
    }
    let h = histories::parse_jsonl(&text).unwrap();
    for m in Model::ALL.into_iter().skip(1) {
        let r = check_model(&h, m, &Budget::default()).unwrap();
        assert_eq!(r.valid, Validity::Unknown, "{m}");
        assert!(
            r.reason.as_deref().unwrap_or("").contains("process ids"),
            "{m}: {:?}",
            r.reason
        );
    }
}
