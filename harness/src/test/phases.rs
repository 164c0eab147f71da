//! The phases of one `faultline test` run: the run directory and test.json, the cluster coming
//! up, the main phase (workers and nemesis), the final phase (heal, restart, recover, final
//! reads), and checking what was recorded.

use super::args::{rerun_command, Config, TestArgs};
use super::journal_stats::journal_json;
use crate::analysis::{check_run, AnalysisError, CheckRun};
use crate::control::{faults, ControlError, FaultCluster, LocalCluster};
use crate::db::Clients;
use crate::journal::Journal;
use crate::progress::Progress;
use crate::runlog::RunLog;
use crate::signals::{interrupt_signal, wait_true, OnInterrupt};
use crate::store::{RunDir, StoreError};
use checkers::Validity;
use nemeses::{Nemesis, Plan, PlanConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use workloads::client::ClientOptions;
use workloads::{run_final_reads, run_workers, WorkerConfig, WorkerReport};

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
    let s = set_up(&args, &cfg, binary).await?;
    if let Some(c) = &s.cluster {
        come_up(c, s.faults.as_deref(), &s.log, &args, &interrupted).await?;
    }

    let time_limit = Duration::from_secs_f64(args.time_limit);
    let start = Instant::now();
    let start_wall = std::time::SystemTime::now();
    let journal = Arc::new(
        Journal::create(&s.run.path().join("history.jsonl"), start).map_err(RunError::Journal)?,
    );
    let progress = Progress::start(journal.clone(), start, time_limit);
    let opts = ClientOptions {
        op_timeout: Duration::from_secs_f64(args.op_timeout),
        sync_reads: args.sync_reads,
        etcd_serializable_reads: args.etcd_serializable_reads,
    };
    let clients = cfg.system.clients(
        s.cluster
            .as_ref()
            .map(|c| c.endpoints())
            .unwrap_or_default(),
        opts,
    );

    // The nemesis runs until the time limit (or an interrupt).
    let (nem_stop_tx, nem_stop_rx) = watch::channel(false);
    let nemesis_task = s.faults.clone().map(|c| {
        spawn_nemesis(
            c,
            s.plan.clone(),
            journal.clone(),
            start,
            nem_stop_rx,
            interrupted.clone(),
        )
    });
    let report = main_phase(&args, &cfg, &s.log, &clients, &journal, start, &interrupted).await;
    let _ = nem_stop_tx.send(true);

    // Final phase: heal everything, restart every node, wait for recovery, final reads.
    progress.message("final phase: healing");
    let recovered = match nemesis_task {
        Some(task) => heal_and_recover(&s, task, &journal, &progress, &args, &interrupted).await,
        None => true,
    };
    if !*interrupted.borrow() {
        progress.message("final phase: final reads");
        final_reads(
            &cfg,
            &s,
            &report,
            &clients,
            &journal,
            recovered,
            &interrupted,
        )
        .await;
    }
    drop(progress);
    let jstats = journal.close().map_err(RunError::JournalWrite)?;
    let elapsed = start.elapsed();
    tear_down(&s);

    // Checking what was recorded.
    let interrupted_now = *interrupted.borrow();
    if interrupted_now {
        eprintln!("faultline: interrupted — healed, resumed and stopped the nodes; checking what was recorded");
    }
    let mut jour = journal_json(&jstats, elapsed);
    // The history's zero on the wall clock: the report places node log lines with it.
    jour["start_unix_ms"] = json!(start_wall
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3));
    s.log.line(&format!("journal: {jour}"));
    let how = CheckRun {
        opts: checkers::suite::Options {
            timeout: Duration::from_secs_f64(args.check_timeout),
            ..Default::default()
        },
        no_check: args.no_check,
        journal: Some(jour),
        interrupted: interrupted_now,
    };
    Ok(check_run(&s.run, &how, &s.log)?)
}

/// What setting up made: the run directory and its log, the nodes (none for an in-process
/// system) with their fault machinery, and the fault plan.
struct Setup {
    run: RunDir,
    log: Arc<RunLog>,
    cluster: Option<Arc<LocalCluster>>,
    faults: Option<Arc<FaultCluster>>,
    node_names: Vec<String>,
    plan: Plan,
}

