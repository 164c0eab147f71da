//! Snapshots: the committed tree at a zxid, as one [`frame`](crate::frame) holding its JSON,
//! written to a temporary file, fsynced and renamed into place.

use super::{sync_dir, Result, StorageError};
use crate::core::tree::DataTree;
use crate::core::zxid::Zxid;
use crate::frame;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest snapshot body a frame may hold (its length is a u32).
const MAX_SNAPSHOT: usize = u32::MAX as usize;

fn file_name(zxid: Zxid) -> String {
    format!("snapshot.{:016x}", zxid.0)
}

fn parse_name(name: &str) -> Option<Zxid> {
    let hex = name.strip_prefix("snapshot.")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(Zxid)
}

/// Writes a snapshot durably.
pub fn write(dir: &Path, zxid: Zxid, tree: &DataTree) -> Result<()> {
    let body = serde_json::to_vec(tree).expect("a tree always serializes");
    if body.len() > MAX_SNAPSHOT {
        return Err(StorageError::Corrupt {
            path: dir.join(file_name(zxid)),
            message: format!(
                "a snapshot of {} bytes exceeds the frame limit of {MAX_SNAPSHOT}",
                body.len()
            ),
        });
    }
    let bytes = frame::encode(&body);
    let tmp = dir.join(format!("{}.tmp", file_name(zxid)));
    let dst = dir.join(file_name(zxid));
    let mut f = std::fs::File::create(&tmp).map_err(|e| StorageError::io(&tmp, e))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| StorageError::io(&tmp, e))?;
    std::fs::rename(&tmp, &dst).map_err(|e| StorageError::io(&dst, e))?;
    sync_dir(dir)
}

fn read(path: &Path) -> std::result::Result<DataTree, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let (body, len) = frame::decode(&bytes, MAX_SNAPSHOT).map_err(|e| e.to_string())?;
    if len != bytes.len() {
        return Err(format!(
            "{} bytes after the snapshot's frame",
            bytes.len() - len
        ));
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// Snapshots in the directory, newest first.
pub fn list(dir: &Path) -> Result<Vec<(Zxid, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))? {
        let e = e.map_err(|e| StorageError::io(dir, e))?;
        if let Some(z) = e.file_name().to_str().and_then(parse_name) {
            out.push((z, e.path()));
        }
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.0));
    Ok(out)
}

/// The newest snapshot that reads back intact.
pub fn load_newest(dir: &Path) -> Result<Option<(Zxid, DataTree)>> {
    for (z, path) in list(dir)? {
        match read(&path) {
            Ok(tree) => return Ok(Some((z, tree))),
            Err(why) => tracing::warn!(path = %path.display(), why, "skipping invalid snapshot"),
        }
    }
    Ok(None)
}

/// Keeps the newest `keep` snapshots; returns the zxid of the oldest one kept.
pub fn purge(dir: &Path, keep: usize) -> Result<Option<Zxid>> {
    let all = list(dir)?;
    for (_, path) in all.iter().skip(keep) {
        std::fs::remove_file(path).map_err(|e| StorageError::io(path, e))?;
    }
    Ok(all.iter().take(keep).next_back().map(|(z, _)| *z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::txn::Txn;

    #[test]
    fn newest_valid_snapshot_wins() {
        let d = tempfile::tempdir().unwrap();
        let mut t = DataTree::default();
        write(d.path(), Zxid(1), &t).unwrap();
        t.apply(
            Zxid(2),
            &Txn::Create {
                path: "/a".into(),
                data: 1.into(),
                sequential: false,
            },
        )
        .unwrap();
        write(d.path(), Zxid(2), &t).unwrap();
        assert_eq!(
            load_newest(d.path()).unwrap().unwrap(),
            (Zxid(2), t.clone())
        );
        // Corrupt the newest: the older one is used.
        let p = d.path().join(file_name(Zxid(2)));
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n - 2] ^= 0xff;
        std::fs::write(&p, b).unwrap();
        assert_eq!(load_newest(d.path()).unwrap().unwrap().0, Zxid(1));
        assert_eq!(purge(d.path(), 1).unwrap(), Some(Zxid(2)));
        assert_eq!(list(d.path()).unwrap().len(), 1);
    }
}
