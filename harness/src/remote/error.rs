//! What can go wrong talking to a host over SSH. Each message is one sentence that names the host
//! (and its address), what failed and, where there is one, what to do.

use std::path::PathBuf;
use std::time::Duration;

/// Why a remote operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot reach {host} ({addr}) within {timeout:?} after {attempts} attempts: {reason}")]
    Unreachable {
        host: String,
        addr: String,
        timeout: Duration,
        attempts: u32,
        reason: String,
    },
    #[error("cannot resolve the address of {host} ({addr}): {reason}")]
    Resolve {
        host: String,
        addr: String,
        reason: String,
    },
    #[error("the SSH handshake with {host} ({addr}) failed: {reason}")]
    Handshake {
        host: String,
        addr: String,
        reason: String,
    },
    #[error(
        "host {host} ({addr}) is not in {}: it offered {key_type} key {fingerprint}; add it to that file (ssh-keyscan) or pass --no-strict-host-keys",
        .known_hosts.display()
    )]
    UnknownHostKey {
        host: String,
        addr: String,
        known_hosts: PathBuf,
        key_type: String,
        fingerprint: String,
    },
    #[error(
        "the host key of {host} ({addr}) does not match {}: it offered {key_type} key {fingerprint}; if the host was rebuilt, remove its old line from that file",
        .known_hosts.display()
    )]
    HostKeyMismatch {
        host: String,
        addr: String,
        known_hosts: PathBuf,
        key_type: String,
        fingerprint: String,
    },
    #[error("cannot read known_hosts file {}: {reason}", .path.display())]
    KnownHosts { path: PathBuf, reason: String },
    #[error("cannot log in to {host} ({addr}) as {user}: {tried} refused; check the key and the host's authorized_keys")]
    AuthFailed {
        host: String,
        addr: String,
        user: String,
        tried: String,
    },
    #[error("lost the SSH connection to {host} while {during}: {reason}")]
    Transport {
        host: String,
        during: String,
        reason: String,
    },
    #[error("`{command}` on {host} exited with status {status}: {}", stderr_line(.stderr))]
    CommandFailed {
        host: String,
        command: String,
        status: i32,
        stderr: String,
    },
    #[error("cannot {action} {} on this machine: {source}", .path.display())]
    Local {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {reason}", .path.display())]
    HostsFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{host}: {reason}")]
    Protocol { host: String, reason: String },
}

impl RemoteError {
    /// Whether trying again (on a new connection) may succeed: transport failures, not a refused
    /// key, a wrong host key or a command that ran and failed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RemoteError::Unreachable { .. }
                | RemoteError::Handshake { .. }
                | RemoteError::Transport { .. }
        )
    }
}

/// A command's stderr on one line: trimmed, newlines as `; `, at most 400 characters.
fn stderr_line(stderr: &str) -> String {
    let joined: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if joined.is_empty() {
        return "(no stderr)".to_string();
    }
    let s = joined.join("; ");
    if s.chars().count() > 400 {
        let cut: String = s.chars().take(400).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_is_one_line_with_command_status_and_stderr() {
        let e = RemoteError::CommandFailed {
            host: "n2".into(),
            command: "ls /nope".into(),
            status: 2,
            stderr: "ls: cannot access '/nope'\n: No such file or directory\n".into(),
        };
        let s = e.to_string();
        assert_eq!(
            s,
            "`ls /nope` on n2 exited with status 2: ls: cannot access '/nope'; : No such file or directory"
        );
        assert!(!s.contains('\n'));
        assert!(!e.is_transient());
    }
}
