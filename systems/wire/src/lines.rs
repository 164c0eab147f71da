//! Reading request lines off a client connection (Contract 2), the one implementation both
//! servers use.
//!
//! A connection carries one request a line, newline-terminated, at most [`MAX_LINE`] bytes
//! (newline and a trailing `\r` excluded). Any number of requests may arrive back to back
//! (pipelining); each finished line is handed out as soon as it is complete. What cannot be a
//! request becomes a ready `bad_request` [`Response`] and reading carries on:
//! - a line longer than the limit (its bytes are counted and dropped, never buffered);
//! - a line cut off by the end of the stream (no newline);
//! - a line that is not a request (not UTF-8, not JSON, unknown op): [`Line::into_request`],
//!   through [`parse_request`].
//!
//! Blank lines carry no request and are skipped.
//!
//! [`LineSplitter`] is the framing on its own (bytes in, lines out, no I/O); [`LineReader`] runs
//! it over an async (tokio) stream.

use crate::{code, parse_request, Request, Response, MAX_LINE};

/// One framed line of a client connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A complete line's bytes, without the newline and a trailing `\r`, at most the limit.
    Request(Vec<u8>),
    /// A line that cannot be a request: send this `bad_request` back and read on.
    Bad(Response),
}

impl Line {
    /// The parsed request, or the `bad_request` response to send back (carrying the request's
    /// id when the line had a readable one).
    pub fn into_request(self) -> Result<Request, Response> {
        match self {
            Line::Request(bytes) => parse_request(&bytes),
            Line::Bad(resp) => Err(resp),
        }
    }
}

fn bad(message: String) -> Line {
    Line::Bad(Response::err(None, code::BAD_REQUEST, true, message))
}

/// Splits a byte stream into lines of at most `max` bytes, without ever holding more than that.
#[derive(Debug)]
pub struct LineSplitter {
    max: usize,
    line: Vec<u8>,
    /// Bytes of the current line seen so far (also those dropped because it is too long).
    seen: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new(MAX_LINE)
    }
}

impl LineSplitter {
    /// A splitter for lines of at most `max` bytes (servers use [`MAX_LINE`]).
    pub fn new(max: usize) -> Self {
        LineSplitter {
            max,
            line: Vec::new(),
            seen: 0,
        }
    }

    /// Takes bytes from the front of `chunk`, up to and including its first newline. Returns how
    /// many it took (the caller consumes them) and the line that newline finished, if any; a
    /// blank line finishes none.
    pub fn push(&mut self, chunk: &[u8]) -> (usize, Option<Line>) {
        let (part, taken) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        self.seen += part.len();
        if self.seen <= self.max.saturating_add(1) {
            // One byte over the limit is kept so that a line "limit bytes + \r" still fits.
            self.line.extend_from_slice(part);
        } else {
            self.line = Vec::new();
        }
        match taken {
            None => (chunk.len(), None),
            Some(n) => (n, self.end_line()),
        }
    }

    /// The stream ended: a partial line left over is a truncated request.
    pub fn finish(&mut self) -> Option<Line> {
        if self.seen == 0 {
            return None;
        }
        let seen = std::mem::take(&mut self.seen);
        let line = std::mem::take(&mut self.line);
        Some(if line.len() > self.max || seen > line.len() {
            self.too_long(seen)
        } else {
            bad("truncated request: the stream ended before the line's newline".to_string())
        })
    }

    fn end_line(&mut self) -> Option<Line> {
        let seen = std::mem::take(&mut self.seen);
        let mut line = std::mem::take(&mut self.line);
        if line.len() == seen && line.last() == Some(&b'\r') {
            line.pop();
        }
        if seen > line.len() + 1 || line.len() > self.max {
            return Some(self.too_long(seen));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(Line::Request(line))
    }

    fn too_long(&self, seen: usize) -> Line {
        bad(format!(
            "request line of {seen} bytes exceeds the limit of {} bytes",
            self.max
        ))
    }
}

pub use reader::LineReader;

mod reader {
    use super::{Line, LineSplitter};
    use crate::MAX_LINE;
    use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

    /// The lines of an async stream: a [`LineSplitter`] over a buffered reader.
    pub struct LineReader<R> {
        inner: BufReader<R>,
        split: LineSplitter,
    }

    impl<R: AsyncRead + Unpin> LineReader<R> {
        /// Lines of at most [`MAX_LINE`] bytes from `r`, read through a 64 KiB buffer.
        pub fn new(r: R) -> Self {
            Self::with_capacity(1 << 16, MAX_LINE, r)
        }

        /// Lines of at most `max` bytes from `r`, read through a buffer of `capacity` bytes.
        pub fn with_capacity(capacity: usize, max: usize, r: R) -> Self {
            LineReader {
                inner: BufReader::with_capacity(capacity, r),
                split: LineSplitter::new(max),
            }
        }

