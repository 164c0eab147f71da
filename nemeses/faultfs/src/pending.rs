//! A file's unsynced changes: the writes and size changes made since its last fsync, in the order
//! they were made, and the torn prefix of them that a crash may keep.

/// One unsynced change to a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// `data` written at `offset`.
    Write { offset: u64, data: Vec<u8> },
    /// The file truncated or extended to this length.
    SetLen(u64),
}

impl Pending {
    /// Bytes of data this change carries (a size change carries none).
    pub fn bytes(&self) -> u64 {
        match self {
            Pending::Write { data, .. } => data.len() as u64,
            Pending::SetLen(_) => 0,
        }
    }
}

/// Total data bytes of `ops`.
pub fn total_bytes(ops: &[Pending]) -> u64 {
    ops.iter().map(Pending::bytes).sum()
}

/// The first `keep` data bytes of `ops`, in order: every write that ends at or before byte
/// `keep` of the sequence, then the head of the write that straddles it. A size change is kept
/// when some byte after it is kept. `keep == 0` keeps nothing; `keep >= total_bytes(ops)` keeps
/// everything.
pub fn prefix(ops: &[Pending], keep: u64) -> Vec<Pending> {
    if keep == 0 {
        return Vec::new();
    }
    if keep >= total_bytes(ops) {
        return ops.to_vec();
    }
    let mut out = Vec::new();
    let mut left = keep;
    for op in ops {
        match op {
            Pending::SetLen(_) if left > 0 => out.push(op.clone()),
            Pending::SetLen(_) => return out,
            Pending::Write { offset, data } => {
                let n = data.len() as u64;
                if left >= n {
                    out.push(op.clone());
                    left -= n;
                } else {
                    if left > 0 {
                        out.push(Pending::Write {
                            offset: *offset,
                            data: data[..left as usize].to_vec(),
                        });
                    }
                    return out;
                }
            }
        }
    }
    out
}

/// Applies `ops` to an in-memory copy of a file's content.
pub fn apply(content: &mut Vec<u8>, ops: &[Pending]) {
    for op in ops {
        match op {
            Pending::Write { offset, data } => {
                let end = *offset as usize + data.len();
                if content.len() < end {
                    content.resize(end, 0);
                }
                content[*offset as usize..end].copy_from_slice(data);
            }
            Pending::SetLen(len) => content.resize(*len as usize, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(offset: u64, s: &str) -> Pending {
        Pending::Write {
            offset,
            data: s.as_bytes().to_vec(),
        }
    }

    #[test]
    fn prefix_cuts_inside_the_straddling_write_and_keeps_order() {
        let ops = vec![w(0, "abc"), Pending::SetLen(10), w(3, "defg")];
        assert_eq!(total_bytes(&ops), 7);
        assert_eq!(prefix(&ops, 0), vec![]);
        assert_eq!(prefix(&ops, 2), vec![w(0, "ab")]);
        assert_eq!(prefix(&ops, 3), vec![w(0, "abc")]);
        let only_sizes = vec![Pending::SetLen(1)];
        assert_eq!(prefix(&only_sizes, 0), vec![]);
        assert_eq!(
            prefix(&ops, 5),
            vec![w(0, "abc"), Pending::SetLen(10), w(3, "de")]
        );
        assert_eq!(prefix(&ops, 7), ops);
        assert_eq!(prefix(&ops, 100), ops);
    }

    #[test]
    fn every_prefix_applied_is_a_prefix_of_the_appended_stream() {
        // Appends only (a log): whatever is kept is a prefix of the full content.
        let ops = vec![w(0, "hello "), w(6, "torn "), w(11, "world")];
        let mut full = Vec::new();
        apply(&mut full, &ops);
        for keep in 0..=total_bytes(&ops) {
            let mut c = Vec::new();
            apply(&mut c, &prefix(&ops, keep));
            assert_eq!(c.len() as u64, keep);
            assert_eq!(&full[..c.len()], &c[..]);
        }
    }
}
