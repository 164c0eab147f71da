//! What a campaign records (campaign.json, Contract 3): its matrix, every cell with its runs
//! and their verdicts, and the detection matrix. The same types are read back by `campaign
//! merge`, which joins shards.

use super::detection::Detection;
use serde::{Deserialize, Serialize};

/// One run's verdict as the campaign sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The checkers found no anomaly.
    Valid,
    /// The checkers found an anomaly.
    Invalid,
    /// Nothing decided: the run was stopped at its deadline, interrupted, the harness failed,
    /// or a checker ran out of budget.
    Unknown,
}

/// Whether a cell came out as expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellStatus {
    /// A bug cell that found an anomaly in some run, or a correct cell that found none in any.
    Pass,
    /// A bug cell that found nothing in any decided run, or a correct cell with a false alarm.
    Fail,
    /// Not decided: no anomaly and some run stayed unknown.
    Unknown,
}

/// One cell of the matrix: a system, a workload, a nemesis and a bug (`none`: the correct build).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// `system-workload-nemesis-bug`: the test's name in each run's store and the JUnit suite.
    pub id: String,
    pub system: String,
    pub workload: String,
    /// `default` (whatever `faultline test` injects by default) or kinds joined by `+`.
    pub nemesis: String,
    pub bug: String,
}

impl Cell {
    pub fn new(system: &str, workload: &str, nemesis: &str, bug: &str) -> Cell {
        Cell {
            id: format!("{system}-{workload}-{nemesis}-{bug}"),
            system: system.into(),
            workload: workload.into(),
            nemesis: nemesis.into(),
            bug: bug.into(),
        }
    }

    /// Whether a run of this cell should find an anomaly (a bug is switched on).
    pub fn expects_anomaly(&self) -> bool {
        self.bug != "none"
    }
}

/// One run of a cell: a child `faultline test` with one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub seed: u64,
    /// The run's directory (Contract 3), relative to the campaign directory where it lies inside.
    pub dir: Option<String>,
    /// The store the child wrote into (one per run), relative to the campaign directory.
    pub store: String,
    pub verdict: Verdict,
    /// The child's exit code (`None`: killed).
    pub exit_code: Option<i32>,
    /// Why the verdict is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The anomaly's sentence (the one whose witness starts earliest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_kind: Option<String>,
    /// The checker that reported that anomaly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caught_by: Option<String>,
    /// Every checker whose verdict was invalid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_checkers: Vec<String>,
    /// Seconds from the run's start (its first operation's clock) to the invocation of the
    /// earliest operation of the anomaly's witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_detect_s: Option<f64>,
    /// Wall-clock seconds the child ran.
    pub duration_s: f64,
    /// The command that reruns this run with its seed.
    pub rerun: String,
}

/// A cell with its runs and whether it came out as expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    #[serde(flatten)]
    pub cell: Cell,
    /// `anomaly` for a bug cell, `none` for a correct one.
    pub expect: String,
    pub status: CellStatus,
    pub runs: Vec<RunRecord>,
}

impl CellRecord {
    pub fn new(cell: Cell, runs: Vec<RunRecord>) -> CellRecord {
        let status = cell_status(&cell, &runs);
        CellRecord {
            expect: if cell.expects_anomaly() {
                "anomaly"
            } else {
                "none"
            }
            .into(),
            cell,
            status,
            runs,
        }
    }

    /// How many runs found an anomaly.
    pub fn found(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.verdict == Verdict::Invalid)
            .count()
    }
}

/// A bug cell passes when some run found an anomaly; a correct cell when no run did. Otherwise
/// a cell with an unknown run is unknown, else it failed.
pub fn cell_status(cell: &Cell, runs: &[RunRecord]) -> CellStatus {
    let found = runs.iter().any(|r| r.verdict == Verdict::Invalid);
    let unknown = runs.iter().any(|r| r.verdict == Verdict::Unknown);
    match (cell.expects_anomaly(), found, unknown) {
        (true, true, _) => CellStatus::Pass,
        (false, true, _) => CellStatus::Fail,
        (_, false, true) => CellStatus::Unknown,
        (true, false, false) => CellStatus::Fail,
        (false, false, false) => CellStatus::Pass,
    }
}

