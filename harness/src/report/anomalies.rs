//! Each anomaly in plain language: what happened (a stale read, a lost write, a cycle), when
//! (seconds into the run), which nodes served its operations and what they were then (leader,
//! down, cut off), which faults were in force, and the witness operations with their history
//! lines; then its own timeline and the node log lines around it.

use super::escape::{clip, esc};
use super::faults::secs;
use super::model::{AnomalyView, Page, Witness};
use super::timeline;
use std::fmt::Write;

/// A short title for the kind of anomaly.
pub fn headline(a: &AnomalyView) -> String {
    let k = a.kind.as_str();
    let known = match k {
        "nonlinearizable" => Some(nonlinearizable_headline(a)),
        "lost" => Some("A lost write: an acknowledged element is missing".into()),
        "unexpected" => Some("A read of an element that was never added".into()),
        "duplicated" => Some("A duplicated element".into()),
        "malformed-read" => Some("A malformed read".into()),
        "G0" => Some("A write cycle (G0: dirty write)".into()),
        "G1a" => Some("An aborted read (G1a)".into()),
        "G1b" => Some("An intermediate read (G1b)".into()),
        "G1c" => Some("A circular information flow (G1c)".into()),
        "G-single" => Some("A read skew (G-single: a cycle with one anti-dependency)".into()),
        "G-nonadjacent" => Some("A cycle of non-adjacent anti-dependencies (G-nonadjacent)".into()),
        "G2-item" => Some("A write skew (G2-item: a cycle of anti-dependencies)".into()),
        "lost-update" => Some("A lost update".into()),
        "internal" => Some("A transaction that contradicts its own writes (internal)".into()),
        "dirty-update" => Some("A dirty update".into()),
        "incompatible-order" => Some("Incompatible orders of the same list".into()),
        _ => None,
    };
    known.unwrap_or_else(|| {
        if k.to_ascii_lowercase().contains("cycl") {
            format!("A cycle ({})", clip(k, 60))
        } else {
            format!("A {} anomaly", clip(k, 60))
        }
    })
}

/// A linearizability witness: a stale read when its read returned a value an earlier witness
/// held (read or wrote), or the initial (absent) value after one held another; a read of a
/// value never written when the checker says none was.
fn nonlinearizable_headline(a: &AnomalyView) -> String {
    let Some(read) = a
        .witness
        .iter()
        .rev()
        .find(|w| is_read(&w.f) && w.status == "ok")
    else {
        return "Operations that cannot be linearized".into();
    };
    let never = a.explanation.contains("never held") || a.explanation.contains("never wrote");
    let earlier = || a.witness.iter().filter(|w| w.line < read.line);
    let seen_before = earlier().any(|w| held(w).is_some_and(|v| *v == read.value));
    let initial = read.value.is_null() && earlier().any(|w| held(w).is_some_and(|v| !v.is_null()));
    if !never && (seen_before || initial) {
        "A stale read".into()
    } else if never {
        "A read of a value never written".into()
    } else {
        "A read no order of operations allows".into()
    }
}

fn is_read(f: &str) -> bool {
    matches!(f, "read" | "get")
}

/// The value an operation leaves or finds: what a read returned, what a write wrote, a cas's
/// new value.
fn held(w: &Witness) -> Option<&serde_json::Value> {
    match w.f.as_str() {
        "cas" => w.value.get(1),
        "read" | "get" | "write" | "put" => Some(&w.value),
        _ => None,
    }
}

/// Which nodes served the witnesses, each with what it was at the time.
fn nodes_sentence(page: &Page, a: &AnomalyView) -> String {
    let mut parts = Vec::new();
    for w in &a.witness {
        let Some(node) = &w.node else { continue };
        let t = w.ret.or(w.call).unwrap_or(0);
        let mut notes = Vec::new();
        if let Some(r) = page.role_at(node, t) {
            notes.push(r.label());
        }
        for &i in &a.faults {
            let f = &page.faults[i];
            if f.nodes.contains(node) && f.overlaps(w.call.unwrap_or(t), t) {
                notes.push(format!("hit by {}", f.what));
            }
        }
        let what = format!(
            "line {}'s {} went to {node}{}",
            w.line,
            w.f,
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            }
        );
        parts.push(what);
    }
    if parts.is_empty() {
        return "The history does not say which nodes served these operations.".into();
    }
    format!("Nodes: {}.", parts.join("; "))
}

fn faults_sentence(page: &Page, a: &AnomalyView) -> String {
    if a.span.is_none() {
        return String::new();
    }
    if !a.faults.is_empty() {
        let list: Vec<String> = a
            .faults
            .iter()
            .map(|&i| {
                let f = &page.faults[i];
                format!("{}, {}", f.what, f.span_text())
            })
            .collect();
        return format!("Faults in force: during {}.", list.join("; and during "));
    }
    match a.previous_fault {
        Some(i) => {
            let f = &page.faults[i];
            format!(
                "No fault was in force; the last one, {}, was healed at {}.",
                f.what,
                secs(f.end.unwrap_or(0))
            )
        }
        None if page.faults.is_empty() => "No fault was injected in this run.".into(),
        None => "No fault had been injected yet.".into(),
    }
}

