//! The `paxos-node` command line (the same flags as `raft-node`'s, so the harness starts both
//! alike) and its translation into a [`NodeConfig`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::bugs::{self, Bug};
use crate::node::NodeConfig;

/// A Multi-Paxos replicated key-value store node (faultline's system under test).
#[derive(Parser, Debug, Clone)]
#[command(name = "paxos-node", version)]
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
    /// The cluster's members as id=addr, comma-separated or repeated; addr is where this node
    /// dials that peer. This node's own entry may be included.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<String>,
    /// Directory for the durable acceptor log.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Election timeout range (no word from a leader this long starts a prepare), milliseconds.
    #[arg(long, default_value_t = 150)]
    pub election_timeout_min: u64,
    #[arg(long, default_value_t = 300)]
    pub election_timeout_max: u64,
    /// Leader heartbeat interval, milliseconds.
    #[arg(long, default_value_t = 50)]
    pub heartbeat: u64,
    /// How long a client request may wait before it gets an indefinite timeout, milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub request_timeout: u64,
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

impl Args {
    /// Checks the arguments and derives the node's configuration.
    pub fn to_config(&self) -> Result<NodeConfig, String> {
        if self.id.is_empty() {
            return Err("--id must not be empty".into());
        }
        if self.heartbeat == 0 || self.election_timeout_min <= self.heartbeat {
            return Err(format!(
                "--heartbeat ({} ms) must be positive and shorter than --election-timeout-min ({} ms)",
                self.heartbeat, self.election_timeout_min
            ));
        }
        if self.election_timeout_max < self.election_timeout_min {
            return Err(format!(
                "--election-timeout-max ({}) is below --election-timeout-min ({})",
                self.election_timeout_max, self.election_timeout_min
            ));
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
        members.sort();
        let names: BTreeMap<u64, String> = members
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1, n.clone()))
            .collect();
        let id = names
            .iter()
            .find(|(_, n)| **n == self.id)
            .map(|(i, _)| *i)
            .expect("self is a member");
        let peers = names
            .iter()
            .filter(|(i, _)| **i != id)
            .map(|(i, n)| (*i, addrs[n].clone()))
            .collect();
        let tick_ms = self.heartbeat.min(10);
        let ticks = |ms: u64| ((ms / tick_ms).max(1)) as u32;
        Ok(NodeConfig {
            name: self.id.clone(),
            id,
            names,
            peers,
            data_dir: self.data_dir.clone(),
            tick: Duration::from_millis(tick_ms),
            election_ticks_min: ticks(self.election_timeout_min),
            election_ticks_max: ticks(self.election_timeout_max),
            heartbeat_ticks: ticks(self.heartbeat),
            request_timeout: Duration::from_millis(self.request_timeout.max(1)),
            bugs: self.bugs.iter().copied().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_ticks_bugs_and_bad_arguments() {
        assert!(matches!(
            parse_from(["paxos-node", "--list-bugs"]),
            Ok(Invocation::ListBugs)
        ));
        let base = [
            "paxos-node",
            "--id",
            "n2",
            "--client-addr",
            "127.0.0.1:1",
            "--peer-addr",
            "127.0.0.1:2",
            "--peers",
            "n1=127.0.0.1:11,n2=127.0.0.1:12,n3=127.0.0.1:13",
            "--data-dir",
            "/tmp/x",
        ];
        let a = Args::try_parse_from(base).unwrap();
        let c = a.to_config().unwrap();
        assert_eq!(c.id, 2);
        assert_eq!(
            c.peers,
            vec![(1, "127.0.0.1:11".into()), (3, "127.0.0.1:13".into())]
        );
        assert_eq!(
            (
                c.election_ticks_min,
                c.election_ticks_max,
                c.heartbeat_ticks
            ),
            (15, 30, 5)
        );
        let mut v = base.to_vec();
        v.extend(["--bug", "nope"]);
        let e = Args::try_parse_from(v).unwrap_err().to_string();
        assert!(e.contains("unknown bug \"nope\""), "{e}");
        let mut bad = a.clone();
        bad.peers = vec!["n1:127.0.0.1:1".into()];
        assert!(bad.to_config().unwrap_err().contains("id=host:port"));
        let mut bad = a;
        bad.election_timeout_max = 100;
        assert!(bad.to_config().is_err());
    }
}
