//! Running the `faultline` binary from a test, and reading what a run stored.
//!
//! The binaries are found beside the test binary's directory (`target/<profile>/deps/..`), where
//! cargo puts a package's binaries before running its tests.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory cargo builds binaries into (the parent of the test binary's `deps`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary is in a directory");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap_or(deps).to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// The faultline binary (built by cargo before the harness's own tests run).
pub fn faultline() -> PathBuf {
    let f = target_dir().join("faultline");
    assert!(
        f.is_file(),
        "faultline is not built in {}: run `cargo build -p harness` first",
        target_dir().display()
    );
    f
}

/// The directory holding faultline, raft-node, zab-node, paxos-node and twopc-node. The system
/// binaries must have been built (`cargo build -p raft -p zab -p paxos -p twopc --bins`; a
/// workspace-wide `cargo test` builds them).
pub fn bin_dir() -> PathBuf {
    let dir = faultline().parent().unwrap().to_path_buf();
    for b in ["raft-node", "zab-node", "paxos-node", "twopc-node"] {
        assert!(
            dir.join(b).is_file(),
            "{b} is not built in {}: run `cargo build -p raft -p zab -p paxos -p twopc --bins` first",
            dir.display()
        );
    }
    dir
}

/// Runs faultline with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(faultline())
        .args(args)
        .output()
        .expect("faultline runs")
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

/// A run's results.json.
pub fn results(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results.json is JSON")
}

/// A process's exit code and output, for a failure message.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
