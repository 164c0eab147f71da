//! Operations as workloads make them: histories' [`Event`], the one event type of Contract 1.
//!
//! A generator makes invocations; a worker gives each its process before it is journaled and
//! sent; a client answers with the completion, made from the invocation by [`Event::ok`],
//! [`Event::fail`] or [`Event::info`]. The journal stamps `index` and `time` as it records them.

use histories::Event;
use serde_json::Value;

/// An invocation of `f` (process 0 until a worker issues it).
pub fn invocation(f: &str, key: Option<String>, value: Value) -> Event {
    Event::invoke(0, f, key, value)
}

/// A read of one key.
pub fn read(key: impl Into<String>) -> Event {
    invocation("read", Some(key.into()), Value::Null)
}
