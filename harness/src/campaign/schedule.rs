//! Running a campaign's runs: `--parallel N` workers, each with a loopback block of its own,
//! pull (cell, seed) runs in matrix order; Ctrl-C (or SIGTERM) kills the runs in progress, and
//! the runs not started are recorded as unknown, so the outputs are written either way.

use super::child::{self, ChildRun};
use super::default_faults;
use super::matrix::DEFAULT_NEMESIS;
use super::outputs;
use super::record::{Cell, CellRecord, RunRecord, Verdict};
use super::{plan, CampaignArgs, Plan};
use crate::error::HarnessError;
use crate::signals::{interrupt_signal, OnInterrupt};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// `faultline test`'s arguments for a cell (without --seed and --store).
fn test_args(a: &CampaignArgs, cell: &Cell, default_kinds: &[nemeses::FaultKind]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--system".into(),
        cell.system.clone(),
        "--workload".into(),
        cell.workload.clone(),
    ];
    if cell.nemesis != DEFAULT_NEMESIS {
        v.push("--nemesis".into());
        v.push(cell.nemesis.replace('+', ","));
    } else {
        let kinds = default_faults::for_system(default_kinds, &cell.system);
        v.extend(default_faults::test_args(&kinds, &a.test_args));
    }
    v.extend([
        "--time-limit".into(),
        a.time_limit.to_string(),
        "--recovery-timeout".into(),
        a.recovery_timeout.to_string(),
        "--check-timeout".into(),
        a.check_timeout.to_string(),
        format!("--name={}", cell.id),
    ]);
    if let Ok(system) = crate::db::find(&cell.system) {
        v.extend(system.linearizable_args().iter().map(|a| a.to_string()));
    }
    if cell.expects_anomaly() {
        v.push(format!("--node-arg=--bug={}", cell.bug));
    }
    if let Some(d) = &a.bin_dir {
        let d = std::path::absolute(d).unwrap_or(d.clone());
        v.push(format!("--bin-dir={}", d.display()));
    }
    v.extend(a.test_args.iter().cloned());
    v
}

/// Loopback blocks for `n` workers: consecutive from a base drawn from the process id and the
/// clock, so the workers of one campaign never share one (and other runs on the machine are
/// unlikely to).
fn nets(n: usize) -> Vec<(u8, u8)> {
    const BLOCKS: usize = 254 * 256;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as usize)
        .unwrap_or(0);
    let base = (std::process::id() as usize)
        .wrapping_mul(2_654_435_761)
        .wrapping_add(nanos)
        % BLOCKS;
    (0..n)
        .map(|k| {
            let b = (base + k) % BLOCKS;
            (1 + (b / 256) as u8, (b % 256) as u8)
        })
        .collect()
}

