//! Anomalies that are not cycles: seen in a single read, a single transaction or a single key
//! (aborted and intermediate reads, dirty updates, internal inconsistency, duplicate elements,
//! incompatible orders, garbage reads, lost updates), each with the sentence that explains it.

use super::view::{KeyId, TxnHistory, TxnId, ValId};

#[derive(Debug, Clone)]
pub enum Finding {
    /// G1a: `reader` saw `value`, written by `writer`, which failed.
    AbortedRead {
        key: KeyId,
        reader: TxnId,
        writer: TxnId,
        value: ValId,
    },
    /// G1b: `reader` saw `value`, which `writer` later overwrote within itself.
    IntermediateRead {
        key: KeyId,
        reader: TxnId,
        writer: TxnId,
        value: ValId,
    },
    /// A committed write installed on top of a failed transaction's state.
    DirtyUpdate {
        key: KeyId,
        failed: TxnId,
        failed_value: ValId,
        committed: TxnId,
        committed_value: ValId,
    },
    /// A read inconsistent with the transaction's own earlier reads and writes.
    Internal {
        key: KeyId,
        txn: TxnId,
        mop: usize,
        expected: String,
    },
    /// A read listing an element more than once.
    DuplicateElements {
        key: KeyId,
        txn: TxnId,
        dups: Vec<ValId>,
    },
    /// Two reads of a list neither of which is a prefix of the other.
    IncompatibleOrder {
        key: KeyId,
        a: TxnId,
        a_mop: usize,
        b: TxnId,
        b_mop: usize,
    },
    /// A read of a value no transaction wrote.
    GarbageRead {
        key: KeyId,
        reader: TxnId,
        value: ValId,
    },
    /// Committed transactions that read the same version of `key` and each wrote it.
    LostUpdate {
        key: KeyId,
        read: Option<ValId>,
        txns: Vec<TxnId>,
    },
}

