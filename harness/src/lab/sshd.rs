//! One sshd per host, run inside the host's namespace with its own config, host key, pidfile and
//! log in the host's folder (never the machine's sshd or its config): key logins only, root
//! allowed by key, SFTP built in, listening only on the host's address.

use super::error::LabError;
use super::plan::Lab;
use super::shell::run;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where host k's sshd keeps its files.
pub struct SshdFiles {
    pub config: PathBuf,
    pub host_key: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
}

impl SshdFiles {
    pub fn of(lab: &Lab, k: usize) -> SshdFiles {
        let d = lab.host_dir(k);
        SshdFiles {
            config: d.join("sshd_config"),
            host_key: d.join("ssh_host_ed25519_key"),
            pidfile: d.join("sshd.pid"),
            log: d.join("sshd.log"),
        }
    }
}

fn quoted(p: &Path) -> String {
    format!("\"{}\"", p.display())
}

/// The config of host k's sshd.
pub fn config_text(lab: &Lab, files: &SshdFiles, addr: Ipv4Addr) -> String {
    format!(
        "# sshd of a faultline lab host (faultline cluster up); not the machine's sshd.\n\
         ListenAddress {addr}\n\
         Port 22\n\
         HostKey {host_key}\n\
         PidFile {pidfile}\n\
         AuthorizedKeysFile {authorized}\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PrintMotd no\n\
         UseDNS no\n\
         MaxSessions 64\n\
         MaxStartups 64:30:128\n\
         Subsystem sftp internal-sftp\n",
        host_key = quoted(&files.host_key),
        pidfile = quoted(&files.pidfile),
        authorized = quoted(&lab.authorized_keys()),
    )
}

/// Starts host k's sshd in its namespace (it daemonizes and writes its pidfile).
pub fn start(ip: &Path, sshd: &Path, lab: &Lab, k: usize) -> Result<(), LabError> {
    let files = SshdFiles::of(lab, k);
    let ns = lab.namespace(k);
    let (config, log) = (
        files.config.to_string_lossy().into_owned(),
        files.log.to_string_lossy().into_owned(),
    );
    let sshd = sshd.to_string_lossy().into_owned();
    run(
        ip,
        &["netns", "exec", &ns, &sshd, "-f", &config, "-E", &log],
    )?;
    Ok(())
}

/// Waits (up to 10 s) until host k's sshd accepts TCP connections on `addr`.
pub fn wait_ready(lab: &Lab, k: usize, addr: Ipv4Addr) -> Result<(), LabError> {
    let sock = SocketAddr::from((addr, 22));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect_timeout(&sock, Duration::from_millis(500)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let files = SshdFiles::of(lab, k);
            let log = std::fs::read_to_string(&files.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(3).collect();
            return Err(LabError::SshdNotReady {
                host: Lab::host_name(k),
                addr: sock.to_string(),
                log_path: files.log,
                log: if tail.is_empty() {
                    "nothing".to_string()
                } else {
                    tail.into_iter().rev().collect::<Vec<_>>().join("; ")
                },
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pids of this lab's sshd processes, found in /proc by their config path (whether or not
/// a pidfile is left).
pub fn lab_sshd_pids(lab: &Lab) -> Vec<i32> {
    let needle = format!("{}/", lab.dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let line = String::from_utf8_lossy(&cmd).replace('\0', " ");
            line.contains("sshd") && line.contains(&needle) && line.contains("/sshd_config")
        })
        .collect()
}

/// Kills this lab's sshds (and the sessions they forked) and waits until they are gone;
/// returns how many listeners there were (the daemons, not the connections they had forked).
pub fn stop_all(lab: &Lab) -> usize {
    let pids = lab_sshd_pids(lab);
    let listeners = pids
        .iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("[listener]"))
        })
        .count();
    for &p in &pids {
        // SAFETY: kill has no memory preconditions.
        unsafe {
            libc::kill(p, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lab_sshd_pids(lab).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if listeners > 0 {
        listeners
    } else {
        pids.len()
    }
}

/// Makes sshd's privilege-separation folder (/run/sshd) if the machine has none: sshd refuses
/// to start without it.
pub fn ensure_privsep_dir() -> Result<(), LabError> {
    let p = Path::new("/run/sshd");
    if p.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(p).map_err(|source| LabError::Io {
        action: "create sshd's privilege-separation folder",
        path: p.to_path_buf(),
        source,
    })?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
    Ok(())
}