/// A fresh campaign directory under `<store>/campaigns/`.
pub fn campaign_dir(store: &Path) -> Result<PathBuf, HarnessError> {
    let base = store.join("campaigns");
    let ts = crate::store::timestamp(SystemTime::now());
    let mut dir = base.join(&ts);
    let mut n = 1;
    while dir.exists() {
        dir = base.join(format!("{ts}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(&dir).map_err(|source| crate::store::StoreError::Create {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Runs the campaign; returns its exit code.
pub fn run(a: &CampaignArgs) -> Result<u8, HarnessError> {
    let plan = plan(a)?;
    let exe = std::env::current_exe()
        .map_err(|e| HarnessError::Failed(format!("cannot find the faultline executable: {e}")))?;
    let dir = campaign_dir(&a.store)?;
    let started = crate::store::timestamp(SystemTime::now());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(HarnessError::Runtime)?;
    let (cells, interrupted) = rt.block_on(run_all(a, &plan, &exe, &dir));
    let record = outputs::record(a, &plan, started, cells, interrupted);
    outputs::write(&dir, &record, a.junit.as_deref())?;
    outputs::print_summary(&dir, &record);
    Ok(record.exit_code)
}

async fn run_all(a: &CampaignArgs, plan: &Plan, exe: &Path, dir: &Path) -> (Vec<CellRecord>, bool) {
    let cells = plan.matrix.shard_cells(plan.shard);
    let jobs: Vec<(usize, u64)> = (0..cells.len())
        .flat_map(|c| plan.matrix.seeds.iter().map(move |s| (c, *s)))
        .collect();
    eprintln!(
        "faultline campaign: {} cells × {} seeds = {} runs, {} at a time, in {}",
        cells.len(),
        plan.matrix.seeds.len(),
        jobs.len(),
        a.parallel,
        dir.display()
    );
    let (default_kinds, left_out) = default_faults::available();
    if cells.iter().any(|c| c.nemesis == DEFAULT_NEMESIS) {
        for s in &left_out {
            eprintln!("faultline campaign: {s}");
        }
    }
    let default_kinds = Arc::new(default_kinds);
    let interrupted = interrupt_signal(OnInterrupt {
        announce: Some("faultline campaign: interrupted; killing the runs in progress"),
        exit_on_second: false,
    });
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let next = Arc::new(Mutex::new(0usize));
    let results: Arc<Mutex<Vec<Option<RunRecord>>>> = Arc::new(Mutex::new(vec![None; jobs.len()]));
    let jobs = Arc::new(jobs);
    let cells = Arc::new(cells);
    let mut workers = tokio::task::JoinSet::new();
    for net in nets(a.parallel.min(jobs.len().max(1))) {
        let (next, results, jobs, cells) =
            (next.clone(), results.clone(), jobs.clone(), cells.clone());
        let (intr, bar, a, exe, dir) = (
            interrupted.clone(),
            bar.clone(),
            a.clone(),
            exe.to_path_buf(),
            dir.to_path_buf(),
        );
        let deadline = plan.deadline;
        let default_kinds = default_kinds.clone();
        workers.spawn(async move {
            loop {
                if *intr.borrow() {
                    break;
                }
                let j = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    let j = *n;
                    *n += 1;
                    j
                };
                let Some(&(c, seed)) = jobs.get(j) else { break };
                let cell = &cells[c];
                let c_run = ChildRun {
                    exe: exe.clone(),
                    args: test_args(&a, cell, &default_kinds),
                    seed,
                    campaign_dir: dir.clone(),
                    store: Path::new("runs")
                        .join(&cell.id)
                        .join(format!("seed-{seed}")),
                    deadline,
                    net,
                };
                let rec = child::run(&c_run, intr.clone()).await;
                let said = match (rec.verdict, cell.expects_anomaly()) {
                    (Verdict::Invalid, true) => "found the bug".to_string(),
                    (Verdict::Invalid, false) => "FALSE ALARM".to_string(),
                    (Verdict::Valid, true) => "bug not found".to_string(),
                    (Verdict::Valid, false) => "valid".to_string(),
                    (Verdict::Unknown, _) => {
                        format!("unknown: {}", rec.reason.as_deref().unwrap_or(""))
                    }
                };
                let line = format!(
                    "{} seed {}: {} ({:.0} s){}",
                    cell.id,
                    seed,
                    said,
                    rec.duration_s,
                    rec.time_to_detect_s
                        .map(|t| format!(
                            ", detected at {t:.1} s by {}",
                            rec.caught_by.as_deref().unwrap_or("?")
                        ))
                        .unwrap_or_default()
                );
                // A hidden bar (no terminal) prints nothing: the line goes to stderr itself.
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
                bar.inc(1);
                results.lock().unwrap_or_else(|e| e.into_inner())[j] = Some(rec);
            }
        });
    }
    while workers.join_next().await.is_some() {}
    bar.finish_and_clear();
    let was_interrupted = *interrupted.borrow();
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    let mut per_cell: Vec<Vec<RunRecord>> = vec![Vec::new(); cells.len()];
    for (k, r) in results.into_iter().enumerate() {
        let (c, seed) = jobs[k];
        let r = r.unwrap_or_else(|| RunRecord {
            seed,
            dir: None,
            store: Path::new("runs")
                .join(&cells[c].id)
                .join(format!("seed-{seed}"))
                .display()
                .to_string(),
            verdict: Verdict::Unknown,
            exit_code: None,
            reason: Some("not run: the campaign was interrupted first".into()),
            anomaly: None,
            anomaly_kind: None,
            caught_by: None,
            invalid_checkers: Vec::new(),
            time_to_detect_s: None,
            duration_s: 0.0,
            rerun: String::new(),
        });
        per_cell[c].push(r);
    }
    let records = cells
        .iter()
        .zip(per_cell)
        .map(|(c, runs)| CellRecord::new(c.clone(), runs))
        .collect();
    (records, was_interrupted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: CampaignArgs,
    }

    #[test]
    fn the_default_faults_leave_clocks_out_only_for_a_system_they_cannot_reach() {
        let a = Cli::parse_from(["faultline"]).a;
        let all = nemeses::FaultKind::ALL;
        let nemesis = |system: &str| {
            let v = test_args(&a, &Cell::new(system, "register", "default", "none"), &all);
            v[v.iter().position(|x| x == "--nemesis").expect("--nemesis") + 1].clone()
        };
        assert!(nemesis("raft").contains("clock"));
        assert!(nemesis("zookeeper").contains("clock"));
        let etcd = nemesis("etcd");
        assert!(!etcd.contains("clock"), "{etcd}");
        assert!(
            etcd.contains("lose-unsynced") && etcd.contains("sync-crash"),
            "{etcd}"
        );
    }
}
