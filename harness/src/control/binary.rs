//! Finding a system's binary: next to the running `faultline` (the same cargo target directory),
//! in `FAULTLINE_BIN_DIR`, or built with cargo from this workspace.

use super::ControlError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds `bin` (of cargo package `package`). `dir` overrides the search. As a last resort, when
/// the workspace this binary was built from is still there, runs
/// `cargo build -p <package> --bin <bin>` in the same profile and uses the result.
pub fn locate_binary(
    bin: &str,
    package: &str,
    dir: Option<&Path>,
) -> Result<PathBuf, ControlError> {
    let mut candidates = Vec::new();
    if let Some(d) = dir {
        // Nodes start in their own directories: a relative --bin-dir must be made absolute here.
        let d = std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf());
        candidates.push(d.join(bin));
    }
    if let Ok(d) = std::env::var("FAULTLINE_BIN_DIR") {
        let d = PathBuf::from(d);
        candidates.push(std::path::absolute(&d).unwrap_or(d).join(bin));
    }
    let exe = std::env::current_exe().ok();
    if let Some(exe_dir) = exe.as_ref().and_then(|e| e.parent()) {
        candidates.push(exe_dir.join(bin));
        // Test binaries live in target/<profile>/deps.
        if let Some(up) = exe_dir.parent() {
            candidates.push(up.join(bin));
        }
    }
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Ok(found.clone());
    }
    if dir.is_some() {
        return Err(ControlError::NoBinary {
            bin: bin.to_string(),
            dir: dir.map(Path::to_path_buf).unwrap_or_default(),
        });
    }
    build_with_cargo(bin, package, exe.as_deref())
}

fn build_with_cargo(bin: &str, package: &str, exe: Option<&Path>) -> Result<PathBuf, ControlError> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !workspace.join("Cargo.toml").is_file() {
        return Err(ControlError::BinaryNotFound {
            bin: bin.to_string(),
            package: package.to_string(),
        });
    }
    let release = exe.and_then(|e| e.parent()).is_some_and(|d| {
        d.ends_with("release") || d.parent().is_some_and(|p| p.ends_with("release"))
    });
    tracing::info!("building {bin} with cargo");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&workspace)
        .args(["build", "-q", "-p", package, "--bin", bin]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|source| ControlError::Cargo {
        bin: bin.to_string(),
        source,
    })?;
    if !status.success() {
        return Err(ControlError::CargoFailed {
            bin: bin.to_string(),
            package: package.to_string(),
            status,
        });
    }
    let out = workspace
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join(bin);
    if out.is_file() {
        Ok(out)
    } else {
        Err(ControlError::CargoOutput {
            bin: bin.to_string(),
            path: out,
        })
    }
}
