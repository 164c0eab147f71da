//! One SSH connection to one host: TCP with a connect timeout, the handshake, the host key checked
//! against known_hosts (refused when unknown or different, unless strictness is off), then key
//! authentication: the key file given, else the agent, else the default keys.

use super::error::RemoteError;
use super::fingerprint::{key_type_name, sha256_fingerprint};
use super::hosts_file::HostSpec;
use super::options::{home, SshOptions};
use ssh2::{CheckResult, KnownHostFileKind, Session};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A logged-in session and the socket under it (kept for polling while a command runs).
pub struct Connection {
    pub session: Session,
    pub socket: TcpStream,
}

/// `host:port` as the messages show it.
pub fn display_addr(spec: &HostSpec, opts: &SshOptions) -> String {
    let port = spec.port.unwrap_or(opts.port);
    if spec.address.contains(':') {
        format!("[{}]:{port}", spec.address)
    } else {
        format!("{}:{port}", spec.address)
    }
}

/// Connects once (no retry: the caller's [`super::RetryPolicy`] decides).
pub fn connect(spec: &HostSpec, opts: &SshOptions) -> Result<Connection, RemoteError> {
    let addr = display_addr(spec, opts);
    let port = spec.port.unwrap_or(opts.port);
    let sockaddr = resolve(spec, port, &addr)?;
    let socket = TcpStream::connect_timeout(&sockaddr, opts.connect_timeout).map_err(|e| {
        RemoteError::Unreachable {
            host: spec.name.clone(),
            addr: addr.clone(),
            timeout: opts.connect_timeout,
            attempts: 1,
            reason: e.to_string(),
        }
    })?;
    let _ = socket.set_nodelay(true);
    let handshake = |reason: String| RemoteError::Handshake {
        host: spec.name.clone(),
        addr: addr.clone(),
        reason,
    };
    let mut session = Session::new().map_err(|e| handshake(e.to_string()))?;
    session.set_timeout(millis(opts.connect_timeout));
    let stream = socket
        .try_clone()
        .map_err(|e| handshake(format!("cannot share the socket: {e}")))?;
    session.set_tcp_stream(stream);
    session.handshake().map_err(|e| handshake(e.to_string()))?;
    verify_host_key(&session, spec, port, &addr, opts)?;
    authenticate(&session, spec, &addr, opts)?;
    session.set_timeout(millis(opts.io_timeout));
    Ok(Connection { session, socket })
}

fn millis(d: Duration) -> u32 {
    d.as_millis().clamp(1, u128::from(u32::MAX)) as u32
}

fn resolve(spec: &HostSpec, port: u16, addr: &str) -> Result<SocketAddr, RemoteError> {
    let resolve_err = |reason: String| RemoteError::Resolve {
        host: spec.name.clone(),
        addr: addr.to_string(),
        reason,
    };
    (spec.address.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| resolve_err(e.to_string()))?
        .next()
        .ok_or_else(|| resolve_err("no address found".into()))
}

/// The host key checked against known_hosts: a match passes; unknown or different is refused
/// with the key's fingerprint, unless `strict_host_keys` is off.
fn verify_host_key(
    session: &Session,
    spec: &HostSpec,
    port: u16,
    addr: &str,
    opts: &SshOptions,
) -> Result<(), RemoteError> {
    let (key, kind) = session.host_key().ok_or_else(|| RemoteError::Handshake {
        host: spec.name.clone(),
        addr: addr.to_string(),
        reason: "the server sent no host key".into(),
    })?;
    let fingerprint = sha256_fingerprint(key);
    let key_type = key_type_name(kind).to_string();
    let path = opts.known_hosts_path();
    let result = check_known_hosts(session, &path, &spec.address, port, key);
    let result = match result {
        Ok(r) => r,
        Err(e) if !opts.strict_host_keys => {
            tracing::warn!(
                "{}: {e}; not checking its host key (--no-strict-host-keys)",
                spec.name
            );
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    match result {
        CheckResult::Match => Ok(()),
        _ if !opts.strict_host_keys => {
            tracing::warn!(
                "{} ({addr}) offered {key_type} key {fingerprint}, not in {}; accepted (--no-strict-host-keys)",
                spec.name,
                path.display()
            );
            Ok(())
        }
        CheckResult::Mismatch => Err(RemoteError::HostKeyMismatch {
            host: spec.name.clone(),
            addr: addr.to_string(),
            known_hosts: path,
            key_type,
            fingerprint,
        }),
        CheckResult::NotFound | CheckResult::Failure => Err(RemoteError::UnknownHostKey {
            host: spec.name.clone(),
            addr: addr.to_string(),
            known_hosts: path,
            key_type,
            fingerprint,
        }),
    }
}

fn check_known_hosts(
    session: &Session,
    path: &Path,
    address: &str,
    port: u16,
    key: &[u8],
) -> Result<CheckResult, RemoteError> {
    let unreadable = |reason: String| RemoteError::KnownHosts {
        path: path.to_path_buf(),
        reason,
    };
    let mut kh = session
        .known_hosts()
        .map_err(|e| unreadable(e.to_string()))?;
    if path.exists() {
        kh.read_file(path, KnownHostFileKind::OpenSSH)
            .map_err(|e| unreadable(e.to_string()))?;
    }
    Ok(kh.check_port(address, port, key))
}

/// Key authentication: the key file given (with its `.pub` beside it if there is one), else each
/// identity of the agent, else the default keys in ~/.ssh.
fn authenticate(
    session: &Session,
    spec: &HostSpec,
    addr: &str,
    opts: &SshOptions,
) -> Result<(), RemoteError> {
    let user = opts.user.as_str();
    let mut tried = Vec::new();
    if let Some(key) = &opts.key {
        if !key.exists() {
            return Err(RemoteError::Local {
                action: "read the SSH key",
                path: key.clone(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        try_key_file(session, user, key);
        tried.push(format!("key {}", key.display()));
    } else {
        if std::env::var_os("SSH_AUTH_SOCK").is_some() && session.userauth_agent(user).is_ok() {
            return Ok(());
        }
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            tried.push("the agent's keys".to_string());
        }
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let key = home().join(".ssh").join(name);
            if key.exists() {
                try_key_file(session, user, &key);
                tried.push(format!("key {}", key.display()));
                if session.authenticated() {
                    return Ok(());
                }
            }
        }
        if tried.is_empty() {
            tried.push("no key (none given, no agent, no ~/.ssh/id_*)".to_string());
        }
    }
    if session.authenticated() {
        return Ok(());
    }
    Err(RemoteError::AuthFailed {
        host: spec.name.clone(),
        addr: addr.to_string(),
        user: user.to_string(),
        tried: tried.join(", "),
    })
}

fn try_key_file(session: &Session, user: &str, key: &Path) {
    let mut pubkey = PathBuf::from(key);
    pubkey.as_mut_os_string().push(".pub");
    let pubkey = pubkey.exists().then_some(pubkey);
    if let Err(e) = session.userauth_pubkey_file(user, pubkey.as_deref(), key, None) {
        tracing::debug!("key {} refused: {e}", key.display());
    }
}
