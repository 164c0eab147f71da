//! Running the lab's local tools (ip, iptables, ssh-keygen, sshd): a failure is one sentence with
//! the command, its status and its stderr.

use super::error::LabError;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `program args…` to completion; its stdout on success.
pub fn run(program: &Path, args: &[&str]) -> Result<String, LabError> {
    let shown = || {
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::iter::once(name)
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    tracing::debug!("running {}", shown());
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            command: shown(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Err(LabError::Command {
            command: shown(),
            status: out.status.to_string(),
            stderr: if stderr.is_empty() {
                "(no stderr)".to_string()
            } else {
                stderr.join("; ")
            },
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
