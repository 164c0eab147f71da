//! Importer for Jepsen's `history.edn` (and Knossos's and Porcupine's EDN histories): any valid
//! EDN holding event maps — one per line, one vector or list of them over any number of lines,
//! maps spread over several lines, comments and discards anywhere (see [`crate::edn`]).
//!
//! Events are ordered by `:index` when every event has one, else by file order; that order is
//! the history's real-time order. Times may go backwards in it (Jepsen stamps them on different
//! threads): that is counted in [`History::time_reversals`], never rejected. A missing `:time`
//! repeats the previous one. Line numbers are those of each map's first line.

use crate::edn::{self, Lines};
use crate::event::json_kind;
use crate::{Event, EventType, History, HistoryBuilder, HistoryError, LineError, Process};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Parses a Jepsen EDN history. Porcupine's kv logs are read by this importer too.
pub fn parse_jepsen_edn(text: &str) -> Result<History, HistoryError> {
    let lines = Lines::new(text);
    let forms = match edn::parse_elements(text) {
        Ok(f) => f,
        Err(e) => {
            let opened = e
                .opened
                .map(|o| format!(" that opened on line {}", lines.line(o)))
                .unwrap_or_default();
            return Err(HistoryError::malformed(vec![LineError {
                line: lines.line(e.offset),
                message: format!("is not EDN: {}{opened}", e.message),
            }]));
        }
    };
    let mut b = HistoryBuilder::new(false);
    let mut last_time = 0u64;
    let mut events: Vec<(usize, Option<u64>, Event)> = Vec::with_capacity(forms.len());
    for (offset, v) in forms {
        let line = lines.line(offset);
        match event_from_jepsen(v, &mut last_time) {
            Ok((index, ev)) => events.push((line, index, ev)),
            Err(msg) => b.line_error(line, msg),
        }
    }
    if !events.is_empty() && events.iter().all(|e| e.1.is_some()) {
        events.sort_by_key(|e| e.1);
        let mut seen: HashMap<u64, usize> = HashMap::new();
        for (line, index, _) in &events {
            let i = index.unwrap_or(0);
            if let Some(first) = seen.insert(i, *line) {
                b.line_error(
                    *line,
                    format!(":index {i} is also the index of the event on line {first}; every event needs its own :index"),
                );
            }
        }
    }
    for (position, (line, _, mut ev)) in events.into_iter().enumerate() {
        ev.index = position as u64;
        b.push(line, ev);
    }
    b.finish()
}

/// A field's value as text: strings as they are, anything else as JSON.
fn text_of(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// One event map: its `:index` (if it has one) and the event.
fn event_from_jepsen(v: Value, last_time: &mut u64) -> Result<(Option<u64>, Event), String> {
    let Value::Object(mut m) = v else {
        return Err(format!(
            "expected an EDN map (an event), found {}",
            json_kind(&v)
        ));
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
        Some(other) if process == Process::Nemesis => other.to_string(),
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
                ":time is {}; it must be a number of nanoseconds",
                json_kind(&other)
            ))
        }
    };
    *last_time = time;
    let index = match m.remove("index") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(other) => {
            return Err(format!(
                ":index is {other}; it must be a non-negative integer"
            ))
        }
    };
    let key = m.remove("key").and_then(text_of);
    let value = m.remove("value").unwrap_or(Value::Null);
    let node = m.remove("node").and_then(text_of);
    let error = m.remove("error").and_then(text_of);
    let extra: Map<String, Value> = m;
    Ok((
        index,
        Event {
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
        },
    ))
}
