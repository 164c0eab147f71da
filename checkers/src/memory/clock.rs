//! Vector clocks over chains: `a` reaches `b` in a DAG whose chains are totally ordered iff
//! `b`'s clock has seen `a`'s position in `a`'s chain. One clock per node, one entry per chain,
//! so reachability costs O(1) after O((n + edges) · chains) work, with no transitive closure.

use super::{Memory, Node};

/// Clocks of every node: `vc[n][c]` = how many nodes of chain `c` reach `n` (itself included).
#[derive(Debug, Clone, Default)]
pub struct Clocks {
    pub width: usize,
    pub vc: Vec<u32>,
}

impl Clocks {
    pub fn row(&self, n: Node) -> &[u32] {
        let s = n as usize * self.width;
        &self.vc[s..s + self.width]
    }

    /// Whether `a` reaches `b` (reflexive).
    #[inline]
    pub fn reaches(&self, m: &Memory, a: Node, b: Node) -> bool {
        let na = &m.nodes[a as usize];
        self.vc[b as usize * self.width + na.chain as usize] > na.pos
    }

    /// Whether `a` strictly precedes `b`.
    #[inline]
    pub fn before(&self, m: &Memory, a: Node, b: Node) -> bool {
        a != b && self.reaches(m, a, b)
    }

    /// How many nodes of chain `c` reach `n`.
    #[inline]
    pub fn seen(&self, n: Node, c: u32) -> u32 {
        self.vc[n as usize * self.width + c as usize]
    }
}

/// The first index in `0..len` at which `pred` holds, for a predicate that is false and then
/// true along the range (`len` when it never holds), searched outward from `hint` by galloping:
/// O(log d) probes for an answer d places from the hint, where a binary search pays O(log len)
/// probes scattered over the whole range (each a cache miss on a long history).
pub fn gallop(len: usize, hint: usize, pred: impl Fn(usize) -> bool) -> usize {
    let first_in = |mut lo: usize, mut hi: usize| {
        // the answer is in lo..=hi, and hi is a true index or len
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let hint = hint.min(len);
    if hint < len && !pred(hint) {
        // After the hint: grow the step until a true index (or the end).
        let (mut lo, mut step) = (hint, 1);
        loop {
            let hi = lo + step;
            if hi >= len {
                return first_in(lo + 1, len);
            }
            if pred(hi) {
                return first_in(lo + 1, hi);
            }
            lo = hi;
            step *= 2;
        }
    }
    // At or before the hint (a true index, or len).
    let (mut hi, mut step) = (hint, 1);
    loop {
        if hi < step {
            return first_in(0, hi);
        }
        let lo = hi - step;
        if !pred(lo) {
            return first_in(lo + 1, hi);
        }
        hi = lo;
        step *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::gallop;

    /// Galloping finds what a binary search finds, from every hint, for every cut.
    #[test]
    fn gallop_agrees_with_a_binary_search() {
        for len in 0..40 {
            for cut in 0..=len {
                for hint in 0..=len + 2 {
                    let got = gallop(len, hint, |i| i >= cut);
                    assert_eq!(got, cut, "len {len} cut {cut} hint {hint}");
                }
            }
        }
    }
}
