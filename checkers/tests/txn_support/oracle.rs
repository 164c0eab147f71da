//! Brute-force oracles that decide isolation straight from the definitions, independent of the
//! checker's graphs: serializability by enumerating serial orders (with real-time or session
//! order for the strict and strong-session variants), snapshot isolation by enumerating commit
//! orders and each transaction's snapshot point (reads see the state after the first s
//! commits plus the transaction's own writes; no transaction committing between its snapshot
//! and its commit wrote a key it writes). `fail` transactions did not happen; `info` ones may
//! have (at any place) or not, and their reads are unknown.

use histories::{History, OpStatus, NEVER};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct OTxn {
    pub ok: bool,
    pub process: u64,
    pub call: u64,
    pub ret: u64,
    pub mops: Vec<(String, String, Value)>,
}

pub fn txns(h: &History) -> Vec<OTxn> {
    h.ops
        .iter()
        .filter(|o| o.status != OpStatus::Fail)
        .map(|o| {
            let src = if o.status == OpStatus::Ok {
                &o.output
            } else {
                &o.input
            };
            let mops = src
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|m| {
                            (
                                m[0].as_str().unwrap_or("").to_string(),
                                m[1].as_str().unwrap_or("").to_string(),
                                m[2].clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            OTxn {
                ok: o.status == OpStatus::Ok,
                process: o.process,
                call: o.call,
                ret: o.ret,
                mops,
            }
        })
        .collect()
}

type St = BTreeMap<String, Value>;

fn current(s: &St, k: &str, list: bool) -> Value {
    s.get(k).cloned().unwrap_or(if list {
        Value::Array(Vec::new())
    } else {
        Value::Null
    })
}

/// Runs `t` on `snapshot` (its reads) and `latest` (where its writes go); `None` if a read
/// of a committed transaction disagrees. Returns the new latest state.
fn run(t: &OTxn, snapshot: &St, latest: &St) -> Option<St> {
    let mut view = snapshot.clone();
    let mut out = latest.clone();
    for (f, k, v) in &t.mops {
        match f.as_str() {
            "r" => {
                if t.ok {
                    let list = v.is_array();
                    let want = if v.is_null() && is_list_key(&view, k) {
                        Value::Array(Vec::new())
                    } else {
                        v.clone()
                    };
                    if current(&view, k, list) != want {
                        return None;
                    }
                }
            }
            "append" => {
                for s in [&mut view, &mut out] {
                    let mut l = current(s, k, true);
                    if let Value::Array(a) = &mut l {
                        a.push(v.clone());
                    }
                    s.insert(k.clone(), l);
                }
            }
            _ => {
                view.insert(k.clone(), v.clone());
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Some(out)
}

fn is_list_key(s: &St, k: &str) -> bool {
    s.get(k).is_some_and(|v| v.is_array())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Order {
    None,
    Session,
    Realtime,
}

/// Whether some serial order of the committed transactions (and any subset of the info ones)
/// explains every read; `order` adds session or real-time constraints.
pub fn serializable(ts: &[OTxn], order: Order, list_keys: &[String]) -> bool {
    let mut init = St::new();
    for k in list_keys {
        init.insert(k.clone(), Value::Array(Vec::new()));
    }
    let mut placed = vec![false; ts.len()];
    fn ready(ts: &[OTxn], placed: &[bool], i: usize, order: Order) -> bool {
        (0..ts.len()).all(|j| {
            if placed[j] || j == i || !ts[j].ok {
                return true;
            }
            match order {
                Order::None => true,
                Order::Session => !(ts[j].process == ts[i].process && ts[j].call < ts[i].call),
                Order::Realtime => ts[j].ret == NEVER || ts[j].ret > ts[i].call,
            }
        })
    }
    fn dfs(ts: &[OTxn], placed: &mut Vec<bool>, s: &St, order: Order) -> bool {
        if ts.iter().zip(placed.iter()).all(|(t, &p)| p || !t.ok) {
            return true;
        }
        for i in 0..ts.len() {
            if placed[i] || !ready(ts, placed, i, order) {
                continue;
            }
            if let Some(s2) = run(&ts[i], s, s) {
                placed[i] = true;
                if dfs(ts, placed, &s2, order) {
                    return true;
                }
                placed[i] = false;
            }
        }
        false
    }
    dfs(ts, &mut placed, &init, order)
}

/// Whether some commit order and snapshot points satisfy snapshot isolation; `session`
/// makes each transaction's snapshot include its process's earlier transactions.
pub fn snapshot_isolation(ts: &[OTxn], session: bool, list_keys: &[String]) -> bool {
    let mut init = St::new();
    for k in list_keys {
        init.insert(k.clone(), Value::Array(Vec::new()));
    }
    let writes: Vec<Vec<String>> = ts
        .iter()
        .map(|t| {
            t.mops
                .iter()
                .filter(|m| m.0 != "r")
                .map(|m| m.1.clone())
                .collect()
        })
        .collect();
    struct Search<'a> {
        ts: &'a [OTxn],
        writes: Vec<Vec<String>>,
        session: bool,
        /// placed transactions in commit order
        order: Vec<usize>,
        /// states[i]: the state after the first i commits
        states: Vec<St>,
        pos: Vec<Option<usize>>,
    }
    impl Search<'_> {
        fn dfs(&mut self) -> bool {
            if self
                .ts
                .iter()
                .enumerate()
                .all(|(i, t)| self.pos[i].is_some() || !t.ok)
            {
                return true;
            }
            let p = self.order.len();
            for i in 0..self.ts.len() {
                if self.pos[i].is_some() {
                    continue;
                }
                // Session: earlier committed transactions of the process committed already;
                // the snapshot must include them.
                let mut min_s = 0;
                if self.session {
                    let mut blocked = false;
                    for j in 0..self.ts.len() {
                        if j != i
                            && self.ts[j].process == self.ts[i].process
                            && self.ts[j].call < self.ts[i].call
                        {
                            match self.pos[j] {
                                Some(q) => min_s = min_s.max(q + 1),
                                None if self.ts[j].ok => blocked = true,
                                None => {}
                            }
                        }
                    }
                    if blocked {
                        continue;
                    }
                }
                // Among snapshots with the same state the latest has the fewest conflicts.
                let mut tried: Vec<&St> = Vec::new();
                let states = self.states.clone();
                for s in (min_s..=p).rev() {
                    if tried.contains(&&states[s]) {
                        continue;
                    }
                    tried.push(&states[s]);
                    // First committer wins: nobody committed in [s, p) wrote what i writes.
                    let conflict = self.order[s..]
                        .iter()
                        .any(|&u| self.writes[u].iter().any(|k| self.writes[i].contains(k)));
                    if conflict {
                        continue;
                    }
                    let Some(next) = run(&self.ts[i], &states[s], &states[p]) else {
                        continue;
                    };
                    self.order.push(i);
                    self.states.push(next);
                    self.pos[i] = Some(p);
                    if self.dfs() {
                        return true;
                    }
                    self.pos[i] = None;
                    self.states.pop();
                    self.order.pop();
                }
            }
            false
        }
    }
    let mut s = Search {
        ts,
        writes,
        session,
        order: Vec::new(),
        states: vec![init],
        pos: vec![None; ts.len()],
    };
    s.dfs()
}
