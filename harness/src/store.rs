//! The store of runs (Contract 3): `store/<test-name>/<YYYYMMDDTHHMMSS.mmm>/`, and `store/latest`.
//!
//! A [`RunDir`] is the one place that knows a run directory's files: `test.json` (every option),
//! `history.jsonl` (the journal), `results.json` (the verdicts), `report.html`, `log.txt` and
//! `nodes/`. Commands that make runs (`test`) and commands that read them again (`analyze`,
//! `report`, `serve`, later `campaign`) go through it.

use histories::History;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What went wrong with a run directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source} (is {} a run directory?)", .path.parent().unwrap_or(Path::new("")).display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {message}")]
    NotJson { path: PathBuf, message: String },
    #[error("{path} is not a valid history: {source}")]
    History {
        path: PathBuf,
        #[source]
        source: histories::HistoryError,
    },
}

impl StoreError {
    /// Whether the harness failed to write (its own failure) rather than found a stored run it
    /// cannot read (bad input).
    pub fn is_write(&self) -> bool {
        matches!(self, StoreError::Create { .. } | StoreError::Write { .. })
    }
}

/// One run's directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates a fresh run directory under `store/<name>/` and points `store/latest` at it.
    pub fn create(store: &Path, name: &str) -> Result<RunDir, StoreError> {
        create_run_dir(store, name).map(|path| RunDir { path })
    }

    /// An existing run directory (`store/<test>/<time>/` or `store/latest`); it must hold a
    /// readable test.json.
    pub fn open(path: &Path) -> Result<RunDir, StoreError> {
        let dir = RunDir {
            path: path.to_path_buf(),
        };
        dir.read_test()?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn test_path(&self) -> PathBuf {
        self.path.join("test.json")
    }

    pub fn history_path(&self) -> PathBuf {
        self.path.join("history.jsonl")
    }

    pub fn results_path(&self) -> PathBuf {
        self.path.join("results.json")
    }

    /// `report.html`, the anomaly report (crate::report).
    pub fn report_path(&self) -> PathBuf {
        self.path.join("report.html")
    }

    pub fn log_path(&self) -> PathBuf {
        self.path.join("log.txt")
    }

    /// `nodes/`, where each node's directory lives.
    pub fn nodes_path(&self) -> PathBuf {
        self.path.join("nodes")
    }

    /// Writes test.json: every option, the seed, versions, node addresses.
    pub fn write_test(&self, test: &Value) -> Result<(), StoreError> {
        write_json(&self.test_path(), test)
    }

    pub fn read_test(&self) -> Result<Value, StoreError> {
        read_json(&self.test_path())
    }

    /// Writes results.json (Contract 3).
    pub fn write_results(&self, results: &Value) -> Result<(), StoreError> {
        write_json(&self.results_path(), results)
    }

    /// results.json, if the run has one that parses.
    pub fn read_results(&self) -> Option<Value> {
        read_json(&self.results_path()).ok()
    }

    /// Reads the journal. A last line cut by a harness that died mid-write is left out and
    /// named in [`History::torn`].
    pub fn load_history(&self) -> Result<History, StoreError> {
        let path = self.history_path();
        histories::load_file(&path, Some(histories::Format::Jsonl))
            .map(|(_, h)| h)
            .map_err(|source| match source {
                histories::HistoryError::Io { source, .. } => StoreError::Read {
                    path: path.clone(),
                    source,
                },
                source => StoreError::History {
                    path: path.clone(),
                    source,
                },
            })
    }
}

fn write_json(path: &Path, v: &Value) -> Result<(), StoreError> {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    std::fs::write(path, text + "\n").map_err(|source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Value, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| StoreError::NotJson {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `YYYYMMDDTHHMMSS.mmm` in UTC.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, dd) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{dd:02}T{:02}{:02}{:02}.{:03}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn create_run_dir(store: &Path, name: &str) -> Result<PathBuf, StoreError> {
    let base = store.join(name);
    let mut ts = timestamp(SystemTime::now());
    let mut dir = base.join(&ts);
    let mut n = 1;
    while dir.exists() {
        ts = format!("{}-{n}", timestamp(SystemTime::now()));
        dir = base.join(&ts);
        n += 1;
    }
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Create {
        path: dir.clone(),
        source,
    })?;
    let latest = store.join("latest");
    let _ = std::fs::remove_file(&latest);
    let target = Path::new(name).join(&ts);
    if let Err(e) = std::os::unix::fs::symlink(&target, &latest) {
        tracing::warn!("cannot point {} at the run: {e}", latest.display());
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_times() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000.000");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_219_200_123); // 2026-11-21T00:00:00.123Z
        assert_eq!(timestamp(t), "20261121T000000.123");
        let t = UNIX_EPOCH + Duration::from_secs(951_829_261); // 2000-02-29 13:01:01
        assert_eq!(timestamp(t), "20000229T130101.000");
    }

    #[test]
    fn run_dirs_are_distinct_and_latest_follows() {
        let d = tempfile::tempdir().unwrap();
        let a = RunDir::create(d.path(), "t").unwrap();
        let b = RunDir::create(d.path(), "t").unwrap();
        assert_ne!(a.path(), b.path());
        let latest = std::fs::canonicalize(d.path().join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(b.path()).unwrap());
    }
}