/// The anomaly's section.
pub fn render(page: &Page, a: &AnomalyView, index: usize) -> String {
    let mut s = String::new();
    let next = if index + 1 < page.anomalies.len() {
        format!(" · <a href=\"#a{}\">next anomaly</a>", index + 2)
    } else {
        String::new()
    };
    let _ = write!(
        s,
        "<section class=\"anomaly\" id=\"{id}\"><h3>{id}. {head}{key} <span class=\"by\">({checker}: {kind})</span></h3>",
        id = esc(&a.id),
        head = esc(&headline(a)),
        key = a.key.as_deref().map(|k| format!(" on key {}", esc(&clip(k, 80)))).unwrap_or_default(),
        checker = esc(&a.checker),
        kind = esc(&a.kind),
    );
    let _ = write!(s, "<p class=\"what\">{}</p>", esc(&a.explanation));
    if let Some((t0, t1)) = a.span {
        let lines: Vec<usize> = a.witness.iter().map(|w| w.line).collect();
        let _ = write!(
            s,
            "<p class=\"when\">When: from {} to {} into the run (history lines {}).</p>",
            secs(t0),
            secs(t1),
            lines
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = write!(
        s,
        "<p class=\"nodes\">{}</p>",
        esc(&nodes_sentence(page, a))
    );
    let f = faults_sentence(page, a);
    if !f.is_empty() {
        let _ = write!(s, "<p class=\"faults\">{}</p>", esc(&f));
    }
    s.push_str("<table class=\"witness\"><thead><tr><th>line</th><th>completion</th><th>process</th><th>operation</th><th>outcome</th><th>node</th><th>invoked</th><th>completed</th></tr></thead><tbody>");
    for w in &a.witness {
        let _ = write!(
            s,
            "<tr data-op=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"optext\">{}</td><td class=\"{st}\">{st}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            w.op.map(|o| o.to_string()).unwrap_or_default(),
            w.line,
            w.ret_line.map(|l| l.to_string()).unwrap_or_else(|| "—".into()),
            w.process,
            esc(&clip(&w.text, 300)),
            esc(w.node.as_deref().unwrap_or("—")),
            w.call.map(|t| format!("{:.4} s", t as f64 / 1e9)).unwrap_or_default(),
            w.ret.map(|t| format!("{:.4} s", t as f64 / 1e9)).unwrap_or_else(|| "—".into()),
            st = esc(&w.status),
        );
    }
    s.push_str("</tbody></table>");
    if index < timeline::MAX_WINDOWS {
        if let Some(c) = timeline::around(page, a) {
            s.push_str("<h4>Around it</h4>");
            s.push_str(&c.render());
        }
    }
    if !a.logs.is_empty() {
        s.push_str("<details class=\"logs\"><summary>Node log lines around it</summary>");
        for (node, lines) in &a.logs {
            let _ = write!(s, "<h5>{}</h5><pre>", esc(node));
            for l in lines {
                let _ = writeln!(
                    s,
                    "<span class=\"ln\">{:>5}</span> {}",
                    l.line,
                    esc(&clip(&l.text, 400))
                );
            }
            s.push_str("</pre>");
        }
        s.push_str("</details>");
    }
    let _ = writeln!(
        s,
        "<p class=\"nav\"><a href=\"#top\">top</a>{next}</p></section>"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn w(line: usize, f: &str, value: serde_json::Value) -> Witness {
        Witness {
            op: None,
            line,
            ret_line: None,
            process: 0,
            f: f.into(),
            text: String::new(),
            value,
            status: "ok".into(),
            node: None,
            call: None,
            ret: None,
        }
    }

    fn view(kind: &str, witness: Vec<Witness>, explanation: &str) -> AnomalyView {
        AnomalyView {
            id: "a1".into(),
            checker: "linearizable".into(),
            kind: kind.into(),
            key: None,
            explanation: explanation.into(),
            witness,
            span: None,
            nodes: vec![],
            faults: vec![],
            previous_fault: None,
            logs: vec![],
        }
    }

    #[test]
    fn a_read_of_an_older_value_is_a_stale_read() {
        let a = view(
            "nonlinearizable",
            vec![
                w(625, "read", json!(299)),
                w(627, "write", json!(323)),
                w(639, "read", json!(299)),
            ],
            "",
        );
        assert_eq!(headline(&a), "A stale read");
        let b = view(
            "nonlinearizable",
            vec![w(85, "read", json!(2))],
            "a value the register never held: no operation wrote 2.",
        );
        assert_eq!(headline(&b), "A read of a value never written");
        let c = view(
            "nonlinearizable",
            vec![w(772, "write", json!(390)), w(914, "read", json!(null))],
            "null and 390 must each come before the other",
        );
        assert_eq!(headline(&c), "A stale read");
        assert_eq!(
            headline(&view("G2-item", vec![], "")),
            "A write skew (G2-item: a cycle of anti-dependencies)"
        );
        assert_eq!(
            headline(&view("CyclicCO", vec![], "")),
            "A cycle (CyclicCO)"
        );
    }
}
