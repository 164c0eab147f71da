//! The data directory.
//!
//! ```text
//! <data-dir>/acceptedEpoch             "<epoch>\n"               (written atomically)
//! <data-dir>/currentEpoch              "<epoch>\n"              (written atomically)
//! <data-dir>/updatingEpoch             "<epoch>\n" only between logging a NEWLEADER sync and currentEpoch
//! <data-dir>/log/log.<zxid hex>        checksummed records, one segment per snapshot interval
//! <data-dir>/snap/snapshot.<zxid hex>  checksummed JSON of the committed tree at that zxid
//! ```

pub mod epoch_file;
pub mod snapshot;
pub mod txnlog;

use crate::core::peer::Durable;
use crate::core::tree::DataTree;
use crate::core::txn::Entry;
use crate::core::zxid::Zxid;
use std::path::{Path, PathBuf};

/// A storage failure, with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
}

impl StorageError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Fsyncs a directory, so that creations, renames and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StorageError::io(dir, e))
}

/// The open data directory.
pub struct DataDir {
    root: PathBuf,
    pub log: txnlog::TxnLog,
}

impl DataDir {
    /// Opens (creating if needed) a data directory and reads what survived: the epoch files,
    /// the newest valid snapshot and the log after it (a torn tail is cut off).
    pub fn open(root: &Path) -> Result<(DataDir, Durable)> {
        for d in [root.to_path_buf(), root.join("log"), root.join("snap")] {
            std::fs::create_dir_all(&d).map_err(|e| StorageError::io(&d, e))?;
        }
        let accepted = epoch_file::read_accepted(root)?;
        let current_epoch = epoch_file::read_current(root)?;
        let updating_epoch = epoch_file::read_updating(root)?;
        let snapshot = snapshot::load_newest(&root.join("snap"))?;
        let after = snapshot.as_ref().map(|(z, _)| *z).unwrap_or(Zxid::ZERO);
        let (log, entries) = txnlog::TxnLog::open(&root.join("log"))?;
        let entries: Vec<Entry> = entries.into_iter().filter(|e| e.zxid > after).collect();
        Ok((
            DataDir {
                root: root.to_path_buf(),
                log,
            },
            Durable {
                accepted_epoch: accepted,
                current_epoch,
                updating_epoch,
                snapshot,
                log: entries,
            },
        ))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn snap_dir(&self) -> PathBuf {
        self.root.join("snap")
    }

    pub fn persist_accepted(&self, epoch: u32) -> Result<()> {
        epoch_file::write_atomic(&self.root, epoch_file::ACCEPTED, &format!("{epoch}\n"))
    }

    pub fn persist_current(&self, epoch: u32) -> Result<()> {
        epoch_file::write_atomic(&self.root, epoch_file::CURRENT, &format!("{epoch}\n"))
    }

    pub fn persist_updating(&self, epoch: Option<u32>) -> Result<()> {
        match epoch {
            Some(e) => {
                epoch_file::write_atomic(&self.root, epoch_file::UPDATING, &format!("{e}\n"))
            }
            None => epoch_file::remove(&self.root, epoch_file::UPDATING),
        }
    }

    /// Replaces everything with a snapshot received from the leader (SNAP).
    pub fn install_snapshot(&mut self, zxid: Zxid, tree: &DataTree) -> Result<()> {
        snapshot::write(&self.snap_dir(), zxid, tree)?;
        self.log.clear()
    }
}