/// Creates the run directory and its log, lays out the nodes (not started) and their fault
/// machinery, draws the fault plan, and writes test.json.
async fn set_up(args: &TestArgs, cfg: &Config, binary: Option<PathBuf>) -> Result<Setup, RunError> {
    let run = RunDir::create(&args.store, &cfg.name)?;
    let run_dir = run.path().to_path_buf();
    let log = RunLog::create(&run_dir.join("log.txt")).map_err(|source| RunError::Log {
        dir: run_dir.clone(),
        source,
    })?;
    let log = Arc::new(log);
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
        client_timeout_ms: (args.op_timeout * 1000.0) as u64,
        leader_schedules: cfg.leader_schedules.clone(),
    });
    let s = Setup {
        run,
        log,
        cluster,
        faults,
        node_names,
        plan,
    };
    s.run.write_test(&test_json(args, cfg, &s, node_version))?;
    Ok(s)
}

/// test.json: the arguments, the plan, the cluster and its fault machinery, the versions and
/// the rerun command.
fn test_json(args: &TestArgs, cfg: &Config, s: &Setup, node_version: Option<String>) -> Value {
    json!({
        "name": cfg.name,
        "seed": cfg.seed,
        "system": cfg.system.name(),
        "workload": cfg.spec,
        "nemesis": args.nemesis,
        "nemesis_kinds": cfg.kinds,
        "nemesis_interval_s": args.nemesis_interval,
        "leader_schedules": cfg.leader_schedules,
        "nodes": args.nodes,
        "concurrency": args.concurrency,
        "time_limit_s": args.time_limit,
        "rate": args.rate,
        "op_timeout_s": args.op_timeout,
        "sync_reads": args.sync_reads,
        "etcd_serializable_reads": args.etcd_serializable_reads,
        "bugs": args.bugs,
        "node_args": args.node_args,
        "recovery_timeout_s": args.recovery_timeout,
        "final_restart": !args.no_final_restart,
        "plan": s.plan,
        "cluster": s.cluster.as_ref().map(|c| c.describe()),
        "faults": s.faults.as_ref().map(|f| f.describe()),
        "versions": {"faultline": env!("CARGO_PKG_VERSION"), "node": node_version},
        "command": std::env::args().collect::<Vec<_>>(),
        "rerun": rerun_command(args, cfg),
    })
}

/// Starts every node and waits for a leader; on failure (or an interrupt) stops them again.
async fn come_up(
    c: &LocalCluster,
    faults: Option<&FaultCluster>,
    log: &RunLog,
    args: &TestArgs,
    interrupted: &watch::Receiver<bool>,
) -> Result<(), RunError> {
    c.start_all()?;
    log.line(&format!(
        "started {} nodes; waiting for a leader",
        args.nodes
    ));
    let recovery = Duration::from_secs_f64(args.recovery_timeout);
    let ready = tokio::select! {
        r = c.wait_ready(recovery) => r.map_err(RunError::NotReady),
        _ = wait_true(interrupted.clone()) => Err(RunError::InterruptedBeforeReady),
    };
    match ready {
        Ok(l) => {
            log.line(&format!("cluster ready; leader {l}"));
            Ok(())
        }
        Err(e) => {
            c.stop_all(Duration::from_secs(2));
            if let Some(f) = faults {
                let _ = f.finish();
            }
            Err(e)
        }
    }
}

/// Runs the plan's faults on `c` until `stop` (or an interrupt); the task returns the nemesis,
/// which knows what to heal.
fn spawn_nemesis(
    c: Arc<FaultCluster>,
    plan: Plan,
    journal: Arc<Journal>,
    start: Instant,
    mut stop: watch::Receiver<bool>,
    interrupted: watch::Receiver<bool>,
) -> JoinHandle<Nemesis> {
    tokio::spawn(async move {
        let mut n = Nemesis::new(plan);
        let (tx, rx) = watch::channel(false);
        let fwd = tokio::spawn(async move {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => {}
                _ = wait_true(interrupted) => {}
            }
            let _ = tx.send(true);
        });
        n.run(c.as_ref(), journal.as_ref(), start, rx).await;
        fwd.abort();
        n
    })
}

