//! Mounting a faultfs: the checks that say whether FUSE can be used here, the mount itself (a
//! background session thread in the calling process), the crash control, the clean unmount that
//! leaves the files behind as ordinary files, and the removal of mounts a killed process left.
//!
//! Nothing outlives the process that mounts: the mount uses fusermount3's `auto_unmount`, so when
//! the process dies, even by SIGKILL, fusermount3 (which waits on a socket to it) unmounts at
//! once. A mount whose owner died some other way is named `faultfs-<pid>` in /proc/mounts, and
//! [`remove_stale_mounts`] detaches every one whose process is gone.

use crate::fs::FaultFs;
use crate::names::Names;
use crate::slow::SlowSync;
use crate::store::Store;
use crate::tree::{CrashReport, Tree};
use crate::FaultFsError;
use fuser::{BackgroundSession, Config, MountOption, SessionACL};
use rand::SeedableRng;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The filesystem type in /proc/mounts.
pub const FS_TYPE: &str = "fuse.faultfs";

/// Whether a faultfs can be mounted here; the error is one sentence saying why not and what to do.
pub fn check_available() -> Result<(), FaultFsError> {
    // SAFETY: plain syscall.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(FaultFsError::Unavailable(format!(
            "the lose-unsynced fault mounts a FUSE filesystem, which needs root (this is uid {euid}); run as root or choose other faults"
        )));
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        return Err(FaultFsError::Unavailable(format!(
            "the lose-unsynced fault needs FUSE, but /dev/fuse cannot be opened ({e}); load the fuse module (modprobe fuse) or choose other faults"
        )));
    }
    if which("fusermount3").is_none() {
        return Err(FaultFsError::Unavailable(
            "the lose-unsynced fault needs fusermount3, which is not installed; apt-get install fuse3 or choose other faults".into(),
        ));
    }
    Ok(())
}

fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// A mounted faultfs.
pub struct Mount {
    mountpoint: PathBuf,
    tree: Arc<Mutex<Tree>>,
    session: Option<BackgroundSession>,
    slow: Arc<SlowSync>,
    crashes: u64,
}

impl Mount {
    /// Mounts an empty faultfs on `mountpoint` (an existing, empty directory), keeping durable
    /// content in `store_dir` (created; anything an earlier store left there is removed).
    pub fn new(mountpoint: &Path, store_dir: &Path) -> Result<Mount, FaultFsError> {
        check_available()?;
        for m in remove_stale_mounts() {
            tracing::info!(
                "faultfs: detached {}, left by a process that is gone",
                m.display()
            );
        }
        let io = |what: &str, source| FaultFsError::Io {
            path: mountpoint.to_path_buf(),
            what: what.to_string(),
            source,
        };
        let store = Store::create(store_dir).map_err(|e| io("cannot create its store", e))?;
        let tree = Arc::new(Mutex::new(Tree::new(store)));
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName(format!("faultfs-{}", std::process::id())),
            MountOption::Subtype("faultfs".into()),
            MountOption::AutoUnmount,
            MountOption::NoDev,
            MountOption::NoSuid,
        ];
        config.acl = SessionACL::All;
        let slow = Arc::new(SlowSync::default());
        let fs = FaultFs::new(tree.clone(), slow.clone());
        let session =
            fuser::spawn_mount(fs, mountpoint, &config).map_err(|source| FaultFsError::Mount {
                path: mountpoint.to_path_buf(),
                source,
            })?;
        Ok(Mount {
            mountpoint: mountpoint.to_path_buf(),
            tree,
            session: Some(session),
            slow,
            crashes: 0,
        })
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on, names (creates, renames, unlinks) become durable as `names` says; the
    /// default is at the directory's fsync.
    pub fn set_names(&self, names: Names) {
        self.tree().set_names(names);
    }

    /// Bytes written and not yet fsynced.
    pub fn unsynced_bytes(&self) -> u64 {
        self.tree().unsynced_bytes()
    }

    /// A slow disk: from now on every fsync waits `delay` before it makes anything durable
    /// (`None`: the disk is fast again). A crash ends it.
    pub fn set_sync_delay(&self, delay: Option<Duration>) {
        self.slow.set(delay);
    }

    /// While an fsync waits on the slow disk: the bytes written and not yet durable (what a
    /// crash now would lose). `None` when no fsync waits.
    pub fn unsynced_while_syncing(&self) -> Option<u64> {
        self.slow.waiting().then(|| self.unsynced_bytes())
    }

    /// The slow disk's delay now in force.
    pub fn sync_delay(&self) -> Option<Duration> {
        self.slow.delay()
    }

    /// Before the processes using the mount are killed for a crash: every fsync waiting on the
    /// slow disk, and every one that starts until [`Mount::crash`], fails with EIO and makes
    /// nothing durable, so that the kill does not wait for them (a process killed inside a
    /// FUSE request is reaped only once it is answered).
    pub fn abort_syncs(&self) {
        self.slow.abort();
    }

