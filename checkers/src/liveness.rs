//! The liveness checker: did the system come back once the faults ended? Safety checkers judge
//! what the system answered; a system that stops answering (no leader is ever elected again:
//! ZOOKEEPER-1419's election cycle) passes every one of them. This checker reads the harness's
//! own record of the final phase instead.
//!
//! After healing every fault (and restarting every node) at the end of the main phase, the
//! harness waits up to its recovery timeout for a leader and records the outcome as a
//! `recover` nemesis event: `value` holds `leader` (a node name, or null), `waited_s` and
//! `timeout_s`; `error` says why no leader was found. The final phase's operations follow it.
//!
//! The history is **not live** when the last `recover` event found no leader (`no-leader`), or
//! when it found one but not one of the operations invoked after it succeeded
//! (`no-progress`). It is live when a leader was found and an operation after it succeeded (or
//! none was tried). The checker runs on every history that holds a `recover` event: harness
//! runs that were not interrupted; an imported history has none.

use crate::suite::{Checker, CheckerReport, Detail, Options, Shape, SuiteError};
use crate::{Anomaly, OpRef, Validity};
use histories::{Event, History, OpStatus};
use serde_json::{json, Value};

/// The nemesis event the harness records after the final heal.
pub const RECOVER: &str = "recover";

/// The liveness checker in the suite.
pub struct Liveness;

impl Checker for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    fn by_default(&self, shape: &Shape) -> bool {
        last_recover(shape.history).is_some()
    }

    fn check(&self, h: &History, _opts: &Options) -> Result<CheckerReport, SuiteError> {
        let rec = last_recover(h).ok_or_else(|| {
            SuiteError::DoesNotFit(
                "the liveness checker needs the harness's `recover` event after the final heal, and this history has none".into(),
            )
        })?;
        Ok(check(h, rec))
    }
}

fn last_recover(h: &History) -> Option<&Event> {
    h.nemesis.iter().rev().find(|e| e.f == RECOVER)
}

fn check(h: &History, rec: &Event) -> CheckerReport {
    let after: Vec<&histories::Operation> =
        h.ops.iter().filter(|o| o.call_time >= rec.time).collect();
    let ok = after.iter().filter(|o| o.status == OpStatus::Ok).count();
    let leader = rec.value.get("leader").and_then(Value::as_str);
    let waited = rec.value.get("waited_s").and_then(Value::as_f64);
    let timeout = rec.value.get("timeout_s").and_then(Value::as_f64);
    let stats = json!({
        "leader": leader,
        "waited_s": waited,
        "timeout_s": timeout,
        "ops_after": after.len(),
        "ok_after": ok,
    });
    // The witness: what was tried after the final heal (the first ten).
    let witness = || after.iter().take(10).map(|o| OpRef::of(o)).collect();
    let anomaly = match leader {
        None => Some(Anomaly {
            kind: "no-leader".into(),
            key: None,
            ops: witness(),
            explanation: format!(
                "no leader {} after every fault was healed{}{}",
                timeout.map_or("within the recovery timeout".to_string(), |t| format!(
                    "within {t:.0} s"
                )),
                rec.error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({e})")),
                if after.is_empty() {
                    String::new()
                } else {
                    format!(", and {ok} of {} operations after it succeeded", after.len())
                }
            ),
            details: json!({"recover_time": rec.time}),
        }),
        Some(l) if !after.is_empty() && ok == 0 => Some(Anomaly {
            kind: "no-progress".into(),
            key: None,
            ops: witness(),
            explanation: format!(
                "{l} led after every fault was healed, yet none of the {} operations tried after it succeeded",
                after.len()
            ),
            details: json!({"recover_time": rec.time}),
        }),
        Some(_) => None,
    };
    match anomaly {
        Some(a) => CheckerReport {
            valid: Validity::Invalid,
            explanation: format!("not live: {}", a.explanation),
            anomalies: vec![a],
            stats,
            detail: Detail::None,
        },
        None => CheckerReport {
            valid: Validity::Valid,
            explanation: format!(
                "live: {} led {}after every fault was healed; {ok} of {} operations after it succeeded",
                leader.unwrap_or("a node"),
                waited.map_or(String::new(), |w| format!("{w:.1} s ")),
                after.len()
            ),
            anomalies: Vec::new(),
            stats,
            detail: Detail::None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use histories::parse_jsonl;

    fn history(recover: &str, ops: &str) -> History {
        let text = format!(
            "{{\"index\":0,\"time\":1000,\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":\"1\",\"value\":3}}\n\
             {{\"index\":1,\"time\":2000,\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"key\":\"1\",\"value\":3}}\n\
             {recover}\n{ops}"
        );
        parse_jsonl(&text).unwrap()
    }

    const FOUND: &str = r#"{"index":2,"time":5000,"type":"info","process":"nemesis","f":"recover","value":{"leader":"n2","waited_s":1.5,"timeout_s":30}}"#;
    const NOT_FOUND: &str = r#"{"index":2,"time":5000,"type":"info","process":"nemesis","f":"recover","value":{"leader":null,"waited_s":30,"timeout_s":30},"error":"no node leads"}"#;
    const READ_OK: &str = "{\"index\":3,\"time\":6000,\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"1\",\"value\":null}\n{\"index\":4,\"time\":7000,\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"1\",\"value\":3}\n";
    const READ_INFO: &str = "{\"index\":3,\"time\":6000,\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"1\",\"value\":null}\n{\"index\":4,\"time\":7000,\"type\":\"info\",\"process\":1,\"f\":\"read\",\"key\":\"1\",\"value\":null,\"error\":\"timeout\"}\n";

    fn run(h: &History) -> CheckerReport {
        Liveness.check(h, &Options::default()).unwrap()
    }

    #[test]
    fn a_leader_and_a_successful_operation_after_the_heal_are_live() {
        let r = run(&history(FOUND, READ_OK));
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(
            r.explanation,
            "live: n2 led 1.5 s after every fault was healed; 1 of 1 operations after it succeeded"
        );
        // A leader and nothing tried after it: live.
        assert_eq!(run(&history(FOUND, "")).valid, Validity::Valid);
    }

    #[test]
    fn no_leader_after_the_heal_is_not_live() {
        let r = run(&history(NOT_FOUND, READ_INFO));
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.anomalies[0].kind, "no-leader");
        assert_eq!(
            r.explanation,
            "not live: no leader within 30 s after every fault was healed (no node leads), and 0 of 1 operations after it succeeded"
        );
        // Its witness is what was tried after the heal, not before.
        assert_eq!(r.anomalies[0].ops.len(), 1);
        assert_eq!(r.anomalies[0].ops[0].time, 6000);
    }

    #[test]
    fn a_leader_that_serves_nothing_is_not_live() {
        let r = run(&history(FOUND, READ_INFO));
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.anomalies[0].kind, "no-progress");
        assert!(r.explanation.contains("n2 led"), "{}", r.explanation);
    }

    #[test]
    fn only_histories_with_the_harness_record_are_judged() {
        let h = parse_jsonl(
            READ_OK
                .replace("\"index\":3", "\"index\":0")
                .replace("\"index\":4", "\"index\":1")
                .as_str(),
        )
        .unwrap();
        assert!(!Liveness.by_default(&Shape::of(&h)));
        assert!(Liveness.check(&h, &Options::default()).is_err());
        assert!(Liveness.by_default(&Shape::of(&history(FOUND, READ_OK))));
    }
}
