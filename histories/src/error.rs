//! Errors of reading a history: every malformed line with its line number.

use std::fmt;

/// One thing wrong with one line of a history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (0 when the problem is the file as a whole).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// The last line of a JSON Lines history, cut short: no newline and not a whole JSON object, as a
/// writer that died mid-line leaves it. It is left out of the history and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornLine {
    /// 1-based line number.
    pub line: usize,
    /// How many bytes of it were there.
    pub bytes: usize,
}

impl fmt::Display for TornLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is incomplete ({} bytes and no newline, as a writer that died mid-line leaves it); it was ignored and every line before it was read",
            self.line, self.bytes
        )
    }
}

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but some lines are malformed. `errors` holds the first
    /// [`HistoryError::MAX_REPORTED`] of them; `total` counts all.
    #[error("{}", malformed_summary(.errors, *.total))]
    Malformed {
        errors: Vec<LineError>,
        total: usize,
    },
    #[error("unknown history format {0:?}: use auto, jsonl, edn, porcupine-etcd or porcupine-kv")]
    UnknownFormat(String),
}

impl HistoryError {
    /// How many line errors are kept for reporting.
    pub const MAX_REPORTED: usize = 100;

    pub fn malformed(errors: Vec<LineError>) -> Self {
        let total = errors.len();
        let mut errors = errors;
        errors.truncate(Self::MAX_REPORTED);
        HistoryError::Malformed { errors, total }
    }
}

fn malformed_summary(errors: &[LineError], total: usize) -> String {
    let mut s = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            s.push_str("; ");
        }
        s.push_str(&e.to_string());
    }
    if total > errors.len() {
        s.push_str(&format!(
            "; and {} more malformed lines",
            total - errors.len()
        ));
    }
    s
}
