//! Finding a system's binary: next to the running `faultline` (the same cargo target directory),
//! in `FAULTLINE_BIN_DIR`, or built with cargo from this workspace; an installed program (etcd,
//! java) in `--bin-dir` or on `PATH`.

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

/// Finds the installed program `bin`: in `dir` when given, then on `PATH` (a test's `--bin-dir`
/// names where faultline's own binaries are, not where java or etcd is installed). When it is
/// absent the error names `debian_package`, which provides it.
pub fn locate_installed(
    bin: &str,
    debian_package: &str,
    dir: Option<&Path>,
) -> Result<PathBuf, ControlError> {
    let mut dirs: Vec<PathBuf> = dir
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()))
        .into_iter()
        .collect();
    dirs.extend(
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    dirs.iter()
        .map(|d| d.join(bin))
        .find(|c| is_executable(c))
        .ok_or_else(|| ControlError::NotInstalled {
            bin: bin.to_string(),
            debian_package: debian_package.to_string(),
            place: match dir {
                Some(d) => format!("{} or on PATH", d.display()),
                None => "PATH".into(),
            },
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_installed_program_names_its_package() {
        let d = tempfile::tempdir().unwrap();
        let absent = "faultline-no-such-program";
        let e = locate_installed(absent, "etcd-server", Some(d.path())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot find the {absent} program in {} or on PATH; install it (apt-get install etcd-server) or pass --bin-dir",
                d.path().display()
            )
        );
        let sh = locate_installed("sh", "dash", None).unwrap();
        assert!(sh.is_file());
        // Not executable: not a program.
        std::fs::write(d.path().join(absent), "").unwrap();
        assert!(locate_installed(absent, "etcd-server", Some(d.path())).is_err());
        // --bin-dir first, then PATH.
        let sh_in_dir = d.path().join("sh");
        std::fs::write(&sh_in_dir, "").unwrap();
        std::fs::set_permissions(
            &sh_in_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        assert_eq!(
            locate_installed("sh", "dash", Some(d.path())).unwrap(),
            sh_in_dir
        );
        let e = tempfile::tempdir().unwrap();
        assert_ne!(
            locate_installed("sh", "dash", Some(e.path())).unwrap(),
            sh_in_dir
        );
    }
}
