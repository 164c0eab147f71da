//! Jepsen's workload checkers (set-full, counter, bank, unique-ids, long-fork): a test for each
//! anomaly kind they report, the suite choosing them by the history's `f`s, and each against a
//! brute-force oracle on random small histories (counts printed with `--nocapture`).

use checkers::suite;
use checkers::workload::{bank, counter, long_fork, set_full, unique_ids};
use checkers::Validity;
use histories::{History, OpStatus, Operation};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------------------------
// Histories: hand-written rows, and a random concurrent generator.

/// A JSONL history from (type, process, f, value) rows.
fn hist(rows: &[(&str, u64, &str, Value)]) -> History {
    let text: String = rows
        .iter()
        .enumerate()
        .map(|(i, (t, p, f, v))| {
            format!(
                "{}\n",
                json!({"index": i, "time": i as u64 * 1_000_000, "type": t, "process": p, "f": f, "value": v})
            )
        })
        .collect();
    histories::parse_jsonl(&text).unwrap()
}

/// A random concurrent history: up to `slots` clients, `n` operations. `invoke` gives an
/// operation's `f` and value; `complete` (run when it completes, in event order) its status
/// and completion value. A client whose operation ends `info` comes back as a new process.
fn random_history<S>(
    rng: &mut StdRng,
    n: usize,
    slots: usize,
    state: &mut S,
    mut invoke: impl FnMut(&mut StdRng, &mut S) -> (String, Value),
    mut complete: impl FnMut(&mut StdRng, &mut S, &str, &Value) -> (&'static str, Value),
) -> History {
    let mut rows: Vec<(&str, u64, String, Value)> = Vec::new();
    let mut pids: Vec<u64> = (0..slots as u64).collect();
    let mut busy: Vec<Option<(String, Value)>> = vec![None; slots];
    let mut started = 0;
    loop {
        let idle: Vec<usize> = (0..slots).filter(|&s| busy[s].is_none()).collect();
        let running: Vec<usize> = (0..slots).filter(|&s| busy[s].is_some()).collect();
        if started == n && running.is_empty() {
            break;
        }
        if started < n && !idle.is_empty() && (running.is_empty() || rng.gen_bool(0.5)) {
            let s = *idle.choose(rng).unwrap();
            let (f, v) = invoke(rng, state);
            rows.push(("invoke", pids[s], f.clone(), v.clone()));
            busy[s] = Some((f, v));
            started += 1;
        } else {
            let s = *running.choose(rng).unwrap();
            let (f, v) = busy[s].take().unwrap();
            let (t, out) = complete(rng, state, &f, &v);
            rows.push((t, pids[s], f, out));
            if t == "info" {
                pids[s] += slots as u64;
            }
        }
    }
    let rows: Vec<(&str, u64, &str, Value)> = rows
        .iter()
        .map(|(t, p, f, v)| (*t, *p, f.as_str(), v.clone()))
        .collect();
    hist(&rows)
}

fn kinds(r: &suite::CheckerReport) -> BTreeSet<String> {
    r.anomalies.iter().map(|a| a.kind.clone()).collect()
}

/// Verdict counts, printed at the end of each oracle test.
#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    unknown: usize,
}

impl Tally {
    fn add(&mut self, v: Validity) {
        match v {
            Validity::Valid => self.valid += 1,
            Validity::Invalid => self.invalid += 1,
            Validity::Unknown => self.unknown += 1,
        }
    }

    fn report(&self, name: &str) {
        println!(
            "{name}: {} histories agree with the oracle: {} valid, {} invalid, {} unknown",
            self.valid + self.invalid + self.unknown,
            self.valid,
            self.invalid,
            self.unknown
        );
        let total = (self.valid + self.invalid + self.unknown) as f64;
        assert!(
            self.valid as f64 > 0.2 * total,
            "{name}: too few valid: {self:?}"
        );
        assert!(
            self.invalid as f64 > 0.2 * total,
            "{name}: too few invalid: {self:?}"
        );
    }
}

