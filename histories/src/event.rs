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
    /// The event as a JSON object in Contract 1 form.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("index".into(), Value::from(self.index));
        m.insert("time".into(), Value::from(self.time));
        m.insert("type".into(), Value::from(self.kind.as_str()));
        m.insert(
            "process".into(),
            match self.process {
                Process::Client(p) => Value::from(p),
                Process::Nemesis => Value::from("nemesis"),
            },
        );
        m.insert("f".into(), Value::from(self.f.clone()));
        if let Some(k) = &self.key {
            m.insert("key".into(), Value::from(k.clone()));
        }
        m.insert("value".into(), self.value.clone());
        if let Some(n) = &self.node {
            m.insert("node".into(), Value::from(n.clone()));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), Value::from(e.clone()));
        }
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
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
