//! How the harness logs in to its hosts: user, key, port, known_hosts and how strictly host keys
//! are checked, the connect timeout, the timeout of one blocking SSH call, and the retry policy.

use super::retry::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;

/// Options shared by every host of a run.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// The user to log in as (default: `$USER`, else root).
    pub user: String,
    /// A private key file; `None`: the agent, then the default keys (~/.ssh/id_ed25519, …).
    pub key: Option<PathBuf>,
    /// The port when a host does not name its own.
    pub port: u16,
    /// The known_hosts file (default ~/.ssh/known_hosts).
    pub known_hosts: Option<PathBuf>,
    /// Refuse a host whose key is unknown or does not match (the default); `false` is
    /// `--no-strict-host-keys`.
    pub strict_host_keys: bool,
    /// How long one TCP connect (and the handshake) may take.
    pub connect_timeout: Duration,
    /// How long one blocking SSH call may wait for the host (not a command's whole run time).
    pub io_timeout: Duration,
    /// Retries on transport errors.
    pub retry: RetryPolicy,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            user: std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "root".to_string()),
            key: None,
            port: 22,
            known_hosts: None,
            strict_host_keys: true,
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

impl SshOptions {
    /// The known_hosts file used: the one given, else ~/.ssh/known_hosts.
    pub fn known_hosts_path(&self) -> PathBuf {
        self.known_hosts
            .clone()
            .unwrap_or_else(|| home().join(".ssh/known_hosts"))
    }
}

/// The user's home directory ($HOME, else /root).
pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}
