//! Each node's role over time — leader (with its term or epoch), follower, looking, down,
//! paused — from its log and from the nemesis's fault windows.
//!
//! Leadership comes from the lines our systems write on a role change (raft: `became leader …
//! term=N`, `stepping down`, `lost contact with a quorum`; zab: `LEADING`, `leader established
//! … epoch=E`, `FOLLOWING`, `going LOOKING`). A node is down from a `kill` of it to its restart
//! and paused from a `pause` to its resume; a kill, a pause or the final restart ends its
//! leadership. A system whose logs say none of this still gets its down and paused spans.

use super::faults::Window;
use super::nodelog::NodeLog;

/// What a node was doing during a span.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Leader, with its term (raft) or epoch (zab) when the log names it.
    Leader(Option<(&'static str, u64)>),
    Down,
    Paused,
}

/// A span of one node's role.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub node: String,
    pub role: Role,
    /// Nanoseconds since the test started.
    pub start: u64,
    pub end: u64,
}

impl Span {
    /// `leader (term 3)`, `down`, `paused`.
    pub fn label(&self) -> String {
        match &self.role {
            Role::Leader(Some((word, t))) => format!("leader ({word} {t})"),
            Role::Leader(None) => "leader".into(),
            Role::Down => "down".into(),
            Role::Paused => "paused".into(),
        }
    }
}

enum Change {
    Lead(Option<(&'static str, u64)>),
    /// An epoch learned while leading (zab's `leader established`).
    Term(u64),
    Lose,
    /// The harness stopped the process (its marker has no time of its own).
    Stop,
}

fn change_of(text: &str) -> Option<Change> {
    if text.contains("became leader") || text.contains(" LEADING") {
        let term = field(text, "term").map(|t| ("term", t));
        return Some(Change::Lead(
            term.or_else(|| field(text, "epoch").map(|e| ("epoch", e))),
        ));
    }
    if text.contains("leader established") {
        return field(text, "epoch").map(Change::Term);
    }
    if text.contains("stepping down")
        || text.contains("lost contact with a quorum")
        || text.contains(" FOLLOWING")
        || text.contains("going LOOKING")
    {
        return Some(Change::Lose);
    }
    if text.starts_with("--- faultline:") {
        return Some(Change::Stop);
    }
    None
}

/// The number after ` name=` in a tracing line.
fn field(text: &str, name: &str) -> Option<u64> {
    let pat = format!(" {name}=");
    let at = text.find(&pat)? + pat.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Every node's role spans, in node order then time, within `[0, end]`.
pub fn spans(nodes: &[String], logs: &[NodeLog], faults: &[Window], end: u64) -> Vec<Span> {
    let mut out = Vec::new();
    for node in nodes {
        // Instants that end a leadership: kills, pauses and restarts of this node.
        let mut cuts: Vec<u64> = Vec::new();
        for w in faults {
            let hits = w.nodes.iter().any(|n| n == node);
            match w.f.as_str() {
                "kill" | "pause" if hits && !w.instant => {
                    let role = if w.f == "kill" {
                        Role::Down
                    } else {
                        Role::Paused
                    };
                    out.push(Span {
                        node: node.clone(),
                        role,
                        start: w.start,
                        end: w.end.unwrap_or(end).min(end),
                    });
                    cuts.push(w.start);
                }
                "restart-all" => cuts.push(w.start),
                _ => {}
            }
        }
        let Some(log) = logs.iter().find(|l| &l.node == node) else {
            continue;
        };
        type Lead = (u64, Option<(&'static str, u64)>);
        let mut leading: Option<Lead> = None;
        let close = |out: &mut Vec<Span>, from: Lead, at: u64| {
            let stop = cuts
                .iter()
                .copied()
                .filter(|&c| c >= from.0)
                .min()
                .map_or(at, |c| c.min(at));
            out.push(Span {
                node: node.clone(),
                role: Role::Leader(from.1),
                start: from.0,
                end: stop.max(from.0),
            });
        };
        let mut stopped = false;
        for l in &log.lines {
            let Some(t) = l.time else { continue };
            let t = t.clamp(0, end as i64) as u64;
            let change = change_of(&l.text);
            if stopped
                && !matches!(change, Some(Change::Stop))
                && l.text.starts_with(|c: char| c.is_ascii_digit())
            {
                // The first timed line after a stop: the process was down before it (a
                // kill or the final restart, when journaled, says exactly when).
                stopped = false;
                if let Some(prev) = leading.take() {
                    close(&mut out, prev, t);
                }
            }
            match change {
                Some(Change::Stop) => stopped = true,
                Some(Change::Lead(term)) => {
                    if let Some(prev) = leading.take() {
                        close(&mut out, prev, t);
                    }
                    leading = Some((t, term));
                }
                Some(Change::Term(e)) => {
                    if let Some(prev) = leading.as_mut() {
                        prev.1 = Some(("epoch", e));
                    }
                }
                Some(Change::Lose) => {
                    if let Some(prev) = leading.take() {
                        close(&mut out, prev, t);
                    }
                }
                None => {}
            }
        }
        if let Some(prev) = leading.take() {
            close(&mut out, prev, end);
        }
    }
    out.retain(|s| s.end > s.start || s.role != Role::Leader(None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::nodelog::leading_timestamp;

    #[test]
    fn leadership_from_raft_lines_ends_at_a_kill() {
        let start = leading_timestamp("2026-11-21T00:00:00Z");
        let n1 = NodeLog::parse(
            "n1",
            "2026-11-21T00:00:01Z  INFO raft::core::raft: became leader id=1 term=1\n\
             2026-11-21T00:00:03Z  INFO raft::core::raft: stepping down id=1 term=1\n\
             2026-11-21T00:00:05Z  INFO raft::core::raft: became leader id=1 term=4\n\
             --- faultline: n1 stop\n\
             --- faultline: n1 start #2\n\
             2026-11-21T00:00:09Z  INFO raft::node: recovered\n",
            start,
        );
        let kill = Window {
            start: 7_000_000_000,
            end: Some(8_000_000_000),
            what: "kill n1".into(),
            f: "kill".into(),
            nodes: vec!["n1".into()],
            instant: false,
            error: None,
        };
        let s = spans(&["n1".into(), "n2".into()], &[n1], &[kill], 10_000_000_000);
        let got: Vec<(String, u64, u64)> = s
            .iter()
            .map(|s| (s.label(), s.start / 1_000_000_000, s.end / 1_000_000_000))
            .collect();
        assert_eq!(
            got,
            [
                ("down".to_string(), 7, 8),
                ("leader (term 1)".to_string(), 1, 3),
                ("leader (term 4)".to_string(), 5, 7),
            ]
        );
    }

    #[test]
    fn zab_epochs_are_learned_while_leading() {
        let start = leading_timestamp("2026-11-21T00:00:00Z");
        let n2 = NodeLog::parse(
            "n2",
            "2026-11-21T00:00:01Z  INFO zab::core::peer::leader: LEADING id=2\n\
             2026-11-21T00:00:01.2Z  INFO zab::core::peer::leader: leader established id=2 epoch=3\n\
             2026-11-21T00:00:04Z  INFO zab::core::peer::looking: going LOOKING id=2 reason=\"x\"\n",
            start,
        );
        let s = spans(&["n2".into()], &[n2], &[], 10_000_000_000);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].label(), "leader (epoch 3)");
        assert_eq!((s[0].start, s[0].end), (1_000_000_000, 4_000_000_000));
    }
}
