//! The acceptor's durable state: `data_dir/paxos.log`, an append-only file of checksummed
//! frames (raft's [`raft::frame`]) holding promise, accept and chosen records, written and
//! fsynced in groups before the node sends anything that depends on them. Replaying it yields
//! the [`Durable`] state; a torn or corrupt tail (what kill -9 leaves mid-write) is cut off.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use raft::frame;

use crate::core::{Durable, Record};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("paxos log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The open log.
pub struct Log {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the log held at open.
#[derive(Debug, Default)]
pub struct Recovered {
    pub durable: Durable,
    pub records: usize,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
}

impl Log {
    /// Opens (or creates) `dir/paxos.log`, replays it and cuts a torn tail.
    pub fn open(dir: &Path) -> Result<(Log, Recovered), StorageError> {
        let path = dir.join("paxos.log");
        let existed = path.exists();
        let bytes = if existed {
            std::fs::read(&path).map_err(io_err(&path))?
        } else {
            Vec::new()
        };
        let mut rec = Recovered::default();
        let mut off = 0usize;
        while off < bytes.len() {
            match frame::decode::<Record>(&bytes[off..]) {
                Ok((r, n)) => {
                    off += n;
                    rec.records += 1;
                    rec.durable.apply(&r);
                }
                Err(err) => {
                    rec.truncated_bytes = (bytes.len() - off) as u64;
                    tracing::warn!(
                        path = %path.display(),
                        offset = off,
                        bytes = rec.truncated_bytes,
                        "cutting a torn or corrupt tail of the paxos log: {err}"
                    );
                    break;
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if rec.truncated_bytes > 0 {
            file.set_len(off as u64).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        if !existed {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(dir))?;
        }
        Ok((
            Log {
                path,
                file,
                buf: Vec::new(),
            },
            rec,
        ))
    }

    /// Buffers records.
    pub fn put(&mut self, records: &[Record]) {
        for r in records {
            frame::encode_into(r, &mut self.buf);
        }
    }

    /// Writes the buffered records and fsyncs them.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.buf).map_err(io_err(&self.path))?;
        self.buf.clear();
        self.file.sync_data().map_err(io_err(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Ballot, Value};

    #[test]
    fn replays_records_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let b = |round| Ballot { round, node: 2 };
        {
            let (mut l, rec) = Log::open(dir.path()).unwrap();
            assert_eq!(rec.records, 0);
            l.put(&[
                Record::Promise(b(1)),
                Record::Accept {
                    slot: 1,
                    ballot: b(1),
                    value: Value::Cmd(b"x".to_vec()),
                },
            ]);
            l.sync().unwrap();
            l.put(&[
                Record::Promise(b(3)),
                Record::Accept {
                    slot: 1,
                    ballot: b(3),
                    value: Value::Noop,
                },
                Record::Chosen {
                    slot: 1,
                    value: Value::Noop,
                },
            ]);
            l.sync().unwrap();
            l.put(&[Record::Promise(b(4))]);
            l.sync().unwrap();
        }
        let path = dir.path().join("paxos.log");
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (_, rec) = Log::open(dir.path()).unwrap();
        assert_eq!(rec.records, 5);
        assert!(rec.truncated_bytes > 0);
        assert_eq!(rec.durable.promised, b(3));
        assert_eq!(rec.durable.accepted[&1].ballot, b(3));
        assert_eq!(rec.durable.chosen[&1], Value::Noop);
        let (_, again) = Log::open(dir.path()).unwrap();
        assert_eq!((again.records, again.truncated_bytes), (5, 0));
    }
}