impl Finding {
    /// The anomaly's name, as Elle and Adya call it.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::AbortedRead { .. } => "G1a",
            Finding::IntermediateRead { .. } => "G1b",
            Finding::DirtyUpdate { .. } => "dirty-update",
            Finding::Internal { .. } => "internal",
            Finding::DuplicateElements { .. } => "duplicate-elements",
            Finding::IncompatibleOrder { .. } => "incompatible-order",
            Finding::GarbageRead { .. } => "garbage-read",
            Finding::LostUpdate { .. } => "lost-update",
        }
    }

    pub fn key(&self) -> KeyId {
        match self {
            Finding::AbortedRead { key, .. }
            | Finding::IntermediateRead { key, .. }
            | Finding::DirtyUpdate { key, .. }
            | Finding::Internal { key, .. }
            | Finding::DuplicateElements { key, .. }
            | Finding::IncompatibleOrder { key, .. }
            | Finding::GarbageRead { key, .. }
            | Finding::LostUpdate { key, .. } => *key,
        }
    }

    /// The transactions involved, in the order the explanation names them (T1, T2, …).
    pub fn txns(&self) -> Vec<TxnId> {
        match self {
            Finding::AbortedRead { reader, writer, .. }
            | Finding::IntermediateRead { reader, writer, .. } => vec![*writer, *reader],
            Finding::DirtyUpdate {
                failed, committed, ..
            } => vec![*failed, *committed],
            Finding::Internal { txn, .. } | Finding::DuplicateElements { txn, .. } => vec![*txn],
            Finding::IncompatibleOrder { a, b, .. } => vec![*a, *b],
            Finding::GarbageRead { reader, .. } => vec![*reader],
            Finding::LostUpdate { txns, .. } => txns.clone(),
        }
    }

    /// One sentence, naming transactions by `name`.
    pub fn explain(&self, th: &TxnHistory, name: &dyn Fn(TxnId) -> String) -> String {
        let v = |x: &ValId| th.value(*x).to_string();
        match self {
            Finding::AbortedRead {
                key,
                reader,
                writer,
                value,
            } => format!(
                "{} read {} of {}, written by {}, which failed: an aborted read",
                name(*reader),
                v(value),
                th.key(*key),
                name(*writer)
            ),
            Finding::IntermediateRead {
                key,
                reader,
                writer,
                value,
            } => format!(
                "{} read {} of {}, which {} wrote and then overwrote within the same transaction: an intermediate read",
                name(*reader),
                v(value),
                th.key(*key),
                name(*writer)
            ),
            Finding::DirtyUpdate {
                key,
                failed,
                failed_value,
                committed,
                committed_value,
            } => format!(
                "{} failed, yet its {} of {} stayed in the list and {}'s {} was appended after it: a committed write built on aborted state",
                name(*failed),
                v(failed_value),
                th.key(*key),
                name(*committed),
                v(committed_value)
            ),
            Finding::Internal {
                key,
                txn,
                mop,
                expected,
            } => {
                let t = &th.txns[*txn as usize];
                format!(
                    "{}'s micro-op {} ({}) disagrees with its own earlier reads and writes of {}, which imply {}",
                    name(*txn),
                    mop + 1,
                    th.mop_text(&t.mops[*mop]),
                    th.key(*key),
                    expected
                )
            }
            Finding::DuplicateElements { key, txn, dups } => format!(
                "{} read {} with {} more than once, though every element is appended once",
                name(*txn),
                th.key(*key),
                dups.iter().map(v).collect::<Vec<_>>().join(", ")
            ),
            Finding::IncompatibleOrder {
                key,
                a,
                a_mop,
                b,
                b_mop,
            } => format!(
                "{} read {} = {} and {} read {} = {}; neither is a prefix of the other, so no single order of appends explains both",
                name(*a),
                th.key(*key),
                th.mop_text(&th.txns[*a as usize].mops[*a_mop]).trim_start_matches(&format!("r {} ", th.key(*key))),
                name(*b),
                th.key(*key),
                th.mop_text(&th.txns[*b as usize].mops[*b_mop]).trim_start_matches(&format!("r {} ", th.key(*key))),
            ),
            Finding::GarbageRead { key, reader, value } => format!(
                "{} read {} of {}, a value no transaction wrote",
                name(*reader),
                v(value),
                th.key(*key)
            ),
            Finding::LostUpdate { key, read, txns } => format!(
                "{} all read {} = {} and each wrote {}, so all but one of their updates was lost",
                txns.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", "),
                th.key(*key),
                read.map(|x| v(&x)).unwrap_or_else(|| "its initial state".into()),
                th.key(*key)
            ),
        }
    }
}

/// Finds lost updates: committed transactions grouped by the version they read of a key they
/// also wrote. `first_read(txn, key)` is the version a transaction's first read of the key
/// saw, as the value installing it (`Some(None)` = the initial state), or `None` when unknown.
pub fn lost_updates(
    th: &TxnHistory,
    first_read: impl Fn(TxnId, KeyId) -> Option<Option<ValId>>,
) -> Vec<Finding> {
    use std::collections::HashMap;
    let mut groups: HashMap<(KeyId, Option<ValId>), Vec<TxnId>> = HashMap::new();
    for (i, t) in th.txns.iter().enumerate() {
        if t.status != histories::OpStatus::Ok {
            continue;
        }
        let mut seen: Vec<KeyId> = Vec::new();
        for (j, m) in t.mops.iter().enumerate() {
            if m.kind == super::view::MopKind::Read || seen.contains(&m.key) {
                continue;
            }
            seen.push(m.key);
            // Only a read before this first write counts.
            let read_before = t.mops[..j]
                .iter()
                .any(|r| r.kind == super::view::MopKind::Read && r.key == m.key);
            if !read_before {
                continue;
            }
            if let Some(v) = first_read(i as TxnId, m.key) {
                groups.entry((m.key, v)).or_default().push(i as TxnId);
            }
        }
    }
    let mut out: Vec<Finding> = groups
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|((key, read), txns)| Finding::LostUpdate { key, read, txns })
        .collect();
    out.sort_by_key(|f| f.txns());
    out
}
