//! Files to and from a host over SFTP. An upload is skipped when the remote file's sha256 (by
//! `sha256sum` on the host) already matches the local one — the checksum cache that keeps
//! unchanged binaries from being sent again; otherwise it is written to a temporary name,
//! checked, and renamed into place (so a running binary is replaced, not overwritten).

use super::error::RemoteError;
use super::host::RemoteHost;
use super::sh_quote;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    /// The remote file already had this content.
    Unchanged { sha256: String },
    /// The file was sent.
    Sent { sha256: String, bytes: u64 },
}

/// The lowercase hex sha256 of a local file.
pub fn sha256_file(path: &Path) -> Result<String, RemoteError> {
    let local = |source| RemoteError::Local {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(local)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(local)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl RemoteHost {
    /// The remote file's sha256, `None` when it does not exist or cannot be read.
    pub fn remote_sha256(&self, path: &str) -> Result<Option<String>, RemoteError> {
        let o = self.exec(&format!("sha256sum -- {} 2>/dev/null", sh_quote(path)))?;
        if !o.success() {
            return Ok(None);
        }
        Ok(o.stdout.split_whitespace().next().map(str::to_string))
    }

    /// Uploads `local` to `remote` with permissions `mode`, unless the remote file already has
    /// the same sha256. The remote folder is created if missing.
    pub fn upload(&self, local: &Path, remote: &str, mode: u32) -> Result<Upload, RemoteError> {
        let sha256 = sha256_file(local)?;
        if self.remote_sha256(remote)?.as_deref() == Some(sha256.as_str()) {
            tracing::debug!("{}: {remote} unchanged, not sent", self.name());
            return Ok(Upload::Unchanged { sha256 });
        }
        let dir = Path::new(remote)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".to_string());
        self.run(&format!("mkdir -p -- {}", sh_quote(&dir)))?;
        let tmp = format!("{remote}.faultline-upload");
        let bytes = self.with_session(|s| send(self, s, local, &tmp, mode))?;
        let (q_tmp, q_remote) = (sh_quote(&tmp), sh_quote(remote));
        self.run(&format!(
            "chmod {mode:o} -- {q_tmp} && mv -f -- {q_tmp} {q_remote} && sha256sum -- {q_remote}"
        ))
        .and_then(|o| {
            let got = o.stdout.split_whitespace().next().unwrap_or("").to_string();
            if got == sha256 {
                Ok(())
            } else {
                Err(RemoteError::Protocol {
                    host: self.name().to_string(),
                    reason: format!(
                        "{remote} has sha256 {got} after the upload of {}, not {sha256}",
                        local.display()
                    ),
                })
            }
        })?;
        Ok(Upload::Sent { sha256, bytes })
    }

    /// Downloads `remote` into `local` (its folder created if missing); returns the bytes copied.
    pub fn download(&self, remote: &str, local: &Path) -> Result<u64, RemoteError> {
        if let Some(parent) = local.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| RemoteError::Local {
                action: "create",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        self.with_session(|s| receive(self, s, remote, local))
    }
}

fn transport(host: &RemoteHost, during: String, e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Transport {
        host: host.name().to_string(),
        during,
        reason: e.to_string(),
    }
}

fn send(
    host: &RemoteHost,
    session: &ssh2::Session,
    local: &Path,
    remote: &str,
    mode: u32,
) -> Result<u64, RemoteError> {
    let during = || format!("uploading {} to {remote}", local.display());
    let sftp = session.sftp().map_err(|e| transport(host, during(), e))?;
    let mut src = std::fs::File::open(local).map_err(|source| RemoteError::Local {
        action: "read",
        path: local.to_path_buf(),
        source,
    })?;
    let mut dst = sftp
        .open_mode(
            Path::new(remote),
            ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE,
            (mode & 0o7777) as i32,
            ssh2::OpenType::File,
        )
        .map_err(|e| match e.code() {
            ssh2::ErrorCode::SFTP(_) => RemoteError::Protocol {
                host: host.name().to_string(),
                reason: format!("cannot create {remote}: {e}"),
            },
            _ => transport(host, during(), e),
        })?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(|source| RemoteError::Local {
            action: "read",
            path: local.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n])
            .map_err(|e| transport(host, during(), e))?;
        bytes += n as u64;
    }
    dst.flush().map_err(|e| transport(host, during(), e))?;
    drop(dst);
    Ok(bytes)
}

fn receive(
    host: &RemoteHost,
    session: &ssh2::Session,
    remote: &str,
    local: &Path,
) -> Result<u64, RemoteError> {
    let during = || format!("downloading {remote} to {}", local.display());
    let sftp = session.sftp().map_err(|e| transport(host, during(), e))?;
    let mut src = sftp.open(Path::new(remote)).map_err(|e| match e.code() {
        ssh2::ErrorCode::SFTP(_) => RemoteError::Protocol {
            host: host.name().to_string(),
            reason: format!("cannot open {remote}: {e}"),
        },
        _ => transport(host, during(), e),
    })?;
    let mut dst = std::fs::File::create(local).map_err(|source| RemoteError::Local {
        action: "create",
        path: local.to_path_buf(),
        source,
    })?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = src
            .read(&mut buf)
            .map_err(|e| transport(host, during(), e))?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n])
            .map_err(|source| RemoteError::Local {
                action: "write",
                path: local.to_path_buf(),
                source,
            })?;
        bytes += n as u64;
    }
    Ok(bytes)
}
