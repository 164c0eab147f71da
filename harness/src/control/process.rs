//! One node's process: start, kill -9, stop, pause, resume.

use super::spawn::{signal_group, spawn_guarded};
use super::{ControlError, NodeLayout};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A node's process state. The command line is fixed at creation.
pub struct NodeProcess {
    pub layout: NodeLayout,
    program: PathBuf,
    args: Vec<String>,
    /// Extra environment (libfaketime's, under clock faults).
    env: Vec<(String, String)>,
    child: Option<Child>,
    paused: bool,
    /// How many times the node was started.
    pub starts: u32,
}

impl NodeProcess {
    pub fn new(layout: NodeLayout, program: PathBuf, args: Vec<String>) -> Self {
        NodeProcess {
            layout,
            program,
            args,
            env: Vec::new(),
            child: None,
            paused: false,
            starts: 0,
        }
    }

    /// The command line, for test.json.
    pub fn command_line(&self) -> Vec<String> {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect()
    }

    /// Sets extra environment for every later start.
    pub fn set_env(&mut self, env: Vec<(String, String)>) {
        self.env = env;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive (reaping it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(status))) => {
                self.note(&format!("process exited: {status}"));
                self.child = None;
                self.paused = false;
                false
            }
            Some(Err(_)) | None => {
                self.child = None;
                false
            }
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Appends a harness note to the node's log, so restarts are visible in it.
    fn note(&self, what: &str) {
        if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.layout.log_path)
        {
            let _ = writeln!(f, "--- faultline: {} {what}", self.layout.name);
        }
    }

    /// Starts the node unless it is running. Its output is appended to its log.
    pub fn start(&mut self) -> Result<(), ControlError> {
        if self.is_running() {
            return Ok(());
        }
        let ctx = |source: std::io::Error| ControlError::Spawn {
            node: self.layout.name.clone(),
            source,
        };
        self.note(&format!("start #{}", self.starts + 1));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.layout.log_path)
            .map_err(ctx)?;
        let log2 = log.try_clone().map_err(ctx)?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .env(
                "RUST_LOG",
                std::env::var("FAULTLINE_NODE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.layout.dir);
        let child = spawn_guarded(cmd).map_err(ctx)?;
        self.child = Some(child);
        self.paused = false;
        self.starts += 1;
        Ok(())
    }

    /// kill -9 of the node's process group; waits for it to die.
    pub fn kill(&mut self) -> Result<(), ControlError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        self.note("kill -9");
        let _ = signal_group(child.id(), libc::SIGKILL);
        let _ = child.kill();
        let _ = child.wait();
        self.paused = false;
        Ok(())
    }

    /// SIGTERM (after SIGCONT if paused), then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        self.note("stop");
        let pid = child.id();
        let _ = signal_group(pid, libc::SIGCONT);
        let _ = signal_group(pid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                // The leader is gone; kill anything left in its group.
                let _ = signal_group(pid, libc::SIGKILL);
                self.paused = false;
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = signal_group(pid, libc::SIGKILL);
        let _ = child.kill();
        let _ = child.wait();
        self.paused = false;
    }

    /// SIGSTOP.
    pub fn pause(&mut self) -> Result<(), ControlError> {
        let Some(pid) = self.pid() else {
            return Err(ControlError::NotRunning {
                node: self.layout.name.clone(),
            });
        };
        signal_group(pid, libc::SIGSTOP).map_err(|e| self.signal_failed("pause", e))?;
        self.paused = true;
        Ok(())
    }

    /// SIGCONT (a no-op for a node that is not paused or not running).
    pub fn resume(&mut self) -> Result<(), ControlError> {
        let Some(pid) = self.pid() else {
            self.paused = false;
            return Ok(());
        };
        if self.paused {
            signal_group(pid, libc::SIGCONT).map_err(|e| self.signal_failed("resume", e))?;
        }
        self.paused = false;
        Ok(())
    }

    fn signal_failed(&self, action: &'static str, source: std::io::Error) -> ControlError {
        ControlError::Signal {
            node: self.layout.name.clone(),
            action,
            source,
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = signal_group(c.id(), libc::SIGKILL);
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
