//! The porcupine-kv model (get / put / append on strings) against a brute-force oracle, with
//! pieces that are sometimes unique and sometimes ambiguous ("x", "y", "xy"), so that the
//! search's prefix pruning is exercised where it is easiest to get wrong.

mod support;

use checkers::linear::{check, ModelKind, Options};
use checkers::Validity;
use histories::{History, OpStatus, Operation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::oracle::{history, idle_and_busy, invocation, linearizable};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn oracle(h: &History) -> bool {
    linearizable(h, "get", String::new(), |state: &String, op| {
        match op.f.as_str() {
            "get" => (s(&op.output) == *state).then(|| state.clone()),
            "put" => Some(s(&op.input)),
            _ => Some(format!("{state}{}", s(&op.input))),
        }
    })
}

fn generate(rng: &mut StdRng, ambiguous: bool, anomalies: bool) -> History {
    let procs = rng.gen_range(1..=3u64);
    let total = rng.gen_range(1..=8usize);
    let mut state = String::new();
    let mut pending: Vec<Option<(usize, bool, String)>> = vec![None; procs as usize];
    let mut ops: Vec<Operation> = Vec::new();
    let (mut pos, mut started, mut fresh) = (0u64, 0, 0);
    let pieces = ["x", "y", "xy"];
    loop {
        let (idle, busy) = idle_and_busy(&pending);
        if busy.is_empty() && started >= total {
            break;
        }
        match rng.gen_range(0..3) {
            0 if started < total && !idle.is_empty() => {
                let p = idle[rng.gen_range(0..idle.len())];
                let f = ["get", "put", "append", "append"][rng.gen_range(0..4)];
                let input = if f == "get" {
                    Value::Null
                } else if ambiguous {
                    json!(pieces[rng.gen_range(0..3)])
                } else {
                    fresh += 1;
                    json!(format!("<{fresh}>"))
                };
                ops.push(Operation {
                    key: Some("k".into()),
                    ..invocation(ops.len(), p as u64, f, input, pos)
                });
                pending[p] = Some((ops.len() - 1, false, String::new()));
                pos += 1;
                started += 1;
            }
            1 if !busy.is_empty() => {
                let p = busy[rng.gen_range(0..busy.len())];
                let (id, applied, _) = pending[p].clone().unwrap();
                if applied {
                    continue;
                }
                let op = &ops[id];
                let res = match op.f.as_str() {
                    "get" => state.clone(),
                    "put" => {
                        state = s(&op.input);
                        String::new()
                    }
                    _ => {
                        state.push_str(&s(&op.input));
                        String::new()
                    }
                };
                pending[p] = Some((id, true, res));
            }
            _ if !busy.is_empty() => {
                let p = busy[rng.gen_range(0..busy.len())];
                let (id, applied, res) = pending[p].take().unwrap();
                let op = &mut ops[id];
                let r = rng.gen_range(0..10);
                if !applied || r < 2 {
                    op.status = if !applied && r < 5 {
                        OpStatus::Fail
                    } else {
                        OpStatus::Info
                    };
                    if !applied && op.status == OpStatus::Fail {
                        op.ret = pos;
                    }
                } else {
                    op.status = OpStatus::Ok;
                    op.ret = pos;
                    if op.f == "get" {
                        op.output = json!(res);
                    }
                }
                if op.status == OpStatus::Info {
                    // keep the process model simple: a fresh process id for the next op
                    op.process += 100 * (id as u64 + 1);
                } else {
                    op.ret_time = Some(pos);
                    op.ret_line = Some(pos as usize + 1);
                }
                pos += 1;
            }
            _ => {}
        }
    }
    let gets: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].f == "get" && ops[i].status == OpStatus::Ok)
        .collect();
    if anomalies && !ops.is_empty() {
        let i = if !gets.is_empty() && rng.gen_bool(0.8) {
            gets[rng.gen_range(0..gets.len())]
        } else {
            rng.gen_range(0..ops.len())
        };
        if ops[i].f == "get" && ops[i].status == OpStatus::Ok {
            let mut v = s(&ops[i].output);
            match rng.gen_range(0..4) {
                0 => v.push('x'),
                1 if v.is_empty() => v.push('y'),
                1 => v = v.chars().rev().collect(),
                _ => {
                    v.pop();
                }
            }
            ops[i].output = json!(v);
        } else if ops[i].status == OpStatus::Info && ops[i].f != "get" {
            ops[i].status = OpStatus::Ok;
            ops[i].ret = pos;
            ops[i].ret_line = Some(pos as usize + 1);
        }
    }
    history(ops, pos)
}

#[test]
fn porcupine_kv_search_agrees_with_brute_force() {
    let mut rng = StdRng::seed_from_u64(0x57);
    let mut counts = [0usize; 2];
    for n in 0..10_000 {
        let h = generate(&mut rng, n % 2 == 0, n % 5 != 0);
        let expect = oracle(&h);
        counts[expect as usize] += 1;
        let got = check(&h, &Options::new(ModelKind::PorcupineKv))
            .unwrap()
            .valid;
        assert_eq!(
            got,
            if expect {
                Validity::Valid
            } else {
                Validity::Invalid
            },
            "history {n}: {:#?}",
            h.ops
        );
    }
    assert!(
        counts[0] > 1000 && counts[1] > 1000,
        "verdict mix {counts:?}"
    );
}
