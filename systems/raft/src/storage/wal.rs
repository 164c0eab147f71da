//! The write-ahead log: checksummed frames of hard-state and entry records, appended and
//! fsynced in groups. Replaying it yields the last hard state and the log; an entry record at
//! index i replaces every earlier record at i or later (a truncation). A torn or corrupt tail —
//! what kill -9 or power loss leaves mid-write — is detected by length and checksum and cut off.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::{Entry, HardState};
use crate::frame;

/// One record of the log.
#[derive(Debug, Serialize, Deserialize)]
enum Record {
    HardState(HardState),
    Entry(Entry),
}

/// What the log held at open.
#[derive(Debug, Default)]
pub struct Recovered {
    pub hard_state: HardState,
    pub entries: Vec<Entry>,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("write-ahead log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The open write-ahead log.
pub struct Wal {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Wal {
    /// Opens (or creates) `dir/wal`, replays it and cuts a torn tail.
    pub fn open(dir: &Path) -> Result<(Wal, Recovered), WalError> {
        let path = dir.join("wal");
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
                    match r {
                        Record::HardState(hs) => rec.hard_state = hs,
                        Record::Entry(e) => {
                            if let Some(first) = rec.entries.first().map(|e| e.index) {
                                if e.index < first {
                                    rec.entries.clear();
                                } else {
                                    rec.entries.truncate((e.index - first) as usize);
                                }
                            }
                            rec.entries.push(e);
                        }
                    }
                }
                Err(err) => {
                    rec.truncated_bytes = (bytes.len() - off) as u64;
                    tracing::warn!(
                        path = %path.display(),
                        offset = off,
                        bytes = rec.truncated_bytes,
                        "cutting a torn or corrupt tail of the write-ahead log: {err}"
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
            super::sync_dir(dir).map_err(io_err(&path))?;
        }
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                path,
                file,
                buf: Vec::new(),
            },
            rec,
        ))
    }

    /// Buffers a hard-state record.
    pub fn put_hard_state(&mut self, hs: HardState) {
        frame::encode_into(&Record::HardState(hs), &mut self.buf);
    }

    /// Buffers entry records (the first one truncates the log at its index on replay).
    pub fn put_entries(&mut self, entries: &[Entry]) {
        for e in entries {
            frame::encode_into(&Record::Entry(e.clone()), &mut self.buf);
        }
    }

    /// Writes the buffered records and fsyncs them.
    pub fn sync(&mut self) -> Result<(), WalError> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf).map_err(io_err(&self.path))?;
            self.buf.clear();
        }
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// Replaces the whole log by `hs` and `entries` (after a snapshot), atomically.
    pub fn rewrite(&mut self, hs: HardState, entries: &[Entry]) -> Result<(), WalError> {
        let tmp = self.dir.join("wal.tmp");
        let mut buf = Vec::new();
        frame::encode_into(&Record::HardState(hs), &mut buf);
        for e in entries {
            frame::encode_into(&Record::Entry(e.clone()), &mut buf);
        }
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(&buf).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io_err(&self.path))?;
        super::sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        self.buf.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(index: u64, term: u64) -> Entry {
        Entry {
            term,
            index,
            data: format!("d{index}").into_bytes(),
        }
    }

    #[test]
    fn replays_truncations_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut w, rec) = Wal::open(dir.path()).unwrap();
            assert!(rec.entries.is_empty());
            w.put_hard_state(HardState {
                term: 1,
                vote: Some(2),
            });
            w.put_entries(&[e(1, 1), e(2, 1), e(3, 1)]);
            w.sync().unwrap();
            // A new leader overwrites from index 2.
            w.put_hard_state(HardState {
                term: 2,
                vote: None,
            });
            w.put_entries(&[e(2, 2)]);
            w.sync().unwrap();
            w.put_entries(&[e(3, 2)]);
            w.sync().unwrap();
        }
        // Tear the last record in half.
        let path = dir.path().join("wal");
        let len = std::fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 3).unwrap();
        drop(f);
        let (mut w, rec) = Wal::open(dir.path()).unwrap();
        assert!(rec.truncated_bytes > 0);
        assert_eq!(
            rec.hard_state,
            HardState {
                term: 2,
                vote: None
            }
        );
        assert_eq!(rec.entries, vec![e(1, 1), e(2, 2)]);
        // Appending after the cut works and survives another reopen.
        w.put_entries(&[e(3, 2)]);
        w.sync().unwrap();
        drop(w);
        let (_, rec) = Wal::open(dir.path()).unwrap();
        assert_eq!(rec.truncated_bytes, 0);
        assert_eq!(rec.entries, vec![e(1, 1), e(2, 2), e(3, 2)]);
    }

    #[test]
    fn corrupt_bytes_are_cut_and_rewrite_replaces() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut w, _) = Wal::open(dir.path()).unwrap();
            w.put_entries(&[e(1, 1), e(2, 1)]);
            w.sync().unwrap();
        }
        let path = dir.path().join("wal");
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 2] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (mut w, rec) = Wal::open(dir.path()).unwrap();
        assert_eq!(rec.entries, vec![e(1, 1)]);
        w.rewrite(
            HardState {
                term: 5,
                vote: Some(1),
            },
            &[e(7, 5)],
        )
        .unwrap();
        w.put_entries(&[e(8, 5)]);
        w.sync().unwrap();
        drop(w);
        let (_, rec) = Wal::open(dir.path()).unwrap();
        assert_eq!(rec.hard_state.term, 5);
        assert_eq!(rec.entries, vec![e(7, 5), e(8, 5)]);
    }
}
