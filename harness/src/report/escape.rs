//! Escaping: every value that comes from a history, a log or a results file reaches the page
//! only through [`esc`], so it is shown as text and never read as markup (a value holding
//! `</script><img onerror=…>` stays text). The page puts no history value inside a `<script>`.

use std::fmt::Write;

/// `s` escaped for HTML text and for double- or single-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_esc(&mut out, s);
    out
}

/// Appends `s`, escaped, to `out`.
pub fn push_esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not valid in HTML text.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut), for values that could be
/// huge (a set read of thousands of elements).
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        let hostile = "</script><img src=x onerror=\"alert('x')\">&";
        let e = esc(hostile);
        assert_eq!(
            e,
            "&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"
        );
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"'));
        assert_eq!(esc("a\u{0}b"), "a\\u{0}b");
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo wörld", 5), "héll…");
    }
}
