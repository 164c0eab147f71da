//! Explanations: each anomaly as its kind, the transactions involved (named T1, T2, … with
//! their history lines) and one sentence per dependency edge saying why it holds, e.g. "T2
//! read x = [1 2] without T1's 3, which came after it, so T2 precedes T1".

use super::findings::Finding;
use super::graph::{DepGraph, EdgeKind, EdgeList};
use super::versions::{KeyVersions, INITIAL};
use super::view::{KeyId, MopKind, MopValue, TxnHistory, TxnId, ValId};
use crate::{Anomaly, OpRef};
use histories::History;
use petgraph::graph::EdgeIndex;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One edge of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub from: TxnId,
    pub to: TxnId,
    pub kind: EdgeKind,
    pub key: KeyId,
    /// Holds only under an assumed order of versions (a completion), not for certain.
    pub assumed: bool,
}

/// The steps of a cycle of `g`; an edge not among `known` (sorted, deduplicated) is assumed.
pub fn steps(g: &DepGraph, cycle: &[EdgeIndex<u32>], known: Option<&EdgeList>) -> Vec<Step> {
    cycle
        .iter()
        .filter_map(|&e| {
            let (a, b) = g.edge_endpoints(e)?;
            let d = g[e];
            let (from, to) = (a.index() as TxnId, b.index() as TxnId);
            let assumed = known.is_some_and(|k| {
                k.edges
                    .binary_search_by_key(&(from, to, d.kind.bit()), |x| (x.0, x.1, x.2))
                    .is_err()
            });
            Some(Step {
                from,
                to,
                kind: d.kind,
                key: d.key,
                assumed,
            })
        })
        .collect()
}

/// T1, T2, … by position in `order`.
fn local_name(order: &[TxnId], t: TxnId) -> String {
    order
        .iter()
        .position(|&x| x == t)
        .map(|i| format!("T{}", i + 1))
        .unwrap_or_else(|| "T?".into())
}

pub struct Explainer<'a> {
    pub h: &'a History,
    pub th: &'a TxnHistory,
    pub versions: &'a [KeyVersions],
    by_key: HashMap<KeyId, usize>,
}

impl<'a> Explainer<'a> {
    pub fn new(h: &'a History, th: &'a TxnHistory, versions: &'a [KeyVersions]) -> Self {
        let by_key = versions
            .iter()
            .enumerate()
            .map(|(i, kv)| (kv.key, i))
            .collect();
        Explainer {
            h,
            th,
            versions,
            by_key,
        }
    }

    fn v(&self, v: ValId) -> String {
        self.th.value(v).to_string()
    }

    /// The transaction as named in an anomaly.
    pub fn op_ref(&self, t: TxnId, name: &str) -> OpRef {
        let txn = &self.th.txns[t as usize];
        let op = &self.h.ops[txn.op];
        let lines = match op.ret_line {
            Some(r) => format!("lines {}–{}", op.call_line, r),
            None => format!("line {}", op.call_line),
        };
        let value = if txn.status == histories::OpStatus::Ok {
            op.output.clone()
        } else {
            op.input.clone()
        };
        OpRef {
            op: op.id,
            process: op.process,
            f: op.f.clone(),
            key: None,
            value,
            status: op.status.as_str(),
            time: op.call_time,
            line: op.call_line,
            ret_line: op.ret_line,
            text: format!(
                "{name} = process {} ({lines}): {} ({})",
                op.process,
                self.th.mops_text(txn),
                op.status.as_str()
            ),
        }
    }

    /// The first read of `key` in `t`, as its text without the key (`[1 2]`, `5`, `nil`).
    fn read_text(&self, t: TxnId, key: KeyId) -> String {
        let txn = &self.th.txns[t as usize];
        txn.mops
            .iter()
            .find(|m| m.kind == MopKind::Read && m.key == key)
            .map(|m| match &m.value {
                MopValue::List(l) => self.th.list_text(l),
                MopValue::Reg(Some(v)) => self.v(*v),
                MopValue::Reg(None) => "nil".into(),
                _ => "?".into(),
            })
            .unwrap_or_else(|| "?".into())
    }

    fn first_write(&self, t: TxnId, key: KeyId) -> Option<ValId> {
        self.th.txns[t as usize]
            .mops
            .iter()
            .find_map(|m| match (&m.kind, &m.value) {
                (MopKind::Write | MopKind::Append, MopValue::Val(v)) if m.key == key => Some(*v),
                _ => None,
            })
    }

    /// A known pair of consecutive versions of `key` written by `a` then `b`.
    fn known_pair(&self, kv: &KeyVersions, a: TxnId, b: TxnId) -> Option<(u32, u32)> {
        for (q, vq) in kv.versions.iter().enumerate() {
            if vq.writer != a {
                continue;
            }
            for &p in &kv.succ[q] {
                if kv.versions[p as usize].writer == b {
                    return Some((q as u32, p));
                }
            }
        }
        None
    }

