//! A rate limit shared by all workers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hands out start slots `1/rate` apart across every worker; a worker sleeps until its slot.
/// Rate 0 means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    period: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: f64) -> Self {
        let period = (rate_per_sec > 0.0).then(|| Duration::from_secs_f64(1.0 / rate_per_sec));
        RateLimiter {
            period,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let Some(period) = self.period else {
            return;
        };
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            // Slots missed while nobody asked are not saved up: no burst after an idle spell.
            let slot = (*next).max(now);
            *next = slot + period;
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot.into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_acquisitions_across_tasks() {
        let r = std::sync::Arc::new(RateLimiter::new(100.0));
        let start = Instant::now();
        let mut hs = Vec::new();
        for _ in 0..4 {
            let r = r.clone();
            hs.push(tokio::spawn(async move {
                for _ in 0..5 {
                    r.acquire().await;
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        // 20 slots 10 ms apart: the last starts at least 190 ms after the first.
        assert!(start.elapsed() >= Duration::from_millis(185));
    }
}
