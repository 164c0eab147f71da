//! The durable store: what survives a crash of the filesystem's user, as real files on the real
//! disk, one per inode (`ino-<N>` in the backing directory), written and fdatasynced when the user
//! fsyncs. Names are not kept here: the durable namespace lives in the tree (the filesystem itself
//! never crashes during a run; only its user does).

use crate::pending::Pending;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One real file per inode that has ever been fsynced.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    open: HashMap<u64, File>,
}

impl Store {
    /// A store in `dir` (created; must be empty or hold only an earlier store's files, which are
    /// removed).
    pub fn create(dir: &Path) -> io::Result<Store> {
        std::fs::create_dir_all(dir)?;
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_name().to_string_lossy().starts_with("ino-") {
                std::fs::remove_file(e.path())?;
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            open: HashMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where inode `ino`'s durable content is kept.
    pub fn path(&self, ino: u64) -> PathBuf {
        self.dir.join(format!("ino-{ino}"))
    }

    fn file(&mut self, ino: u64) -> io::Result<&File> {
        if !self.open.contains_key(&ino) {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(self.path(ino))?;
            self.open.insert(ino, f);
        }
        Ok(&self.open[&ino])
    }

    /// Applies `ops` in order to inode `ino`'s durable content (writes and size changes).
    pub fn apply(&mut self, ino: u64, ops: &[Pending]) -> io::Result<()> {
        let f = self.file(ino)?;
        for op in ops {
            match op {
                Pending::Write { offset, data } => f.write_all_at(data, *offset)?,
                Pending::SetLen(len) => f.set_len(*len)?,
            }
        }
        Ok(())
    }

    /// fdatasync of inode `ino`'s durable content.
    pub fn sync(&mut self, ino: u64) -> io::Result<()> {
        self.file(ino)?.sync_data()
    }

    /// Inode `ino`'s durable content (empty if it was never written).
    pub fn read_all(&mut self, ino: u64) -> io::Result<Vec<u8>> {
        if !self.open.contains_key(&ino) && !self.path(ino).exists() {
            return Ok(Vec::new());
        }
        let f = self.file(ino)?;
        let len = f.metadata()?.len();
        let mut buf = vec![0u8; len as usize];
        f.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    }

    /// Forgets inode `ino` and deletes its durable content.
    pub fn remove(&mut self, ino: u64) -> io::Result<()> {
        self.open.remove(&ino);
        match std::fs::remove_file(self.path(ino)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Moves inode `ino`'s durable content to `dest` (after a clean unmount), closing it.
    pub fn move_out(&mut self, ino: u64, dest: &Path) -> io::Result<()> {
        self.open.remove(&ino);
        let src = self.path(ino);
        if src.exists() {
            std::fs::rename(&src, dest)
        } else {
            File::create(dest).map(|_| ())
        }
    }
}
