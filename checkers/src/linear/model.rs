//! Sequential models for linearizability, and the preparation of a key's operations for search:
//! values interned to small ids, `fail` operations and `info` reads removed, `info` updates made
//! optional (and dropped when nothing could ever observe them).

use super::machine::{self, Machine};
pub use super::values::Values;
use histories::{OpStatus, Operation, NEVER};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// The sequential specifications a history can be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// read / write of one register; reading `null` means the initial (absent) value.
    Register,
    /// read / write / cas of one register; reading `null` means absent.
    CasRegister,
    /// String keys to cas-registers (checked key by key).
    Kv,
    /// Porcupine's kv: get / put / append on strings, `""` initially.
    PorcupineKv,
    /// Knossos's mutex: acquire / release.
    Mutex,
    /// Knossos's multi-register: `txn`s of `[read k v]` / `[write k v]` micro-ops.
    MultiRegister,
    /// Knossos's set: add, and reads of the whole set.
    Set,
    /// Knossos's unordered queue: enqueue / dequeue, any pending element may come out.
    UnorderedQueue,
    /// Knossos's FIFO queue: enqueue / dequeue in order.
    FifoQueue,
}

/// Every model, in the order `--model` lists them.
pub const ALL: [ModelKind; 9] = [
    ModelKind::Register,
    ModelKind::CasRegister,
    ModelKind::Kv,
    ModelKind::PorcupineKv,
    ModelKind::Mutex,
    ModelKind::MultiRegister,
    ModelKind::Set,
    ModelKind::UnorderedQueue,
    ModelKind::FifoQueue,
];

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::PorcupineKv => "porcupine-kv",
            ModelKind::Mutex => "mutex",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Set => "set",
            ModelKind::UnorderedQueue => "unordered-queue",
            ModelKind::FifoQueue => "fifo-queue",
        }
    }

    /// The state machine of Knossos's other models; `None` for the register models.
    pub fn machine(self) -> Option<Machine> {
        Some(match self {
            ModelKind::Mutex => Machine::Mutex,
            ModelKind::MultiRegister => Machine::MultiRegister,
            ModelKind::Set => Machine::Set,
            ModelKind::UnorderedQueue => Machine::UnorderedQueue,
            ModelKind::FifoQueue => Machine::FifoQueue,
            _ => return None,
        })
    }

    /// The operation names this model understands.
    pub fn functions(self) -> &'static [&'static str] {
        match self {
            ModelKind::Register => &["read", "write"],
            ModelKind::CasRegister | ModelKind::Kv => &["read", "write", "cas"],
            ModelKind::PorcupineKv => &["get", "put", "append"],
            ModelKind::Mutex => &["acquire", "release"],
            ModelKind::MultiRegister => &["txn"],
            ModelKind::Set => &["add", "read"],
            ModelKind::UnorderedQueue | ModelKind::FifoQueue => &["enqueue", "dequeue"],
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|m| m.name()).collect();
            format!("unknown model {s:?}; use one of {}", names.join(", "))
        })
    }
}

/// An interned value. For registers, 0 is `null` (absent); for porcupine-kv, 0 is `""`.
pub type Val = u32;

/// What an operation does, in interned values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Read(Val),
    Write(Val),
    Cas(Val, Val),
    Append(Val),
    /// An operation of a state-machine model that may change the state (see
    /// [`super::machine`]): an interned operation id.
    Op(u32),
    /// An operation of a state-machine model that never changes the state.
    Query(u32),
}

impl Kind {
    /// Whether it leaves the state as it is (a read): a legal one can be linearized where it
    /// is invoked, and a relaxed one can be dropped.
    pub fn is_query(self) -> bool {
        matches!(self, Kind::Read(_) | Kind::Query(_))
    }
}

/// An operation ready for search.
#[derive(Debug, Clone)]
pub struct POp {
    /// Position in `History::ops`.
    pub id: usize,
    pub call: u64,
    /// [`NEVER`] for optional operations.
    pub ret: u64,
    /// `ok` operations must be linearized; `info` ones may be.
    pub required: bool,
    pub kind: Kind,
    /// Alternatives of one operation whose effect is not known (an unordered queue's `info`
    /// dequeue: one alternative per element it may have taken) share a group; at most one
    /// operation of a group is linearized.
    pub group: Option<u32>,
}

/// A key's operations prepared for search.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub ops: Vec<POp>,
    pub values: Values,
    /// Operations removed before search and why (fail, info reads, unobservable info updates).
    pub dropped: usize,
}

