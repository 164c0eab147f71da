//! `faultline test`: start a cluster, drive a workload against it under a nemesis, journal the
//! history, heal and recover, do final reads, check, summarize, and store it all (Contract 3).

use crate::analysis::{check_run, CheckRun};
use crate::control::{faults, locate_binary, FaultCluster, LocalCluster};
use crate::db::{self, System};
use crate::journal::{Journal, JournalStats};
use crate::progress::Progress;
use crate::runlog::RunLog;
use crate::store::RunDir;
use clap::Args;
use nemeses::{Nemesis, Plan, PlanConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use workloads::client::ClientOptions;
use workloads::{run_final_reads, run_workers, Mix, WorkerConfig, WorkloadKind, WorkloadSpec};

/// Options of `faultline test`.
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// The system under test: raft, zab, or noop (an in-process map, to measure the harness).
    #[arg(long, default_value = "raft")]
    pub system: String,
    /// Switch on one of the system's re-introducible bugs on every node (repeatable); the
    /// node binary's --list-bugs names them.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// The workload: register, set or kv.
    #[arg(long, default_value = "register")]
    pub workload: String,
    /// Faults: none, all, or a comma-separated list of partition, kill, pause, lose-unsynced,
    /// clock, slow-link, flaky-link, leader.
    #[arg(long, default_value = "partition,kill")]
    pub nemesis: String,
    /// Seconds of each fault and of each quiet spell between faults.
    #[arg(long, default_value_t = 10.0)]
    pub nemesis_interval: f64,
    /// Number of nodes.
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Number of client workers.
    #[arg(long, default_value_t = 10)]
    pub concurrency: u64,
    /// Seconds of workload before the final phase.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Operations per second across all workers (0: unlimited).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Seed of the fault schedule and of every worker's operations (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory of stored runs.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Name of the test in the store (default: system-workload-nemesis).
    #[arg(long)]
    pub name: Option<String>,
    /// read,write,cas weights of the register and kv workloads.
    #[arg(long, default_value = "50,30,20")]
    pub mix: String,
    /// register: about how many operations each key gets before a fresh key replaces it.
    #[arg(long, default_value_t = 100)]
    pub ops_per_key: u64,
    /// kv: number of keys.
    #[arg(long, default_value_t = 5)]
    pub keys: u64,
    /// Seconds a client waits for one request before recording info.
    #[arg(long, default_value_t = 2.0)]
    pub op_timeout: f64,
    /// zab: sync before every read.
    #[arg(long)]
    pub zab_sync_reads: bool,
    /// Directory holding raft-node / zab-node (default: next to faultline, else built with cargo).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Extra argument for every node's command line (repeatable), e.g. --node-arg=--bug=NAME.
    #[arg(long = "node-arg", allow_hyphen_values = true)]
    pub node_args: Vec<String>,
    /// Seconds to wait for the cluster to be ready at start and after healing.
    #[arg(long, default_value_t = 30.0)]
    pub recovery_timeout: f64,
    /// Seconds the linearizability checker may spend per key.
    #[arg(long, default_value_t = 30.0)]
    pub check_timeout: f64,
    /// Do not restart every node in the final phase (they are still healed, resumed and started).
    #[arg(long)]
    pub no_final_restart: bool,
    /// Skip checking (the history is still stored; `faultline analyze` checks it later).
    #[arg(long)]
    pub no_check: bool,
}

/// Everything derived from the arguments, validated.
struct Config {
    system: &'static dyn System,
    spec: WorkloadSpec,
    kinds: Vec<nemeses::FaultKind>,
    seed: u64,
    name: String,
}

