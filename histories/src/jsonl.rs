//! The JSONL journal: a streaming reader and an appending, flushing writer.
//!
//! A journal whose writer died mid-line ends in a torn line: no newline, and not a whole JSON
//! object. The reader leaves that one line out, keeps everything before it, and says so in
//! [`History::torn`]. Anything else malformed — including a torn line that is not the last, or
//! a file that is nothing but one — is an error with its line number.

use crate::{Event, History, HistoryBuilder, HistoryError};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// Reads a JSONL history from any reader, line by line, validating as it goes.
pub fn read_jsonl<R: Read>(reader: R) -> Result<History, HistoryError> {
    let mut b = HistoryBuilder::new(true);
    let mut r = BufReader::with_capacity(1 << 16, reader);
    let mut buf = Vec::with_capacity(256);
    let mut line = 0usize;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| HistoryError::Io {
                path: "(history)".into(),
                source: e,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        parse_line(&mut b, line, &buf);
    }
    b.finish()
}

/// Parses a JSONL history held in memory.
pub fn parse_jsonl(text: &str) -> Result<History, HistoryError> {
    let mut b = HistoryBuilder::new(true);
    for (i, l) in text.split_inclusive('\n').enumerate() {
        parse_line(&mut b, i + 1, l.as_bytes());
    }
    b.finish()
}

/// Parses one line (`raw` ends in a newline unless it is the file's last).
fn parse_line(b: &mut HistoryBuilder, line: usize, raw: &[u8]) {
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() {
        return;
    }
    let v: serde_json::Value = match serde_json::from_slice(trimmed) {
        Ok(v) => v,
        // Only a reader at the end of the file sees a line without its newline.
        Err(_) if is_torn(line, raw) => {
            b.torn_tail(line, raw.len());
            return;
        }
        Err(e) => {
            let what = if std::str::from_utf8(trimmed).is_err() {
                "is not UTF-8".to_string()
            } else {
                format!("is not JSON ({e})")
            };
            b.line_error(line, what);
            return;
        }
    };
    match Event::from_json(v) {
        Ok(ev) => b.push(line, ev),
        Err(msg) => b.line_error(line, msg),
    }
}

/// Whether an unparsable line is the torn end of a journal: the last line (no newline), after at
/// least one whole line, starting as an event object does.
fn is_torn(line: usize, raw: &[u8]) -> bool {
    line > 1 && raw.last() != Some(&b'\n') && raw.trim_ascii_start().starts_with(b"{")
}

/// Appends events to a `history.jsonl`, flushing each line to the operating system as it is
/// written so that a run that dies keeps everything it journaled.
pub struct JournalWriter {
    out: BufWriter<File>,
    next_index: u64,
    line: Vec<u8>,
}

impl JournalWriter {
    /// Creates (or truncates) the journal at `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(JournalWriter {
            out: BufWriter::with_capacity(1 << 16, f),
            next_index: 0,
            line: Vec::with_capacity(256),
        })
    }

    /// The index the next appended event will get.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Appends one event, assigning its `index`, and flushes it to the file.
    pub fn append(&mut self, ev: &mut Event) -> std::io::Result<()> {
        self.append_buffered(ev)?;
        self.out.flush()
    }

    /// Appends one event without flushing (call [`JournalWriter::flush`] soon after); for
    /// writers that batch.
    pub fn append_buffered(&mut self, ev: &mut Event) -> std::io::Result<()> {
        ev.index = self.next_index;
        self.next_index += 1;
        self.line.clear();
        ev.write_line(&mut self.line);
        self.out.write_all(&self.line)
    }

    /// Pushes buffered lines to the operating system.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Flushes and fsyncs the journal.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }
}