const HISTORIES: usize = 2000;

// ---------------------------------------------------------------------------------------------
// The suite chooses each by the history's f's, and by name.

#[test]
fn the_suite_chooses_each_workload_checker_by_its_fs() {
    let chosen =
        |h: &History| -> Vec<&str> { suite::defaults(h, None).iter().map(|c| c.name()).collect() };
    let mut rows = vec![
        ("invoke", 0, "add", json!(1)),
        ("ok", 0, "add", json!(1)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([1])),
    ];
    // Reads only after the adds: the set checker's final reads.
    assert_eq!(chosen(&hist(&rows)), ["set"]);
    // Reads while the set grows: set-full too.
    rows.extend([("invoke", 0, "add", json!(2)), ("ok", 0, "add", json!(2))]);
    assert_eq!(chosen(&hist(&rows)), ["set", "set-full"]);
    let counter = hist(&[
        ("invoke", 0, "add", json!(2)),
        ("ok", 0, "add", json!(2)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(2)),
    ]);
    assert_eq!(chosen(&counter), ["counter"]);
    let bank = hist(&[
        (
            "invoke",
            0,
            "transfer",
            json!({"from": 0, "to": 1, "amount": 2}),
        ),
        (
            "ok",
            0,
            "transfer",
            json!({"from": 0, "to": 1, "amount": 2}),
        ),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": 8, "1": 12})),
    ]);
    assert_eq!(chosen(&bank), ["bank"]);
    let ids = hist(&[
        ("invoke", 0, "generate", json!(null)),
        ("ok", 0, "generate", json!(7)),
    ]);
    assert_eq!(chosen(&ids), ["unique-ids"]);
    let fork = long_fork_history(&[&[("x", true), ("y", false)], &[("x", true), ("y", true)]]);
    assert!(chosen(&fork).contains(&"long-fork"), "{:?}", chosen(&fork));
    let by_name = suite::parse_list("counter").unwrap();
    let r = suite::check(&counter, Some(&by_name), &suite::Options::default()).unwrap();
    assert_eq!(r.valid, Validity::Valid);
    let wrong = suite::parse_list("bank").unwrap();
    let e = suite::check(&counter, Some(&wrong), &suite::Options::default()).unwrap_err();
    assert!(e.to_string().contains("bank checks transfers"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// set-full

#[test]
fn set_full_reports_lost_stale_never_read_and_duplicated_elements() {
    let h = hist(&[
        ("invoke", 0, "add", json!(1)),
        ("ok", 0, "add", json!(1)),
        ("invoke", 0, "add", json!(2)),
        ("ok", 0, "add", json!(2)),
        // Began after 1 and 2 were known: sees 1 but not 2 (2 is stale, seen later).
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([1])),
        ("invoke", 0, "add", json!(3)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([1, 2, 2])),
        ("ok", 0, "add", json!(3)),
        // 1 is gone from the last read to begin, which began after 1 was known: lost. 3 is
        // in it; the read that missed 3 began before 3 was known, so 3 is not stale.
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([2, 3])),
        // No read began after 4 was added: never read.
        ("invoke", 0, "add", json!(4)),
        ("ok", 0, "add", json!(4)),
    ]);
    let r = set_full::check(&h);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(
        kinds(&r),
        ["duplicated", "lost", "stale"].map(String::from).into()
    );
    assert_eq!(r.stats["lost"], json!(["1"]));
    assert_eq!(r.stats["stale"], json!(["2"]));
    assert_eq!(r.stats["never_read"], json!(["4"]));
    assert_eq!(r.stats["stable_count"], 2);
    // 2 was known at 3 ms and missed by a read that began at 4 ms: stable 1 ms later.
    assert_eq!(r.stats["stable_latencies_ms"]["1"], 1, "{}", r.stats);
}

#[test]
fn set_full_is_valid_with_stale_elements_and_unknown_without_a_stable_one() {
    let mut rows = vec![
        ("invoke", 0, "add", json!(1)),
        ("ok", 0, "add", json!(1)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([])),
    ];
    let unknown = set_full::check(&hist(&rows));
    assert_eq!(
        unknown.valid,
        Validity::Invalid,
        "a known element missing from the last read is lost"
    );
    rows.truncate(2);
    assert_eq!(set_full::check(&hist(&rows)).valid, Validity::Unknown);
    rows.extend([
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([])),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!([1])),
    ]);
    let r = set_full::check(&hist(&rows));
    assert_eq!(r.valid, Validity::Valid, "{}", r.explanation);
    assert_eq!(kinds(&r), ["stale".to_string()].into());
}

