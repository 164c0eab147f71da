//! `faultline campaign merge DIR...`: joins campaign directories — typically the shards of one
//! matrix run by parallel CI jobs — into one campaign.json, junit.xml and detection matrix. A
//! cell present in two of them is an error (shards cover a matrix exactly once); shards of an
//! n-way split that are missing are named on stderr.

use super::detection;
use super::matrix::Matrix;
use super::outputs;
use super::record::{exit_code, CampaignRecord, CellRecord, MatrixRecord};
use crate::error::HarnessError;
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Options of `faultline campaign merge`.
#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// Campaign directories (each holding a campaign.json).
    #[arg(required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged campaign (default: a new <store>/campaigns/<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Directory of stored runs (for the default --out).
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Also write the merged JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
}

fn read(dir: &Path) -> Result<CampaignRecord, HarnessError> {
    let path = dir.join("campaign.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        HarnessError::BadArgument(format!(
            "cannot read {}: {e} (is {} a campaign directory?)",
            path.display(),
            dir.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        HarnessError::BadArgument(format!("{} is not a campaign.json: {e}", path.display()))
    })
}

fn union(into: &mut Vec<String>, from: &[String]) {
    for x in from {
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

/// Joins campaigns read from `dirs` (paths as given) into one record.
pub fn merge(dirs: &[PathBuf]) -> Result<CampaignRecord, HarnessError> {
    let mut records = Vec::new();
    for d in dirs {
        records.push((d.clone(), read(d)?));
    }
    let first = &records[0].1;
    let mut m = MatrixRecord {
        shard: None,
        ..first.matrix.clone()
    };
    let mut seen: BTreeMap<(String, u64), PathBuf> = BTreeMap::new();
    let mut cells: BTreeMap<String, CellRecord> = BTreeMap::new();
    let mut shards: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (dir, r) in &records {
        union(&mut m.systems, &r.matrix.systems);
        union(&mut m.workloads, &r.matrix.workloads);
        union(&mut m.nemeses, &r.matrix.nemeses);
        for (s, b) in &r.matrix.bugs {
            union(m.bugs.entry(s.clone()).or_default(), b);
        }
        let mut seeds: BTreeSet<u64> = m.seeds.iter().copied().collect();
        seeds.extend(r.matrix.seeds.iter().copied());
        m.seeds = seeds.into_iter().collect();
        m.cells_total = m.cells_total.max(r.matrix.cells_total);
        if let Some([i, n]) = r.matrix.shard {
            shards.entry(n).or_default().insert(i);
        }
        for c in &r.cells {
            for run in &c.runs {
                if let Some(other) = seen.insert((c.cell.id.clone(), run.seed), dir.clone()) {
                    return Err(HarnessError::BadArgument(format!(
                        "cell {} seed {} is in both {} and {}: merge each shard once",
                        c.cell.id,
                        run.seed,
                        other.display(),
                        dir.display()
                    )));
                }
            }
            let entry = cells
                .entry(c.cell.id.clone())
                .or_insert_with(|| CellRecord {
                    runs: Vec::new(),
                    ..c.clone()
                });
            for run in &c.runs {
                let mut run = run.clone();
                run.dir = run.dir.map(|d| dir.join(d).display().to_string());
                run.store = dir.join(&run.store).display().to_string();
                entry.runs.push(run);
            }
        }
    }
    for (n, have) in &shards {
        let missing: Vec<String> = (1..=*n)
            .filter(|i| !have.contains(i))
            .map(|i| format!("{i}/{n}"))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "faultline campaign merge: shards {} are missing",
                missing.join(", ")
            );
        }
    }
    // The union matrix's order; cells it does not generate (other arguments) go last.
    let order: Vec<String> = Matrix {
        systems: m.systems.clone(),
        workloads: m.workloads.clone(),
        nemeses: m.nemeses.clone(),
        bugs: m.bugs.clone(),
        seeds: m.seeds.clone(),
    }
    .cells()
    .into_iter()
    .map(|c| c.id)
    .collect();
    let mut merged: Vec<CellRecord> = cells
        .into_values()
        .map(|mut c| {
            c.runs.sort_by_key(|r| r.seed);
            CellRecord::new(c.cell, c.runs)
        })
        .collect();
    merged.sort_by_key(|c| {
        order
            .iter()
            .position(|o| *o == c.cell.id)
            .unwrap_or(usize::MAX)
    });
    let started = records
        .iter()
        .map(|r| r.1.started.clone())
        .min()
        .unwrap_or_default();
    let finished = records
        .iter()
        .map(|r| r.1.finished.clone())
        .max()
        .unwrap_or_default();
    Ok(CampaignRecord {
        faultline: env!("CARGO_PKG_VERSION").into(),
        started,
        finished,
        command: std::env::args().collect(),
        matrix: m,
        exit_code: match exit_code(&merged) {
            0 if records.iter().any(|r| r.1.interrupted) => 2,
            c => c,
        },
        detection: detection::compute(&merged),
        interrupted: records.iter().any(|r| r.1.interrupted),
        cells: merged,
        merged_from: dirs.iter().map(|d| d.display().to_string()).collect(),
    })
}

/// Runs `faultline campaign merge`; returns the merged campaign's exit code.
pub fn run(a: &MergeArgs) -> Result<u8, HarnessError> {
    let record = merge(&a.dirs)?;
    let out = match &a.out {
        Some(o) => {
            std::fs::create_dir_all(o).map_err(|source| crate::store::StoreError::Create {
                path: o.clone(),
                source,
            })?;
            o.clone()
        }
        None => super::schedule::campaign_dir(&a.store)?,
    };
    outputs::write(&out, &record, a.junit.as_deref())?;
    outputs::print_summary(&out, &record);
    Ok(record.exit_code)
}
