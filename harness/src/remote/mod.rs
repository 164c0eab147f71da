//! Remote control over SSH (the `ssh2` crate): the one code path that drives real hosts, whether
//! they are machines in a lab or the network namespaces of `faultline cluster up`.
//!
//! - [`args`]: the command-line options choosing hosts (`--hosts`, `--hosts-file`, `--ssh-*`).
//! - [`hosts_file`]: the hosts file (`name address[:port]` lines and `user`/`key`/`known_hosts`
//!   settings), so that `--hosts-file FILE` needs no other option.
//! - [`options`]: how to log in (user, key, port, known_hosts, strictness, timeouts, retries).
//! - [`retry`]: bounded, jittered retries on transport errors.
//! - [`fingerprint`]: a host key's `SHA256:…` fingerprint, as `ssh-keygen -l` prints it.
//! - [`connect`]: TCP with a connect timeout, handshake, host-key verification, authentication.
//! - [`exec`]: one command: exit status, stdout, stderr.
//! - [`transfer`]: upload over SFTP with a checksum cache, download.
//! - [`host`]: [`RemoteHost`], a host the harness controls: exec, upload, download, and daemons
//!   spawned detached with a pidfile.
//! - [`error`]: what can go wrong, each as one sentence naming the host.

pub mod args;
pub mod connect;
pub mod error;
pub mod exec;
pub mod fingerprint;
pub mod host;
pub mod hosts_file;
pub mod options;
pub mod retry;
pub mod transfer;

pub use args::SshArgs;
pub use error::RemoteError;
pub use exec::Output;
pub use host::RemoteHost;
pub use hosts_file::{HostSpec, HostsFile};
pub use options::SshOptions;
pub use retry::RetryPolicy;
pub use transfer::Upload;

/// `s` quoted for a POSIX shell: one word, whatever it holds.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::sh_quote;

    #[test]
    fn quoting_keeps_words_whole() {
        assert_eq!(sh_quote("/tmp/a-b_c.txt"), "/tmp/a-b_c.txt");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
