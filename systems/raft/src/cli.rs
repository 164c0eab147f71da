//! The `raft-node` command line and its translation into a [`NodeConfig`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::bugs::{self, Bug};
use crate::node::NodeConfig;

/// A Raft replicated key-value store node (faultline's system under test).
#[derive(Parser, Debug, Clone)]
#[command(name = "raft-node", version)]
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
    /// Directory for the write-ahead log and the snapshot.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Election timeout range, milliseconds.
    #[arg(long, default_value_t = 150)]
    pub election_timeout_min: u64,
    #[arg(long, default_value_t = 300)]
    pub election_timeout_max: u64,
    /// Leader heartbeat interval, milliseconds.
    #[arg(long, default_value_t = 50)]
    pub heartbeat: u64,
    /// Take a snapshot and compact the log every this many applied entries.
    #[arg(long, default_value_t = 10_000)]
    pub snapshot_threshold: u64,
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
    /// Run a node.
    Run(Args),
    /// `--list-bugs`: print the bug switches (one per line: name, a tab, what it breaks).
    ListBugs,
}

/// The command line: the node's arguments plus `--list-bugs`, which needs none of them.
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

/// Parses the process's command line; on bad arguments prints clap's message and exits 2
/// (`--help` and `--version` exit 0).
pub fn parse() -> Invocation {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

impl Args {
    /// Checks the arguments and derives the node's configuration.
    pub fn to_config(&self) -> Result<NodeConfig, String> {
        if self.id.is_empty() {
            return Err("--id must not be empty".into());
        }
        if self.heartbeat == 0 || self.election_timeout_min == 0 {
            return Err("--heartbeat and --election-timeout-min must be positive".into());
        }
        if self.election_timeout_max < self.election_timeout_min {
            return Err(format!(
                "--election-timeout-max ({}) is below --election-timeout-min ({})",
                self.election_timeout_max, self.election_timeout_min
            ));
        }
        if self.heartbeat >= self.election_timeout_min {
            return Err(format!(
                "--heartbeat ({} ms) must be shorter than --election-timeout-min ({} ms)",
                self.heartbeat, self.election_timeout_min
            ));
        }
        if self.snapshot_threshold == 0 {
            return Err("--snapshot-threshold must be positive".into());
        }
        let mut addrs: BTreeMap<String, String> = BTreeMap::new();
        for p in &self.peers {
            let Some((name, addr)) = p.split_once('=') else {
                return Err(format!(
                    "--peers entry {p:?} is not of the form id=host:port"
                ));
            };
            let (name, addr) = (name.trim(), addr.trim());
            if name.is_empty() || addr.is_empty() {
                return Err(format!(
                    "--peers entry {p:?} is not of the form id=host:port"
                ));
            }
            crate::transport::check_addr(addr).map_err(|e| format!("--peers entry {p:?}: {e}"))?;
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
        // Ticks of 10 ms (or the heartbeat, if shorter).
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
            snapshot_threshold: self.snapshot_threshold,
            request_timeout: Duration::from_millis(self.request_timeout.max(1)),
            bugs: self.bugs.iter().copied().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_bugs_needs_no_other_argument() {
        assert!(matches!(
            parse_from(["raft-node", "--list-bugs"]),
            Ok(Invocation::ListBugs)
        ));
        assert!(parse_from(["raft-node", "--list-bugs", "--id", "n1"]).is_err());
        let e = parse_from(["raft-node"]).unwrap_err().to_string();
        assert!(e.contains("--id"), "{e}");
    }

    fn args(extra: &[&str]) -> Result<Args, clap::Error> {
        let mut v = vec![
            "raft-node",
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
        v.extend_from_slice(extra);
        Args::try_parse_from(v)
    }

    #[test]
    fn ids_and_ticks() {
        let c = args(&[]).unwrap().to_config().unwrap();
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
    }

    #[test]
    fn rejects_unknown_bugs_and_bad_peers() {
        let e = args(&["--bug", "nope"]).unwrap_err().to_string();
        assert!(e.contains("unknown bug \"nope\""), "{e}");
        let mut a = args(&[]).unwrap();
        a.peers = vec!["n1:127.0.0.1:1".into()];
        assert!(a.to_config().unwrap_err().contains("id=host:port"));
        let mut a = args(&[]).unwrap();
        a.election_timeout_max = 100;
        assert!(a.to_config().is_err());
    }
}
