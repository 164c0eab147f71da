//! A node's clock through Debian's libfaketime: the node runs with `LD_PRELOAD` of
//! libfaketimeMT and `FAKETIME_TIMESTAMP_FILE` naming a control file of its own, which libfaketime
//! reads on every clock call (`FAKETIME_NO_CACHE=1`, about 2 µs a call); the harness rewrites
//! that file to change what the node's wall clock and monotonic clock read. The machine's clock is
//! never touched.
//!
//! The control file holds libfaketime's relative offset, `+0` when the clock is right:
//! - a jump of `d` ms writes `+d/1000` (seconds, either sign), and stays;
//! - a strobe rewrites the file every period, alternating between the offset and `+0`;
//! - a skew writes `+0 x<rate>`: libfaketime scales the time elapsed since the node's process
//!   started, so a skew also moves the clock at once by (rate − 1) × the node's uptime, and back
//!   when healed.
//!
//! Both CLOCK_REALTIME and CLOCK_MONOTONIC (and the coarse and boot-time clocks) follow the file;
//! libfaketime reports the monotonic clock on the real-time clock's scale.

use super::ControlError;
use nemeses::ClockChange;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Where Debian's libfaketime lives (multi-threaded variant), or one sentence saying it is
/// missing. `FAULTLINE_LIBFAKETIME` overrides the search.
pub fn libfaketime() -> Result<PathBuf, ControlError> {
    if let Some(p) = std::env::var_os("FAULTLINE_LIBFAKETIME") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ControlError::FaketimeOverride(p))
        };
    }
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketimeMT.so.1")])
        .find(|p| p.is_file());
    found.ok_or(ControlError::NoFaketime)
}

/// libfaketime's spec for an offset of `ms` milliseconds and a rate.
fn spec(ms: i64, rate_permille: Option<u32>) -> String {
    let secs = format!(
        "{}{}.{:03}",
        if ms < 0 { '-' } else { '+' },
        ms.abs() / 1000,
        ms.abs() % 1000
    );
    match rate_permille {
        Some(r) => format!("{secs} x{}.{:03}", r / 1000, r % 1000),
        None => secs,
    }
}

/// Replaces the control file at once (rename), so libfaketime never reads half a spec.
fn write_spec(file: &Path, s: &str) -> Result<(), ControlError> {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, format!("{s}\n"))
        .and_then(|_| std::fs::rename(&tmp, file))
        .map_err(|source| ControlError::ClockFile {
            path: file.to_path_buf(),
            source,
        })
}

/// One node's clock control.
pub struct NodeClock {
    file: PathBuf,
    library: PathBuf,
    strobe: Option<JoinHandle<()>>,
}

impl NodeClock {
    /// A control file at `file` (written `+0`) for nodes to be run with libfaketime `library`.
    pub fn new(file: &Path, library: &Path) -> Result<NodeClock, ControlError> {
        write_spec(file, &spec(0, None))?;
        Ok(NodeClock {
            file: file.to_path_buf(),
            library: library.to_path_buf(),
            strobe: None,
        })
    }

    /// The environment a node needs for its clock to follow the control file.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LD_PRELOAD".into(), self.library.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                self.file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".into(), "1".into()),
        ]
    }

    /// Applies `change` (replacing any earlier one), or puts the clock right with `None`.
    /// Returns the spec written (the strobe's off phase for a strobe), for the journal. A strobe
    /// runs on the current tokio runtime until the next call.
    pub fn set(&mut self, change: Option<&ClockChange>) -> Result<String, ControlError> {
        if let Some(t) = self.strobe.take() {
            t.abort();
        }
        let s = match change {
            None => spec(0, None),
            Some(ClockChange::Jump { offset_ms }) => spec(*offset_ms, None),
            Some(ClockChange::Skew { rate_permille }) => spec(0, Some(*rate_permille)),
            Some(ClockChange::Strobe {
                delta_ms,
                period_ms,
            }) => {
                let (file, off) = (self.file.clone(), spec(*delta_ms, None));
                let on = spec(0, None);
                let period = Duration::from_millis((*period_ms).max(1));
                let first = off.clone();
                self.strobe = Some(tokio::spawn(async move {
                    let mut tick = tokio::time::interval(period);
                    for phase in [&off, &on].into_iter().cycle() {
                        tick.tick().await;
                        if let Err(e) = write_spec(&file, phase) {
                            tracing::warn!("{e}");
                        }
                    }
                }));
                return Ok(first);
            }
        };
        write_spec(&self.file, &s)?;
        Ok(s)
    }
}

impl Drop for NodeClock {
    fn drop(&mut self) {
        if let Some(t) = self.strobe.take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_libfaketime_offsets_in_seconds() {
        assert_eq!(spec(0, None), "+0.000");
        assert_eq!(spec(1500, None), "+1.500");
        assert_eq!(spec(-42, None), "-0.042");
        assert_eq!(spec(-600_000, None), "-600.000");
        assert_eq!(spec(0, Some(2000)), "+0.000 x2.000");
        assert_eq!(spec(0, Some(500)), "+0.000 x0.500");
    }
}
