//! Version inference for list-append keys (Elle's strongest rule): every read of a list is a
//! prefix of the key's one order of appends, so the longest read fixes the order of every
//! element it shows; an element no read shows came after all of them (its order among the other
//! unseen ones stays open). Also found here: duplicate elements, incompatible orders, aborted,
//! intermediate and garbage reads, dirty updates and internal inconsistency of list reads.

use super::findings::Finding;
use super::versions::KeyVersions;
use super::view::{KeyId, KeyType, MopKind, MopValue, TxnHistory, TxnId, ValId};
use histories::OpStatus;
use std::collections::{HashMap, HashSet};

/// What list inference learnt: the versions of every list key and the anomalies seen.
pub struct ListInference {
    pub versions: Vec<KeyVersions>,
    pub findings: Vec<Finding>,
}

/// Who appended each element of each list key: (transaction, whether it was that
/// transaction's last append to the key).
type AppendIndex = HashMap<(KeyId, ValId), (TxnId, bool)>;

fn append_index(th: &TxnHistory) -> Result<AppendIndex, String> {
    let mut idx: AppendIndex = HashMap::new();
    for (i, t) in th.txns.iter().enumerate() {
        for (j, m) in t.mops.iter().enumerate() {
            let (MopKind::Append, MopValue::Val(v)) = (m.kind, &m.value) else {
                continue;
            };
            let last = !t.mops[j + 1..]
                .iter()
                .any(|n| n.kind == MopKind::Append && n.key == m.key);
            if let Some((other, _)) = idx.insert((m.key, *v), (i as TxnId, last)) {
                let line = |t: TxnId| th.txns[t as usize].op;
                return Err(format!(
                    "element {} is appended to {} by two operations (operations {} and {}); list-append inference needs every appended element to be unique per key",
                    th.value(*v),
                    th.key(m.key),
                    line(other),
                    line(i as TxnId)
                ));
            }
        }
    }
    Ok(idx)
}

