//! The snapshot file: one checksummed frame holding the snapshot's index, term and state
//! machine data, replaced atomically (write `snapshot.tmp`, fsync, rename, fsync the directory).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::core::Snapshot;
use crate::frame;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot file {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: frame::FrameError,
    },
}

/// Loads `dir/snapshot`, if there is one.
pub fn load(dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
    let path = dir.join("snapshot");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SnapshotError::Io { path, source }),
    };
    match frame::decode::<Snapshot>(&bytes) {
        Ok((s, _)) => Ok(Some(s)),
        Err(source) => Err(SnapshotError::Corrupt { path, source }),
    }
}

/// Saves `snapshot` as `dir/snapshot`, durably and atomically.
pub fn save(dir: &Path, snapshot: &Snapshot) -> Result<(), SnapshotError> {
    let tmp = dir.join("snapshot.tmp");
    let path = dir.join("snapshot");
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SnapshotError::Io { path, source }
    };
    let bytes = frame::encode(snapshot);
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(&bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    super::sync_dir(dir).map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let s = Snapshot {
            index: 9,
            term: 2,
            data: b"state".to_vec(),
        };
        save(dir.path(), &s).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(s));
        let p = dir.path().join("snapshot");
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n - 1] ^= 1;
        std::fs::write(&p, b).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("corrupt"), "{err}");
    }
}
