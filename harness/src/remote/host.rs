//! [`RemoteHost`]: one host the harness controls over SSH. It keeps one logged-in connection,
//! makes a new one when the old one breaks, and retries transport failures (bounded, jittered):
//! connecting always, a command only when it had not been sent yet or the caller says it may run
//! twice ([`RemoteHost::exec`] versus [`RemoteHost::exec_once`]).
//!
//! Daemons are started detached ([`RemoteHost::spawn_detached`]): their own session, stdin from
//! /dev/null, stdout and stderr into a log file, their pid in a pidfile; signalled through it.

use super::connect::{connect, display_addr, Connection};
use super::error::RemoteError;
use super::exec::{exec, ExecError, Output};
use super::hosts_file::HostSpec;
use super::options::SshOptions;
use super::sh_quote;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// A host reached over SSH.
pub struct RemoteHost {
    spec: HostSpec,
    opts: SshOptions,
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for RemoteHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteHost")
            .field("name", &self.spec.name)
            .field("addr", &self.addr())
            .finish()
    }
}

impl RemoteHost {
    /// A host; nothing is connected until the first call (or [`RemoteHost::connect`]).
    pub fn new(spec: HostSpec, opts: SshOptions) -> Self {
        RemoteHost {
            spec,
            opts,
            conn: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn spec(&self) -> &HostSpec {
        &self.spec
    }

    pub fn options(&self) -> &SshOptions {
        &self.opts
    }

    /// `address:port`.
    pub fn addr(&self) -> String {
        display_addr(&self.spec, &self.opts)
    }

    /// Connects (with retries) unless connected.
    pub fn connect(&self) -> Result<(), RemoteError> {
        let mut guard = self.lock();
        self.ensure(&mut guard)
    }

    /// Drops the connection (the next call makes a new one).
    pub fn disconnect(&self) {
        if let Some(c) = self.lock().take() {
            let _ = c.session.disconnect(None, "bye", None);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ensure(&self, guard: &mut Option<Connection>) -> Result<(), RemoteError> {
        if guard.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let attempts = self.opts.retry.attempts.max(1);
        let r = self.opts.retry.run(|_| connect(&self.spec, &self.opts));
        match r {
            Ok(c) => {
                *guard = Some(c);
                Ok(())
            }
            Err(RemoteError::Unreachable {
                host, addr, reason, ..
            }) => Err(RemoteError::Unreachable {
                host,
                addr,
                timeout: started.elapsed(),
                attempts,
                reason,
            }),
            Err(e) => Err(e),
        }
    }

    /// Runs `command` and returns what it did, whatever its status. Transport failures are
    /// retried on a new connection, even after the command was sent: use it for commands that
    /// may run twice (reads, kills by pidfile, removals); see [`RemoteHost::exec_once`].
    pub fn exec(&self, command: &str) -> Result<Output, RemoteError> {
        self.exec_with(command, true)
    }

    /// As [`RemoteHost::exec`], but once the command was sent it is never sent again.
    pub fn exec_once(&self, command: &str) -> Result<Output, RemoteError> {
        self.exec_with(command, false)
    }

    fn exec_with(&self, command: &str, idempotent: bool) -> Result<Output, RemoteError> {
        let mut guard = self.lock();
        let mut sent = false;
        self.opts.retry.run(|n| {
            if sent && !idempotent {
                return Err(RemoteError::Protocol {
                    host: self.spec.name.clone(),
                    reason: format!(
                        "the connection broke after `{command}` was sent (try {n}); not sending it again"
                    ),
                });
            }
            self.ensure(&mut guard)?;
            let conn = guard.as_ref().expect("connected");
            match exec(conn, &self.spec.name, command, Some(self.opts.io_timeout)) {
                Ok(o) => Ok(o),
                Err(ExecError::NotStarted(e)) => {
                    *guard = None;
                    Err(*e)
                }
                Err(ExecError::Started(e)) => {
                    *guard = None;
                    sent = true;
                    Err(*e)
                }
            }
        })
    }

    /// Runs `command` and fails, with its command, status and stderr in one sentence, unless it
    /// exits 0.
    pub fn run(&self, command: &str) -> Result<Output, RemoteError> {
        let o = self.exec(command)?;
        self.check(command, o)
    }

    /// As [`RemoteHost::run`], never sending the command twice.
    pub fn run_once(&self, command: &str) -> Result<Output, RemoteError> {
        let o = self.exec_once(command)?;
        self.check(command, o)
    }

    fn check(&self, command: &str, o: Output) -> Result<Output, RemoteError> {
        if o.success() {
            Ok(o)
        } else {
            Err(RemoteError::CommandFailed {
                host: self.spec.name.clone(),
                command: command.to_string(),
                status: o.status,
                stderr: o.stderr,
            })
        }
    }

    /// Runs `f` with the connected session (connecting first); a transport failure inside drops
    /// the connection so the next call makes a new one.
    pub(crate) fn with_session<T>(
        &self,
        f: impl Fn(&ssh2::Session) -> Result<T, RemoteError>,
    ) -> Result<T, RemoteError> {
        let mut guard = self.lock();
        self.opts.retry.run(|_| {
            self.ensure(&mut guard)?;
            let conn = guard.as_ref().expect("connected");
            conn.session.set_blocking(true);
            let r = f(&conn.session);
            if matches!(&r, Err(e) if e.is_transient()) {
                *guard = None;
            }
            r
        })
    }

    /// Starts `command` detached in its own session (it outlives the SSH connection), stdin from
    /// /dev/null, stdout and stderr appended to `log`, its pid written to `pidfile`, in `dir`
    /// (created if missing). Returns the pid.
    pub fn spawn_detached(
        &self,
        dir: &str,
        command: &str,
        pidfile: &str,
        log: &str,
    ) -> Result<u32, RemoteError> {
        let inner = format!("echo $$ > {}; exec {command}", sh_quote(pidfile));
        let script = format!(
            "mkdir -p {d} && cd {d} && rm -f {p} && (setsid sh -c {inner} >> {l} 2>&1 < /dev/null &) && \
             for i in $(seq 1 100); do [ -s {p} ] && break; sleep 0.02; done; cat {p}",
            d = sh_quote(dir),
            p = sh_quote(pidfile),
            l = sh_quote(log),
            inner = sh_quote(&inner),
        );
        let o = self.run_once(&script)?;
        o.stdout
            .trim()
            .parse::<u32>()
            .map_err(|_| RemoteError::Protocol {
                host: self.spec.name.clone(),
                reason: format!(
                    "`{command}` was started but its pidfile {pidfile} holds {:?}, not a pid",
                    o.stdout.trim()
                ),
            })
    }

    /// Whether the process in `pidfile` is alive.
    pub fn is_alive(&self, pidfile: &str) -> Result<bool, RemoteError> {
        let p = sh_quote(pidfile);
        let o = self.exec(&format!("[ -s {p} ] && kill -0 \"$(cat {p})\" 2>/dev/null"))?;
        Ok(o.success())
    }

    /// Sends `signal` (a name such as TERM, KILL, STOP, CONT) to the process in `pidfile`; false
    /// when there was none to signal.
    pub fn signal(&self, pidfile: &str, signal: &str) -> Result<bool, RemoteError> {
        let p = sh_quote(pidfile);
        let s = sh_quote(signal);
        let o = self.exec(&format!(
            "[ -s {p} ] && kill -s {s} \"$(cat {p})\" 2>/dev/null"
        ))?;
        Ok(o.success())
    }
}

impl Drop for RemoteHost {
    fn drop(&mut self) {
        self.disconnect();
    }
}
