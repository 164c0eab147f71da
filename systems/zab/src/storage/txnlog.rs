//! The transaction log: segment files `log.<first zxid hex>` of records, each one
//! [`frame`](crate::frame) holding a JSON entry. A record that does not read back whole (a
//! torn write at kill -9) ends the log: the file is cut there and later segments are removed.

use super::{sync_dir, Result, StorageError};
use crate::core::txn::Entry;
use crate::core::zxid::Zxid;
use crate::frame;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MAX_RECORD: usize = 64 << 20;

struct Segment {
    start: Zxid,
    path: PathBuf,
}

pub struct TxnLog {
    dir: PathBuf,
    segments: Vec<Segment>,
    current: Option<File>,
    roll: bool,
    dirty: bool,
    last: Zxid,
}

fn seg_name(z: Zxid) -> String {
    format!("log.{:016x}", z.0)
}

fn parse_name(name: &str) -> Option<Zxid> {
    let hex = name.strip_prefix("log.")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(Zxid)
}

/// One intact record and where it lies in its segment.
struct Record {
    entry: Entry,
    start: u64,
    end: u64,
}

/// The intact records of a segment, the length they span, and why reading stopped early.
struct SegmentRead {
    records: Vec<Record>,
    valid_len: u64,
    torn: Option<String>,
}

/// Reads the valid records of one segment.
fn read_segment(path: &Path) -> Result<SegmentRead> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| StorageError::io(path, e))?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut torn = None;
    while pos < bytes.len() {
        let body = match frame::decode(&bytes[pos..], MAX_RECORD) {
            Ok((body, _)) => body,
            Err(e) => {
                torn = Some(e.to_string());
                break;
            }
        };
        match serde_json::from_slice::<Entry>(body) {
            Ok(entry) => {
                let start = pos as u64;
                pos += frame::HEADER + body.len();
                out.push(Record {
                    entry,
                    start,
                    end: pos as u64,
                });
            }
            Err(e) => {
                torn = Some(format!("undecodable record: {e}"));
                break;
            }
        }
    }
    Ok(SegmentRead {
        records: out,
        valid_len: pos as u64,
        torn,
    })
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut buf = Vec::new();
    for e in entries {
        let body = serde_json::to_vec(e).expect("an entry always serializes");
        frame::encode_into(&mut buf, &body);
    }
    buf
}

