//! What a lab needs before anything is made: root, and the tools it runs (ip from iproute2,
//! iptables, sshd from openssh-server, ssh-keygen from openssh-client). A missing one is one
//! sentence naming the package to install.

use super::error::LabError;
use std::path::{Path, PathBuf};

/// The tools a lab runs, found.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ip: PathBuf,
    pub iptables: PathBuf,
    pub sshd: PathBuf,
    pub ssh_keygen: PathBuf,
}

/// Refuses unless the effective user is root.
pub fn require_root() -> Result<(), LabError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::NotRoot);
    }
    Ok(())
}

/// Finds every tool, or names the first missing one and its package.
pub fn tools() -> Result<Tools, LabError> {
    Ok(Tools {
        ip: find("ip", "iproute2")?,
        iptables: find("iptables", "iptables")?,
        sshd: find("sshd", "openssh-server")?,
        ssh_keygen: find("ssh-keygen", "openssh-client")?,
    })
}

/// Only `ip` (enough for `cluster status`).
pub fn ip() -> Result<PathBuf, LabError> {
    find("ip", "iproute2")
}

fn find(tool: &'static str, package: &'static str) -> Result<PathBuf, LabError> {
    which(tool).ok_or(LabError::MissingTool { tool, package })
}

/// `name` in $PATH, then in the sbin folders (often not in a user's $PATH).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_names_the_package_of_a_missing_tool() {
        assert!(which("sh").is_some());
        assert!(which("no-such-tool-faultline").is_none());
        let e = find("no-such-tool-faultline", "some-package").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no-such-tool-faultline is not installed and a lab needs it: install it with `apt-get install some-package`"
        );
    }
}
