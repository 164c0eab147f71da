//! One event of a history: an invocation, a completion, or a nemesis action.

use serde_json::{Map, Value};
use std::fmt;

/// The `type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Invoke,
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown: it may have happened, at any time after its invocation.
    Info,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            "info" => EventType::Info,
            _ => return None,
        })
    }
}

/// Who performed an event: a client process or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Nemesis,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => write!(f, "nemesis"),
        }
    }
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub index: u64,
    /// Nanoseconds since the test started.
    pub time: u64,
    pub kind: EventType,
    pub process: Process,
    pub f: String,
    pub key: Option<String>,
    pub value: Value,
    pub node: Option<String>,
    pub error: Option<String>,
    /// Any other fields (server metadata such as `term`, `zxid`, `version`).
    pub extra: Map<String, Value>,
}

impl Event {
    /// An invocation by client `process`; `index` and `time` are left at 0 for the journal to
    /// stamp when it records the event.
    pub fn invoke(process: u64, f: impl Into<String>, key: Option<String>, value: Value) -> Event {
        Event {
            index: 0,
            time: 0,
            kind: EventType::Invoke,
            process: Process::Client(process),
            f: f.into(),
            key,
            value,
            node: None,
            error: None,
            extra: Map::new(),
        }
    }

    /// The completion of this invocation: same process, `f` and key; `kind` is `Ok`, `Fail` or
    /// `Info`; `value` is what a read returned, or the invocation's value for other operations.
    pub fn complete(&self, kind: EventType, value: Value) -> Event {
        Event {
            index: 0,
            time: 0,
            kind,
            process: self.process,
            f: self.f.clone(),
            key: self.key.clone(),
            value,
            node: None,
            error: None,
            extra: Map::new(),
        }
    }

    /// `ok`, carrying `value`.
    pub fn ok(&self, value: Value) -> Event {
        self.complete(EventType::Ok, value)
    }

    /// `fail` (it certainly did not happen), with the invocation's value and why.
    pub fn fail(&self, error: impl Into<String>) -> Event {
        self.complete(EventType::Fail, self.value.clone())
            .with_error(error)
    }

    /// `info` (it may have happened), with the invocation's value and why.
    pub fn info(&self, error: impl Into<String>) -> Event {
        self.complete(EventType::Info, self.value.clone())
            .with_error(error)
    }

    /// Names the node the client talked to.
    pub fn on(mut self, node: &str) -> Event {
        self.node = Some(node.to_string());
        self
    }

    /// Says why the operation failed or is unknown.
    pub fn with_error(mut self, error: impl Into<String>) -> Event {
        self.error = Some(error.into());
        self
    }

    /// Whether this is a completion (`ok`, `fail` or `info`) rather than an invocation.
    pub fn is_completion(&self) -> bool {
        self.kind != EventType::Invoke
    }

    /// Appends the event as one Contract 1 line, newline included. This is the one encoder of
    /// history lines: the harness's journal and [`crate::JournalWriter`] both write through it.
    /// Fields of `extra` that would shadow a Contract 1 field are left out.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        // Writing into a Vec cannot fail, and every Value serializes.
        let _ = write!(
            out,
            "{{\"index\":{},\"time\":{},\"type\":\"{}\",\"process\":",
            self.index,
            self.time,
            self.kind.as_str()
        );
        match self.process {
            Process::Client(p) => {
                let _ = write!(out, "{p}");
            }
            Process::Nemesis => out.extend_from_slice(b"\"nemesis\""),
        }
        out.extend_from_slice(b",\"f\":");
        json_str(out, &self.f);
        if let Some(k) = &self.key {
            out.extend_from_slice(b",\"key\":");
            json_str(out, k);
        }
        out.extend_from_slice(b",\"value\":");
        let _ = serde_json::to_writer(&mut *out, &self.value);
        if let Some(n) = &self.node {
            out.extend_from_slice(b",\"node\":");
            json_str(out, n);
        }
        if let Some(e) = &self.error {
            out.extend_from_slice(b",\"error\":");
            json_str(out, e);
        }
        for (k, v) in &self.extra {
            if RESERVED.contains(&k.as_str()) {
                continue;
            }
            out.push(b',');
            json_str(out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut *out, v);
        }
        out.extend_from_slice(b"}\n");
    }

    /// The event as one Contract 1 line, newline included.
    pub fn to_line(&self) -> String {
        let mut out = Vec::with_capacity(128);
        self.write_line(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Builds an event from a JSON object, checking every field's presence and type.
    /// Errors are one sentence naming the field.
    pub fn from_json(v: Value) -> Result<Event, String> {
        let Value::Object(mut m) = v else {
            return Err(format!("expected a JSON object, found {}", json_kind(&v)));
        };
        let index = take_u64(&mut m, "index")?;
        let time = take_u64(&mut m, "time")?;
        let kind = match m.remove("type") {
            None => return Err("missing field `type`".into()),
            Some(Value::String(s)) => EventType::parse(&s).ok_or_else(|| {
                format!("field `type` is {s:?}; it must be one of invoke, ok, fail, info")
            })?,
            Some(other) => {
                return Err(format!(
                    "field `type` is {}; it must be a string",
                    json_kind(&other)
                ))
            }
        };
        let process = match m.remove("process") {
            None => return Err("missing field `process`".into()),
            Some(Value::Number(n)) if n.as_u64().is_some() => {
                Process::Client(n.as_u64().unwrap_or(0))
            }
            Some(Value::String(s)) if s == "nemesis" => Process::Nemesis,
            Some(other) => {
                return Err(format!(
                    "field `process` is {}; it must be a non-negative integer or \"nemesis\"",
                    json_kind(&other)
                ))
            }
        };
        let f = match m.remove("f") {
            None => return Err("missing field `f`".into()),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(format!(
                    "field `f` is {}; it must be a string",
                    json_kind(&other)
                ))
            }
        };
        let key = match m.remove("key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return Err(format!(
                    "field `key` is {}; it must be a string",
                    json_kind(&other)
                ))
            }
        };
        let value = m.remove("value").unwrap_or(Value::Null);
        let node = match m.remove("node") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(format!(
                    "field `node` is {}; it must be a string",
                    json_kind(&other)
                ))
            }
        };
        let error = match m.remove("error") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        };
        Ok(Event {
            index,
            time,
            kind,
            process,
            f,
            key,
            value,
            node,
            error,
            extra: m,
        })
    }
}

fn take_u64(m: &mut Map<String, Value>, field: &str) -> Result<u64, String> {
    match m.remove(field) {
        None => Err(format!("missing field `{field}`")),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("field `{field}` is {n}; it must be a non-negative integer")),
        Some(other) => Err(format!(
            "field `{field}` is {}; it must be a non-negative integer",
            json_kind(&other)
        )),
    }
}

/// The fields of Contract 1 that `extra` may not shadow.
const RESERVED: [&str; 9] = [
    "index", "time", "type", "process", "f", "key", "value", "node", "error",
];

fn json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// "a string", "an array", … for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
