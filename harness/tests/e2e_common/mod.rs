//! Helpers shared by the end-to-end tests (included with `mod`).
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn faultline() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_faultline"))
}

/// The directory holding faultline, raft-node and zab-node. The system binaries must have been
/// built (`cargo build -p raft -p zab --bins`; a workspace-wide `cargo test` builds them).
pub fn bin_dir() -> PathBuf {
    let dir = faultline().parent().unwrap().to_path_buf();
    for b in ["raft-node", "zab-node"] {
        assert!(
            dir.join(b).is_file(),
            "{b} is not built in {}: run `cargo build -p raft -p zab --bins` first",
            dir.display()
        );
    }
    dir
}

/// Runs `faultline test` with `args` (plus --store and --bin-dir) and returns the output and
/// the run directory.
pub fn run_test(store: &Path, args: &[&str]) -> (Output, PathBuf) {
    let out = Command::new(faultline())
        .arg("test")
        .arg("--store")
        .arg(store)
        .arg("--bin-dir")
        .arg(bin_dir())
        .args(args)
        .output()
        .expect("faultline runs");
    let run = std::fs::canonicalize(store.join("latest")).expect("store/latest points at the run");
    (out, run)
}

pub fn results(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results.json is JSON")
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a process with this pid exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Pids of the direct children of `parent`.
pub fn children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let ppid = s
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) {
                out.push(pid);
            }
        }
    }
    out
}
