//! `faultline campaign`: runs a matrix of tests — systems × workloads × nemeses × bugs × seeds —
//! each run a child `faultline test` process with its own store, loopback block and hard
//! deadline, and writes campaign.json, junit.xml and the detection matrix (Contract 3) into
//! `store/campaigns/<timestamp>/`. `faultline campaign merge DIR...` joins shards.
//!
//! - [`matrix`]: the matrix, its cells in a fixed order, and `--shard I/N`.
//! - [`child`]: one run as a child process, killed at its deadline or on Ctrl-C.
//! - [`leftovers`]: the wait after a killed run until none of its processes or mounts remains.
//! - [`outcome`]: what a run found, from its results.json (anomaly, checker, time to detect).
//! - [`record`]: campaign.json's types; cell and campaign verdicts.
//! - [`detection`]: the detection matrix; [`junit`]: junit.xml; [`outputs`]: writing them.
//! - [`schedule`]: running the runs side by side; [`merge`]: `campaign merge`.

pub mod child;
pub mod default_faults;
pub mod detection;
pub mod junit;
pub mod leftovers;
pub mod matrix;
pub mod merge;
pub mod outcome;
pub mod outputs;
pub mod record;
pub mod schedule;

use crate::error::HarnessError;
use clap::{Args, Subcommand};
use matrix::{list, Matrix, Shard, DEFAULT_NEMESIS, NO_BUG};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `faultline campaign [OPTIONS]` or `faultline campaign merge DIR...`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CampaignCommand {
    #[command(subcommand)]
    pub sub: Option<CampaignSub>,
    #[command(flatten)]
    pub args: CampaignArgs,
}

#[derive(Subcommand, Debug)]
pub enum CampaignSub {
    /// Join the results of several campaign directories (shards) into one campaign.json,
    /// junit.xml and detection matrix.
    Merge(merge::MergeArgs),
}

/// Options of `faultline campaign`.
#[derive(Args, Debug, Clone)]
pub struct CampaignArgs {
    /// Systems, comma-separated.
    #[arg(long, default_value = "raft,zab")]
    pub system: String,
    /// Workloads, comma-separated.
    #[arg(long, default_value = "register,set")]
    pub workload: String,
    /// Nemeses, comma-separated; each is `default` (every fault kind this machine can inject,
    /// one every 5 s) or fault kinds joined by `+` (e.g. partition+kill,pause).
    #[arg(long, default_value = DEFAULT_NEMESIS)]
    pub nemesis: String,
    /// Bugs, comma-separated (`none`: the correct build); each goes to the systems that list it.
    #[arg(long, default_value = NO_BUG, conflicts_with = "zoo")]
    pub bug: String,
    /// Every bug each system lists (`--list-bugs`), and `none`.
    #[arg(long)]
    pub zoo: bool,
    /// Runs per cell, with seeds --seed, --seed + 1, …
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// The first seed (shards of one campaign must be given the same).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds of workload in each run.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Runs side by side (each on its own loopback block).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Run only shard I of N of the matrix's cells (cell k goes to shard k mod N + 1).
    #[arg(long)]
    pub shard: Option<String>,
    /// Also write the JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Directory of stored runs; the campaign goes to <store>/campaigns/<timestamp>/.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Seconds after which a run is killed and recorded as unknown (default: time limit + 2 ×
    /// recovery timeout + 2 × check timeout + 30).
    #[arg(long)]
    pub deadline: Option<f64>,
    /// Each run's --recovery-timeout.
    #[arg(long, default_value_t = 30.0)]
    pub recovery_timeout: f64,
    /// Each run's --check-timeout.
    #[arg(long, default_value_t = 30.0)]
    pub check_timeout: f64,
    /// Directory holding raft-node / zab-node (passed to every run).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Extra argument for every `faultline test` (repeatable), e.g. --test-arg=--nodes=3.
    #[arg(long = "test-arg", allow_hyphen_values = true)]
    pub test_args: Vec<String>,
}

