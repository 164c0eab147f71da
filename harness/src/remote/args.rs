//! The command-line options that choose real hosts over SSH (`--hosts`, `--hosts-file`,
//! `--ssh-user`, `--ssh-key`, `--ssh-port`, `--known-hosts`, `--no-strict-host-keys`), for any
//! command that drives hosts to flatten into its own arguments. Options given on the command line
//! win over the hosts file's settings; a lab's hosts file (`faultline cluster up`) needs none.

use super::error::RemoteError;
use super::hosts_file::{HostSpec, HostsFile};
use super::options::SshOptions;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach and log in to the hosts.
#[derive(Args, Debug, Clone, Default)]
pub struct SshArgs {
    /// Hosts to run on over SSH, comma-separated (`name=address[:port]` or `address[:port]`).
    #[arg(long, value_delimiter = ',', conflicts_with = "hosts_file")]
    pub hosts: Vec<String>,
    /// A hosts file (see `faultline cluster up`): hosts, and optionally user, key and known_hosts.
    #[arg(long)]
    pub hosts_file: Option<PathBuf>,
    /// The user to log in as (default: the hosts file's, else $USER).
    #[arg(long)]
    pub ssh_user: Option<String>,
    /// A private key (default: the hosts file's, else the agent, else ~/.ssh/id_*).
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// The SSH port of hosts that do not name theirs (default 22).
    #[arg(long)]
    pub ssh_port: Option<u16>,
    /// The known_hosts file host keys are checked against (default ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// Accept hosts whose key is unknown or different (logged as a warning).
    #[arg(long)]
    pub no_strict_host_keys: bool,
    /// Seconds one TCP connect and handshake may take.
    #[arg(long, default_value_t = 5.0)]
    pub ssh_connect_timeout: f64,
}

impl SshArgs {
    /// Whether any host was named (else the run is local).
    pub fn is_remote(&self) -> bool {
        !self.hosts.is_empty() || self.hosts_file.is_some()
    }

    /// The hosts and the options to reach them; `None` when no host was named.
    pub fn resolve(&self) -> Result<Option<(Vec<HostSpec>, SshOptions)>, RemoteError> {
        let defaults = SshOptions::default();
        let (hosts, mut opts) = if let Some(path) = &self.hosts_file {
            let f = HostsFile::read(path)?;
            (f.hosts.clone(), f.options(defaults))
        } else if !self.hosts.is_empty() {
            let text: String = self
                .hosts
                .iter()
                .map(|h| match h.split_once('=') {
                    Some((name, addr)) => format!("{name} {addr}\n"),
                    None => format!("{h}\n"),
                })
                .collect();
            let f = HostsFile::parse(&text, Path::new("--hosts"), Path::new("."))?;
            (f.hosts, defaults)
        } else {
            return Ok(None);
        };
        if let Some(u) = &self.ssh_user {
            opts.user = u.clone();
        }
        if let Some(k) = &self.ssh_key {
            opts.key = Some(k.clone());
        }
        if let Some(p) = self.ssh_port {
            opts.port = p;
        }
        if let Some(k) = &self.known_hosts {
            opts.known_hosts = Some(k.clone());
        }
        opts.strict_host_keys = !self.no_strict_host_keys;
        if self.ssh_connect_timeout.is_finite() && self.ssh_connect_timeout > 0.0 {
            opts.connect_timeout = Duration::from_secs_f64(self.ssh_connect_timeout);
        }
        Ok(Some((hosts, opts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        ssh: SshArgs,
    }

    fn parse(args: &[&str]) -> SshArgs {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap()
            .ssh
    }

    #[test]
    fn no_hosts_is_local() {
        assert!(parse(&[]).resolve().unwrap().is_none());
    }

    #[test]
    fn hosts_on_the_command_line() {
        let a = parse(&[
            "--hosts",
            "n1=10.0.0.2,10.0.0.3:2222",
            "--ssh-user",
            "admin",
            "--ssh-port",
            "2200",
            "--no-strict-host-keys",
        ]);
        let (hosts, o) = a.resolve().unwrap().unwrap();
        assert_eq!(hosts[0].name, "n1");
        assert_eq!(hosts[0].address, "10.0.0.2");
        assert_eq!(hosts[1].name, "10.0.0.3:2222");
        assert_eq!(hosts[1].port, Some(2222));
        assert_eq!(
            (o.user.as_str(), o.port, o.strict_host_keys),
            ("admin", 2200, false)
        );
    }

    #[test]
    fn a_hosts_file_needs_nothing_else_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hosts");
        std::fs::write(&f, "user = root\nkey = id\nknown_hosts = kh\nn1 10.0.0.2\n").unwrap();
        let (hosts, o) = parse(&["--hosts-file", f.to_str().unwrap()])
            .resolve()
            .unwrap()
            .unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(o.user, "root");
        assert_eq!(o.key, Some(dir.path().join("id")));
        assert_eq!(o.known_hosts, Some(dir.path().join("kh")));
        assert!(o.strict_host_keys);
        let (_, o) = parse(&["--hosts-file", f.to_str().unwrap(), "--ssh-user", "me"])
            .resolve()
            .unwrap()
            .unwrap();
        assert_eq!(o.user, "me");
        let e = parse(&["--hosts", "n1=a,n1=b"])
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--hosts:2: the host name \"n1\" appears twice"),
            "{e}"
        );
    }
}