    /// One sentence saying why `s.from` precedes `s.to`.
    pub fn sentence(&self, s: &Step, name: &dyn Fn(TxnId) -> String) -> String {
        let (a, b) = (name(s.from), name(s.to));
        let th = self.th;
        let so = format!(", so {a} precedes {b}");
        let kv = self.by_key.get(&s.key).map(|&i| &self.versions[i]);
        match s.kind {
            EdgeKind::Process => format!(
                "{a} and {b} are consecutive transactions of process {}{so}",
                th.txns[s.from as usize].process
            ),
            EdgeKind::Realtime => {
                let ta = &self.h.ops[th.txns[s.from as usize].op];
                let tb = &self.h.ops[th.txns[s.to as usize].op];
                format!(
                    "{a} completed (line {}) before {b} was invoked (line {}){so}",
                    ta.ret_line.unwrap_or(ta.call_line),
                    tb.call_line
                )
            }
            EdgeKind::Ww => {
                let x = th.key(s.key);
                let (Some(kv), false) = (kv, s.assumed) else {
                    let va = th.txns[s.from as usize]
                        .final_write(s.key)
                        .map(|w| self.v(w.1));
                    let vb = self.first_write(s.to, s.key).map(|w| self.v(w));
                    return format!(
                        "assuming {x}'s versions are ordered with {a}'s {} before {b}'s {}{so}",
                        va.unwrap_or_default(),
                        vb.unwrap_or_default()
                    );
                };
                let Some((q, p)) = self.known_pair(kv, s.from, s.to) else {
                    return format!("{b} wrote {x} after {a}{so}");
                };
                let (va, vb) = (
                    self.v(kv.versions[q as usize].value),
                    self.v(kv.versions[p as usize].value),
                );
                if kv.list && p <= kv.observed {
                    format!("{x}'s longest read shows {a}'s {va} and then {b}'s {vb}{so}")
                } else if kv.list {
                    format!(
                        "no read of {x} shows {b}'s append of {vb}, so it came after {a}'s {va}, the last element any read shows{so}"
                    )
                } else {
                    format!("{b} read {x} = {va} ({a}'s write) and then wrote {x} = {vb}{so}")
                }
            }
            EdgeKind::Wr => {
                let x = th.key(s.key);
                let r = self.read_text(s.to, s.key);
                if kv.is_some_and(|kv| kv.list) {
                    let v = th.txns[s.from as usize]
                        .final_write(s.key)
                        .map(|w| self.v(w.1))
                        .unwrap_or_default();
                    format!("{b} read {x} = {r}, which shows {a}'s append of {v}{so}")
                } else {
                    format!("{b} read {x} = {r}, which {a} wrote{so}")
                }
            }
            EdgeKind::Rw => {
                let x = th.key(s.key);
                let r = self.read_text(s.from, s.key);
                let vb_id = self.first_write(s.to, s.key);
                let vb = vb_id.map(|w| self.v(w)).unwrap_or_default();
                if s.assumed {
                    return format!(
                        "{a} read {x} = {r}; assuming {b}'s {vb} is the next version of {x}, {a} did not see it{so}"
                    );
                }
                match kv {
                    Some(kv) if kv.list => format!(
                        "{a} read {x} = {r}, without {b}'s {vb}, which was appended after what {a} saw{so}"
                    ),
                    Some(kv) => {
                        let why = match vb_id.and_then(|v| kv.pos.get(&v)) {
                            Some(&p) if kv.succ[0].contains(&p) && r == "nil" => {
                                "every write follows the initial state".to_string()
                            }
                            Some(&p)
                                if kv.versions[p as usize].writer != INITIAL
                                    && self.read_text(s.to, s.key) == r =>
                            {
                                format!("{b} itself read {x} = {r} before writing")
                            }
                            _ => "a later version".to_string(),
                        };
                        format!(
                            "{a} read {x} = {r}, and {b}'s write of {x} = {vb} came after that version ({why}){so}"
                        )
                    }
                    None => format!("{a} read {x} before {b} wrote it{so}"),
                }
            }
        }
    }

    /// An anomaly for a cycle: kind, transactions, one sentence per edge.
    pub fn cycle(&self, kind: &str, meaning: &str, steps: &[Step], prefix: &str) -> Anomaly {
        let mut order: Vec<TxnId> = Vec::new();
        for s in steps {
            if !order.contains(&s.from) {
                order.push(s.from);
            }
        }
        let name = |t: TxnId| local_name(&order, t);
        let sentences: Vec<String> = steps.iter().map(|s| self.sentence(s, &name)).collect();
        let path: Vec<String> = steps
            .iter()
            .map(|s| name(s.from))
            .chain(steps.first().map(|s| name(s.from)))
            .collect();
        let explanation = format!(
            "{prefix}{kind}, {meaning}: {}; so {} precedes itself, which no order of transactions allows",
            sentences.join("; "),
            name(steps.first().map(|s| s.from).unwrap_or(0))
        );
        let edges: Vec<Value> = steps
            .iter()
            .zip(&sentences)
            .map(|(s, text)| {
                json!({
                    "from": name(s.from),
                    "to": name(s.to),
                    "type": s.kind.name(),
                    "key": (s.key != super::graph::NO_KEY).then(|| self.th.key(s.key)),
                    "assumed": s.assumed,
                    "explanation": text,
                })
            })
            .collect();
        Anomaly {
            kind: kind.to_string(),
            key: None,
            ops: order.iter().map(|&t| self.op_ref(t, &name(t))).collect(),
            explanation,
            details: json!({ "cycle": path.join(" → "), "edges": edges }),
        }
    }

    /// An anomaly for a non-cycle finding.
    pub fn finding(&self, f: &Finding) -> Anomaly {
        let order = f.txns();
        let name = |t: TxnId| local_name(&order, t);
        Anomaly {
            kind: f.kind().to_string(),
            key: Some(self.th.key(f.key()).to_string()),
            ops: order.iter().map(|&t| self.op_ref(t, &name(t))).collect(),
            explanation: f.explain(self.th, &name),
            details: Value::Null,
        }
    }
}
