//! A rate limit shared by all workers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far behind the current time a slot may be handed out.
const CATCH_UP: Duration = Duration::from_millis(5);

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
            // Slots missed while nobody asked are saved up for at most a few milliseconds (what
            // a late timer costs), so an idle spell is not followed by a burst.
            let slot = (*next).max(now - CATCH_UP.min(now.saturating_duration_since(*next)));
            *next = slot + period;
            slot
        };
        // Timers have millisecond granularity: a slot less than a millisecond away starts at
        // once. Slots still advance by one period per call, so the average rate holds.
        if slot > now + Duration::from_millis(1) {
            tokio::time::sleep_until(slot.into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn high_rates_are_not_limited_by_timer_granularity() {
        // 20,000/s for 100 ms is 2,000 slots; millisecond sleeps per slot would allow ~100.
        let r = RateLimiter::new(20_000.0);
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < Duration::from_millis(100) {
            r.acquire().await;
            n += 1;
        }
        assert!(n > 1000, "only {n} acquisitions");
        assert!(n <= 2100, "{n} acquisitions exceed the rate");
    }

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
        // 20 slots 10 ms apart: the last starts at least 190 ms after the first (less the
        // millisecond a slot may be taken early).
        assert!(start.elapsed() >= Duration::from_millis(185));
    }
}
