//! An EDN reader producing JSON values, for any valid EDN (and the Clojure reader's common
//! extras that Jepsen writes).
//!
//! - `nil`, `true`, `false`; strings with every escape (`\t \r \n \b \f \" \\ \uXXXX`, surrogate
//!   pairs joined); characters (`\c`, `\newline`, `\space`, `\tab`, `\return`, `\formfeed`,
//!   `\backspace`, `\uXXXX`, `\oNNN`) as one-character strings;
//! - integers (with `N`, hex `0x…`, radix `2r…`), floats (with `M`), ratios; a number JSON cannot
//!   hold exactly (a big integer, a ratio, `##Inf`, `##NaN`) is kept as its text, a string;
//! - keywords (`:f`, `:jepsen.history/op`) and symbols as strings without the colon;
//! - lists and vectors as arrays, sets (`#{…}`) as arrays, maps as objects (a key that is not a
//!   string or keyword is written as JSON text: `{[1 2] 3}` → `{"[1,2]":3}`); namespaced maps
//!   (`#:ns{:a 1}`) get their namespace on unqualified keys;
//! - tagged literals (`#inst "…"`, `#uuid "…"`, `#jepsen.history.Op{…}`): the tagged value, the
//!   tag dropped; `#_` discards, `;` and `#!` comments and `^meta` anywhere; commas are
//!   whitespace.
//!
//! It never panics and never recurses deeper than [`MAX_DEPTH`]; an error is one sentence with
//! the byte offset where it went wrong (an unclosed collection: where it opened).

use serde_json::{Map, Number, Value};
use std::fmt;

/// How deeply collections may nest.
pub const MAX_DEPTH: usize = 512;

/// Why a text is not EDN, and where (a byte offset into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnError {
    pub offset: usize,
    pub message: String,
    /// Where the collection this error is about opened, when that is elsewhere.
    pub opened: Option<usize>,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {}", self.message, self.offset)?;
        if let Some(o) = self.opened {
            write!(f, "; it opened at byte {o}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for EdnError {}

/// Reads every top-level form in `text`.
pub fn parse_all(text: &str) -> Result<Vec<Value>, EdnError> {
    parse_all_with_offsets(text).map(|forms| forms.into_iter().map(|(_, v)| v).collect())
}

/// Reads every top-level form with the byte offset where it starts.
pub fn parse_all_with_offsets(text: &str) -> Result<Vec<(usize, Value)>, EdnError> {
    let mut p = Parser::new(text);
    let mut out = Vec::new();
    while let Some((start, v)) = p.next_form()? {
        out.push((start, v));
    }
    Ok(out)
}

/// Reads the elements of a history: every top-level form, except that a top-level vector or
/// list is opened and each of its elements counts as one, with its own offset. A file holding
/// one vector of maps, or one map per line, or any mix of the two, gives its maps in order.
pub fn parse_elements(text: &str) -> Result<Vec<(usize, Value)>, EdnError> {
    let mut p = Parser::new(text);
    let mut out = Vec::new();
    loop {
        p.skip_ws()?;
        let start = p.i;
        let close = match p.s.get(p.i) {
            None => return Ok(out),
            Some(b'[') => b']',
            Some(b'(') => b')',
            Some(_) => {
                if let Some(v) = p.form()? {
                    out.push((start, v));
                }
                continue;
            }
        };
        p.i += 1;
        loop {
            p.skip_ws()?;
            match p.s.get(p.i) {
                None => return Err(p.unclosed(start, close)),
                Some(&c) if c == close => {
                    p.i += 1;
                    break;
                }
                Some(_) => {
                    let at = p.i;
                    if let Some(v) = p.form()? {
                        out.push((at, v));
                    }
                }
            }
        }
    }
}

/// Reads exactly one form from `text` (comments and whitespace around it allowed).
pub fn parse_one(text: &str) -> Result<Value, EdnError> {
    let mut p = Parser::new(text);
    let Some((_, v)) = p.next_form()? else {
        return Err(EdnError {
            offset: 0,
            message: "no EDN value".into(),
            opened: None,
        });
    };
    if let Some((at, _)) = p.next_form()? {
        return Err(EdnError {
            offset: at,
            message: "a second EDN value where one was expected".into(),
            opened: None,
        });
    }
    Ok(v)
}

/// Converts byte offsets of one text into 1-based line numbers (a binary search over the
/// newlines, so a file of a million forms is numbered in O(n log n)).
pub struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        Lines {
            newlines: memchr_all(text.as_bytes()),
        }
    }

    /// The line holding byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

fn memchr_all(s: &[u8]) -> Vec<usize> {
    s.iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .map(|(i, _)| i)
        .collect()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b',' | 0x0b | 0x0c)
}