/// An element as the checker names it: its JSON text.
fn text(v: &Value) -> String {
    v.to_string()
}

/// The oracle: for each element, the successful reads that completed after its add was
/// invoked; the final one to begin decides stable or lost.
fn set_full_oracle(
    h: &History,
) -> (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
    usize,
    bool,
) {
    let reads: Vec<(&Operation, Vec<String>)> = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
        .map(|o| {
            (
                o,
                o.output
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_string())
                    .collect(),
            )
        })
        .collect();
    let dup = reads
        .iter()
        .any(|(_, s)| s.iter().collect::<BTreeSet<_>>().len() < s.len());
    let mut elements: Vec<String> = Vec::new();
    for o in h.ops.iter().filter(|o| o.f == "add") {
        if !elements.contains(&o.input.to_string()) {
            elements.push(o.input.to_string());
        }
    }
    let (mut lost, mut stale, mut never, mut stable) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), 0);
    for e in elements {
        let add = h
            .ops
            .iter()
            .find(|o| o.f == "add" && text(&o.input) == e)
            .unwrap();
        let relevant: Vec<&(&Operation, Vec<String>)> =
            reads.iter().filter(|(r, _)| r.ret > add.call).collect();
        let mut known: Option<u64> = None;
        for o in h
            .ops
            .iter()
            .filter(|o| o.f == "add" && o.status == OpStatus::Ok && text(&o.input) == e)
        {
            known = Some(known.map_or(o.ret, |k| k.min(o.ret)));
        }
        for (r, s) in &relevant {
            if s.contains(&e) {
                known = Some(known.map_or(r.ret, |k| k.min(r.ret)));
            }
        }
        let Some(last) = relevant.iter().max_by_key(|(r, _)| r.call) else {
            never.insert(e);
            continue;
        };
        if last.1.contains(&e) {
            stable += 1;
            let k = known.unwrap();
            if reads.iter().any(|(r, s)| r.call > k && !s.contains(&e)) {
                stale.insert(e);
            }
        } else if known.is_some_and(|k| last.0.call > k) {
            lost.insert(e);
        } else {
            never.insert(e);
        }
    }
    (lost, stale, never, stable, dup)
}

