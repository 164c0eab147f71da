//! Edges of the consistency graphs and the sentence that explains each one.

use super::{Memory, Node, Source};
use histories::History;
use serde_json::{json, Value};

/// Why one operation must come before another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// Same process, earlier in program order (possibly several steps).
    Program,
    /// The target read the value the source wrote.
    ReadsFrom,
    /// Source and target write the same key; `read` reads the target's value and follows the
    /// source, so the source must be ordered before the target.
    WriteOrder { read: Node },
    /// The source reads the value of `write`, which the target overwrites after it.
    ReadBeforeOverwrite { write: Node },
    /// The source read the initial value, so every write of the key comes after it.
    InitReadFirst,
    /// Causal convergence's conflict order: the source is in the causal past of `read`, which
    /// reads the target's value.
    Conflict { read: Node },
    /// Causal memory's happens-before in the view of the process of `read`.
    ViewOrder { read: Node },
    /// The source (an update) completed before the target (an update) was invoked, through
    /// the virtual real-time chain.
    RealTime,
    /// The server reported the source's version of the key as one less than the target's.
    Version,
}

impl EdgeKind {
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Program => "program-order",
            EdgeKind::ReadsFrom => "reads-from",
            EdgeKind::WriteOrder { .. } => "write-order",
            EdgeKind::ReadBeforeOverwrite { .. } => "read-before-overwrite",
            EdgeKind::InitReadFirst => "initial-read-first",
            EdgeKind::Conflict { .. } => "conflict",
            EdgeKind::ViewOrder { .. } => "happens-before",
            EdgeKind::RealTime => "real-time",
            EdgeKind::Version => "version-order",
        }
    }
}

/// One edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: Node,
    pub to: Node,
    pub kind: EdgeKind,
}

/// `process 2's write of x=1` style name of a node.
pub fn name(h: &History, m: &Memory, n: Node) -> String {
    let node = &m.nodes[n as usize];
    let Some(i) = node.op else {
        return format!("real-time barrier {}", node.pos);
    };
    let op = &h.ops[i];
    let key = op.key.as_deref().unwrap_or("the register");
    let info = if op.status == histories::OpStatus::Info {
        " (info)"
    } else {
        ""
    };
    match op.f.as_str() {
        "read" => {
            let v = if op.output.is_null() {
                "null (initial)".to_string()
            } else {
                op.output.to_string()
            };
            format!("process {}'s read of {key}={v}{info}", op.process)
        }
        "write" => format!("process {}'s write of {key}={}{info}", op.process, op.input),
        "cas" => format!("process {}'s cas of {key} {}{info}", op.process, op.input),
        f => format!("process {}'s {f}{info}", op.process),
    }
}

fn key_name(m: &Memory, n: Node) -> &str {
    m.keys
        .get(m.nodes[n as usize].key as usize)
        .map(|s| s.as_str())
        .unwrap_or("")
}

/// The sentence for one edge.
pub fn sentence(h: &History, m: &Memory, e: &Edge) -> String {
    let a = name(h, m, e.from);
    let b = name(h, m, e.to);
    match e.kind {
        EdgeKind::Program => format!("{a} precedes {b} in program order"),
        EdgeKind::ReadsFrom => format!("{b} reads the value written by {a}"),
        EdgeKind::WriteOrder { read } => format!(
            "{a} must come before {b}: {} reads {b}'s value and already follows {a}",
            name(h, m, read)
        ),
        EdgeKind::ReadBeforeOverwrite { write } => format!(
            "{a} must come before {b}: it reads the value of {}, which {b} follows and overwrites",
            name(h, m, write)
        ),
        EdgeKind::InitReadFirst => format!(
            "{a} must come before {b}: it read the initial value of {}, so it precedes every write of that key",
            key_name(m, e.from)
        ),
        EdgeKind::Conflict { read } => format!(
            "{a} must be arbitrated before {b}: {a} is in the causal past of {}, which reads {b}'s value",
            name(h, m, read)
        ),
        EdgeKind::ViewOrder { read } => format!(
            "in process {}'s view {a} must come before {b}: {} reads {b}'s value and already follows {a}",
            m.operation(h, read).map(|o| o.process).unwrap_or(0),
            name(h, m, read)
        ),
        EdgeKind::RealTime => format!("{a} completed before {b} was invoked"),
        EdgeKind::Version => format!(
            "{a} must come before {b}: the server gave {b} the next version of {}",
            key_name(m, e.from)
        ),
    }
}

/// Sentences for a path or cycle, with runs through the virtual real-time chain merged into
/// one real-time edge.
pub fn describe_path(h: &History, m: &Memory, edges: &[Edge]) -> Vec<Edge> {
    let mut out: Vec<Edge> = Vec::new();
    let mut pending_from: Option<Node> = None;
    for e in edges {
        let from_virtual = m.nodes[e.from as usize].op.is_none();
        let to_virtual = m.nodes[e.to as usize].op.is_none();
        let _ = h;
        match (from_virtual, to_virtual) {
            (false, true) => pending_from = Some(e.from),
            (true, true) => {}
            (true, false) => out.push(Edge {
                from: pending_from.unwrap_or(e.from),
                to: e.to,
                kind: EdgeKind::RealTime,
            }),
            (false, false) => out.push(*e),
        }
    }
    // A cycle that starts inside the barrier chain: join its tail to its head.
    if let (Some(f), Some(first)) = (pending_from, out.first().copied()) {
        if m.nodes[edges[0].from as usize].op.is_none() && first.kind == EdgeKind::RealTime {
            out[0].from = f;
        }
    }
    out
}

/// The operations (deduplicated, in order of first mention) and per-edge JSON of a path.
pub fn path_details(h: &History, m: &Memory, edges: &[Edge]) -> (Vec<Node>, Vec<String>, Value) {
    let edges = describe_path(h, m, edges);
    let mut nodes: Vec<Node> = Vec::new();
    let mut sentences = Vec::new();
    let mut js = Vec::new();
    for e in &edges {
        let via = match e.kind {
            EdgeKind::WriteOrder { read }
            | EdgeKind::Conflict { read }
            | EdgeKind::ViewOrder { read } => Some(read),
            EdgeKind::ReadBeforeOverwrite { write } => Some(write),
            _ => None,
        };
        for n in [e.from, e.to].into_iter().chain(via) {
            if !nodes.contains(&n) && m.nodes[n as usize].op.is_some() {
                nodes.push(n);
            }
        }
        let s = sentence(h, m, e);
        js.push(json!({
            "from": m.nodes[e.from as usize].op,
            "to": m.nodes[e.to as usize].op,
            "relation": e.kind.name(),
            "explanation": s,
        }));
        sentences.push(s);
    }
    (nodes, sentences, Value::Array(js))
}

/// The source a read saw, as a sentence fragment.
pub fn source_name(h: &History, m: &Memory, n: Node) -> String {
    match m.nodes[n as usize].read {
        Some(Source::Write(w)) => name(h, m, w),
        Some(Source::Init) => "the initial value".into(),
        Some(Source::ThinAir) | None => "no write".into(),
    }
}