/// Ends a token. A backslash does too, as in Clojure's reader: `[\a\b]` is two characters.
fn is_delim(c: u8) -> bool {
    is_ws(c)
        || matches!(
            c,
            b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'"' | b';' | b'\\'
        )
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            s: text.as_bytes(),
            i: 0,
            depth: 0,
        }
    }

    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError {
            offset: at,
            message: message.into(),
            opened: None,
        })
    }

    fn mismatch<T>(&self, start: usize, what: &str) -> Result<T, EdnError> {
        Err(EdnError {
            offset: self.i,
            message: format!("'{}' closes a {what}", self.s[self.i] as char),
            opened: Some(start),
        })
    }

    fn unclosed(&self, start: usize, close: u8) -> EdnError {
        let what = match close {
            b']' => "vector",
            b')' => "list",
            _ => "map or set",
        };
        EdnError {
            offset: start,
            message: format!(
                "the {what} opened here is never closed (no '{}' before the end of the input)",
                close as char
            ),
            opened: None,
        }
    }

    /// The next top-level form that is not discarded, with its offset.
    fn next_form(&mut self) -> Result<Option<(usize, Value)>, EdnError> {
        loop {
            self.skip_ws()?;
            if self.i >= self.s.len() {
                return Ok(None);
            }
            let start = self.i;
            if let Some(v) = self.form()? {
                return Ok(Some((start, v)));
            }
        }
    }

    /// Skips whitespace, comments and metadata (`^meta`).
    fn skip_ws(&mut self) -> Result<(), EdnError> {
        while let Some(&c) = self.s.get(self.i) {
            if is_ws(c) {
                self.i += 1;
            } else if c == b';' || (c == b'#' && self.s.get(self.i + 1) == Some(&b'!')) {
                while self.i < self.s.len() && self.s[self.i] != b'\n' {
                    self.i += 1;
                }
            } else if c == b'^' {
                // Clojure metadata: `^{:a 1} form`, `^:kw form`, `^Sym form`; the metadata
                // itself is dropped.
                self.i += 1;
                self.skip_ws()?;
                if self.i >= self.s.len() {
                    return self.err(self.i - 1, "metadata '^' with nothing after it");
                }
                self.required_form("metadata '^'")?;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// A form that must be there (after a tag, a discard or metadata).
    /// Counts as a level of nesting, so chains of tags, discards or metadata are bounded too.
    fn required_form(&mut self, after: &str) -> Result<Value, EdnError> {
        let start = self.i;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(
                start,
                format!("tags, discards and metadata nest deeper than {MAX_DEPTH} levels here"),
            );
        }
        let r = self.required_form_inner(after, start);
        self.depth -= 1;
        r
    }

    fn required_form_inner(&mut self, after: &str, start: usize) -> Result<Value, EdnError> {
        loop {
            self.skip_ws()?;
            match self.s.get(self.i) {
                None => return self.err(start, format!("{after} has no value after it")),
                Some(b'}' | b']' | b')') => {
                    return self.err(self.i, format!("{after} has no value after it"))
                }
                Some(_) => {
                    if let Some(v) = self.form()? {
                        return Ok(v);
                    }
                }
            }
        }
    }

    /// One form; `None` for a discarded one (`#_x`).
    fn form(&mut self) -> Result<Option<Value>, EdnError> {
        self.skip_ws()?;
        let start = self.i;
        let Some(&c) = self.s.get(self.i) else {
            return self.err(start, "unexpected end of input where a value was expected");
        };
        match c {
            b'{' => {
                self.i += 1;
                self.nested(start, |p| p.map_body(start, None)).map(Some)
            }
            b'[' | b'(' => {
                self.i += 1;
                let close = if c == b'[' { b']' } else { b')' };
                self.nested(start, |p| p.seq_body(start, close)).map(Some)
            }
            b'"' => self.string().map(|s| Some(Value::String(s))),
            b'\\' => self.character().map(Some),
            b'#' => self.dispatch(start),
            b'}' | b']' | b')' => self.err(
                start,
                format!("unexpected '{}' with no collection open", c as char),
            ),
            _ => self.atom().map(Some),
        }
    }

    /// After `#`: a set, a discard, a symbolic value, a namespaced map, a regex, or a tag.
    fn dispatch(&mut self, start: usize) -> Result<Option<Value>, EdnError> {
        self.i += 1;
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                self.nested(start, |p| p.seq_body(start, b'}')).map(Some)
            }
            Some(b'_') => {
                self.i += 1;
                self.required_form("the discard '#_'")?;
                Ok(None)
            }
            Some(b'#') => {
                self.i += 1;
                let tok = self.token();
                match tok {
                    "Inf" | "-Inf" | "NaN" => Ok(Some(Value::String(format!("##{tok}")))),
                    _ => self.err(start, format!("unknown symbolic value ##{tok}")),
                }
            }
            Some(b':') => {
                // A namespaced map: #:ns{:a 1} is {:ns/a 1}.
                self.i += 1;
                let ns = self.token().to_string();
                self.skip_ws()?;
                if self.s.get(self.i) != Some(&b'{') {
                    return self.err(start, format!("namespaced map #:{ns} has no map after it"));
                }
                let open = self.i;
                self.i += 1;
                self.nested(open, |p| p.map_body(open, Some(&ns))).map(Some)
            }
            Some(b'"') => self.string().map(|s| Some(Value::String(s))),
            Some(&c) if !is_delim(c) => {
                let tag = self.token().to_string();
                let v = self.required_form(&format!("the tag #{tag}"))?;
                Ok(Some(v))
            }
            _ => self.err(start, "a '#' that starts no set, tag or discard"),
        }
    }

    fn nested(
        &mut self,
        start: usize,
        f: impl FnOnce(&mut Self) -> Result<Value, EdnError>,
    ) -> Result<Value, EdnError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(
                start,
                format!("collections nest deeper than {MAX_DEPTH} levels here"),
            );
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn seq_body(&mut self, start: usize, close: u8) -> Result<Value, EdnError> {
        let mut out = Vec::new();
        loop {
            self.skip_ws()?;
            match self.s.get(self.i) {
                None => return Err(self.unclosed(start, close)),
                Some(&c) if c == close => {
                    self.i += 1;
                    return Ok(Value::Array(out));
                }
                Some(b'}' | b']' | b')') => {
                    let what = match close {
                        b']' => "vector",
                        b')' => "list",
                        _ => "set",
                    };
                    return self.mismatch(start, what);
                }
                _ => {
                    if let Some(v) = self.form()? {
                        out.push(v);
                    }
                }
            }
        }
    }

    fn map_body(&mut self, start: usize, ns: Option<&str>) -> Result<Value, EdnError> {
        let mut m = Map::new();
        let mut pending: Option<(Value, bool)> = None;
        loop {
            self.skip_ws()?;
            match self.s.get(self.i) {
                None => return Err(self.unclosed(start, b'}')),
                Some(b'}') => {
                    self.i += 1;
                    if pending.is_some() {
                        return self.err(start, "this map has a key with no value");
                    }
                    return Ok(Value::Object(m));
                }
                Some(b']' | b')') => return self.mismatch(start, "map"),
                _ => {
                    let keyword = self.s.get(self.i) == Some(&b':');
                    let Some(v) = self.form()? else { continue };
                    match pending.take() {
                        None => pending = Some((v, keyword)),
                        Some((k, keyword)) => {
                            let key = match (k, ns) {
                                (Value::String(s), Some(ns)) if keyword && !s.contains('/') => {
                                    format!("{ns}/{s}")
                                }
                                (Value::String(s), _) => s,
                                (other, _) => other.to_string(),
                            };
                            m.insert(key, v);
                        }
                    }
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    fn string(&mut self) -> Result<String, EdnError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or backslash in one piece.
            let run_start = self.i;
            while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\') {
                self.i += 1;
            }
            out.push_str(&String::from_utf8_lossy(&self.s[run_start..self.i]));
            let Some(&c) = self.s.get(self.i) else {
                return self.err(start, "the string that starts here is never closed");
            };
            self.i += 1;
            if c == b'"' {
                return Ok(out);
            }
            let Some(&e) = self.s.get(self.i) else {
                return self.err(start, "the string that starts here is never closed");
            };
            self.i += 1;
            match e {
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'u' => {
                    let Some(u) = self.hex4(self.i) else {
                        return self.err(self.i - 2, "a \\u escape needs four hex digits");
                    };
                    self.i += 4;
                    let ch = if (0xD800..0xDC00).contains(&u)
                        && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                    {
                        match self.hex4(self.i + 2) {
                            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                self.i += 6;
                                char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    } else {
                        char::from_u32(u)
                    };
                    // A lone surrogate cannot be held in a string: kept as U+FFFD.
                    out.push(ch.unwrap_or('\u{FFFD}'));
                }
                // `\"`, `\\`, and (leniently) any other escaped character as itself.
                _ => {
                    let run_start = self.i - 1;
                    let len = utf8_len(e);
                    self.i = (run_start + len).min(self.s.len());
                    out.push_str(&String::from_utf8_lossy(&self.s[run_start..self.i]));
                }
            }
        }
    }

    fn character(&mut self) -> Result<Value, EdnError> {
        let start = self.i;
        self.i += 1;
        let Some(&c) = self.s.get(self.i) else {
            return self.err(start, "a character '\\' with nothing after it");
        };
        // The first character is taken whatever it is (`\(`, `\"`, `\\`); a name may follow.
        let first_end = (self.i + utf8_len(c)).min(self.s.len());
        let mut end = first_end;
        while end < self.s.len() && !is_delim(self.s[end]) {
            end += 1;
        }
        let tok = String::from_utf8_lossy(&self.s[self.i..end]).into_owned();
        self.i = end;
        let ch = match tok.as_str() {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "formfeed" => '\u{c}',
            "backspace" => '\u{8}',
            t if t.chars().count() == 1 => t.chars().next().unwrap_or(' '),
            t if t.len() == 5 && t.starts_with('u') => {
                match u32::from_str_radix(&t[1..], 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(ch) => ch,
                    None => return self.err(start, format!("\\{t} is not a character")),
                }
            }
            t if t.len() >= 2 && t.len() <= 4 && t.starts_with('o') => {
                match u32::from_str_radix(&t[1..], 8)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(ch) if (ch as u32) < 0o400 => ch,
                    _ => return self.err(start, format!("\\{t} is not a character")),
                }
            }
            t => return self.err(start, format!("\\{t} is not a character")),
        };
        Ok(Value::String(ch.to_string()))
    }

    /// The token from here up to the next delimiter.
    fn token(&mut self) -> &'a str {
        let start = self.i;
        while self.i < self.s.len() && !is_delim(self.s[self.i]) {
            self.i += 1;
        }
        // Delimiters are ASCII, so a token of valid UTF-8 text is whole characters.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    fn atom(&mut self) -> Result<Value, EdnError> {
        let start = self.i;
        let tok = self.token();
        if tok.is_empty() {
            return self.err(start, "an unexpected character");
        }
        if let Some(kw) = tok.strip_prefix(':') {
            if kw.is_empty() {
                return self.err(start, "a keyword ':' with no name");
            }
            return Ok(Value::String(kw.trim_start_matches(':').to_string()));
        }
        match tok {
            "nil" => return Ok(Value::Null),
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let b = tok.as_bytes();
        let numeric = b[0].is_ascii_digit()
            || (matches!(b[0], b'-' | b'+') && b.len() > 1 && b[1].is_ascii_digit());
        if numeric {
            return number(tok).ok_or(EdnError {
                offset: start,
                message: format!("{tok:?} is not a number"),
                opened: None,
            });
        }
        // A symbol.
        Ok(Value::String(tok.to_string()))
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// A number token: a JSON number when JSON holds it exactly (floats: as f64), else its text.
fn number(tok: &str) -> Option<Value> {
    let (neg, digits) = match tok.as_bytes()[0] {
        b'-' => (true, &tok[1..]),
        b'+' => (false, &tok[1..]),
        _ => (false, tok),
    };
    let sign = if neg { "-" } else { "" };
    let int = |text: &str, radix: u32| -> Option<Value> {
        if text.is_empty() || !text.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        if let Ok(u) = u64::from_str_radix(text, radix) {
            if !neg {
                return Some(Value::Number(u.into()));
            }
            if let Ok(i) = i64::try_from(u) {
                return Some(Value::Number((-i).into()));
            }
            if u == 1 << 63 {
                return Some(Value::Number(i64::MIN.into()));
            }
        }
        // Too big for JSON: kept exactly, as text.
        let normal = if radix == 10 {
            text.trim_start_matches('0')
        } else {
            text
        };
        let normal = if normal.is_empty() { "0" } else { normal };
        Some(Value::String(match radix {
            10 => format!("{sign}{normal}"),
            16 => format!("{sign}0x{normal}"),
            r => format!("{sign}{r}r{normal}"),
        }))
    };
    if let Some(i) = digits.strip_suffix('N') {
        return int(i, 10);
    }
    if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        return int(h.strip_suffix('N').unwrap_or(h), 16);
    }
    if let Some((r, rest)) = digits.split_once(['r', 'R']) {
        let radix: u32 = r.parse().ok().filter(|r| (2..=36).contains(r))?;
        return int(&rest.to_ascii_lowercase(), radix);
    }
    if let Some((a, b)) = digits.split_once('/') {
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if !(ok(a) && ok(b)) {
            return None;
        }
        // A ratio: JSON has no exact form for it, so it is kept as text (an integral one,
        // 4/2, as the integer).
        if let (Ok(x), Ok(y)) = (a.parse::<u64>(), b.parse::<u64>()) {
            if y != 0 && x % y == 0 && x / y <= i64::MAX as u64 {
                let q = (x / y) as i64;
                return Some(Value::Number((if neg { -q } else { q }).into()));
            }
        }
        return Some(Value::String(format!("{sign}{a}/{b}")));
    }
    if digits.bytes().all(|c| c.is_ascii_digit()) {
        return int(digits, 10);
    }
    // A float: digits, optional fraction, optional exponent, optional M.
    let f = digits.strip_suffix('M').unwrap_or(digits);
    let valid = {
        let (mant, exp) = match f.find(['e', 'E']) {
            Some(p) => (&f[..p], Some(&f[p + 1..])),
            None => (f, None),
        };
        let (ip, fp) = match mant.split_once('.') {
            Some((i, fr)) => (i, Some(fr)),
            None => (mant, None),
        };
        !ip.is_empty()
            && ip.bytes().all(|c| c.is_ascii_digit())
            && fp.is_none_or(|fr| fr.bytes().all(|c| c.is_ascii_digit()))
            && exp.is_none_or(|e| {
                let e = e.strip_prefix(['-', '+']).unwrap_or(e);
                !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
            })
    };
    if !valid {
        return None;
    }
    let x: f64 = f.parse().ok()?;
    let x = if neg { -x } else { x };
    match Number::from_f64(x) {
        Some(n) => Some(Value::Number(n)),
        // Out of f64's range: kept as text.
        None => Some(Value::String(tok.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_jepsen_shapes() {
        let v = parse_one(r#"{:type :invoke, :f :cas, :value [1 2], :process 3, :time 12, :key "k" :x nil :s #{1} :t true}"#).unwrap();
        assert_eq!(
            v,
            json!({"type":"invoke","f":"cas","value":[1,2],"process":3,"time":12,"key":"k","x":null,"s":[1],"t":true})
        );
        assert_eq!(
            parse_one("#jepsen.history.Op{:a 1}").unwrap(),
            json!({"a":1})
        );
        assert_eq!(parse_one("[1 #_ 2 3] ; c").unwrap(), json!([1, 3]));
        assert_eq!(parse_one(r#""a\"b\n""#).unwrap(), json!("a\"b\n"));
        assert_eq!(parse_one("-3.5").unwrap(), json!(-3.5));
        assert_eq!(parse_one("12N").unwrap(), json!(12));
        assert_eq!(parse_one("{[1 2] 3}").unwrap(), json!({"[1,2]":3}));
        assert_eq!(parse_all("{:a 1}\n{:a 2}\n").unwrap().len(), 2);
    }

    #[test]
    fn reads_every_form() {
        let cases = [
            ("\\a", json!("a")),
            ("\\newline", json!("\n")),
            ("\\u0041", json!("A")),
            ("\\o101", json!("A")),
            ("\\(", json!("(")),
            ("[\\a\\b]", json!(["a", "b"])),
            ("\\é", json!("é")),
            (r#""\u00e9\t\\\uD83D\uDE00""#, json!("é\t\\😀")),
            (r#""\uD800x""#, json!("\u{FFFD}x")),
            (":jepsen.history/op", json!("jepsen.history/op")),
            ("foo/bar", json!("foo/bar")),
            ("+", json!("+")),
            ("-", json!("-")),
            (
                "123456789012345678901234567890N",
                json!("123456789012345678901234567890"),
            ),
            ("-9223372036854775808", json!(i64::MIN)),
            ("18446744073709551615", json!(u64::MAX)),
            ("1/3", json!("1/3")),
            ("-4/2", json!(-2)),
            ("0x1F", json!(31)),
            ("2r101", json!(5)),
            ("1.5M", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("1e999", json!("1e999")),
            ("##Inf", json!("##Inf")),
            (
                "#inst \"2024-01-01T00:00:00Z\"",
                json!("2024-01-01T00:00:00Z"),
            ),
            (
                "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
                json!("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
            ),
            (
                "#:op{:f :read :jepsen/x 1}",
                json!({"op/f": "read", "jepsen/x": 1}),
            ),
            ("^{:doc 1} [1]", json!([1])),
            ("#{1 #_2 3}", json!([1, 3])),
            ("(1 (2) [3])", json!([1, [2], [3]])),
            ("{1 2 nil 3 :a #_ :b 4}", json!({"1": 2, "null": 3, "a": 4})),
            ("#! shebang\n; c\n 7 ; c", json!(7)),
            ("#tag #_ 1 2", json!(2)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_one(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn elements_and_lines() {
        let text = "; a comment\n[{:a 1}\n #_ {:a 9}\n {:a\n  2}]\n{:a 3}\n";
        let els = parse_elements(text).unwrap();
        let lines = Lines::new(text);
        let got: Vec<(usize, Value)> = els.into_iter().map(|(o, v)| (lines.line(o), v)).collect();
        assert_eq!(
            got,
            vec![
                (2, json!({"a":1})),
                (4, json!({"a":2})),
                (6, json!({"a":3}))
            ]
        );
    }

    #[test]
    fn rejects_without_panicking() {
        for bad in [
            "{:a",
            "[1 2",
            "{:a 1 :b}",
            "\"abc",
            "]",
            "#",
            "1.2.3x",
            "\\",
            "[1 2)",
            "\\foo",
            "##Foo",
            "#_",
            "#tag",
            ":",
            "1/",
            "\"\\u12\"",
        ] {
            assert!(parse_one(bad).is_err(), "{bad} should be rejected");
        }
        let deep = "[".repeat(10_000);
        assert!(parse_one(&deep).is_err());
        let e = parse_elements("[{:a 1}\n {:a 2").unwrap_err();
        assert_eq!(e.offset, 9, "{e}");
        assert!(e.message.contains("never closed"), "{e}");
    }
}