#[test]
fn set_full_agrees_with_the_oracle_on_random_histories() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut tally = Tally::default();
    for _ in 0..HISTORIES {
        let faulty = rng.gen_bool(0.5);
        let n = rng.gen_range(2..12);
        // The store's elements, and the next element to add.
        let mut st: (BTreeSet<u64>, u64) = (BTreeSet::new(), 0);
        let h = random_history(
            &mut rng,
            n,
            3,
            &mut st,
            |rng, st| {
                if rng.gen_bool(0.5) {
                    st.1 += 1;
                    ("add".into(), json!(st.1))
                } else {
                    ("read".into(), Value::Null)
                }
            },
            |rng, st, f, v| {
                if f == "add" {
                    let e = v.as_u64().unwrap();
                    match rng.gen_range(0..10) {
                        0 => ("fail", v.clone()),
                        1 => {
                            if rng.gen_bool(0.5) {
                                st.0.insert(e);
                            }
                            ("info", v.clone())
                        }
                        _ => {
                            st.0.insert(e);
                            ("ok", v.clone())
                        }
                    }
                } else {
                    let mut seen: Vec<u64> =
                        st.0.iter()
                            .copied()
                            .filter(|_| !faulty || rng.gen_bool(0.7))
                            .collect();
                    if faulty && !seen.is_empty() && rng.gen_bool(0.1) {
                        seen.push(seen[0]);
                    }
                    ("ok", json!(seen))
                }
            },
        );
        let r = set_full::check(&h);
        let (lost, stale, never, stable, dup) = set_full_oracle(&h);
        let names = |k: &str| -> BTreeSet<String> {
            r.stats[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names("lost"), lost, "lost: {h:#?}");
        assert_eq!(names("stale"), stale, "stale: {h:#?}");
        assert_eq!(names("never_read"), never, "never read: {h:#?}");
        assert_eq!(r.stats["stable_count"], stable);
        let want = if !lost.is_empty() || dup {
            Validity::Invalid
        } else if stable == 0 {
            Validity::Unknown
        } else {
            Validity::Valid
        };
        assert_eq!(r.valid, want, "{h:#?}");
        tally.add(r.valid);
    }
    tally.report("set-full");
}

// ---------------------------------------------------------------------------------------------
// counter

#[test]
fn counter_reports_reads_too_low_and_too_high() {
    let h = hist(&[
        ("invoke", 0, "add", json!(5)),
        ("ok", 0, "add", json!(5)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(3)),
        ("invoke", 0, "inc", json!(null)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(7)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(6)),
        ("fail", 0, "inc", json!(null)),
    ]);
    let r = counter::check(&h);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(
        kinds(&r),
        ["read-too-high", "read-too-low"].map(String::from).into()
    );
    // The failed inc never counts: 6 is above the bounds [5, 5] too.
    assert_eq!(r.stats["too_high"], 2);
    assert_eq!(counter::bounds(&h), [(1, 5, 5), (3, 5, 5), (4, 5, 5)]);
}

#[test]
fn counter_is_valid_within_the_bounds_and_unknown_without_reads() {
    let h = hist(&[
        ("invoke", 0, "add", json!(5)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(5)),
        ("info", 0, "add", json!(5)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(0)),
        ("invoke", 2, "add", json!(-2)),
        ("ok", 2, "add", json!(-2)),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!(3)),
    ]);
    assert_eq!(counter::check(&h).valid, Validity::Valid);
    let none = hist(&[
        ("invoke", 0, "inc", json!(null)),
        ("ok", 0, "inc", json!(null)),
        ("invoke", 1, "read", json!(null)),
        ("fail", 1, "read", json!(null)),
    ]);
    assert_eq!(counter::check(&none).valid, Validity::Unknown);
}

/// The oracle: a read is legal when the acknowledged increments completed before it began,
/// plus some subset of the others invoked before it completed and not failed, sum to it.
fn counter_oracle(h: &History) -> bool {
    h.ops
        .iter()
        .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
        .all(|r| {
            let incs = h
                .ops
                .iter()
                .filter(|o| o.f != "read" && o.status != OpStatus::Fail);
            let required: Vec<&Operation> = incs
                .clone()
                .filter(|o| o.status == OpStatus::Ok && o.ret < r.call)
                .collect();
            let optional: Vec<&Operation> = incs
                .filter(|o| o.call < r.ret && !required.iter().any(|q| q.id == o.id))
                .collect();
            let v = r.output.as_i64().unwrap();
            (0u32..1 << optional.len()).any(|mask| {
                let extra = (0..optional.len()).filter(|i| mask & (1 << i) != 0).count() as i64;
                required.len() as i64 + extra == v
            })
        })
}