/// Converts one key's operations. Errors name the first operation the model does not know.
/// Whether an operation fits the model; the error names its line and what to do. (`fail`
/// operations always fit: they did not happen.)
pub fn fits(model: ModelKind, op: &Operation) -> Result<(), String> {
    if op.status == OpStatus::Fail {
        return Ok(());
    }
    if !model.functions().contains(&op.f.as_str()) {
        return Err(format!(
            "line {}: operation {:?} is not part of the {model} model (it knows {}); choose another --model",
            op.call_line,
            op.f,
            model.functions().join(", ")
        ));
    }
    if let Some(m) = model.machine() {
        return machine::validate(m, op);
    }
    match (op.f.as_str(), &op.input) {
        ("cas", Value::Array(a)) if a.len() == 2 => Ok(()),
        ("cas", other) => Err(format!(
            "line {}: cas value {other} must be a two-element array [expected, new]",
            op.call_line
        )),
        _ => Ok(()),
    }
}

pub fn prepare(model: ModelKind, ops: &[&Operation]) -> Result<Prepared, String> {
    if let Some(m) = model.machine() {
        return machine::prepare_key(m, ops);
    }
    let strings = model == ModelKind::PorcupineKv;
    let mut values = Values::new(strings);
    let mut out = Vec::with_capacity(ops.len());
    let mut dropped = 0;
    for op in ops {
        if op.status == OpStatus::Fail {
            dropped += 1;
            continue;
        }
        let required = op.status == OpStatus::Ok;
        let kind = match (model, op.f.as_str()) {
            (ModelKind::PorcupineKv, "get") | (_, "read") if model.functions().contains(&op.f.as_str()) => {
                if !required {
                    dropped += 1;
                    continue;
                }
                Kind::Read(values.intern(&op.output))
            }
            (ModelKind::PorcupineKv, "put") | (ModelKind::Register | ModelKind::CasRegister | ModelKind::Kv, "write") => {
                Kind::Write(values.intern(&op.input))
            }
            (ModelKind::PorcupineKv, "append") => Kind::Append(values.intern(&op.input)),
            (ModelKind::CasRegister | ModelKind::Kv, "cas") => match &op.input {
                Value::Array(a) if a.len() == 2 => Kind::Cas(values.intern(&a[0]), values.intern(&a[1])),
                other => {
                    return Err(format!(
                        "line {}: cas value {other} must be a two-element array [expected, new]",
                        op.call_line
                    ))
                }
            },
            (_, f) => {
                return Err(format!(
                    "line {}: operation {f:?} is not part of the {model} model (it knows {}); choose another --model",
                    op.call_line,
                    model.functions().join(", ")
                ))
            }
        };
        out.push(POp {
            id: op.id,
            call: op.call,
            ret: if required { op.ret } else { NEVER },
            required,
            kind,
            group: None,
        });
    }
    let before = out.len();
    drop_unobservable(&mut out, &values);
    dropped += before - out.len();
    Ok(Prepared {
        ops: out,
        values,
        dropped,
    })
}

/// Removes optional updates whose effect no operation could observe: an `info` write (or cas,
/// put) of a value that no read returns and no cas expects, an `info` append of a string that no
/// read contains. Such an operation can always be taken not to have happened, so removing it
/// changes no verdict; it only shrinks the search.
pub(crate) fn drop_unobservable(ops: &mut Vec<POp>, values: &Values) {
    if ops.iter().all(|o| o.required) {
        return;
    }
    if let Some(m) = values.machine.as_deref() {
        let required: Vec<u32> = ops
            .iter()
            .filter(|o| o.required)
            .filter_map(|o| match o.kind {
                Kind::Op(x) | Kind::Query(x) => Some(x),
                _ => None,
            })
            .collect();
        ops.retain(|o| match o.kind {
            Kind::Op(x) if !o.required => !machine::unobservable(m, x, &required),
            _ => true,
        });
        return;
    }
    let mut observed = vec![false; values.len()];
    for o in ops.iter() {
        match o.kind {
            Kind::Read(v) => observed[v as usize] = true,
            Kind::Cas(from, _) => observed[from as usize] = true,
            _ => {}
        }
    }
    let reads: Vec<&str> = if values.strings {
        ops.iter()
            .filter_map(|o| match o.kind {
                Kind::Read(v) => values.original(v),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    ops.retain(|o| {
        if o.required {
            return true;
        }
        match o.kind {
            Kind::Write(v) | Kind::Cas(_, v) if !values.strings => observed[v as usize],
            Kind::Write(v) | Kind::Append(v) if values.strings => {
                let t = values.original(v).unwrap_or("");
                t.is_empty() || reads.iter().any(|r| r.contains(t))
            }
            _ => true,
        }
    });
}
