//! History formats, detected from content or forced.

use crate::{parse_jepsen_edn, parse_jsonl, parse_porcupine_etcd, History, HistoryError};
use std::path::Path;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Edn,
    PorcupineEtcd,
    /// Porcupine's kv logs: EDN maps, read by the Jepsen importer.
    PorcupineKv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::PorcupineEtcd => "porcupine-etcd",
            Format::PorcupineKv => "porcupine-kv",
        }
    }
}

impl FromStr for Format {
    type Err = HistoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "jsonl" | "json" => Format::Jsonl,
            "edn" | "jepsen" => Format::Edn,
            "porcupine-etcd" => Format::PorcupineEtcd,
            "porcupine-kv" => Format::PorcupineKv,
            other => return Err(HistoryError::UnknownFormat(other.to_string())),
        })
    }
}

/// Guesses the format from the first lines that carry something.
pub fn detect_format(text: &str) -> Option<Format> {
    for l in text.lines().take(200) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        if l.contains("jepsen.util - ") {
            return Some(Format::PorcupineEtcd);
        }
        let rest = t.trim_start_matches(['{', '[', '(']).trim_start();
        if t.starts_with('{') && (rest.starts_with('"') || rest.starts_with('}')) {
            return Some(Format::Jsonl);
        }
        if t.starts_with('{') || t.starts_with('[') || t.starts_with('#') || t.starts_with('(') {
            if rest.contains(":f :append") || rest.contains(":f :put") || rest.contains(":f :get") {
                return Some(Format::PorcupineKv);
            }
            return Some(Format::Edn);
        }
    }
    None
}

/// Parses `text` in `format`, or in the detected format when `format` is `None`.
pub fn load_str(text: &str, format: Option<Format>) -> Result<(Format, History), HistoryError> {
    let format = match format.or_else(|| detect_format(text)) {
        Some(f) => f,
        None if text.trim().is_empty() => Format::Jsonl,
        None => {
            return Err(HistoryError::malformed(vec![crate::LineError {
                line: 0,
                message: "the format could not be recognised (not JSONL, Jepsen EDN or a Porcupine log); force one with --format".into(),
            }]))
        }
    };
    let h = match format {
        Format::Jsonl => parse_jsonl(text)?,
        Format::Edn | Format::PorcupineKv => parse_jepsen_edn(text)?,
        Format::PorcupineEtcd => parse_porcupine_etcd(text)?,
    };
    Ok((format, h))
}

/// Reads and parses a file. JSONL is streamed line by line (the file is never held whole in
/// memory); the other formats are read whole. The format is detected from the first 64 KiB
/// unless forced.
pub fn load_file(path: &Path, format: Option<Format>) -> Result<(Format, History), HistoryError> {
    use std::io::Read;
    let io_err = |e| HistoryError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let format = match format {
        Some(f) => Some(f),
        None => {
            let mut head = Vec::with_capacity(1 << 16);
            (&mut file)
                .take(1 << 16)
                .read_to_end(&mut head)
                .map_err(io_err)?;
            // Only whole lines of the head are looked at, so a cut character does not matter.
            let upto = head
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(head.len(), |i| i + 1);
            detect_format(&String::from_utf8_lossy(&head[..upto]))
        }
    };
    if format == Some(Format::Jsonl) {
        let file = std::fs::File::open(path).map_err(io_err)?;
        return crate::read_jsonl(file)
            .map(|h| (Format::Jsonl, h))
            .map_err(|e| match e {
                HistoryError::Io { source, .. } => io_err(source),
                other => other,
            });
    }
    let bytes = std::fs::read(path).map_err(io_err)?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|&&c| c == b'\n')
                .count()
                + 1;
            return Err(HistoryError::malformed(vec![crate::LineError {
                line,
                message: "is not UTF-8".into(),
            }]));
        }
    };
    load_str(&text, format)
}