/// The matrix a campaign (or one shard of it) ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRecord {
    pub systems: Vec<String>,
    pub workloads: Vec<String>,
    pub nemeses: Vec<String>,
    /// Per system, the bugs of its cells (`none` included).
    pub bugs: std::collections::BTreeMap<String, Vec<String>>,
    pub seeds: Vec<u64>,
    pub time_limit_s: f64,
    /// Cells in the whole matrix (every shard).
    pub cells_total: usize,
    /// `[i, n]` when this is shard i of n.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[usize; 2]>,
}

/// campaign.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub faultline: String,
    pub started: String,
    pub finished: String,
    pub command: Vec<String>,
    pub matrix: MatrixRecord,
    pub cells: Vec<CellRecord>,
    pub detection: Detection,
    /// The campaign's exit code: 0 every cell as expected, 1 some cell not, 2 something unknown.
    pub exit_code: u8,
    /// Whether Ctrl-C stopped it early.
    #[serde(default)]
    pub interrupted: bool,
    /// For a merge: the campaign directories joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

/// The campaign's exit code from its cells (Contract 4's order: a failure outranks unknown).
pub fn exit_code(cells: &[CellRecord]) -> u8 {
    if cells.iter().any(|c| c.status == CellStatus::Fail) {
        1
    } else if cells.iter().any(|c| c.status == CellStatus::Unknown) {
        2
    } else {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run of seed 1 with `verdict`, nothing caught and no times: the campaign tests' fixture.
    pub(crate) fn run(verdict: Verdict) -> RunRecord {
        RunRecord {
            seed: 1,
            dir: None,
            store: "s".into(),
            verdict,
            exit_code: None,
            reason: None,
            anomaly: None,
            anomaly_kind: None,
            caught_by: None,
            invalid_checkers: vec![],
            time_to_detect_s: None,
            duration_s: 1.0,
            rerun: String::new(),
        }
    }

    #[test]
    fn bug_cells_pass_on_any_anomaly_correct_cells_on_none() {
        use Verdict::*;
        let bug = Cell::new("raft", "register", "default", "local-read");
        let ok = Cell::new("raft", "register", "default", "none");
        let st = |c: &Cell, v: &[Verdict]| {
            cell_status(c, &v.iter().map(|v| run(*v)).collect::<Vec<_>>())
        };
        assert_eq!(st(&bug, &[Valid, Invalid]), CellStatus::Pass);
        assert_eq!(st(&bug, &[Valid, Valid]), CellStatus::Fail);
        assert_eq!(st(&bug, &[Valid, Unknown]), CellStatus::Unknown);
        assert_eq!(st(&bug, &[Unknown, Invalid]), CellStatus::Pass);
        assert_eq!(st(&ok, &[Valid, Valid]), CellStatus::Pass);
        assert_eq!(st(&ok, &[Valid, Invalid]), CellStatus::Fail);
        assert_eq!(st(&ok, &[Unknown, Invalid]), CellStatus::Fail);
        assert_eq!(st(&ok, &[Unknown, Valid]), CellStatus::Unknown);
        let cells = |s: &[CellStatus]| {
            s.iter()
                .map(|s| CellRecord {
                    status: *s,
                    ..CellRecord::new(ok.clone(), vec![])
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(exit_code(&cells(&[CellStatus::Pass])), 0);
        assert_eq!(
            exit_code(&cells(&[CellStatus::Pass, CellStatus::Unknown])),
            2
        );
        assert_eq!(
            exit_code(&cells(&[CellStatus::Unknown, CellStatus::Fail])),
            1
        );
    }
}
