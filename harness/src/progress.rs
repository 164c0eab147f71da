//! The live progress line: elapsed of limit, ops/s, ok/fail/info counts, the active fault.

use crate::journal::Journal;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Draws the line every 250 ms until dropped (only when stderr is a terminal).
pub struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    pub fn start(journal: Arc<Journal>, start: Instant, limit: Duration) -> Progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let b2 = bar.clone();
        let task = tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let c = &journal.counters;
                let done = c.ok.load(Ordering::Relaxed)
                    + c.fail.load(Ordering::Relaxed)
                    + c.info.load(Ordering::Relaxed);
                let now = Instant::now();
                let rate =
                    (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
                last = (now, done);
                let fault = c.fault.lock().map(|f| f.clone()).unwrap_or(None);
                b2.set_message(format!(
                    "{:>5.1}/{:.0} s | {:>7.0} ops/s | ok {} fail {} info {} | fault: {}",
                    start.elapsed().as_secs_f64(),
                    limit.as_secs_f64(),
                    rate,
                    c.ok.load(Ordering::Relaxed),
                    c.fail.load(Ordering::Relaxed),
                    c.info.load(Ordering::Relaxed),
                    fault.as_deref().unwrap_or("none"),
                ));
                b2.tick();
            }
        });
        Progress { bar, task }
    }

    pub fn message(&self, m: &str) {
        self.bar.set_message(m.to_string());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
