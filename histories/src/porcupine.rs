//! Importer for Porcupine's etcd logs (Jepsen log lines; see shared/corpora/porcupine/SOURCE.md).
//!
//! `INFO  jepsen.util - 2 :invoke :cas [3 0]`: process, type, f, value (EDN), separated by tabs
//! or runs of spaces. The register starts absent; `:fail :cas` means the cas found another value
//! (it did not take effect, so it is a `fail`); `:info` is unknown; `:fail :read :timed-out` is a
//! read whose result is unknown (an `info`). Lines of other shapes carry no operation.

use crate::edn;
use crate::{Event, EventType, History, HistoryBuilder, HistoryError, Process};
use serde_json::{Map, Value};

const MARKER: &str = "jepsen.util - ";

pub fn parse_porcupine_etcd(text: &str) -> Result<History, HistoryError> {
    let mut b = HistoryBuilder::new(false);
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let Some(pos) = l.find(MARKER) else { continue };
        let rest = &l[pos + MARKER.len()..];
        let mut parts = rest.split_whitespace();
        let (Some(proc_s), Some(type_s), Some(f_s)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let value_text: String = parts.collect::<Vec<_>>().join(" ");
        let process = if proc_s == ":nemesis" {
            Process::Nemesis
        } else {
            match proc_s.parse::<u64>() {
                Ok(p) => Process::Client(p),
                Err(_) => continue,
            }
        };
        let Some(mut kind) = type_s.strip_prefix(':').and_then(EventType::parse) else {
            continue;
        };
        let Some(f) = f_s.strip_prefix(':') else {
            continue;
        };
        let value = if value_text.is_empty() {
            Value::Null
        } else {
            match edn::parse_one(&value_text) {
                Ok(v) => v,
                Err(e) => {
                    b.line_error(line, format!("value {value_text:?} is not EDN ({e})"));
                    continue;
                }
            }
        };
        let mut error = None;
        if kind == EventType::Fail && f == "read" && value == Value::String("timed-out".into()) {
            kind = EventType::Info;
            error = Some("timed-out".to_string());
        } else if kind == EventType::Info {
            if let Value::String(s) = &value {
                error = Some(s.clone());
            }
        }
        let ev = Event {
            index: 0,
            time: line as u64,
            kind,
            process,
            f: f.to_string(),
            key: None,
            value,
            node: None,
            error,
            extra: Map::new(),
        };
        b.push(line, ev);
    }
    b.finish()
}
