//! A node's log (`nodes/<node>/node.log`) read for the report: each line with the time it was
//! written, on the history's clock (seconds since the test started), so that lines around an
//! anomaly can be shown and role changes placed on the timeline.
//!
//! Lines written through `tracing`'s formatter start with an RFC 3339 UTC timestamp
//! (`2026-12-02T07:50:03.234536Z  INFO raft::core::raft: became leader id=1 term=1`); the
//! history's clock is placed on the wall clock by the run's start time (results.json
//! `journal.start_unix_ms`). Lines without a timestamp (the harness's `--- faultline: n1 stop`
//! markers, panics) take the time of the line before them.

/// One line of a node's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// Nanoseconds since the test started (negative: before it); `None` when no line before it
    /// carried a timestamp.
    pub time: Option<i64>,
    /// The text, ANSI colour codes removed.
    pub text: String,
}

/// A node's log, parsed.
#[derive(Debug, Clone, Default)]
pub struct NodeLog {
    pub node: String,
    pub lines: Vec<LogLine>,
}

impl NodeLog {
    /// Parses `text`; `start_unix_ns` is the wall-clock time of the history's zero, if known.
    pub fn parse(node: &str, text: &str, start_unix_ns: Option<i128>) -> NodeLog {
        let mut last: Option<i64> = None;
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, raw)| {
                let text = strip_ansi(raw);
                if let (Some(t), Some(s)) = (leading_timestamp(&text), start_unix_ns) {
                    last = Some((t - s).clamp(i64::MIN as i128, i64::MAX as i128) as i64);
                }
                LogLine {
                    line: i + 1,
                    time: last,
                    text,
                }
            })
            .collect();
        NodeLog {
            node: node.to_string(),
            lines,
        }
    }

    /// The lines written within `[from, to]` (nanoseconds since the start), at most `max`,
    /// those nearest `focus` kept when there are more.
    pub fn around(&self, from: i64, to: i64, focus: i64, max: usize) -> Vec<&LogLine> {
        let inside: Vec<&LogLine> = self
            .lines
            .iter()
            .filter(|l| l.time.is_some_and(|t| t >= from && t <= to))
            .collect();
        if inside.len() <= max {
            return inside;
        }
        let centre = inside.partition_point(|l| l.time.unwrap_or(0) < focus);
        let lo = centre.saturating_sub(max / 2).min(inside.len() - max);
        inside[lo..lo + max].to_vec()
    }
}

fn strip_ansi(s: &str) -> String {
    if !s.contains('\u{1b}') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The Unix time in nanoseconds of a line starting `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
pub fn leading_timestamp(line: &str) -> Option<i128> {
    let b = line.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { line.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac_ns: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 100_000_000i128;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            frac_ns += (*c - b'0') as i128 * scale;
            scale /= 10;
            i += 1;
        }
    }
    if b.get(i) != Some(&b'Z') || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32) as i128;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + s) as i128;
    Some(secs * 1_000_000_000 + frac_ns)
}

/// Howard Hinnant's civil-to-days algorithm (days since 1970-01-01).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_unix_nanoseconds() {
        assert_eq!(
            leading_timestamp("1970-01-01T00:00:01Z x"),
            Some(1_000_000_000)
        );
        // 2026-11-21T00:00:00.123Z, as store::timestamp's test.
        assert_eq!(
            leading_timestamp("2026-11-21T00:00:00.123456Z  INFO a: b"),
            Some(1_795_219_200_123_456_000)
        );
        assert_eq!(leading_timestamp("--- faultline: n1 stop"), None);
        assert_eq!(leading_timestamp("2026-13-21T00:00:00Z"), None);
    }

    #[test]
    fn lines_take_the_history_clock_and_untimed_lines_inherit() {
        let start = leading_timestamp("2026-11-21T00:00:00Z").unwrap();
        let text = "--- faultline: n1 start #1\n\
                    2026-11-21T00:00:01.5Z  INFO raft: became leader id=1 term=2\n\
                    \u{1b}[2m2026-11-21T00:00:03Z\u{1b}[0m  INFO raft: stepping down id=1 term=2\n\
                    --- faultline: n1 stop\n";
        let log = NodeLog::parse("n1", text, Some(start));
        let times: Vec<Option<i64>> = log.lines.iter().map(|l| l.time).collect();
        assert_eq!(
            times,
            [
                None,
                Some(1_500_000_000),
                Some(3_000_000_000),
                Some(3_000_000_000)
            ]
        );
        assert!(log.lines[2].text.starts_with("2026-11-21T00:00:03Z  INFO"));
        let near: Vec<usize> = log
            .around(1_000_000_000, 3_000_000_000, 1_500_000_000, 2)
            .iter()
            .map(|l| l.line)
            .collect();
        assert_eq!(near, [2, 3]);
        assert_eq!(log.around(0, 4_000_000_000, 3_000_000_000, 1)[0].line, 3);
    }
}
