//! A slow disk: while a delay is set, every `fsync` and `fdatasync` (of a file or a directory)
//! waits that long before it makes anything durable, as a saturated or failing device does.
//! It widens the moments between "written" and "durable" that recovery code must order
//! correctly (an epoch file written before the transactions it vouches for), so that a crash
//! lands inside them.
//!
//! A crash must not wait for a slow fsync to finish (a process killed inside a FUSE request is
//! reaped only once the request is answered, and answering it would make its data durable):
//! [`SlowSync::abort`] ends every wait at once with EIO and nothing synced; the process is dying
//! anyway, and [`SlowSync::reset`] after the crash makes the disk fast and whole again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long each sync waits, and whether the waits are being cut short by a crash.
#[derive(Debug, Default)]
pub struct SlowSync {
    delay_ms: AtomicU64,
    aborting: AtomicBool,
    /// Syncs waiting on the delay now.
    waiting: AtomicU64,
}

/// Counts a sync as waiting for as long as it lives.
struct Waiting<'a>(&'a AtomicU64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a sync should do after [`SlowSync::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterWait {
    /// Make the data durable, as usual.
    Sync,
    /// A crash is under way: answer EIO and make nothing durable.
    Abort,
}

/// How often a waiting sync looks at the abort flag.
const POLL: Duration = Duration::from_millis(2);

impl SlowSync {
    /// Every sync from now on waits `delay` first (`None` or zero: no wait).
    pub fn set(&self, delay: Option<Duration>) {
        let ms = delay.map(|d| d.as_millis() as u64).unwrap_or(0);
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// The delay now in force.
    pub fn delay(&self) -> Option<Duration> {
        match self.delay_ms.load(Ordering::SeqCst) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Ends every wait under way, and every one that starts, with [`AfterWait::Abort`], until
    /// [`SlowSync::reset`].
    pub fn abort(&self) {
        self.aborting.store(true, Ordering::SeqCst);
    }

    /// After a crash: no delay, no abort.
    pub fn reset(&self) {
        self.delay_ms.store(0, Ordering::SeqCst);
        self.aborting.store(false, Ordering::SeqCst);
    }

    /// Whether a sync is waiting on the delay now: the moment a crash loses what it was about
    /// to make durable.
    pub fn waiting(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }

    /// Waits the delay in force (none when there is none), unless a crash cuts it short.
    pub fn wait(&self) -> AfterWait {
        let start = Instant::now();
        if self.delay_ms.load(Ordering::SeqCst) == 0 {
            return match self.aborting.load(Ordering::SeqCst) {
                true => AfterWait::Abort,
                false => AfterWait::Sync,
            };
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        loop {
            if self.aborting.load(Ordering::SeqCst) {
                return AfterWait::Abort;
            }
            let delay = Duration::from_millis(self.delay_ms.load(Ordering::SeqCst));
            let left = delay.saturating_sub(start.elapsed());
            if left.is_zero() {
                return AfterWait::Sync;
            }
            std::thread::sleep(left.min(POLL));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waits_the_delay_and_an_abort_cuts_it_short() {
        let s = SlowSync::default();
        let t = Instant::now();
        assert_eq!(s.wait(), AfterWait::Sync);
        assert!(t.elapsed() < Duration::from_millis(50), "no delay, no wait");

        s.set(Some(Duration::from_millis(60)));
        let t = Instant::now();
        assert_eq!(s.wait(), AfterWait::Sync);
        assert!(t.elapsed() >= Duration::from_millis(60));

        let s = Arc::new(SlowSync::default());
        s.set(Some(Duration::from_secs(30)));
        let waiter = {
            let s = s.clone();
            std::thread::spawn(move || s.wait())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(s.waiting(), "a sync waits on the slow disk");
        s.abort();
        assert_eq!(waiter.join().unwrap(), AfterWait::Abort);
        assert!(!s.waiting());
        assert_eq!(s.wait(), AfterWait::Abort, "aborting until reset");
        s.reset();
        assert_eq!(s.delay(), None);
        assert_eq!(s.wait(), AfterWait::Sync);
    }
}
