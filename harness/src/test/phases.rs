//! The phases of one `faultline test` run: the run directory and test.json, the cluster coming
//! up, the main phase (workers and nemesis), the final phase (heal, restart, recover, final
//! reads), and checking what was recorded.

use super::args::{rerun_command, Config, TestArgs};
use super::journal_stats::journal_json;
use crate::analysis::{check_run, AnalysisError, CheckRun};
use crate::control::{faults, ControlError, FaultCluster, LocalCluster};
use crate::journal::Journal;
use crate::progress::Progress;
use crate::runlog::RunLog;
use crate::signals::{interrupt_signal, wait_true, OnInterrupt};
use crate::store::{RunDir, StoreError};
use checkers::Validity;
use nemeses::{Nemesis, Plan, PlanConfig};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::client::ClientOptions;
use workloads::{run_final_reads, run_workers, WorkerConfig};

/// Why a run failed after it started (the harness's failure: exit 255).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot create log.txt in {}: {source}", .dir.display())]
    Log {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("the cluster did not come up: {0}")]
    NotReady(#[source] ControlError),
    #[error("the cluster did not come up: interrupted before the cluster was ready")]
    InterruptedBeforeReady,
    #[error("cannot create history.jsonl: {0}")]
    Journal(#[source] std::io::Error),
    #[error("writing history.jsonl failed: {0}")]
    JournalWrite(#[source] std::io::Error),
    #[error(transparent)]
    Check(#[from] AnalysisError),
}

pub(super) async fn run_async(
    args: TestArgs,
    cfg: Config,
    binary: Option<PathBuf>,
) -> Result<Validity, RunError> {
    let interrupted = interrupt_signal(OnInterrupt {
        announce: None,
        exit_on_second: true,
    });
    let run = RunDir::create(&args.store, &cfg.name)?;
    let run_dir = run.path().to_path_buf();
    let log =
        Arc::new(
            RunLog::create(&run_dir.join("log.txt")).map_err(|source| RunError::Log {
                dir: run_dir.clone(),
                source,
            })?,
        );
    eprintln!("faultline: run directory {}", run_dir.display());
    for m in faults::remove_leftovers() {
        log.line(&format!(
            "removed a fault filesystem an earlier run left at {}",
            m.display()
        ));
    }
    log.line(&format!(
        "test {}: system {}, workload {}, nemesis {}, {} nodes, concurrency {}, {} s, rate {}, seed {}",
        cfg.name,
        cfg.system.name(),
        cfg.spec.kind.name(),
        args.nemesis,
        args.nodes,
        args.concurrency,
        args.time_limit,
        args.rate,
        cfg.seed
    ));
    let time_limit = Duration::from_secs_f64(args.time_limit);
    let recovery = Duration::from_secs_f64(args.recovery_timeout);
    let opts = ClientOptions {
        op_timeout: Duration::from_secs_f64(args.op_timeout),
        zab_sync_reads: args.zab_sync_reads,
    };

    // The cluster.
    let mut node_version: Option<String> = None;
    let mut node_args = args.node_args.clone();
    let cluster: Option<Arc<LocalCluster>> = match binary {
        None => None,
        Some(binary) => {
            log.line(&format!("binary {}", binary.display()));
            for bug in &args.bugs {
                node_args.extend(cfg.system.bug_args(bug));
            }
            node_version = std::process::Command::new(&binary)
                .arg("--version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
            let c =
                LocalCluster::create(cfg.system, binary, args.nodes, &run_dir, &node_args).await?;
            Some(Arc::new(c))
        }
    };
    let faults: Option<Arc<FaultCluster>> = match &cluster {
        Some(c) => Some(Arc::new(FaultCluster::prepare(c.clone(), &cfg.kinds)?)),
        None => None,
    };
    let node_names: Vec<String> = match &cluster {
        Some(c) => nemeses::Cluster::node_names(c.as_ref()),
        None => vec!["local".into()],
    };
    let plan = Plan::generate_with(&PlanConfig {
        kinds: cfg.kinds.clone(),
        nodes: node_names.clone(),
        seed: cfg.seed,
        interval_ms: (args.nemesis_interval * 1000.0) as u64,
        duration_ms: (args.time_limit * 1000.0) as u64,
        election_timeout_ms: cfg.system.election_timeout_ms(),
    });
    let test_json = json!({
        "name": cfg.name,
        "seed": cfg.seed,
        "system": cfg.system.name(),
        "workload": cfg.spec,
        "nemesis": args.nemesis,
        "nemesis_kinds": cfg.kinds,
        "nemesis_interval_s": args.nemesis_interval,
        "nodes": args.nodes,
        "concurrency": args.concurrency,
        "time_limit_s": args.time_limit,
        "rate": args.rate,
        "op_timeout_s": args.op_timeout,
        "zab_sync_reads": args.zab_sync_reads,
        "bugs": args.bugs,
        "node_args": args.node_args,
        "recovery_timeout_s": args.recovery_timeout,
        "final_restart": !args.no_final_restart,
        "plan": plan,
        "cluster": cluster.as_ref().map(|c| c.describe()),
        "faults": faults.as_ref().map(|f| f.describe()),
        "versions": {"faultline": env!("CARGO_PKG_VERSION"), "node": node_version},
        "command": std::env::args().collect::<Vec<_>>(),
        "rerun": rerun_command(&args, &cfg),
    });
    run.write_test(&test_json)?;

    // Start and wait.
    if let Some(c) = &cluster {
        c.start_all()?;
        log.line(&format!(
            "started {} nodes; waiting for a leader",
            args.nodes
        ));
        let ready = tokio::select! {
            r = c.wait_ready(recovery) => r.map_err(RunError::NotReady),
            _ = wait_true(interrupted.clone()) => Err(RunError::InterruptedBeforeReady),
        };
        match ready {
            Ok(l) => log.line(&format!("cluster ready; leader {l}")),
            Err(e) => {
                c.stop_all(Duration::from_secs(2));
                if let Some(f) = &faults {
                    let _ = f.finish();
                }
                return Err(e);
            }
        }
    }

    let start = Instant::now();
    let start_wall = std::time::SystemTime::now();
    let journal = Arc::new(
        Journal::create(&run_dir.join("history.jsonl"), start).map_err(RunError::Journal)?,
    );
    let progress = Progress::start(journal.clone(), start, time_limit);
    let clients = cfg.system.clients(
        cluster.as_ref().map(|c| c.endpoints()).unwrap_or_default(),
        opts,
    );

    // The nemesis runs until the time limit (or an interrupt).
    let (nem_stop_tx, nem_stop_rx) = watch::channel(false);
    let nemesis_task = faults.clone().map(|c| {
        let j = journal.clone();
        let plan = plan.clone();
        let mut stop = nem_stop_rx.clone();
        let intr = interrupted.clone();
        tokio::spawn(async move {
            let mut n = Nemesis::new(plan);
            let (tx, rx) = watch::channel(false);
            let fwd = tokio::spawn(async move {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => {}
                    _ = wait_true(intr) => {}
                }
                let _ = tx.send(true);
            });
            n.run(c.as_ref(), j.as_ref(), start, rx).await;
            fwd.abort();
            n
        })
    });

    log.line("main phase");
    let wcfg = WorkerConfig {
        concurrency: args.concurrency,
        seed: cfg.seed,
        time_limit,
        rate: args.rate,
    };
    let cl = clients.clone();
    let report = run_workers(
        &wcfg,
        &cfg.spec,
        move |w| cl(w as usize),
        journal.clone(),
        start,
        interrupted.clone(),
    )
    .await;
    let _ = nem_stop_tx.send(true);
    let was_interrupted = *interrupted.borrow();
    log.line(&format!(
        "main phase over after {:.1} s: {} invocations{}",
        start.elapsed().as_secs_f64(),
        report.invocations,
        if was_interrupted {
            " (interrupted)"
        } else {
            ""
        }
    ));

    // Final phase: heal everything, restart every node, wait for recovery, final reads.
    progress.message("final phase: healing");
    let mut recovered = true;
    if let (Some(c), Some(f), Some(task)) = (&cluster, &faults, nemesis_task) {
        match task.await {
            Ok(mut n) => n.heal_all(f.as_ref(), journal.as_ref()).await,
            Err(e) => {
                log.line(&format!("the nemesis task failed: {e}; healing directly"));
                c.proxy().heal();
            }
        }
        log.line("healed every fault; every node resumed and running");
        if !was_interrupted && !args.no_final_restart {
            // Restart every node (SIGTERM, then start), so the final reads also show that what
            // was acknowledged survives a restart of the whole cluster.
            progress.message("final phase: restarting every node");
            let names = nemeses::Cluster::node_names(c.as_ref());
            let r = c.restart_all(Duration::from_secs(3));
            nemeses::NemesisLog::record(
                journal.as_ref(),
                "restart-all",
                json!({ "nodes": names }),
                r.err().map(|e| e.to_string()),
            );
            log.line("restarted every node");
        }
        if !was_interrupted {
            progress.message("final phase: waiting for recovery");
            let r = tokio::select! {
                r = c.wait_ready(recovery) => r.map_err(|e| e.to_string()),
                _ = wait_true(interrupted.clone()) => Err("interrupted".to_string()),
            };
            match r {
                Ok(l) => log.line(&format!("recovered; leader {l}")),
                Err(e) => {
                    recovered = false;
                    log.line(&format!("the cluster did not recover: {e}"));
                }
            }
        }
    }
    if !*interrupted.borrow() {
        progress.message("final phase: final reads");
        let reads = cfg.spec.final_reads(&report.gens, node_names.len());
        let cl = clients.clone();
        let final_reads = run_final_reads(
            reads,
            move |n| cl(n),
            journal.clone(),
            report.next_process,
            if recovered { 10 } else { 2 },
            Duration::from_millis(500),
            interrupted.clone(),
        )
        .await;
        let ok = final_reads
            .iter()
            .filter(|r| {
                r.completion
                    .as_ref()
                    .is_some_and(|c| c.kind == histories::EventType::Ok)
            })
            .count();
        log.line(&format!(
            "final reads: {ok} of {} succeeded",
            final_reads.len()
        ));
    }
    drop(progress);
    let jstats = journal.close().map_err(RunError::JournalWrite)?;
    let elapsed = start.elapsed();
    if let Some(c) = &cluster {
        c.stop_all(Duration::from_secs(3));
        log.line("stopped every node");
        if let Some(f) = &faults {
            match f.finish() {
                Ok(()) => log.line("fault machinery removed (fault filesystems unmounted)"),
                Err(e) => log.line(&e.to_string()),
            }
        }
    }
    let interrupted_now = *interrupted.borrow();
    if interrupted_now {
        eprintln!("faultline: interrupted — healed, resumed and stopped the nodes; checking what was recorded");
    }
    let mut jour = journal_json(&jstats, elapsed);
    // The history's zero on the wall clock: the report places node log lines with it.
    jour["start_unix_ms"] = json!(start_wall
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3));
    log.line(&format!("journal: {jour}"));
    let how = CheckRun {
        opts: checkers::suite::Options {
            timeout: Duration::from_secs_f64(args.check_timeout),
            ..Default::default()
        },
        no_check: args.no_check,
        journal: Some(jour),
        interrupted: interrupted_now,
    };
    Ok(check_run(&run, &how, &log)?)
}