/// Which transactions are in the dependency graph: `ok` ones, and `info` ones some read
/// shows an element of (they committed).
pub fn mark_observed(th: &TxnHistory, in_graph: &mut [bool]) -> Result<(), String> {
    let idx = append_index(th)?;
    for t in &th.txns {
        if t.status != OpStatus::Ok {
            continue;
        }
        for m in &t.mops {
            if let MopValue::List(l) = &m.value {
                for v in l.iter() {
                    if let Some(&(w, _)) = idx.get(&(m.key, *v)) {
                        if th.txns[w as usize].status == OpStatus::Info {
                            in_graph[w as usize] = true;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn infer(th: &TxnHistory, in_graph: &[bool]) -> Result<ListInference, String> {
    let idx = append_index(th)?;
    let nkeys = th.keys.len();
    let mut findings = Vec::new();
    // The longest read of each key, checked for prefix-compatibility as reads come.
    let mut longest: Vec<Option<(TxnId, usize)>> = vec![None; nkeys];
    let list_of = |t: TxnId, j: usize| -> &[ValId] {
        match &th.txns[t as usize].mops[j].value {
            MopValue::List(l) => l,
            _ => &[],
        }
    };
    let mut incompatible_keys: HashSet<KeyId> = HashSet::new();
    for (i, t) in th.txns.iter().enumerate() {
        if t.status != OpStatus::Ok {
            continue;
        }
        let i = i as TxnId;
        let mut reported: HashSet<(KeyId, TxnId, &'static str)> = HashSet::new();
        for (j, m) in t.mops.iter().enumerate() {
            let MopValue::List(l) = &m.value else {
                continue;
            };
            let k = m.key as usize;
            // Duplicates within one read.
            let mut seen = HashSet::with_capacity(l.len());
            let mut dups: Vec<ValId> = l.iter().filter(|v| !seen.insert(**v)).copied().collect();
            dups.dedup();
            if !dups.is_empty() {
                findings.push(Finding::DuplicateElements {
                    key: m.key,
                    txn: i,
                    dups,
                });
            }
            // Aborted, garbage and intermediate reads.
            for (pos, v) in l.iter().enumerate() {
                match idx.get(&(m.key, *v)) {
                    None => {
                        if reported.insert((m.key, i, "garbage")) {
                            findings.push(Finding::GarbageRead {
                                key: m.key,
                                reader: i,
                                value: *v,
                            });
                        }
                    }
                    Some(&(w, last)) => {
                        if th.txns[w as usize].status == OpStatus::Fail
                            && reported.insert((m.key, w, "g1a"))
                        {
                            findings.push(Finding::AbortedRead {
                                key: m.key,
                                reader: i,
                                writer: w,
                                value: *v,
                            });
                        }
                        if pos + 1 == l.len() && !last && w != i {
                            findings.push(Finding::IntermediateRead {
                                key: m.key,
                                reader: i,
                                writer: w,
                                value: *v,
                            });
                        }
                    }
                }
            }
            // Prefix compatibility with the longest read so far.
            match longest[k] {
                None => longest[k] = Some((i, j)),
                Some((lt, lj)) => {
                    let lo = list_of(lt, lj);
                    let (short, long) = if l.len() <= lo.len() {
                        (&l[..], lo)
                    } else {
                        (lo, &l[..])
                    };
                    if long[..short.len()] != *short {
                        if incompatible_keys.insert(m.key) {
                            findings.push(Finding::IncompatibleOrder {
                                key: m.key,
                                a: lt,
                                a_mop: lj,
                                b: i,
                                b_mop: j,
                            });
                        }
                    } else if l.len() > lo.len() {
                        longest[k] = Some((i, j));
                    }
                }
            }
        }
        internal(th, i, &mut findings);
    }
    // Appends per key, in transaction then micro-op order.
    let mut appends: Vec<Vec<(TxnId, ValId)>> = vec![Vec::new(); nkeys];
    for (i, t) in th.txns.iter().enumerate() {
        if !in_graph[i] {
            continue;
        }
        for m in &t.mops {
            if let (MopKind::Append, MopValue::Val(v)) = (m.kind, &m.value) {
                appends[m.key as usize].push((i as TxnId, *v));
            }
        }
    }
    let mut versions = Vec::new();
    for k in 0..nkeys {
        if th.key_types[k] != KeyType::List {
            continue;
        }
        let key = k as KeyId;
        let mut kv = KeyVersions::new(key, true);
        let chain: Vec<ValId> = match longest[k] {
            Some((t, j)) => {
                let mut seen = HashSet::new();
                list_of(t, j)
                    .iter()
                    .copied()
                    .filter(|v| seen.insert(*v))
                    .collect()
            }
            None => Vec::new(),
        };
        // Dirty updates: a failed transaction's element followed by a committed one.
        let mut failed_before: Option<(TxnId, ValId)> = None;
        let mut prev = 0u32;
        for v in &chain {
            let Some(&(w, _)) = idx.get(&(key, *v)) else {
                continue;
            };
            match th.txns[w as usize].status {
                OpStatus::Fail => {
                    failed_before.get_or_insert((w, *v));
                }
                _ if in_graph[w as usize] => {
                    if let Some((f, fv)) = failed_before.take() {
                        findings.push(Finding::DirtyUpdate {
                            key,
                            failed: f,
                            failed_value: fv,
                            committed: w,
                            committed_value: *v,
                        });
                    }
                    let p = kv.push(w, *v);
                    kv.link(prev, p);
                    prev = p;
                }
                _ => {}
            }
        }
        let end = prev;
        kv.observed = end;
        let mut last_of_txn: HashMap<TxnId, u32> = HashMap::new();
        for &(w, v) in &appends[k] {
            if kv.pos.contains_key(&v) {
                last_of_txn.insert(w, kv.pos[&v]);
                continue;
            }
            let p = kv.push(w, v);
            kv.link(end, p);
            if let Some(&q) = last_of_txn.get(&w) {
                if q != end {
                    kv.link(q, p);
                }
            }
            last_of_txn.insert(w, p);
        }
        versions.push(kv);
    }
    // Readers: each committed read is of the version of its last element a graph
    // transaction appended.
    let mut by_key: HashMap<KeyId, usize> = HashMap::new();
    for (n, kv) in versions.iter().enumerate() {
        by_key.insert(kv.key, n);
    }
    for (i, t) in th.txns.iter().enumerate() {
        if t.status != OpStatus::Ok {
            continue;
        }
        for m in &t.mops {
            let MopValue::List(l) = &m.value else {
                continue;
            };
            let kv = &mut versions[by_key[&m.key]];
            if let Some(ver) = read_version(kv, l) {
                let r = &mut kv.readers[ver as usize];
                if r.last() != Some(&(i as TxnId)) {
                    r.push(i as TxnId);
                }
            }
        }
    }
    let lost = super::findings::lost_updates(th, |t, key| {
        let kv = &versions[*by_key.get(&key)?];
        th.txns[t as usize]
            .mops
            .iter()
            .find_map(|m| match &m.value {
                MopValue::List(l) if m.key == key => Some(
                    read_version(kv, l)
                        .map(|ver| (ver != 0).then(|| kv.versions[ver as usize].value)),
                ),
                _ => None,
            })?
    });
    findings.extend(lost);
    Ok(ListInference { versions, findings })
}

/// The version a list read saw: that of its last element appended by a graph transaction
/// (0 for none); `None` when that element is not in the key's order (an incompatible read).
fn read_version(kv: &KeyVersions, l: &[ValId]) -> Option<u32> {
    for v in l.iter().rev() {
        if let Some(&p) = kv.pos.get(v) {
            // Only elements of the observed prefix: a read never shows an unseen element.
            return Some(p);
        }
    }
    Some(0)
}

/// Internal consistency (Cerone et al.'s INT) of one committed transaction's list reads, and
/// future reads (a read showing an element the transaction appends later).
fn internal(th: &TxnHistory, i: TxnId, findings: &mut Vec<Finding>) {
    let t = &th.txns[i as usize];
    // key -> (known whole state?, the expected state or its known suffix)
    let mut state: HashMap<KeyId, (bool, Vec<ValId>)> = HashMap::new();
    for (j, m) in t.mops.iter().enumerate() {
        match (&m.kind, &m.value) {
            (MopKind::Append, MopValue::Val(v)) => {
                state.entry(m.key).or_insert((false, Vec::new())).1.push(*v);
            }
            (MopKind::Read, MopValue::List(l)) => {
                if let Some((whole, s)) = state.get(&m.key) {
                    let ok = if *whole {
                        **l == **s
                    } else {
                        l.len() >= s.len() && l[l.len() - s.len()..] == **s
                    };
                    if !ok {
                        let shown = th.list_text(s);
                        findings.push(Finding::Internal {
                            key: m.key,
                            txn: i,
                            mop: j,
                            expected: if *whole {
                                shown
                            } else {
                                format!("a list ending {shown}")
                            },
                        });
                    }
                }
                let later: HashSet<ValId> = t.mops[j + 1..]
                    .iter()
                    .filter(|n| n.kind == MopKind::Append && n.key == m.key)
                    .filter_map(|n| match n.value {
                        MopValue::Val(v) => Some(v),
                        _ => None,
                    })
                    .collect();
                if let Some(v) = l.iter().find(|v| later.contains(v)) {
                    findings.push(Finding::Internal {
                        key: m.key,
                        txn: i,
                        mop: j,
                        expected: format!(
                            "a list without {}, which it appends only later",
                            th.value(*v)
                        ),
                    });
                }
                state.insert(m.key, (true, l.to_vec()));
            }
            _ => {}
        }
    }
}
