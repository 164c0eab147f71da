//! A campaign's files in its directory (Contract 3): campaign.json, junit.xml, detection.md and
//! detection.json; and the summary printed at the end.

use super::detection::{self, Detection};
use super::junit;
use super::record::{exit_code, CampaignRecord, CellRecord, CellStatus, MatrixRecord};
use super::{CampaignArgs, Plan};
use crate::error::HarnessError;
use crate::store::StoreError;
use std::path::Path;
use std::time::SystemTime;

/// campaign.json's record of a finished campaign.
pub fn record(
    a: &CampaignArgs,
    plan: &Plan,
    started: String,
    cells: Vec<CellRecord>,
    interrupted: bool,
) -> CampaignRecord {
    let detection = detection::compute(&cells);
    CampaignRecord {
        faultline: env!("CARGO_PKG_VERSION").into(),
        started,
        finished: crate::store::timestamp(SystemTime::now()),
        command: std::env::args().collect(),
        matrix: MatrixRecord {
            systems: plan.matrix.systems.clone(),
            workloads: plan.matrix.workloads.clone(),
            nemeses: plan.matrix.nemeses.clone(),
            bugs: plan.matrix.bugs.clone(),
            seeds: plan.matrix.seeds.clone(),
            time_limit_s: a.time_limit,
            cells_total: plan.matrix.cells().len(),
            shard: plan.shard.map(|s| [s.index, s.count]),
        },
        exit_code: match exit_code(&cells) {
            0 if interrupted => 2,
            c => c,
        },
        cells,
        detection,
        interrupted,
        merged_from: Vec::new(),
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), HarnessError> {
    std::fs::write(path, text).map_err(|source| {
        HarnessError::Store(StoreError::Write {
            path: path.to_path_buf(),
            source,
        })
    })
}

fn header(r: &CampaignRecord) -> String {
    let mut s = format!(
        "Campaign of {} (finished {}), faultline {}: `{}`",
        r.started,
        r.finished,
        r.faultline,
        r.command.join(" ")
    );
    if let Some([i, n]) = r.matrix.shard {
        s.push_str(&format!(" — shard {i} of {n}"));
    }
    if !r.merged_from.is_empty() {
        s.push_str(&format!(" — merged from {}", r.merged_from.join(", ")));
    }
    s.push_str(&format!(
        ".\n\n{} cells, {} runs of {} s; seeds {}.",
        r.cells.len(),
        r.cells.iter().map(|c| c.runs.len()).sum::<usize>(),
        r.matrix.time_limit_s,
        r.matrix
            .seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s
}

/// Writes the four files into `dir` (and the JUnit XML also to `junit`).
pub fn write(
    dir: &Path,
    r: &CampaignRecord,
    junit_copy: Option<&Path>,
) -> Result<(), HarnessError> {
    let json = serde_json::to_string_pretty(r)
        .map_err(|e| HarnessError::Failed(format!("cannot encode campaign.json: {e}")))?;
    write_file(&dir.join("campaign.json"), &(json + "\n"))?;
    let xml = junit::render(r)
        .map_err(|e| HarnessError::Failed(format!("cannot write the JUnit XML: {e}")))?;
    write_file(&dir.join("junit.xml"), &xml)?;
    if let Some(p) = junit_copy {
        write_file(p, &xml)?;
    }
    write_file(
        &dir.join("detection.md"),
        &detection::markdown(&r.detection, &header(r)),
    )?;
    let dj = serde_json::to_string_pretty(&r.detection)
        .map_err(|e| HarnessError::Failed(format!("cannot encode detection.json: {e}")))?;
    write_file(&dir.join("detection.json"), &(dj + "\n"))?;
    Ok(())
}

/// The end of a campaign on the terminal: the detection matrix and the cells not as expected.
pub fn print_summary(dir: &Path, r: &CampaignRecord) {
    let d: &Detection = &r.detection;
    println!("{}", detection::markdown(d, &header(r)).trim_end());
    let off: Vec<&CellRecord> = r
        .cells
        .iter()
        .filter(|c| c.status != CellStatus::Pass)
        .collect();
    println!();
    if off.is_empty() {
        println!("every cell as expected");
    } else {
        for c in off {
            println!(
                "{}: {:?} (expected {}; found in {} of {} runs)",
                c.cell.id,
                c.status,
                c.expect,
                c.found(),
                c.runs.len()
            );
        }
    }
    println!("campaign stored in {}", dir.display());
}
