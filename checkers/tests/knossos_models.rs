//! Knossos's other models (mutex, multi-register, set, unordered-queue, fifo-queue) in the
//! linearizability checker, against a brute-force oracle on random small histories from
//! simulated objects with injected faults; their witnesses are true and 1-minimal; explanations
//! name the operations; model inference; budgets give unknown with a reason.

mod support;

use checkers::linear::{check, ModelKind, Options};
use checkers::Validity;
use histories::{History, OpStatus, Operation, NEVER};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;
use support::oracle::{history, idle_and_busy, invocation, linearizable, relaxed_except};

// ---------------------------------------------------------------------------------------------
// The oracle: every order of the operations, directly on JSON values, no interning, no memo.

#[derive(Clone, Debug)]
enum St {
    Mutex(bool),
    Set(BTreeSet<String>),
    /// A multiset, sorted.
    Unordered(Vec<String>),
    Fifo(VecDeque<String>),
    Regs(BTreeMap<String, String>),
}

fn initial(m: ModelKind) -> St {
    match m {
        ModelKind::Mutex => St::Mutex(false),
        ModelKind::Set => St::Set(BTreeSet::new()),
        ModelKind::UnorderedQueue => St::Unordered(Vec::new()),
        ModelKind::FifoQueue => St::Fifo(VecDeque::new()),
        _ => St::Regs(BTreeMap::new()),
    }
}

/// Every state `op` can lead to from `st` (none: it cannot happen there). An `info` dequeue
/// whose value is unknown may have removed any pending element (unordered) or the head (fifo).
fn next(st: &St, op: &Operation) -> Vec<St> {
    let ok = op.status == OpStatus::Ok;
    let v = if ok && !op.output.is_null() {
        &op.output
    } else {
        &op.input
    };
    let t = v.to_string();
    match (st, op.f.as_str()) {
        (St::Mutex(false), "acquire") => vec![St::Mutex(true)],
        (St::Mutex(true), "release") => vec![St::Mutex(false)],
        (St::Mutex(_), _) => vec![],
        (St::Set(s), "add") => {
            let mut s = s.clone();
            s.insert(t);
            vec![St::Set(s)]
        }
        (St::Set(s), "read") => {
            let got: BTreeSet<String> = op
                .output
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.to_string())
                .collect();
            if got == *s {
                vec![st.clone()]
            } else {
                vec![]
            }
        }
        (St::Unordered(q), "enqueue") => {
            let mut q = q.clone();
            q.push(t);
            q.sort();
            vec![St::Unordered(q)]
        }
        (St::Unordered(q), "dequeue") => {
            if !ok && v.is_null() {
                return (0..q.len())
                    .map(|i| {
                        let mut q = q.clone();
                        q.remove(i);
                        St::Unordered(q)
                    })
                    .collect();
            }
            if ok && v.is_null() {
                return if q.is_empty() {
                    vec![st.clone()]
                } else {
                    vec![]
                };
            }
            match q.iter().position(|x| *x == t) {
                Some(i) => {
                    let mut q = q.clone();
                    q.remove(i);
                    vec![St::Unordered(q)]
                }
                None => vec![],
            }
        }
        (St::Fifo(q), "enqueue") => {
            let mut q = q.clone();
            q.push_back(t);
            vec![St::Fifo(q)]
        }
        (St::Fifo(q), "dequeue") => {
            if !ok && v.is_null() {
                let mut q = q.clone();
                q.pop_front();
                return vec![St::Fifo(q)];
            }
            if ok && v.is_null() {
                return if q.is_empty() {
                    vec![st.clone()]
                } else {
                    vec![]
                };
            }
            if q.front() == Some(&t) {
                let mut q = q.clone();
                q.pop_front();
                vec![St::Fifo(q)]
            } else {
                vec![]
            }
        }
        (St::Regs(r), "txn") => {
            let mut r = r.clone();
            for m in v.as_array().unwrap() {
                let (f, k, x) = (m[0].as_str().unwrap(), m[1].to_string(), &m[2]);
                match f {
                    "read" if x.is_null() => {}
                    "read" => {
                        if r.get(&k) != Some(&x.to_string()) {
                            return vec![];
                        }
                    }
                    _ if x.is_null() => {
                        r.remove(&k);
                    }
                    _ => {
                        r.insert(k, x.to_string());
                    }
                }
            }
            vec![St::Regs(r)]
        }
        _ => unreachable!("{st:?} {}", op.f),
    }
}

