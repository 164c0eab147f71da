//! The `twopc-node` command line (raft-node's flags, so the harness starts it alike, plus the
//! coordinator's name and the protocol's timeouts) and its translation into a [`NodeConfig`].
//!
//! Every member gets a numeric id from the sorted list of names (shorter names first, so `n2`
//! comes before `n10`); the coordinator is `--coordinator` (default: the first name) and every
//! other member holds one shard, in that order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::bugs::{self, Bug};
use crate::node::NodeConfig;

/// A two-phase-commit sharded key-value store node (faultline's system under test).
#[derive(Parser, Debug, Clone)]
#[command(name = "twopc-node", version)]
pub struct Args {
    /// This node's name, e.g. n1.
    #[arg(long)]
    pub id: String,
    /// Address to serve clients on (JSON lines, Contract 2).
    #[arg(long)]
    pub client_addr: String,
    /// Address to accept peer links on.
    #[arg(long)]
    pub peer_addr: String,
    /// The members as id=addr, comma-separated or repeated; addr is where this node dials that
    /// peer. This node's own entry may be included.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<String>,
    /// Directory for the durable log.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The coordinator's name (default: the first member name).
    #[arg(long)]
    pub coordinator: Option<String>,
    /// How long the coordinator waits for every vote before it aborts, milliseconds.
    #[arg(long, default_value_t = 500)]
    pub vote_timeout: u64,
    /// How long a client transaction may take, lock-conflict retries included, milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub request_timeout: u64,
    /// How often an unacknowledged commit is resent and an in-doubt participant asks for its
    /// decision, milliseconds.
    #[arg(long, default_value_t = 100)]
    pub resend: u64,
    /// Switch on a deliberately re-introduced bug (repeatable).
    #[arg(long = "bug", value_name = "NAME", value_parser = bugs::parse)]
    pub bugs: Vec<Bug>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    Run(Args),
    /// `--list-bugs`: print the bug switches (one per line: name, a tab, what it breaks).
    ListBugs,
}

fn command() -> clap::Command {
    Args::command().arg(
        Arg::new("list-bugs")
            .long("list-bugs")
            .action(ArgAction::SetTrue)
            .exclusive(true)
            .help("Print the bugs --bug can switch on (name, a tab, what it breaks) and exit"),
    )
}

/// Parses `argv` (program name first).
pub fn parse_from<I, T>(argv: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let m = command().try_get_matches_from(argv)?;
    if m.get_flag("list-bugs") {
        return Ok(Invocation::ListBugs);
    }
    Args::from_arg_matches(&m).map(Invocation::Run)
}

/// Parses the process's command line; on bad arguments prints clap's message and exits 2.
pub fn parse() -> Invocation {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// The milliseconds of one tick.
pub const TICK_MS: u64 = 10;

impl Args {
    /// Checks the arguments and derives the node's configuration.
    pub fn to_config(&self) -> Result<NodeConfig, String> {
        if self.id.is_empty() {
            return Err("--id must not be empty".into());
        }
        for (name, v) in [
            ("--vote-timeout", self.vote_timeout),
            ("--request-timeout", self.request_timeout),
            ("--resend", self.resend),
        ] {
            if v < TICK_MS {
                return Err(format!("{name} must be at least {TICK_MS} ms, not {v}"));
            }
        }
        let mut addrs: BTreeMap<String, String> = BTreeMap::new();
        for p in &self.peers {
            let bad = || format!("--peers entry {p:?} is not of the form id=host:port");
            let (name, addr) = p.split_once('=').ok_or_else(bad)?;
            let (name, addr) = (name.trim(), addr.trim());
            if name.is_empty() || addr.is_empty() {
                return Err(bad());
            }
            raft::transport::check_addr(addr).map_err(|e| format!("--peers entry {p:?}: {e}"))?;
            if addrs.insert(name.to_string(), addr.to_string()).is_some() {
                return Err(format!("--peers names {name:?} twice"));
            }
        }
        let mut members: Vec<String> = addrs.keys().cloned().collect();
        if !addrs.contains_key(&self.id) {
            members.push(self.id.clone());
        }
        members.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        if members.len() < 2 {
            return Err(
                "--peers must name at least one other member (a coordinator and a shard)".into(),
            );
        }
        let names: BTreeMap<u64, String> = members
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1, n.clone()))
            .collect();
        let id_of = |n: &str| names.iter().find(|(_, m)| *m == n).map(|(i, _)| *i);
        let coordinator_name = self
            .coordinator
            .clone()
            .unwrap_or_else(|| members[0].clone());
        let coordinator = id_of(&coordinator_name).ok_or_else(|| {
            format!(
                "--coordinator {coordinator_name:?} is not a member ({})",
                members.join(", ")
            )
        })?;
        let id = id_of(&self.id).expect("self is a member");
        let peers = names
            .iter()
            .filter(|(i, _)| **i != id)
            .map(|(i, n)| (*i, addrs[n].clone()))
            .filter(|(i, _)| id == coordinator || *i == coordinator)
            .collect();
        let ticks = |ms: u64| (ms / TICK_MS).max(1);
        Ok(NodeConfig {
            name: self.id.clone(),
            id,
            names: names.clone(),
            coordinator,
            shards: names
                .keys()
                .copied()
                .filter(|i| *i != coordinator)
                .collect(),
            peers,
            data_dir: self.data_dir.clone(),
            tick: Duration::from_millis(TICK_MS),
            vote_ticks: ticks(self.vote_timeout),
            request_ticks: ticks(self.request_timeout),
            resend_ticks: ticks(self.resend),
            bugs: self.bugs.iter().copied().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roles_bugs_and_bad_arguments() {
        assert!(matches!(
            parse_from(["twopc-node", "--list-bugs"]),
            Ok(Invocation::ListBugs)
        ));
        let base = [
            "twopc-node",
            "--id",
            "n2",
            "--client-addr",
            "127.0.0.1:1",
            "--peer-addr",
            "127.0.0.1:2",
            "--peers",
            "n1=127.0.0.1:11,n10=127.0.0.1:20,n3=127.0.0.1:13",
            "--data-dir",
            "/tmp/x",
        ];
        let a = Args::try_parse_from(base).unwrap();
        let c = a.to_config().unwrap();
        assert_eq!((c.id, c.coordinator), (2, 1));
        assert_eq!(c.names[&4], "n10");
        assert_eq!(c.shards, vec![2, 3, 4]);
        // A participant links to the coordinator only.
        assert_eq!(c.peers, vec![(1, "127.0.0.1:11".into())]);
        assert_eq!((c.vote_ticks, c.request_ticks), (50, 150));
        let mut v = base.to_vec();
        v.extend(["--bug", "nope"]);
        let e = Args::try_parse_from(v).unwrap_err().to_string();
        assert!(e.contains("unknown bug \"nope\""), "{e}");
        let mut bad = a.clone();
        bad.coordinator = Some("n9".into());
        assert!(bad.to_config().unwrap_err().contains("not a member"));
        let mut bad = a.clone();
        bad.peers = vec!["n1:127.0.0.1:1".into()];
        assert!(bad.to_config().unwrap_err().contains("id=host:port"));
        let mut bad = a;
        bad.vote_timeout = 1;
        assert!(bad.to_config().is_err());
    }
}
