//! Validation and pairing: events in, a [`History`] or every malformed line out.

use crate::{
    Event, EventType, History, HistoryError, LineError, OpStatus, Operation, Process,
    TimeReversals, TornLine, NEVER,
};
use serde_json::Value;
use std::collections::HashMap;

/// Accepts events in file order, checks that they form a well-formed history, and pairs each
/// invocation with its completion.
///
/// Checked: completion without an invocation, a second outstanding operation on one process, a
/// completion whose `f` or `key` differ from its invocation, and, when `strict` (faultline's own
/// JSONL), `index` out of sequence and time going backwards. Importers are not strict: their
/// times may go backwards (counted in [`History::time_reversals`]), since real-time precedence
/// comes from the event order.
#[derive(Debug)]
pub struct HistoryBuilder {
    ops: Vec<Operation>,
    nemesis: Vec<Event>,
    /// process -> position in `ops` of its outstanding invocation
    pending: HashMap<u64, usize>,
    errors: Vec<LineError>,
    error_count: usize,
    strict: bool,
    events: u64,
    last_time: Option<(u64, usize)>,
    torn: Option<TornLine>,
    reversals: Option<TimeReversals>,
}

impl HistoryBuilder {
    /// `strict`: require `index` to be 0, 1, 2, … in file order and times never to go
    /// backwards (JSONL); importers, which number events themselves, pass false.
    pub fn new(strict: bool) -> Self {
        HistoryBuilder {
            ops: Vec::new(),
            nemesis: Vec::new(),
            pending: HashMap::new(),
            errors: Vec::new(),
            error_count: 0,
            strict,
            events: 0,
            last_time: None,
            torn: None,
            reversals: None,
        }
    }

    /// Records a line that could not be turned into an event at all.
    pub fn line_error(&mut self, line: usize, message: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < HistoryError::MAX_REPORTED {
            self.errors.push(LineError {
                line,
                message: message.into(),
            });
        }
    }

    /// Records that the file's last line was cut short and left out (see [`TornLine`]).
    pub fn torn_tail(&mut self, line: usize, bytes: usize) {
        self.torn = Some(TornLine { line, bytes });
    }

    /// Adds one event read from `line` (1-based).
    pub fn push(&mut self, line: usize, ev: Event) {
        let position = self.events;
        self.events += 1;
        if self.strict && ev.index != position {
            self.line_error(
                line,
                format!("index is {} but this is event {position} of the file; indices must run 0, 1, 2, … in file order", ev.index),
            );
        }
        if let Some((t, l)) = self.last_time {
            if ev.time < t && self.strict {
                self.line_error(
                    line,
                    format!("time goes backwards: {} after {} on line {l}", ev.time, t),
                );
            } else if ev.time < t {
                let r = self.reversals.get_or_insert(TimeReversals {
                    count: 0,
                    first_line: line,
                    time: ev.time,
                    before: t,
                });
                r.count += 1;
            }
        }
        self.last_time = Some((ev.time.max(self.last_time.map_or(0, |x| x.0)), line));
        let p = match ev.process {
            Process::Nemesis => {
                self.nemesis.push(ev);
                return;
            }
            Process::Client(p) => p,
        };
        match ev.kind {
            EventType::Invoke => {
                if let Some(&prev) = self.pending.get(&p) {
                    let prev_line = self.ops[prev].call_line;
                    self.line_error(
                        line,
                        format!("process {p} invokes {} while its {} invoked on line {prev_line} is still outstanding; a process has at most one operation outstanding", ev.f, self.ops[prev].f),
                    );
                    return;
                }
                let id = self.ops.len();
                self.ops.push(Operation {
                    id,
                    process: p,
                    f: ev.f,
                    key: ev.key,
                    input: ev.value,
                    output: Value::Null,
                    status: OpStatus::Info,
                    call: position,
                    ret: NEVER,
                    call_time: ev.time,
                    ret_time: None,
                    call_line: line,
                    ret_line: None,
                    node: ev.node,
                    error: None,
                    meta: ev.extra,
                });
                self.pending.insert(p, id);
            }
            kind => {
                let Some(id) = self.pending.remove(&p) else {
                    self.line_error(
                        line,
                        format!(
                            "completion ({}) of {} by process {p} has no outstanding invocation",
                            kind.as_str(),
                            ev.f
                        ),
                    );
                    return;
                };
                let op = &mut self.ops[id];
                if op.f != ev.f || op.key != ev.key {
                    let msg = format!(
                        "completion {} {} of process {p} does not match its invocation {} {} on line {}",
                        ev.f,
                        ev.key.as_deref().unwrap_or("(no key)"),
                        op.f,
                        op.key.as_deref().unwrap_or("(no key)"),
                        op.call_line
                    );
                    self.line_error(line, msg);
                    return;
                }
                op.ret_time = Some(ev.time);
                op.ret_line = Some(line);
                op.error = ev.error;
                if ev.node.is_some() {
                    op.node = ev.node;
                }
                for (k, v) in ev.extra {
                    op.meta.insert(k, v);
                }
                match kind {
                    EventType::Ok => {
                        op.status = OpStatus::Ok;
                        op.ret = position;
                        op.output = ev.value;
                    }
                    EventType::Fail => {
                        op.status = OpStatus::Fail;
                        op.ret = position;
                    }
                    _ => {
                        op.status = OpStatus::Info;
                    }
                }
            }
        }
    }

    /// The history, or every malformed line found.
    pub fn finish(self) -> Result<History, HistoryError> {
        if self.error_count > 0 {
            let mut errors = self.errors;
            let total = self.error_count;
            errors.truncate(HistoryError::MAX_REPORTED);
            return Err(HistoryError::Malformed { errors, total });
        }
        Ok(History {
            ops: self.ops,
            nemesis: self.nemesis,
            events: self.events as usize,
            torn: self.torn,
            time_reversals: self.reversals,
        })
    }
}
