//! The fault filesystem mounted for real: separate processes (sh, printf, sync, mv, rm, dd) write
//! through the kernel, are killed with SIGKILL, and the crash drops exactly what they did not
//! fsync. Each test prints "skipped: <why>" where FUSE cannot be used (no root, no /dev/fuse, no
//! fusermount3).

use faultfs::{faultfs_mounts, Mount};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn usable() -> bool {
    match faultfs::check_available() {
        Ok(()) => true,
        Err(e) => {
            println!("skipped: {e}");
            false
        }
    }
}

/// A mount in a fresh temporary directory: (dir, mount); the mount point is dir/data.
fn mount() -> (tempfile::TempDir, Mount) {
    let d = tempfile::tempdir().unwrap();
    let mp = d.path().join("data");
    std::fs::create_dir(&mp).unwrap();
    let m = Mount::new(&mp, &d.path().join("store")).unwrap();
    (d, m)
}

fn sh(dir: &Path, script: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(st.success(), "{script}");
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

#[test]
fn unsynced_writes_and_names_are_gone_after_a_crash_fsynced_ones_survive() {
    if !usable() {
        return;
    }
    let (_d, mut m) = mount();
    let mp = m.mountpoint().to_path_buf();
    sh(
        &mp,
        "mkdir sub && printf synced > a && sync a && printf sub > sub/f && sync sub/f sub . && \
         printf ' tail' >> a && printf lost > b && mv sub/f sub/g",
    );
    assert_eq!(read(&mp.join("a")).unwrap(), "synced tail");
    assert!(mp.join("sub/g").exists() && mp.join("b").exists());
    let r = m.crash(None).unwrap();
    assert_eq!(read(&mp.join("a")).unwrap(), "synced");
    assert!(!mp.join("b").exists());
    assert_eq!(read(&mp.join("sub/f")).unwrap(), "sub");
    assert!(!mp.join("sub/g").exists());
    assert_eq!(r.bytes_dropped, " tail".len() as u64 + "lost".len() as u64);
    assert!(r.vanished.contains(&"/b".to_string()), "{r:?}");
    m.unmount().unwrap();
    // After a clean unmount the files are ordinary files in the mount point.
    assert!(faultfs_mounts().iter().all(|e| e.mountpoint != mp));
    assert_eq!(read(&mp.join("a")).unwrap(), "synced");
    assert_eq!(read(&mp.join("sub/f")).unwrap(), "sub");
}

#[test]
fn a_process_killed_mid_write_loses_its_unsynced_appends() {
    if !usable() {
        return;
    }
    let (_d, mut m) = mount();
    let mp = m.mountpoint().to_path_buf();
    sh(&mp, "printf 'x' > log && sync log . ");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("while true; do printf y >> log; done")
        .current_dir(&mp)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.unsynced_bytes() < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(read(&mp.join("log")).unwrap().len() > 100);
    let r = m.crash(None).unwrap();
    assert_eq!(read(&mp.join("log")).unwrap(), "x");
    assert!(r.bytes_dropped >= 100);
    // The file system goes on working after the crash.
    sh(&mp, "printf z >> log && sync log");
    m.crash(None).unwrap();
    assert_eq!(read(&mp.join("log")).unwrap(), "xz");
}

/// Maps `len` bytes of `path` shared, hands the mapping to `f`, and unmaps it.
fn with_shared_map(path: &Path, len: usize, write: bool, f: impl FnOnce(&mut [u8])) {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .unwrap();
    let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
    // SAFETY: a fresh mapping of an open file, used only inside this function and unmapped
    // before it returns; the file outlives it.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(
            p,
            libc::MAP_FAILED,
            "a shared mmap on faultfs failed: {}",
            std::io::Error::last_os_error()
        );
        f(std::slice::from_raw_parts_mut(p as *mut u8, len));
        libc::munmap(p, len);
    }
}

#[test]
fn shared_mappings_work_and_a_crash_drops_what_was_written_through_them_unsynced() {
    if !usable() {
        return;
    }
    let (_d, mut m) = mount();
    let mp = m.mountpoint().to_path_buf();
    let f = mp.join("db");
    sh(&mp, "printf AAAAAAAA > db && sync db .");
    // Written through a writable shared mapping (as an mmap'd database writes its pages), never
    // msynced or fsynced: visible to read(2), gone after the crash.
    with_shared_map(&f, 8, true, |b| b[..4].copy_from_slice(b"BBBB"));
    assert_eq!(read(&f).unwrap(), "BBBBAAAA");
    m.crash(None).unwrap();
    assert_eq!(read(&f).unwrap(), "AAAAAAAA");
    // Written with write(2) and read through a read-only mapping (bbolt's way), unsynced: after
    // the crash neither read(2) nor a new mapping sees the dropped bytes through the cache.
    sh(&mp, "printf CCCC | dd of=db conv=notrunc status=none");
    with_shared_map(&f, 8, false, |b| assert_eq!(&b[..], b"CCCCAAAA"));
    m.crash(None).unwrap();
    assert_eq!(read(&f).unwrap(), "AAAAAAAA");
    with_shared_map(&f, 8, false, |b| assert_eq!(&b[..], b"AAAAAAAA"));
    // What a mapping writes and msync+fsync make durable survives.
    with_shared_map(&f, 8, true, |b| {
        b[4..].copy_from_slice(b"DDDD");
        // SAFETY: b is the live mapping.
        assert_eq!(
            unsafe { libc::msync(b.as_mut_ptr() as *mut libc::c_void, 8, libc::MS_SYNC) },
            0
        );
    });
    sh(&mp, "sync db");
    m.crash(None).unwrap();
    assert_eq!(read(&f).unwrap(), "AAAADDDD");
}

