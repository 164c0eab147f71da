//! The linearizability checker against a brute-force oracle on many random small histories,
//! and the zone test against the search on every unique-value history.

mod support;

use checkers::linear::{check, ModelKind, Options};
use checkers::Validity;
use histories::{History, OpStatus, Operation, NEVER};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::oracle::{history, idle_and_busy, invocation, linearizable, relaxed_except};

// ---------------------------------------------------------------------------------------------
// The oracle: enumerate orders directly, no memo, no entry list.

fn legal(state: &Value, op: &Operation) -> Option<Value> {
    match op.f.as_str() {
        "read" => (op.output == *state).then(|| state.clone()),
        "write" => Some(op.input.clone()),
        "cas" => (op.input[0] == *state).then(|| op.input[1].clone()),
        _ => unreachable!(),
    }
}

fn oracle(h: &History) -> bool {
    linearizable(h, "read", Value::Null, legal)
}

// ---------------------------------------------------------------------------------------------
// Random histories from a simulated register, with injected anomalies.

struct Gen {
    /// chance in 10 that an operation that took effect still completes with info
    info: u32,
    unique: bool,
    with_cas: bool,
    anomalies: bool,
}

fn generate(rng: &mut StdRng, g: &Gen) -> History {
    let procs = rng.gen_range(1..=3u64);
    let total = rng.gen_range(1..=9usize);
    let mut state = Value::Null;
    let mut next_val = 1;
    // per process: pending (op index, applied?, result)
    let mut pending: Vec<Option<(usize, bool, Value, bool)>> = vec![None; procs as usize];
    let mut proc_id: Vec<u64> = (0..procs).collect();
    let mut ops: Vec<Operation> = Vec::new();
    let mut pos = 0u64;
    let mut started = 0;
    loop {
        let (idle, busy) = idle_and_busy(&pending);
        if busy.is_empty() && started >= total {
            break;
        }
        let choice = rng.gen_range(0..3);
        if choice == 0 && started < total && !idle.is_empty() {
            // invoke
            let p = idle[rng.gen_range(0..idle.len())];
            let f = match rng.gen_range(0..if g.with_cas { 3 } else { 2 }) {
                0 => "read",
                1 => "write",
                _ => "cas",
            };
            let input = match f {
                "read" => Value::Null,
                "write" => {
                    let v = if g.unique {
                        next_val
                    } else {
                        rng.gen_range(1..=3)
                    };
                    next_val += 1;
                    json!(v)
                }
                _ => {
                    let a = rng.gen_range(0..=3);
                    let a = if a == 0 { Value::Null } else { json!(a) };
                    json!([a, rng.gen_range(1..=3)])
                }
            };
            let id = ops.len();
            ops.push(invocation(id, proc_id[p], f, input, pos));
            pos += 1;
            started += 1;
            pending[p] = Some((id, false, Value::Null, false));
        } else if choice == 1 && !busy.is_empty() {
            // a pending op takes effect atomically (at most once)
            let p = busy[rng.gen_range(0..busy.len())];
            let (id, applied, _, ok) = pending[p].clone().unwrap();
            if applied {
                continue;
            }
            let op = &ops[id];
            let (res, success) = match op.f.as_str() {
                "read" => (state.clone(), true),
                "write" => {
                    state = op.input.clone();
                    (Value::Null, true)
                }
                _ => {
                    if state == op.input[0] {
                        state = op.input[1].clone();
                        (Value::Null, true)
                    } else {
                        (Value::Null, false)
                    }
                }
            };
            let _ = ok;
            pending[p] = Some((id, true, res, success));
        } else if !busy.is_empty() {
            // complete
            let p = busy[rng.gen_range(0..busy.len())];
            let (id, applied, res, success) = pending[p].clone().unwrap();
            let op = &mut ops[id];
            let r = rng.gen_range(0..10);
            if !applied {
                // never took effect: fail or info
                op.status = if r < 5 {
                    OpStatus::Fail
                } else {
                    OpStatus::Info
                };
            } else if !success {
                op.status = OpStatus::Fail; // cas mismatch: definite failure
            } else if r < g.info {
                op.status = OpStatus::Info; // took effect, but the client timed out
            } else {
                op.status = OpStatus::Ok;
                op.output = res;
            }
            if op.status != OpStatus::Info {
                op.ret = pos;
                op.ret_time = Some(pos);
                op.ret_line = Some(pos as usize + 1);
            } else {
                // retire the process id, as Jepsen does
                proc_id[p] += procs;
            }
            pos += 1;
            pending[p] = None;
        }
    }
    if g.anomalies && !ops.is_empty() {
        // Inject one fault of a buggy store: a read returning another value (stale or never
        // written), or an operation that never took effect reported as ok (a lost update).
        let i = rng.gen_range(0..ops.len());
        if ops[i].f == "read" && ops[i].status == OpStatus::Ok {
            let v = rng.gen_range(0..next_val.max(4));
            let v = if v == 0 { Value::Null } else { json!(v) };
            if v != ops[i].output {
                ops[i].output = v;
            }
        } else if ops[i].status != OpStatus::Ok {
            ops[i].status = OpStatus::Ok;
            if ops[i].ret == NEVER {
                ops[i].ret = pos;
                ops[i].ret_time = Some(pos);
                ops[i].ret_line = Some(pos as usize + 1);
                pos += 1;
            }
            if ops[i].f == "read" {
                ops[i].output = json!(rng.gen_range(1..4));
            }
        }
    }
    history(ops, pos)
}

