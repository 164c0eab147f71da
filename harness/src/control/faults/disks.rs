//! Each node's data directory on a faultfs mount, for the `lose-unsynced` fault: mounted before
//! the nodes first start, crashed (unsynced writes dropped) while a node is down, and unmounted
//! cleanly at the end of the run, which leaves the node's files in `nodes/<node>/data` as
//! ordinary files. The durable content lives in `nodes/<node>/faultfs-store` while mounted.
//! Files a system's descriptor wrote into the data directory before the mount (ZooKeeper's
//! `myid`) are carried onto it, written and synced there before the nodes start.

use crate::control::{ControlError, NodeLayout};
use faultfs::{Mount, Names};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// The mounts of a cluster, one per node, in node order.
pub struct NodeDisks {
    names: Vec<String>,
    mounts: Vec<Mutex<Option<Mount>>>,
}

/// Removes the plain files directly in `dir` and returns their names and contents.
fn take_files(dir: &Path) -> std::io::Result<Vec<(OsString, Vec<u8>)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            out.push((e.file_name(), std::fs::read(e.path())?));
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(out)
}

/// Writes `files` into `dir` and makes them durable (the files, then the directory).
fn put_files(dir: &Path, files: &[(OsString, Vec<u8>)]) -> std::io::Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    for (name, data) in files {
        let mut f = std::fs::File::create(dir.join(name))?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::File::open(dir)?.sync_all()
}

impl NodeDisks {
    /// Mounts a faultfs on every node's (empty) data directory, its names durable as `names`
    /// says. Fails with one sentence when FUSE cannot be used here.
    pub fn mount(layouts: &[NodeLayout], names: Names) -> Result<NodeDisks, ControlError> {
        faultfs::check_available()?;
        let mut mounts = Vec::new();
        for l in layouts {
            let carried = take_files(&l.data_dir).map_err(|source| ControlError::Prepare {
                node: l.name.clone(),
                dir: l.data_dir.clone(),
                source,
            })?;
            let m = Mount::new(&l.data_dir, &l.dir.join("faultfs-store")).map_err(|source| {
                ControlError::Mount {
                    node: l.name.clone(),
                    source,
                }
            })?;
            m.set_names(names);
            put_files(&l.data_dir, &carried).map_err(|source| ControlError::Prepare {
                node: l.name.clone(),
                dir: l.data_dir.clone(),
                source,
            })?;
            mounts.push(Mutex::new(Some(m)));
        }
        Ok(NodeDisks {
            names: layouts.iter().map(|l| l.name.clone()).collect(),
            mounts,
        })
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Option<Mount>> {
        self.mounts[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slow disk on node `i` (every fsync waits `delay`; `None`: fast again), until its next
    /// crash.
    pub fn set_sync_delay(
        &self,
        i: usize,
        delay: Option<std::time::Duration>,
    ) -> Result<(), ControlError> {
        let g = self.lock(i);
        let m = g
            .as_ref()
            .ok_or_else(|| ControlError::Unmounted(self.names[i].clone()))?;
        m.set_sync_delay(delay);
        Ok(())
    }

    /// While one of node `i`'s fsyncs waits on its slow disk: its bytes not yet durable.
    pub fn unsynced_while_syncing(&self, i: usize) -> Option<u64> {
        self.lock(i).as_ref()?.unsynced_while_syncing()
    }

    /// Before node `i` is killed for a crash: its fsyncs waiting on a slow disk fail at once
    /// and make nothing durable, so that the kill is not held up by them.
    pub fn abort_syncs(&self, i: usize) {
        if let Some(m) = self.lock(i).as_ref() {
            m.abort_syncs();
        }
    }

    /// Drops what node `i` did not make durable (its process must be dead); with `torn`, keeps
    /// a torn prefix of each unsynced tail. Returns what was dropped, for the journal.
    pub fn crash(&self, i: usize, torn: Option<u64>) -> Result<Value, ControlError> {
        let mut g = self.lock(i);
        let m = g
            .as_mut()
            .ok_or_else(|| ControlError::Unmounted(self.names[i].clone()))?;
        let r = m.crash(torn)?;
        Ok(json!({
            "bytes_dropped": r.bytes_dropped,
            "bytes_kept": r.reverted.iter().map(|f| f.kept_bytes).sum::<u64>(),
            "files_reverted": r.reverted,
            "entries_reverted": r.entries_reverted,
            "vanished": r.vanished,
            "crash": m.crashes(),
        }))
    }

    /// Unmounts every node's filesystem cleanly (every node must have stopped): what the nodes
    /// wrote becomes ordinary files in their data directories.
    pub fn unmount_all(&self) -> Result<(), ControlError> {
        let mut errors = Vec::new();
        for i in 0..self.mounts.len() {
            if let Some(m) = self.lock(i).take() {
                if let Err(e) = m.unmount() {
                    errors.push((self.names[i].clone(), e));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ControlError::Unmount(errors))
        }
    }
}
