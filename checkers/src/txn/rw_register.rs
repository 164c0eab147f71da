//! Version inference for rw-register keys. With unique written values a read names the write
//! it saw; what is known of the order of writes is weaker than for lists: the initial state
//! comes first, and a transaction that read version a and then wrote b puts a before b. The
//! rest of the order is left open for the completion search. Also found here: aborted,
//! intermediate and garbage reads, internal inconsistency and lost updates.

use super::findings::Finding;
use super::versions::KeyVersions;
use super::view::{KeyId, KeyType, MopKind, MopValue, TxnHistory, TxnId, ValId};
use histories::OpStatus;
use std::collections::HashMap;

/// Who wrote each value of each register key: (transaction, whether it was that
/// transaction's final write of the key).
type WriteIndex = HashMap<(KeyId, ValId), (TxnId, bool)>;

fn write_index(th: &TxnHistory) -> Result<WriteIndex, String> {
    let mut idx: WriteIndex = HashMap::new();
    for (i, t) in th.txns.iter().enumerate() {
        for (j, m) in t.mops.iter().enumerate() {
            let (MopKind::Write, MopValue::Val(v)) = (m.kind, &m.value) else {
                continue;
            };
            let last = !t.mops[j + 1..]
                .iter()
                .any(|n| n.kind == MopKind::Write && n.key == m.key);
            if let Some((other, _)) = idx.insert((m.key, *v), (i as TxnId, last)) {
                if other != i as TxnId {
                    return Err(format!(
                        "value {} is written to {} by two operations (operations {} and {}); rw-register inference needs every written value to be unique per key",
                        th.value(*v),
                        th.key(m.key),
                        th.txns[other as usize].op,
                        t.op
                    ));
                }
            }
        }
    }
    Ok(idx)
}