fn oracle(model: ModelKind, h: &History) -> bool {
    linearizable(h, "read", initial(model), next)
}

// ---------------------------------------------------------------------------------------------
// Random histories: concurrent clients of a simulated object (each operation takes effect at
// most once, at a random point between its invocation and completion), then one fault.

/// An operation to invoke: its f and invocation value.
fn invent(model: ModelKind, rng: &mut StdRng) -> (&'static str, Value) {
    let small = |rng: &mut StdRng| json!(rng.gen_range(1..=3));
    match model {
        ModelKind::Mutex => (
            if rng.gen_bool(0.5) {
                "acquire"
            } else {
                "release"
            },
            Value::Null,
        ),
        ModelKind::Set => {
            if rng.gen_bool(0.6) {
                ("add", json!(rng.gen_range(1..=4)))
            } else {
                ("read", Value::Null)
            }
        }
        ModelKind::UnorderedQueue | ModelKind::FifoQueue => {
            if rng.gen_bool(0.55) {
                ("enqueue", small(rng))
            } else {
                ("dequeue", Value::Null)
            }
        }
        _ => {
            let n = rng.gen_range(1..=2);
            let txn: Vec<Value> = (0..n)
                .map(|_| {
                    let k = if rng.gen_bool(0.5) { "x" } else { "y" };
                    if rng.gen_bool(0.5) {
                        json!(["read", k, null])
                    } else {
                        json!(["write", k, rng.gen_range(1..=3)])
                    }
                })
                .collect();
            ("txn", Value::Array(txn))
        }
    }
}

/// Applies an operation to the simulated object: whether it succeeded, and what it returned.
fn apply(st: &mut St, rng: &mut StdRng, f: &str, input: &Value) -> (bool, Value) {
    match (st, f) {
        // A refused acquire or release changes nothing (and completes with fail).
        (St::Mutex(held), "acquire") => {
            let ok = !*held;
            *held = true;
            (ok, Value::Null)
        }
        (St::Mutex(held), _) => {
            let ok = *held;
            *held = false;
            (ok, Value::Null)
        }
        (St::Set(s), "add") => {
            s.insert(input.to_string());
            (true, input.clone())
        }
        (St::Set(s), _) => {
            let els: Vec<Value> = s.iter().map(|e| serde_json::from_str(e).unwrap()).collect();
            (true, Value::Array(els))
        }
        (St::Unordered(q), "enqueue") => {
            q.push(input.to_string());
            q.sort();
            (true, input.clone())
        }
        (St::Unordered(q), _) => {
            if q.is_empty() {
                return (true, Value::Null);
            }
            let e = q.remove(rng.gen_range(0..q.len()));
            (true, serde_json::from_str(&e).unwrap())
        }
        (St::Fifo(q), "enqueue") => {
            q.push_back(input.to_string());
            (true, input.clone())
        }
        (St::Fifo(q), _) => match q.pop_front() {
            None => (true, Value::Null),
            Some(e) => (true, serde_json::from_str(&e).unwrap()),
        },
        (St::Regs(r), _) => {
            let mut out = Vec::new();
            for m in input.as_array().unwrap() {
                let (f, k) = (m[0].as_str().unwrap(), m[1].to_string());
                if f == "read" {
                    let v = r
                        .get(&k)
                        .map_or(Value::Null, |v| serde_json::from_str(v).unwrap());
                    out.push(json!(["read", m[1], v]));
                } else {
                    r.insert(k, m[2].to_string());
                    out.push(m.clone());
                }
            }
            (true, Value::Array(out))
        }
    }
}

