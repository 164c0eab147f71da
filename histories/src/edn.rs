//! A small EDN reader producing JSON values: nil, booleans, numbers, strings, characters,
//! keywords and symbols (as strings without the colon), lists and vectors (arrays), sets
//! (arrays), maps (objects; non-string keys are written as EDN text), tagged literals (the tag
//! is dropped), `#_` discards and `;` comments. It never panics; errors carry a byte offset.

use serde_json::{Map, Number, Value};

/// Reads every top-level form in `text`.
pub fn parse_all(text: &str) -> Result<Vec<Value>, String> {
    parse_all_with_offsets(text)
        .map(|forms| forms.into_iter().map(|(_, v)| v).collect())
        .map_err(|(_, e)| e)
}

/// Reads every top-level form with the byte offset where it starts; an error carries its offset.
pub fn parse_all_with_offsets(text: &str) -> Result<Vec<(usize, Value)>, (usize, String)> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.i >= p.s.len() {
            return Ok(out);
        }
        let start = p.i;
        match p.form() {
            Ok(Some(v)) => out.push((start, v)),
            Ok(None) => {}
            Err(e) => return Err((start, e)),
        }
    }
}

/// Reads exactly one form from `text` (trailing whitespace allowed).
pub fn parse_one(text: &str) -> Result<Value, String> {
    let mut v = parse_all(text)?;
    match v.len() {
        1 => Ok(v.pop().unwrap_or(Value::Null)),
        0 => Err("no EDN value".into()),
        n => Err(format!("{n} EDN values where one was expected")),
    }
}

const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.i += 1,
                b';' => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    /// One form; `None` for a discarded one (`#_x`).
    fn form(&mut self) -> Result<Option<Value>, String> {
        self.skip_ws();
        let Some(&c) = self.s.get(self.i) else {
            return self.err("unexpected end of input");
        };
        match c {
            b'{' => {
                self.i += 1;
                self.nested(|p| p.map_body()).map(Some)
            }
            b'[' => {
                self.i += 1;
                self.nested(|p| p.seq_body(b']')).map(Some)
            }
            b'(' => {
                self.i += 1;
                self.nested(|p| p.seq_body(b')')).map(Some)
            }
            b'"' => self.string().map(Some),
            b'\\' => self.character().map(Some),
            b'#' => {
                self.i += 1;
                match self.s.get(self.i) {
                    Some(b'{') => {
                        self.i += 1;
                        self.nested(|p| p.seq_body(b'}')).map(Some)
                    }
                    Some(b'_') => {
                        self.i += 1;
                        self.form()?;
                        Ok(None)
                    }
                    Some(_) => {
                        // Tagged literal: #tag form
                        self.token();
                        let mut v = self.form()?;
                        while v.is_none() {
                            v = self.form()?;
                        }
                        Ok(v)
                    }
                    None => self.err("unexpected end of input after #"),
                }
            }
            b'}' | b']' | b')' => self.err(&format!("unexpected '{}'", c as char)),
            _ => self.atom().map(Some),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Value, String>,
    ) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting deeper than 512 levels");
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn seq_body(&mut self, close: u8) -> Result<Value, String> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            match self.s.get(self.i) {
                None => return self.err(&format!("missing closing '{}'", close as char)),
                Some(&c) if c == close => {
                    self.i += 1;
                    return Ok(Value::Array(out));
                }
                _ => {
                    if let Some(v) = self.form()? {
                        out.push(v);
                    }
                }
            }
        }
    }

    fn map_body(&mut self) -> Result<Value, String> {
        let mut m = Map::new();
        let mut pending: Option<Value> = None;
        loop {
            self.skip_ws();
            match self.s.get(self.i) {
                None => return self.err("missing closing '}'"),
                Some(b'}') => {
                    self.i += 1;
                    if pending.is_some() {
                        return self.err("map with an odd number of forms");
                    }
                    return Ok(Value::Object(m));
                }
                _ => {
                    let Some(v) = self.form()? else { continue };
                    match pending.take() {
                        None => pending = Some(v),
                        Some(k) => {
                            let key = match k {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            m.insert(key, v);
                        }
                    }
                }
            }
        }
    }

    fn string(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err("unterminated string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("unterminated string");
                    };
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok());
                            let ch = hex
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32);
                            let Some(ch) = ch else {
                                return self.err("bad \\u escape");
                            };
                            self.i += 4;
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out)
            .map(Value::String)
            .or_else(|_| self.err("string is not UTF-8"))
    }

    fn character(&mut self) -> Result<Value, String> {
        self.i += 1;
        let tok = self.token();
        let s = match tok.as_str() {
            "newline" => "\n".to_string(),
            "space" => " ".to_string(),
            "tab" => "\t".to_string(),
            "return" => "\r".to_string(),
            "" => match self.s.get(self.i) {
                Some(&c) => {
                    self.i += 1;
                    (c as char).to_string()
                }
                None => return self.err("unexpected end of input after \\"),
            },
            t => t.to_string(),
        };
        Ok(Value::String(s))
    }

    fn token(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b'{' | b'}' | b'[' | b']' | b'(' | b')'
                | b'"' | b';' => break,
                _ => self.i += 1,
            }
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn atom(&mut self) -> Result<Value, String> {
        let start = self.i;
        let tok = self.token();
        if tok.is_empty() {
            self.i = start;
            return self.err("unexpected character");
        }
        if let Some(kw) = tok.strip_prefix(':') {
            return Ok(Value::String(kw.to_string()));
        }
        match tok.as_str() {
            "nil" => return Ok(Value::Null),
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let first = tok.as_bytes()[0];
        let numeric = first.is_ascii_digit()
            || ((first == b'-' || first == b'+')
                && tok.len() > 1
                && tok.as_bytes()[1].is_ascii_digit());
        if numeric {
            let t = tok.trim_end_matches(['N', 'M']);
            if let Ok(i) = t.parse::<i64>() {
                return Ok(Value::Number(i.into()));
            }
            if let Ok(u) = t.parse::<u64>() {
                return Ok(Value::Number(u.into()));
            }
            if let Ok(f) = t.parse::<f64>() {
                if let Some(n) = Number::from_f64(f) {
                    return Ok(Value::Number(n));
                }
            }
            if let Some((a, b)) = t.split_once('/') {
                if let (Ok(a), Ok(b)) = (a.parse::<f64>(), b.parse::<f64>()) {
                    if let Some(n) = Number::from_f64(a / b) {
                        return Ok(Value::Number(n));
                    }
                }
            }
            self.i = start;
            return self.err(&format!("malformed number {tok:?}"));
        }
        // A symbol.
        Ok(Value::String(tok))
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
        ] {
            assert!(parse_one(bad).is_err(), "{bad} should be rejected");
        }
        let deep = "[".repeat(10_000);
        assert!(parse_one(&deep).is_err());
    }
}
