//! What one finished run found, read back from its results.json: the verdict, the anomaly whose
//! witness starts earliest (its sentence, kind and checker), and the time to detect it — the
//! invocation time of that witness's earliest operation, relative to the run's start.

use serde_json::Value;

/// The anomaly a run is summed up by.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub sentence: String,
    pub kind: Option<String>,
    pub checker: String,
    /// Every checker whose verdict was invalid, in the suite's order.
    pub invalid_checkers: Vec<String>,
    /// Nanoseconds from the run's start to the earliest operation of the witness.
    pub time_ns: Option<u64>,
}

/// The suite's position of a checker (unknown names last), to break ties the suite's way.
fn rank(name: &str) -> usize {
    checkers::suite::names()
        .iter()
        .position(|n| *n == name)
        .unwrap_or(usize::MAX)
}

/// The earliest invocation among an anomaly's operations.
fn earliest(anomaly: &Value) -> Option<u64> {
    anomaly
        .get("ops")?
        .as_array()?
        .iter()
        .filter_map(|o| o.get("time").and_then(Value::as_u64))
        .min()
}

/// The anomaly of a results.json whose verdict is invalid: among every invalid checker's
/// anomalies, the one whose witness starts earliest (ties: the suite's checker order). `None`
/// when no checker is invalid.
pub fn finding(results: &Value) -> Option<Finding> {
    let checkers = results.get("checkers")?.as_object()?;
    let mut invalid: Vec<(&String, &Value)> = checkers
        .iter()
        .filter(|(_, r)| r.get("valid") == Some(&Value::Bool(false)))
        .collect();
    if invalid.is_empty() {
        return None;
    }
    invalid.sort_by_key(|(n, _)| (rank(n), (*n).clone()));
    // (time or MAX, checker rank, anomaly)
    let mut best: Option<(u64, usize, &String, Option<&Value>)> = None;
    for (i, (name, r)) in invalid.iter().enumerate() {
        let anomalies = r.get("anomalies").and_then(Value::as_array);
        let candidates: Vec<Option<&Value>> = match anomalies {
            Some(a) if !a.is_empty() => a.iter().map(Some).collect(),
            _ => vec![None],
        };
        for a in candidates {
            let t = a.and_then(earliest).unwrap_or(u64::MAX);
            if best.as_ref().is_none_or(|b| (t, i) < (b.0, b.1)) {
                best = Some((t, i, name, a));
            }
        }
    }
    let (t, _, name, anomaly) = best?;
    let checker_report = &checkers[name.as_str()];
    let sentence = anomaly
        .and_then(|a| a.get("explanation"))
        .or_else(|| checker_report.get("explanation"))
        .and_then(Value::as_str)
        .unwrap_or("the checker reported an anomaly without explaining it")
        .to_string();
    Some(Finding {
        sentence,
        kind: anomaly
            .and_then(|a| a.get("kind"))
            .and_then(Value::as_str)
            .map(String::from),
        checker: name.clone(),
        invalid_checkers: invalid.iter().map(|(n, _)| (*n).clone()).collect(),
        time_ns: (t != u64::MAX).then_some(t),
    })
}

/// The last line of a child's output that says why `faultline test` stopped (its error
/// sentence), else its last non-empty line.
pub fn last_error_line(output: &str) -> Option<String> {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("faultline test:"))
        .or(lines.last())
        .map(|l| l.chars().take(500).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_earliest_witness_wins_and_names_its_checker() {
        let r = json!({
            "valid": false,
            "checkers": {
                "linearizable": {"valid": false, "explanation": "not linearizable: x", "anomalies": [
                    {"kind": "nonlinearizable", "explanation": "key 3: a stale read", "ops": [{"time": 9_000_000_000u64}, {"time": 7_500_000_000u64}]},
                ]},
                "sequential": {"valid": false, "explanation": "not sequential", "anomalies": [
                    {"kind": "cycle", "explanation": "a cycle", "ops": [{"time": 8_000_000_000u64}]},
                ]},
                "causal": {"valid": true, "anomalies": []},
            }
        });
        let f = finding(&r).unwrap();
        assert_eq!(f.checker, "linearizable");
        assert_eq!(f.sentence, "key 3: a stale read");
        assert_eq!(f.kind.as_deref(), Some("nonlinearizable"));
        assert_eq!(f.time_ns, Some(7_500_000_000));
        assert_eq!(f.invalid_checkers, ["linearizable", "sequential"]);
    }

    #[test]
    fn an_anomaly_without_operations_falls_back_to_the_checker_sentence() {
        let r = json!({"checkers": {"set": {"valid": false, "explanation": "3 lost", "anomalies": []}}});
        let f = finding(&r).unwrap();
        assert_eq!((f.sentence.as_str(), f.time_ns), ("3 lost", None));
        let valid = json!({"checkers": {"set": {"valid": true, "anomalies": []}}});
        assert_eq!(finding(&valid), None);
        assert_eq!(finding(&json!({})), None);
    }

    #[test]
    fn the_error_sentence_is_found_in_a_child_output() {
        let out = "faultline: run directory /x\nprogress…\nfaultline test: the cluster did not come up: no leader\n\n";
        assert_eq!(
            last_error_line(out).as_deref(),
            Some("faultline test: the cluster did not come up: no leader")
        );
        assert_eq!(last_error_line("a\nb\n").as_deref(), Some("b"));
        assert_eq!(last_error_line(""), None);
    }
}