    /// Drops everything not made durable (see the crate documentation), as a power failure
    /// would; with `torn`, each file keeps a prefix of its unsynced changes drawn from that seed.
    /// Every process using the mount must be dead (killed and reaped) first: whatever it still
    /// had open is closed.
    pub fn crash(&mut self, torn: Option<u64>) -> Result<CrashReport, FaultFsError> {
        self.crashes += 1;
        // Pages of shared mappings still dirty in the kernel arrive now, as unsynced writes, so
        // that none arrives after the crash (a dead process's mappings were written back when
        // they closed; this is for any the kernel still holds).
        self.write_back_page_cache();
        let mut rng = torn.map(rand::rngs::StdRng::seed_from_u64);
        let r = self.tree().crash(rng.as_mut());
        // The disk comes back fast and whole.
        self.slow.reset();
        // Pages the kernel cached for a mapping may hold what the crash dropped.
        let inos = self.tree().file_inos();
        if let Some(session) = &self.session {
            let notifier = session.notifier();
            for ino in inos {
                // ENOENT: the kernel does not know the inode, so it caches nothing of it.
                let _ = notifier.inval_inode(fuser::INodeNo(ino), 0, 0);
            }
        }
        r.map_err(|source| FaultFsError::Io {
            path: self.mountpoint.clone(),
            what: "cannot drop what was not fsynced".into(),
            source,
        })
    }

    /// syncfs(2) on the mount: the kernel sends every dirty cached page as a write.
    fn write_back_page_cache(&self) {
        let Ok(dir) = std::fs::File::open(&self.mountpoint) else {
            return;
        };
        // SAFETY: a plain syscall on a descriptor this function owns.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) } != 0 {
            tracing::warn!(
                "faultfs: syncfs on {} failed: {}",
                self.mountpoint.display(),
                std::io::Error::last_os_error()
            );
        }
    }

    /// How many crashes this mount has had.
    pub fn crashes(&self) -> u64 {
        self.crashes
    }

    /// A clean unmount: makes everything durable (as a clean shutdown writes the page cache
    /// back), unmounts, and moves the files into the mount point directory as ordinary files.
    /// Processes using the mount must have exited.
    pub fn unmount(mut self) -> Result<(), FaultFsError> {
        self.slow.reset();
        let synced = self.tree().sync_all();
        self.detach();
        let io = |what: &str, source| FaultFsError::Io {
            path: self.mountpoint.clone(),
            what: what.to_string(),
            source,
        };
        synced.map_err(|e| {
            io(
                "cannot sync before unmounting",
                std::io::Error::from_raw_os_error(e),
            )
        })?;
        let mut tree = self.tree();
        tree.materialize(&self.mountpoint)
            .map_err(|e| io("cannot write its files out after unmounting", e))?;
        let store = tree.store().dir().to_path_buf();
        drop(tree);
        let _ = std::fs::remove_dir_all(store);
        Ok(())
    }

    /// Unmounts (lazily if the mount is busy) and waits for the session thread.
    fn detach(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        if let Err(e) = unmount_path(&self.mountpoint) {
            tracing::warn!("faultfs: cannot unmount {}: {e}", self.mountpoint.display());
        }
        if let Err(e) = session.umount_and_join() {
            tracing::warn!(
                "faultfs: session of {} ended badly: {e}",
                self.mountpoint.display()
            );
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        self.detach();
    }
}

/// umount(2), or a lazy unmount (MNT_DETACH) if the mount is busy; waits until the mount is gone
/// from /proc/self/mountinfo (at most 5 s).
pub fn unmount_path(path: &Path) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: plain syscalls on a valid C string.
    let r = unsafe { libc::umount2(c.as_ptr(), 0) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINVAL) && !is_mounted(path) {
            return Ok(());
        }
        // SAFETY: as above.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_mounted(path) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// One faultfs mount listed in /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mountpoint: PathBuf,
    /// The process that mounted it.
    pub pid: Option<u32>,
}

/// Every faultfs mounted now.
pub fn faultfs_mounts() -> Vec<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mountinfo(&text)
}

fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        // id parent major:minor root mountpoint options [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        let (Some(fstype), Some(source)) = (r.next(), r.next()) else {
            continue;
        };
        if fstype != FS_TYPE {
            continue;
        }
        let Some(mp) = left.split(' ').nth(4) else {
            continue;
        };
        let pid = source.strip_prefix("faultfs-").and_then(|p| p.parse().ok());
        out.push(MountEntry {
            mountpoint: PathBuf::from(unescape(mp)),
            pid,
        });
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &s[i + 1..i + 4];
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_mounted(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|mp| Path::new(&unescape(mp)) == path)
    })
}

fn process_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Detaches every faultfs whose mounting process is gone (left by a run that was killed before
/// fusermount3 could unmount); returns their mount points.
pub fn remove_stale_mounts() -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for m in faultfs_mounts() {
        if m.pid.is_some_and(process_alive) {
            continue;
        }
        match unmount_path(&m.mountpoint) {
            Ok(()) => removed.push(m.mountpoint),
            Err(e) => tracing::warn!(
                "faultfs: cannot remove the stale mount {}: {e}",
                m.mountpoint.display()
            ),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_name_faultfs_mounts_and_their_owners() {
        let text = "36 35 98:0 / /mnt rw,noatime master:1 - ext3 /dev/root rw\n\
                    90 29 0:52 / /tmp/run\\040one/nodes/n1/data rw,nosuid,nodev - fuse.faultfs faultfs-4242 rw,user_id=0\n\
                    91 29 0:53 / /x rw - fuse.other faultfs-1 rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(
            m,
            vec![MountEntry {
                mountpoint: PathBuf::from("/tmp/run one/nodes/n1/data"),
                pid: Some(4242)
            }]
        );
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape("trailing\\"), "trailing\\");
    }
}
