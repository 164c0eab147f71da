//! faultfs: a FUSE filesystem that keeps what was not fsynced in memory only, so that a crash of
//! the process using it can lose it, as a power failure loses a page cache (LazyFS's idea; our
//! own code, with stricter namespace rules).
//!
//! # What survives a crash, and what is dropped
//!
//! - **File content** is durable up to the last `fsync` or `fdatasync` of that file (either one
//!   makes both data and size durable). Every `write`, and every truncation or extension, made
//!   since is dropped. `close` makes nothing durable.
//! - **Names** are durable up to the last `fsync` of the directory holding them: a file or
//!   directory created, renamed or unlinked since is put back as the directory's last fsync saw
//!   it. A rename across directories needs both fsyncs (each side is reverted on its own). A
//!   file whose content was fsynced but whose name never was vanishes with its content. A new
//!   directory's own entries need an fsync of that directory, and its name an fsync of its parent.
//!   A mount can instead make names durable at once ([`Names::AtOnce`], [`Mount::set_names`]), as
//!   a journaling filesystem commits metadata; file content is still lost as above.
//! - **A torn write** (optional, per crash): each file with unsynced changes keeps a prefix of
//!   them, uniformly drawn between none and all of its unsynced bytes, in the order they were
//!   written; a write that straddles the cut keeps its head. What is kept becomes durable. For an
//!   append-only log this is a random prefix of the unsynced tail.
//! - **A slow disk** (optional, until the next crash): every fsync waits a set delay before it
//!   makes anything durable; a crash cuts the waits short with EIO and nothing synced
//!   ([`Mount::set_sync_delay`], [`Mount::abort_syncs`]).
//! - Modes, owners and times are never reverted. Hard links, symlinks and special files are not
//!   supported (EPERM).
//!
//! The durable content of each file lives in a real file on the real disk (`ino-<N>` in the
//! store directory), written and fdatasynced when the user fsyncs, so fsync costs what it costs.
//! The live content and the namespace are in memory. On a clean unmount everything is made
//! durable and written out under the mount point as ordinary files.

mod error;
mod fs;
mod mount;
mod names;
mod pending;
mod slow;
mod store;
mod tree;

pub use error::FaultFsError;
pub use mount::{check_available, faultfs_mounts, remove_stale_mounts, Mount, MountEntry, FS_TYPE};
pub use names::Names;
pub use tree::{CrashReport, RevertedFile};