/// `info`: chance in 10 that an operation that took effect still completes with info.
fn generate(model: ModelKind, rng: &mut StdRng, info: u32, fault: bool) -> History {
    let procs = rng.gen_range(1..=3usize);
    let total = rng.gen_range(1..=8usize);
    let mut st = initial(model);
    // per process: (op, applied, succeeded, result)
    let mut pending: Vec<Option<(usize, bool, bool, Value)>> = vec![None; procs];
    let mut proc_id: Vec<u64> = (0..procs as u64).collect();
    let mut ops: Vec<Operation> = Vec::new();
    let mut pos = 0u64;
    loop {
        let (idle, busy) = idle_and_busy(&pending);
        if busy.is_empty() && ops.len() >= total {
            break;
        }
        let choice = rng.gen_range(0..3);
        if choice == 0 && ops.len() < total && !idle.is_empty() {
            let p = idle[rng.gen_range(0..idle.len())];
            let (f, input) = invent(model, rng);
            ops.push(invocation(ops.len(), proc_id[p], f, input, pos));
            pos += 1;
            pending[p] = Some((ops.len() - 1, false, false, Value::Null));
        } else if choice == 1 && !busy.is_empty() {
            let p = busy[rng.gen_range(0..busy.len())];
            let (id, applied, ..) = pending[p].clone().unwrap();
            if !applied {
                let (f, input) = (ops[id].f.clone(), ops[id].input.clone());
                let (success, res) = apply(&mut st, rng, &f, &input);
                pending[p] = Some((id, true, success, res));
            }
        } else if !busy.is_empty() {
            let p = busy[rng.gen_range(0..busy.len())];
            let (id, applied, success, res) = pending[p].take().unwrap();
            let o = &mut ops[id];
            let r = rng.gen_range(0..10);
            o.status = if !applied {
                if r < 5 {
                    OpStatus::Fail
                } else {
                    OpStatus::Info
                }
            } else if !success {
                // A mutex refused: definite.
                OpStatus::Fail
            } else if r < info {
                OpStatus::Info
            } else {
                o.output = res;
                OpStatus::Ok
            };
            if o.status == OpStatus::Info {
                proc_id[p] += procs as u64;
            } else {
                o.ret = pos;
                o.ret_time = Some(pos);
                o.ret_line = Some(pos as usize + 1);
            }
            pos += 1;
        }
    }
    if fault && !ops.is_empty() {
        // Mostly a wrong result of an operation that returns one, else anything at all.
        let results: Vec<usize> = (0..ops.len())
            .filter(|&i| {
                let o = &ops[i];
                o.status == OpStatus::Ok
                    && match o.f.as_str() {
                        "read" | "dequeue" => true,
                        "txn" => o.output.as_array().unwrap().iter().any(|m| m[0] == "read"),
                        _ => false,
                    }
            })
            .collect();
        let i = if !results.is_empty() && rng.gen_bool(0.6) {
            results[rng.gen_range(0..results.len())]
        } else {
            rng.gen_range(0..ops.len())
        };
        let o = &mut ops[i];
        if o.status == OpStatus::Ok && !matches!(o.f.as_str(), "acquire" | "release") {
            // A wrong result: another set, another dequeued element, another value read.
            o.output = match o.f.as_str() {
                "read" => {
                    let n = rng.gen_range(0..=3);
                    Value::Array((0..n).map(|_| json!(rng.gen_range(1..=4))).collect())
                }
                "dequeue" => {
                    if rng.gen_bool(0.2) {
                        Value::Null
                    } else {
                        json!(rng.gen_range(1..=3))
                    }
                }
                "txn" => {
                    let mut t = o.output.clone();
                    for m in t.as_array_mut().unwrap() {
                        if m[0] == "read" {
                            let was = m[2].as_u64().unwrap_or(0);
                            m[2] = json!((was + rng.gen_range(1..=2)) % 3 + 1);
                        }
                    }
                    t
                }
                _ => o.output.clone(),
            };
        } else if o.status != OpStatus::Ok {
            // Something that did not happen (or was refused) reported as done.
            o.status = OpStatus::Ok;
            if o.ret == NEVER {
                o.ret = pos;
                o.ret_time = Some(pos);
                o.ret_line = Some(pos as usize + 1);
                pos += 1;
            }
            if o.f == "read" {
                o.output = json!([rng.gen_range(1..=4)]);
            } else if o.f == "dequeue" {
                o.output = json!(rng.gen_range(1..=3));
            } else {
                o.output = o.input.clone();
            }
        }
    }
    history(ops, pos)
}