#[test]
fn counter_agrees_with_the_oracle_on_random_histories() {
    let mut rng = StdRng::seed_from_u64(16);
    let mut tally = Tally::default();
    for _ in 0..HISTORIES {
        let faulty = rng.gen_bool(0.5);
        let n = rng.gen_range(2..12);
        let mut value = 0i64;
        let h = random_history(
            &mut rng,
            n,
            3,
            &mut value,
            |rng, _| match rng.gen_range(0..3) {
                0 => ("inc".into(), Value::Null),
                1 => ("add".into(), json!(1)),
                _ => ("read".into(), Value::Null),
            },
            |rng, value, f, v| {
                if f == "read" {
                    let off = if faulty && rng.gen_bool(0.5) {
                        rng.gen_range(-2..=2)
                    } else {
                        0
                    };
                    return ("ok", json!(*value + off));
                }
                match rng.gen_range(0..10) {
                    0 => ("fail", v.clone()),
                    1 => {
                        if rng.gen_bool(0.5) {
                            *value += 1;
                        }
                        ("info", v.clone())
                    }
                    _ => {
                        *value += 1;
                        ("ok", v.clone())
                    }
                }
            },
        );
        let r = counter::check(&h);
        let reads = h
            .ops
            .iter()
            .any(|o| o.f == "read" && o.status == OpStatus::Ok);
        let want = match (reads, counter_oracle(&h)) {
            (false, _) => Validity::Unknown,
            (true, true) => Validity::Valid,
            (true, false) => Validity::Invalid,
        };
        assert_eq!(r.valid, want, "{h:#?}");
        tally.add(r.valid);
    }
    tally.report("counter");
}

// ---------------------------------------------------------------------------------------------
// bank