        /// The next line, `None` once the stream has ended (after a truncated last line has
        /// been reported). A read error ends the connection.
        pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
            loop {
                let chunk = self.inner.fill_buf().await?;
                if chunk.is_empty() {
                    return Ok(self.split.finish());
                }
                let (taken, line) = self.split.push(chunk);
                self.inner.consume(taken);
                if line.is_some() {
                    return Ok(line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input`, fed in chunks of `chunk` bytes, then the end of the stream.
    fn split(input: &[u8], chunk: usize, max: usize) -> Vec<Line> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for mut piece in input.chunks(chunk) {
            while !piece.is_empty() {
                let (n, line) = s.push(piece);
                out.extend(line);
                piece = &piece[n..];
            }
        }
        out.extend(s.finish());
        out
    }

    fn message(l: &Line) -> &str {
        match l {
            Line::Bad(r) => {
                let e = r.error.as_ref().unwrap();
                assert_eq!(e.code, code::BAD_REQUEST);
                assert!(e.definite);
                assert_eq!(r.id, None);
                &e.message
            }
            Line::Request(b) => panic!("expected a bad line, got {:?}", String::from_utf8_lossy(b)),
        }
    }

    #[test]
    fn pipelined_requests_come_out_in_order_whatever_the_chunking() {
        let input = b"{\"id\":1,\"op\":\"status\"}\n{\"id\":2,\"op\":\"read\",\"key\":\"x\"}\r\n\n  \n{\"id\":3,\"op\":\"status\"}\n";
        for chunk in [1, 2, 3, 7, input.len()] {
            let ids: Vec<u64> = split(input, chunk, MAX_LINE)
                .into_iter()
                .map(|l| l.into_request().unwrap().id)
                .collect();
            assert_eq!(ids, [1, 2, 3], "chunks of {chunk}");
        }
    }

    #[test]
    fn the_limit_is_exact_and_a_long_line_does_not_end_the_connection() {
        let max = 10;
        let mut input = Vec::new();
        input.extend_from_slice(b"0123456789\n"); // exactly the limit
        input.extend_from_slice(b"0123456789\r\n"); // the limit and a CR
        input.extend_from_slice(b"0123456789A\n"); // one byte over
        input.extend_from_slice(&[b'x'; 1000]);
        input.extend_from_slice(b"\nok\n");
        for chunk in [1, 4, 64, input.len()] {
            let lines = split(&input, chunk, max);
            assert_eq!(lines.len(), 5, "chunks of {chunk}: {lines:?}");
            assert_eq!(lines[0], Line::Request(b"0123456789".to_vec()));
            assert_eq!(lines[1], Line::Request(b"0123456789".to_vec()));
            assert_eq!(
                message(&lines[2]),
                "request line of 11 bytes exceeds the limit of 10 bytes"
            );
            assert_eq!(
                message(&lines[3]),
                "request line of 1000 bytes exceeds the limit of 10 bytes"
            );
            assert_eq!(lines[4], Line::Request(b"ok".to_vec()));
        }
    }

    #[test]
    fn a_line_cut_off_by_the_end_of_the_stream_is_a_bad_request() {
        let lines = split(
            b"{\"id\":1,\"op\":\"status\"}\n{\"id\":2,\"op\":\"wri",
            5,
            MAX_LINE,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].clone().into_request().unwrap().id, 1);
        assert!(message(&lines[1]).starts_with("truncated request"));
        let lines = split(&[b'x'; 30], 7, 10);
        assert_eq!(
            message(&lines[0]),
            "request line of 30 bytes exceeds the limit of 10 bytes"
        );
        assert!(split(b"", 1, 10).is_empty());
    }

    #[test]
    fn lines_that_are_not_requests_get_bad_request() {
        let input = b"this is not json\n{\"id\":7,\"op\":\"frobnicate\"}\n\xff\xfe\n";
        let got: Vec<Response> = split(input, 3, MAX_LINE)
            .into_iter()
            .map(|l| l.into_request().unwrap_err())
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got.iter().map(|r| r.id).collect::<Vec<_>>(),
            [None, Some(7), None]
        );
        for r in &got {
            assert_eq!(r.error.as_ref().unwrap().code, code::BAD_REQUEST);
        }
    }

    #[test]
    fn a_long_line_is_never_buffered() {
        let mut s = LineSplitter::new(100);
        let chunk = [b'y'; 4096];
        for _ in 0..1000 {
            assert_eq!(s.push(&chunk), (chunk.len(), None));
            assert!(s.line.capacity() <= 4096 + 101, "{}", s.line.capacity());
        }
        let (n, line) = s.push(b"\n");
        assert_eq!(n, 1);
        assert!(message(&line.unwrap()).contains("4096000 bytes"));
    }

    #[tokio::test]
    async fn the_async_reader_frames_a_stream_the_same_way() {
        let mut input = b"{\"id\":1,\"op\":\"status\"}\n".to_vec();
        input.extend_from_slice(&[b'x'; 40]);
        input.extend_from_slice(b"\n{\"id\":2,\"op\":\"status\"}\n{\"id\":3");
        let mut r = LineReader::with_capacity(4, 30, &input[..]);
        let mut got = Vec::new();
        while let Some(l) = r.next_line().await.unwrap() {
            got.push(
                l.into_request()
                    .map(|q| q.id)
                    .map_err(|e| e.error.unwrap().message),
            );
        }
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], Ok(1));
        assert_eq!(
            got[1],
            Err("request line of 40 bytes exceeds the limit of 30 bytes".to_string())
        );
        assert_eq!(got[2], Ok(2));
        assert!(
            got[3].as_ref().unwrap_err().starts_with("truncated"),
            "{got:?}"
        );
        assert_eq!(r.next_line().await.unwrap(), None);
    }
}