/// A history in one line per operation, for failure messages.
fn show(h: &History) -> String {
    h.ops
        .iter()
        .map(|o| {
            let ret = if o.ret == NEVER {
                "-".to_string()
            } else {
                o.ret.to_string()
            };
            format!(
                "\n  #{} p{} {} {} -> {} {:?} [{}..{}]",
                o.id, o.process, o.f, o.input, o.output, o.status, o.call, ret
            )
        })
        .collect()
}

const MODELS: [ModelKind; 5] = [
    ModelKind::Mutex,
    ModelKind::MultiRegister,
    ModelKind::Set,
    ModelKind::UnorderedQueue,
    ModelKind::FifoQueue,
];

/// Each model on 6,000 histories (half of them with an `info` in three completions): the checker
/// agrees with the oracle, and both verdicts are well represented.
#[test]
fn every_model_agrees_with_brute_force_on_6000_histories() {
    for (k, model) in MODELS.into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(0xc0de + k as u64);
        let mut counts = [0usize; 2];
        for n in 0..6_000 {
            let info = if n % 2 == 0 { 1 } else { 3 };
            let h = generate(model, &mut rng, info, n % 3 != 0);
            let expect = oracle(model, &h);
            counts[expect as usize] += 1;
            let got = check(&h, &Options::new(model)).unwrap().valid;
            let want = if expect {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            assert_eq!(got, want, "{model} history {n}: {}", show(&h));
        }
        assert!(
            counts[0] > 1000 && counts[1] > 1000,
            "{model}: verdict mix {counts:?}"
        );
        println!("{model}: {} invalid, {} valid", counts[0], counts[1]);
    }
}

#[test]
fn witnesses_are_true_and_one_minimal() {
    for (k, model) in MODELS.into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(0x3117 + k as u64);
        let mut checked = 0;
        for n in 0..3_000 {
            let h = generate(model, &mut rng, if n % 2 == 0 { 0 } else { 3 }, true);
            let r = check(&h, &Options::new(model)).unwrap();
            let Some(a) = r.keys.first().and_then(|k| k.anomaly.as_ref()) else {
                continue;
            };
            let w: Vec<usize> = a.ops.iter().map(|o| o.op).collect();
            assert!(
                !oracle(model, &relaxed_except(&h, &w)),
                "{model} history {n}: witness {w:?} is linearizable with the rest relaxed: {}",
                show(&h)
            );
            for &x in &w {
                let without: Vec<usize> = w.iter().copied().filter(|&y| y != x).collect();
                assert!(
                    oracle(model, &relaxed_except(&h, &without)),
                    "{model} history {n}: witness {w:?} is not minimal without {x}: {}",
                    show(&h)
                );
            }
            checked += 1;
        }
        assert!(checked > 300, "{model}: only {checked} witnesses checked");
    }
}

fn edn(text: &str) -> History {
    histories::parse_jepsen_edn(text).unwrap()
}