#[test]
fn bank_reports_wrong_totals_negative_and_nil_balances_and_malformed_reads() {
    let t = json!({"from": 0, "to": 1, "amount": 5});
    let h = hist(&[
        ("invoke", 0, "transfer", t.clone()),
        ("ok", 0, "transfer", t.clone()),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": 5, "1": 15})),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": 5, "1": 15})),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": 6, "1": 15})),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": -5, "1": 25})),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": null, "1": 20})),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": "five", "1": 15})),
    ]);
    let r = bank::check(&h);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(
        kinds(&r),
        [
            "malformed-read",
            "negative-balance",
            "nil-balance",
            "wrong-total"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(r.stats["total"], 20);
    assert_eq!(r.stats["wrong_total"], 1);
    let ok = hist(&bank_valid_rows(&t));
    assert_eq!(bank::check(&ok).valid, Validity::Valid);
}

/// A transfer with a read during it and one after, both seeing the total of 20.
fn bank_valid_rows(t: &Value) -> Vec<(&'static str, u64, &'static str, Value)> {
    vec![
        ("invoke", 0, "transfer", t.clone()),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": 10, "1": 10})),
        ("ok", 0, "transfer", t.clone()),
        ("invoke", 1, "read", json!(null)),
        ("ok", 1, "read", json!({"0": 5, "1": 15})),
    ]
}

#[test]
fn bank_agrees_with_the_oracle_on_random_histories() {
    let mut rng = StdRng::seed_from_u64(17);
    let mut tally = Tally::default();
    for _ in 0..HISTORIES {
        let accounts = rng.gen_range(2..4usize);
        let n = rng.gen_range(6..14);
        // Balances, and whether a read was corrupted (at most one).
        let mut st: (Vec<i64>, bool) = (vec![10; accounts], false);
        let corrupt = rng.gen_bool(0.5);
        let h = random_history(
            &mut rng,
            n,
            3,
            &mut st,
            |rng, _| {
                if rng.gen_bool(0.5) {
                    let from = rng.gen_range(0..accounts);
                    let to = (from + rng.gen_range(1..accounts)) % accounts;
                    (
                        "transfer".into(),
                        json!({"from": from, "to": to, "amount": rng.gen_range(1..8)}),
                    )
                } else {
                    ("read".into(), Value::Null)
                }
            },
            |rng, st, f, v| {
                if f == "transfer" {
                    let (from, to, amount) = (
                        v["from"].as_u64().unwrap() as usize,
                        v["to"].as_u64().unwrap() as usize,
                        v["amount"].as_i64().unwrap(),
                    );
                    if st.0[from] < amount {
                        return ("fail", v.clone());
                    }
                    st.0[from] -= amount;
                    st.0[to] += amount;
                    return (if rng.gen_bool(0.1) { "info" } else { "ok" }, v.clone());
                }
                let mut b: Vec<Value> = st.0.iter().map(|x| json!(x)).collect();
                if corrupt && !st.1 && rng.gen_bool(0.4) {
                    st.1 = true;
                    match rng.gen_range(0..3) {
                        0 => b[0] = json!(st.0[0] + rng.gen_range(1..4)),
                        1 => {
                            let neg = rng.gen_range(1..4);
                            b[0] = json!(-neg);
                            b[1] = json!(st.0[1] + st.0[0] + neg);
                        }
                        _ => b[1] = Value::Null,
                    }
                }
                (
                    "ok",
                    Value::Object(
                        b.into_iter()
                            .enumerate()
                            .map(|(i, x)| (i.to_string(), x))
                            .collect(),
                    ),
                )
            },
        );
        let reads: Vec<&Operation> = h
            .ops
            .iter()
            .filter(|o| o.f == "read" && o.status == OpStatus::Ok)
            .collect();
        if reads.len() < 3 && st.1 {
            continue; // Without the test's total, a corrupted read needs two honest ones beside it.
        }
        // The oracle: every read sums to the initial total, with no negative or nil balance.
        let total = 10 * accounts as i64;
        let bad = reads.iter().any(|r| {
            let b: Vec<Option<i64>> = r
                .output
                .as_object()
                .unwrap()
                .values()
                .map(Value::as_i64)
                .collect();
            b.iter().any(|x| x.is_none_or(|x| x < 0))
                || b.iter().map(|x| x.unwrap_or(0)).sum::<i64>() != total
        });
        let want = match (reads.is_empty(), bad) {
            (true, _) => Validity::Unknown,
            (false, true) => Validity::Invalid,
            (false, false) => Validity::Valid,
        };
        let r = bank::check(&h);
        assert_eq!(r.valid, want, "{h:#?}");
        tally.add(r.valid);
    }
    tally.report("bank");
}

// ---------------------------------------------------------------------------------------------
// unique-ids

#[test]
fn unique_ids_reports_duplicated_ids() {
    let h = hist(&[
        ("invoke", 0, "generate", json!(null)),
        ("ok", 0, "generate", json!(1)),
        ("invoke", 1, "generate", json!(null)),
        ("ok", 1, "generate", json!(1)),
        ("invoke", 0, "generate", json!(null)),
        ("ok", 0, "generate", json!(2)),
        ("invoke", 1, "generate", json!(null)),
        ("info", 1, "generate", json!(null)),
    ]);
    let r = unique_ids::check(&h);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), ["duplicated".to_string()].into());
    assert_eq!(r.anomalies[0].ops.len(), 2);
    assert_eq!(r.stats["range"], json!([1, 2]));
    assert_eq!(
        unique_ids::check(&hist(&[
            ("invoke", 0, "generate", json!(null)),
            ("ok", 0, "generate", json!(3))
        ]))
        .valid,
        Validity::Valid
    );
    assert_eq!(
        unique_ids::check(&hist(&[
            ("invoke", 0, "generate", json!(null)),
            ("fail", 0, "generate", json!(null))
        ]))
        .valid,
        Validity::Unknown
    );
}