/// A system's bugs, from its descriptor (its node binary's `--list-bugs`); none for a system
/// without a binary.
fn list_bugs(system: &str, bin_dir: Option<&std::path::Path>) -> Result<Vec<String>, HarnessError> {
    let system = crate::db::find(system)?;
    let Some(path) = system.program(bin_dir)? else {
        return Ok(Vec::new());
    };
    Ok(system.bugs(&path)?.into_iter().map(|b| b.name).collect())
}

/// The validated campaign.
pub struct Plan {
    pub matrix: Matrix,
    pub shard: Option<Shard>,
    pub deadline: Duration,
}

fn positive(name: &str, v: f64) -> Result<(), HarnessError> {
    if v.is_finite() && v > 0.0 && v < 1e7 {
        Ok(())
    } else {
        Err(HarnessError::BadArgument(format!(
            "{name} must be a positive number of seconds, not {v}"
        )))
    }
}

/// Checks the arguments and expands the matrix (asking each system's node for its bugs).
pub fn plan(a: &CampaignArgs) -> Result<Plan, HarnessError> {
    let bad = HarnessError::BadArgument;
    let systems = list(&a.system);
    let workloads = list(&a.workload);
    let nemeses = list(&a.nemesis);
    for (what, l) in [
        ("--system", &systems),
        ("--workload", &workloads),
        ("--nemesis", &nemeses),
    ] {
        if l.is_empty() {
            return Err(bad(format!("{what} needs at least one entry")));
        }
    }
    for s in &systems {
        crate::db::find(s).map_err(|e| bad(format!("--system: {e}")))?;
    }
    for w in &workloads {
        w.parse::<workloads::WorkloadKind>()
            .map_err(|e| bad(format!("--workload: {e}")))?;
    }
    for n in nemeses.iter().filter(|n| *n != DEFAULT_NEMESIS) {
        nemeses::parse_kinds(&n.replace('+', ",")).map_err(|e| {
            bad(format!(
                "--nemesis {n:?}: {e} (join kinds of one nemesis with +)"
            ))
        })?;
    }
    positive("--time-limit", a.time_limit)?;
    positive("--recovery-timeout", a.recovery_timeout)?;
    positive("--check-timeout", a.check_timeout)?;
    if let Some(d) = a.deadline {
        positive("--deadline", d)?;
    }
    if a.seeds == 0 {
        return Err(bad("--seeds must be at least 1".into()));
    }
    if a.parallel == 0 || a.parallel > 64 {
        return Err(bad(format!(
            "--parallel must be between 1 and 64, not {}",
            a.parallel
        )));
    }
    let shard = a
        .shard
        .as_deref()
        .map(str::parse::<Shard>)
        .transpose()
        .map_err(|e| bad(e.to_string()))?;
    let asked = (!a.zoo).then(|| list(&a.bug));
    if asked.as_ref().is_some_and(|b| b.is_empty()) {
        return Err(bad(
            "--bug needs at least one entry (none: the correct build)".into(),
        ));
    }
    let mut listed = BTreeMap::new();
    let needs_list = a.zoo
        || asked
            .as_ref()
            .is_some_and(|b| b.iter().any(|b| b != NO_BUG));
    if needs_list {
        for s in &systems {
            listed.insert(s.clone(), list_bugs(s, a.bin_dir.as_deref())?);
        }
    }
    let bugs = matrix::bugs_per_system(&systems, asked.as_deref(), &listed)
        .map_err(|e| bad(e.to_string()))?;
    let seeds: Vec<u64> = (0..a.seeds).map(|i| a.seed.wrapping_add(i)).collect();
    let deadline = a
        .deadline
        .unwrap_or(a.time_limit + 2.0 * a.recovery_timeout + 2.0 * a.check_timeout + 30.0);
    Ok(Plan {
        matrix: Matrix {
            systems,
            workloads,
            nemeses,
            bugs,
            seeds,
        },
        shard,
        deadline: Duration::from_secs_f64(deadline),
    })
}

/// Runs `faultline campaign` (or its `merge`); returns the process exit code.
pub fn run(cmd: CampaignCommand) -> ExitCode {
    let (what, r) = match cmd.sub {
        Some(CampaignSub::Merge(m)) => ("campaign merge", merge::run(&m)),
        None => ("campaign", schedule::run(&cmd.args)),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("faultline {what}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
