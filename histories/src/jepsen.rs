//! Importer for Jepsen's `history.edn`: one map per line, or one vector of maps.

use crate::edn;
use crate::event::json_kind;
use crate::{Event, EventType, History, HistoryBuilder, HistoryError, Process};
use serde_json::{Map, Value};

/// Parses a Jepsen EDN history. Events are numbered in file order; a missing `:time` repeats the
/// previous one. Porcupine's kv logs are read by this importer too.
pub fn parse_jepsen_edn(text: &str) -> Result<History, HistoryError> {
    let mut b = HistoryBuilder::new(false);
    let mut last_time = 0u64;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('(') {
        // One vector holding every event: line numbers are those of each map's first line.
        let offset = text.len() - trimmed.len();
        let inner = &text[offset + 1..];
        let Some(close) = inner.rfind([']', ')']) else {
            b.line_error(line_of(text, offset), "the history vector is never closed");
            return b.finish();
        };
        let body = &inner[..close];
        match edn::parse_all_with_offsets(body) {
            Ok(forms) => {
                for (off, v) in forms {
                    let line = line_of(text, offset + 1 + off);
                    push_map(&mut b, line, v, &mut last_time);
                }
            }
            Err((off, msg)) => b.line_error(
                line_of(text, offset + 1 + off),
                format!("is not EDN ({msg})"),
            ),
        }
        return b.finish();
    }
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let t = l.trim();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        match edn::parse_one(t) {
            Ok(v) => push_map(&mut b, line, v, &mut last_time),
            Err(e) => b.line_error(line, format!("is not an EDN map ({e})")),
        }
    }
    b.finish()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

fn push_map(b: &mut HistoryBuilder, line: usize, v: Value, last_time: &mut u64) {
    match event_from_jepsen(v, last_time) {
        Ok(ev) => b.push(line, ev),
        Err(msg) => b.line_error(line, msg),
    }
}

fn event_from_jepsen(v: Value, last_time: &mut u64) -> Result<Event, String> {
    let Value::Object(mut m) = v else {
        return Err(format!("expected an EDN map, found {}", json_kind(&v)));
    };
    let kind = match m.remove("type") {
        Some(Value::String(s)) => EventType::parse(&s)
            .ok_or_else(|| format!(":type is :{s}; it must be :invoke, :ok, :fail or :info"))?,
        Some(other) => {
            return Err(format!(
                ":type is {}; it must be a keyword",
                json_kind(&other)
            ))
        }
        None => return Err("missing :type".into()),
    };
    let process = match m.remove("process") {
        Some(Value::Number(n)) if n.as_u64().is_some() => Process::Client(n.as_u64().unwrap_or(0)),
        Some(Value::String(s)) if s == "nemesis" => Process::Nemesis,
        Some(other) => {
            return Err(format!(
                ":process is {other}; it must be a non-negative integer or :nemesis"
            ))
        }
        None => return Err("missing :process".into()),
    };
    let f = match m.remove("f") {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None if process == Process::Nemesis => String::new(),
        Some(other) => return Err(format!(":f is {}; it must be a keyword", json_kind(&other))),
        None => return Err("missing :f".into()),
    };
    let time = match m.remove("time") {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f.max(0.0) as u64))
            .ok_or_else(|| format!(":time is {n}; it must be a non-negative integer"))?,
        Some(Value::Null) | None => *last_time,
        Some(other) => {
            return Err(format!(
                ":time is {}; it must be a number",
                json_kind(&other)
            ))
        }
    };
    *last_time = time;
    m.remove("index");
    let key = match m.remove("key") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    let value = m.remove("value").unwrap_or(Value::Null);
    let node = match m.remove("node") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    let error = match m.remove("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    let extra: Map<String, Value> = m;
    Ok(Event {
        index: 0,
        time,
        kind,
        process,
        f,
        key,
        value,
        node,
        error,
        extra,
    })
}