#[test]
fn unique_ids_agrees_with_the_oracle_on_random_histories() {
    let mut rng = StdRng::seed_from_u64(18);
    let mut tally = Tally::default();
    for _ in 0..HISTORIES {
        let faulty = rng.gen_bool(0.5);
        let n = rng.gen_range(1..10);
        let mut next = 0u64;
        let h = random_history(
            &mut rng,
            n,
            3,
            &mut next,
            |_, _| ("generate".into(), Value::Null),
            |rng, next, _, _| {
                if rng.gen_bool(0.1) {
                    return ("fail", Value::Null);
                }
                if !(faulty && *next > 0 && rng.gen_bool(0.3)) {
                    *next += 1;
                }
                ("ok", json!(*next))
            },
        );
        // The oracle: compare every pair of successful generates.
        let ok: Vec<&Operation> = h.ops.iter().filter(|o| o.status == OpStatus::Ok).collect();
        let mut dups = BTreeSet::new();
        for (i, a) in ok.iter().enumerate() {
            for b in &ok[i + 1..] {
                if a.output == b.output {
                    dups.insert(a.output.to_string());
                }
            }
        }
        let r = unique_ids::check(&h);
        assert_eq!(
            unique_ids::duplicates(&h)
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>(),
            dups
        );
        let want = if !dups.is_empty() {
            Validity::Invalid
        } else if ok.is_empty() {
            Validity::Unknown
        } else {
            Validity::Valid
        };
        assert_eq!(r.valid, want, "{h:#?}");
        tally.add(r.valid);
    }
    tally.report("unique-ids");
}

// ---------------------------------------------------------------------------------------------
// long-fork

/// Inserts of every key named, then one read per row (key, seen?), sequentially.
fn long_fork_history(reads: &[&[(&str, bool)]]) -> History {
    let mut keys: Vec<&str> = reads.iter().flat_map(|r| r.iter().map(|x| x.0)).collect();
    keys.sort();
    keys.dedup();
    let mut rows = Vec::new();
    for k in &keys {
        rows.push(("invoke", 0, "txn", json!([["w", k, 1]])));
        rows.push(("ok", 0, "txn", json!([["w", k, 1]])));
    }
    for r in reads {
        let inv: Vec<Value> = r.iter().map(|(k, _)| json!(["r", k, null])).collect();
        let out: Vec<Value> = r
            .iter()
            .map(|(k, s)| json!(["r", k, if *s { json!(1) } else { Value::Null }]))
            .collect();
        rows.push(("invoke", 1, "txn", json!(inv)));
        rows.push(("ok", 1, "txn", json!(out)));
    }
    hist(&rows)
}

#[test]
fn long_fork_reports_forks_and_is_unknown_on_keys_written_twice() {
    let h = long_fork_history(&[
        &[("x", true), ("y", false)],
        &[("y", true), ("x", false)],
        &[("x", true), ("y", true)],
    ]);
    let r = long_fork::check(&h);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(kinds(&r), ["long-fork".to_string()].into());
    assert_eq!(r.stats["forks"], 1);
    assert!(
        r.anomalies[0].explanation.contains("\"x\" but not \"y\""),
        "{}",
        r.anomalies[0].explanation
    );
    let chain = long_fork_history(&[
        &[("x", false), ("y", false)],
        &[("y", true), ("x", false)],
        &[("x", true), ("y", true)],
    ]);
    assert_eq!(long_fork::check(&chain).valid, Validity::Valid);
    let mut rows: Vec<(&str, u64, &str, Value)> = vec![
        ("invoke", 0, "txn", json!([["w", "x", 1]])),
        ("ok", 0, "txn", json!([["w", "x", 1]])),
        ("invoke", 0, "txn", json!([["w", "x", 2]])),
        ("ok", 0, "txn", json!([["w", "x", 2]])),
    ];
    rows.extend([
        (
            "invoke",
            1,
            "txn",
            json!([["r", "x", null], ["r", "y", null]]),
        ),
        ("ok", 1, "txn", json!([["r", "x", 1], ["r", "y", null]])),
        (
            "invoke",
            1,
            "txn",
            json!([["r", "x", null], ["r", "y", null]]),
        ),
        ("ok", 1, "txn", json!([["r", "x", 2], ["r", "y", null]])),
    ]);
    let r = long_fork::check(&hist(&rows));
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.explanation.contains("written more than once"),
        "{}",
        r.explanation
    );
}

