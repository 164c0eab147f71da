//! Witnesses of linearizability violations: a small set of operations that cannot all be
//! linearized as recorded, even when every other operation of the key is relaxed to "took
//! effect at any time after its invocation, or not at all". Relaxing only ever adds
//! linearizations, so "illegal" is monotone in the set kept strict, and a set found illegal is a
//! true core.
//!
//! The witness is built from what the search already knows rather than by re-running it per
//! relaxed operation:
//! - the *frontier*, the latest return entry any branch of the search reached: no branch got
//!   past it, so for registers the history cut just after it is already illegal (string
//!   pruning looks further ahead, so there the cut is tested and the whole history is the
//!   fallback);
//! - the *stuck* operation, the one whose return stopped the longest prefix, which is nearly
//!   always part of the core.
//!
//! Candidates are ordered by relevance: the stuck operation; for registers then the operations
//! that could have produced the value it needs, then by completion, latest first; for strings
//! by distance in time. For strings small cores are proposed first (a read alone, an append
//! the read lacks although it completed before the read began, two reads no appends can
//! reconcile), then the core is grown one operation at a time: galloping then bisecting for the
//! shortest prefix of the candidates that is illegal together with the operations fixed so far,
//! whose last operation is then necessary (about 2·log₂ k tests per witness operation, each
//! with few strict reads and so few observed appends). For registers the shortest illegal
//! prefix is found once and then each of its operations is dropped in turn while the rest stays
//! illegal (tests with most of the prefix strict, which are cheap). The tests are small
//! searches (most operations relaxed, and relaxed updates nobody observes dropped), and the
//! result is 1-minimal: dropping any one of its operations makes it linearizable. When the
//! budget runs out before any smaller set is proven, the witness is every strict operation up
//! to the cut (illegal as the check or the frontier showed), never an unproven guess.

use super::model::{Kind, POp, Values};
use super::search::{search, Limits, Outcome};
use histories::NEVER;
use std::time::Instant;

/// Runs the tests of one witness: each a small search, all of them together within a step
/// budget proportional to the check's own (see [`shrink`]).
struct Tester<'a> {
    ops: &'a [POp],
    values: &'a mut Values,
    strict: Vec<bool>,
    cut: u64,
    deadline: Instant,
    per_test: u64,
    left: u64,
}

impl Tester<'_> {
    /// Whether the operations in `keep`, strict, with everything else relaxed, cannot be
    /// linearized. `false` also when the test ran out of its budget (never a false witness).
    fn illegal(&mut self, keep: &[usize]) -> bool {
        if self.spent() {
            return false;
        }
        // Operations invoked after every strict one returned can all be taken last or not at
        // all: a test needs the history only up to the last strict return.
        let last = keep.iter().map(|&i| self.ops[i].ret).max().unwrap_or(0);
        let cut = self.cut.min(last.saturating_add(1));
        let mut ops = relaxed(self.ops, &mut self.strict, keep, cut);
        // Relaxed operations nothing can observe change no verdict: drop them first.
        super::model::drop_unobservable(&mut ops, self.values);
        let limits = Limits {
            deadline: self.deadline,
            max_bytes: 64 << 20,
            cancel: None,
            max_steps: self.per_test.min(self.left),
        };
        let (outcome, stats) = search(&ops, self.values, limits);
        // A test's setup costs about a step per operation.
        let setup = (ops.len() + keep.len()) as u64;
        self.left = self.left.saturating_sub(stats.steps + setup);
        // Registers: no branch got past the frontier, so everything from there on can be
        // relaxed too (a relaxation, so every later verdict stays a true one).
        if let Outcome::Illegal { frontier, .. } = outcome {
            if !self.values.strings {
                self.cut = self.cut.min(frontier.saturating_add(1));
            }
        }
        matches!(outcome, Outcome::Illegal { .. })
    }

    /// After `fixed ∪ pool[..hi]` was proven illegal: if that test lowered the cut, drops what
    /// now lies beyond it (from the proven set too) and keeps `pool[..hi]`, and says so; the
    /// core finder then starts over from the smaller sets.
    fn trim(
        &self,
        fixed: &mut Vec<usize>,
        pool: &mut Vec<usize>,
        hi: usize,
        proven: &mut Option<Vec<usize>>,
    ) -> bool {
        let before = |i: &usize| self.ops[*i].ret < self.cut;
        if fixed.iter().chain(&pool[..hi]).all(before) {
            return false;
        }
        pool.truncate(hi);
        pool.retain(before);
        fixed.retain(before);
        if let Some(p) = proven {
            p.retain(before);
        }
        true
    }

    fn spent(&self) -> bool {
        self.left == 0 || Instant::now() > self.deadline
    }
}

