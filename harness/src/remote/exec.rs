//! One command on a connected host: its exit status, stdout and stderr. Both streams are read as
//! they come (a command that fills one while the other is unread does not stall), waiting on the
//! socket between reads.

use super::connect::Connection;
use super::error::RemoteError;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its exit status (a command killed by a signal reports -1).
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// Where a command failed: before it was sent (trying again is safe) or after.
#[derive(Debug)]
pub enum ExecError {
    NotStarted(Box<RemoteError>),
    Started(Box<RemoteError>),
}

/// Runs `command` through the user's shell on the host; `idle` bounds the wait for any output
/// or the end (`None`: wait as long as it runs).
pub fn exec(
    conn: &Connection,
    host: &str,
    command: &str,
    idle: Option<Duration>,
) -> Result<Output, ExecError> {
    let transport = |during: &str, e: &dyn std::fmt::Display| RemoteError::Transport {
        host: host.to_string(),
        during: format!("{during} `{command}`"),
        reason: e.to_string(),
    };
    let session = &conn.session;
    session.set_blocking(true);
    let mut channel = session
        .channel_session()
        .map_err(|e| ExecError::NotStarted(Box::new(transport("opening a channel for", &e))))?;
    channel
        .exec(command)
        .map_err(|e| ExecError::NotStarted(Box::new(transport("starting", &e))))?;
    let _ = channel.send_eof();
    session.set_blocking(false);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let mut last = Instant::now();
    let result = loop {
        let mut progressed = false;
        let mut out_open = true;
        let mut err_open = true;
        match channel.read(&mut buf) {
            Ok(0) => out_open = false,
            Ok(n) => {
                stdout.extend_from_slice(&buf[..n]);
                progressed = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => break Err(transport("reading the output of", &e)),
        }
        match channel.stderr().read(&mut buf) {
            Ok(0) => err_open = false,
            Ok(n) => {
                stderr.extend_from_slice(&buf[..n]);
                progressed = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => break Err(transport("reading the errors of", &e)),
        }
        if !out_open && !err_open && channel.eof() {
            break Ok(());
        }
        if progressed {
            last = Instant::now();
            continue;
        }
        if let Some(idle) = idle {
            if last.elapsed() > idle {
                break Err(transport(
                    "waiting for",
                    &format!("no output and no end for {idle:?}"),
                ));
            }
        }
        wait_readable(conn, Duration::from_millis(50));
    };
    session.set_blocking(true);
    result.map_err(|e| ExecError::Started(Box::new(e)))?;
    channel
        .wait_close()
        .map_err(|e| ExecError::Started(Box::new(transport("closing", &e))))?;
    let status = match channel.exit_signal() {
        Ok(sig) if sig.exit_signal.is_some() => -1,
        _ => channel
            .exit_status()
            .map_err(|e| ExecError::Started(Box::new(transport("reading the status of", &e))))?,
    };
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Waits until the socket has data or `timeout` passes.
fn wait_readable(conn: &Connection, timeout: Duration) {
    let mut fd = libc::pollfd {
        fd: conn.socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe {
        libc::poll(&mut fd, 1, timeout.as_millis() as libc::c_int);
    }
}