fn validate(a: &TestArgs) -> Result<Config, String> {
    let system = db::find(&a.system).map_err(|e| e.to_string())?;
    let kind: WorkloadKind = a
        .workload
        .parse()
        .map_err(|e: workloads::WorkloadError| e.to_string())?;
    db::check_workload(system, kind).map_err(|e| e.to_string())?;
    let kinds = nemeses::parse_kinds(&a.nemesis).map_err(|e| e.to_string())?;
    let mix: Mix = a
        .mix
        .parse()
        .map_err(|e: workloads::WorkloadError| e.to_string())?;
    if a.nodes == 0 || a.nodes > 200 {
        return Err(format!(
            "--nodes must be between 1 and 200, not {}",
            a.nodes
        ));
    }
    if a.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    for (name, v) in [
        ("--time-limit", a.time_limit),
        ("--nemesis-interval", a.nemesis_interval),
        ("--op-timeout", a.op_timeout),
        ("--recovery-timeout", a.recovery_timeout),
        ("--check-timeout", a.check_timeout),
    ] {
        if !(v.is_finite() && v > 0.0 && v < 1e7) {
            return Err(format!(
                "{name} must be a positive number of seconds, not {v}"
            ));
        }
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(format!(
            "--rate must be zero (unlimited) or positive, not {}",
            a.rate
        ));
    }
    if system.binary().is_none() && !kinds.is_empty() {
        return Err(format!(
            "the {} system runs in-process and cannot take faults; use --nemesis none",
            system.name()
        ));
    }
    if system.binary().is_none() && !a.bugs.is_empty() {
        return Err(format!(
            "the {} system runs in-process and has no bugs to switch on",
            system.name()
        ));
    }
    faults::check_available(&kinds)?;
    if kinds.contains(&nemeses::FaultKind::Partition) && a.nodes < 2 {
        return Err("partitions need at least 2 nodes".into());
    }
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            % 1_000_000_000
    });
    let mut spec = WorkloadSpec::new(kind, a.concurrency);
    spec.mix = mix;
    spec.ops_per_key = a.ops_per_key.max(1);
    spec.keys = a.keys.max(1);
    let nemesis_name = if kinds.is_empty() {
        "none".to_string()
    } else {
        kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join("+")
    };
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-{}", system.name(), kind.name(), nemesis_name));
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(format!("--name {name:?} must be a plain directory name"));
    }
    Ok(Config {
        system,
        spec,
        kinds,
        seed,
        name,
    })
}

/// Runs `faultline test`; returns the process exit code (Contract 4).
pub fn run(args: TestArgs) -> ExitCode {
    let cfg = match validate(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("faultline test: {e}");
            return ExitCode::from(crate::EXIT_BAD_INPUT);
        }
    };
    // The node binary, and the bugs asked for checked against its --list-bugs, before anything
    // is created.
    let binary = match cfg.system.binary() {
        None => None,
        Some(b) => match locate_binary(b.bin, b.package, args.bin_dir.as_deref()) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("faultline test: {e}");
                return ExitCode::from(crate::EXIT_HARNESS);
            }
        },
    };
    if let Some(bin) = &binary {
        if let Err(e) = db::check_bugs(cfg.system, bin, &args.bugs) {
            eprintln!("faultline test: {e}");
            return ExitCode::from(if e.is_bad_input() {
                crate::EXIT_BAD_INPUT
            } else {
                crate::EXIT_HARNESS
            });
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("faultline test: cannot start the async runtime: {e}");
            return ExitCode::from(crate::EXIT_HARNESS);
        }
    };
    match rt.block_on(run_async(args, cfg, binary)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faultline test: {e}");
            ExitCode::from(crate::EXIT_HARNESS)
        }
    }
}

/// Turns true on the first Ctrl-C or SIGTERM; a second Ctrl-C exits at once.
fn interrupt_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term_fut = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_fut => {}
        }
        let _ = tx.send(true);
        // A second Ctrl-C does not wait for the orderly shutdown: exit now. The nodes die with
        // the harness (parent-death signal); the journal keeps every complete line.
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("faultline: interrupted again; exiting without checking");
            std::process::exit(crate::EXIT_HARNESS as i32);
        }
    });
    rx
}

