//! One run of a campaign: a child `faultline test` (this same executable) in its own process
//! group, with its own store directory, its own loopback block, and a hard wall-clock deadline.
//! Past the deadline — or on Ctrl-C — the whole group is killed with SIGKILL; the nodes follow
//! their harness (they carry a parent-death signal). A child that crashes, hangs or is killed
//! costs the campaign that one run, recorded as unknown with the reason.

use super::outcome::{finding, last_error_line};
use super::record::{RunRecord, Verdict};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Everything one child run needs.
#[derive(Debug, Clone)]
pub struct ChildRun {
    /// The `faultline` executable.
    pub exe: PathBuf,
    /// `faultline test`'s arguments (without `test`, `--store` and `--seed`).
    pub args: Vec<String>,
    pub seed: u64,
    /// The campaign directory; `store` is relative to it.
    pub campaign_dir: PathBuf,
    pub store: PathBuf,
    pub deadline: Duration,
    /// `a.b`: the run's loopback block 127.a.b.0/24.
    pub net: (u8, u8),
}

/// The output file of a child (its stdout and stderr) inside its store.
pub const OUTPUT: &str = "faultline-test.txt";

fn relative(base: &Path, p: &Path) -> String {
    p.strip_prefix(base).unwrap_or(p).display().to_string()
}

/// The rerun command: the run's own (test.json), else built from the arguments.
fn rerun(run_dir: Option<&Path>, c: &ChildRun) -> String {
    run_dir
        .and_then(|d| std::fs::read_to_string(d.join("test.json")).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|t| t.get("rerun").and_then(|r| r.as_str()).map(String::from))
        .unwrap_or_else(|| {
            let args: Vec<&str> = c
                .args
                .iter()
                .map(String::as_str)
                .filter(|a| !a.starts_with("--name"))
                .collect();
            format!("faultline test {} --seed {}", args.join(" "), c.seed)
        })
}

/// How the child ended.
enum End {
    Exited(Option<i32>),
    Deadline,
    Interrupted,
    SpawnFailed(SpawnError),
}

/// Why a child run could not be started (recorded as the run's reason).
#[derive(Debug, thiserror::Error)]
enum SpawnError {
    #[error("cannot create the run's store {}: {source}", .path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create {}: {source}", .path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot share {}: {source}", .path.display())]
    Share {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {}: {source}", .exe.display())]
    Start {
        exe: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the child to its end (or its deadline, or an interrupt) and reads what it found.
pub async fn run(c: &ChildRun, mut interrupted: watch::Receiver<bool>) -> RunRecord {
    let store = c.campaign_dir.join(&c.store);
    let started = Instant::now();
    let end = match spawn(c, &store) {
        Err(e) => End::SpawnFailed(e),
        Ok(mut child) => {
            let pid = child.id();
            let end = tokio::select! {
                st = child.wait() => End::Exited(st.ok().and_then(|s| s.code())),
                _ = tokio::time::sleep(c.deadline) => End::Deadline,
                _ = interrupted.wait_for(|i| *i) => End::Interrupted,
            };
            if !matches!(end, End::Exited(_)) {
                if let Some(pid) = pid {
                    let _ = crate::control::signal_group(pid, libc::SIGKILL);
                }
                let _ = child.wait().await;
            }
            end
        }
    };
    // The run's own time: until it ended or its group was killed, not the sweep after it.
    let duration = started.elapsed().as_secs_f64();
    if matches!(end, End::Deadline | End::Interrupted) {
        for what in super::leftovers::sweep(&store).await {
            tracing::warn!(store = %store.display(), "after the run was killed: {what}");
        }
    }
    let output = std::fs::read_to_string(store.join(OUTPUT)).unwrap_or_default();
    let run_dir = std::fs::canonicalize(store.join("latest")).ok();
    let results = run_dir
        .as_ref()
        .and_then(|d| std::fs::read_to_string(d.join("results.json")).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let campaign_dir = std::fs::canonicalize(&c.campaign_dir).unwrap_or(c.campaign_dir.clone());
    let mut rec = RunRecord {
        seed: c.seed,
        dir: run_dir.as_ref().map(|d| relative(&campaign_dir, d)),
        store: c.store.display().to_string(),
        verdict: Verdict::Unknown,
        exit_code: None,
        reason: None,
        anomaly: None,
        anomaly_kind: None,
        caught_by: None,
        invalid_checkers: Vec::new(),
        time_to_detect_s: None,
        duration_s: duration,
        rerun: rerun(run_dir.as_deref(), c),
    };
    let said = last_error_line(&output);
    match end {
        End::SpawnFailed(e) => rec.reason = Some(e.to_string()),
        End::Deadline => {
            rec.reason = Some(format!(
                "stopped at its deadline of {:.0} s (time limit + recovery + check budget): the run's process group was killed",
                c.deadline.as_secs_f64()
            ))
        }
        End::Interrupted => rec.reason = Some("interrupted (Ctrl-C): the run was killed".into()),
        End::Exited(code) => {
            rec.exit_code = code;
            let valid = results.as_ref().and_then(|r| r.get("valid"));
            match (valid, code) {
                (Some(serde_json::Value::Bool(false)), _) => rec.verdict = Verdict::Invalid,
                (Some(serde_json::Value::Bool(true)), Some(0)) => rec.verdict = Verdict::Valid,
                (Some(_), _) => {
                    rec.reason = Some(
                        results
                            .as_ref()
                            .and_then(|r| r.get("explanation"))
                            .and_then(|e| e.as_str())
                            .map(|e| format!("undecided: {e}"))
                            .unwrap_or_else(|| "a checker could not decide".into()),
                    )
                }
                (None, code) => {
                    rec.reason = Some(format!(
                        "faultline test exited with {} and wrote no results.json: {}",
                        code.map_or("a signal".to_string(), |c| format!("code {c}")),
                        said.clone().unwrap_or_else(|| "it printed nothing".into())
                    ))
                }
            }
        }
    }
    if rec.verdict == Verdict::Invalid {
        if let Some(f) = results.as_ref().and_then(finding) {
            rec.anomaly = Some(f.sentence);
            rec.anomaly_kind = f.kind;
            rec.caught_by = Some(f.checker);
            rec.invalid_checkers = f.invalid_checkers;
            rec.time_to_detect_s = f.time_ns.map(|t| t as f64 / 1e9);
        }
    }
    rec
}

fn spawn(c: &ChildRun, store: &Path) -> Result<tokio::process::Child, SpawnError> {
    std::fs::create_dir_all(store).map_err(|source| SpawnError::Store {
        path: store.to_path_buf(),
        source,
    })?;
    let out_path = store.join(OUTPUT);
    let out = std::fs::File::create(&out_path).map_err(|source| SpawnError::Output {
        path: out_path.clone(),
        source,
    })?;
    let err = out.try_clone().map_err(|source| SpawnError::Share {
        path: out_path.clone(),
        source,
    })?;
    let mut cmd = tokio::process::Command::new(&c.exe);
    cmd.arg("test")
        .args(&c.args)
        .arg("--seed")
        .arg(c.seed.to_string())
        .arg("--store")
        .arg(store)
        .env(crate::control::NET_ENV, format!("{}.{}", c.net.0, c.net.1))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(true);
    cmd.spawn().map_err(|source| SpawnError::Start {
        exe: c.exe.clone(),
        source,
    })
}
