//! The detection matrix: per system and bug, found in k of n runs (over every workload and
//! nemesis of the campaign, and per workload), the median and maximum time to detect, and the
//! checkers that caught it; for the correct builds (`none`), the false alarms. As JSON
//! (detection.json, and inside campaign.json) and as markdown (detection.md).

use super::record::{CellRecord, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One system and bug over all its cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub system: String,
    pub bug: String,
    /// Runs in total.
    pub runs: usize,
    /// Runs that found an anomaly (for `none`: false alarms).
    pub found: usize,
    /// Runs that stayed unknown.
    pub unknown: usize,
    pub median_time_to_detect_s: Option<f64>,
    pub max_time_to_detect_s: Option<f64>,
    /// Checker → runs it caught (the checker of each run's reported anomaly).
    pub caught_by: BTreeMap<String, usize>,
    /// Workload → [found, runs].
    pub by_workload: BTreeMap<String, [usize; 2]>,
    /// Nemesis → [found, runs].
    pub by_nemesis: BTreeMap<String, [usize; 2]>,
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Detection {
    /// Bug rows, in the campaign's order.
    pub bugs: Vec<Row>,
    /// Correct builds: `found` counts false alarms.
    pub correct: Vec<Row>,
}

fn median(sorted: &[f64]) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// Computes the matrix from cells.
pub fn compute(cells: &[CellRecord]) -> Detection {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<&CellRecord>> = BTreeMap::new();
    for c in cells {
        let k = (c.cell.system.clone(), c.cell.bug.clone());
        if !groups.contains_key(&k) {
            order.push(k.clone());
        }
        groups.entry(k).or_default().push(c);
    }
    let mut d = Detection::default();
    for k in order {
        let cs = &groups[&k];
        let mut row = Row {
            system: k.0.clone(),
            bug: k.1.clone(),
            runs: 0,
            found: 0,
            unknown: 0,
            median_time_to_detect_s: None,
            max_time_to_detect_s: None,
            caught_by: BTreeMap::new(),
            by_workload: BTreeMap::new(),
            by_nemesis: BTreeMap::new(),
        };
        let mut times = Vec::new();
        for c in cs {
            for r in &c.runs {
                row.runs += 1;
                let found = r.verdict == Verdict::Invalid;
                for (m, key) in [
                    (&mut row.by_workload, &c.cell.workload),
                    (&mut row.by_nemesis, &c.cell.nemesis),
                ] {
                    let e = m.entry(key.clone()).or_default();
                    e[1] += 1;
                    e[0] += found as usize;
                }
                match r.verdict {
                    Verdict::Invalid => {
                        row.found += 1;
                        if let Some(ch) = &r.caught_by {
                            *row.caught_by.entry(ch.clone()).or_default() += 1;
                        }
                        if let Some(t) = r.time_to_detect_s {
                            times.push(t);
                        }
                    }
                    Verdict::Unknown => row.unknown += 1,
                    Verdict::Valid => {}
                }
            }
        }
        times.sort_by(f64::total_cmp);
        row.median_time_to_detect_s = median(&times);
        row.max_time_to_detect_s = times.last().copied();
        if row.bug == super::matrix::NO_BUG {
            d.correct.push(row);
        } else {
            d.bugs.push(row);
        }
    }
    d
}

fn secs(t: Option<f64>) -> String {
    t.map_or("–".into(), |t| format!("{t:.1} s"))
}

fn split(m: &BTreeMap<String, [usize; 2]>) -> String {
    m.iter()
        .map(|(k, [f, n])| format!("{k} {f}/{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// detection.md: the matrix for people. `header` says which campaign (command, date).
pub fn markdown(d: &Detection, header: &str) -> String {
    let mut s = String::from("# Detection matrix\n\n");
    s.push_str(header);
    s.push_str("\n\n## Bugs\n\n");
    if d.bugs.is_empty() {
        s.push_str("No bug was switched on in this campaign.\n");
    } else {
        s.push_str("| system | bug | found | unknown | median time to detect | max | caught by | per workload | per nemesis |\n");
        s.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for r in &d.bugs {
            let caught = if r.caught_by.is_empty() {
                if r.found == 0 {
                    "**not found**".to_string()
                } else {
                    "–".to_string()
                }
            } else {
                r.caught_by
                    .iter()
                    .map(|(c, n)| format!("{c} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            s.push_str(&format!(
                "| {} | {} | {} of {} | {} | {} | {} | {} | {} | {} |\n",
                r.system,
                r.bug,
                r.found,
                r.runs,
                r.unknown,
                secs(r.median_time_to_detect_s),
                secs(r.max_time_to_detect_s),
                caught,
                split(&r.by_workload),
                split(&r.by_nemesis)
            ));
        }
    }
    s.push_str("\n## Correct builds (false alarms)\n\n");
    if d.correct.is_empty() {
        s.push_str("No correct build ran in this campaign.\n");
    } else {
        s.push_str("| system | runs | false alarms | unknown | caught by | per workload |\n");
        s.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for r in &d.correct {
            let caught = r
                .caught_by
                .iter()
                .map(|(c, n)| format!("{c} ({n})"))
                .collect::<Vec<_>>()
                .join(", ");
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.system,
                r.runs,
                r.found,
                r.unknown,
                if caught.is_empty() {
                    "–".into()
                } else {
                    caught
                },
                split(&r.by_workload)
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::record::{Cell, RunRecord};

    fn run(verdict: Verdict, t: Option<f64>, by: Option<&str>) -> RunRecord {
        RunRecord {
            caught_by: by.map(String::from),
            time_to_detect_s: t,
            ..crate::campaign::record::tests::run(verdict)
        }
    }

    #[test]
    fn rows_count_found_runs_times_and_false_alarms() {
        use Verdict::*;
        let cells = vec![
            CellRecord::new(
                Cell::new("raft", "register", "default", "no-noop"),
                vec![
                    run(Invalid, Some(12.0), Some("linearizable")),
                    run(Valid, None, None),
                ],
            ),
            CellRecord::new(
                Cell::new("raft", "set", "default", "no-noop"),
                vec![
                    run(Invalid, Some(30.0), Some("set")),
                    run(Invalid, Some(4.0), Some("set")),
                ],
            ),
            CellRecord::new(
                Cell::new("raft", "register", "default", "none"),
                vec![run(Valid, None, None), run(Unknown, None, None)],
            ),
        ];
        let d = compute(&cells);
        assert_eq!(d.bugs.len(), 1);
        let r = &d.bugs[0];
        assert_eq!((r.found, r.runs, r.unknown), (3, 4, 0));
        assert_eq!(r.median_time_to_detect_s, Some(12.0));
        assert_eq!(r.max_time_to_detect_s, Some(30.0));
        assert_eq!(r.caught_by["set"], 2);
        assert_eq!(r.by_workload["register"], [1, 2]);
        assert_eq!(d.correct[0].found, 0);
        assert_eq!(d.correct[0].unknown, 1);
        let md = markdown(&d, "test");
        assert!(
            md.contains(
                "| raft | no-noop | 3 of 4 | 0 | 12.0 s | 30.0 s | linearizable (1), set (2) |"
            ),
            "{md}"
        );
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), Some(2.5));
    }
}
