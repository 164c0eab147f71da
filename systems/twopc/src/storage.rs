//! A process's durable log: `data_dir/twopc.log`, an append-only file of checksummed frames
//! (raft's [`raft::frame`]) holding the coordinator's or the participant's records, written and
//! fsynced in groups before the process sends anything that depends on them. Opening it replays
//! the records; a torn or corrupt tail (what kill -9 leaves mid-write) is cut off.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use raft::frame;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("twopc log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The open log of records `R`.
pub struct Log<R> {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    _records: PhantomData<R>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the log held at open.
#[derive(Debug)]
pub struct Recovered<R> {
    pub records: Vec<R>,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
}

impl<R: Serialize + DeserializeOwned> Log<R> {
    /// Opens (or creates) `dir/twopc.log`, replays it and cuts a torn tail.
    pub fn open(dir: &Path) -> Result<(Log<R>, Recovered<R>), StorageError> {
        let path = dir.join("twopc.log");
        let existed = path.exists();
        let bytes = if existed {
            std::fs::read(&path).map_err(io_err(&path))?
        } else {
            Vec::new()
        };
        let mut rec = Recovered {
            records: Vec::new(),
            truncated_bytes: 0,
        };
        let mut off = 0usize;
        while off < bytes.len() {
            match frame::decode::<R>(&bytes[off..]) {
                Ok((r, n)) => {
                    off += n;
                    rec.records.push(r);
                }
                Err(err) => {
                    rec.truncated_bytes = (bytes.len() - off) as u64;
                    tracing::warn!(
                        path = %path.display(),
                        offset = off,
                        bytes = rec.truncated_bytes,
                        "cutting a torn or corrupt tail of the log: {err}"
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
        let log = Log {
            path,
            file,
            buf: Vec::new(),
            _records: PhantomData,
        };
        Ok((log, rec))
    }

    /// Writes `records` and fsyncs them (nothing for none).
    pub fn append(&mut self, records: &[R]) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        for r in records {
            frame::encode_into(r, &mut self.buf);
        }
        self.file.write_all(&self.buf).map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{CoordRecord, TxnId};

    #[test]
    fn replays_records_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let t = TxnId { epoch: 1, seq: 2 };
        {
            let (mut l, rec) = Log::<CoordRecord>::open(dir.path()).unwrap();
            assert!(rec.records.is_empty());
            l.append(&[CoordRecord::Epoch(1)]).unwrap();
            l.append(&[
                CoordRecord::Commit {
                    txn: t,
                    participants: vec![2, 3],
                },
                CoordRecord::End(t),
            ])
            .unwrap();
        }
        let path = dir.path().join("twopc.log");
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 2)
            .unwrap();
        let (_, rec) = Log::<CoordRecord>::open(dir.path()).unwrap();
        assert_eq!(rec.records.len(), 2);
        assert!(rec.truncated_bytes > 0);
        let (_, again) = Log::<CoordRecord>::open(dir.path()).unwrap();
        assert_eq!((again.records.len(), again.truncated_bytes), (2, 0));
    }
}
