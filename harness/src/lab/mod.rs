//! `faultline cluster up | status | down`: a lab of hosts on one machine (root). Each host is a
//! network namespace with its own address on a bridge (a private subnet, no route off the
//! machine, no NAT) and its own sshd; the harness gets a key of its own and a hosts file naming
//! user, key and known_hosts, so `--hosts-file DIR/hosts` drives the lab through exactly the SSH
//! code path ([`crate::remote`]) a lab of real machines uses.
//!
//! - [`plan`]: the lab's names and addresses, derived from its folder and subnet.
//! - [`preflight`]: root and the tools (ip, iptables, sshd, ssh-keygen).
//! - [`network`]: namespaces, bridge, veths, the tagged iptables rule.
//! - [`keys`]: host keys and the harness's key; [`sshd`]: one sshd per host.
//! - [`up`], [`status`], [`down`]: the three commands; [`shell`]: running the tools;
//!   [`error`]: what can go wrong.

pub mod down;
pub mod error;
pub mod keys;
pub mod network;
pub mod plan;
pub mod preflight;
pub mod shell;
pub mod sshd;
pub mod status;
pub mod up;

pub use error::LabError;
pub use plan::{Lab, Subnet, DEFAULT_DIR, DEFAULT_SUBNET};

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// `faultline cluster up|status|down`.
#[derive(Args, Debug)]
pub struct ClusterCommand {
    #[command(subcommand)]
    pub sub: ClusterSub,
}

#[derive(Subcommand, Debug)]
pub enum ClusterSub {
    /// Make (or replace) a lab of N hosts: namespaces with their own address and sshd; writes DIR/hosts, DIR/known_hosts, DIR/id.
    Up {
        /// How many hosts (n1, n2, …).
        #[arg(long, default_value_t = 5)]
        hosts: usize,
        /// The lab's folder (keys, hosts file, each host's sshd files).
        #[arg(long, default_value = DEFAULT_DIR)]
        dir: PathBuf,
        /// A private IPv4 subnet; the bridge takes its first address, host k the (k+1)-th.
        #[arg(long, default_value = DEFAULT_SUBNET)]
        subnet: String,
    },
    /// Each host of the lab: its namespace present, its sshd answering (an SSH login running `true`).
    Status {
        #[arg(long, default_value = DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Remove the lab: sshds and every process in its namespaces, namespaces, veths, bridge, tagged iptables rules, keys and files.
    Down {
        #[arg(long, default_value = DEFAULT_DIR)]
        dir: PathBuf,
    },
}

/// Runs a `faultline cluster` command; its errors are one sentence and an exit code.
pub fn run(cmd: ClusterCommand) -> ExitCode {
    let (what, r) = match cmd.sub {
        ClusterSub::Up { hosts, dir, subnet } => ("cluster up", run_up(hosts, &dir, &subnet)),
        ClusterSub::Status { dir } => ("cluster status", run_status(&dir)),
        ClusterSub::Down { dir } => ("cluster down", run_down(&dir)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faultline {what}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_up(hosts: usize, dir: &std::path::Path, subnet: &str) -> Result<(), LabError> {
    let started = std::time::Instant::now();
    let made = up::up(hosts, dir, subnet)?;
    let first = made.hosts.first().map(|h| h.address.as_str()).unwrap_or("");
    let last = made.hosts.last().map(|h| h.address.as_str()).unwrap_or("");
    println!(
        "lab up in {}: {} hosts ({first} to {last}) on bridge {} ({}), in {:.1} s",
        made.lab.dir.display(),
        made.hosts.len(),
        made.lab.bridge(),
        made.subnet,
        started.elapsed().as_secs_f64()
    );
    for (k, h) in made.hosts.iter().enumerate() {
        println!(
            "{}\t{}\tnamespace {}",
            h.name,
            h.address,
            made.lab.namespace(k + 1)
        );
    }
    println!("hosts file: {}", made.lab.hosts_file().display());
    Ok(())
}

fn run_status(dir: &std::path::Path) -> Result<(), LabError> {
    let hosts = status::status(dir)?;
    for h in &hosts {
        println!("{}", h.line());
    }
    let down = hosts.iter().filter(|h| !h.is_up()).count();
    if down > 0 {
        return Err(LabError::NotAllUp {
            down,
            total: hosts.len(),
            dir: Lab::at(dir)?.dir,
        });
    }
    match hosts.len() {
        1 => println!("the 1 host is up"),
        n => println!("all {n} hosts up"),
    }
    Ok(())
}

fn run_down(dir: &std::path::Path) -> Result<(), LabError> {
    preflight::require_root()?;
    let tools = preflight::tools()?;
    let lab = Lab::at(dir)?;
    let started = std::time::Instant::now();
    let removed = down::remove(&lab, &tools)?;
    if removed.is_empty() {
        println!("no lab in {}: nothing to remove", lab.dir.display());
    } else {
        println!(
            "lab in {} removed: {}, in {:.1} s",
            lab.dir.display(),
            removed.summary(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
