//! `faultline test`'s arguments: the options, their validation into a [`Config`], and the
//! command line that reruns a test with the same seed.

use crate::control::{faults, ControlError};
use crate::db::{self, DbError, System};
use clap::Args;
use std::path::PathBuf;
use workloads::{Mix, WorkloadError, WorkloadKind, WorkloadSpec};

/// Options of `faultline test`.
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// The system under test: raft, zab, paxos, twopc, etcd, zookeeper, or noop (an in-process
    /// map, to measure the harness).
    #[arg(long, default_value = "raft")]
    pub system: String,
    /// Switch on one of the system's re-introducible bugs on every node (repeatable); the
    /// node binary's --list-bugs names them.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// The workload: register, set, kv, list-append, rw-register or bank (twopc).
    #[arg(long, default_value = "register")]
    pub workload: String,
    /// Faults: none, all, or a comma-separated list of partition, kill, pause, lose-unsynced,
    /// clock, slow-link, flaky-link, leader, sync-crash.
    #[arg(long, default_value = "partition,kill")]
    pub nemesis: String,
    /// The `leader` faults draw only these schedules (comma-separated: isolate-then-kill,
    /// pause-then-resume, kill-then-isolate-successor, crash-all-during-recovery,
    /// crash-during-sync, restart-stale-quorum, isolate-then-rejoin, partition-during-sync);
    /// default: every one.
    #[arg(long, default_value = "")]
    pub leader_schedules: String,
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
    /// zab and zookeeper: sync before every read (local reads are only sequentially consistent).
    #[arg(long, alias = "zab-sync-reads")]
    pub sync_reads: bool,
    /// etcd: serializable reads (a member answers from its own state, perhaps stale) instead of
    /// linearizable ones.
    #[arg(long)]
    pub etcd_serializable_reads: bool,
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
pub(super) struct Config {
    pub system: &'static dyn System,
    pub spec: WorkloadSpec,
    pub kinds: Vec<nemeses::FaultKind>,
    pub seed: u64,
    pub name: String,
    /// `--leader-schedules`, checked (empty: every schedule).
    pub leader_schedules: Vec<String>,
}

/// Why `faultline test`'s arguments were refused (bad input: exit 254).
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    #[error(transparent)]
    Nemesis(#[from] nemeses::NemesisError),
    /// A fault this machine cannot inject (no FUSE, no libfaketime).
    #[error(transparent)]
    Unavailable(#[from] ControlError),
    #[error("--nodes must be between 1 and 200, not {0}")]
    Nodes(usize),
    #[error("--concurrency must be at least 1")]
    Concurrency,
    #[error("{option} must be a positive number of seconds, not {value}")]
    Seconds { option: &'static str, value: f64 },
    #[error("--rate must be zero (unlimited) or positive, not {0}")]
    Rate(f64),
    #[error("the {0} system runs in-process and cannot take faults; use --nemesis none")]
    InProcessFaults(&'static str),
    #[error("the {0} system runs in-process and has no bugs to switch on")]
    InProcessBugs(&'static str),
    #[error("the {system} system cannot take clock faults: {why}; choose other faults")]
    ClockFaults {
        system: &'static str,
        why: &'static str,
    },
    #[error("partitions need at least 2 nodes")]
    PartitionNodes,
    #[error("--name {0:?} must be a plain directory name")]
    Name(String),
}

pub(super) fn validate(a: &TestArgs) -> Result<Config, ArgsError> {
    let system = db::find(&a.system)?;
    let kind: WorkloadKind = a.workload.parse()?;
    db::check_workload(system, kind)?;
    let kinds = nemeses::parse_kinds(&a.nemesis)?;
    let leader_schedules = nemeses::parse_schedule_names(&a.leader_schedules)?;
    let mix: Mix = a.mix.parse()?;
    if a.nodes == 0 || a.nodes > 200 {
        return Err(ArgsError::Nodes(a.nodes));
    }
    if a.concurrency == 0 {
        return Err(ArgsError::Concurrency);
    }
    for (name, v) in [
        ("--time-limit", a.time_limit),
        ("--nemesis-interval", a.nemesis_interval),
        ("--op-timeout", a.op_timeout),
        ("--recovery-timeout", a.recovery_timeout),
        ("--check-timeout", a.check_timeout),
    ] {
        if !(v.is_finite() && v > 0.0 && v < 1e7) {
            return Err(ArgsError::Seconds {
                option: name,
                value: v,
            });
        }
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(ArgsError::Rate(a.rate));
    }
    if system.binary().is_none() && !kinds.is_empty() {
        return Err(ArgsError::InProcessFaults(system.name()));
    }
    if system.binary().is_none() && !a.bugs.is_empty() {
        return Err(ArgsError::InProcessBugs(system.name()));
    }
    if kinds.contains(&nemeses::FaultKind::Clock) {
        system
            .clock_faults()
            .map_err(|why| ArgsError::ClockFaults {
                system: system.name(),
                why,
            })?;
    }
    faults::check_available(&kinds)?;
    if kinds.contains(&nemeses::FaultKind::Partition) && a.nodes < 2 {
        return Err(ArgsError::PartitionNodes);
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
        return Err(ArgsError::Name(name));
    }
    Ok(Config {
        system,
        spec,
        kinds,
        seed,
        name,
        leader_schedules,
    })
}

/// The command line that reruns this test with the same seed.
pub(super) fn rerun_command(a: &TestArgs, cfg: &Config) -> String {
    let mut s = format!(
        "faultline test --system {} --workload {} --nemesis {} --nemesis-interval {} --nodes {} --concurrency {} --time-limit {} --rate {} --seed {} --mix {} --ops-per-key {} --keys {} --op-timeout {}",
        cfg.system.name(), cfg.spec.kind.name(), if a.nemesis.is_empty() { "none" } else { &a.nemesis },
        a.nemesis_interval, a.nodes, a.concurrency, a.time_limit, a.rate, cfg.seed, a.mix, a.ops_per_key, a.keys, a.op_timeout
    );
    if !cfg.leader_schedules.is_empty() {
        s.push_str(&format!(
            " --leader-schedules {}",
            cfg.leader_schedules.join(",")
        ));
    }
    if a.sync_reads {
        s.push_str(" --sync-reads");
    }
    if a.etcd_serializable_reads {
        s.push_str(" --etcd-serializable-reads");
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
