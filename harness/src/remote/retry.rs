//! Bounded, jittered retries on transport errors: at most `attempts` tries, waiting a random time
//! in [d/2, d] between them, d doubling from `base` up to `max`. A refused key, a wrong host key
//! or a command that ran and failed is never retried.

use super::error::RemoteError;
use rand::Rng;
use std::time::Duration;

/// How often and how patiently to try again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all (1 = no retry).
    pub attempts: u32,
    /// The first wait's upper bound.
    pub base: Duration,
    /// The largest wait's upper bound.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(200),
            max: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn once() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before try `n + 1` (n ≥ 1): random in [d/2, d], d = min(base · 2^(n-1), max).
    pub fn backoff(&self, n: u32) -> Duration {
        let d = self
            .base
            .saturating_mul(1u32 << (n.saturating_sub(1)).min(16))
            .min(self.max);
        let half = d / 2;
        let extra = rand::thread_rng().gen_range(0..=(d - half).as_micros() as u64);
        half + Duration::from_micros(extra)
    }

    /// `op` until it succeeds, fails for good, or the tries run out; `op` gets the try number
    /// (1, 2, …). Returns the last error.
    pub fn run<T>(
        &self,
        mut op: impl FnMut(u32) -> Result<T, RemoteError>,
    ) -> Result<T, RemoteError> {
        let attempts = self.attempts.max(1);
        let mut n = 1;
        loop {
            match op(n) {
                Err(e) if e.is_transient() && n < attempts => {
                    tracing::debug!("try {n} of {attempts} failed, retrying: {e}");
                    std::thread::sleep(self.backoff(n));
                    n += 1;
                }
                r => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> RemoteError {
        RemoteError::Transport {
            host: "n1".into(),
            during: "x".into(),
            reason: "y".into(),
        }
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(300),
        };
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..=6 {
            for _ in 0..50 {
                let d = p.backoff(n);
                let cap = (Duration::from_millis(100) * (1 << (n - 1))).min(p.max);
                assert!(
                    d >= cap / 2 && d <= cap,
                    "try {n}: {d:?} outside [{:?}, {cap:?}]",
                    cap / 2
                );
                seen.insert(d);
            }
        }
        assert!(seen.len() > 10, "the waits are not jittered: {seen:?}");
    }

    #[test]
    fn retries_only_transient_errors_and_only_so_often() {
        let p = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
        };
        let mut tries = 0;
        let r: Result<(), _> = p.run(|_| {
            tries += 1;
            Err(transport())
        });
        assert!(r.is_err());
        assert_eq!(tries, 3);

        let mut tries = 0;
        let r: Result<(), _> = p.run(|_| {
            tries += 1;
            Err(RemoteError::CommandFailed {
                host: "n1".into(),
                command: "false".into(),
                status: 1,
                stderr: String::new(),
            })
        });
        assert!(r.is_err());
        assert_eq!(tries, 1);

        let r = p.run(|n| if n < 2 { Err(transport()) } else { Ok(n) });
        assert_eq!(r.unwrap(), 2);
    }
}