/// Makes `f` 4 KiB of durable zeros followed by `tail`, appended and not fsynced (through a
/// second file, so that no earlier torn prefix stays).
fn reset_with_unsynced_tail(mp: &Path, tail: &[u8]) {
    sh(
        mp,
        "head -c 4096 /dev/zero > f.new && sync f.new && mv f.new f && sync .",
    );
    std::fs::write(mp.join("f.tail"), tail).unwrap();
    sh(mp, "cat f.tail >> f && rm f.tail && sync .");
}

#[test]
fn a_torn_crash_keeps_a_random_prefix_of_the_unsynced_tail() {
    if !usable() {
        return;
    }
    let (_d, mut m) = mount();
    let mp = m.mountpoint().to_path_buf();
    // 4 KiB synced, then 1 MiB of a recognisable pattern appended without fsync.
    sh(
        &mp,
        "head -c 4096 /dev/zero > f && sync f . && \
         i=0; while [ $i -lt 16384 ]; do printf '%063d\\n' $i; i=$((i+1)); done >> f",
    );
    let full = std::fs::read(mp.join("f")).unwrap();
    assert_eq!(full.len(), 4096 + 16384 * 64);
    let mut lens = Vec::new();
    for seed in 1..=3u64 {
        // Rewrite the unsynced tail each round (the previous torn prefix became durable).
        reset_with_unsynced_tail(&mp, &full[4096..]);
        let r = m.crash(Some(seed)).unwrap();
        let got = std::fs::read(mp.join("f")).unwrap();
        assert!(got.len() >= 4096 && full.starts_with(&got), "seed {seed}");
        let torn = r.reverted.iter().find(|f| f.path == "/f").unwrap();
        assert_eq!(torn.kept_bytes, got.len() as u64 - 4096);
        lens.push(got.len());
    }
    assert!(lens.iter().any(|&l| l > 4096 && l < full.len()), "{lens:?}");
    // The same seed tears at the same place.
    reset_with_unsynced_tail(&mp, &full[4096..]);
    m.crash(Some(1)).unwrap();
    assert_eq!(std::fs::read(mp.join("f")).unwrap().len(), lens[0]);
}

/// Run by [`sigkill_of_the_mounting_process_leaves_no_mount`] in a child process.
#[test]
#[ignore = "helper: run by another test in its own process"]
fn helper_mount_and_wait() {
    let Ok(mp) = std::env::var("FAULTFS_HELPER_MOUNT") else {
        return;
    };
    let mp = std::path::PathBuf::from(mp);
    let _m = Mount::new(&mp, &mp.with_extension("store")).unwrap();
    std::fs::write(mp.join("hello"), "x").unwrap();
    println!("mounted");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn sigkill_of_the_mounting_process_leaves_no_mount() {
    if !usable() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mp = d.path().join("data");
    std::fs::create_dir(&mp).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_mount_and_wait",
            "--ignored",
            "--nocapture",
        ])
        .env("FAULTFS_HELPER_MOUNT", &mp)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "the helper exited before mounting");
        if line.trim() == "mounted" {
            break;
        }
    }
    assert!(faultfs_mounts().iter().any(|e| e.mountpoint == mp));
    // SAFETY: plain syscall on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while faultfs_mounts().iter().any(|e| e.mountpoint == mp) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<_> = faultfs_mounts()
        .into_iter()
        .filter(|e| e.mountpoint == mp)
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The mount point is an ordinary empty directory again.
    assert!(!mp.join("hello").exists());
}

#[test]
fn a_slow_disk_delays_fsync_and_a_crash_inside_the_wait_drops_the_write() {
    if !usable() {
        return;
    }
    let (_d, mut m) = mount();
    let mp = m.mountpoint().to_path_buf();
    sh(&mp, "printf 'a' > log && sync log . ");

    // A slow fsync still makes its data durable, after the delay.
    m.set_sync_delay(Some(Duration::from_millis(300)));
    let t = Instant::now();
    sh(&mp, "printf 'b' >> log && sync log");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    m.crash(None).unwrap();
    assert_eq!(read(&mp.join("log")).unwrap(), "ab");
    assert_eq!(m.sync_delay(), None, "a crash makes the disk fast again");

    // A process killed while its fsync waits is reaped at once, and the write is lost.
    m.set_sync_delay(Some(Duration::from_secs(60)));
    sh(&mp, "printf 'c' >> log");
    let mut child = Command::new("sync")
        .arg("log")
        .current_dir(&mp)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the fsync waits");
    m.abort_syncs();
    let t = Instant::now();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let r = m.crash(None).unwrap();
    assert_eq!(read(&mp.join("log")).unwrap(), "ab");
    assert_eq!(r.bytes_dropped, 1);
    m.unmount().unwrap();
}