/// Marks `info` transactions whose writes some committed read saw.
pub fn mark_observed(th: &TxnHistory, in_graph: &mut [bool]) -> Result<(), String> {
    let idx = write_index(th)?;
    for t in th.txns.iter().filter(|t| t.status == OpStatus::Ok) {
        for m in &t.mops {
            if let (MopKind::Read, MopValue::Reg(Some(v))) = (m.kind, &m.value) {
                if let Some(&(w, _)) = idx.get(&(m.key, *v)) {
                    if th.txns[w as usize].status == OpStatus::Info {
                        in_graph[w as usize] = true;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The external reads of each committed transaction: (key, micro-op, value read) for reads
/// of a key before the transaction's own first write of it.
fn external_reads(th: &TxnHistory, i: usize) -> Vec<(KeyId, usize, Option<ValId>)> {
    let t = &th.txns[i];
    let mut out = Vec::new();
    for (j, m) in t.mops.iter().enumerate() {
        if let (MopKind::Read, MopValue::Reg(v)) = (m.kind, &m.value) {
            let written_before = t.mops[..j]
                .iter()
                .any(|n| n.kind == MopKind::Write && n.key == m.key);
            let read_before = out.iter().any(|(k, _, _)| *k == m.key);
            if !written_before && !read_before {
                out.push((m.key, j, *v));
            }
        }
    }
    out
}

pub struct RegisterInference {
    pub versions: Vec<KeyVersions>,
    pub findings: Vec<Finding>,
}

pub fn infer(th: &TxnHistory, in_graph: &[bool]) -> Result<RegisterInference, String> {
    let idx = write_index(th)?;
    let mut findings = Vec::new();
    let mut versions: Vec<KeyVersions> = Vec::new();
    let mut by_key: HashMap<KeyId, usize> = HashMap::new();
    for (k, ty) in th.key_types.iter().enumerate() {
        if *ty == KeyType::Register {
            by_key.insert(k as KeyId, versions.len());
            versions.push(KeyVersions::new(k as KeyId, false));
        }
    }
    // One version per graph transaction's final write of a key.
    for (i, t) in th.txns.iter().enumerate() {
        if !in_graph[i] {
            continue;
        }
        for m in &t.mops {
            if let (MopKind::Write, MopValue::Val(v)) = (m.kind, &m.value) {
                if idx.get(&(m.key, *v)).is_some_and(|x| x.1) {
                    versions[by_key[&m.key]].push(i as TxnId, *v);
                }
            }
        }
    }
    // Reads: the version each external read saw, or the anomaly it shows.
    let mut has_pred: Vec<Vec<bool>> = versions
        .iter()
        .map(|kv| vec![false; kv.versions.len()])
        .collect();
    for (i, t) in th.txns.iter().enumerate() {
        if t.status != OpStatus::Ok {
            continue;
        }
        let reader = i as TxnId;
        for (key, _, v) in external_reads(th, i) {
            let n = by_key[&key];
            let ver = match v {
                None => Some(0),
                Some(v) => match idx.get(&(key, v)) {
                    None => {
                        findings.push(Finding::GarbageRead {
                            key,
                            reader,
                            value: v,
                        });
                        None
                    }
                    Some(&(w, last)) => {
                        if th.txns[w as usize].status == OpStatus::Fail {
                            findings.push(Finding::AbortedRead {
                                key,
                                reader,
                                writer: w,
                                value: v,
                            });
                            None
                        } else if w == reader {
                            findings.push(Finding::Internal {
                                key,
                                txn: reader,
                                mop: th.txns[i]
                                    .mops
                                    .iter()
                                    .position(|m| m.kind == MopKind::Read && m.key == key)
                                    .unwrap_or(0),
                                expected: format!(
                                    "a value other than {}, which it writes only later",
                                    th.value(v)
                                ),
                            });
                            None
                        } else if !last {
                            findings.push(Finding::IntermediateRead {
                                key,
                                reader,
                                writer: w,
                                value: v,
                            });
                            None
                        } else {
                            versions[n].pos.get(&v).copied()
                        }
                    }
                },
            };
            let Some(ver) = ver else { continue };
            versions[n].readers[ver as usize].push(reader);
            // Writes follow reads: a read version precedes this transaction's own.
            if let Some((_, own)) = th.txns[i].final_write(key) {
                if let Some(&b) = versions[n].pos.get(&own) {
                    if b != ver {
                        versions[n].link(ver, b);
                        has_pred[n][b as usize] = true;
                    }
                }
            }
        }
        internal(th, reader, &mut findings);
    }
    for (n, kv) in versions.iter_mut().enumerate() {
        for (b, &known) in has_pred[n].iter().enumerate().skip(1) {
            if !known {
                kv.link(0, b as u32);
            }
        }
    }
    let lost = super::findings::lost_updates(th, |t, key| {
        let kv = &versions[*by_key.get(&key)?];
        external_reads(th, t as usize)
            .into_iter()
            .find(|(k, _, _)| *k == key)
            .and_then(|(_, _, v)| match v {
                None => Some(None),
                Some(v) => kv.pos.contains_key(&v).then_some(Some(v)),
            })
    });
    findings.extend(lost);
    Ok(RegisterInference { versions, findings })
}

/// Internal consistency of one committed transaction's register reads: a read after the
/// transaction's own write sees that write; a second read sees what the first saw.
fn internal(th: &TxnHistory, i: TxnId, findings: &mut Vec<Finding>) {
    let t = &th.txns[i as usize];
    let mut state: HashMap<KeyId, Option<ValId>> = HashMap::new();
    for (j, m) in t.mops.iter().enumerate() {
        if th.key_types[m.key as usize] != KeyType::Register {
            continue;
        }
        match (&m.kind, &m.value) {
            (MopKind::Write, MopValue::Val(v)) => {
                state.insert(m.key, Some(*v));
            }
            (MopKind::Read, MopValue::Reg(v)) => {
                if let Some(s) = state.get(&m.key) {
                    if s != v {
                        findings.push(Finding::Internal {
                            key: m.key,
                            txn: i,
                            mop: j,
                            expected: match s {
                                Some(x) => th.value(*x).to_string(),
                                None => "nil".to_string(),
                            },
                        });
                    }
                }
                state.insert(m.key, *v);
            }
            _ => {}
        }
    }
}