async fn run_async(
    args: TestArgs,
    cfg: Config,
    binary: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let interrupted = interrupt_signal();
    let run = RunDir::create(&args.store, &cfg.name).map_err(|e| e.to_string())?;
    let run_dir = run.path().to_path_buf();
    let log = Arc::new(
        RunLog::create(&run_dir.join("log.txt"))
            .map_err(|e| format!("cannot create log.txt in {}: {e}", run_dir.display()))?,
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
    run.write_test(&test_json).map_err(|e| e.to_string())?;

    // Start and wait.
    if let Some(c) = &cluster {
        c.start_all()?;
        log.line(&format!(
            "started {} nodes; waiting for a leader",
            args.nodes
        ));
        let ready = tokio::select! {
            r = c.wait_ready(recovery) => r,
            _ = wait_true(interrupted.clone()) => Err("interrupted before the cluster was ready".into()),
        };
        match ready {
            Ok(l) => log.line(&format!("cluster ready; leader {l}")),
            Err(e) => {
                c.stop_all(Duration::from_secs(2));
                if let Some(f) = &faults {
                    let _ = f.finish();
                }
                return Err(format!("the cluster did not come up: {e}"));
            }
        }
    }

    let start = Instant::now();
    let start_wall = std::time::SystemTime::now();
    let journal = Arc::new(
        Journal::create(&run_dir.join("history.jsonl"), start)
            .map_err(|e| format!("cannot create history.jsonl: {e}"))?,
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
                r.err(),
            );
            log.line("restarted every node");
        }
        if !was_interrupted {
            progress.message("final phase: waiting for recovery");
            let r = tokio::select! {
                r = c.wait_ready(recovery) => r,
                _ = wait_true(interrupted.clone()) => Err("interrupted".into()),
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
    let jstats = journal
        .close()
        .map_err(|e| format!("writing history.jsonl failed: {e}"))?;
    let elapsed = start.elapsed();
    if let Some(c) = &cluster {
        c.stop_all(Duration::from_secs(3));
        log.line("stopped every node");
        if let Some(f) = &faults {
            match f.finish() {
                Ok(()) => log.line("fault machinery removed (fault filesystems unmounted)"),
                Err(e) => log.line(&e),
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
    let valid = check_run(&run, &how, &log).map_err(|e| e.to_string())?;
    Ok(ExitCode::from(valid.exit_code() as u8))
}

fn journal_json(s: &JournalStats, elapsed: Duration) -> Value {
    let secs = elapsed.as_secs_f64().max(1e-9);
    json!({
        "events": s.events,
        "bytes": s.bytes,
        "bytes_per_event": if s.events > 0 { s.bytes as f64 / s.events as f64 } else { 0.0 },
        "events_per_s": s.events as f64 / secs,
        "writer_cpu_s": s.writer_cpu.as_secs_f64(),
        "writer_cpu_share_of_one_core": s.writer_cpu.as_secs_f64() / secs,
        "max_queued": s.max_queued,
        "peak_rss_bytes_before_check": peak_rss_bytes(),
    })
}

/// The process's peak resident set so far (VmHWM), in bytes; taken before the history is read
/// back for checking, it bounds what running and journaling cost in memory.
fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

async fn wait_true(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The command line that reruns this test with the same seed.
fn rerun_command(a: &TestArgs, cfg: &Config) -> String {
    let mut s = format!(
        "faultline test --system {} --workload {} --nemesis {} --nemesis-interval {} --nodes {} --concurrency {} --time-limit {} --rate {} --seed {} --mix {} --ops-per-key {} --keys {} --op-timeout {}",
        cfg.system.name(), cfg.spec.kind.name(), if a.nemesis.is_empty() { "none" } else { &a.nemesis },
        a.nemesis_interval, a.nodes, a.concurrency, a.time_limit, a.rate, cfg.seed, a.mix, a.ops_per_key, a.keys, a.op_timeout
    );
    if a.zab_sync_reads {
        s.push_str(" --zab-sync-reads");
    }
    if a.no_final_restart {
        s.push_str(" --no-final-restart");
    }
    for b in &a.bugs {
        s.push_str(&format!(" --bug {b}"));
    }
    for n in &a.node_args {
        s.push_str(&format!(" --node-arg={n}"));
    }
    s
}
