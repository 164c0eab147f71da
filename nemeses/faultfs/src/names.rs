//! When a directory entry (a create, a rename, an unlink) becomes durable: the policy a crash
//! honours for names, chosen per mount.

use serde::Serialize;

/// When names become durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Names {
    /// Only at the next fsync of the directory holding them (POSIX's promise, and what
    /// faultfs checks by default): a crash reverts every entry changed since.
    #[default]
    AtDirectoryFsync,
    /// At once, as a journaling filesystem commits its metadata (and as LazyFS treats names):
    /// a crash loses unsynced file content only. For programs that never fsync the directories
    /// they create, where strict names would erase their whole state at every crash.
    AtOnce,
}
