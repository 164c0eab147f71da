//! The address picker: a loopback IP of its own for every node, reserved across processes.
//!
//! A port found by binding port 0 and releasing it can be taken again before the node binds it:
//! by another pick, or by the ephemeral source port of an outgoing connection. Both are shut out
//! here. Every node gets an IP 127.0.b.c that no other holder uses, reserved by an exclusive
//! `flock` on a lock file named after it (in the temp directory, shared by every test binary on
//! the machine; the kernel drops the lock when its holder exits, so a crashed test leaves
//! nothing behind). Nobody else binds on that IP, and outgoing connections to it leave from
//! 127.0.0.1, so its ports stay free until the node binds them — also when a killed node rebinds
//! them later. One more holder is shut out: a child forked by another thread (to start a node)
//! holds copies of this process's sockets until it execs, so a picked port could still be
//! listening in it when the node binds; picking and [`crate::Cluster`]'s spawning therefore take
//! one process-wide lock ([`spawn_lock`]). The harness's own clusters use 127.a.b.x with a ≥ 1 (harness/src/control/layout.rs),
//! never 127.0.b.c.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many IPs there are to hand out: 127.0.b.c for b in 1..=255 and c in 1..=254.
const SPACE: u32 = 255 * 254;

/// A loopback IP reserved for its holder until dropped.
#[derive(Debug)]
pub struct Host {
    ip: Ipv4Addr,
    /// Holds the `flock`; closing it releases the IP.
    _lock: File,
}

fn lock_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("faultline-testkit-loopback");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| {
        panic!(
            "cannot create the loopback lock directory {}: {e}",
            dir.display()
        )
    });
    dir
}

impl Host {
    /// Reserves an IP that no other holder (in this process or any other) has.
    pub fn reserve() -> Host {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = lock_dir();
        // Processes start far apart, so that they seldom try each other's IPs first.
        let start = std::process::id().wrapping_mul(2_654_435_761) % SPACE;
        for _ in 0..SPACE {
            let k = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPACE;
            let ip = Ipv4Addr::new(127, 0, (1 + k / 254) as u8, (1 + k % 254) as u8);
            let path = dir.join(format!("{ip}.lock"));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("cannot open the lock file {}: {e}", path.display()));
            // SAFETY: flock on a file descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Host { ip, _lock: file };
            }
        }
        panic!(
            "every loopback IP 127.0.b.c is reserved (lock files in {})",
            dir.display()
        );
    }

    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// `n` distinct ports free on this IP, all held while the others are picked.
    pub fn free_addrs(&self, n: usize) -> Vec<SocketAddr> {
        let _no_fork = spawn_lock();
        let held: Vec<TcpListener> = (0..n)
            .map(|_| {
                TcpListener::bind((self.ip, 0))
                    .unwrap_or_else(|e| panic!("cannot bind a port on {}: {e}", self.ip))
            })
            .collect();
        held.iter()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
            .collect()
    }
}

/// Held while a port is picked and while a child process is spawned, so that no child inherits
/// a picked port's socket (see the module documentation).
pub fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ips_are_distinct_while_held_and_their_ports_differ() {
        let hosts: Vec<Host> = (0..50).map(|_| Host::reserve()).collect();
        let mut ips: Vec<Ipv4Addr> = hosts.iter().map(Host::ip).collect();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), 50);
        for h in &hosts {
            let o = h.ip().octets();
            assert_eq!((o[0], o[1]), (127, 0));
            assert!(o[2] >= 1 && (1..=254).contains(&o[3]), "{}", h.ip());
            let a = h.free_addrs(2);
            assert_ne!(a[0], a[1]);
            assert!(a.iter().all(|a| a.ip() == h.ip()));
            // The port is still free for the node to bind.
            TcpListener::bind(a[0]).unwrap();
        }
    }

    #[test]
    fn another_process_cannot_reserve_a_held_ip() {
        let h = Host::reserve();
        let path = lock_dir().join(format!("{}.lock", h.ip()));
        // flock conflicts between open file descriptions, as between processes.
        let f = File::open(&path).unwrap();
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(r, -1, "a second holder locked {}", h.ip());
        drop(h);
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(r, 0, "a released IP stays locked");
    }
}
