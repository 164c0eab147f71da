//! `faultline analyze RUN_DIR`: check a stored run again.

use crate::runlog::RunLog;
use clap::Args;
use histories::History;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use workloads::WorkloadKind;

#[derive(Args, Debug, Clone)]
pub struct AnalyzeArgs {
    /// A run directory (store/<test>/<time>/, or store/latest).
    pub run_dir: PathBuf,
    /// Seconds the linearizability checker may spend per key.
    #[arg(long, default_value_t = 30.0)]
    pub check_timeout: f64,
}

/// Reads a journal, dropping a last line cut short by a harness that died mid-write. Returns the
/// history and, if a line was dropped, a sentence saying so.
pub fn load_history(path: &Path) -> Result<(History, Option<String>), String> {
    let mut bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut note = None;
    if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        note = Some(format!(
            "{} ends in an incomplete line ({} bytes, cut when the harness died); it was ignored",
            path.display(),
            bytes.len() - keep
        ));
        bytes.truncate(keep);
    }
    let h = histories::read_jsonl(&bytes[..])
        .map_err(|e| format!("{} is not a valid history: {e}", path.display()))?;
    Ok((h, note))
}

pub fn run(args: AnalyzeArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("faultline analyze: {e}");
            ExitCode::from(crate::EXIT_BAD_INPUT)
        }
    }
}

fn run_inner(args: &AnalyzeArgs) -> Result<ExitCode, String> {
    let dir = &args.run_dir;
    let test_path = dir.join("test.json");
    let text = std::fs::read_to_string(&test_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (is {} a run directory?)",
            test_path.display(),
            dir.display()
        )
    })?;
    let test: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", test_path.display()))?;
    let workload: WorkloadKind = test
        .get("workload")
        .and_then(|w| w.get("kind"))
        .and_then(|k| k.as_str())
        .ok_or_else(|| format!("{} names no workload kind", test_path.display()))?
        .parse()
        .map_err(|e: workloads::WorkloadError| e.to_string())?;
    if !(args.check_timeout.is_finite() && args.check_timeout > 0.0) {
        return Err("--check-timeout must be a positive number of seconds".into());
    }
    let log = RunLog::append(&dir.join("log.txt"))
        .map_err(|e| format!("cannot open {}: {e}", dir.join("log.txt").display()))?;
    log.line("faultline analyze: checking the stored history again");
    // Keep the journal figures of the original run.
    let journal = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("journal").cloned());
    crate::runner::check_and_report(
        dir,
        workload,
        Duration::from_secs_f64(args.check_timeout),
        false,
        journal,
        false,
        &log,
    )
    .map_err(|e| e.to_string())
}
