//! The lab's keys, made with ssh-keygen: an ed25519 host key per host, and the harness's own
//! ed25519 key (DIR/id, DIR/id.pub), whose public half is every host's authorized key.

use super::error::LabError;
use super::shell::run;
use std::path::{Path, PathBuf};

/// Makes an ed25519 key pair at `path` (and `path`.pub), replacing any there.
pub fn generate(ssh_keygen: &Path, path: &Path, comment: &str) -> Result<(), LabError> {
    let public = public_of(path);
    for p in [path, public.as_path()] {
        remove_if_there(p)?;
    }
    let file = path.to_string_lossy();
    run(
        ssh_keygen,
        &["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", &file],
    )?;
    Ok(())
}

/// `path`.pub.
pub fn public_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// The `type base64` part of a public key file (without its comment).
pub fn read_public(path: &Path) -> Result<String, LabError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    Ok(words.join(" "))
}

/// Removes `path` if it exists.
pub fn remove_if_there(path: &Path) -> Result<bool, LabError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(LabError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}
