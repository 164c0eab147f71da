//! `log.txt`: the harness's own log of a run (also sent to tracing on stderr).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

pub struct RunLog {
    file: Mutex<Option<File>>,
    start: Instant,
}

impl RunLog {
    pub fn create(path: &Path) -> std::io::Result<RunLog> {
        Ok(RunLog {
            file: Mutex::new(Some(File::create(path)?)),
            start: Instant::now(),
        })
    }

    /// Appends one line, stamped with seconds since the run started.
    pub fn line(&self, msg: &str) {
        tracing::info!("{msg}");
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = f.as_mut() {
            let _ = writeln!(f, "[{:>9.3}s] {msg}", self.start.elapsed().as_secs_f64());
        }
    }
}

impl RunLog {
    /// Opens an existing log.txt for appending (or creates it).
    pub fn append(path: &Path) -> std::io::Result<RunLog> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(RunLog {
            file: Mutex::new(Some(f)),
            start: Instant::now(),
        })
    }
}
