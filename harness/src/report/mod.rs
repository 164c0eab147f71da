//! The anomaly report: one self-contained `report.html` per run (Contract 3) and for any
//! history `faultline check --report` reads, rebuilt by `faultline report RUN`.
//!
//! - [`model`]: the page's data (verdicts, anomalies tied to faults and nodes, roles);
//! - [`faults`]: fault windows from the nemesis events; [`nodelog`], [`roles`]: node logs on
//!   the history's clock and each node's role over time;
//! - [`lanes`]: the zoomable lane chart; [`timeline`]: operations on it; [`plots`]: latency
//!   and throughput; [`anomalies`]: each anomaly in words; [`html`]: the page;
//! - [`command`]: `faultline report RUN`;
//! - [`escape`]: every history or log value reaches the page as text, never as markup.

pub mod anomalies;
pub mod command;
pub mod escape;
pub mod faults;
pub mod html;
pub mod lanes;
pub mod model;
pub mod nodelog;
pub mod plots;
pub mod roles;
pub mod timeline;

pub use model::{Input, Page};

use crate::store::{RunDir, StoreError};
use nodelog::NodeLog;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{} has no results.json: check the run first with `faultline analyze {}`", .0.display(), .0.display())]
    NotChecked(PathBuf),
    #[error("cannot write the report {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether the harness failed (could not write) rather than was given a bad run.
    pub fn is_write(&self) -> bool {
        match self {
            ReportError::Write { .. } => true,
            ReportError::Store(e) => e.is_write(),
            ReportError::NotChecked(_) => false,
        }
    }
}

/// The page for `input`.
pub fn render(input: &Input) -> String {
    html::page(&Page::build(input))
}

/// Writes `html` to `path` (through a temporary file, so a reader never sees half a page).
pub fn write_file(path: &Path, html: &str) -> Result<(), ReportError> {
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, html)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// The wall-clock time of the history's zero, from results.json's journal figures.
fn start_unix_ns(results: &Value) -> Option<i128> {
    let ms = results.pointer("/journal/start_unix_ms")?.as_f64()?;
    Some((ms * 1e6) as i128)
}

/// Every `nodes/<node>/node.log` of a run, parsed.
fn node_logs(run: &RunDir, start: Option<i128>) -> Vec<NodeLog> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(run.nodes_path()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs {
        let Some(node) = d.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if let Ok(bytes) = std::fs::read(d.join("node.log")) {
            out.push(NodeLog::parse(
                &node,
                &String::from_utf8_lossy(&bytes),
                start,
            ));
        }
    }
    out
}

/// Builds a stored run's report from its files (test.json, history.jsonl, results.json,
/// nodes/*/node.log) and writes it to `report.html`; returns its path.
pub fn write_run(run: &RunDir) -> Result<PathBuf, ReportError> {
    let test = run.read_test()?;
    let results = run
        .read_results()
        .ok_or_else(|| ReportError::NotChecked(run.path().to_path_buf()))?;
    let history = run.load_history()?;
    let start = start_unix_ns(&results);
    let dir_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let canonical = std::fs::canonicalize(run.path()).unwrap_or_else(|_| run.path().to_path_buf());
    let name = test
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| canonical.parent().map(dir_name).unwrap_or_default());
    let input = Input {
        title: format!("{name} · {}", dir_name(&canonical)),
        source: run.path().display().to_string(),
        history: &history,
        results: &results,
        test: Some(&test),
        node_logs: node_logs(run, start),
    };
    let path = run.report_path();
    write_file(&path, &render(&input))?;
    Ok(path)
}
