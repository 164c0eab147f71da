//! Stable storage of one node: the write-ahead log (`wal`) and the snapshot file (`snapshot`)
//! in the data directory.

pub mod snapshot;
pub mod wal;

use std::fs::File;
use std::io;
use std::path::Path;

/// Fsyncs a directory so that file creations and renames in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