fn run(model: ModelKind, h: &History, zone: bool) -> Validity {
    let mut o = Options::new(model);
    o.zone = zone;
    check(h, &o).unwrap().valid
}

/// Checks 10,000 generated histories against the oracle; both verdicts must be well represented
/// or the test proves little.
fn agrees_with_oracle(seed: u64, gen: impl Fn(usize) -> Gen, zone: impl Fn(usize) -> bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut counts = [0usize; 2];
    for n in 0..10_000 {
        let g = gen(n);
        let h = generate(&mut rng, &g);
        let expect = oracle(&h);
        counts[expect as usize] += 1;
        let model = if g.with_cas {
            ModelKind::CasRegister
        } else {
            ModelKind::Register
        };
        let want = if expect {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        assert_eq!(
            run(model, &h, zone(n)),
            want,
            "history {n} disagrees with the oracle: {:#?}",
            h.ops
        );
    }
    assert!(
        counts[0] > 1000 && counts[1] > 1000,
        "verdict mix {counts:?}"
    );
}

#[test]
fn search_agrees_with_brute_force_on_10000_histories() {
    agrees_with_oracle(
        0xfa17,
        |n| Gen {
            info: 1,
            unique: n % 3 == 0,
            with_cas: n % 2 == 0,
            anomalies: n % 4 != 0,
        },
        |_| false,
    );
}

#[test]
fn zone_test_agrees_with_search_on_unique_value_histories() {
    let mut rng = StdRng::seed_from_u64(0x20e);
    let mut zone_used = 0;
    let mut invalid = 0;
    for n in 0..10_000 {
        let g = Gen {
            info: 1,
            unique: true,
            with_cas: false,
            anomalies: n % 2 == 0,
        };
        let h = generate(&mut rng, &g);
        let mut o = Options::new(ModelKind::Register);
        let zr = check(&h, &o).unwrap();
        o.zone = false;
        let sr = check(&h, &o).unwrap();
        if zr.keys.first().is_some_and(|k| k.method == "zone") {
            zone_used += 1;
        }
        if sr.valid == Validity::Invalid {
            invalid += 1;
        }
        assert_eq!(
            zr.valid, sr.valid,
            "history {n}: zone {:?} search {:?}: {:#?}",
            zr.valid, sr.valid, h.ops
        );
        assert_eq!(
            sr.valid == Validity::Valid,
            oracle(&h),
            "history {n} vs oracle"
        );
    }
    assert!(zone_used > 9000, "zone test used on {zone_used} histories");
    assert!(invalid > 1000, "only {invalid} invalid histories");
}

#[test]
fn search_agrees_with_brute_force_when_many_operations_time_out() {
    // Optional (info) updates are where the search prunes hardest; test it hardest there.
    agrees_with_oracle(
        0x1f0,
        |n| Gen {
            info: 5,
            unique: n % 4 == 0,
            with_cas: n % 3 != 0,
            anomalies: n % 3 != 2,
        },
        |n| n % 2 == 0,
    );
}

#[test]
fn a_read_of_a_value_nobody_could_have_written_is_found_without_search() {
    let text = r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"index":1,"time":1,"type":"ok","process":0,"f":"write","key":"x","value":1}
{"index":2,"time":2,"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"index":3,"time":3,"type":"ok","process":1,"f":"read","key":"x","value":7}
{"index":4,"time":4,"type":"invoke","process":2,"f":"write","key":"x","value":7}
{"index":5,"time":5,"type":"ok","process":2,"f":"write","key":"x","value":7}
"#;
    let h = histories::parse_jsonl(text).unwrap();
    let mut o = Options::new(ModelKind::Kv);
    o.zone = false;
    let r = check(&h, &o).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.keys[0].explored, 0, "decided before any search step");
    let a = r.keys[0].anomaly.as_ref().unwrap();
    assert_eq!(a.ops.len(), 1);
    assert!(a.explanation.contains("returned 7"), "{}", a.explanation);
    assert!(!oracle(&h));
}

#[test]
fn search_witnesses_are_true_and_one_minimal_cores() {
    // A search's witness must be illegal on its own with everything else relaxed (the oracle
    // says so), and dropping any one of its operations must make it legal.
    let mut rng = StdRng::seed_from_u64(0x3117);
    let mut checked = 0;
    for n in 0..10_000 {
        let g = Gen {
            info: if n % 2 == 0 { 0 } else { 3 },
            unique: n % 3 == 0,
            with_cas: n % 2 == 0,
            anomalies: true,
        };
        let h = generate(&mut rng, &g);
        let model = if g.with_cas {
            ModelKind::CasRegister
        } else {
            ModelKind::Register
        };
        let mut o = Options::new(model);
        o.zone = false;
        let r = check(&h, &o).unwrap();
        let Some(a) = r.keys.first().and_then(|k| k.anomaly.as_ref()) else {
            continue;
        };
        let w: Vec<usize> = a.ops.iter().map(|o| o.op).collect();
        assert!(
            !oracle(&relaxed_except(&h, &w)),
            "history {n}: witness {w:?} is linearizable with the rest relaxed: {:#?}",
            h.ops
        );
        for &x in &w {
            let without: Vec<usize> = w.iter().copied().filter(|&y| y != x).collect();
            assert!(
                oracle(&relaxed_except(&h, &without)),
                "history {n}: witness {w:?} is not minimal (illegal without op {x}): {:#?}",
                h.ops
            );
        }
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} witnesses checked");
}