/// The oracle: for each group of keys, some order of its inserts makes every read's set of
/// seen keys a prefix of it (tried over every permutation).
fn long_fork_oracle(h: &History) -> bool {
    let mut groups: BTreeMap<Vec<String>, Vec<BTreeSet<String>>> = BTreeMap::new();
    for o in h
        .ops
        .iter()
        .filter(|o| o.status == OpStatus::Ok && o.input[0][0] == "r")
    {
        let mops = o.output.as_array().unwrap();
        let mut keys: Vec<String> = mops.iter().map(|m| m[1].to_string()).collect();
        keys.sort();
        let seen = mops
            .iter()
            .filter(|m| !m[2].is_null())
            .map(|m| m[1].to_string())
            .collect();
        groups.entry(keys).or_default().push(seen);
    }
    fn perms(v: &[String]) -> Vec<Vec<String>> {
        if v.is_empty() {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for i in 0..v.len() {
            let mut rest = v.to_vec();
            let x = rest.remove(i);
            for mut p in perms(&rest) {
                p.insert(0, x.clone());
                out.push(p);
            }
        }
        out
    }
    groups.iter().all(|(keys, reads)| {
        perms(keys).iter().any(|order| {
            reads.iter().all(|seen| {
                (0..=order.len())
                    .any(|n| order[..n].iter().cloned().collect::<BTreeSet<_>>() == *seen)
            })
        })
    })
}

#[test]
fn long_fork_agrees_with_the_oracle_on_random_histories() {
    let mut rng = StdRng::seed_from_u64(19);
    let mut tally = Tally::default();
    for _ in 0..HISTORIES {
        let faulty = rng.gen_bool(0.5);
        let size = rng.gen_range(2..4usize);
        let groups = rng.gen_range(1..3usize);
        let n = rng.gen_range(4..14);
        // Keys written so far; keys not yet written.
        let mut st: (BTreeSet<usize>, Vec<usize>) = (BTreeSet::new(), {
            let mut ks: Vec<usize> = (0..size * groups).collect();
            ks.shuffle(&mut rng);
            ks
        });
        let h = random_history(
            &mut rng,
            n,
            3,
            &mut st,
            |rng, st| {
                if !st.1.is_empty() && rng.gen_bool(0.4) {
                    let k = st.1.pop().unwrap();
                    ("txn".into(), json!([["w", k, 1]]))
                } else {
                    let g = rng.gen_range(0..groups);
                    let mut ks: Vec<usize> = (g * size..(g + 1) * size).collect();
                    ks.shuffle(rng);
                    (
                        "txn".into(),
                        json!(ks.iter().map(|k| json!(["r", k, null])).collect::<Vec<_>>()),
                    )
                }
            },
            |rng, st, _, v| {
                let mops = v.as_array().unwrap();
                if mops[0][0] == "w" {
                    st.0.insert(mops[0][1].as_u64().unwrap() as usize);
                    return ("ok", v.clone());
                }
                let out: Vec<Value> = mops
                    .iter()
                    .map(|m| {
                        let k = m[1].as_u64().unwrap() as usize;
                        let seen = if faulty && rng.gen_bool(0.5) {
                            rng.gen_bool(0.5)
                        } else {
                            st.0.contains(&k)
                        };
                        json!(["r", k, if seen { json!(1) } else { Value::Null }])
                    })
                    .collect();
                ("ok", json!(out))
            },
        );
        if !long_fork::fits(&h) {
            continue;
        }
        let reads = h
            .ops
            .iter()
            .filter(|o| o.status == OpStatus::Ok && o.input[0][0] == "r")
            .count();
        let want = match (reads > 1, long_fork_oracle(&h)) {
            (_, false) => Validity::Invalid,
            (false, true) => Validity::Unknown,
            (true, true) => Validity::Valid,
        };
        let r = long_fork::check(&h);
        assert_eq!(r.valid, want, "{h:#?}");
        tally.add(r.valid);
    }
    tally.report("long-fork");
}
