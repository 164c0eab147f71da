//! acceptedEpoch and currentEpoch: single-value files replaced atomically
//! (write a temporary file, fsync it, rename it over the old one, fsync the directory).

use super::{sync_dir, Result, StorageError};
use std::io::Write;
use std::path::Path;

pub const ACCEPTED: &str = "acceptedEpoch";
pub const CURRENT: &str = "currentEpoch";
pub const UPDATING: &str = "updatingEpoch";

/// Removes a marker file durably (no error if it is absent).
pub fn remove(dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(name);
    match std::fs::remove_file(&path) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io(&path, e)),
    }
}

/// Reads the updatingEpoch marker, if present.
pub fn read_updating(dir: &Path) -> Result<Option<u32>> {
    if read(dir, UPDATING)?.is_none() {
        return Ok(None);
    }
    read_epoch(dir, UPDATING).map(Some)
}

pub fn write_atomic(dir: &Path, name: &str, contents: &str) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    let mut f = std::fs::File::create(&tmp).map_err(|e| StorageError::io(&tmp, e))?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| StorageError::io(&tmp, e))?;
    std::fs::rename(&tmp, &dst).map_err(|e| StorageError::io(&dst, e))?;
    sync_dir(dir)
}

fn read(dir: &Path, name: &str) -> Result<Option<String>> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io(&path, e)),
    }
}

fn corrupt(dir: &Path, name: &str, text: &str) -> StorageError {
    StorageError::Corrupt {
        path: dir.join(name),
        message: format!("expected an epoch file, found {text:?}"),
    }
}

/// Reads acceptedEpoch (0 when the file does not exist yet).
pub fn read_accepted(dir: &Path) -> Result<u32> {
    read_epoch(dir, ACCEPTED)
}

/// Reads currentEpoch (0 when the file does not exist yet).
pub fn read_current(dir: &Path) -> Result<u32> {
    read_epoch(dir, CURRENT)
}

fn read_epoch(dir: &Path, name: &str) -> Result<u32> {
    let Some(text) = read(dir, name)? else {
        return Ok(0);
    };
    text.trim().parse().map_err(|_| corrupt(dir, name, &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reject_garbage() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_current(d.path()).unwrap(), 0);
        write_atomic(d.path(), CURRENT, "7\n").unwrap();
        write_atomic(d.path(), ACCEPTED, "8\n").unwrap();
        assert_eq!(read_current(d.path()).unwrap(), 7);
        assert_eq!(read_accepted(d.path()).unwrap(), 8);
        std::fs::write(d.path().join(CURRENT), "x").unwrap();
        assert!(read_current(d.path())
            .unwrap_err()
            .to_string()
            .contains("currentEpoch"));
    }
}
