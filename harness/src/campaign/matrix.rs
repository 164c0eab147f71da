//! The campaign's matrix: systems × workloads × nemeses × bugs × seeds, expanded in one fixed
//! order, and split into shards deterministically (cell k of the whole matrix goes to shard
//! k mod n), so that n CI jobs given the same arguments run every cell exactly once.

use super::record::Cell;
use std::collections::BTreeMap;

/// The bug entry of a correct build: no bug switched on.
pub const NO_BUG: &str = "none";
/// The nemesis entry meaning "what `faultline test` injects when no --nemesis is given".
pub const DEFAULT_NEMESIS: &str = "default";

/// The matrix, expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub systems: Vec<String>,
    pub workloads: Vec<String>,
    pub nemeses: Vec<String>,
    /// Per system, its bugs in this campaign (`none` first when asked for).
    pub bugs: BTreeMap<String, Vec<String>>,
    pub seeds: Vec<u64>,
}

/// `i/n` with 1 ≤ i ≤ n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// A matrix argument that cannot be used (bad input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    #[error("--shard {0:?} must be I/N with 1 <= I <= N, e.g. 2/4")]
    Shard(String),
    /// `listed` is each system's bugs, `system: a, b`.
    #[error("--bug {bug:?} is not a bug of {}; the bugs are ({})", .systems.join(" or "), .listed.join("; "))]
    UnknownBug {
        bug: String,
        systems: Vec<String>,
        listed: Vec<String>,
    },
}

impl std::str::FromStr for Shard {
    type Err = MatrixError;
    fn from_str(s: &str) -> Result<Shard, MatrixError> {
        let bad = || MatrixError::Shard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Splits a comma-separated list, trimmed, empty entries dropped, duplicates dropped (first
/// kept).
pub fn list(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}

/// The bugs of each system's cells. `asked` is the --bug list (`None` with --zoo); `listed`
/// holds each system's `--list-bugs` names. With --zoo: `none` and every listed bug. Otherwise
/// each asked name goes to the systems that list it (`none` to all); a name no system lists is
/// an error.
pub fn bugs_per_system(
    systems: &[String],
    asked: Option<&[String]>,
    listed: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Vec<String>>, MatrixError> {
    let mut out = BTreeMap::new();
    for s in systems {
        let known = listed.get(s).cloned().unwrap_or_default();
        let bugs: Vec<String> = match asked {
            None => std::iter::once(NO_BUG.to_string()).chain(known).collect(),
            Some(a) => a
                .iter()
                .filter(|b| *b == NO_BUG || known.contains(b))
                .cloned()
                .collect(),
        };
        out.insert(s.clone(), bugs);
    }
    if let Some(a) = asked {
        for b in a.iter().filter(|b| *b != NO_BUG) {
            if !listed.values().any(|l| l.contains(b)) {
                let listed: Vec<String> = systems
                    .iter()
                    .map(|s| {
                        format!(
                            "{s}: {}",
                            listed.get(s).map(|l| l.join(", ")).unwrap_or_default()
                        )
                    })
                    .collect();
                return Err(MatrixError::UnknownBug {
                    bug: b.clone(),
                    systems: systems.to_vec(),
                    listed,
                });
            }
        }
    }
    Ok(out)
}

impl Matrix {
    /// Every cell, in the fixed order systems, workloads, nemeses, bugs.
    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        for s in &self.systems {
            for w in &self.workloads {
                for n in &self.nemeses {
                    for b in self.bugs.get(s).into_iter().flatten() {
                        out.push(Cell::new(s, w, n, b));
                    }
                }
            }
        }
        out
    }

    /// The cells of one shard (all of them without a shard).
    pub fn shard_cells(&self, shard: Option<Shard>) -> Vec<Cell> {
        let all = self.cells();
        match shard {
            None => all,
            Some(sh) => all
                .into_iter()
                .enumerate()
                .filter(|(k, _)| k % sh.count == sh.index - 1)
                .map(|(_, c)| c)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn zoo() -> BTreeMap<String, Vec<String>> {
        let mut m = BTreeMap::new();
        m.insert(
            "raft".into(),
            vec!["local-read".into(), "no-noop".into(), "term-stamp".into()],
        );
        m.insert(
            "zab".into(),
            vec!["ZOOKEEPER-1675".into(), "ZOOKEEPER-335".into()],
        );
        m
    }

    fn matrix(seeds: u64) -> Matrix {
        let systems = vec!["raft".to_string(), "zab".to_string()];
        Matrix {
            bugs: bugs_per_system(&systems, None, &zoo()).unwrap(),
            systems,
            workloads: vec!["register".into(), "set".into()],
            nemeses: vec!["default".into(), "pause".into()],
            seeds: (1..=seeds).collect(),
        }
    }

    #[test]
    fn zoo_is_none_plus_every_listed_bug_and_asked_bugs_go_to_their_systems() {
        let systems = vec!["raft".to_string(), "zab".to_string()];
        let b = bugs_per_system(&systems, None, &zoo()).unwrap();
        assert_eq!(b["raft"], ["none", "local-read", "no-noop", "term-stamp"]);
        assert_eq!(b["zab"], ["none", "ZOOKEEPER-1675", "ZOOKEEPER-335"]);
        let asked = list("none,no-noop,ZOOKEEPER-335");
        let b = bugs_per_system(&systems, Some(&asked), &zoo()).unwrap();
        assert_eq!(b["raft"], ["none", "no-noop"]);
        assert_eq!(b["zab"], ["none", "ZOOKEEPER-335"]);
        let e = bugs_per_system(&systems, Some(&list("nope")), &zoo())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"nope\"") && e.contains("local-read"), "{e}");
    }

    #[test]
    fn shards_cover_the_matrix_exactly_once_in_a_fixed_order() {
        let m = matrix(3);
        let all = m.cells();
        // 2 workloads x 2 nemeses x (4 raft + 3 zab bugs).
        assert_eq!(all.len(), 28);
        let ids: BTreeSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), all.len(), "cell ids are unique");
        for n in 1..=9 {
            let mut seen: Vec<String> = Vec::new();
            for i in 1..=n {
                let part = m.shard_cells(Some(Shard { index: i, count: n }));
                // Balanced within one cell.
                assert!(part.len() >= all.len() / n && part.len() <= all.len().div_ceil(n));
                // The same arguments give the same shard.
                assert_eq!(part, m.shard_cells(Some(Shard { index: i, count: n })));
                seen.extend(part.into_iter().map(|c| c.id));
            }
            seen.sort();
            let mut want: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
            want.sort();
            assert_eq!(seen, want, "{n} shards");
        }
    }

    #[test]
    fn shard_arguments_parse_or_say_what_is_expected() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "x", "1/", "/3", "-1/2"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("I/N"), "{e}");
        }
    }
}
