//! What a killed run leaves for a moment, and the wait until it is gone.
//!
//! A run stopped at its deadline is SIGKILLed as a process group. Its nodes follow through their
//! parent-death signal, and each faultfs mount's `fusermount3 auto_unmount` watcher (a session of
//! its own, outside the group) unmounts once the harness's FUSE connection closes — both a few
//! milliseconds later, more on a loaded machine. The campaign waits for them before it records
//! the run, so nothing of a run outlives its record: every process whose command line names the
//! run's store is waited for, a node still alive after a grace period is killed, and a mount the
//! watcher did not remove is detached.

use std::path::Path;
use std::time::{Duration, Instant};

/// How long the parent-death signal and the unmount watchers get before the sweep acts.
const GRACE: Duration = Duration::from_secs(2);
/// How long the sweep waits in all.
const LIMIT: Duration = Duration::from_secs(10);

/// Live (not zombie) processes whose command line mentions one of `names`.
pub fn processes_naming(names: &[String]) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter_map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).to_string();
            (names.iter().any(|n| names_path(&cmd, n)) && !zombie(pid))
                .then(|| (pid, cmd.replace('\0', " ")))
        })
        .collect()
}

/// Whether the NUL-separated command line `cmd` names `path` or something under it: `path`
/// followed by `/`, the end of an argument or the end. (`…/seed-1` does not name `…/seed-10`,
/// a sibling run that may still be going.)
fn names_path(cmd: &str, path: &str) -> bool {
    cmd.match_indices(path).any(|(i, _)| {
        matches!(
            cmd.as_bytes().get(i + path.len()),
            None | Some(b'/') | Some(b'\0')
        )
    })
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

/// Mount points under `store` (from this process's mount table).
fn mounts_under(store: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| names_path(m, store))
        .map(String::from)
        .collect()
}

/// Waits until no process and no mount of the run in `store` remains; returns what had to be
/// killed or detached (empty when everything went by itself).
pub async fn sweep(store: &Path) -> Vec<String> {
    let given = store.to_string_lossy().to_string();
    let store = std::fs::canonicalize(store).unwrap_or_else(|_| store.to_path_buf());
    let store = store.to_string_lossy().to_string();
    let mut names = vec![store.clone()];
    if given != store {
        names.push(given);
    }
    let started = Instant::now();
    let mut forced = Vec::new();
    loop {
        let procs = processes_naming(&names);
        let mounts = mounts_under(&store);
        if procs.is_empty() && mounts.is_empty() {
            return forced;
        }
        let waited = started.elapsed();
        if waited >= GRACE {
            for (pid, cmd) in &procs {
                // The unmount watcher is left to do its work until the limit.
                if cmd.contains("fusermount") && waited < LIMIT {
                    continue;
                }
                // SAFETY: plain syscall on a pid just read from /proc.
                if unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) } == 0 {
                    forced.push(format!("killed {pid} ({})", cmd.trim()));
                }
            }
        }
        if waited >= LIMIT {
            for m in mounts {
                if let Ok(c) = std::ffi::CString::new(m.clone()) {
                    // SAFETY: a valid C string; MNT_DETACH only unlinks the mount.
                    if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
                        forced.push(format!("detached {m}"));
                    }
                }
            }
            return forced;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::names_path;

    #[test]
    fn a_run_names_its_own_store_and_not_a_siblings_with_a_longer_name() {
        let node = "raft-node\0--data\0/c/runs/x/seed-1/n1\0";
        assert!(names_path(node, "/c/runs/x/seed-1"));
        assert!(!names_path(node, "/c/runs/x/seed-"));
        let sibling = "raft-node\0--data\0/c/runs/x/seed-10/n1\0";
        assert!(!names_path(sibling, "/c/runs/x/seed-1"));
        assert!(names_path(
            "faultline\0--store\0/c/runs/x/seed-1\0",
            "/c/runs/x/seed-1"
        ));
        assert!(names_path(
            "fusermount3\0/c/runs/x/seed-1",
            "/c/runs/x/seed-1"
        ));
    }
}