impl TxnLog {
    /// Opens the log directory and returns every intact entry, repairing a torn tail.
    pub fn open(dir: &Path) -> Result<(TxnLog, Vec<Entry>)> {
        let mut segments = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))? {
            let e = e.map_err(|e| StorageError::io(dir, e))?;
            if let Some(z) = e.file_name().to_str().and_then(parse_name) {
                segments.push(Segment {
                    start: z,
                    path: e.path(),
                });
            }
        }
        segments.sort_by_key(|s| s.start);
        let mut entries: Vec<Entry> = Vec::new();
        let mut keep = segments.len();
        for (i, seg) in segments.iter().enumerate() {
            let SegmentRead {
                records,
                valid_len,
                torn,
            } = read_segment(&seg.path)?;
            let mut cut = valid_len;
            let mut stop = torn.is_some();
            for r in records {
                if entries.last().is_some_and(|l| l.zxid >= r.entry.zxid) {
                    // Out of order: treat as the end of the valid log.
                    cut = r.start;
                    stop = true;
                    break;
                }
                entries.push(r.entry);
            }
            if stop {
                tracing::warn!(path = %seg.path.display(), why = torn.as_deref().unwrap_or("out of order"), "cutting the log's torn tail");
                let f = OpenOptions::new()
                    .write(true)
                    .open(&seg.path)
                    .map_err(|e| StorageError::io(&seg.path, e))?;
                f.set_len(cut)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| StorageError::io(&seg.path, e))?;
                keep = i + 1;
                break;
            }
        }
        for seg in segments.drain(keep..) {
            std::fs::remove_file(&seg.path).map_err(|e| StorageError::io(&seg.path, e))?;
        }
        sync_dir(dir)?;
        let last = entries.last().map(|e| e.zxid).unwrap_or(Zxid::ZERO);
        let log = TxnLog {
            dir: dir.to_path_buf(),
            segments,
            current: None,
            roll: true,
            dirty: false,
            last,
        };
        Ok((log, entries))
    }

    /// Starts a new segment at the next append (after a snapshot).
    pub fn roll(&mut self) {
        self.roll = true;
    }

    /// Writes entries (not yet durable: see [`TxnLog::sync`]).
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if self.roll || self.current.is_none() {
            let path = self.dir.join(seg_name(first.zxid));
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| StorageError::io(&path, e))?;
            sync_dir(&self.dir)?;
            self.segments.push(Segment {
                start: first.zxid,
                path,
            });
            self.current = Some(f);
            self.roll = false;
        }
        let buf = encode(entries);
        let path = &self.segments.last().expect("a segment is open").path;
        self.current
            .as_mut()
            .expect("a segment is open")
            .write_all(&buf)
            .map_err(|e| StorageError::io(path, e))?;
        self.dirty = true;
        self.last = entries.last().map(|e| e.zxid).unwrap_or(self.last);
        Ok(())
    }

    /// Makes every append durable (one fsync for the whole group).
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            if let (Some(f), Some(seg)) = (&self.current, self.segments.last()) {
                f.sync_data().map_err(|e| StorageError::io(&seg.path, e))?;
            }
            self.dirty = false;
        }
        Ok(())
    }

    /// Durably removes every entry above `z`.
    pub fn truncate(&mut self, z: Zxid) -> Result<()> {
        self.sync()?;
        self.current = None;
        self.roll = true;
        while let Some(seg) = self.segments.last() {
            if seg.start > z {
                std::fs::remove_file(&seg.path).map_err(|e| StorageError::io(&seg.path, e))?;
                self.segments.pop();
                continue;
            }
            let records = read_segment(&seg.path)?.records;
            let keep_len = records
                .iter()
                .take_while(|r| r.entry.zxid <= z)
                .map(|r| r.end)
                .max()
                .unwrap_or(0);
            let f = OpenOptions::new()
                .write(true)
                .open(&seg.path)
                .map_err(|e| StorageError::io(&seg.path, e))?;
            f.set_len(keep_len)
                .and_then(|_| f.sync_all())
                .map_err(|e| StorageError::io(&seg.path, e))?;
            break;
        }
        self.last = self.last.min(z);
        sync_dir(&self.dir)
    }

    /// Removes every segment (a SNAP replaced the history).
    pub fn clear(&mut self) -> Result<()> {
        self.current = None;
        self.roll = true;
        self.dirty = false;
        for seg in self.segments.drain(..) {
            std::fs::remove_file(&seg.path).map_err(|e| StorageError::io(&seg.path, e))?;
        }
        sync_dir(&self.dir)
    }

    /// Removes segments all of whose entries are at or below `z` (covered by a snapshot).
    pub fn purge_through(&mut self, z: Zxid) -> Result<()> {
        while self.segments.len() > 1 && self.segments[1].start <= z {
            let seg = self.segments.remove(0);
            std::fs::remove_file(&seg.path).map_err(|e| StorageError::io(&seg.path, e))?;
        }
        Ok(())
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::txn::Txn;

    fn e(c: u32) -> Entry {
        Entry {
            zxid: Zxid::new(1, c),
            txn: Txn::Sync,
            origin: None,
            rid: None,
        }
    }

    #[test]
    fn append_reopen_truncate_and_torn_tail() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, got) = TxnLog::open(d.path()).unwrap();
        assert!(got.is_empty());
        log.append(&[e(1), e(2)]).unwrap();
        log.roll();
        log.append(&[e(3), e(4)]).unwrap();
        log.sync().unwrap();
        drop(log);
        let (mut log, got) = TxnLog::open(d.path()).unwrap();
        assert_eq!(got, vec![e(1), e(2), e(3), e(4)]);
        log.truncate(Zxid::new(1, 2)).unwrap();
        log.append(&[e(5)]).unwrap();
        log.sync().unwrap();
        drop(log);
        let (_, got) = TxnLog::open(d.path()).unwrap();
        assert_eq!(got, vec![e(1), e(2), e(5)]);
        // Tear the last record: it is cut off, the rest survives, and appends go on.
        let last = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .max()
            .unwrap();
        let len = std::fs::metadata(&last).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&last)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (mut log, got) = TxnLog::open(d.path()).unwrap();
        assert_eq!(got, vec![e(1), e(2)]);
        log.append(&[e(6)]).unwrap();
        log.sync().unwrap();
        let (_, got) = TxnLog::open(d.path()).unwrap();
        assert_eq!(got, vec![e(1), e(2), e(6)]);
    }
}