/// The history up to `cut`, with only the operations in `keep` held to their recorded outcome:
/// every other update (and every operation completing at or after the cut) may take effect at
/// any time after its invocation or not at all, and other reads are dropped.
fn relaxed(ops: &[POp], strict: &mut [bool], keep: &[usize], cut: u64) -> Vec<POp> {
    for &i in keep {
        strict[i] = true;
    }
    let out = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.call < cut)
        .filter_map(|(i, o)| {
            let mut o = o.clone();
            if !(strict[i] && o.required && o.ret < cut) {
                if o.kind.is_query() {
                    return None;
                }
                o.ret = NEVER;
                o.required = false;
            }
            Some(o)
        })
        .collect();
    for &i in keep {
        strict[i] = false;
    }
    out
}

/// What the search knew when it gave up (see [`Outcome::Illegal`]).
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    pub stuck: usize,
    /// `NEVER` when there was no search.
    pub frontier: u64,
    /// Steps the check took.
    pub check_steps: u64,
}

/// A small set of operations (indices into `ops`) that cannot all be linearized as recorded,
/// even when every other operation is relaxed. The tests together may take eight times the
/// check's steps, plus a floor for tiny checks.
pub fn shrink(ops: &[POp], values: &mut Values, hints: Hints, deadline: Instant) -> Vec<usize> {
    let Hints {
        stuck,
        frontier,
        check_steps,
    } = hints;
    let strict_before = |cut: u64| -> Vec<usize> {
        (0..ops.len())
            .filter(|&i| ops[i].required && ops[i].ret < cut)
            .collect()
    };
    let mut t = Tester {
        ops,
        values,
        strict: vec![false; ops.len()],
        cut: NEVER,
        deadline,
        // A test that needs more steps is taken as legal (it proves nothing, so no witness is
        // ever false); a low floor leaves room for many small tests on a small check.
        per_test: (4 * check_steps).max(STEP_FLOOR / 20),
        left: 8 * check_steps + STEP_FLOOR,
    };
    if frontier != NEVER {
        // Registers: a theorem (see the module doc); the core finder below still proves every
        // set it returns illegal. Strings: test, the whole history being the fallback.
        let c = frontier.saturating_add(1);
        t.cut = c;
        if t.values.strings && !t.illegal(&strict_before(c)) {
            t.cut = NEVER;
        }
    }
    let mut stuck = stuck;
    if t.values.strings && t.cut == NEVER {
        // The violation lies beyond the frontier: bisect for the shortest illegal prefix of
        // the history (its tests hold everything strict, as cheap as the check), whose last
        // return is then part of the violation and stands in for the stuck operation.
        let mut rets: Vec<u64> = (0..ops.len())
            .filter(|&i| ops[i].required)
            .map(|i| ops[i].ret)
            .collect();
        rets.sort_unstable();
        // Just after rets[hi] is illegal (at first the whole history); before rets[lo], legal.
        let (mut lo, mut hi) = (0usize, rets.len().saturating_sub(1));
        while lo < hi && !t.spent() {
            let mid = (lo + hi) / 2;
            if t.illegal(&strict_before(rets[mid] + 1)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if !rets.is_empty() {
            let c = rets[hi] + 1;
            t.cut = c;
            if let Some(i) = (0..ops.len()).find(|&i| ops[i].required && ops[i].ret == rets[hi]) {
                stuck = i;
            }
        }
    }
    let cut = t.cut;
    let mut cands: Vec<usize> = strict_before(cut);
    cands.retain(|&i| i != stuck);
    // Registers: nearest the frontier first (the cut is there). Strings: nearest the stuck
    // operation in time first (overlapping it, then by the gap between them).
    let (sc, sr) = (ops[stuck].call, ops[stuck].ret);
    if t.values.strings || cut == NEVER {
        cands.sort_by_key(|&i| {
            let o = &ops[i];
            sc.saturating_sub(o.ret).max(o.call.saturating_sub(sr))
        });
    } else {
        // The operations that could have produced what the stuck operation needs come first:
        // a witness must show why none of them could.
        let need = match ops[stuck].kind {
            Kind::Read(v) | Kind::Cas(v, _) => Some(v),
            _ => None,
        };
        let produces =
            |i: usize| matches!(ops[i].kind, Kind::Write(v) | Kind::Cas(_, v) if Some(v) == need);
        cands.sort_by_key(|&i| (!produces(i), std::cmp::Reverse(ops[i].ret)));
    }
    if ops[stuck].required && ops[stuck].ret < cut {
        cands.insert(0, stuck);
    }
    if t.values.strings {
        if let Some(w) = read_pairs(&mut t, &cands) {
            return w;
        }
    }
    // Nothing smaller proven: everything strict up to the cut is illegal (the check proved
    // the whole history illegal; for registers the frontier cut is, see the module doc).
    // Strings: growing the core keeps its tests small (few strict reads, few observed appends);
    // registers: a deletion pass is cheaper (smaller witnesses in fewer steps on the corpus).
    let found = if t.values.strings {
        core(cands.clone(), &mut t)
    } else {
        deletion(&cands, &mut t)
    };
    found.unwrap_or(cands)
}

/// The core finder: the shortest illegal prefix of the candidates (galloping, then bisecting),
/// then one pass dropping each of its operations, least relevant first, while what is left
/// stays illegal. The pass's tests hold most of the prefix strict, which keeps them cheap,
/// and its result is 1-minimal: a test that failed without an operation fails on any subset
/// too. `None` when not even all candidates could be shown illegal within the budget; once
/// the budget is spent the smallest set proven illegal so far.
fn deletion(pool: &[usize], t: &mut Tester) -> Option<Vec<usize>> {
    let (mut lo, mut n) = (0usize, 1usize);
    let mut hi;
    loop {
        let m = n.min(pool.len());
        if t.illegal(&pool[..m]) {
            hi = m;
            break;
        }
        if m == pool.len() || t.spent() {
            return None;
        }
        lo = m;
        n *= 2;
    }
    while hi - lo > 1 && !t.spent() {
        let mid = (lo + hi) / 2;
        if t.illegal(&pool[..mid]) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // pool[..lo] was found legal, so pool[hi - 1] is necessary when hi == lo + 1.
    let necessary = (hi == lo + 1).then(|| pool[hi - 1]);
    let mut core: Vec<usize> = pool[..hi].to_vec();
    let order: Vec<usize> = core.iter().rev().copied().collect();
    for x in order {
        let cut = t.cut;
        core.retain(|&i| t.ops[i].ret < cut);
        if t.spent() || core.len() <= 1 {
            break;
        }
        if Some(x) == necessary || !core.contains(&x) {
            continue;
        }
        let trial: Vec<usize> = core.iter().copied().filter(|&i| i != x).collect();
        if t.illegal(&trial) {
            core = trial;
        }
    }
    let cut = t.cut;
    core.retain(|&i| t.ops[i].ret < cut);
    Some(core)
}

/// Steps every witness may take however small its check (a few milliseconds).
const STEP_FLOOR: u64 = 40_000;

/// Strings: most violations are two reads that no history of appends can reconcile (the
/// earlier one's value is not a prefix of the later one's). Such pairs, nearest the stuck
/// operation first, are proposed before the general core finder, each proven by a test.
fn read_pairs(t: &mut Tester, cands: &[usize]) -> Option<Vec<usize>> {
    let ops = t.ops;
    let reads: Vec<(usize, String)> = cands
        .iter()
        .filter_map(|&i| match ops[i].kind {
            Kind::Read(v) => Some((i, t.values.text(v))),
            _ => None,
        })
        .take(16)
        .collect();
    // Appends completed before a read began whose string the read lacks, latest first.
    let mut appends: Vec<(usize, String)> = cands
        .iter()
        .filter_map(|&i| match ops[i].kind {
            Kind::Append(v) => t.values.original(v).map(|s| (i, s.to_string())),
            _ => None,
        })
        .filter(|(_, s)| !s.is_empty())
        .collect();
    appends.sort_by_key(|&(i, _)| std::cmp::Reverse(ops[i].ret));
    for (a, (i, ti)) in reads.iter().enumerate() {
        if t.illegal(&[*i]) {
            return Some(vec![*i]);
        }
        let missing = appends
            .iter()
            .filter(|(x, s)| ops[*x].ret < ops[*i].call && !ti.contains(s.as_str()))
            .take(2);
        for (x, _) in missing {
            let mut w = vec![*x, *i];
            if t.illegal(&w) {
                w.sort_by_key(|&o| ops[o].call);
                return Some(w);
            }
        }
        for (j, tj) in &reads[..a] {
            let (first, second, tf, ts) = if ops[*i].ret < ops[*j].call {
                (*i, *j, ti, tj)
            } else if ops[*j].ret < ops[*i].call {
                (*j, *i, tj, ti)
            } else {
                continue;
            };
            if !ts.starts_with(tf.as_str()) && t.illegal(&[first, second]) {
                return Some(vec![first, second]);
            }
            if t.spent() {
                return None;
            }
        }
    }
    None
}

/// The core finder (see the module doc): `None` when not even all of `pool` could be shown
/// illegal. Once the budget is spent it returns the smallest set proven illegal so far.
fn core(mut pool: Vec<usize>, t: &mut Tester) -> Option<Vec<usize>> {
    let mut fixed: Vec<usize> = Vec::new();
    // The smallest set proven illegal so far.
    let mut proven: Option<Vec<usize>> = None;
    let with = |fixed: &[usize], pool: &[usize], n: usize| -> Vec<usize> {
        fixed.iter().chain(&pool[..n]).copied().collect()
    };
    'outer: loop {
        if !fixed.is_empty() && t.illegal(&fixed) {
            let cut = t.cut;
            fixed.retain(|&i| t.ops[i].ret < cut);
            return Some(fixed);
        }
        if pool.is_empty() || t.spent() {
            return proven;
        }
        // Gallop: the first prefix length (1, 2, 4, …, all) illegal together with `fixed`.
        let mut lo = 0usize;
        let mut hi;
        let mut n = 1usize;
        loop {
            let m = n.min(pool.len());
            let trial = with(&fixed, &pool, m);
            if t.illegal(&trial) {
                hi = m;
                proven = Some(trial);
                if t.trim(&mut fixed, &mut pool, hi, &mut proven) {
                    continue 'outer;
                }
                break;
            }
            if m == pool.len() || t.spent() {
                return proven;
            }
            lo = m;
            n *= 2;
        }
        // Bisect in (lo, hi]: fixed ∪ pool[..lo] is legal, fixed ∪ pool[..hi] is not.
        while hi - lo > 1 {
            if t.spent() {
                return proven;
            }
            let mid = (lo + hi) / 2;
            let trial = with(&fixed, &pool, mid);
            if t.illegal(&trial) {
                hi = mid;
                proven = Some(trial);
                if t.trim(&mut fixed, &mut pool, hi, &mut proven) {
                    continue 'outer;
                }
            } else {
                lo = mid;
            }
        }
        // pool[hi - 1] is necessary: without it (and what follows) the rest is legal.
        fixed.push(pool[hi - 1]);
        pool.truncate(hi - 1);
    }
}
