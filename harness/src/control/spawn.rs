//! Spawning node processes so that none outlives the harness.
//!
//! Each node is started in its own process group (so signals reach everything it runs) with
//! `PR_SET_PDEATHSIG = SIGKILL` set between fork and exec: the kernel kills the node when the
//! thread that forked it dies. That thread is a dedicated spawner thread which lives as long as the
//! harness process, so the node dies exactly when the harness does — including on SIGKILL of the
//! harness, which no cleanup code can catch.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::Mutex;

type Job = (Command, mpsc::Sender<std::io::Result<Child>>);

/// The spawner thread's queue, started on first use. A thread that cannot be started is an
/// error of this spawn (the harness's failure, not a panic); the next spawn tries again.
fn send_to_spawner(job: Job) -> std::io::Result<()> {
    static SPAWNER: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);
    let mut spawner = SPAWNER.lock().unwrap_or_else(|e| e.into_inner());
    let tx = match spawner.take() {
        Some(tx) => tx,
        None => start_spawner()?,
    };
    let sent = tx
        .send(job)
        .map_err(|_| std::io::Error::other("the spawner thread is gone"));
    *spawner = Some(tx);
    sent
}

fn start_spawner() -> std::io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("faultline-spawner".into())
        .spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
            // The harness is exiting: park forever rather than let this thread's death
            // kill nodes early in some unusual shutdown order.
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| std::io::Error::other(format!("cannot start the spawner thread: {e}")))?;
    Ok(tx)
}

/// Spawns `cmd` in its own process group, with the parent-death signal set.
pub fn spawn_guarded(mut cmd: Command) -> std::io::Result<Child> {
    let parent = std::process::id() as libc::pid_t;
    cmd.process_group(0);
    // SAFETY: the closure only calls async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The harness may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (tx, rx) = mpsc::channel();
    send_to_spawner((cmd, tx))?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the spawner thread is gone"))?
}

/// Sends `sig` to the process group led by `pid`.
pub fn signal_group(pid: u32, sig: libc::c_int) -> std::io::Result<()> {
    // SAFETY: plain syscall.
    let r = unsafe { libc::kill(-(pid as libc::pid_t), sig) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