/// The workers until the time limit (or an interrupt).
async fn main_phase(
    args: &TestArgs,
    cfg: &Config,
    log: &RunLog,
    clients: &Clients,
    journal: &Arc<Journal>,
    start: Instant,
    interrupted: &watch::Receiver<bool>,
) -> WorkerReport {
    log.line("main phase");
    let wcfg = WorkerConfig {
        concurrency: args.concurrency,
        seed: cfg.seed,
        time_limit: Duration::from_secs_f64(args.time_limit),
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
    log.line(&format!(
        "main phase over after {:.1} s: {} invocations{}",
        start.elapsed().as_secs_f64(),
        report.invocations,
        if *interrupted.borrow() {
            " (interrupted)"
        } else {
            ""
        }
    ));
    report
}

/// Heals every fault (through the nemesis, or the proxy directly if its task failed), then,
/// unless interrupted, restarts every node (unless --no-final-restart) and waits for recovery.
/// Returns whether the cluster recovered.
async fn heal_and_recover(
    s: &Setup,
    task: JoinHandle<Nemesis>,
    journal: &Journal,
    progress: &Progress,
    args: &TestArgs,
    interrupted: &watch::Receiver<bool>,
) -> bool {
    let (Some(c), Some(f)) = (&s.cluster, &s.faults) else {
        return true;
    };
    let log = &s.log;
    let was_interrupted = *interrupted.borrow();
    match task.await {
        Ok(mut n) => n.heal_all(f.as_ref(), journal).await,
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
            journal,
            "restart-all",
            json!({ "nodes": names }),
            r.err().map(|e| e.to_string()),
        );
        log.line("restarted every node");
    }
    if was_interrupted {
        return true;
    }
    progress.message("final phase: waiting for recovery");
    let recovery = Duration::from_secs_f64(args.recovery_timeout);
    let waiting = Instant::now();
    let r = tokio::select! {
        r = c.wait_ready(recovery) => r.map_err(|e| e.to_string()),
        _ = wait_true(interrupted.clone()) => Err("interrupted".to_string()),
    };
    if *interrupted.borrow() {
        return true;
    }
    // The liveness checker's record: a leader after the final heal, or none in time.
    let value = |leader: Option<&str>| {
        json!({
            "leader": leader,
            "waited_s": waiting.elapsed().as_secs_f64(),
            "timeout_s": args.recovery_timeout,
        })
    };
    match r {
        Ok(l) => {
            nemeses::NemesisLog::record(
                journal,
                checkers::liveness::RECOVER,
                value(Some(&l)),
                None,
            );
            log.line(&format!("recovered; leader {l}"));
            true
        }
        Err(e) => {
            nemeses::NemesisLog::record(
                journal,
                checkers::liveness::RECOVER,
                value(None),
                Some(e.clone()),
            );
            log.line(&format!("the cluster did not recover: {e}"));
            false
        }
    }
}

/// The workload's final reads (more tries when the cluster recovered).
async fn final_reads(
    cfg: &Config,
    s: &Setup,
    report: &WorkerReport,
    clients: &Clients,
    journal: &Arc<Journal>,
    recovered: bool,
    interrupted: &watch::Receiver<bool>,
) {
    let reads = cfg.spec.final_reads(&report.gens, s.node_names.len());
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
    s.log.line(&format!(
        "final reads: {ok} of {} succeeded",
        final_reads.len()
    ));
}

/// Stops every node and removes the fault machinery (fault filesystems unmounted).
fn tear_down(s: &Setup) {
    if let Some(c) = &s.cluster {
        c.stop_all(Duration::from_secs(3));
        s.log.line("stopped every node");
        if let Some(f) = &s.faults {
            match f.finish() {
                Ok(()) => s
                    .log
                    .line("fault machinery removed (fault filesystems unmounted)"),
                Err(e) => s.log.line(&e.to_string()),
            }
        }
    }
}