#[test]
fn explanations_name_the_operations_in_plain_words() {
    // Two processes both hold the mutex.
    let h = edn("{:type :invoke, :f :acquire, :process 0}\n{:type :ok, :f :acquire, :process 0}\n{:type :invoke, :f :acquire, :process 1}\n{:type :ok, :f :acquire, :process 1}\n");
    assert_eq!(checkers::suite::infer_model(&h), ModelKind::Mutex);
    let r = check(&h, &Options::new(ModelKind::Mutex)).unwrap();
    let a = r.keys[0].anomaly.as_ref().unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    assert!(
        a.explanation
            .contains("process 1's acquire of the mutex (line 3)")
            && a.explanation
                .contains("process 0's acquire of the mutex (line 1) completed before"),
        "{}",
        a.explanation
    );
    // A FIFO queue hands out the second element first; an unordered queue may.
    let q = "{:type :invoke, :f :enqueue, :value 1, :process 0}\n{:type :ok, :f :enqueue, :value 1, :process 0}\n{:type :invoke, :f :enqueue, :value 2, :process 0}\n{:type :ok, :f :enqueue, :value 2, :process 0}\n{:type :invoke, :f :dequeue, :value nil, :process 1}\n{:type :ok, :f :dequeue, :value 2, :process 1}\n";
    let h = edn(q);
    assert_eq!(checkers::suite::infer_model(&h), ModelKind::UnorderedQueue);
    let r = check(&h, &Options::new(ModelKind::FifoQueue)).unwrap();
    let a = r.keys[0].anomaly.as_ref().unwrap();
    assert!(
        a.explanation.contains("dequeue returned 2 (line 5)")
            && a.explanation
                .contains("enqueue of 1 (line 1) completed before"),
        "{}",
        a.explanation
    );
    assert_eq!(
        check(&h, &Options::new(ModelKind::UnorderedQueue))
            .unwrap()
            .valid,
        Validity::Valid
    );
    // A set read missing an acknowledged add.
    let h = edn("{:type :invoke, :f :add, :value 1, :process 0}\n{:type :ok, :f :add, :value 1, :process 0}\n{:type :invoke, :f :read, :process 1}\n{:type :ok, :f :read, :value #{}, :process 1}\n");
    let r = check(&h, &Options::new(ModelKind::Set)).unwrap();
    let a = r.keys[0].anomaly.as_ref().unwrap();
    assert!(
        a.explanation
            .contains("read of the set returned [] (line 3)"),
        "{}",
        a.explanation
    );
    // Knossos's multi-register, pretty-printed with a comment as its data files are.
    let h = edn("; x = 1 then a read of x = 2\n[{:type :invoke,\n  :f :txn,\n  :value [[:write :x 1]],\n  :process 0}\n {:type :ok, :f :txn, :value [[:write :x 1]], :process 0}\n {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1}\n {:type :ok, :f :txn, :value [[:read :x 2] [:read :y nil]], :process 1}]\n");
    assert_eq!(checkers::suite::infer_model(&h), ModelKind::MultiRegister);
    let r = check(&h, &Options::new(ModelKind::MultiRegister)).unwrap();
    let a = r.keys[0].anomaly.as_ref().unwrap();
    assert!(
        a.explanation
            .contains("txn [read x 2, read y nil] (line 7)"),
        "{}",
        a.explanation
    );
}

#[test]
fn the_budgets_give_unknown_with_a_reason() {
    // Forty concurrent enqueues: a FIFO queue's state is their order, so the search explores
    // orders.
    let mut text = String::new();
    for p in 0..40 {
        text.push_str(&format!(
            "{{:type :invoke, :f :enqueue, :value {p}, :process {p}}}\n"
        ));
    }
    for p in 0..40 {
        text.push_str(&format!(
            "{{:type :ok, :f :enqueue, :value {p}, :process {p}}}\n"
        ));
    }
    // A dequeue of an element nobody enqueued, after every order of the 40 enqueues.
    text.push_str("{:type :invoke, :f :dequeue, :process 99}\n{:type :ok, :f :dequeue, :value 99, :process 99}\n");
    let h = edn(&text);
    let mut o = Options::new(ModelKind::FifoQueue);
    o.timeout = Duration::from_millis(50);
    let r = check(&h, &o).unwrap();
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.keys[0]
            .reason
            .as_deref()
            .is_some_and(|s| s.contains("budget")),
        "{:?}",
        r.keys[0].reason
    );
}
